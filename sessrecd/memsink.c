/* memsink: in-memory emitter and shard sink for tests (see memsink.h).
 * Allocation failures count as a line not queued (seq 0) or an event lost,
 * as the real sinks report theirs. Convention: 0 or -errno. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memsink.h"

#define MEMSINK_EVENT_MAX 4096

static int push(char ***v, size_t *n, char *s)
{
	char **nv;

	if (!s)
		return -1;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -1;
	}
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

static void event_cb(struct emitter *em, const struct event *e)
{
	struct memsink *m = (struct memsink *)(void *)((char *)em - offsetof(struct memsink, emitter));
	char buf[MEMSINK_EVENT_MAX];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "%s", event_name(e->type));

	for (size_t i = 0; i < e->nparams && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s=%s", e->params[i].name, e->params[i].value);
	(void)push(&m->events, &m->nevents, strdup(buf));
}

static struct memsink *of_sink(struct shard_sink *k)
{
	return (struct memsink *)(void *)((char *)k - offsetof(struct memsink, sink));
}

static uint64_t line_cb(struct shard_sink *k, int fd, uint64_t owner, const char *line, size_t len, bool notify)
{
	struct memsink *m = of_sink(k);

	(void)fd;
	(void)owner;
	(void)notify;
	return push(&m->lines, &m->nlines, strndup(line, len)) < 0 ? 0 : ++m->seq;
}

static void flush_cb(struct shard_sink *k)
{
	of_sink(k)->flushes++;
}

static uint64_t close_cb(struct shard_sink *k, int fd)
{
	close(fd);
	return ++of_sink(k)->seq;
}

void memsink_init(struct memsink *m)
{
	memset(m, 0, sizeof(*m));
	m->emitter.event = event_cb;
	m->sink.line = line_cb;
	m->sink.flush = flush_cb;
	m->sink.close_fd = close_cb;
}

void memsink_free(struct memsink *m)
{
	for (size_t i = 0; i < m->nevents; i++)
		free(m->events[i]);
	for (size_t i = 0; i < m->nlines; i++)
		free(m->lines[i]);
	free(m->events);
	free(m->lines);
	memsink_init(m);
}

static const char *find(char *const *v, size_t n, size_t *from, const char *needle)
{
	for (size_t i = from ? *from : 0; i < n; i++) {
		if (strstr(v[i], needle)) {
			if (from)
				*from = i;
			return v[i];
		}
	}
	return NULL;
}

const char *memsink_event(const struct memsink *m, size_t *from, const char *needle)
{
	return find(m->events, m->nevents, from, needle);
}

const char *memsink_line(const struct memsink *m, size_t *from, const char *needle)
{
	return find(m->lines, m->nlines, from, needle);
}
