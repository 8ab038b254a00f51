/* sshdlog: the one parser of sshd's own log lines about authentication
 * (what sessrecd follows in the journal, _COMM=sshd): failures and
 * successes with their method and key, invalid users, and disconnects
 * before authentication. The user name is the client's choice: sshd
 * escapes it (strnvis: \\n, \\033, \\\\) and this undoes that, so the
 * name is the one typed, every byte but NUL; callers escape it wherever
 * they print it. Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

enum sshdlog_kind {
	SSHDLOG_FAILED = 1, /* Failed METHOD for [invalid user ]U from IP port P ssh2[: TYPE FP] */
	SSHDLOG_ACCEPTED,   /* Accepted METHOD for U from IP port P ssh2[: TYPE FP] */
	SSHDLOG_INVALID,    /* Invalid user U from IP port P */
	SSHDLOG_CLOSED,     /* Connection closed by / Disconnected from / Connection reset by
			     * (authenticating|invalid) user U IP port P [preauth] */
};

struct sshdlog {
	enum sshdlog_kind kind;
	bool invalid_user;
	char method[48]; /* FAILED, ACCEPTED: password, publickey, keyboard-interactive/pam, none... */
	char user[512];  /* decoded */
	char src_ip[64];
	int src_port;
	char key_type[32]; /* "ED25519", empty without a key */
	char key_fp[64];   /* "SHA256:...", empty without a key */
};

/* Parses one MESSAGE of sshd (msg[0..n)). 0 with l filled; -ENOENT for a
 * line that is none of the above; -EINVAL for one that starts like them
 * but does not hold together. */
int sshdlog_parse(const char *msg, size_t n, struct sshdlog *l);
