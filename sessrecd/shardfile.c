/* shardfile: the open day shards and their identity checks (see
 * shardfile.h). Convention: 0 or -errno; lookups return NULL. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "shardfile.h"
#include "shardtrust.h"

enum shardfile_identity shardfile_identity(const struct shard_file *f)
{
	struct stat fs, ps;

	if (fstat(f->fd, &fs) < 0)
		return SHARDFILE_SAME; /* cannot tell: keep writing */
	if (fs.st_nlink == 0)
		return SHARDFILE_REMOVED;
	if (stat(f->path, &ps) == 0 && ps.st_dev == fs.st_dev && ps.st_ino == fs.st_ino)
		return SHARDFILE_SAME;
	return SHARDFILE_MOVED;
}

struct shard_file *shardfile_find(struct daemon *d, const char *path)
{
	for (struct shard_file *f = d->shard_files; f; f = f->next)
		if (!f->moved && strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

/* Checks the directory of path (it may have been swapped since start-up)
 * and, once open, an existing file (see shardtrust.h); logs why it refuses.
 * 0 or -EPERM. */
static int trust_dir_of(const char *path)
{
	char dir[PATH_MAX], why[PATH_MAX + 256];
	const char *slash = strrchr(path, '/');
	int r;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	r = shardtrust_dir(dir, why, sizeof(why));
	if (r == -EPERM)
		log_line("%s; the shard is not used", why);
	return r == -EPERM ? r : 0; /* other errors: the open reports them */
}

static int trust_file(int fd, const char *path)
{
	char why[PATH_MAX + 128];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (shardtrust_file(&st, path, why, sizeof(why)) < 0) {
		log_line("%s; the shard is not used", why);
		return -EPERM;
	}
	return 0;
}

int shardfile_open(const char *path, bool *created)
{
	int fd, r;

	if ((r = trust_dir_of(path)) < 0)
		return r;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);

	if (fd >= 0) {
		/* The umask must not decide who reads recordings. */
		if (fchmod(fd, 0640) < 0) {
			int e = -errno;

			close(fd);
			return e;
		}
		*created = true;
		return fd;
	}
	if (errno != EEXIST)
		return -errno;
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			log_line("untrusted shard %s: a symbolic link; the shard is not used", path);
		return r == -ELOOP ? -EPERM : r;
	}
	if ((r = trust_file(fd, path)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

struct shard_file *shardfile_get(struct daemon *d, const char *path)
{
	struct shard_file *f = shardfile_find(d, path);
	size_t len = strlen(path);
	bool created = false;
	int fd;

	if (f) {
		f->refs++;
		return f;
	}
	if ((fd = shardfile_open(path, &created)) < 0) {
		errno = -fd;
		return NULL;
	}
	f = calloc(1, sizeof(*f) + len + 1);
	if (!f) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(f->path, path, len + 1);
	f->fd = fd;
	f->refs = 1;
	f->created = created;
	f->next = d->shard_files;
	d->shard_files = f;
	return f;
}

void shardfile_forget(struct daemon *d, struct shard_file *f)
{
	for (struct shard_file **pp = &d->shard_files; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	free(f);
}

void shardfile_close_all(struct daemon *d)
{
	while (d->shard_files) {
		struct shard_file *f = d->shard_files;

		d->shard_files = f->next;
		close(f->fd);
		free(f);
	}
}
