/* shardtrust: whether the shard directory and a day shard can be trusted
 * (sshd StrictModes-style owner and mode checks, sessrecd(8) THREAT MODEL),
 * and the warning when the shard filesystem is one users can fill.
 * Convention: 0 or -errno; -EPERM means "present but not trusted". */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Checks dir (symlinks resolved) and every parent up to /: each a directory
 * owned by root; dir itself not group/other-writable; a parent may be
 * group/other-writable only when it is sticky (like /tmp: nobody but root
 * can rename or remove the root-owned entry in it). 0 when trusted; -EPERM
 * with one line in why when not; another -errno when dir cannot be
 * resolved or a component cannot be stat'ed (why says which). */
int shardtrust_dir(const char *dir, char *why, size_t whylen);

/* Checks st, the fstat of an existing day shard opened with O_NOFOLLOW at
 * path: a regular file owned by root, one link, mode 0640 or stricter.
 * 0 or -EPERM with one line in why. */
int shardtrust_file(const struct stat *st, const char *path, char *why, size_t whylen);

/* Whether dir lies on the filesystem of a place non-root users can write
 * (/tmp, /var/tmp, /dev/shm, /home): true with the place in *shared. A
 * heuristic on st_dev, not a scan of the filesystem. */
bool shardtrust_fs_shared(const char *dir, const char **shared);
