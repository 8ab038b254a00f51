/* resume: start-up resumption (see resume.h). Convention: 0 or -errno. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cmdtrace_rec.h"
#include "daemon.h"
#include "emit.h"
#include "handoff.h"
#include "handoff_msg.h"
#include "keeper.h"
#include "keeperlink.h"
#include "log.h"
#include "monoclock.h"
#include "recloss.h"
#include "recorder.h"
#include "relay.h"
#include "relaymem.h"
#include "relaytake.h"
#include "resume.h"
#include "session.h"
#include "state.h"

#define RESUME_TMP_AGE_SEC 60 /* a state temp file this old was left by a crash */

/* One session's pieces while they are being put together. */
struct pair {
	char sid[UUID_STR_LEN];
	int outer, inner, state; /* state: the relay state memfd */
	bool held;               /* the holder has them already */
	int64_t lost_ns;         /* when the keeper lost the daemon (0: unknown) */
};

struct pairs {
	struct pair *v;
	size_t n, cap;
};

static struct pair *pair_get(struct pairs *ps, const char *sid)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->v[i].sid, sid) == 0)
			return &ps->v[i];
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 16;
		struct pair *v = realloc(ps->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		ps->v = v;
		ps->cap = cap;
	}
	memset(&ps->v[ps->n], 0, sizeof(ps->v[0]));
	memcpy(ps->v[ps->n].sid, sid, UUID_STR_LEN);
	ps->v[ps->n].outer = ps->v[ps->n].inner = ps->v[ps->n].state = -1;
	return &ps->v[ps->n++];
}

/* An fd for a session (kind OUTER, INNER or STATE); a second one of the
 * same kind is a spare: closed. */
static void pair_add(struct pairs *ps, const char *sid, int fd, enum handoff_kind kind, bool held, int64_t lost_ns)
{
	struct pair *p = pair_get(ps, sid);
	int *slot;

	if (!p) {
		log_line("session %s: out of memory; its fd is closed", sid);
		close(fd);
		return;
	}
	slot = kind == HANDOFF_FD_INNER ? &p->inner : kind == HANDOFF_FD_STATE ? &p->state : &p->outer;
	if (*slot >= 0) {
		log_line("session %s: a second %s fd was handed over; closed", sid,
			 kind == HANDOFF_FD_INNER   ? "inner"
			 : kind == HANDOFF_FD_STATE ? "state"
						    : "outer");
		close(fd);
		return;
	}
	*slot = fd;
	p->held = held;
	if (lost_ns)
		p->lost_ns = lost_ns;
}

struct take_ctx {
	struct pairs *ps;
	bool held;
};

static void take_cb(void *userdata, const char *sid, int outer, int inner, int state, int64_t lost_ns)
{
	struct take_ctx *t = userdata;

	pair_add(t->ps, sid, outer, HANDOFF_FD_OUTER, t->held, lost_ns);
	if (inner >= 0)
		pair_add(t->ps, sid, inner, HANDOFF_FD_INNER, t->held, lost_ns);
	if (state >= 0)
		pair_add(t->ps, sid, state, HANDOFF_FD_STATE, t->held, lost_ns);
}

/* Sessions a keeper holds (left by a crashed daemon, or by one that ran
 * without the fd store). With the fd store as holder, the keeper is let go
 * once they are taken. */
static void from_keeper(struct daemon *d, struct pairs *ps)
{
	struct take_ctx t = { .ps = ps, .held = d->ho.holder != HANDOFF_FDSTORE };
	int fd = keeperlink_connect(d->ho.owner), n;

	if (fd < 0) {
		if (fd != -ENOENT && fd != -ECONNREFUSED)
			log_line("cannot reach the keeper at %s%s: %s", d->ho.owner, KEEPER_SUFFIX, strerror(-fd));
		return;
	}
	n = keeperlink_take(fd, take_cb, &t);
	if (n < 0) {
		log_line("the keeper did not hand its sessions over: %s", strerror(-n));
		close(fd);
		return;
	}
	if (n > 0 && !d->ho.source)
		d->ho.source = "keeper";
	if (d->ho.holder == HANDOFF_FDSTORE) {
		/* They go to the fd store; the keeper may go once it holds none. */
		for (size_t i = 0; i < ps->n; i++)
			(void)keeperlink_drop(fd, ps->v[i].sid, false);
		(void)keeperlink_bye(fd);
		close(fd);
		return;
	}
	(void)handoff_keeper_watch(&d->ho, fd);
}

/* Whose state files are ours: the path of our socket. */
static void set_owner(struct daemon *d)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	if (d->listen_activated && getsockname(d->listen_fd, (struct sockaddr *)&sa, &len) == 0 &&
	    len > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0] == '/') {
		size_t n = len - offsetof(struct sockaddr_un, sun_path);

		if (n >= sizeof(sa.sun_path))
			n = sizeof(sa.sun_path) - 1;
		sa.sun_path[n] = '\0';
		snprintf(d->ho.owner, sizeof(d->ho.owner), "%s", sa.sun_path);
	} else {
		snprintf(d->ho.owner, sizeof(d->ho.owner), "%s",
			 d->listen_path[0] ? d->listen_path : d->cfg.socket_path);
	}
}

static void emit_resumed(struct daemon *d, struct session *s, double gap)
{
	struct event e = { .type = EVENT_SESSION_RESUMED };
	char uid[24], g[32];

	session_event_base(s, &e, uid);
	snprintf(g, sizeof(g), "%.3f", gap);
	event_add(&e, "gap_s", g);
	event_add(&e, "source", d->ho.source ? d->ho.source : "-");
	emit_event(d, &e);
}

/* A session no daemon can go on with (its fds are gone): its recording is
 * finished from the state, with reason "lost", as of when it was last known. */
static void end_lost(struct daemon *d, const struct session_state *st, const char *why)
{
	log_line("session %s: %s; its recording is ended (reason lost)", st->sid, why);
	session_end_lost(d, st, st->handoff_ns ? st->handoff_ns : st->saved_ns);
}

/* A session resumed during a loss, or after one: with the relay state,
 * the output a loss took is counted exactly and the ring's bytes after it
 * are recorded again (the anchor is set there for relaytake_recover);
 * then the loss marker is tried at once, before every later line. */
static void resume_loss(struct session *s, bool mem_used)
{
	struct stat sb;
	uint64_t from;

	if (mem_used && !s->st.failed) {
		from = recloss_restore_output(&s->rec, s->relay.mem.h->out_kept, s->relay.mem.h->out_read);
		if (from != UINT64_MAX && fstat(s->rec.file->fd, &sb) == 0)
			/* The shard as it is now ends the session's output at from
			 * (relaytake_recover reads it from there). */
			relaymem_set_anchor(&s->relay.mem, &(struct relaymem_anchor){ .off = (uint64_t)sb.st_size,
										      .pos = from,
										      .dev = (uint64_t)sb.st_dev,
										      .ino = (uint64_t)sb.st_ino });
	}
	if (s->rec.loss == RECORDER_DEGRADED)
		recloss_resync(&s->rec);
}

static void resume(struct daemon *d, struct pair *p, const struct session_state *st, struct state_pending *pend)
{
	int64_t now = mono_ns(), since;
	char why[256], text[256];
	struct relaytake_recovery rc;
	bool mem_used = false;
	struct session *s;
	int r;

	if (p->outer < 0) {
		if (p->inner >= 0)
			close(p->inner);
		if (p->state >= 0)
			close(p->state);
		end_lost(d, st, p->inner >= 0 ? "only its inner pty was handed over" : "no fd of it was handed over");
		return;
	}
	s = session_adopt(d, st);
	if (!s || relaytake_resume(&s->relay, p->outer, p->inner, p->state, pend, &mem_used, why, sizeof(why)) < 0) {
		if (!s)
			snprintf(why, sizeof(why), "%s", strerror(errno));
		close(p->outer);
		if (p->inner >= 0)
			close(p->inner);
		if (p->state >= 0)
			close(p->state);
		if (s)
			session_free(d, s);
		end_lost(d, st, why);
		return;
	}
	if (p->state >= 0 && !mem_used) {
		log_line(
			"session %s: its relay state was handed over but is unusable; bytes in flight at the stop "
			"are not known",
			st->sid);
		close(p->state);
	}
	if ((r = recorder_resume(&s->rec, pend)) < 0) {
		log_line("session %s: cannot go on recording in %s: %s; the session goes on unrecorded", st->sid,
			 state_str(st->shard), strerror(-r));
		s->st.failed = true;
	} else {
		resume_loss(s, mem_used);
	}
	since = st->handoff_ns ? st->handoff_ns : p->lost_ns ? p->lost_ns : st->saved_ns;
	handoff_msg_gap_text(text, sizeof(text), since > 0 && since < now ? now - since : 0);
	recorder_marker(&s->rec, text);
	if (mem_used) {
		/* The output the shard lacks is recorded before anything new. */
		relaytake_recover(&s->relay, &rc);
		handoff_msg_resume_text(text, sizeof(text),
					&(struct handoff_resume_counts){ rc.rerecorded, rc.resent, rc.cut_read,
									 rc.unrecorded, rc.unsure, rc.unshown });
	} else {
		snprintf(text, sizeof(text), "%s", HANDOFF_RESUME_UNKNOWN);
	}
	recorder_marker(&s->rec, text);
	session_resumed(d, s, p->held, mem_used);
	cmdtrace_rec_resume(d, s);
	emit_resumed(d, s, since > 0 && since < now ? (double)(now - since) / 1e9 : 0.0);
	d->ho.resumed++;
	if (s->phase == SESSION_DRAINING && relay_output_pending(&s->relay) == 0)
		session_end(d, s, "exit");
}

static bool old_tmp(int dirfd, const char *name)
{
	struct stat st;

	return strstr(name, ".tmp") && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       time(NULL) - st.st_mtime > RESUME_TMP_AGE_SEC;
}

/* Every state file of ours is paired with its fds: resumed, or ended as
 * lost when its fds are gone. */
static void from_states(struct daemon *d, struct pairs *ps, bool *used)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dir;

	if (!d->state_ok || !(dir = opendir(d->cfg.state_dir)))
		return;
	while ((e = readdir(dir))) {
		struct session_state st;
		struct state_pending pend;
		struct pair *p = NULL;
		int r;

		if (!uuid_valid(e->d_name)) {
			if (old_tmp(dirfd(dir), e->d_name))
				(void)unlinkat(dirfd(dir), e->d_name, 0);
			continue;
		}
		if (state_path(path, sizeof(path), d->cfg.state_dir, e->d_name) < 0)
			continue;
		for (size_t i = 0; i < ps->n; i++)
			if (strcmp(ps->v[i].sid, e->d_name) == 0)
				p = &ps->v[i];
		r = state_load_pending(path, &st, &pend);
		if (r < 0 || strcmp(st.sid, e->d_name) != 0) {
			/* Whose it is cannot be told; it is left alone unless
			 * fds came for it (they are closed below). */
			log_line("session %s: cannot read its state file %s: %s", e->d_name, path,
				 r < 0 ? strerror(-r) : "it names another session");
			if (p)
				(void)unlink(path);
			if (r == 0) {
				state_pending_free(&pend);
				state_free(&st);
			}
			continue;
		}
		if (strcmp(state_str(st.owner), d->ho.owner) != 0) {
			state_pending_free(&pend); /* another daemon's session */
			state_free(&st);
			continue;
		}
		if (p) {
			used[p - ps->v] = true;
			resume(d, p, &st, &pend);
		} else {
			struct pair none = { .outer = -1, .inner = -1 };

			resume(d, &none, &st, &pend);
		}
		state_pending_free(&pend);
		state_free(&st);
	}
	closedir(dir);
}

void resume_keeper_early(struct daemon *d)
{
	char path[PATH_MAX];
	struct stat st;

	if (d->ho.holder != HANDOFF_NONE || d->ho.nin || handoff_fdstore_usable(getenv))
		return;
	set_owner(d);
	/* A keeper's socket, live or stale, is resume_start's to look at:
	 * ours would replace it. */
	if (keeper_path(path, sizeof(path), d->ho.owner) < 0 || lstat(path, &st) == 0 || errno != ENOENT)
		return;
	(void)handoff_keeper_start(&d->ho);
}

void resume_start(struct daemon *d)
{
	struct pairs ps = { 0 };
	bool *used = NULL;
	unsigned before = d->ho.resumed;

	set_owner(d);
	if (d->ho.holder != HANDOFF_KEEPER) {
		if (handoff_fdstore_usable(getenv))
			d->ho.holder = HANDOFF_FDSTORE;
	} else if (!handoff_keeper_watched(&d->ho) && handoff_keeper_watch(&d->ho, d->ho.keeper_fd) < 0) {
		log_line("cannot watch the keeper link: sessions will not survive a crash");
	}
	for (size_t i = 0; i < d->ho.nin; i++) {
		char sid[UUID_STR_LEN];
		enum handoff_kind k = handoff_msg_fd_kind(d->ho.in[i].name, sid);

		/* handoff_collect kept only session fds in the list */
		pair_add(&ps, sid, d->ho.in[i].fd, k,
			 d->ho.holder == HANDOFF_FDSTORE || (d->ho.holder == HANDOFF_KEEPER && d->ho.exec_handoff_ns),
			 0);
	}
	free(d->ho.in);
	d->ho.in = NULL;
	d->ho.nin = 0;
	if (d->ho.holder != HANDOFF_KEEPER)
		from_keeper(d, &ps);
	if (d->ho.holder == HANDOFF_NONE && handoff_keeper_start(&d->ho) == 0) {
		/* a fresh keeper holds nothing yet */
		for (size_t i = 0; i < ps.n; i++)
			ps.v[i].held = false;
	}
	used = calloc(ps.n ? ps.n : 1, sizeof(*used));
	if (used)
		from_states(d, &ps, used);
	for (size_t i = 0; i < ps.n; i++) {
		if (used && used[i])
			continue;
		log_line("session %s: fds were handed over without a state file; closed (a shell may be hung up)",
			 ps.v[i].sid);
		if (ps.v[i].outer >= 0)
			close(ps.v[i].outer);
		if (ps.v[i].inner >= 0)
			close(ps.v[i].inner);
		if (ps.v[i].state >= 0)
			close(ps.v[i].state);
		if (ps.v[i].held)
			handoff_drop(&d->ho, ps.v[i].sid);
	}
	free(used);
	free(ps.v);
	if (d->ho.resumed > before)
		log_line("resumed %u session%s (from %s; fds kept by %s)", d->ho.resumed - before,
			 d->ho.resumed - before == 1 ? "" : "s", d->ho.source ? d->ho.source : "-",
			 handoff_holder_name(d->ho.holder));
}
