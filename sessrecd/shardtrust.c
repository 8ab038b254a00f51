/* shardtrust: the owner and mode checks of the shard directory and day
 * shards, and the shared-filesystem warning (see shardtrust.h). Convention:
 * 0 or -errno; -EPERM means "present but not trusted". */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shardtrust.h"

/* One component of the path: dir is the shard directory itself (never
 * writable by others, sticky or not), else a parent. */
static int check_component(const char *p, bool dir, char *why, size_t whylen)
{
	struct stat st;

	if (stat(p, &st) < 0) {
		int e = errno;

		snprintf(why, whylen, "cannot check %s: %s", p, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "%s is not a directory", p);
		return -EPERM;
	}
	if (st.st_uid != 0) {
		snprintf(why, whylen, "%s is owned by uid %u, not root", p, (unsigned)st.st_uid);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && (dir || !(st.st_mode & S_ISVTX))) {
		snprintf(why, whylen, "%s is writable by group or others (mode %04o)", p,
			 (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int shardtrust_dir(const char *dir, char *why, size_t whylen)
{
	char p[PATH_MAX];
	char *slash;
	int r;

	if (!realpath(dir, p)) {
		int e = errno;

		snprintf(why, whylen, "cannot resolve %s: %s", dir, strerror(e));
		return -e;
	}
	if ((r = check_component(p, true, why, whylen)) < 0)
		goto out;
	/* Up to /: every parent could swap the directory under us. */
	while ((slash = strrchr(p, '/')) && slash != p) {
		*slash = '\0';
		if ((r = check_component(p, false, why, whylen)) < 0)
			goto out;
	}
	if (strcmp(p, "/") != 0)
		r = check_component("/", false, why, whylen);
out:
	if (r == -EPERM) {
		/* Say which shard directory the failing component is for. */
		char detail[PATH_MAX + 96];

		snprintf(detail, sizeof(detail), "%s", why);
		snprintf(why, whylen, "untrusted shard directory %s: %s", dir, detail);
	}
	return r;
}

int shardtrust_file(const struct stat *st, const char *path, char *why, size_t whylen)
{
	if (!S_ISREG(st->st_mode))
		snprintf(why, whylen, "untrusted shard %s: not a regular file", path);
	else if (st->st_uid != 0)
		snprintf(why, whylen, "untrusted shard %s: owned by uid %u, not root", path, (unsigned)st->st_uid);
	else if (st->st_nlink != 1)
		snprintf(why, whylen, "untrusted shard %s: %lu links, not 1", path, (unsigned long)st->st_nlink);
	else if (st->st_mode & 07777 & ~0640u)
		snprintf(why, whylen, "untrusted shard %s: mode %04o, not 0640 or stricter", path,
			 (unsigned)(st->st_mode & 07777));
	else
		return 0;
	return -EPERM;
}

bool shardtrust_fs_shared(const char *dir, const char **shared)
{
	/* Where unprivileged users can create files on a stock system. */
	static const char *const places[] = { "/tmp", "/var/tmp", "/dev/shm", "/home" };
	struct stat ds, ps;

	if (stat(dir, &ds) < 0)
		return false;
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		if (stat(places[i], &ps) == 0 && ps.st_dev == ds.st_dev) {
			*shared = places[i];
			return true;
		}
	}
	return false;
}
