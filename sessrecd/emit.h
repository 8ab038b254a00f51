/* emit: lifecycle events to the configured targets (Targets= / --syslog):
 * the journal (SESSREC_* fields, fixed MESSAGE_ID), /dev/log, stdout and
 * PID 1's stdout, all rendered by common/event.h. Best effort: a target
 * that fails loses that one line and the daemon goes on. */
#pragma once
#include "event.h"

struct daemon;

/* Where events go instead of the targets when d->emitter is set: memory,
 * in tests (memsink.h). */
struct emitter {
	void (*event)(struct emitter *em, const struct event *e);
};

/* Sends e to d->emitter, or else to every configured target. */
void emit_event(struct daemon *d, const struct event *e);
