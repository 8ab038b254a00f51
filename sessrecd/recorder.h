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

#include "shardline.h"

struct daemon;
struct session_state;
struct state_pending;
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

/* One open day shard, shared by every recording writing it (the list
 * hangs off struct daemon). */
struct shard_file {
	struct shard_file *next;
	int fd;
	unsigned refs;
	char path[];
};

/* One session's recording. */
struct recording {
	struct daemon *d;
	struct session_state *st; /* counters, flags, the shard's path */
	struct state_sync *sync;
	uint64_t owner;          /* names the session in the writer's reports */
	struct shard_file *file; /* NULL: nothing is recorded */
	struct shard_utf8 carry_o, carry_i;
	uint64_t withheld_pending;
	uint64_t end_seq;  /* the writer seq of the end line */
	uint64_t last_seq; /* the writer seq of the last line queued */
	int64_t stop_ns;   /* CLOCK_MONOTONIC when it stopped, if known before it ends (lost) */
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
 * even after the cap) with the writer told to report it, sets end_seq
 * (0: nothing to wait for) and lets go of the shard. */
void recorder_finish(struct recording *rec, const char *reason);

/* The writer could not write a line of the recording: recording stops
 * (one log line, a trunc line if it can still be written), the relay goes
 * on. */
void recorder_write_failed(struct recording *rec, int err);

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
