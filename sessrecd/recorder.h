/* recorder: a session's lines in its day shard (header, o/i events,
 * resize, markers, trunc, end), the per-session cap, withheld secrets, and
 * the shard files shared (refcounted) by the sessions writing them. Lines
 * go to the writer thread; nothing here touches the disk but opening a
 * shard. It knows nothing of the session's lifecycle. Convention: 0 or
 * -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shardfile.h"
#include "shardline.h"

struct daemon;
struct recording;
struct session_state;
struct state_pending;
struct state_sync;
struct writer_error;

/* Where a recording's lines go instead of the disk writer when
 * d->sink is set: memory, in tests (memsink.h). */
struct shard_sink {
	/* Queues line (one whole shard line) for fd; owner names the session
	 * in error reports; notify: the end line. The seq (> 0), 0 when it
	 * could not be queued. */
	uint64_t (*line)(struct shard_sink *k, int fd, uint64_t owner, const char *line, size_t len, bool notify);
	/* The lines queued since the last flush go out (once per recorder call). */
	void (*flush)(struct shard_sink *k);
	/* Closes fd after everything queued for it; 0: not queued, fd stays open. */
	uint64_t (*close_fd)(struct shard_sink *k, int fd);
};

/* Where a recording's writing stands (see "Loss accounting" in
 * docs/architecture.md). */
enum recorder_loss {
	RECORDER_OK,
	RECORDER_FENCING,  /* a line failed; lines are counted lost, the writer's count is awaited */
	RECORDER_DEGRADED, /* the loss is known; lines are counted lost; the loss marker is tried on the tick */
	RECORDER_MARKING,  /* the loss marker is in flight, lines are queued behind it */
	RECORDER_PROBING,  /* the header is in flight to a file without it; lines are counted lost */
};

/* What the recorder tells its session (the events to emit). */
enum recorder_news {
	RECORDER_DEGRADED_NEWS, /* writing failed (rec->loss_err) */
	RECORDER_RESUMED_NEWS,  /* writing works again; rec->news_bytes were lost */
	RECORDER_SHARD_LOST,    /* the shard was removed; rec->news_bytes had been written to it */
	RECORDER_FINISHED,      /* a deferred end line is queued (recorder_finish gave -EINPROGRESS) */
};

typedef void (*recorder_report_fn)(struct recording *rec, enum recorder_news what);

/* One session's recording. */
struct recording {
	struct daemon *d;
	struct session_state *st; /* counters, flags, the shard's path */
	struct state_sync *sync;
	uint64_t owner;          /* names the session in the writer's reports */
	struct shard_file *file; /* NULL: nothing is recorded */
	struct shard_utf8 carry_o, carry_i;
	uint64_t withheld_pending;
	uint64_t end_seq;            /* the writer seq of the end line */
	int64_t stop_ns;             /* CLOCK_MONOTONIC when it stopped, if known before it ends (lost) */
	recorder_report_fn report;   /* set by the session; may be NULL */
	struct recording *file_next; /* the next recording writing file */
	/* Loss accounting, in shard-line bytes. */
	enum recorder_loss loss;
	int loss_err;              /* the errno that began the loss */
	uint64_t lost_pending;     /* lost and not yet stated by a marker */
	uint64_t lost_marking;     /* stated by the marker in flight */
	uint64_t resync_len;       /* the length of the resync line in flight */
	uint64_t lost_bytes;       /* stated by markers written */
	uint64_t file_bytes;       /* queued to the current file (header included) */
	uint64_t removed_bytes;    /* written to shard files removed since */
	uint64_t removed_note;     /* a "shard replaced" marker still to write (its bytes) */
	uint64_t news_bytes;       /* see enum recorder_news */
	bool note_due;             /* the "shard replaced" marker waits for the header */
	const char *finish_reason; /* the end line waits for the writer's count */
};

/* Binds rec (no shard yet) to its session's state. */
void recorder_init(struct recording *rec, struct daemon *d, struct session_state *st, struct state_sync *sync,
		   uint64_t owner);

/* Opens (or shares) the shard of the session's start day and queues the
 * header (with meta; cmd for a non-tty command). -errno when the shard
 * cannot be opened: nothing is recorded then. */
int recorder_begin(struct recording *rec);

/* Output read from the inner master / input read from the outer tty.
 * secret: the inner tty has ECHO off and ICANON on; such input is counted,
 * not stored, and an "m" marker says how much was withheld. */
void recorder_output(struct recording *rec, const uint8_t *p, size_t n);
void recorder_input(struct recording *rec, const uint8_t *p, size_t n, bool secret);

void recorder_resize(struct recording *rec, unsigned cols, unsigned rows);
void recorder_marker(struct recording *rec, const char *text);

/* Writes the marker for withheld input not yet reported. */
void recorder_flush_withheld(struct recording *rec);

/* Seconds since the session's start on the monotonic clock (until
 * stop_ns when that is set). */
double recorder_elapsed(const struct recording *rec);

/* Flushes carried UTF-8 and withheld input, queues the end line (always,
 * even after the cap; behind a loss marker when lines were lost) with the
 * writer told to report it, sets end_seq (0: nothing to wait for) and lets
 * go of the shard. 0; -EINPROGRESS when a loss is still being counted by
 * the writer: the end line follows (RECORDER_FINISHED), end_seq is
 * UINT64_MAX until then. */
int recorder_finish(struct recording *rec, const char *reason);

/* The bytes of the recording lost in all (stated by markers or not yet). */
uint64_t recorder_lost(const struct recording *rec);

/* "ENOSPC", "EIO", ... for err. */
const char *recorder_err_name(int err);

/* The writer reports on the recording's lines (see writer.h): a failure
 * starts a loss (RECORDER_DEGRADED_NEWS), the writer's count of dropped
 * lines is taken in, a written loss marker ends it
 * (RECORDER_RESUMED_NEWS). */
void recorder_writer_report(struct recording *rec, const struct writer_error *r);

/* Recording cannot go on (out of memory): it stops, one log line; the
 * relay goes on. */
void recorder_write_failed(struct recording *rec, int err);

/* Once a second: every shard file is checked against its path (a removed
 * one is re-created and its recordings go on there after their header
 * and a "shard replaced" marker, RECORDER_SHARD_LOST; a renamed one keeps
 * its recordings and is not shared again), and degraded recordings try
 * their loss marker again. */
void recorder_tick(struct daemon *d);

/* Drops the recording's shard reference (closing the file through the
 * writer when it was the last); safe when it has none. */
void recorder_release(struct recording *rec);

/* Closes every shard file still open (at exit, the writer stopped). */
void recorder_close_all(struct daemon *d);

/* Goes on recording a session an earlier daemon handed over, in the shard
 * its state names (a torn last line a crash left there is cut off first,
 * with a log line), with the UTF-8 carries of p (may be NULL). -errno when
 * the shard cannot be opened: nothing is recorded then. */
int recorder_resume(struct recording *rec, const struct state_pending *p);

/* The UTF-8 bytes carried to the next read, into p (for a handoff). */
void recorder_pending(const struct recording *rec, struct state_pending *p);
