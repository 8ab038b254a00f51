/* cmdtrace: the command tracer's front (cmdtrace.h): picks the source,
 * watches its fd in the daemon's one epoll loop, and forwards tracking to
 * it. Convention: 0 or -errno. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cmdtrace.h"
#include "cmdtrace_src.h"
#include "log.h"

bool cmdtrace_active(const struct cmdtrace *t)
{
	return !t->loading && (t->source == CMDTRACE_SRC_BPF || t->source == CMDTRACE_SRC_PROC);
}

static void drain(struct cmdtrace *t)
{
	if (t->loading)
		return;
	if (t->source == CMDTRACE_SRC_BPF)
		cmdtrace_bpf_drain(t->bpf, t->report, t->userdata);
	else if (t->source == CMDTRACE_SRC_PROC)
		cmdtrace_proc_drain(t->proc, t->report, t->userdata);
}

static void readable_cb(struct loop_io *io, uint32_t revents)
{
	drain(io->userdata);
}

/* Opens the source t->want names into t (bpf, proc; why when neither). */
static void open_source(struct cmdtrace *t)
{
	char why_bpf[160] = "", why_proc[160] = "";
	bool any = !strcmp(t->want, "auto");

	if ((any || !strcmp(t->want, "bpf")) && cmdtrace_bpf_open(&t->bpf, why_bpf, sizeof(why_bpf)) == 0)
		t->source = CMDTRACE_SRC_BPF;
	else if ((any || !strcmp(t->want, "proc")) && cmdtrace_proc_open(&t->proc, why_proc, sizeof(why_proc)) == 0)
		t->source = CMDTRACE_SRC_PROC;
	snprintf(t->why, sizeof(t->why), "%s%s%s", why_bpf, why_bpf[0] && why_proc[0] ? "; " : "", why_proc);
}

/* The source opened: its fd in the loop, and the one line that says
 * where command records come from. */
static void install(struct cmdtrace *t)
{
	int fd = t->source == CMDTRACE_SRC_BPF    ? cmdtrace_bpf_fd(t->bpf)
		 : t->source == CMDTRACE_SRC_PROC ? cmdtrace_proc_fd(t->proc)
						  : -1;
	int r;

	if (fd >= 0 && (r = loop_set(t->loop, &t->io, fd, EPOLLIN)) < 0) {
		snprintf(t->why, sizeof(t->why), "cannot watch the source: %s", strerror(-r));
		cmdtrace_stop(t);
		t->source = CMDTRACE_SRC_NONE;
	}
	if (t->source == CMDTRACE_SRC_NONE)
		log_line("commands: no source (%s); sessions are recorded without commands", t->why);
	else if (t->why[0])
		log_line("commands: source %s (%s)", cmdtrace_source_name(t), t->why);
	else
		log_line("commands: source %s", cmdtrace_source_name(t));
}

/* Sets t up; 1 when a source is to be opened, 0 for off. */
static int prepare(struct cmdtrace *t, struct loop *l, const char *want, cmdtrace_report_fn fn, void *userdata)
{
	memset(t, 0, sizeof(*t));
	t->loop = l;
	t->report = fn;
	t->userdata = userdata;
	t->ready_fd = -1;
	loop_io_init(&t->io, readable_cb, t);
	snprintf(t->want, sizeof(t->want), "%s", want);
	t->source = CMDTRACE_SRC_NONE;
	if (!strcmp(want, "off")) {
		t->source = CMDTRACE_SRC_OFF;
		log_line("commands: not recorded (CommandSource=off)");
		return 0;
	}
	return 1;
}

int cmdtrace_start(struct cmdtrace *t, struct loop *l, const char *want, cmdtrace_report_fn fn, void *userdata)
{
	if (prepare(t, l, want, fn, userdata)) {
		open_source(t);
		install(t);
	}
	return 0;
}

static void *loader_main(void *arg)
{
	struct cmdtrace *t = arg;
	uint64_t one = 1;

	open_source(t);
	(void)!write(t->ready_fd, &one, sizeof(one));
	return NULL;
}

/* The loading thread is done (or waited for): the loop owns the source
 * from now on. */
static void loaded(struct cmdtrace *t)
{
	loop_del(t->loop, &t->ready_io);
	pthread_join(t->thread, NULL);
	close(t->ready_fd);
	t->ready_fd = -1;
	t->loading = false;
	install(t);
	if (t->ready)
		t->ready(t->userdata);
}

static void loaded_cb(struct loop_io *io, uint32_t revents)
{
	loaded(io->userdata);
}

int cmdtrace_start_later(struct cmdtrace *t, struct loop *l, const char *want, cmdtrace_report_fn fn, void *userdata,
			 cmdtrace_ready_fn ready)
{
	int r;

	if (!prepare(t, l, want, fn, userdata))
		return 0;
	t->ready = ready;
	loop_io_init(&t->ready_io, loaded_cb, t);
	if ((t->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -errno;
	if ((r = loop_set(l, &t->ready_io, t->ready_fd, EPOLLIN)) < 0 ||
	    (r = -pthread_create(&t->thread, NULL, loader_main, t)) < 0) {
		loop_del(l, &t->ready_io);
		close(t->ready_fd);
		t->ready_fd = -1;
		return r;
	}
	t->loading = true; /* t->source and the sources belong to the thread until loaded_cb */
	return 0;
}

void cmdtrace_wait(struct cmdtrace *t)
{
	if (t->loading)
		loaded(t);
}

void cmdtrace_stop(struct cmdtrace *t)
{
	if (t->loading) {
		pthread_join(t->thread, NULL);
		loop_del(t->loop, &t->ready_io);
		close(t->ready_fd);
		t->ready_fd = -1;
		t->loading = false;
	}
	if (t->io.fd >= 0 && t->loop)
		loop_del(t->loop, &t->io);
	cmdtrace_bpf_close(t->bpf);
	cmdtrace_proc_close(t->proc);
	t->bpf = NULL;
	t->proc = NULL;
	if (t->source == CMDTRACE_SRC_BPF || t->source == CMDTRACE_SRC_PROC)
		t->source = CMDTRACE_SRC_OFF;
}

const char *cmdtrace_source_name(const struct cmdtrace *t)
{
	if (t->loading)
		return "starting";
	switch (t->source) {
	case CMDTRACE_SRC_BPF:
		return "bpf";
	case CMDTRACE_SRC_PROC:
		return "proc";
	case CMDTRACE_SRC_NONE:
		return "none";
	case CMDTRACE_SRC_OFF:
		break;
	}
	return "off";
}

int cmdtrace_track(struct cmdtrace *t, uint64_t tag, pid_t root, int64_t audit_session)
{
	if (t->loading)
		return -ENOTCONN;
	if (t->source == CMDTRACE_SRC_BPF)
		return cmdtrace_bpf_track(t->bpf, tag, root, audit_session);
	if (t->source == CMDTRACE_SRC_PROC)
		return cmdtrace_proc_track(t->proc, tag, root, audit_session);
	return -ENOTCONN;
}

void cmdtrace_untrack(struct cmdtrace *t, uint64_t tag)
{
	/* What the session's processes did up to now is still its own:
	 * the shell's exit is queued before its terminal closes. */
	if (t->loading)
		return;
	drain(t);
	if (t->source == CMDTRACE_SRC_BPF)
		cmdtrace_bpf_untrack(t->bpf, tag);
	else if (t->source == CMDTRACE_SRC_PROC)
		cmdtrace_proc_untrack(t->proc, tag);
}

uint64_t cmdtrace_owner_of(struct cmdtrace *t, pid_t pid)
{
	if (t->loading)
		return 0;
	if (t->source == CMDTRACE_SRC_BPF)
		return cmdtrace_bpf_owner(t->bpf, pid);
	if (t->source == CMDTRACE_SRC_PROC)
		return cmdtrace_proc_owner(t->proc, pid);
	return 0;
}

uint64_t cmdtrace_lost(const struct cmdtrace *t)
{
	if (t->loading)
		return 0;
	if (t->source == CMDTRACE_SRC_BPF)
		return cmdtrace_bpf_lost(t->bpf);
	if (t->source == CMDTRACE_SRC_PROC)
		return cmdtrace_proc_lost(t->proc);
	return 0;
}
