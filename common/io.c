/* io: whole reads and writes (EINTR, short counts), small-file reads, mkdir -p
 * and atomic file replacement. Convention: 0 (or a length) or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"

int io_write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int io_read_full(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

ssize_t io_read_file(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t ret;
	int fd;

	if (cap == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* Read to EOF rather than trusting st_size: /proc files report 0. */
	for (;;) {
		char extra;
		ssize_t r;

		if (len < cap - 1)
			r = read(fd, buf + len, cap - 1 - len);
		else
			r = read(fd, &extra, 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (r == 0)
			break;
		if (len == cap - 1) {
			ret = -EFBIG;
			goto out;
		}
		len += (size_t)r;
	}
	buf[len] = '\0';
	ret = (ssize_t)len;
out:
	close(fd);
	if (ret < 0)
		buf[0] = '\0';
	return ret;
}

/* mkdir that accepts an existing directory (and nothing else) in its place. */
static int mkdir_one(const char *path, unsigned mode, bool *created)
{
	struct stat st;

	*created = false;
	if (mkdir(path, (mode_t)mode) == 0) {
		*created = true;
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int io_mkdir_p(const char *path, unsigned mode)
{
	char buf[PATH_MAX];
	size_t len;
	bool created;
	int r;

	if (!path || !*path)
		return -EINVAL;
	len = strlen(path);
	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/' || p[-1] == '/')
			continue;
		*p = '\0';
		r = mkdir_one(buf, 0755, &created);
		*p = '/';
		if (r < 0)
			return r;
	}
	if ((r = mkdir_one(buf, mode, &created)) < 0)
		return r;
	/* The umask must not decide the mode of a directory we created. */
	if (created && chmod(buf, (mode_t)mode) < 0)
		return -errno;
	return 0;
}

/* fsync the directory holding path so the rename itself is durable. */
static void sync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd;

	if (!slash) {
		strcpy(dir, ".");
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int io_write_atomic(const char *path, const void *data, size_t n, unsigned mode)
{
	char tmp[PATH_MAX];
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, (mode_t)mode) < 0)
		r = -errno;
	else if ((r = io_write_full(fd, data, n)) == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	sync_parent(path);
	return 0;
}

int io_waitpid(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}
