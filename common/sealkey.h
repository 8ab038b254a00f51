/* sealkey: the escrow key files (an X25519 key of 32 bytes, written as one
 * line of base64 or of hex: sessrecd.conf(5), EscrowPublicKey=), read by
 * sessrecd (the public key) and sessrecctl (the private key), written by
 * `sessrecctl escrow-keygen`. No cryptography here: libsodium does that in
 * the daemon and the CLI. Convention: 0 or -errno. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define SEALKEY_BYTES 32
#define SEALKEY_TEXT_MAX 128 /* a key file is one short line */

/* The key in text (n bytes): 44 characters of padded base64 or 64 hex
 * digits, surrounding blanks and one trailing newline allowed. 0 with the
 * key in out, or -EINVAL. */
int sealkey_parse(const char *text, size_t n, uint8_t out[SEALKEY_BYTES]);

/* The key as the files hold it: base64, newline, NUL; out holds at least
 * 46 bytes. */
void sealkey_format(const uint8_t key[SEALKEY_BYTES], char out[46]);

/* Opens path (O_NOFOLLOW), reads and parses it; *st gets its fstat for
 * the caller's owner and mode checks. -ELOOP for a symbolic link, -EPERM
 * for anything but a regular file (not read), -EINVAL when it holds no
 * key, -EFBIG when it is too long for one, else -errno. */
int sealkey_read(const char *path, uint8_t out[SEALKEY_BYTES], struct stat *st);
