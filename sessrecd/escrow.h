/* escrow: input withheld as a secret (echo off), sealed to the operator's
 * public key (EscrowPublicKey=, libsodium sealed boxes) and recorded as
 * "esc" lines in the session's shard instead of being dropped
 * (sessrec-shards(5), "Escrow"; sessrecd(8), "Withheld input"). Only the
 * holder of the private key reads them back (`sessrecctl reveal`); the
 * daemon cannot. Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealkey.h"

struct recording;

/* The key file at path, checked like the shard directory: a regular file
 * (not a symbolic link) owned by root, not group/other-writable, in a
 * trusted directory (shardtrust_dir). Empty path: escrow off, *on false,
 * 0. Else 0 with the key in pk and *on true, or -errno with one line in
 * why (the caller refuses the configuration). */
int escrow_load(const char *path, uint8_t pk[SEALKEY_BYTES], bool *on, char *why, size_t whylen);

/* n more withheld bytes of rec's current line; a full piece
 * (SHARD_ESCROW_PIECE) is sealed and queued at once with "more". Nothing
 * when escrow is off or the session is not recorded. */
void escrow_add(struct recording *rec, const uint8_t *p, size_t n);

/* The withheld line ends: what is left of it is sealed and queued (the
 * last piece, no "more"), and the plain text wiped. */
void escrow_flush(struct recording *rec);

/* Wipes and frees what rec holds unsealed (the session is going). */
void escrow_drop(struct recording *rec);
