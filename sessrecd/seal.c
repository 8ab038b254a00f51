/* seal: the sealing key of the daemon, its evolution and the seals (see
 * seal.h). Convention: 0 or -errno. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "seal.h"

int seal_load(struct seal *s, const char *path)
{
	struct timespec ts;
	int r;

	seal_wipe(s);
	snprintf(s->path, sizeof(s->path), "%s", path);
	if ((r = chk_init()) < 0 || (r = chk_key_load(path, &s->key)) < 0)
		return r;
	s->on = true;
	clock_gettime(CLOCK_REALTIME, &ts);
	return seal_advance(s, ts.tv_sec);
}

int seal_advance(struct seal *s, int64_t now)
{
	uint64_t e;
	struct chk_key next;
	int r;

	if (!s->on)
		return 0;
	e = chk_key_epoch_at(&s->key, now);
	if (e <= s->key.epoch)
		return 0;
	next = s->key;
	(void)chk_key_to(&next, e);
	if ((r = chk_key_save(s->path, &next, false)) < 0) {
		log_line("seal key %s: cannot rewrite it for epoch %llu: %s; no more seals", s->path,
			 (unsigned long long)e, strerror(-r));
		sodium_memzero(&next, sizeof(next));
		seal_wipe(s);
		return r;
	}
	s->key = next;
	sodium_memzero(&next, sizeof(next));
	return 0;
}

void seal_make(struct seal *s, const char *sid, struct chk *c, int64_t now)
{
	c->time = now;
	c->sealed = false;
	c->epoch = 0;
	if (!s->on || seal_advance(s, now) < 0)
		return;
	c->epoch = s->key.epoch;
	chk_seal(&s->key, sid, c);
}

void seal_wipe(struct seal *s)
{
	sodium_memzero(&s->key, sizeof(s->key));
	s->on = false;
}
