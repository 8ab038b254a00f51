/* recevent: the events of a recording's losses (see recevent.h).
 * Convention: none. */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "emit.h"
#include "recevent.h"
#include "recloss.h"
#include "state.h"

static void loss_nums(struct recevent_nums *n, const struct wlines_loss *l)
{
	snprintf(n->lost, sizeof(n->lost), "%llu", (unsigned long long)l->bytes);
	snprintf(n->out, sizeof(n->out), "%llu", (unsigned long long)l->out);
	snprintf(n->in, sizeof(n->in), "%llu", (unsigned long long)l->in);
}

static void add_loss(struct event *e, const struct recevent_nums *n)
{
	event_add(e, "lost_bytes", n->lost);
	event_add(e, "lost_output", n->out);
	event_add(e, "lost_input", n->in);
}

void recevent_news(struct recording *rec, enum recorder_news what, struct event *e, struct recevent_nums *n)
{
	switch (what) {
	case RECORDER_FINISHED:
		return;
	case RECORDER_SHARD_LOST:
		e->type = EVENT_SHARD_LOST;
		e->msg = "shard file removed; the session goes on in a new file";
		snprintf(n->bytes, sizeof(n->bytes), "%llu", (unsigned long long)rec->news_bytes);
		event_add(e, "path", state_str(rec->st->shard));
		event_add(e, "bytes", n->bytes);
		break;
	case RECORDER_DEGRADED_NEWS:
		e->type = EVENT_RECORDING_DEGRADED;
		e->msg = "recording lines cannot be written; they are counted until writing works again";
		event_add(e, "path", state_str(rec->st->shard));
		event_add(e, "reason", recloss_err_name(rec->loss_err));
		event_add(e, "error", strerror(rec->loss_err));
		break;
	case RECORDER_TRUNCATED:
		e->type = EVENT_SESSION_TRUNCATED;
		e->msg = "the session reached its size cap: output is no longer recorded, input and markers are";
		snprintf(n->bytes, sizeof(n->bytes), "%llu", (unsigned long long)rec->st->out_recorded);
		snprintf(n->lost, sizeof(n->lost), "%llu", (unsigned long long)rec->st->cap);
		event_add(e, "bytes", n->bytes);
		event_add(e, "cap", n->lost);
		break;
	case RECORDER_RESUMED_NEWS:
		e->type = EVENT_RECORDING_RESUMED;
		e->msg = "recording resumed behind a marker stating the bytes lost";
		loss_nums(n, &rec->news_lost);
		event_add(e, "path", state_str(rec->st->shard));
		add_loss(e, n);
		break;
	}
	emit_event(rec->d, e);
}

void recevent_loss_params(const struct recording *rec, struct event *e, struct recevent_nums *n)
{
	struct wlines_loss l = recloss_lost(rec);

	loss_nums(n, &l);
	snprintf(n->removed, sizeof(n->removed), "%llu", (unsigned long long)rec->removed_bytes);
	event_add(e, "degraded", rec->loss_err ? "true" : "false");
	add_loss(e, n);
	if (rec->loss_err)
		event_add(e, "write_error", recloss_err_name(rec->loss_err));
	if (rec->stated_at_least || rec->pending_at_least || rec->pending_out_at_least)
		event_add(e, "lost_at_least", "true"); /* part of the count died with a restarted daemon */
	event_add(e, "shard_lost", rec->removed_bytes || rec->note_due ? "true" : "false");
	event_add(e, "removed_bytes", n->removed);
}
