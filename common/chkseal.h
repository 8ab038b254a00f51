/* chkseal: the arithmetic of hash chains and forward-secure seals (format:
 * sessrec-shards(5), "Chains and checkpoints"): h_0 from the sid, one chain
 * step per line, the seal of a checkpoint, the key's evolution, and the
 * sealing and verification key texts. Every primitive is libsodium's.
 * Convention: 0 or -errno; no logging, no global state. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHK_HASH_LEN 32
#define CHK_HEX_LEN 64
#define CHK_KEY_TEXT_MAX 256 /* a key file's or verification key's text */

/* One checkpoint: after n lines of the session the chain is h; sealed
 * under the key of epoch at wall-clock second time. */
struct chk {
	uint64_t n;
	uint8_t h[CHK_HASH_LEN];
	bool sealed;
	uint8_t seal[CHK_HASH_LEN];
	uint64_t epoch;
	int64_t time; /* Unix seconds */
};

/* A sealing key: k_epoch of the chain of keys that began at start (Unix
 * seconds) and evolves every len seconds. */
struct chk_key {
	uint8_t k[CHK_HASH_LEN];
	uint64_t epoch;
	int64_t start;
	uint32_t len;
};

/* libsodium's sodium_init; 0 or -EIO. */
int chk_init(void);

/* h = SHA256("sessrec-chain-v1" || sid). */
void chk_h0(const char *sid, uint8_t h[CHK_HASH_LEN]);

/* h = SHA256(h || line[0..len)): one line, as sessrec-shards(5) says which
 * bytes of it (chk_line_input). */
void chk_step(uint8_t h[CHK_HASH_LEN], const char *line, size_t len);

/* The bytes of a stored line (without its newline) that the chain hashes:
 * the whole line, but an end line carrying a "chk" member is hashed without
 * it (its checkpoint covers the end line itself). The cut-down end line is
 * written to buf (cap >= len). Sets *in, *inlen; returns whether the line
 * carried a trailing chk member (then *chk_obj, *chk_len: its object). */
bool chk_line_input(const char *line, size_t len, char *buf, size_t cap, const char **in, size_t *inlen,
		    const char **chk_obj, size_t *chk_len);

/* c->seal = HMAC-SHA256(k, "sessrec-seal-v1 SID N HEX(h) EPOCH TIME"). */
void chk_seal(const struct chk_key *k, const char *sid, struct chk *c);
/* Whether c->seal is the seal of c under k (constant time). */
bool chk_seal_ok(const struct chk_key *k, const char *sid, const struct chk *c);

/* k_{e+1} = HMAC-SHA256(k_e, "sessrec-evolve"); the old key is wiped. */
void chk_key_evolve(struct chk_key *k);
/* Evolves k up to epoch (never back: -ESTALE when k is past it). */
int chk_key_to(struct chk_key *k, uint64_t epoch);
/* The epoch of Unix second t under k (0 before its start). */
uint64_t chk_key_epoch_at(const struct chk_key *k, int64_t t);

/* The key file: "sessrec-seal-key v1 START LEN EPOCH HEX\n". Length or
 * -ENOSPC; parse: 0 or -EINVAL. */
int chk_key_format(char *out, size_t cap, const struct chk_key *k);
int chk_key_parse(const char *text, size_t len, struct chk_key *k);
/* The verification key (k_0): "HEX/START/LEN". Length or -ENOSPC; parse
 * (surrounding white space allowed): 0 or -EINVAL. */
int chk_vkey_format(char *out, size_t cap, const struct chk_key *k0);
int chk_vkey_parse(const char *text, size_t len, struct chk_key *k0);

/* Writes k to path: create, a new file (O_EXCL, mode 0600); else the
 * existing file rewritten in place. 0 or -errno. */
int chk_key_save(const char *path, const struct chk_key *k, bool create);
/* Reads the key file at path: -EPERM unless a regular file of root's, mode
 * 0600 or stricter, one link; -EINVAL when it is no key file. */
int chk_key_load(const char *path, struct chk_key *k);

/* Lower-case hex of 32 bytes into out[65]; back: 0 or -EINVAL. */
void chk_hex(char out[CHK_HEX_LEN + 1], const uint8_t b[CHK_HASH_LEN]);
int chk_unhex(const char *hex, size_t len, uint8_t b[CHK_HASH_LEN]);
