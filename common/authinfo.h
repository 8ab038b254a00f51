/* authinfo: what sshd's SSH_AUTH_INFO_0 says about a login, reduced to the
 * method, the key type and the key's SHA256 fingerprint (the form
 * `ssh-keygen -l` prints), never the key itself. Convention: 0 / length or
 * -errno. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define AUTHINFO_FP_MAX 64 /* "SHA256:" + 43 characters, and the NUL */

struct authinfo {
	char method[96];              /* "publickey", "password", "publickey,password" (each step, in order) */
	char key_type[64];            /* "ssh-ed25519", empty without a key */
	char key_fp[AUTHINFO_FP_MAX]; /* "SHA256:...", empty without a key */
};

/* Parses SSH_AUTH_INFO_0 (info[0..n), one "METHOD [DETAILS]" line per
 * authentication step): the methods joined with ",", and the key of the
 * first publickey/hostbased step with its fingerprint. 0, or -EINVAL when
 * no line names a method (a method name is [a-z0-9@./-]+ and the key must
 * be valid base64); ai is then empty. */
int authinfo_parse(const char *info, size_t n, struct authinfo *ai);

/* "SHA256:" + base64 without padding of SHA-256 over blob (the
 * `ssh-keygen -l` form) into out; its length or -ENOSPC. */
int authinfo_fingerprint(const uint8_t *blob, size_t n, char *out, size_t cap);

/* "publickey ssh-ed25519 SHA256:..." or "password": the meta "auth" value.
 * Its length or -ENOSPC; "" for an empty ai. */
int authinfo_summary(const struct authinfo *ai, char *out, size_t cap);
