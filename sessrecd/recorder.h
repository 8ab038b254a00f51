/* recorder: a session's lines in its day shard (header, o/i events,
 * resize, markers, trunc, end), the per-session output cap and withheld secrets.
 * Below it, recline queues and counts the lines and recloss accounts for
 * what could not be written; the shard files are shared (shardfile.h).
 * Lines go to the writer thread; nothing here touches the disk but opening
 * a shard. It knows nothing of the session's lifecycle: it reports through
 * rec->report. Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recline.h"
#include "recloss.h"

struct daemon;
struct session_state;
struct state_pending;
struct state_sync;
struct writer_error;

/* Binds rec (no shard yet) to its session's state. */
void recorder_init(struct recording *rec, struct daemon *d, struct session_state *st, struct state_sync *sync,
		   uint64_t owner);

/* Opens (or shares) the shard of the session's start day and queues the
 * header (with meta; cmd for a non-tty command). -errno when the shard
 * cannot be opened: nothing is recorded then. */
int recorder_begin(struct recording *rec);

/* Output read from the inner master / input read from the outer tty.
 * Output stops being recorded at the cap (a trunc line, RECORDER_TRUNCATED
 * to rec->report at once); input, resizes and markers go on after it.
 * secret: the inner tty has ECHO off and ICANON on; such input is counted,
 * not stored, and an "m" marker says how much was withheld, one per line
 * (st->withheld_lines counts them). */
void recorder_output(struct recording *rec, const uint8_t *p, size_t n);
void recorder_input(struct recording *rec, const uint8_t *p, size_t n, bool secret);

/* What a command session without a pty wrote to stderr: the "e" channel,
 * output like "o" (the cap counts it). */
void recorder_stderr(struct recording *rec, const uint8_t *p, size_t n);

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

/* The writer reports on the recording's lines (see writer.h): a failure
 * starts a loss (RECORDER_DEGRADED_NEWS), the writer's count of dropped
 * lines is taken in, a written loss marker ends it
 * (RECORDER_RESUMED_NEWS). */
void recorder_writer_report(struct recording *rec, const struct writer_error *r);

/* Recording cannot go on (out of memory): it stops, one log line; the
 * relay goes on. */
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
