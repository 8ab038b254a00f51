/* relaydisk: which of a relay's output is on disk. Marks of the output
 * whose lines the writer holds, the durable count and the ring's kept
 * count they move, the shard's anchor (where a resume starts reading it),
 * and a relay's wait for the writer on d->disk_waiting. It sits below
 * relay, which embeds one struct relaydisk. Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct daemon;
struct recording;
struct relaymem;
struct session_state;

#define RELAYDISK_MARKS 8 /* output batches waiting for the writer */

/* Output up to pos (a stream position) is in lines up to the writer's seq. */
struct relaydisk_mark {
	uint64_t pos, seq;
};

struct relaydisk {
	struct daemon *d;
	struct session_state *st;
	struct recording *rec;
	struct relaymem *mem; /* the relay's memfd (h NULL while off) */
	struct relaydisk_mark marks[RELAYDISK_MARKS];
	unsigned nmarks;
	struct relaydisk *wait_next; /* on d->disk_waiting: reading waits for the writer */
	bool waiting;
};

/* Binds k to its relay's state, recording and memfd; no marks, not waiting. */
void relaydisk_init(struct relaydisk *k, struct daemon *d, struct session_state *st, struct recording *rec,
		    struct relaymem *mem);

/* Whether output goes into the recording (else nothing waits for the disk). */
bool relaydisk_recording(const struct relaydisk *k);

/* The recorder took the output up to the read position: the lines holding
 * it (all but a carried UTF-8 sequence) are done at its last seq. */
void relaydisk_mark(struct relaydisk *k);

/* Output whose lines the writer performed counts as on disk; the ring lets
 * go of what is also shown. */
void relaydisk_settle(struct relaydisk *k);

/* The ring lets go of output once it is shown and on disk (after the
 * terminal took some). */
void relaydisk_set_kept(struct relaydisk *k);

/* Anchors the shard at its size now for pos, when every "o" line of the
 * session is on disk (no mark waits); else nothing. */
void relaydisk_anchor(struct relaydisk *k, uint64_t pos);

/* A new anchor at the durable count when a MiB of output (relaydisk.c:
 * RELAYDISK_ANCHOR_EVERY) passed since the last and no mark waits. */
void relaydisk_anchor_due(struct relaydisk *k);

/* Whether reading must wait for the writer: the output past the anchor
 * passed 8 MiB (RELAYDISK_ANCHOR_MAX) with lines not yet confirmed, so a
 * resume never reads more than that of the session's lines back. */
bool relaydisk_too_far(const struct relaydisk *k);

/* Reading waits for the writer: k goes on d->disk_waiting and the writer
 * wakes the loop once the last mark's lines are on disk. Nothing when no
 * mark waits or lines do not go to a writer. */
void relaydisk_wait(struct relaydisk *k);

/* Off d->disk_waiting (a relay that stops). */
void relaydisk_unwait(struct relaydisk *k);

/* The writer performed entries: every waiting k is taken off the list,
 * settled, anchored when due, and handed to go (its relay goes on). */
void relaydisk_progress(struct daemon *d, void (*go)(struct relaydisk *k));

/* The writer was stopped with every line on disk: all marked output is
 * durable and nothing waits. */
void relaydisk_all_done(struct relaydisk *k);

/* Forgets the marks and the wait (the relay stops, or a resume recounts). */
void relaydisk_reset(struct relaydisk *k);
