/* handoff: the holder of the session fds (fd store or keeper), and the
 * start-up collection and resumption of sessions an earlier daemon left
 * (see handoff.h). The re-exec itself is in handoff_exec.c, the memfd
 * format in handoff_msg.c. Convention: 0 or -errno. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "emit.h"
#include "handoff.h"
#include "keeper.h"
#include "log.h"
#include "recorder.h"
#include "relay.h"
#include "session.h"

#define HANDOFF_TMP_AGE_SEC 60     /* a state temp file this old was left by a crash */
#define HANDOFF_KEEPER_WAIT_MS 2000 /* a clean shutdown waits this long for the keeper */

/* One session's pieces while they are being put together. */
struct pair {
	char sid[UUID_STR_LEN];
	int outer, inner;
	bool held;       /* the holder has them already */
	int64_t lost_ns; /* when the keeper lost the daemon (0: unknown) */
};

struct pairs {
	struct pair *v;
	size_t n, cap;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const char *holder_name(enum handoff_holder h)
{
	return h == HANDOFF_FDSTORE ? "fdstore" : h == HANDOFF_KEEPER ? "keeper" : "none";
}

/* ---- the holder ---- */

static void fdstore_put(const char *sid, int fd, bool inner)
{
	char name[HANDOFF_NAME_MAX], msg[HANDOFF_NAME_MAX + 64];
	int r;

	handoff_name(name, sid, inner);
	/* FDPOLL=0: the fds are ours to remove; a pty master polls HUP while
	 * its shell is between terminals, which must not drop it. */
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", name);
	r = sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
	if (r <= 0)
		log_line("session %s: cannot put fd %s in the service manager's fd store: %s", sid, name,
			 r < 0 ? strerror(-r) : "no $NOTIFY_SOCKET");
}

static void fdstore_remove(const char *sid, bool inner)
{
	char name[HANDOFF_NAME_MAX], msg[HANDOFF_NAME_MAX + 64];

	handoff_name(name, sid, inner);
	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	(void)sd_pid_notify(0, 0, msg);
}

static void keeper_lost(struct daemon *d, const char *why);

void handoff_hold(struct daemon *d, struct session *s)
{
	int r;

	if (s->st.outer_fd < 0)
		return;
	if (d->ho.holder == HANDOFF_FDSTORE) {
		fdstore_put(s->st.sid, s->st.outer_fd, false);
		if (s->st.master_fd >= 0)
			fdstore_put(s->st.sid, s->st.master_fd, true);
	} else if (d->ho.holder == HANDOFF_KEEPER) {
		r = keeper_hold(d->ho.keeper_fd, s->st.sid, s->st.outer_fd, s->st.master_fd);
		if (r < 0)
			log_line("session %s: cannot hand its fds to the keeper: %s; a crash would hang it up",
				 s->st.sid, strerror(-r));
	}
}

void handoff_drop_inner(struct daemon *d, struct session *s)
{
	if (d->ho.holder == HANDOFF_FDSTORE)
		fdstore_remove(s->st.sid, true);
	else if (d->ho.holder == HANDOFF_KEEPER)
		(void)keeper_drop(d->ho.keeper_fd, s->st.sid, true);
}

void handoff_drop(struct daemon *d, struct session *s)
{
	if (d->ho.holder == HANDOFF_FDSTORE) {
		fdstore_remove(s->st.sid, false);
		fdstore_remove(s->st.sid, true);
	} else if (d->ho.holder == HANDOFF_KEEPER) {
		(void)keeper_drop(d->ho.keeper_fd, s->st.sid, false);
	}
}

static void hold_all(struct daemon *d)
{
	for (struct session *s = d->sessions; s; s = s->next)
		if (s->phase == SESSION_RELAYING || s->phase == SESSION_DRAINING)
			handoff_hold(d, s);
}

/* ---- the keeper link ---- */

static void keeper_cb(struct loop_io *io, uint32_t ev)
{
	struct daemon *d = io->userdata;
	char buf[256];
	ssize_t n;

	(void)ev;
	/* The keeper says nothing unasked: anything readable is its end. */
	n = recv(d->ho.keeper_fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	keeper_lost(d, n == 0 ? "it closed the link" : n < 0 ? strerror(errno) : "it spoke unasked");
}

static int keeper_watch(struct daemon *d, int fd)
{
	int r;

	d->ho.keeper_fd = fd;
	d->ho.holder = HANDOFF_KEEPER;
	loop_io_init(&d->ho.keeper_io, keeper_cb, d);
	if ((r = loop_set(&d->loop, &d->ho.keeper_io, fd, EPOLLIN | EPOLLRDHUP)) < 0) {
		close(fd);
		d->ho.holder = HANDOFF_NONE;
		d->ho.keeper_fd = -1;
	}
	return r;
}

static int keeper_start(struct daemon *d)
{
	pid_t pid = 0;
	int fd = keeper_spawn(d->ho.owner, keeper_name(d->cfg.process_name), &pid);

	d->ho.keeper_spawned_ms = loop_now_ms();
	if (fd < 0) {
		log_line("cannot start the keeper: %s; sessions will not survive a crash of the daemon",
			 strerror(-fd));
		d->ho.holder = HANDOFF_NONE;
		return fd;
	}
	d->ho.keeper_pid = pid;
	return keeper_watch(d, fd);
}

static void keeper_lost(struct daemon *d, const char *why)
{
	loop_del(&d->loop, &d->ho.keeper_io);
	close(d->ho.keeper_fd);
	d->ho.keeper_fd = -1;
	d->ho.holder = HANDOFF_NONE;
	log_line("the keeper (pid %ld) is gone (%s); starting a new one", (long)d->ho.keeper_pid, why);
	d->ho.keeper_pid = 0;
	/* A keeper that dies at once is not restarted in a loop. */
	if (loop_now_ms() - d->ho.keeper_spawned_ms < 5000) {
		log_line("the keeper died within 5 s of its start; not starting another");
		return;
	}
	if (keeper_start(d) == 0)
		hold_all(d);
}

/* ---- start-up ---- */

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
	ps->v[ps->n].outer = ps->v[ps->n].inner = -1;
	return &ps->v[ps->n++];
}

/* An fd for a session; a second one of the same kind is a spare: closed. */
static void pair_add(struct pairs *ps, const char *sid, int fd, bool inner, bool held, int64_t lost_ns)
{
	struct pair *p = pair_get(ps, sid);
	int *slot;

	if (!p) {
		log_line("session %s: out of memory; its fd is closed", sid);
		close(fd);
		return;
	}
	slot = inner ? &p->inner : &p->outer;
	if (*slot >= 0) {
		log_line("session %s: a second %s fd was handed over; closed", sid, inner ? "inner" : "outer");
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

static void take_cb(void *userdata, const char *sid, int outer, int inner, int64_t lost_ns)
{
	struct take_ctx *t = userdata;

	pair_add(t->ps, sid, outer, false, t->held, lost_ns);
	if (inner >= 0)
		pair_add(t->ps, sid, inner, true, t->held, lost_ns);
}

/* Sessions a keeper holds (left by a crashed daemon, or by one that ran
 * without the fd store). With the fd store as holder, the keeper is let go
 * once they are taken. */
static void from_keeper(struct daemon *d, struct pairs *ps)
{
	struct take_ctx t = { .ps = ps, .held = d->ho.holder != HANDOFF_FDSTORE };
	int fd = keeper_connect(d->ho.owner), n;

	if (fd < 0) {
		if (fd != -ENOENT && fd != -ECONNREFUSED)
			log_line("cannot reach the keeper at %s%s: %s", d->ho.owner, KEEPER_SUFFIX, strerror(-fd));
		return;
	}
	n = keeper_take(fd, take_cb, &t);
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
			(void)keeper_drop(fd, ps->v[i].sid, false);
		(void)keeper_bye(fd);
		close(fd);
		return;
	}
	(void)keeper_watch(d, fd);
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
	struct session *s = session_adopt(d, st);

	log_line("session %s: %s; its recording is ended (reason lost)", st->sid, why);
	if (!s)
		return;
	s->stop_ns = st->handoff_ns ? st->handoff_ns : st->saved_ns;
	if (recorder_resume(d, s, NULL) < 0)
		s->st.failed = true;
	session_end(d, s, "lost");
}

static void resume(struct daemon *d, struct pair *p, const struct session_state *st, struct state_pending *pend)
{
	int64_t now = mono_ns(), since;
	char why[256], text[96];
	struct session *s;
	int r;

	if (p->outer < 0) {
		if (p->inner >= 0)
			close(p->inner);
		end_lost(d, st, p->inner >= 0 ? "only its inner pty was handed over" : "no fd of it was handed over");
		return;
	}
	s = session_adopt(d, st);
	if (!s || relay_resume(d, s, p->outer, p->inner, pend, why, sizeof(why)) < 0) {
		if (!s)
			snprintf(why, sizeof(why), "%s", strerror(errno));
		close(p->outer);
		if (p->inner >= 0)
			close(p->inner);
		if (s)
			session_free(d, s);
		end_lost(d, st, why);
		return;
	}
	if ((r = recorder_resume(d, s, pend)) < 0) {
		log_line("session %s: cannot go on recording in %s: %s; the session goes on unrecorded", st->sid,
			 st->shard, strerror(-r));
		s->st.failed = true;
	}
	since = st->handoff_ns ? st->handoff_ns : p->lost_ns ? p->lost_ns : st->saved_ns;
	handoff_gap_text(text, sizeof(text), since > 0 && since < now ? now - since : 0);
	recorder_marker(d, s, text);
	if (p->inner < 0) {
		/* The shell went while nobody relayed: what it wrote still goes out. */
		s->phase = SESSION_DRAINING;
		s->end_reason = "exit";
		s->drain_deadline_ms = loop_now_ms() + RELAY_DRAIN_MS;
	}
	if (!p->held)
		handoff_hold(d, s);
	relay_start(d, s);
	session_save(d, s);
	emit_resumed(d, s, since > 0 && since < now ? (double)(now - since) / 1e9 : 0.0);
	d->ho.resumed++;
	if (s->phase == SESSION_DRAINING && s->to_outer.start == s->to_outer.end)
		session_end(d, s, "exit");
}

static bool old_tmp(int dirfd, const char *name)
{
	struct stat st;

	return strstr(name, ".tmp") && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       time(NULL) - st.st_mtime > HANDOFF_TMP_AGE_SEC;
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
			if (r == 0)
				state_pending_free(&pend);
			continue;
		}
		if (strcmp(st.owner, d->ho.owner) != 0) {
			state_pending_free(&pend); /* another daemon's session */
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
	}
	closedir(dir);
}

void handoff_start(struct daemon *d)
{
	struct pairs ps = { 0 };
	bool *used = NULL;
	unsigned before = d->ho.resumed;

	set_owner(d);
	if (d->ho.holder != HANDOFF_KEEPER) {
		if (handoff_fdstore_usable(getenv))
			d->ho.holder = HANDOFF_FDSTORE;
	} else if (keeper_watch(d, d->ho.keeper_fd) < 0) {
		log_line("cannot watch the keeper link: sessions will not survive a crash");
	}
	for (size_t i = 0; i < d->ho.nin; i++) {
		char sid[UUID_STR_LEN];
		enum handoff_kind k = handoff_name_kind(d->ho.in[i].name, sid);

		/* handoff_collect kept only session fds in the list */
		pair_add(&ps, sid, d->ho.in[i].fd, k == HANDOFF_FD_INNER,
			 d->ho.holder == HANDOFF_FDSTORE || (d->ho.holder == HANDOFF_KEEPER && d->ho.exec_handoff_ns),
			 0);
	}
	free(d->ho.in);
	d->ho.in = NULL;
	d->ho.nin = 0;
	if (d->ho.holder != HANDOFF_KEEPER)
		from_keeper(d, &ps);
	if (d->ho.holder == HANDOFF_NONE && keeper_start(d) == 0) {
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
		if (ps.v[i].held && d->ho.holder == HANDOFF_FDSTORE) {
			fdstore_remove(ps.v[i].sid, false);
			fdstore_remove(ps.v[i].sid, true);
		} else if (ps.v[i].held && d->ho.holder == HANDOFF_KEEPER) {
			(void)keeper_drop(d->ho.keeper_fd, ps.v[i].sid, false);
		}
	}
	free(used);
	free(ps.v);
	if (d->ho.resumed > before)
		log_line("resumed %u session%s (from %s; fds kept by %s)", d->ho.resumed - before,
			 d->ho.resumed - before == 1 ? "" : "s", d->ho.source ? d->ho.source : "-",
			 holder_name(d->ho.holder));
	daemon_update_timers(d);
}

bool handoff_on_term(struct daemon *d)
{
	return d->ho.holder == HANDOFF_FDSTORE;
}

int handoff_write_state(struct daemon *d, struct session *s, int64_t now_ns)
{
	struct state_pending pend = { 0 };
	char path[PATH_MAX], *json = NULL;
	int n;

	if (!d->writer || !d->state_ok || state_path(path, sizeof(path), d->cfg.state_dir, s->st.sid) < 0)
		return -ENOENT;
	recorder_flush_withheld(d, s);
	state_copy(s->st.owner, sizeof(s->st.owner), d->ho.owner);
	s->st.cap = s->cap;
	s->st.withhold = s->withhold;
	s->st.saved_ns = now_ns;
	s->st.handoff_ns = now_ns;
	recorder_pending(s, &pend);
	if ((n = relay_pending(s, &pend)) == 0)
		n = state_handoff_json(&s->st, &pend, &json);
	state_pending_free(&pend);
	if (n < 0)
		return n;
	/* Behind every line of the session already queued: the writer keeps order. */
	writer_state_put(d->writer, path, json, (size_t)n, s->serial);
	free(json);
	return 0;
}

void handoff_log_unattached(struct daemon *d, const char *why)
{
	unsigned n = 0;

	for (struct session *s = d->sessions; s; s = s->next)
		n += s->phase == SESSION_OPEN;
	if (n)
		log_line("%s: %u registered session%s not yet attached cannot be kept (their attach will be refused)",
			 why, n, n == 1 ? "" : "s");
}

void handoff_detach_all(struct daemon *d)
{
	int64_t now = mono_ns();
	unsigned n = 0;
	int r;

	handoff_log_unattached(d, "handing over");
	for (struct session *s = d->sessions, *next; s; s = next) {
		next = s->next;
		if (s->phase != SESSION_RELAYING && s->phase != SESSION_DRAINING)
			continue;
		if ((r = handoff_write_state(d, s, now)) < 0) {
			/* Without its state no later daemon could go on with it:
			 * it ends here, recorded, as a plain stop ends it. */
			log_line("session %s: cannot write its state for the next daemon: %s; ended", s->st.sid,
				 strerror(-r));
			relay_flush_once(s);
			session_end(d, s, s->phase == SESSION_DRAINING ? s->end_reason : "shutdown");
			continue;
		}
		relay_detach(d, s);
		recorder_release(d, s);
		session_free(d, s);
		n++;
	}
	if (n)
		log_line("%u session%s handed over to the next start (fds kept by %s)", n, n == 1 ? "" : "s",
			 holder_name(d->ho.holder));
}

void handoff_fini(struct daemon *d)
{
	if (d->ho.holder == HANDOFF_KEEPER && d->ho.keeper_fd >= 0) {
		(void)keeper_bye(d->ho.keeper_fd);
		loop_del(&d->loop, &d->ho.keeper_io);
		close(d->ho.keeper_fd);
		d->ho.keeper_fd = -1;
		/* Our child: waited for, so no zombie is left to a PID 1 that
		 * may not reap. */
		for (int i = 0; d->ho.keeper_pid > 0 && i < HANDOFF_KEEPER_WAIT_MS / 10; i++) {
			if (waitpid(d->ho.keeper_pid, NULL, WNOHANG) != 0)
				break;
			usleep(10000);
		}
	}
	d->ho.holder = HANDOFF_NONE;
	for (char **a = d->ho.argv; a && *a; a++)
		free(*a);
	free(d->ho.argv);
	d->ho.argv = NULL;
	for (size_t i = 0; i < d->ho.nin; i++)
		close(d->ho.in[i].fd);
	free(d->ho.in);
	d->ho.in = NULL;
	d->ho.nin = 0;
}
