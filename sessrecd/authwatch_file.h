/* authwatch_file: the daily auth-YYYY-MM-DD.jsonl beside the shards: opened
 * like a shard (shardfile_open: trusted directory, 0640, never a symlink,
 * an existing file only when root's), reopened at the day's change or when
 * the file at its path is another (rotated, removed), each line one write
 * through the disk writer. Convention: 0 or -errno. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct daemon;

struct authwatch_file {
	int fd; /* -1: none open */
	char path[4096];
};

void authwatch_file_init(struct authwatch_file *f);

/* Appends line (one whole line, len < 4096) to the file of the UTC day of
 * sec. 0 or -errno (logged). */
int authwatch_file_put(struct daemon *d, struct authwatch_file *f, int64_t sec, const char *line, size_t len);

/* Closes the file (through the writer, after its lines). */
void authwatch_file_close(struct daemon *d, struct authwatch_file *f);
