/* ops: the request table (ping, open, attach, close, list), as OpenSSH's
 * monitor has one: who may send each op and how many fds it takes; the
 * handlers. Unknown ops, wrong fd counts and refusals get one error line
 * and the connection is closed. */
#pragma once
#include <json-c/json.h>
#include <stddef.h>

struct daemon;
struct conn;

/* Handles one request of c. fds[0..nfds) are owned here: those an op does
 * not take are closed. The connection may be gone afterwards. */
void ops_dispatch(struct daemon *d, struct conn *c, struct json_object *msg, int *fds, size_t nfds);
