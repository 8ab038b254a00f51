/* kdeny_rate: deny lines and session_denied events, one per pid, syscall
 * and action per second plus one summary (see kdeny_rate.h). Convention:
 * void. */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "emit.h"
#include "kdeny_rate.h"
#include "log.h"
#include "recline.h"
#include "session.h"
#include "shardline.h"

#define KDENY_IDLE_MS 2000

/* Whether a and b are the same denial but for its time. */
static bool same_kind(const struct auditrec *a, const struct auditrec *b)
{
	if (a->kind != b->kind || a->pid != b->pid)
		return false;
	if (a->kind == AUDITREC_KIND_SECCOMP)
		return a->syscall == b->syscall && a->arch == b->arch && a->code == b->code;
	return strcmp(a->op, b->op) == 0 && strcmp(a->target, b->target) == 0 && strcmp(a->tclass, b->tclass) == 0;
}

/* The deny line of r standing for count denials, and its event. */
static void write_deny(struct daemon *d, struct session *s, const struct auditrec *r, uint64_t count)
{
	char line[SHARD_LINE_MAX], pid[24], sys[24], sig[16], cnt[24], uid[24];
	bool sc = r->kind == AUDITREC_KIND_SECCOMP;
	struct shard_deny dn = {
		.kind = auditrec_kind_name(r->kind),
		.pid = r->pid,
		.comm = r->comm[0] ? r->comm : NULL,
		.exe = r->exe[0] ? r->exe : NULL,
		.syscall = sc ? r->syscall : -1,
		.syscall_name = sc ? auditrec_syscall_name(r->arch, r->syscall) : NULL,
		.action = sc ? auditrec_action(r->code) : NULL,
		.sig = sc ? r->sig : 0,
		.op = r->op[0] ? r->op : NULL,
		.target = r->target[0] ? r->target : NULL,
		.profile = r->profile[0] ? r->profile : NULL,
		.tclass = r->tclass[0] ? r->tclass : NULL,
		.count = count,
	};
	struct event e = { .type = EVENT_SESSION_DENIED };
	int n;

	if (s->rec.file && !s->st.failed) {
		n = shard_format_deny(line, sizeof(line), s->st.sid, recline_elapsed(&s->rec), &dn);
		if (n > 0) {
			recline_put(&s->rec, line, (size_t)n, false);
			recline_hand_over(d);
		}
	}
	session_event_base(s, &e, uid);
	snprintf(pid, sizeof(pid), "%ld", r->pid);
	snprintf(sys, sizeof(sys), "%ld", r->syscall);
	snprintf(sig, sizeof(sig), "%d", r->sig);
	snprintf(cnt, sizeof(cnt), "%llu", (unsigned long long)count);
	event_add(&e, "kind", dn.kind);
	event_add(&e, "pid", pid);
	event_add(&e, "comm", dn.comm);
	event_add(&e, "exe", dn.exe);
	if (sc) {
		event_add(&e, "syscall", sys);
		event_add(&e, "syscall_name", dn.syscall_name);
		event_add(&e, "action", dn.action);
		if (r->sig)
			event_add(&e, "sig", sig);
	}
	event_add(&e, "op", dn.op);
	event_add(&e, "target", dn.target);
	event_add(&e, "profile", dn.profile);
	event_add(&e, "class", dn.tclass);
	event_add(&e, "count", cnt);
	emit_event(d, &e);
}

/* The bucket's summary (its denials after the first) goes out. */
static void settle(struct daemon *d, struct kdeny_bucket *b)
{
	struct session *s;

	if (!b->more)
		return;
	if ((s = session_by_serial(d, b->serial)))
		write_deny(d, s, &b->rec, b->more);
	else
		log_line("%llu kernel denials of pid %ld not recorded: their session ended",
			 (unsigned long long)b->more, b->rec.pid);
	b->more = 0;
}

void kdeny_rate_take(struct daemon *d, struct kdeny_rate *k, struct session *s, const struct auditrec *r,
		     int64_t now_ms)
{
	struct kdeny_bucket *b = NULL, *old = &k->b[0];

	k->denials++;
	for (size_t i = 0; i < KDENY_BUCKETS; i++) {
		struct kdeny_bucket *c = &k->b[i];

		if (c->serial == s->serial && same_kind(&c->rec, r)) {
			b = c;
			break;
		}
		if (!c->serial || (old->serial && c->idle_ms < old->idle_ms))
			old = c;
	}
	if (b && b->rec.sec == r->sec) {
		b->more++;
		b->idle_ms = now_ms;
		return;
	}
	if (!b) {
		b = old; /* a free one, or the longest idle */
		if (b->serial)
			settle(d, b);
	} else {
		settle(d, b); /* a new second */
	}
	b->serial = s->serial;
	b->rec = *r;
	b->more = 0;
	b->idle_ms = now_ms;
	write_deny(d, s, r, 1);
}

bool kdeny_rate_flush(struct daemon *d, struct kdeny_rate *k, int64_t now_sec, int64_t now_ms, bool all)
{
	bool left = false;

	for (size_t i = 0; i < KDENY_BUCKETS; i++) {
		struct kdeny_bucket *b = &k->b[i];

		if (!b->serial)
			continue;
		if (all || b->rec.sec < now_sec)
			settle(d, b);
		if (all || (now_ms - b->idle_ms >= KDENY_IDLE_MS && !b->more))
			b->serial = 0;
		else
			left = true;
	}
	return left;
}

void kdeny_rate_session(struct daemon *d, struct kdeny_rate *k, const struct session *s)
{
	for (size_t i = 0; i < KDENY_BUCKETS; i++)
		if (k->b[i].serial == s->serial) {
			settle(d, &k->b[i]);
			k->b[i].serial = 0;
		}
}
