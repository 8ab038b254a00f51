/* shardfile: the open day shards, one struct shard_file per file, shared
 * (refcounted) by the recordings writing it, and the check that the file
 * at a shard's path is still the one open (a shard removed or renamed
 * under the daemon). Convention: 0 or -errno; lookups return NULL. */
#pragma once
#include <stdbool.h>

struct daemon;
struct recording;

/* One open day shard (the list hangs off struct daemon). */
struct shard_file {
	struct shard_file *next;
	struct recording *recs; /* the recordings writing it (rec->file_next) */
	int fd;
	unsigned refs;
	bool moved;   /* no longer the file at path (renamed or removed): never shared again */
	bool created; /* made by this daemon (no line of an earlier one is in it) */
	char path[];
};

/* What is at f's path now. */
enum shardfile_identity {
	SHARDFILE_SAME,    /* f is the file at its path */
	SHARDFILE_MOVED,   /* f was renamed (rotated): it still has a name, another or none is at path */
	SHARDFILE_REMOVED, /* f was unlinked (rm, rm -rf of the directory): its bytes are gone */
};

/* Compares the identity (st_dev, st_ino) of f's path with fstat of its fd,
 * and its link count. */
enum shardfile_identity shardfile_identity(const struct shard_file *f);

/* The shard file at path that is still the file there, opened once and
 * shared (refs + 1); else the path opened anew (a new file: 0640, O_EXCL,
 * O_NOFOLLOW). NULL with errno when it cannot be opened. A file found
 * moved is marked so and left to its recordings (see recorder_check). */
struct shard_file *shardfile_get(struct daemon *d, const char *path);

/* The file at path still shared and open, without a reference; NULL when
 * none is. */
struct shard_file *shardfile_find(struct daemon *d, const char *path);

/* Opens path for appending: a new file (O_EXCL, 0640 whatever the umask;
 * *created) or the one there if it passes shardtrust_file, never through
 * a symlink, in a directory shardtrust_dir trusts (logs why it refuses).
 * The fd, or -EPERM / -errno. Also for the auth files (authwatch_file). */
int shardfile_open(const char *path, bool *created);

/* Takes f off the daemon's list and frees it (its fd closed or queued for
 * closing by the caller). */
void shardfile_forget(struct daemon *d, struct shard_file *f);

/* Closes every shard file still open (at exit, the writer stopped). */
void shardfile_close_all(struct daemon *d);
