/* shardtail: what one session's lines hold past an offset of its shard (a
 * resume learns how far the recording got before a kill -9: relay.c,
 * docs/architecture.md "Restarts"). Read with the one shard-line scanner;
 * a last line without its newline is no line. Convention: 0 or -errno. */
#pragma once
#include <stdint.h>

#define SHARDTAIL_MAX (256u << 20) /* a longer tail is not read (-EFBIG) */

/* *n: the bytes of the ch events of session sid in the lines of fd (a shard
 * opened for reading) from offset off to its end. -ESTALE when the file is
 * shorter than off. */
int shardtail_bytes(int fd, uint64_t off, const char *sid, char ch, uint64_t *n);
