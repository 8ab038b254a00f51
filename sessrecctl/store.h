/* store: the shard files found in the --dir directories (plain .jsonl or
 * .jsonl.gz, and their rotated siblings: .jsonl.N[.gz], logrotate's dateext
 * .jsonl-YYYYMMDD[.gz]), the buffers their readers (reader.h) share,
 * warnings and the progress line of long scans.
 * Convention: 0 or an exit status after one line on stderr, unless stated. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl.h"

/* A day's shard in one directory and its rotated siblings form a chain:
 * one recording cut into files by rotation. A session may run from one
 * file of its chain into the next; a copy of it in another chain (another
 * directory) is another recording. */
struct shard_file {
	char *path;
	int64_t day; /* unix time of the UTC day's start */
	bool gz;
	uint64_t size; /* on disk */
	size_t dir;    /* index in ctl->dirs */
	size_t chain;  /* files of one chain have the same, and are adjacent */
	int rot;       /* order in the chain (store.c: rot_order) */
	uint64_t seq;  /* within rot */
	bool changed;  /* "changed while read" said: once per file and command */
};

struct store {
	struct shard_file *files; /* oldest day first; one day: by directory,
				       then each chain oldest file first */
	size_t nfiles;
	uint64_t total; /* bytes on disk of all files */
	bool progress;
	bool progress_shown;
	uint64_t done;                /* bytes of the files scanned completely */
	size_t scanning;              /* 1-based index of the file being scanned, 0: none */
	int64_t started_ms, drawn_ms; /* mono_ms() of the scan's start, of the last drawing */
	unsigned corrupt;             /* lines reported corrupt */
	bool io_error;                /* a file could not be read: exit status 1 */
	char *pool[3];                /* a reader's buffers, kept for the next reader */
	bool pool_busy;
};

/* Lists the shard files of ctl's directories (ctl_shard_dirs first). A
 * missing or unreadable directory is an error; a directory without shards
 * is not. The same file reached twice (a repeated --dir) counts once. */
int store_open(struct store *st, struct ctl *ctl);
void store_close(struct store *st);

/* The store's file names: 0 for a shard or rotated sibling of the day
 * shard of *day (unix time of its start), *gz for a gzip name; -1 for
 * any other name. For tests too. */
int store_shard_name(const char *name, int64_t *day, bool *gz, int *rot, uint64_t *seq);

/* True if files a and b of st are of one chain. */
bool store_same_chain(const struct store *st, size_t a, size_t b);

/* Warnings that keep the progress line intact: "sessrecctl: ..." */
void store_warn(struct store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Erases the progress line (before output to the same terminal). */
void store_progress_clear(struct store *st);

/* Progress of a scan: at bytes into file index. */
void store_progress(struct store *st, size_t index, uint64_t at);
