/* recloss: a recording's losses, said where they are and how big: the
 * writer's reports of failed lines (the loss is counted, a marker states
 * it when writing works again), and shard files removed or renamed under
 * their recordings (a removed one is re-created, its recordings go on
 * there). See "Loss accounting" in docs/architecture.md. Convention: 0 or
 * -errno; lookups return NULL. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "recline.h"

struct writer_error;

/* The shard file for path, after checking that the file open for it (if
 * any) is still the one there (a removed one is replaced first); the
 * directory is made (0700) when it is gone. NULL with errno. */
struct shard_file *recloss_open(struct daemon *d, const char *path);

/* rec writes a file that lacks its lines (made again after the one it
 * wrote was removed, gone bytes of it with that one; saved: gone is the
 * count a state file saved, a lower bound): its header and a "shard
 * replaced" marker go first (after the loss marker if a loss lasts),
 * RECORDER_SHARD_LOST. */
void recloss_replaced(struct recording *rec, uint64_t gone, bool saved);

/* What the recording lost in all (stated by markers or not yet). */
struct wlines_loss recloss_lost(const struct recording *rec);

/* "ENOSPC", "EIO", ... for err. */
const char *recloss_err_name(int err);

/* Tries to end a loss (RECORDER_DEGRADED): a resync line goes out, the
 * loss marker, or the header when the file lacks it (RECORDER_PROBING). */
void recloss_resync(struct recording *rec);

/* The header needed by a file without it is in (or, at the end, queued):
 * the loss marker and the "shard replaced" marker follow; the loss state
 * becomes then (RECORDER_OK, or RECORDER_MARKING at the end). */
void recloss_resume_lines(struct recording *rec, enum recorder_loss then);

/* At a resume (recorder_resume): the loss accounting the state file
 * saved. A loss in progress (or counted and not yet stated) goes on as
 * RECORDER_DEGRADED, its marker first on the disk; the lines the earlier
 * daemon counted after its last save died with it, so the counts are
 * lower bounds ("at least"), except after a clean handoff. */
void recloss_restore(struct recording *rec);

/* At a resume with the relay state of the earlier daemon, when the
 * recording lost lines (the relay's anchor may predate the hole): kept
 * and read are its ring's oldest byte and its count of output read.
 * During a loss, the output it took is made exact: the shard's output of
 * the session (read from the file) and the output stated lost tell where
 * the loss began; from there to the returned position it is counted
 * lost, the ring's bytes after it are to be recorded again. When a loss
 * marker was written after the last save, the loss is taken as stated
 * (its count a lower bound). After a stated loss, or such a marker, the
 * position is where the recording's output ends. The caller anchors the
 * relay there. UINT64_MAX when it cannot be told (or nothing was lost). */
uint64_t recloss_restore_output(struct recording *rec, uint64_t kept, uint64_t read);

/* Tells rec's session (rec->report) what happened. */
void recloss_news(struct recording *rec, enum recorder_news what);

/* One writer report on rec's lines (writer.h): a failure starts a loss
 * (RECORDER_DEGRADED_NEWS), the writer's count is taken in, a written
 * resync line ends it (RECORDER_RESUMED_NEWS). Returns true when the
 * count a deferred end line waited for is in (rec->finish_reason). */
bool recloss_report(struct recording *rec, const struct writer_error *r);

/* Once a second: every shard file is checked against its path (a removed
 * one is re-created and its recordings go on there after their header
 * and a "shard replaced" marker, RECORDER_SHARD_LOST; a renamed one keeps
 * its recordings and is not shared again), and degraded recordings try
 * their loss marker again. */
void recloss_tick(struct daemon *d);
