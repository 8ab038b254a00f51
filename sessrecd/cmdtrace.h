/* cmdtrace: the command tracer (docs/architecture.md, "Commands"): which
 * processes belong to which recorded session (by process tree from a root
 * pid and by audit session id), and their exec and exit, from eBPF or the
 * proc connector, handed up through one callback. It knows sessions only
 * by a tag (their serial); cmdtrace_rec.c turns the events into shard lines.
 * Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

#include "cmdtrace_ev.h"
#include "loop.h"

enum cmdtrace_source {
	CMDTRACE_SRC_OFF,  /* CommandSource=off */
	CMDTRACE_SRC_NONE, /* wanted, none could start: sessions are recorded without commands */
	CMDTRACE_SRC_BPF,
	CMDTRACE_SRC_PROC,
};

struct cmdtrace_bpf;
struct cmdtrace_proc;

typedef void (*cmdtrace_ready_fn)(void *userdata);

struct cmdtrace {
	enum cmdtrace_source source;
	bool loading; /* cmdtrace_start_later: the sources open in a thread */
	pthread_t thread;
	int ready_fd; /* eventfd: the thread is done */
	struct loop_io ready_io;
	cmdtrace_ready_fn ready;
	char want[8];
	char why[160]; /* why a wanted source is not in use */
	struct loop *loop;
	struct loop_io io;
	cmdtrace_report_fn report;
	void *userdata;
	struct cmdtrace_bpf *bpf;
	struct cmdtrace_proc *proc;
};

/* Starts the source want names ("auto": eBPF, else the proc connector;
 * "bpf", "proc", "off") on loop; events go to fn. The source in use (or
 * NONE with why) is in t->source. 0 even when no source could start. */
int cmdtrace_start(struct cmdtrace *t, struct loop *l, const char *want, cmdtrace_report_fn fn, void *userdata);

/* The same, but the source is opened in a thread (loading eBPF takes a
 * moment: sessions resumed after a restart must not wait for it); until
 * ready is called (from the loop) nothing is tracked and the source is
 * "starting". -errno when the thread cannot start (then nothing is). */
int cmdtrace_start_later(struct cmdtrace *t, struct loop *l, const char *want, cmdtrace_report_fn fn, void *userdata,
			 cmdtrace_ready_fn ready);

/* Waits for the thread of cmdtrace_start_later, when it still loads, and
 * does at once what its ready would do from the loop (ready is called). */
void cmdtrace_wait(struct cmdtrace *t);

/* Stops the source (waiting for a loading thread); t can be started again. */
void cmdtrace_stop(struct cmdtrace *t);

/* Whether a source runs (not off, none, or still starting). */
bool cmdtrace_active(const struct cmdtrace *t);

/* "bpf", "proc", "off", "none", "starting". */
const char *cmdtrace_source_name(const struct cmdtrace *t);

/* The processes of session tag: root and its descendants from now on
 * (add before the root forks: the attach's reply is sent after), and, when
 * audit_session >= 0, every process of that audit session (it must be the
 * session's own: a login's, set by pam_loginuid). -ENOTCONN without a
 * source; -ENOSPC when the tables are full. */
int cmdtrace_track(struct cmdtrace *t, uint64_t tag, pid_t root, int64_t audit_session);

/* The events of tag still queued are handed up, then its processes are
 * forgotten (at the end of its session). */
void cmdtrace_untrack(struct cmdtrace *t, uint64_t tag);

/* The tag of the session process pid belongs to, 0: none (or no source).
 * For other modules attributing kernel events (authdeny). */
uint64_t cmdtrace_owner_of(struct cmdtrace *t, pid_t pid);

/* Records the source could not deliver (its ring buffer or socket
 * overflowed), since the start. */
uint64_t cmdtrace_lost(const struct cmdtrace *t);
