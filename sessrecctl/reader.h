/* reader: reads the lines of one shard file of the store, plain or gzip. A
 * helper thread maps (plain files) or reads and inflates (gzip) the next
 * chunk while the caller works on the current one; lines come with their
 * numbers and offsets, overlong ones are reported and skipped; a file that
 * shrinks under the reader is reported once ("changed while read") and
 * read as far as it still goes.
 * Convention: 0 or an exit status after one line on stderr, unless stated. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zlib.h>

#include "mapguard.h"
#include "shardscan.h"
#include "store.h"

#define READER_CHUNK (4u << 20) /* read, inflated or mapped at a time */
#define READER_CORRUPT_SHOWN 5  /* corrupt lines reported one by one per file; then a count */

struct reader {
	struct store *st;
	const struct shard_file *file;
	size_t index; /* of file in st->files */
	int fd;
	gzFile gz;
	bool mapped;   /* chunks are mmap windows (plain files not followed) */
	char *buf[2];  /* chunks: rbuf, or mmap windows */
	char *rbuf[2]; /* read buffers */
	size_t len[2];
	size_t map_len[2];        /* of the mapping in each slot */
	uint64_t map_off[2];      /* file offset of each chunk (plain files) */
	struct mapguard guard[2]; /* of the mapping in each slot */
	uint64_t map_next;        /* file offset of the next window */
	uint64_t size;            /* of the file, as last seen */
	uint64_t size0;           /* of the file when opened */
	bool changed;             /* it shrank while read: reported, its cut line dropped */
	unsigned ncorrupt;        /* corrupt lines of this file, the first few reported */
	size_t skip;              /* bytes of the first chunk before the first line */
	int cur;                  /* the chunk lines come from, -1: none yet */
	size_t pos;               /* in it */
	char *carry;              /* a line that spans chunks */
	size_t ncarry;
	size_t partial; /* bytes of the current unfinished line seen */
	pthread_t th;   /* filling the other chunk */
	bool th_on;
	int th_slot;
	ssize_t th_n;
	int th_errno;
	uint64_t in;       /* bytes taken from the file (compressed for gzip) */
	uint64_t lineno;   /* of the line last returned */
	uint64_t off;      /* uncompressed offset of the next line */
	uint64_t line_off; /* offset of the line last returned */
	bool follow;       /* at EOF keep a partial last line and wait for more */
	bool skipping;     /* inside an overlong line */
	bool eof;
	bool pooled;           /* buf and carry are the store's */
	struct shardscan scan; /* the file's lines, read by shardscan_next(&r->scan) */
};

/* Opens file (st->files[index]) positioned at uncompressed offset off,
 * whose line is number lineno + 1, with r->scan reading its lines (corrupt
 * ones reported by reader_corrupt). Errors are reported and flag
 * st->io_error. */
int reader_open(struct reader *r, struct store *st, size_t index, uint64_t off, uint64_t lineno);
/* 1 with the next line (without '\n') in *line,*len; 0 at the end of the
 * file (with follow: for now; call again later); -1 on a read error
 * (reported). Overlong lines are reported and skipped here. The source of
 * r->scan: read lines through shardscan_next(&r->scan). */
int reader_next(struct reader *r, const char **line, size_t *len);
void reader_close(struct reader *r);

/* "sessrecctl: FILE:LINE: corrupt line skipped" for the line last returned,
 * for the first READER_CORRUPT_SHOWN of the file; reader_close then says
 * "N more corrupt lines in FILE". */
void reader_corrupt(struct reader *r);
