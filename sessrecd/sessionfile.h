/* sessionfile: a session's state file, queued to the disk writer: where it
 * is, what it carries besides the live counters (whose session it is, when
 * it was written), the plain save, the handoff save with the bytes in
 * flight, the removal. Below session, which calls it at its transitions.
 * Convention: 0 or -errno. */
#pragma once
#include <stdint.h>

struct daemon;
struct recording;
struct relay;
struct session_state;
struct state_sync;

/* Queues the state file of st (serial names the session in the writer's
 * reports); sync is marked written now. Nothing is queued when state files
 * are not written (no writer, no state directory). */
void sessionfile_save(struct daemon *d, struct session_state *st, struct state_sync *sync, uint64_t serial);

/* The state of a relaying session as a handoff writes it: withheld input
 * flushed, the pending bytes of rec and relay carried, handoff_ns = now_ns;
 * queued to the writer behind every line of the session. 0 or -errno
 * (-ENOENT: state files are not written). */
int sessionfile_save_handoff(struct daemon *d, struct session_state *st, struct recording *rec,
			     const struct relay *relay, uint64_t serial, int64_t now_ns);

/* Queues the removal of the state file of st (the session ended). */
void sessionfile_remove(struct daemon *d, const struct session_state *st);
