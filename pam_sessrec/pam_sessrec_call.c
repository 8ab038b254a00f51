/* pam_sessrec_call: what the module tells sessrecd (open, attach, close),
 * built from the PAM items and sent with the protocol client
 * (common/protoclient), and the session_skipped event it emits itself when
 * the daemon cannot be asked. Convention: 0 or -errno. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "config.h"
#include "event.h"
#include "pam_sessrec.h"
#include "proto.h"
#include "protoclient.h"

/* The daemon as the module's line says to reach it. */
static struct protoclient client_of(const struct pamsr_args *a)
{
	return (struct protoclient){ .socket = a->socket, .timeout_ms = a->timeout_ms };
}

const char *pamsr_item(pam_handle_t *pamh, int type)
{
	const void *v = NULL;

	if (pam_get_item(pamh, type, &v) != PAM_SUCCESS || !v || !((const char *)v)[0])
		return NULL;
	return v;
}

/* SSH_CONNECTION is "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT", set by
 * sshd in the PAM environment (never taken from the process environment,
 * which a client can influence elsewhere). */
static int from_ssh_connection(const char *conn, char *ip, size_t cap, int *port)
{
	char addr[64];
	int p;

	if (!conn || sscanf(conn, "%63s %d", addr, &p) != 2 || p <= 0 || p > 65535)
		return -EINVAL;
	snprintf(ip, cap, "%s", addr);
	*port = p;
	return 0;
}

void pamsr_who_fill(pam_handle_t *pamh, struct pamsr_who *who)
{
	const char *auth = pam_getenv(pamh, "SSH_AUTH_INFO_0");
	size_t n;

	who->rhost = pamsr_item(pamh, PAM_RHOST);
	who->tty = pamsr_item(pamh, PAM_TTY);
	who->pid = getpid();
	who->sessionid = protoclient_sessionid();
	who->rport = 0;
	if (strcmp(who->proto, "ssh") == 0) {
		if (from_ssh_connection(pam_getenv(pamh, "SSH_CONNECTION"), who->rhost_buf, sizeof(who->rhost_buf),
					&who->rport) == 0)
			who->rhost = who->rhost_buf;
	} else if (who->rhost && pamsr_login_service(who->service)) {
		if (pamsr_peer_of_parent(who->rhost_buf, sizeof(who->rhost_buf), &who->rport) == 0)
			who->rhost = who->rhost_buf;
	}
	who->auth[0] = '\0';
	if (auth) {
		n = strnlen(auth, PAMSR_AUTH_MAX);
		memcpy(who->auth, auth, n);
		who->auth[n] = '\0';
		while (n > 0 && (who->auth[n - 1] == '\n' || who->auth[n - 1] == '\r'))
			who->auth[--n] = '\0';
	}
}

/* The daemon's one line, copied when it said no. */
static void refusal(const struct protoclient_reply *rep, char *err, size_t cap)
{
	const char *msg = protoclient_error(rep);

	if (err)
		snprintf(err, cap, "%s", msg ? msg : "refused by sessrecd");
}

int pamsr_call_open(const struct pamsr_args *a, const struct pamsr_who *who, struct pamsr_reg *reg)
{
	struct protoclient c = client_of(a);
	struct protoclient_reply rep;
	struct json_object *req;
	const char *sid, *token, *skipped;
	int r;

	memset(reg, 0, sizeof(*reg));
	req = protoclient_req_open(&(struct protoclient_open){
		.user = who->user,
		.uid = who->uid,
		.service = who->service,
		.proto = who->proto,
		.rhost = who->rhost,
		.rport = who->rport,
		.tty = who->tty,
		.pid = who->pid,
		.sessionid = who->sessionid,
		.auth = who->auth,
		.input = a->input,
		.dry_run = a->dry_run,
		.fail_closed = a->fail_closed,
	});
	r = protoclient_call(&c, req, NULL, 0, &rep);
	json_object_put(req);
	if (r == -EREMOTEIO) {
		refusal(&rep, reg->error, sizeof(reg->error));
		skipped = proto_str(rep.msg, "skipped");
		if (skipped)
			snprintf(reg->skipped, sizeof(reg->skipped), "%s", skipped);
		goto out;
	}
	if (r < 0)
		goto out;
	sid = proto_str(rep.msg, "sid");
	token = proto_str(rep.msg, "token");
	if (!sid || !uuid_valid(sid) || !token || !token[0] || strlen(token) >= sizeof(reg->token) ||
	    strpbrk(token, " \t\r\n=")) {
		snprintf(reg->error, sizeof(reg->error), "malformed open reply");
		r = -EREMOTEIO;
		goto out;
	}
	snprintf(reg->sid, sizeof(reg->sid), "%s", sid);
	snprintf(reg->token, sizeof(reg->token), "%s", token);
out:
	protoclient_reply_free(&rep);
	return r;
}

int pamsr_call_close(const struct pamsr_args *a, const char *sid, const char *kind, char *state, size_t cap)
{
	struct protoclient c = client_of(a);
	struct protoclient_reply rep;
	struct json_object *req;
	const char *s;
	int r;

	if (state && cap)
		state[0] = '\0';
	req = protoclient_req_close(sid, kind);
	r = protoclient_call(&c, req, NULL, 0, &rep);
	json_object_put(req);
	if (r == -EREMOTEIO)
		refusal(&rep, state, cap);
	if (r == 0 && state && (s = proto_str(rep.msg, "state")))
		snprintf(state, cap, "%s", s);
	protoclient_reply_free(&rep);
	return r;
}

int pamsr_call_attach(const struct pamsr_args *a, uid_t uid, const char *token, const char *sid, const char *term,
		      const char *shell, int outer, int master, bool *dry_run, char *err, size_t cap)
{
	struct protoclient c = client_of(a);
	struct protoclient_reply rep;
	struct json_object *req;
	int r;

	/* The module (root, in login) speaks for the user here, as the user's
	 * own shim would: the daemon checks the peer's uid against the token's. */
	c.as_user = true;
	c.uid = uid;
	*dry_run = false;
	req = protoclient_req_attach(token, sid, term, shell);
	r = protoclient_call(&c, req, (int[]){ outer, master }, 2, &rep);
	json_object_put(req);
	if (r == -EREMOTEIO)
		refusal(&rep, err, cap);
	else if (r < 0)
		snprintf(err, cap, "no answer from sessrecd: %s", strerror(-r));
	else if (proto_bool(rep.msg, "dry_run", dry_run) < 0)
		*dry_run = false;
	protoclient_reply_free(&rep);
	return r;
}

/* The module's own events (session_skipped, deployment_error), with the
 * fields of session_skipped, to where the daemon's configuration sends them. */
static void emit(pam_handle_t *pamh, const struct pamsr_args *a, const struct pamsr_who *who, enum event_type type,
		 const char *reason, const char *detail, const char *msg)
{
	struct sessrec_config *cfg = malloc(sizeof(*cfg));
	char uid[24], pid[24], port[16], err[256];
	struct event e;
	const char *devlog;
	int r = 0;

	if (!cfg)
		return;
	/* The daemon's own settings decide where its events go; a broken
	 * file still leaves the defaults, the event matters more. */
	config_defaults(cfg);
	if (config_load(cfg, a->config ? a->config : CONFIG_DEFAULT_PATH, true, err, sizeof(err)) < 0) {
		pam_syslog(pamh, LOG_WARNING, "%s", err);
		config_defaults(cfg);
	}
	if (!cfg->app_name[0])
		snprintf(cfg->app_name, sizeof(cfg->app_name), "sessrec");
	devlog = cfg->syslog_socket[0] ? cfg->syslog_socket : "/dev/log";
	snprintf(uid, sizeof(uid), "%u", (unsigned)who->uid);
	snprintf(pid, sizeof(pid), "%ld", (long)who->pid);
	snprintf(port, sizeof(port), "%d", who->rport);
	event_session_skipped(&e, &(struct event_skipped){
					  .reason = reason,
					  .user = who->user,
					  .uid = uid,
					  .service = who->proto,
					  .pam_service = who->service,
					  .src_ip = who->rhost,
					  .src_port = who->rport > 0 ? port : NULL,
					  .tty = who->tty,
					  .pid = pid,
					  .error = detail,
					  .msg = msg,
				  });
	e.type = type;
	/* journal: /dev/log is journald's syslog socket under systemd. The
	 * daemon's stdout is out of reach, so syslog stands in for it. */
	if ((cfg->syslog_targets & (SYSLOG_TARGET_DEVLOG | SYSLOG_TARGET_JOURNAL)) ||
	    (cfg->syslog_targets & (SYSLOG_TARGET_STDOUT | SYSLOG_TARGET_PID1)) == SYSLOG_TARGET_STDOUT)
		r = event_send_devlog(devlog, &e, cfg->facility, cfg->hostname, cfg->app_name);
	if (r < 0)
		pam_syslog(pamh, LOG_WARNING, "cannot send %s to %s: %s", event_name(type), devlog, strerror(-r));
	if ((cfg->syslog_targets & SYSLOG_TARGET_PID1) &&
	    (r = event_send_pid1(&e, cfg->facility, cfg->hostname, cfg->app_name)) < 0)
		pam_syslog(pamh, LOG_WARNING, "cannot send %s to PID 1's stdout: %s", event_name(type), strerror(-r));
	free(cfg);
}

void pamsr_emit_skipped(pam_handle_t *pamh, const struct pamsr_args *a, const struct pamsr_who *who, const char *reason,
			const char *detail)
{
	emit(pamh, a, who, EVENT_SESSION_SKIPPED, reason, detail, "session not recorded");
}

void pamsr_emit_deployment_error(pam_handle_t *pamh, const struct pamsr_args *a, const struct pamsr_who *who,
				 const char *reason, const char *detail)
{
	emit(pamh, a, who, EVENT_DEPLOYMENT_ERROR, reason, detail,
	     "recorded login whose shell is not sessrec-shell: user code may run before the recording");
}
