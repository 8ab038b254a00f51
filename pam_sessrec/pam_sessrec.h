/* pam_sessrec internals, shared by the module's files and hidden by the
 * version script: arguments and selection (pam_sessrec_args.c), the daemon
 * calls and the skip event (pam_sessrec_call.c), the tty handover for
 * login(1) (pam_sessrec_tty.c). Convention: 0 or -errno unless said. */
#pragma once
#include <limits.h>
#include <pwd.h>
#include <security/pam_modules.h>
#include <stdbool.h>
#include <sys/types.h>

#include "uuid.h"

#define PAMSR_TIMEOUT_DEFAULT 1000
#define PAMSR_TIMEOUT_MAX 600000
#define PAMSR_TOKEN_MAX 128
#define PAMSR_AUTH_MAX 2048 /* SSH_AUTH_INFO_0 kept under PROTO_MSG_MAX with the rest */
#define PAMSR_REFUSED_MSG "Session recording is unavailable; login refused."
#define PAMSR_NOT_ENROLLED_MSG "Session recording is not set up for this account; login refused."

/* How sshd reaches the shim (deploy=): the shim as the user's login shell
 * (the shipped deployment), or a ForceCommand the administrator declares. */
enum pamsr_deploy {
	PAMSR_DEPLOY_SHELL,
	PAMSR_DEPLOY_FORCECOMMAND,
};

enum pamsr_mode {
	PAMSR_MODE_AUTO, /* tty for login-like services, shim otherwise */
	PAMSR_MODE_SHIM,
	PAMSR_MODE_TTY,
};

/* The module's line, parsed. Lists are comma-separated names borrowed from
 * argv (valid for the duration of the PAM call); NULL or "" means unset. */
struct pamsr_args {
	const char *users, *groups, *exclude_users, *exclude_groups, *services;
	const char *socket;
	const char *config; /* the daemon's configuration, for where session_skipped goes */
	int timeout_ms;
	enum pamsr_mode mode;
	bool fail_closed, input, dry_run, debug, quiet;
	enum pamsr_deploy deploy;
};

/* Who and what is being registered: everything the open request carries. */
struct pamsr_who {
	const char *user;
	uid_t uid;
	const char *shell;   /* passwd shell, for the tty handover */
	const char *service; /* PAM_SERVICE */
	const char *proto;   /* ssh, telnet, console or the service name */
	const char *rhost;   /* the client's address (see pamsr_who_fill), may be NULL */
	int rport;           /* 0: unknown */
	char rhost_buf[64];  /* storage for rhost when it was looked up */
	const char *tty;     /* PAM_TTY, may be NULL */
	pid_t pid;
	long long sessionid;           /* -1: the kernel has none */
	char auth[PAMSR_AUTH_MAX + 1]; /* SSH_AUTH_INFO_0, trailing newlines stripped; "" if none */
};

/* What the daemon gave back for an open. */
struct pamsr_reg {
	char sid[UUID_STR_LEN];
	char token[PAMSR_TOKEN_MAX];
	char error[256];  /* the daemon's refusal, when -EREMOTEIO */
	char skipped[32]; /* its "skipped" reason (disk_pressure, session_limit, ...): the
			    * daemon emitted session_skipped itself; "" otherwise */
};

/* pam_sessrec_args.c ------------------------------------------------------ */

/* Parses argv into a, starting from the defaults. Unknown arguments and bad
 * values are logged with pam_syslog when log is set (once per open) and
 * otherwise ignored: a bad value keeps the default. */
void pamsr_args_parse(pam_handle_t *pamh, int argc, const char **argv, struct pamsr_args *a, bool log);

/* Whether name is one of the comma-separated entries of list. */
bool pamsr_in_list(const char *list, const char *name);

/* The selection: (no users= and no groups=, or user listed, or in a listed
 * group) and not excluded by exclude_users= / exclude_groups=. Group
 * membership as pam_succeed_if sees it (primary group or member list). */
bool pamsr_selected(pam_handle_t *pamh, const struct pamsr_args *a, const char *user);

/* su, sudo, runuser and their -l/-i forms: they run inside a session that
 * is recorded (or not) by its own login, and never own the terminal. */
bool pamsr_nested_service(const char *service);

/* login(1)'s services: fd 0 is the session tty when the session opens. */
bool pamsr_login_service(const char *service);

/* The mode for this service when mode= is not given. */
enum pamsr_mode pamsr_mode_for(const struct pamsr_args *a, const char *service);

/* meta.proto: "ssh" for sshd, "telnet" for login with a remote host,
 * "console" for login without, else the service name. */
const char *pamsr_proto(const char *service, const char *rhost);

/* pam_sessrec_call.c ------------------------------------------------------ */

/* A PAM string item (PAM_SERVICE, PAM_USER, PAM_RHOST...), NULL when unset
 * or empty. */
const char *pamsr_item(pam_handle_t *pamh, int type);

/* Fills who from the PAM items and environment (rhost, tty, auth, rport,
 * sessionid, pid). user, uid, shell and service are set by the caller.
 * The client's address: for sshd the numeric one of SSH_CONNECTION (PAM
 * env, set by sshd), for login with a remote host the peer of its parent's
 * connection (pamsr_peer_of_parent), else PAM_RHOST as it is. */
void pamsr_who_fill(pam_handle_t *pamh, struct pamsr_who *who);

/* The open request. 0: reg->sid and reg->token set. -EREMOTEIO: the
 * daemon answered no (reg->error, reg->skipped). Other -errno: the
 * daemon is unreachable or did not answer within the timeout. */
int pamsr_call_open(const struct pamsr_args *a, const struct pamsr_who *who, struct pamsr_reg *reg);

/* The close request; kind (may be NULL) is the word session_unattached
 * carries when the session never attached, state (may be NULL) gets the
 * daemon's "state". */
int pamsr_call_close(const struct pamsr_args *a, const char *sid, const char *kind, char *state, size_t cap);

/* The attach request for the tty handover, fds {outer, master}, made with
 * uid as the effective uid at connect() (the session's user: the daemon
 * checks the peer's uid against the token's). -EREMOTEIO with err set when
 * the daemon refused. */
int pamsr_call_attach(const struct pamsr_args *a, uid_t uid, const char *token, const char *sid, const char *term,
		      const char *shell, int outer, int master, bool *dry_run, char *err, size_t cap);

/* session_skipped, as an RFC 5424 line to where the daemon's configuration
 * (a->config, default /etc/sessrec/sessrecd.conf) sends events: DevLog=
 * (default /dev/log) and PID 1's stdout, with the daemon's facility, host
 * and app name so it lands beside the daemon's own events. */
void pamsr_emit_skipped(pam_handle_t *pamh, const struct pamsr_args *a, const struct pamsr_who *who, const char *reason,
			const char *detail);

/* deployment_error: a recorded sshd login whose passwd shell is not the
 * shim (pam_sessrec(8), "DEPLOYMENT"); same fields and targets as
 * pamsr_emit_skipped. */
void pamsr_emit_deployment_error(pam_handle_t *pamh, const struct pamsr_args *a, const struct pamsr_who *who,
				 const char *reason, const char *detail);

/* pam_sessrec_peer.c ------------------------------------------------------ */

/* The numeric address and port of the one established TCP connection the
 * parent process holds (telnetd serving login). -ENOENT when there is not
 * exactly one. */
int pamsr_peer_of_parent(char *ip, size_t cap, int *port);

/* pam_sessrec_tty.c ------------------------------------------------------- */

/* 0 when fd 0 is a terminal whose session leader is this process, else
 * -ENOTTY / -EPERM with why set to a short reason. */
int pamsr_tty_check(const char **why);

/* Hands fd 0 to the daemon (attach with the token) and moves this process
 * and its future children onto the inner pty. On -EREMOTEIO or
 * unreachable the outer terminal is as it was and err says why; on
 * -EPIPE the switch itself failed after the daemon took the tty (the
 * process may be left without a controlling terminal). *dry_run: the
 * daemon wants the session left on the outer tty. */
int pamsr_tty_handover(const struct pamsr_args *a, const struct pamsr_who *who, const struct pamsr_reg *reg,
		       const char *term, bool *dry_run, char *err, size_t cap);
