/* enforce: ending the logins fail=closed says must not go on unrecorded
 * (see enforce.h). Convention: counts of processes signalled, or -errno. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "emit.h"
#include "enforce.h"
#include "log.h"

bool enforce_target(pid_t pid, int64_t pid_audit, pid_t opener, int64_t audit, pid_t self, int64_t self_audit)
{
	if (pid <= 1 || pid == self)
		return false;
	if (pid == opener)
		return true;
	/* Our own audit session is never "the user's": a daemon started from
	 * that very login would end itself and its keeper. */
	if (!auth_audit_set(audit) || audit == self_audit)
		return false;
	return pid_audit == audit;
}

static int64_t audit_of(pid_t pid)
{
	int64_t id;

	return auth_proc_sessionid(pid, &id) == 0 ? id : -1;
}

int enforce_signal_login(pid_t opener, int64_t audit, int sig)
{
	pid_t self = getpid();
	int64_t self_audit = audit_of(self);
	struct dirent *de;
	DIR *dir;
	int n = 0;

	/* The opener first: it may be all there is (no audit session). */
	if (enforce_target(opener, -1, opener, audit, self, self_audit) && kill(opener, sig) == 0)
		n++;
	if (!auth_audit_set(audit))
		return n;
	dir = opendir("/proc"); /* O_CLOEXEC in glibc */
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char *end;
		long v = strtol(de->d_name, &end, 10);
		pid_t pid = (pid_t)v;

		if (*end || v <= 1 || pid == opener)
			continue;
		if (enforce_target(pid, audit_of(pid), opener, audit, self, self_audit) && kill(pid, sig) == 0)
			n++;
	}
	closedir(dir);
	return n;
}

void enforce_begin(struct daemon *d, struct enforce *en, const struct session_state *st, const char *reason,
		   struct event *e, int64_t now)
{
	char count[16], pid[24];
	int n;

	if (!st->fail_closed || en->kill_ms)
		return;
	en->kill_ms = now + ENFORCE_GRACE_MS;
	n = enforce_signal_login((pid_t)st->pid, st->audit_session, SIGTERM);
	log_line(
		"session %s of %s: %s under fail=closed: ending its login (pid %lld, audit session %lld): %d "
		"processes signalled",
		st->sid, st->user, reason, (long long)st->pid, (long long)st->audit_session, n < 0 ? 0 : n);
	snprintf(count, sizeof(count), "%d", n < 0 ? 0 : n);
	e->type = EVENT_SESSION_TERMINATED;
	e->msg = "the login could not be recorded and was ended (fail=closed)";
	event_add(e, "reason", reason);
	snprintf(pid, sizeof(pid), "%lld", (long long)st->pid);
	event_add(e, "pid", pid);
	event_add(e, "signalled", count);
	emit_event(d, e);
}

void enforce_tick(struct enforce *en, const struct session_state *st, int64_t now)
{
	if (!en->kill_ms || en->killed || now < en->kill_ms)
		return;
	en->killed = true;
	enforce_signal_login((pid_t)st->pid, st->audit_session, SIGKILL);
}
