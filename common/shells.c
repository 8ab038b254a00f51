/* shells: the enrolled users' real shells, read with StrictModes-style
 * trust checks (see shells.h). Convention: 0 or -errno. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "shells.h"

bool shells_is_shim(const char *shell)
{
	const char *base = shell ? strrchr(shell, '/') : NULL;

	return base && strcmp(base + 1, SHELLS_SHIM_NAME) == 0;
}

bool shells_user_ok(const char *user)
{
	size_t n = user ? strlen(user) : 0;

	if (n == 0 || n > 255 || strcmp(user, ".") == 0 || strcmp(user, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (user[i] == '/' || (unsigned char)user[i] < 0x20 || user[i] == 0x7f)
			return false;
	return true;
}

bool shells_path_ok(const char *shell)
{
	size_t n = shell ? strlen(shell) : 0;

	if (n < 2 || n >= PATH_MAX || shell[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)shell[i] < 0x20 || shell[i] == 0x7f)
			return false;
	return true;
}

int shells_parse(const char *text, size_t n, char *buf, size_t cap)
{
	/* One line: the path and its newline (or none at the end). */
	if (n > 0 && text[n - 1] == '\n')
		n--;
	if (n >= cap || n >= PATH_MAX || memchr(text, '\0', n))
		return -EINVAL;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (!shells_path_ok(buf)) {
		buf[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

static int untrusted(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int untrusted(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -EPERM;
}

/* dir and every parent: root-owned directories nobody else can write. */
static int trust_dirs(const char *dir, char *why, size_t cap)
{
	char path[PATH_MAX];
	struct stat st;
	size_t n = strlen(dir);

	if (dir[0] != '/' || n >= sizeof(path))
		return untrusted(why, cap, "%s: not an absolute path", dir);
	memcpy(path, dir, n + 1);
	for (bool first = true;; first = false) {
		char *slash;

		if (lstat(path, &st) < 0)
			return errno == ENOENT ? -ENOENT : untrusted(why, cap, "%s: %s", path, strerror(errno));
		/* As for the shard directory (shardtrust.c): a parent may be a
		 * sticky root-owned directory such as /tmp, where nobody else can
		 * rename what is in it; the directory holding the files may not. */
		if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
		    ((st.st_mode & (S_IWGRP | S_IWOTH)) && (first || !(st.st_mode & S_ISVTX))))
			return untrusted(why, cap, "%s: not a directory of root's alone (owner %u, mode %04o)", path,
					 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		if (strcmp(path, "/") == 0)
			return 0;
		slash = strrchr(path, '/');
		if (slash == path)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

int shells_read(const char *dir, const char *user, char *buf, size_t cap, char *why, size_t whycap)
{
	char path[PATH_MAX], text[PATH_MAX + 1];
	struct stat st;
	ssize_t n;

	int fd = -1, r;

	why[0] = '\0';
	if (!shells_user_ok(user))
		return -EINVAL;
	if ((r = trust_dirs(dir, why, whycap)) < 0)
		return r;
	if (snprintf(path, sizeof(path), "%s/%s", dir, user) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		r = errno == ELOOP ? untrusted(why, whycap, "%s: a symbolic link", path) : -errno;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_nlink != 1 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		r = untrusted(why, whycap, "%s: not a file of root's alone (owner %u, mode %04o, %lu links)", path,
			      (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned long)st.st_nlink);
		goto out;
	}
	n = read(fd, text, sizeof(text));
	r = n < 0 ? -errno : shells_parse(text, (size_t)n, buf, cap);
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int shells_write(const char *dir, const char *user, const char *shell)
{
	char path[PATH_MAX], text[PATH_MAX + 1];
	int r, n;

	if (!shells_user_ok(user) || !shells_path_ok(shell))
		return -EINVAL;
	if ((r = io_mkdir_p(dir, 0755)) < 0)
		return r;
	if (snprintf(path, sizeof(path), "%s/%s", dir, user) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	n = snprintf(text, sizeof(text), "%s\n", shell);
	return io_write_atomic(path, text, (size_t)n, 0644);
}

int shells_remove(const char *dir, const char *user)
{
	char path[PATH_MAX];

	if (!shells_user_ok(user))
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s/%s", dir, user) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return unlink(path) < 0 ? -errno : 0;
}
