/* recevent: the events a recording's losses make (shard_lost,
 * recording_degraded, recording_resumed, session_truncated) and the loss parameters of its
 * session_recorded, which tell the size cap, a failed write and a removed
 * shard apart (sessrecd(8), "LOSS ACCOUNTING"). Convention: none (events
 * are sent or dropped by their targets). */
#pragma once
#include "event.h"
#include "recline.h"

/* Room for the numbers the loss parameters borrow. */
struct recevent_nums {
	char lost[24], out[24], in[24], removed[24], bytes[24];
};

/* Finishes e (its session's base parameters already in) as the event for
 * what (not RECORDER_FINISHED) and emits it. */
void recevent_news(struct recording *rec, enum recorder_news what, struct event *e, struct recevent_nums *n);

/* Adds degraded, lost_bytes, lost_output, lost_input, write_error (when
 * degraded), shard_lost and removed_bytes to a session_recorded. */
void recevent_loss_params(const struct recording *rec, struct event *e, struct recevent_nums *n);
