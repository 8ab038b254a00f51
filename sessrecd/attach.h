/* attach: the attach op. The token names the session and is spent at once;
 * auth.c judges the peer; then the session relays (a tty), notes a non-tty
 * command, or, in dry-run mode, only says yes. It returns the reply and
 * leaves sending it to ops, so it depends on nothing above the session;
 * the connection then waits for the session's "drained" (server.c). */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct daemon;
struct session;

/* What a tty attach hands back besides the reply. */
struct attach_out {
	int slave;                /* the inner pty's slave for the reply (SCM_RIGHTS), -1: none; the caller closes it */
	struct session *relaying; /* the session now relaying: the connection waits for its "drained" */
};

/* Handles an attach request of peer. fds[0..nfds) stay the caller's (a
 * tty attach sends one: the terminal, which the daemon takes and hangs
 * up). Two fds (a pty master the peer made) are refused. Returns the reply
 * (NULL: out of memory) and fills *out; *close_after says whether the
 * connection ends with it (a refusal, with an attach_refused event
 * emitted). */
struct json_object *attach_handle(struct daemon *d, const struct ucred *peer, struct json_object *req, int *fds,
				  size_t nfds, struct attach_out *out, bool *close_after);

/* The one sender of {"op":"drained","sid":sid,"status":status} on an
 * attach's connection sock (status "recorded": every byte of the session's
 * output was written to the terminal and the terminal given back; the
 * attaching process may exit now). Never blocks. 0 or -errno. */
int attach_send_drained(int sock, const char *sid, const char *status);
