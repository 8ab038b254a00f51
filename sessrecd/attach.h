/* attach: the attach op. The token names the session and is spent at once;
 * auth.c judges the peer; then the session relays (a tty), relays a
 * command's pipes (no tty: 3 fds, stdin stdout stderr, and 3 back) once
 * NoTtyCommands= allows it, or, in dry-run mode, only says yes. It returns the reply and
 * leaves sending it to ops, so it depends on nothing above the session. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct daemon;
struct session;

#define ATTACH_REPLY_FDS 3

/* What an attach leaves to its connection besides the reply. */
struct attach_result {
	bool close_after;             /* the connection ends with the reply (a refusal) */
	int fds[ATTACH_REPLY_FDS];    /* fds the reply carries (the daemon's copies: closed once sent) */
	size_t nfds;
	struct session *drain;        /* the connection then waits for its end ("drained") */
};

/* Handles an attach request of peer. fds[0..nfds) stay the caller's but
 * for those taken (set to -1). Returns the reply (NULL: out of memory) and
 * fills *res; a refusal has an attach_refused (or, for a command
 * NoTtyCommands= does not allow, session_refused) event emitted. */
struct json_object *attach_handle(struct daemon *d, const struct ucred *peer, struct json_object *req, int *fds,
				  size_t nfds, struct attach_result *res);
