/* pam_sessrec: the PAM session module that decides whether a login is
 * recorded, registers it with sessrecd and hands its token to the shim
 * (mode=shim) or its terminal to the daemon (mode=tty, login(1)).
 * It runs as root inside sshd's monitor and login(1): no threads, no
 * signal handlers, no exit(), no state outside pam_set_data, every fd
 * CLOEXEC, nothing written to stdout; only pam_sm_* are exported.
 * Convention: pam_sm_* return PAM codes, the helpers 0 or -errno. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

#include "pam_sessrec.h"
#include "proto.h"
#include "shells.h"

#define PAMSR_DATA "pam_sessrec_session"

/* What close needs, kept with pam_set_data from open to close. */
struct pamsr_state {
	char sid[UUID_STR_LEN];
	pid_t pid; /* the process that opened: close elsewhere (a forked child) is not ours */
};

static void state_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	free(data);
}

static const char *mode_name(enum pamsr_mode m)
{
	return m == PAMSR_MODE_TTY ? "tty" : "shim";
}

/* The login cannot be recorded: it goes on unrecorded (fail=open) or is
 * refused with one line to the user (fail=closed). emit: send the
 * session_skipped event here (the daemon did not). */
static int unrecorded(pam_handle_t *pamh, const struct pamsr_args *a, const struct pamsr_who *who, const char *reason,
		      const char *detail, bool emit)
{
	const char *user = who->user ? who->user : "(unknown)";

	if (emit)
		pamsr_emit_skipped(pamh, a, who, reason, detail);
	if (a->fail_closed) {
		pam_syslog(pamh, LOG_ERR, "session of %s not recorded (%s: %s), refused (fail=closed)", user, reason,
			   detail ? detail : "-");
		/* The one line the user sees, even under PAM_SILENT: it ends the login. */
		pam_error(pamh, "%s", PAMSR_REFUSED_MSG);
		return PAM_SESSION_ERR;
	}
	pam_syslog(pamh, LOG_WARNING, "session of %s not recorded (%s: %s), allowed (fail=open)", user, reason,
		   detail ? detail : "-");
	return PAM_SUCCESS;
}

/* An sshd login reaches the shim only as its login shell (or a declared
 * ForceCommand): any other shell runs user code (~/.bashrc, ~/.ssh/rc)
 * before anything is recorded. fail=closed refuses such a login with one
 * line; fail=open lets it in with the deployment_error alert. */
static int check_deployment(pam_handle_t *pamh, const struct pamsr_args *a, const struct pamsr_who *who)
{
	if (a->deploy == PAMSR_DEPLOY_FORCECOMMAND || shells_is_shim(who->shell))
		return PAM_SUCCESS;
	pamsr_emit_deployment_error(pamh, a, who, "shell_not_shim", who->shell);
	if (a->fail_closed) {
		pam_syslog(pamh, LOG_ERR,
			   "login shell of %s is %s, not %s (sessrecctl enroll %s); refused (fail=closed)", who->user,
			   who->shell ? who->shell : "-", SHELLS_SHIM_NAME, who->user);
		pam_error(pamh, "%s", PAMSR_NOT_ENROLLED_MSG);
		return PAM_SESSION_ERR;
	}
	pam_syslog(pamh, LOG_WARNING, "login shell of %s is %s, not %s (sessrecctl enroll %s); allowed (fail=open)",
		   who->user, who->shell ? who->shell : "-", SHELLS_SHIM_NAME, who->user);
	return PAM_SUCCESS;
}

/* A registration that will not be used is ended at once, so the daemon
 * does not wait for an attach that never comes (and says why it had none). */
static void drop_registration(pam_handle_t *pamh, const struct pamsr_args *a, const char *sid)
{
	int r = pamsr_call_close(a, sid, "not_recorded", NULL, 0);

	if (r < 0 && r != -EREMOTEIO)
		pam_syslog(pamh, LOG_WARNING, "sid=%s: cannot close the registration: %s", sid, strerror(-r));
}

static int put(pam_handle_t *pamh, const char *name, const char *value)
{
	char buf[PATH_MAX + 64];
	int n = snprintf(buf, sizeof(buf), "%s=%s", name, value);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	return pam_putenv(pamh, buf) == PAM_SUCCESS ? 0 : -ENOMEM;
}

/* What sessrec-shell reads (pam_sessrec(8), ENVIRONMENT). In tty mode
 * the token is spent already and the shim has nothing to do. */
static int export_env(pam_handle_t *pamh, const struct pamsr_args *a, const struct pamsr_reg *reg, enum pamsr_mode mode)
{
	char num[16];
	int r = 0;

	if (mode == PAMSR_MODE_TTY)
		return a->quiet ? 0 : put(pamh, "SESSREC_SID", reg->sid);
	snprintf(num, sizeof(num), "%d", a->timeout_ms);
	if ((r = put(pamh, "SESSREC_SID", reg->sid)) < 0 || (r = put(pamh, "SESSREC_TOKEN", reg->token)) < 0 ||
	    (r = put(pamh, "SESSREC_FAIL", a->fail_closed ? "closed" : "open")) < 0)
		return r;
	if (a->socket && strcmp(a->socket, PROTO_DEFAULT_SOCKET) != 0 &&
	    (r = put(pamh, "SESSREC_SOCKET", a->socket)) < 0)
		return r;
	if (a->timeout_ms != PAMSR_TIMEOUT_DEFAULT && (r = put(pamh, "SESSREC_TIMEOUT_MS", num)) < 0)
		return r;
	if (a->quiet && (r = put(pamh, "SESSREC_QUIET", "1")) < 0)
		return r;
	return 0;
}

static void unexport_env(pam_handle_t *pamh)
{
	static const char *const names[] = { "SESSREC_SID",    "SESSREC_TOKEN",      "SESSREC_FAIL",
					     "SESSREC_SOCKET", "SESSREC_TIMEOUT_MS", "SESSREC_QUIET" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (pam_getenv(pamh, names[i]))
			pam_putenv(pamh, names[i]);
}

static int store_state(pam_handle_t *pamh, const char *sid)
{
	struct pamsr_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	snprintf(st->sid, sizeof(st->sid), "%s", sid);
	st->pid = getpid();
	if (pam_set_data(pamh, PAMSR_DATA, st, state_cleanup) != PAM_SUCCESS) {
		free(st);
		return -ENOMEM;
	}
	return 0;
}

/* mode=tty after a successful open: the terminal goes to the daemon. */
static int hand_over_tty(pam_handle_t *pamh, const struct pamsr_args *a, const struct pamsr_who *who,
			 const struct pamsr_reg *reg)
{
	const char *term = pam_getenv(pamh, "TERM");
	char err[320];
	bool dry_run;
	int r;

	if (!term)
		term = getenv("TERM");
	r = pamsr_tty_handover(a, who, reg, term, &dry_run, err, sizeof(err));
	if (r == 0) {
		if (dry_run)
			pam_syslog(pamh, LOG_INFO, "sid=%s: dry run, terminal left as it was", reg->sid);
		return PAM_SUCCESS;
	}
	pam_set_data(pamh, PAMSR_DATA, NULL, NULL);
	unexport_env(pamh);
	drop_registration(pamh, a, reg->sid);
	if (r == -EPIPE) {
		/* The daemon holds the terminal and this process may have
		 * lost it: no policy makes carrying on safe. */
		pam_syslog(pamh, LOG_CRIT, "sid=%s: %s; session refused", reg->sid, err);
		pam_error(pamh, "%s", PAMSR_REFUSED_MSG);
		return PAM_SESSION_ERR;
	}
	return unrecorded(pamh, a, who, r == -EREMOTEIO ? "attach_refused" : "daemon_unreachable", err, true);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pamsr_args a;
	struct pamsr_who who = { .sessionid = -1 };
	struct pamsr_reg reg;
	const struct passwd *pw;
	enum pamsr_mode mode;
	const char *why;
	int r;

	pamsr_args_parse(pamh, argc, argv, &a, true);
	who.service = pamsr_item(pamh, PAM_SERVICE);
	who.user = pamsr_item(pamh, PAM_USER);
	who.proto = pamsr_proto(who.service, pamsr_item(pamh, PAM_RHOST));
	if (pamsr_nested_service(who.service) ||
	    (a.services && a.services[0] && !pamsr_in_list(a.services, who.service))) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "service %s not recorded here", who.service ? who.service : "-");
		return PAM_IGNORE;
	}
	if (!who.user) {
		pam_syslog(pamh, LOG_ERR, "no user name");
		return unrecorded(pamh, &a, &who, "no_user", "PAM_USER unset", true);
	}
	if (!pamsr_selected(pamh, &a, who.user)) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "user %s not selected", who.user);
		return PAM_IGNORE;
	}
	pw = pam_modutil_getpwnam(pamh, who.user);
	if (!pw)
		return unrecorded(pamh, &a, &who, "no_user", "no passwd entry", true);
	who.uid = pw->pw_uid;
	who.shell = pw->pw_shell;
	pamsr_who_fill(pamh, &who);
	mode = pamsr_mode_for(&a, who.service);
	if (mode == PAMSR_MODE_TTY && pamsr_tty_check(&why) < 0)
		return unrecorded(pamh, &a, &who, "no_session_tty", why, true);

	r = pamsr_call_open(&a, &who, &reg);
	if (r == -EREMOTEIO)
		return unrecorded(pamh, &a, &who, reg.skipped[0] ? reg.skipped : "daemon_refused", reg.error,
				  !reg.skipped[0]);
	if (r < 0)
		return unrecorded(pamh, &a, &who, "daemon_unreachable", strerror(-r), true);
	/* After the open: an unreachable daemon is the first thing to say. */
	if (mode == PAMSR_MODE_SHIM && strcmp(who.proto, "ssh") == 0 &&
	    (r = check_deployment(pamh, &a, &who)) != PAM_SUCCESS) {
		drop_registration(pamh, &a, reg.sid);
		return r;
	}

	if ((r = store_state(pamh, reg.sid)) < 0 || (r = export_env(pamh, &a, &reg, mode)) < 0) {
		pam_set_data(pamh, PAMSR_DATA, NULL, NULL);
		unexport_env(pamh);
		drop_registration(pamh, &a, reg.sid);
		return unrecorded(pamh, &a, &who, "module_error", strerror(-r), true);
	}
	if (mode == PAMSR_MODE_TTY && (r = hand_over_tty(pamh, &a, &who, &reg)) != PAM_SUCCESS)
		return r;
	pam_syslog(pamh, LOG_INFO, "sid=%s: recording %s (uid %u, %s from %s, mode=%s%s)", reg.sid, who.user,
		   (unsigned)who.uid, who.proto, who.rhost ? who.rhost : "local", mode_name(mode),
		   a.dry_run ? ", dry run" : "");
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const struct pamsr_state *st;
	const void *data = NULL;
	struct pamsr_args a;
	char sid[UUID_STR_LEN], state[64];
	int r;

	if (pam_get_data(pamh, PAMSR_DATA, &data) != PAM_SUCCESS || !data)
		return PAM_IGNORE;
	st = data;
	pamsr_args_parse(pamh, argc, argv, &a, false);
	if (st->pid != getpid()) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "sid=%s: opened by pid %ld, not closed from pid %ld", st->sid,
				   (long)st->pid, (long)getpid());
		return PAM_IGNORE;
	}
	snprintf(sid, sizeof(sid), "%s", st->sid);
	pam_set_data(pamh, PAMSR_DATA, NULL, NULL); /* frees st: one close per open */
	r = pamsr_call_close(&a, sid, NULL, state, sizeof(state));
	if (r == -EREMOTEIO)
		pam_syslog(pamh, LOG_WARNING, "sid=%s: sessrecd refused the close: %s", sid, state);
	else if (r < 0)
		pam_syslog(pamh, LOG_WARNING, "sid=%s: cannot report the end to sessrecd: %s", sid, strerror(-r));
	else
		pam_syslog(pamh, LOG_INFO, "sid=%s: session closed (%s)", sid, state[0] ? state : "-");
	return PAM_SUCCESS;
}
