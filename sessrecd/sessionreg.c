/* sessionreg: the session registry's lookups, counts and names, and the
 * params every event about a session starts with (declared in session.h;
 * the lifecycle itself is session.c's). Convention: lookups return NULL
 * when nothing matches. */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "chain.h"
#include "chk.h"
#include "daemon.h"
#include "emit.h"
#include "recevent.h"
#include "session.h"
#include "shardline.h"

struct session *session_by_sid(struct daemon *d, const char *sid)
{
	for (struct session *s = d->sessions; s; s = s->next)
		if (strcmp(s->st.sid, sid) == 0)
			return s;
	return NULL;
}

struct session *session_by_token(struct daemon *d, const char *token)
{
	struct session *found = NULL;

	/* Every issued token is compared, so the time taken does not say
	 * which session's token a guess came close to. */
	for (struct session *s = d->sessions; s; s = s->next)
		if (s->token[0] && auth_token_equal(s->token, token))
			found = s;
	return found;
}

struct session *session_by_serial(struct daemon *d, uint64_t serial)
{
	for (struct session *s = d->sessions; s; s = s->next)
		if (s->serial == serial)
			return s;
	return NULL;
}

unsigned session_live_count(const struct daemon *d)
{
	return d->nlive;
}

unsigned session_relay_count(const struct daemon *d)
{
	return d->nrelay;
}

unsigned session_user_count(const struct daemon *d, int64_t uid)
{
	unsigned n = 0;

	for (const struct session *s = d->sessions; s; s = s->next)
		n += s->st.uid == uid && session_phase_live(s->phase);
	return n;
}

const char *session_phase_name(enum session_phase p)
{
	/* clang-format off */
	switch (p) {
	case SESSION_OPEN: return "open";
	case SESSION_RELAYING: return "recording";
	case SESSION_DRAINING: return "draining";
	case SESSION_FINISHING: return "finishing";
	case SESSION_ENDED: return "ended";
	case SESSION_COMMAND: return "command";
	case SESSION_DRYRUN: return "dry_run";
	case SESSION_UNATTACHED: return "unattached";
	}
	/* clang-format on */
	return "unknown";
}

void session_event_base(const struct session *s, struct event *e, char *uid)
{
	const struct session_state *st = &s->st;

	snprintf(uid, 24, "%lld", (long long)st->uid);
	event_add(e, "sid", st->sid);
	event_add(e, "user", st->user);
	event_add(e, "uid", uid);
	/* seed 000's service= is the protocol (ssh, telnet) */
	event_add(e, "service", st->proto[0] ? st->proto : st->service);
	event_add(e, "pam_service", st->service);
	event_add(e, "src_ip", st->src_ip[0] ? st->src_ip : "-");
}

void session_emit_unattached(struct daemon *d, const struct session *s, const char *kind)
{
	struct event e = { .type = EVENT_SESSION_UNATTACHED };
	char uid[24];

	session_event_base(s, &e, uid);
	event_add(&e, "kind", kind);
	emit_event(d, &e);
}

void session_emit_recorded(struct daemon *d, struct session *s, const char *reason)
{
	const struct session_state *st = &s->st;
	struct event e = { .type = EVENT_SESSION_RECORDED };
	struct recevent_nums n;
	char dur[32], bytes[24], wlines[24], hash[CHK_HEX_LEN + 1], seal[CHK_HEX_LEN + 1], epoch[24];
	struct chk k;

	snprintf(dur, sizeof(dur), "%.3f", recorder_elapsed(&s->rec));
	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)(st->bytes_in + st->bytes_out));
	event_add(&e, "sid", st->sid);
	event_add(&e, "service", st->proto[0] ? st->proto : st->service);
	event_add(&e, "src_ip", st->src_ip[0] ? st->src_ip : "-");
	event_add(&e, "user", st->user);
	event_add(&e, "duration_s", dur);
	event_add(&e, "bytes", bytes);
	event_add(&e, "truncated", st->truncated || st->failed ? "true" : "false");
	event_add(&e, "reason", reason);
	/* Cap, disk and shard loss apart: see sessrecd(8), "LOSS ACCOUNTING". */
	recevent_loss_params(&s->rec, &e, &n);
	/* Many lines typed under stty -echo: a shell hidden as passwords. */
	snprintf(wlines, sizeof(wlines), "%llu", (unsigned long long)st->withheld_lines);
	event_add(&e, "withheld_lines", wlines);
	event_add(&e, "withheld_flag", st->withheld_lines > SHARD_WITHHELD_FLAG ? "true" : "false");
	/* The off-box anchor of the session's chain (sessrecd(8), SEALS). */
	s->recorded_due = false;
	if (d->chain && chain_take_final(d->chain, s->serial, &k)) {
		chk_hex(hash, k.h);
		event_add(&e, "chain_hash", hash);
		if (k.sealed) {
			chk_hex(seal, k.seal);
			snprintf(epoch, sizeof(epoch), "%llu", (unsigned long long)k.epoch);
			event_add(&e, "seal", seal);
			event_add(&e, "seal_epoch", epoch);
		}
	}
	emit_event(d, &e);
}
