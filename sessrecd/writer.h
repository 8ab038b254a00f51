/* writer: the disk writer. The loop queues complete shard lines (written
 * whole: a run of them for one O_APPEND fd by one writev()), fd closes and
 * state-file updates; a thread performs them in order, so a slow disk never
 * stalls a relay. While the thread is idle and the disk fast, writer_flush writes the
 * batch itself (write-through), so lines are on disk before the terminal
 * shows their bytes. It reports back through an eventfd: lines marked
 * notify done, write errors (and the loss accounting of "Loss accounting" in
 * docs/architecture.md), and the queue falling below the low watermark
 * after the loop saw it over the high one. The thread never touches loop
 * state. Sequence numbers start at 1; 0 means "not queued" (no memory). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wlines.h"

#define WRITER_HIGH_WATER (64u << 20) /* queued bytes: the relay pauses reading inner masters */
#define WRITER_LOW_WATER (16u << 20)  /* ... and resumes below this */

struct writer;
struct chain;
struct chain_state;

/* Starts the thread; *notify_fd is the eventfd the loop watches (owned by
 * the writer). 0 or -errno. */
int writer_start(struct writer **w, int *notify_fd);

/* Performs everything queued, joins the thread, closes fds it was told to
 * close and frees w. */
void writer_stop(struct writer *w);

/* Queues line (len bytes, one write) for fd. owner identifies the session
 * in error reports; notify wakes the loop once it is done. Returns the seq. */
uint64_t writer_line(struct writer *w, int fd, uint64_t owner, const char *line, size_t len, bool notify);

/* writer_line without the handover: the thread sees the line at the next
 * writer_flush or other queuing call (a notify line goes at once). */
uint64_t writer_line_later(struct writer *w, int fd, uint64_t owner, const char *line, size_t len, bool notify);

/* Queues line for a failed owner: written (whatever came before it was
 * dropped) it ends the dropping and is reported WRITER_RESUMED; failing, it
 * is reported WRITER_FAILED and the dropping goes on. Seq, 0: not queued. */
uint64_t writer_resync_line(struct writer *w, int fd, uint64_t owner, const char *line, size_t len);

/* Queues a fence for owner: when every line queued before it is performed,
 * the bytes of owner's lines dropped since the last fence are reported
 * (WRITER_FENCE, possibly 0). forget: owner's dropping ends there too (the
 * session is gone). Seq, 0: not queued. */
uint64_t writer_fence(struct writer *w, uint64_t owner, bool forget);

/* Hands the lines queued since the last flush to the thread: one lock, a
 * wakeup only when it sleeps. Once per batch (a relay read). */
void writer_flush(struct writer *w);

/* Queues close(fd) after everything queued before it; 0: not queued (out
 * of memory), the fd stays the caller's. */
uint64_t writer_close_fd(struct writer *w, int fd);

/* Queues io_write_atomic(path, data, mode 0600) / unlink(path). */
uint64_t writer_state_put(struct writer *w, const char *path, const char *data, size_t len, uint64_t owner);
uint64_t writer_state_unlink(struct writer *w, const char *path);

/* Queued bytes; whether the queue is over WRITER_HIGH_WATER (the thread
 * then notifies once it drops below WRITER_LOW_WATER). */
bool writer_congested(struct writer *w);

/* The seq of the last entry performed. */
uint64_t writer_done(struct writer *w);

/* The loop is woken (the eventfd) once the entries up to seq are
 * performed: a relay waits for its lines to be on disk. false when they
 * are already (no wakeup comes then). */
bool writer_wake_at(struct writer *w, uint64_t seq);

/* Clears the eventfd and takes up to max reports, oldest first (an owner's
 * reports keep their order); returns how many. */
size_t writer_collect(struct writer *w, struct writer_error *out, size_t max);

/* Hash chains (chain.h): every line written is fed to c (owned by the
 * caller, outliving the writer); set before the first line. */
void writer_set_chain(struct writer *w, struct chain *c);
/* Queues the chains' tick: timed checkpoints, the seal key's epoch. Seq,
 * 0: not queued (or no chains). */
uint64_t writer_chain_tick(struct writer *w);
/* Queues owner's chain to continue from st (a resume), before its lines. */
uint64_t writer_chain_seed(struct writer *w, uint64_t owner, const struct chain_state *st);
