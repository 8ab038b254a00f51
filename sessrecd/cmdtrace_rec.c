/* cmdtrace_rec: the tracer's events as the sessions' exec/exit lines and
 * command_executed events (cmdtrace_rec.h). Convention: 0 or -errno. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "cmdtrace.h"
#include "cmdtrace_rec.h"
#include "daemon.h"
#include "emit.h"
#include "event.h"
#include "io.h"
#include "log.h"
#include "recorder.h"
#include "session.h"
#include "shardcmd.h"

#define PENDING_SLOTS 1024 /* argv kept for command_executed, by pid (direct-mapped) */
#define PENDING_TEXT 512

/* What command_executed needs at the exit that the exit does not carry. */
struct pending {
	pid_t pid;
	uint64_t tag;
	char argv[PENDING_TEXT];
};

struct tracer {
	struct cmdtrace t; /* d->cmdtrace points here */
	struct daemon *d;
	struct pending *pending; /* CommandEvents=yes only */
};

static struct tracer *tracer_of(struct cmdtrace *t)
{
	return (struct tracer *)((char *)t - offsetof(struct tracer, t));
}

static void remember(struct tracer *tr, const struct cmdtrace_event *ev)
{
	struct pending *p = &tr->pending[(unsigned)ev->pid % PENDING_SLOTS];

	p->pid = ev->pid;
	p->tag = ev->tag;
	if (ev->args)
		shard_argv_text(p->argv, sizeof(p->argv), ev->args, ev->args_len);
	else
		snprintf(p->argv, sizeof(p->argv), "-");
}

static void emit_executed(struct tracer *tr, const struct session *s, const struct cmdtrace_event *ev)
{
	struct pending *p = &tr->pending[(unsigned)ev->pid % PENDING_SLOTS];
	struct event e = { .type = EVENT_COMMAND_EXECUTED };
	char uid[24], pid[24], code[16], dur[32];
	const char *argv = "-";

	if (p->pid == ev->pid && p->tag == ev->tag) {
		argv = p->argv;
		p->pid = 0;
	}
	session_event_base(s, &e, uid);
	snprintf(pid, sizeof(pid), "%d", (int)ev->pid);
	snprintf(code, sizeof(code), "%d", ev->signal ? ev->signal : ev->code);
	snprintf(dur, sizeof(dur), "%.6f", ev->dur_ns >= 0 ? (double)ev->dur_ns / 1e9 : 0.0);
	event_add(&e, "pid", pid);
	event_add(&e, "argv", argv);
	event_add(&e, ev->signal ? "signal" : "code", code);
	event_add(&e, "duration_s", dur);
	emit_event(tr->d, &e);
}

/* A record's t is when it is recorded, like every line of the session, so
 * a session's lines stay in time order; the kernel's event comes at most a
 * loop batch earlier, and dur is the kernel's own. */
static void on_event(void *userdata, const struct cmdtrace_event *ev)
{
	struct tracer *tr = userdata;
	struct session *s = session_by_serial(tr->d, ev->tag);
	char line[SHARD_LINE_MAX];
	int n;

	if (!s)
		return;
	if (ev->what == CMDTRACE_EXEC) {
		struct shard_exec x = { .pid = ev->pid,
					.ppid = ev->ppid,
					.uid = ev->uid,
					.args = ev->args,
					.args_len = ev->args_len,
					.args_cut = ev->args_cut,
					.cwd = ev->cwd };

		n = shard_format_exec(line, sizeof(line), s->st.sid, recorder_elapsed(&s->rec), &x,
				      (size_t)tr->d->cfg.command_max_args);
		if (tr->pending)
			remember(tr, ev);
	} else {
		struct shard_exit x = { .pid = ev->pid,
					.code = ev->code,
					.signal = ev->signal,
					.dur = ev->dur_ns >= 0 ? (double)ev->dur_ns / 1e9 : -1.0 };

		n = shard_format_exit(line, sizeof(line), s->st.sid, recorder_elapsed(&s->rec), &x);
		if (tr->pending)
			emit_executed(tr, s, ev);
	}
	if (n > 0)
		(void)recorder_command(&s->rec, line, (size_t)n);
}

/* Every session relaying now (resumed, or attached while the source
 * loaded): found by its tree. */
static void track_relaying(void *userdata)
{
	struct tracer *tr = userdata;

	for (struct session *s = tr->d->sessions; s; s = s->next)
		if (session_phase_relaying(s->phase))
			cmdtrace_rec_resume(tr->d, s);
}

int cmdtrace_rec_start(struct daemon *d)
{
	struct tracer *tr = calloc(1, sizeof(*tr));

	if (!tr)
		return -ENOMEM;
	tr->d = d;
	if (d->cfg.command_events && !(tr->pending = calloc(PENDING_SLOTS, sizeof(*tr->pending)))) {
		free(tr);
		return -ENOMEM;
	}
	d->cmdtrace = &tr->t;
	/* Loading eBPF takes tens of ms (libbpf parses the kernel's BTF):
	 * in a thread, while the rest of the daemon starts. */
	if (cmdtrace_start_later(&tr->t, &d->loop, d->cfg.command_source, on_event, tr, track_relaying) < 0)
		cmdtrace_start(&tr->t, &d->loop, d->cfg.command_source, on_event, tr);
	return 0;
}

void cmdtrace_rec_ready(struct daemon *d)
{
	if (!d->cmdtrace)
		return;
	/* Resumed sessions' terminals do not wait for the load (what runs
	 * until it is done is in the restart's gap); they are found again
	 * by their tree when it is (track_relaying). */
	for (struct session *s = d->sessions; s; s = s->next)
		if (session_phase_relaying(s->phase))
			return;
	cmdtrace_wait(d->cmdtrace);
}

void cmdtrace_rec_stop(struct daemon *d)
{
	struct tracer *tr;

	if (!d->cmdtrace)
		return;
	tr = tracer_of(d->cmdtrace);
	cmdtrace_stop(&tr->t);
	free(tr->pending);
	free(tr);
	d->cmdtrace = NULL;
}

/* Whether the audit session of s is its own: a login's (pam_loginuid gave
 * it a fresh one), not the operator's shell around sessrecctl record or
 * the daemon's, and no other live session claims it. */
static bool audit_is_own(struct daemon *d, const struct session *s)
{
	int64_t self;

	if (!auth_audit_set(s->st.audit_session) || !strcmp(s->st.service, "sessrecctl"))
		return false;
	if (auth_proc_sessionid(getpid(), &self) == 0 && self == s->st.audit_session)
		return false;
	for (const struct session *o = d->sessions; o; o = o->next)
		if (o != s && o->st.audit_session == s->st.audit_session && o->st.start_mono_ns &&
		    (session_phase_relaying(o->phase) || o->phase == SESSION_COMMAND))
			return false;
	return true;
}

void cmdtrace_rec_attach(struct daemon *d, struct session *s, pid_t root)
{
	int r;

	if (!d->cmdtrace || !cmdtrace_active(d->cmdtrace))
		return;
	r = cmdtrace_track(d->cmdtrace, s->serial, root, audit_is_own(d, s) ? s->st.audit_session : -1);
	if (r < 0)
		log_line("session %s: commands of pid %d not tracked: %s", s->st.sid, (int)root, strerror(-r));
}

/* When pid started, in unix seconds (its start after boot, from
 * /proc/PID/stat, on CLOCK_BOOTTIME); -1 when unknown. */
static double proc_start(pid_t pid)
{
	char path[48], buf[1024], *p;
	unsigned long long ticks = 0;
	struct timespec real, boot;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((n = io_read_file(path, buf, sizeof(buf))) <= 0 || !(p = strrchr(buf, ')')))
		return -1;
	/* after "pid (comm)": the state is field 3, starttime field 22 */
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &ticks) != 1 || clock_gettime(CLOCK_REALTIME, &real) < 0 ||
	    clock_gettime(CLOCK_BOOTTIME, &boot) < 0)
		return -1;
	return (double)real.tv_sec + real.tv_nsec / 1e9 - (boot.tv_sec + boot.tv_nsec / 1e9) +
	       (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

/* The tgids in /proc that descend from root (root included), into *out
 * (malloc'd); their count or -errno. */
static ssize_t descendants(pid_t root, pid_t **out)
{
	pid_t *pid = NULL, *ppid = NULL;
	bool *in = NULL;
	size_t n = 0, cap = 0, found = 0;
	struct dirent *e;
	ssize_t r = -ENOMEM;
	DIR *dir = opendir("/proc");
	bool more = true;

	*out = NULL;
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		pid_t p = (pid_t)strtol(e->d_name, NULL, 10), pp;

		if (p <= 0 || auth_proc_ppid(p, &pp) < 0)
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 256;
			pid_t *a = realloc(pid, c * sizeof(*a)), *b;

			if (a)
				pid = a;
			if (!a || !(b = realloc(ppid, c * sizeof(*b))))
				goto out;
			ppid = b;
			cap = c;
		}
		pid[n] = p;
		ppid[n++] = pp;
	}
	if (!(in = calloc(n ? n : 1, sizeof(*in))))
		goto out;
	/* Passes until nothing joins: a tree of depth k takes k + 1. */
	while (more) {
		more = false;
		for (size_t i = 0; i < n; i++) {
			if (in[i])
				continue;
			in[i] = pid[i] == root;
			for (size_t j = 0; j < n && !in[i]; j++)
				in[i] = in[j] && pid[j] == ppid[i];
			if (in[i]) {
				found++;
				more = true;
			}
		}
	}
	for (size_t i = 0, k = 0; i < n; i++)
		if (in[i])
			pid[k++] = pid[i];
	*out = pid;
	pid = NULL;
	r = (ssize_t)found;
out:
	closedir(dir);
	free(pid);
	free(ppid);
	free(in);
	return r;
}

void cmdtrace_rec_resume(struct daemon *d, struct session *s)
{
	pid_t *pids = NULL;
	ssize_t n;
	double started;

	if (!d->cmdtrace || !cmdtrace_active(d->cmdtrace) || s->st.pid <= 0)
		return;
	started = proc_start((pid_t)s->st.pid);
	if (started < 0 || started > (double)s->st.start_sec + 1) {
		log_line("session %s: its opener (pid %lld) is gone; its commands are not tracked", s->st.sid,
			 (long long)s->st.pid);
		return;
	}
	if ((n = descendants((pid_t)s->st.pid, &pids)) < 0) {
		log_line("session %s: commands not tracked: %s", s->st.sid, strerror((int)-n));
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		cmdtrace_track(d->cmdtrace, s->serial, pids[i],
			       i == 0 && audit_is_own(d, s) ? s->st.audit_session : -1);
	free(pids);
}

const char *cmdtrace_sid_of_pid(struct daemon *d, pid_t pid)
{
	struct session *s;
	uint64_t tag;

	if (!d->cmdtrace || !(tag = cmdtrace_owner_of(d->cmdtrace, pid)))
		return NULL;
	s = session_by_serial(d, tag);
	return s ? s->st.sid : NULL;
}

const char *cmdtrace_rec_source(const struct daemon *d)
{
	return d->cmdtrace ? cmdtrace_source_name(d->cmdtrace) : "off";
}
