/* memsink: an in-memory emitter (emit.h) and shard sink (recorder.h), as
 * tlog's in-memory writer: what sessions emit and record is kept in two
 * lists of strings, so the relay, recorder and session logic is tested
 * without a journal, a syslog socket or the disk writer. Set
 * d->emitter = &m.emitter and d->sink = &m.sink. Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emit.h"
#include "recorder.h"

struct memsink {
	struct emitter emitter;
	struct shard_sink sink;
	char **events; /* "session_recorded sid=... reason=exit", in order */
	size_t nevents;
	char **lines; /* the shard lines as queued, newline included */
	size_t nlines;
	uint64_t seq; /* the last sequence number handed out */
	size_t flushes;
};

void memsink_init(struct memsink *m);
void memsink_free(struct memsink *m);

/* The first event / shard line that holds needle, from index *from on
 * (from may be NULL: from the start); its index is stored in *from. NULL
 * when none does. */
const char *memsink_event(const struct memsink *m, size_t *from, const char *needle);
const char *memsink_line(const struct memsink *m, size_t *from, const char *needle);
