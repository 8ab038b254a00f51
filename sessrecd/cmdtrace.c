/* cmdtrace: the command tracer's front (cmdtrace.h): picks the source,
 * watches its fd in the daemon's one epoll loop, and forwards tracking to
 * it. Convention: 0 or -errno. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmdtrace.h"
#include "cmdtrace_src.h"
#include "log.h"

static void drain(struct cmdtrace *t)
{
	if (t->source == CMDTRACE_SRC_BPF)
		cmdtrace_bpf_drain(t->bpf, t->report, t->userdata);
	else if (t->source == CMDTRACE_SRC_PROC)
		cmdtrace_proc_drain(t->proc, t->report, t->userdata);
}

static void readable_cb(struct loop_io *io, uint32_t revents)
{
	drain(io->userdata);
}

int cmdtrace_start(struct cmdtrace *t, struct loop *l, const char *want, cmdtrace_report_fn fn, void *userdata)
{
	char why_bpf[160] = "", why_proc[160] = "";
	bool any = !strcmp(want, "auto");
	int fd = -1, r;

	memset(t, 0, sizeof(*t));
	t->loop = l;
	t->report = fn;
	t->userdata = userdata;
	loop_io_init(&t->io, readable_cb, t);
	t->source = CMDTRACE_SRC_NONE;
	if (!strcmp(want, "off")) {
		t->source = CMDTRACE_SRC_OFF;
		log_line("commands: not recorded (CommandSource=off)");
		return 0;
	}
	if ((any || !strcmp(want, "bpf")) && cmdtrace_bpf_open(&t->bpf, why_bpf, sizeof(why_bpf)) == 0) {
		t->source = CMDTRACE_SRC_BPF;
		fd = cmdtrace_bpf_fd(t->bpf);
	} else if ((any || !strcmp(want, "proc")) && cmdtrace_proc_open(&t->proc, why_proc, sizeof(why_proc)) == 0) {
		t->source = CMDTRACE_SRC_PROC;
		fd = cmdtrace_proc_fd(t->proc);
	}
	snprintf(t->why, sizeof(t->why), "%s%s%s", why_bpf, why_bpf[0] && why_proc[0] ? "; " : "", why_proc);
	if (fd >= 0 && (r = loop_set(l, &t->io, fd, EPOLLIN)) < 0) {
		snprintf(t->why, sizeof(t->why), "cannot watch the source: %s", strerror(-r));
		cmdtrace_stop(t);
		t->source = CMDTRACE_SRC_NONE;
	}
	/* The one line at start-up that says where command records come from. */
	if (t->source == CMDTRACE_SRC_NONE)
		log_line("commands: no source (%s); sessions are recorded without commands", t->why);
	else if (t->why[0])
		log_line("commands: source %s (%s)", cmdtrace_source_name(t), t->why);
	else
		log_line("commands: source %s", cmdtrace_source_name(t));
	return 0;
}

void cmdtrace_stop(struct cmdtrace *t)
{
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
	drain(t);
	if (t->source == CMDTRACE_SRC_BPF)
		cmdtrace_bpf_untrack(t->bpf, tag);
	else if (t->source == CMDTRACE_SRC_PROC)
		cmdtrace_proc_untrack(t->proc, tag);
}

uint64_t cmdtrace_owner_of(struct cmdtrace *t, pid_t pid)
{
	if (t->source == CMDTRACE_SRC_BPF)
		return cmdtrace_bpf_owner(t->bpf, pid);
	if (t->source == CMDTRACE_SRC_PROC)
		return cmdtrace_proc_owner(t->proc, pid);
	return 0;
}

uint64_t cmdtrace_lost(const struct cmdtrace *t)
{
	if (t->source == CMDTRACE_SRC_BPF)
		return cmdtrace_bpf_lost(t->bpf);
	if (t->source == CMDTRACE_SRC_PROC)
		return cmdtrace_proc_lost(t->proc);
	return 0;
}
