/* server: the listening socket (our own or systemd's via socket
 * activation), accepting with SO_PEERCRED taken before any state exists,
 * per-connection state with hard caps, replies, idle timeouts and the EMFILE
 * backoff. Convention: 0 or -errno. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct daemon;
struct conn;
struct session;

/* Watches the listening socket: the one handed over (systemd's
 * LISTEN_FDS or the previous daemon's, taken by handoff_exec_collect into
 * d->listen_fd), or else d->cfg's, created: parent directory 0755, a stale
 * socket replaced, mode 0666. */
int server_listen(struct daemon *d, char *err, size_t errlen);

/* Closes every connection and the listener (unlinking our own socket). */
void server_close(struct daemon *d);

/* Makes fd (a connected SOCK_SEQPACKET socket whose peer is cred) a
 * connection of the daemon; the fuzz harness uses it directly. The fd is
 * taken: closed on failure (-EMFILE over the caps, -ENOMEM). */
int server_conn_install(struct daemon *d, int fd, const struct ucred *cred);

/* Sends reply (and puts it) without blocking; the connection is closed
 * after it when close_after, or when it cannot be sent. */
void server_reply(struct daemon *d, struct conn *c, struct json_object *reply, bool close_after);

/* server_reply with fds carried by the reply (SCM_RIGHTS): they are the
 * caller's copies and closed here once sent (or not). Whether the
 * connection is still there. */
bool server_reply_fds(struct daemon *d, struct conn *c, struct json_object *reply, int *fds, size_t nfds,
		      bool close_after);

/* The attach connection c waits for the end of s: once its end line is
 * written c gets {"op":"drained","sid":S,"status":"recorded"} and is
 * closed; meanwhile only its hangup is watched, and it counts against no
 * per-uid cap (its session does). */
void server_wait_drained(struct daemon *d, struct conn *c, struct session *s);

/* {"ok":false,"error":msg}, then the connection is closed. */
void server_reply_error(struct daemon *d, struct conn *c, const char *msg);

/* The deferred reply to close: {"ok":true,"sid":sid,"state":state}. */
void server_reply_close(struct daemon *d, struct conn *c, const char *sid, const char *state);

/* The peer credentials taken at accept. */
const struct ucred *server_conn_peer(const struct conn *c);

/* The close request of c is answered when s ended (server_reply_close
 * with "recorded"); meanwhile only the connection's hangup is watched.
 * -EBUSY when a close of s is waiting already (nothing changed). */
int server_wait_close(struct daemon *d, struct conn *c, struct session *s);

void server_conn_destroy(struct daemon *d, struct conn *c);

/* Idle connections and the accept backoff. */
void server_tick(struct daemon *d, int64_t now);
