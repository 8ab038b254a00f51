/* recorder: a session's lines in its day shard (header, o/i events,
 * resize, markers, trunc, end), the per-session cap, withheld secrets, and
 * the shard files shared (refcounted) by the sessions writing them. Lines
 * go to the writer thread; nothing here touches the disk but opening a
 * shard. Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct session;
struct state_pending;

/* Opens (or shares) the shard of the session's start day and queues the
 * header (with meta; cmd for a non-tty command). -errno when the shard
 * cannot be opened: nothing is recorded then. */
int recorder_begin(struct daemon *d, struct session *s);

/* Output read from the inner master / input read from the outer tty.
 * secret: the inner tty has ECHO off and ICANON on; such input is counted,
 * not stored, and an "m" marker says how much was withheld. */
void recorder_output(struct daemon *d, struct session *s, const uint8_t *p, size_t n);
void recorder_input(struct daemon *d, struct session *s, const uint8_t *p, size_t n, bool secret);

void recorder_resize(struct daemon *d, struct session *s, unsigned cols, unsigned rows);
void recorder_marker(struct daemon *d, struct session *s, const char *text);

/* Writes the marker for withheld input not yet reported. */
void recorder_flush_withheld(struct daemon *d, struct session *s);

/* Flushes carried UTF-8 and withheld input, queues the end line (always,
 * even after the cap) with the writer told to report it, sets s->end_seq
 * (0: nothing to wait for) and lets go of the shard. */
void recorder_finish(struct daemon *d, struct session *s, const char *reason);

/* The writer could not write a line of s: recording stops (one log line,
 * a trunc line if it can still be written), the relay goes on. */
void recorder_write_failed(struct daemon *d, struct session *s, int err);

/* Drops the session's shard reference (closing the file through the writer
 * when it was the last); safe when it has none. */
void recorder_release(struct daemon *d, struct session *s);

/* Goes on recording a session an earlier daemon handed over, in the shard
 * its state names (a torn last line a crash left there is cut off first,
 * with a log line), with the UTF-8 carries of p (may be NULL). -errno when
 * the shard cannot be opened: nothing is recorded then. */
int recorder_resume(struct daemon *d, struct session *s, const struct state_pending *p);

/* The UTF-8 bytes carried to the next read, into p (for a handoff). */
void recorder_pending(const struct session *s, struct state_pending *p);
