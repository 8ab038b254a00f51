/* attach: the attach op. The token names the session and is spent at once;
 * auth.c judges the peer; then the session relays (a tty), notes a non-tty
 * command, or, in dry-run mode, only says yes. It returns the reply and
 * leaves sending it to ops, so it depends on nothing above the session. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct daemon;

/* Handles an attach request of peer. fds[0..nfds) stay the caller's but
 * for those taken (set to -1). Returns the reply (NULL: out of memory);
 * *close_after says whether the connection ends with it (a refusal, with
 * an attach_refused event emitted). */
struct json_object *attach_handle(struct daemon *d, const struct ucred *peer, struct json_object *req, int *fds,
				  size_t nfds, bool *close_after);
