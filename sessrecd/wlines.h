/* wlines: a block of shard lines performed for the disk writer: runs of
 * lines for one fd by one writev, a torn write cut off, and, once a line
 * of an owner failed, that owner's later lines dropped and counted until
 * its resync line is written. One thread at a time performs (the writer
 * thread, or the loop while the thread sleeps). Convention: 0 or -errno;
 * sizes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A loss: bytes of shard lines, and the output and input bytes of the
 * session those lines carried. */
struct wlines_loss {
	uint64_t bytes, out, in;
};

/* Adds the line (len bytes, newline included) to *lost: its bytes, and
 * the session bytes it carries when it is an "o" or "i" event. */
void wlines_loss_line(struct wlines_loss *lost, const char *line, size_t len);

/* *a += *b; *a -= *b (never below 0). */
void wlines_loss_add(struct wlines_loss *a, const struct wlines_loss *b);
void wlines_loss_sub(struct wlines_loss *a, const struct wlines_loss *b);

/* What the writer tells the loop about one owner's lines (see "Loss
 * accounting" in docs/architecture.md). After a line of an owner fails, no
 * later line of that owner is written (each is dropped and its bytes
 * counted) until a line queued by writer_resync_line is written. */
enum writer_news {
	WRITER_FAILED,  /* a line (or the resync line) of owner could not be written: err */
	WRITER_FENCE,   /* writer_fence performed: bytes of owner's lines dropped since the last fence */
	WRITER_RESUMED, /* the resync line is written: owner's lines are written again */
};

struct writer_error {
	uint64_t owner; /* the session serial the entry belonged to */
	int err;        /* errno (WRITER_FAILED) */
	enum writer_news kind;
	struct wlines_loss lost; /* WRITER_FENCE */
};

enum { WLINE_NOTIFY = 1, WLINE_RESYNC = 2, WLINE_DONE = 4 /* written (set by wlines_perform) */ };

/* One line in a block, its bytes right after it (padded to 8). */
struct wline {
	uint64_t owner;
	int fd;
	uint8_t flags; /* WLINE_* */
	uint32_t len;
};

struct wlines_drop;
struct chain;

/* The owners being dropped, and where their news goes. */
struct wlines {
	struct wlines_drop *drops;
	size_t ndrops, capdrops;
	void (*report)(void *arg, struct writer_error r); /* called by the performing thread */
	void *arg;
	struct chain *chain; /* NULL: no hash chains (tests of the writer alone) */
};

/* The bytes a line of len takes in a block. */
size_t wlines_size(size_t len);

/* Performs the lines of a block (data, len bytes of struct wline records):
 * reports WRITER_FAILED for the first failed line of an owner,
 * WRITER_RESUMED / WRITER_FAILED for resync lines. Returns whether the
 * loop is to be woken (a notify line, a report). */
bool wlines_perform(struct wlines *w, char *data, size_t len);

/* What owner's lines dropped since its last fence held (reset to 0);
 * forget: its dropping ends. */
struct wlines_loss wlines_fence(struct wlines *w, uint64_t owner, bool forget);

/* The timed checkpoints due (chain.h) and the seal key's epoch: the tick.
 * Returns whether the loop is to be woken. */
bool wlines_tick(struct wlines *w);

void wlines_free(struct wlines *w);
