/* pam_sessrec_call: what the module tells sessrecd (open, attach, close),
 * built from the PAM items, and the session_skipped event it emits itself
 * when the daemon cannot be asked. Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "config.h"
#include "event.h"
#include "io.h"
#include "pam_sessrec.h"
#include "proto.h"

#define SESSIONID_UNSET 4294967295LL

static const char *socket_of(const struct pamsr_args *a)
{
	return a->socket ? a->socket : PROTO_DEFAULT_SOCKET;
}

static const char *item_str(pam_handle_t *pamh, int type)
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

static long long read_sessionid(void)
{
	char buf[32], *end;
	long long id;

	if (io_read_file("/proc/self/sessionid", buf, sizeof(buf)) <= 0)
		return -1;
	errno = 0;
	id = strtoll(buf, &end, 10);
	if (errno || end == buf || id < 0 || id >= SESSIONID_UNSET)
		return -1;
	return id;
}

void pamsr_who_fill(pam_handle_t *pamh, struct pamsr_who *who)
{
	const char *auth = pam_getenv(pamh, "SSH_AUTH_INFO_0");
	size_t n;

	who->rhost = item_str(pamh, PAM_RHOST);
	who->tty = item_str(pamh, PAM_TTY);
	who->pid = getpid();
	who->sessionid = read_sessionid();
	who->rport = 0;
	if (strcmp(who->proto, "ssh") == 0) {
		if (from_ssh_connection(pam_getenv(pamh, "SSH_CONNECTION"), who->rhost_buf,
					sizeof(who->rhost_buf), &who->rport) == 0)
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

static void add_str(struct json_object *o, const char *key, const char *v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
}

static void add_int(struct json_object *o, const char *key, long long v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static void add_bool(struct json_object *o, const char *key, bool v)
{
	json_object_object_add(o, key, json_object_new_boolean(v));
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What is left of timeout_ms since t0 (at least 1, so a poll still looks). */
static int left_ms(int64_t t0, int timeout_ms)
{
	int64_t left = t0 + timeout_ms - now_ms();

	return left < 1 ? 1 : (int)left;
}

/* One request/reply within the module's timeout. 0 with *reply set, a
 * reply of ok:false included; -errno when the daemon cannot be reached. */
static int call(const struct pamsr_args *a, struct json_object *req, const int *fds, size_t nfds,
		struct json_object **reply)
{
	if (!req)
		return -ENOMEM;
	return proto_call(socket_of(a), a->timeout_ms, req, fds, nfds, reply);
}

/* -EREMOTEIO with the daemon's one line copied when the reply says no. */
static int refused(struct json_object *reply, char *err, size_t cap)
{
	const char *msg;
	bool ok = false;

	if (proto_bool(reply, "ok", &ok) == 0 && ok)
		return 0;
	msg = proto_str(reply, "error");
	if (err)
		snprintf(err, cap, "%s", msg && msg[0] ? msg : "refused by sessrecd");
	return -EREMOTEIO;
}

int pamsr_call_open(const struct pamsr_args *a, const struct pamsr_who *who, struct pamsr_reg *reg)
{
	struct json_object *req = json_object_new_object(), *reply = NULL;
	const char *sid, *token, *skipped;
	int r;

	memset(reg, 0, sizeof(*reg));
	if (req) {
		add_str(req, "op", "open");
		add_str(req, "user", who->user);
		add_int(req, "uid", who->uid);
		add_str(req, "service", who->service);
		add_str(req, "proto", who->proto);
		add_str(req, "rhost", who->rhost);
		if (who->rport > 0)
			add_int(req, "rport", who->rport);
		add_str(req, "tty", who->tty);
		add_int(req, "pid", who->pid);
		if (who->sessionid >= 0)
			add_int(req, "sessionid", who->sessionid);
		if (who->auth[0])
			add_str(req, "auth", who->auth);
		add_bool(req, "input", a->input);
		add_bool(req, "dry_run", a->dry_run);
	}
	r = call(a, req, NULL, 0, &reply);
	if (r < 0)
		goto out;
	r = refused(reply, reg->error, sizeof(reg->error));
	if (r < 0) {
		skipped = proto_str(reply, "skipped");
		if (skipped)
			snprintf(reg->skipped, sizeof(reg->skipped), "%s", skipped);
		goto out;
	}
	sid = proto_str(reply, "sid");
	token = proto_str(reply, "token");
	if (!sid || !uuid_valid(sid) || !token || !token[0] || strlen(token) >= sizeof(reg->token) ||
	    strpbrk(token, " \t\r\n=")) {
		snprintf(reg->error, sizeof(reg->error), "malformed open reply");
		r = -EREMOTEIO;
		goto out;
	}
	snprintf(reg->sid, sizeof(reg->sid), "%s", sid);
	snprintf(reg->token, sizeof(reg->token), "%s", token);
out:
	json_object_put(reply);
	json_object_put(req);
	return r;
}

int pamsr_call_close(const struct pamsr_args *a, const char *sid, const char *kind, char *state, size_t cap)
{
	struct json_object *req = json_object_new_object(), *reply = NULL;
	const char *s;
	int r;

	if (state && cap)
		state[0] = '\0';
	if (req) {
		add_str(req, "op", "close");
		add_str(req, "sid", sid);
		add_str(req, "kind", kind);
	}
	r = call(a, req, NULL, 0, &reply);
	if (r == 0)
		r = refused(reply, state, cap);
	if (r == 0 && state && (s = proto_str(reply, "state")))
		snprintf(state, cap, "%s", s);
	json_object_put(reply);
	json_object_put(req);
	return r;
}

/* The daemon judges an attach by the connecting process's credentials,
 * which the kernel takes at connect() (SO_PEERCRED: the effective uid):
 * the module (root, in login) connects with the user's uid for that one
 * call, as the user's own shim would. */
static int connect_as(const struct pamsr_args *a, uid_t uid)
{
	uid_t was = geteuid();
	int fd, e;

	if (was != uid && seteuid(uid) < 0)
		return -errno;
	fd = proto_connect(socket_of(a), a->timeout_ms);
	if (was != uid && seteuid(was) < 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

int pamsr_call_attach(const struct pamsr_args *a, uid_t uid, const char *token, const char *sid,
		      const char *term, const char *shell, int outer, int master,
		      bool *dry_run, char *err, size_t cap)
{
	struct json_object *req = json_object_new_object(), *reply = NULL;
	int64_t t0 = now_ms();
	int r, fd = -1;

	*dry_run = false;
	if (req) {
		add_str(req, "op", "attach");
		add_str(req, "token", token);
		add_str(req, "sid", sid);
		add_str(req, "term", term);
		add_str(req, "shell", shell);
	}
	r = fd = req ? connect_as(a, uid) : -ENOMEM;
	if (fd >= 0)
		r = proto_roundtrip(fd, left_ms(t0, a->timeout_ms), req, (int[]){ outer, master }, 2, &reply);
	if (r < 0)
		snprintf(err, cap, "no answer from sessrecd: %s", strerror(-r));
	else if ((r = refused(reply, err, cap)) == 0 && proto_bool(reply, "dry_run", dry_run) < 0)
		*dry_run = false;
	if (fd >= 0)
		close(fd);
	json_object_put(reply);
	json_object_put(req);
	return r;
}

/* The daemon's pid1 target: a container's log stream is PID 1's stdout. */
static int send_pid1(const struct event *e, const struct sessrec_config *cfg)
{
	char line[4096];
	int fd, n, r = 0;

	n = event_format_syslog(line, sizeof(line) - 1, e, cfg->facility,
				cfg->hostname[0] ? cfg->hostname : NULL, cfg->app_name, NULL);
	if (n < 0)
		return n;
	line[n++] = '\n';
	fd = open("/proc/1/fd/1", O_WRONLY | O_APPEND | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* One write under PIPE_BUF: never interleaved with other lines. */
	if (write(fd, line, (size_t)n) != n)
		r = -EIO;
	close(fd);
	return r;
}

void pamsr_emit_skipped(pam_handle_t *pamh, const struct pamsr_args *a, const struct pamsr_who *who,
			const char *reason, const char *detail)
{
	struct sessrec_config *cfg = malloc(sizeof(*cfg));
	struct event e = { .type = EVENT_SESSION_SKIPPED, .msg = "session not recorded" };
	char uid[24], pid[24], port[16], err[256];
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
	event_add(&e, "reason", reason);
	event_add(&e, "user", who->user);
	event_add(&e, "uid", uid);
	event_add(&e, "service", who->proto);
	event_add(&e, "pam_service", who->service);
	event_add(&e, "src_ip", who->rhost);
	if (who->rport > 0)
		event_add(&e, "src_port", port);
	event_add(&e, "tty", who->tty);
	event_add(&e, "pid", pid);
	event_add(&e, "error", detail);
	/* journal: /dev/log is journald's syslog socket under systemd. The
	 * daemon's stdout is out of reach, so syslog stands in for it. */
	if ((cfg->syslog_targets & (SYSLOG_TARGET_DEVLOG | SYSLOG_TARGET_JOURNAL)) ||
	    (cfg->syslog_targets & (SYSLOG_TARGET_STDOUT | SYSLOG_TARGET_PID1)) == SYSLOG_TARGET_STDOUT)
		r = event_send_devlog(devlog, &e, cfg->facility, cfg->hostname[0] ? cfg->hostname : NULL,
				      cfg->app_name);
	if (r < 0)
		pam_syslog(pamh, LOG_WARNING, "cannot send session_skipped to %s: %s", devlog, strerror(-r));
	if ((cfg->syslog_targets & SYSLOG_TARGET_PID1) && (r = send_pid1(&e, cfg)) < 0)
		pam_syslog(pamh, LOG_WARNING, "cannot send session_skipped to PID 1's stdout: %s", strerror(-r));
	free(cfg);
}
