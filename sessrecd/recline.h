/* recline: a recording's lines on their way to the disk writer (or the
 * in-memory sink in tests): queuing and counting them, the gate a loss
 * puts on them, the session's header line, the shard file a recording
 * writes. The types of a recording live here, under recorder and recloss.
 * Convention: 0 or -errno; sequence numbers, 0 for "not queued". */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shardfile.h"
#include "shardline.h"
#include "wlines.h"

struct daemon;
struct escrow_buf;
struct recording;
struct session_state;
struct state_sync;

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
	RECORDER_RESUMED_NEWS,  /* writing works again; rec->news_lost was lost */
	RECORDER_SHARD_LOST,    /* the shard was removed; rec->news_bytes had been written to it */
	RECORDER_FINISHED,      /* a deferred end line is queued (recorder_finish gave -EINPROGRESS) */
	RECORDER_TRUNCATED,     /* the output cap was reached (st->out_recorded) */
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
	uint64_t last_seq;           /* the writer seq of the last line queued */
	int64_t stop_ns;             /* CLOCK_MONOTONIC when it stopped, if known before it ends (lost) */
	recorder_report_fn report;   /* set by the session; may be NULL */
	struct recording *file_next; /* the next recording writing file */
	/* Loss accounting: bytes of shard lines (and the session bytes they
	 * carried, for what was lost). */
	enum recorder_loss loss;
	int loss_err;                    /* the errno that began the loss */
	struct wlines_loss lost_pending; /* lost and not yet stated by a marker */
	struct wlines_loss lost_marking; /* stated by the marker in flight */
	struct wlines_loss lost_stated;  /* stated by markers written */
	struct wlines_loss news_lost;    /* RECORDER_RESUMED_NEWS: what its marker stated */
	uint64_t resync_len;             /* the length of the resync line in flight */
	uint64_t file_bytes;             /* queued to the current file (header included) */
	uint64_t removed_bytes;          /* written to shard files removed since */
	uint64_t removed_note;           /* a "shard replaced" marker still to write (its bytes) */
	uint64_t news_bytes;             /* RECORDER_SHARD_LOST: the bytes the removed file held */
	bool note_due;                   /* the "shard replaced" marker waits for the header */
	bool note_saved;                 /* its count is a saved one (a lower bound) */
	bool pending_at_least;           /* part of lost_pending/marking died with a restarted daemon */
	bool pending_out_at_least;       /* ... its output count too (not recovered from the relay state) */
	bool stated_at_least;            /* a marker written stated such a lower bound */
	uint64_t loss_off;               /* the shard's size when the loss began (state.h) */
	const char *finish_reason;       /* the end line waits for the writer's count */
	struct escrow_buf *escrow;       /* a withheld line not sealed yet (escrow.c); NULL: none */
	struct shard_utf8 carry_e;       /* a command session's stderr ("e", relaypipe.h) */
};

/* Queues one line for rec's file whatever the cap (header, trunc, end,
 * markers) and counts it (bytes_recorded, file_bytes); while a loss lasts
 * (recline_losing) counts it lost instead and returns 1. 0: out of memory
 * (the recording stops, recline_stop). */
uint64_t recline_put(struct recording *rec, const char *line, size_t len, bool notify);

/* An "m" line with text at the recording's time (recline_put). */
void recline_marker(struct recording *rec, const char *text);

/* The session's header line into line (the same in every file it writes:
 * a shard file describes itself); its length or -errno. */
int recline_header(const struct recording *rec, char *line, size_t cap);

/* Queues a resync line (writer.h) for rec's file (not counted: the
 * caller counts it); a plain line for the in-memory sink. Seq, 0: not
 * queued. */
uint64_t recline_resync(struct recording *rec, const char *line, size_t len);

/* Queues a fence for rec's owner (writer.h). Seq, 0: not queued. */
uint64_t recline_fence(struct recording *rec, bool forget);

/* The lines queued by one recorder call go out together (once per call). */
void recline_hand_over(struct daemon *d);

/* Whether lines are counted lost instead of queued (enum recorder_loss). */
bool recline_losing(const struct recording *rec);

/* len more / fewer bytes of rec on disk (bytes_recorded, file_bytes). */
void recline_count(struct recording *rec, size_t len);
void recline_uncount(struct recording *rec, uint64_t len);

/* rec writes f from now on (f's reference is rec's; file_bytes 0). */
void recline_attach(struct recording *rec, struct shard_file *f);

/* Drops rec's reference to its file (see recorder_release). */
void recline_release(struct recording *rec);

/* Drops one reference to f, closing it through the writer when it was the
 * last. */
void recline_unref(struct daemon *d, struct shard_file *f);

/* Seconds since the session's start (see recorder_elapsed). */
double recline_elapsed(const struct recording *rec);

/* The loss accounting into the session's state (state.h, struct
 * state_loss), for a daemon started later; urgent at a change of phase. */
void recline_loss_save(struct recording *rec, bool urgent);

/* Recording cannot go on (out of memory): it stops, one log line. */
void recline_stop(struct recording *rec, int err);
