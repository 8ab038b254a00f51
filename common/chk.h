/* chk: the checkpoint member of shard lines (sessrec-shards(5),
 * "Chains and checkpoints"): its one encoder and its strict parser, used
 * by the daemon's writer and by sessrecctl verify. Convention: lengths or
 * -errno; no logging, no global state. */
#pragma once
#include <stddef.h>

#include "chkseal.h"

#define CHK_MEMBER_MAX 256 /* ,"chk":{...} at its longest */

/* The checkpoint object {"n":N,"h":"HEX","seal":"HEX","epoch":E,"time":T}
 * (without seal and epoch when not sealed). Length or -ENOSPC. */
int chk_format_obj(char *out, size_t cap, const struct chk *c);

/* A checkpoint line {"sid":"S","chk":{...}} with its newline. Length or
 * -ENOSPC. */
int chk_format_line(char *out, size_t cap, const char *sid, const struct chk *c);

/* line (len bytes, no newline) with ,"chk":{...} put before its last '}'
 * (the end line) and a newline, into out. Length, -EINVAL (no final '}'),
 * -ENOSPC. */
int chk_append(char *out, size_t cap, const char *line, size_t len, const struct chk *c);

/* Parses a checkpoint object exactly in the encoder's layout (members in
 * that order, no white space, lower-case hex, plain integers). 0 or
 * -EBADMSG. */
int chk_parse_obj(const char *obj, size_t len, struct chk *c);

/* For a checkpoint line {"sid":"S","chk":{...}} (no newline): 0 with the
 * object in *obj, *olen; -ENOENT for any other line. */
int chk_line_obj(const char *line, size_t len, const char **obj, size_t *olen);
