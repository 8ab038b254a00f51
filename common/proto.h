/* proto: the wire protocol between sessrecd and its clients (sessrecd(8),
 * "Requests and trust"): one json-c object per SOCK_SEQPACKET message, at
 * most PROTO_MSG_MAX bytes, fds via fdpass. Convention: 0 or -errno.
 *
 * Requests ("op") and their fields; every request gets one reply,
 * {"ok":true,...} or {"ok":false,"error":"one clear line"}:
 *   ping                                    -> version, pid
 *   open   (uid 0) user uid service proto rhost rport tty pid sessionid auth
 *          input(bool) dry_run(bool) cmd    -> sid, token
 *          refused for disk pressure with "skipped":"disk_pressure"
 *   attach token sid term shell, fds [outer tty, inner pty master]  -> sid
 *          or token sid cmd, fds [stdin, stdout, stderr] (a command without
 *          a tty) -> sid, fds [its stdin, stdout, stderr pipe ends]; then,
 *          on the same connection at its end, {"op":"drained","sid",
 *          "status":"recorded"}; refused by NoTtyCommands= with
 *          "refused":"policy"
 *   close  (uid 0) sid kind -> state: recorded|unattached|dry_run|gone, sent
 *          once the session's output is drained and its end line written
 *   list   (uid 0)      -> sessions: [{sid user uid service tty pid start
 *          state bytes_in bytes_out}], resumed
 */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_MSG_MAX 4096
#define PROTO_DEFAULT_SOCKET "/run/sessrec/sessrecd.sock"
#define PROTO_TOKEN_LEN 43 /* 32 random bytes, base64url without padding */

/* The client side: proto_connect and the one protoclient_call
 * with its request builders. */
#include "protoclient.h"

/* Serialises msg and sends it with nfds fds. -EMSGSIZE if it exceeds PROTO_MSG_MAX. */
int proto_send(int sock, struct json_object *msg, const int *fds, size_t nfds);

/* The same with send flags: MSG_DONTWAIT (-EAGAIN when the peer's queue is
 * full) for a daemon that must not block on a slow client. */
int proto_send_flags(int sock, struct json_object *msg, const int *fds, size_t nfds, int flags);

/* Parses one received message body of n bytes (the checks proto_recv makes:
 * no NUL, strict JSON, valid UTF-8, depth <= 16, nothing after the value, an
 * object with an "op" string or an "ok" bool). 0 with *msg set, -EBADMSG,
 * or -EMSGSIZE when n > PROTO_MSG_MAX. */
int proto_parse(const char *buf, size_t n, struct json_object **msg);

/* Receives one message. On success *msg is a JSON object (caller puts it) and
 * fds[0..*nfds) are open CLOEXEC fds the caller owns. Returns 0, -ECONNRESET
 * when the peer closed, -EAGAIN (with MSG_DONTWAIT), -EMSGSIZE (oversized),
 * -EBADMSG (not a JSON object, no "op"/"ok" string or bool, truncated control
 * data); on error no fd is left open and *msg is NULL. */
int proto_recv(int sock, struct json_object **msg, int *fds, size_t maxfds, size_t *nfds, int flags);

/* Field access that never trusts the peer: NULL / -EINVAL when absent or of
 * the wrong type (a string with an embedded NUL counts as wrong). */
const char *proto_str(struct json_object *o, const char *key);
int proto_int(struct json_object *o, const char *key, int64_t *out);
/* proto_int within [min, max]; a value json-c had to clamp is refused. */
int proto_int_range(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *out);
/* A non-negative integer up to UINT64_MAX (json-c keeps big ones unsigned). */
int proto_u64(struct json_object *o, const char *key, uint64_t *out);
int proto_bool(struct json_object *o, const char *key, bool *out);

/* {"ok":false,"error":msg} and {"ok":true}; caller puts them. NULL when
 * memory ran out. */
struct json_object *proto_reply_error(const char *msg);
struct json_object *proto_reply_ok(void);
