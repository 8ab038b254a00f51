/* sessionfile: a session's state file (see sessionfile.h); the writer
 * performs every write and removal in order with the session's lines.
 * Convention: 0 or -errno. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "monoclock.h"
#include "recorder.h"
#include "relay.h"
#include "sessionfile.h"
#include "state.h"
#include "writer.h"

/* The one place that fills in what a state file carries besides the live
 * counters: whose session it is and when it was written. */
static void prepare(struct daemon *d, struct session_state *st, int64_t saved_ns, int64_t handoff_ns)
{
	/* Unchanged after the first time: no allocation per writing. Out of
	 * memory, the file says no owner and no later daemon takes it. */
	if (strcmp(state_str(st->owner), d->ho.owner) != 0)
		(void)state_set(&st->owner, STATE_PATH_MAX, d->ho.owner);
	st->saved_ns = saved_ns;
	st->handoff_ns = handoff_ns;
}

static int file_path(struct daemon *d, const struct session_state *st, char *path, size_t cap)
{
	if (!d->writer || !d->state_ok || state_path(path, cap, d->cfg.state_dir, st->sid) < 0)
		return -ENOENT;
	return 0;
}

void sessionfile_save(struct daemon *d, struct session_state *st, struct state_sync *sync, uint64_t serial)
{
	char path[PATH_MAX], json[STATE_JSON_MAX];
	int n;

	sync->dirty = sync->urgent = false;
	sync->saved_ms = mono_ms();
	if (file_path(d, st, path, sizeof(path)) < 0)
		return;
	prepare(d, st, sync->saved_ms * 1000000, 0);
	n = state_to_json(st, json, sizeof(json));
	if (n > 0)
		writer_state_put(d->writer, path, json, (size_t)n, serial);
}

int sessionfile_save_handoff(struct daemon *d, struct session_state *st, struct recording *rec,
			     const struct relay *relay, uint64_t serial, int64_t now_ns)
{
	struct state_pending pend = { 0 };
	char path[PATH_MAX], *json = NULL;
	int n;

	if ((n = file_path(d, st, path, sizeof(path))) < 0)
		return n;
	recorder_flush_withheld(rec);
	prepare(d, st, now_ns, now_ns);
	recorder_pending(rec, &pend);
	if ((n = relay_pending(relay, &pend)) == 0)
		n = state_handoff_json(st, &pend, &json);
	state_pending_free(&pend);
	if (n < 0)
		return n;
	/* Behind every line of the session already queued: the writer keeps order. */
	writer_state_put(d->writer, path, json, (size_t)n, serial);
	free(json);
	return 0;
}

void sessionfile_remove(struct daemon *d, const struct session_state *st)
{
	char path[PATH_MAX];

	if (file_path(d, st, path, sizeof(path)) == 0)
		writer_state_unlink(d->writer, path);
}
