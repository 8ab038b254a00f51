/* protoclient: the one client of sessrecd's protocol (sessrecd(8), "Requests
 * and trust"), used by pam_sessrec, sessrec-shell and `sessrecctl record`:
 * connect with a deadline, one call, one builder per request.
 * Convention: 0 / fd or -errno. Library code: it never logs or prints.
 *
 * Ownership, for every function here: a request is only read, never taken;
 * the caller that built it puts it, on every path. A reply (message and fds)
 * belongs to the caller, who frees it with protoclient_reply_free. Every fd
 * the client opens is CLOEXEC and closed before the call returns; sends use
 * MSG_NOSIGNAL (fdpass), so a daemon that goes away never raises SIGPIPE. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fdpass.h"

/* How to reach the daemon. Zero-initialised: the default socket, no time
 * limit, our own credentials, replies without fds. */
struct protoclient {
	const char *socket; /* NULL: PROTO_DEFAULT_SOCKET */
	int timeout_ms;     /* for the whole call, connect to reply; <= 0: no limit */
	bool as_user;       /* connect with uid as the effective uid: the daemon */
	uid_t uid;          /* judges an attach by SO_PEERCRED, taken at connect() */
	size_t reply_fds;   /* fds a reply may carry (<= FDPASS_MAX); more: -EBADMSG */
};

/* What came back. Empty (msg NULL, nfds 0) unless the call returned 0 or
 * -EREMOTEIO; a refusal never keeps fds. */
struct protoclient_reply {
	struct json_object *msg;
	int fds[FDPASS_MAX];
	size_t nfds;
	bool reached; /* connected: a failure came after the daemon took the connection */
};

/* The one call: connects to c->socket, sends req with nfds fds, waits for
 * the one reply within c->timeout_ms and receives it with its fds. Returns
 * 0 when the daemon said {"ok":true}, -EREMOTEIO when it said {"ok":false}
 * (rep->msg holds its "error", maybe "skipped"), -ENOMEM when req is NULL
 * (a builder failed), the connect errors of proto_connect, -ETIMEDOUT,
 * -ECONNRESET (the daemon closed), -EMSGSIZE or -EBADMSG (a reply that is
 * oversized, malformed, without an "ok" bool, or with more fds than allowed).
 * rep is filled on every path; call protoclient_reply_free on every path. */
int protoclient_call(const struct protoclient *c, struct json_object *req, const int *fds, size_t nfds,
		     struct protoclient_reply *rep);

/* protoclient_call that keeps the connection open when the daemon said
 * {"ok":true}: *sock gets it (CLOEXEC, blocking; the caller closes it),
 * -1 on every other path. For the attach of a command, answered later on
 * the same connection with "drained". */
int protoclient_call_keep(const struct protoclient *c, struct json_object *req, const int *fds, size_t nfds,
			  struct protoclient_reply *rep, int *sock);

/* Waits, without a time limit, for the daemon's {"op":"drained","sid":S,
 * "status":"recorded"} on sock: 0 when it came, -ECONNRESET when the
 * daemon closed the connection first (it is gone: the caller gives up
 * waiting), -EBADMSG for any other message, or -errno. */
int protoclient_wait_drained(int sock);

/* Puts rep->msg and closes rep->fds; rep is empty afterwards (safe twice). */
void protoclient_reply_free(struct protoclient_reply *rep);

/* The daemon's one line in a refusal: its "error" when a non-empty string,
 * else NULL. */
const char *protoclient_error(const struct protoclient_reply *rep);

/* Connects a CLOEXEC SOCK_SEQPACKET socket to path, giving up after
 * timeout_ms (-1: never) with -ETIMEDOUT. Returns the (blocking) fd or -errno
 * (-ENOENT: no socket there, -ECONNREFUSED: nobody listening). */
int proto_connect(const char *path, int timeout_ms);

/* Requests ------------------------------------------------------------------
 * Each builder returns a new request object (the caller puts it), or NULL when
 * memory ran out. String fields given as NULL are left out of the request. */

/* What an open request carries (uid 0 only: pam_sessrec, sessrecctl record). */
struct protoclient_open {
	const char *user;
	uid_t uid;
	const char *service; /* the PAM service, or the program */
	const char *proto;   /* ssh, telnet, console, local, ... */
	const char *rhost;   /* the client's address */
	int rport;           /* <= 0: unknown, left out */
	const char *tty;
	pid_t pid;           /* the process that opens (and later closes) */
	long long sessionid; /* the audit session; < 0: none, left out */
	const char *auth;    /* SSH_AUTH_INFO_0; NULL or "": left out */
	bool input;          /* record what is typed too */
	bool dry_run;        /* relay without recording */
	bool fail_closed;    /* fail=closed: the daemon ends the login when it cannot be recorded
			      * (sent as "fail":"closed"; absent: open, as from older clients) */
};

/* {"op":"open",...,"fail"} -> sid, token (or a refusal, maybe with "skipped"). */
struct json_object *protoclient_req_open(const struct protoclient_open *o);

/* {"op":"attach","token","sid","term","shell"}, sent with the fds {outer
 * tty, inner pty master}: the daemon takes the terminal. -> dry_run */
struct json_object *protoclient_req_attach(const char *token, const char *sid, const char *term, const char *shell);

/* {"op":"attach","token","sid","cmd"}, sent with the fds {stdin, stdout,
 * stderr}: a session without a terminal. The reply carries the command's
 * three pipe ends; "drained" follows on the connection at the end. */
struct json_object *protoclient_req_command(const char *token, const char *sid, const char *cmd);

/* {"op":"close","sid","kind"} (uid 0): kind, may be NULL, is the word
 * session_unattached carries when the session never attached. -> state */
struct json_object *protoclient_req_close(const char *sid, const char *kind);

/* {"op":"list","offset"} (uid 0): one page of the live sessions, from the
 * offset-th on (0: the first page, no "offset" sent) -> sessions, resumed,
 * total (live sessions in all), next (the offset of the next page; absent
 * on the last). A reply is one message (PROTO_MSG_MAX), hence the pages. */
struct json_object *protoclient_req_list(int64_t offset);

/* The kernel's audit session id of this process (/proc/self/sessionid), or
 * -1 when it has none (unset, unreadable). */
long long protoclient_sessionid(void);
