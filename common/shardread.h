/* shardread: the one parser of day-shard lines (format: sessrec-shards(5)), the
 * reading side of shardline.h. A fast path reads lines in the writer's exact
 * layout without a JSON parser (what makes `sessrecctl list` fast); anything
 * else goes through json-c. Both accept the same lines and agree on every
 * field (tests/unit/test_shardread.c checks it on hostile lines too).
 * Readers of shards do not call these directly: shardscan.h is the entry
 * point that picks the path.
 * Convention: 0 or -errno; no logging, no global state. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SHARDREAD_SID_MAX 64         /* longest sid accepted ([0-9A-Za-z._-]) */
#define SHARDREAD_LINE_MAX (1 << 20) /* longer lines are corrupt (writer: < 4096) */

enum shardread_kind {
	SHARDREAD_HDR = 1, /* {"sid","hdr":{asciicast v2 header},"meta":{...}} */
	SHARDREAD_EVENT,   /* {"sid","t","ch"[,"x1b"],"d"[,"raw"]} */
	SHARDREAD_TRUNC,   /* {"sid","trunc":true} */
	SHARDREAD_END,     /* {"sid","end":{...}} */
	SHARDREAD_EXEC,    /* {"sid","t","exec":{...}} */
	SHARDREAD_EXIT,    /* {"sid","t","exit":{...}} */
	SHARDREAD_OTHER,   /* a JSON object with a sid and nothing known: skipped */
	SHARDREAD_ESC,     /* {"sid","t","esc":"BASE64"[,"more":true]}: escrowed input */
	SHARDREAD_DENY,    /* {"sid","t","deny":{...}}: a kernel denial (issue 13) */
};

/* One line, as far as it was read. Pointers point into the line or into obj
 * and live as long as both. */
struct shardread_line {
	enum shardread_kind kind;
	const char *sid;
	size_t sid_len;
	double t; /* EVENT, EXEC, EXIT, DENY */
	char ch;  /* EVENT: 'o', 'i', 'r', 'm' or another byte */
	/* EVENT payload: either the JSON-escaped body of "d" exactly as written
	 * (fast path, d_json != NULL) or its decoded bytes (json-c path). */
	const char *d_json;
	const char *d;
	size_t d_len;
	bool d_utf8;     /* fast path: d_json decodes to valid UTF-8 */
	bool x1b;        /* "x1b":"\u241b": every U+241B of d stands for ESC
			  * (d_json and d as written; the decoders restore it) */
	const char *raw; /* base64 text of "raw", or NULL */
	size_t raw_len;
	const char *t_text; /* fast path: the number as written, for verbatim copies */
	size_t t_text_len;
	struct json_object *obj; /* json-c path: the whole line; see shardread_release */
};

/* Fast peek at a line (without its '\n'): sid, kind, and for t-lines t and
 * ch. Only the writer's layout is recognised: {"sid":"S","KEY"...}; the line
 * must end in '}'. Returns 0, or -EAGAIN when the layout is not the writer's
 * (then use shardread_parse). kind is final for TRUNC; EVENT lines are fully
 * checked by shardread_event, other kinds need shardread_parse for content.
 * Sets no pointer that needs releasing. */
int shardread_peek(const char *line, size_t len, struct shardread_line *l);

/* Fast full read of an EVENT line in the writer's layout
 * {"sid":"S","t":N,"ch":"C",["x1b":"\u241b",]"d":"..."[,"raw":"..."]}:
 * checks all of it.
 * Returns 0 (d_json, raw, t_text set), or -EAGAIN when the line is anything
 * else, or unusual (exponents, surrogate escapes, raw control characters):
 * then shardread_parse decides. */
int shardread_event(const char *line, size_t len, struct shardread_line *l);

/* shardread_event and the decoding of its bytes in one pass, for readers
 * of every event: the exact bytes (raw: "raw" when present, else "d") or
 * the text of "d" (raw false) into out, cap >= SHARDREAD_DECODE_MAX(len).
 * Returns the byte count, -EAGAIN (then shardread_parse and
 * shardread_bytes / shardread_text), or -EBADMSG (bad base64). */
ssize_t shardread_event_decode(const char *line, size_t len, struct shardread_line *l, uint8_t *out, size_t cap,
			       bool raw);

/* Full parse with json-c (strict). Returns 0 with l->obj holding the line
 * (release with shardread_release), or -EBADMSG when it is not a shard line:
 * not one JSON object, no valid "sid", or a known kind with a field of the
 * wrong type. */
int shardread_parse(const char *line, size_t len, struct shardread_line *l);

/* A member of an object inside a header or end line ("hdr", "meta", "env",
 * "end"), pointing into the line (shardread_members) or into its json-c
 * object (shardread_obj_members). */
struct shardread_member {
	const char *obj; /* the key the enclosing object sits under */
	size_t obj_len;
	const char *key; /* the line: never holds a backslash */
	size_t key_len;
	const char *val; /* 's': the JSON-escaped body (plain: the bytes);
				  'n': the number as written; 'b': true or false;
				  'z': null; 'o' (object), 'a' (array, json-c only): "" */
	size_t val_len;
	double num; /* 'n': its value */
	char type;
	bool plain; /* val holds decoded bytes (from json-c) */
	int depth;  /* 1: a member of a top-level object, 2: deeper */
};

#define SHARDREAD_MEMBERS_MAX 64

/* Fast full read of a HDR or END line in the writer's layout: no
 * whitespace, no arrays, plain numbers, no escaped keys, no top-level key
 * twice, objects at most three deep. Fills l (kind, sid) and m[0..*n) with
 * the members of the objects in the line, in order (a key repeated inside
 * an object: the last one counts, as in json-c). Returns 0, or -EAGAIN for
 * any other line: then shardread_parse decides. */
int shardread_members(const char *line, size_t len, struct shardread_line *l, struct shardread_member *m, size_t *n);

/* The same members from the line as json-c parsed it (shardread_parse), for
 * lines the fast path gives up on: one reading of header and end lines
 * whatever their layout. Members of objects deeper than depth 2 are left
 * out. Returns 0, or -ENOSPC when more than cap members (*n: how many). */
int shardread_obj_members(struct json_object *line, struct shardread_member *m, size_t cap, size_t *n);

/* The bytes of a string member ('s') into out (cap >= m->val_len), no NUL
 * added. Returns the length or -EBADMSG. */
ssize_t shardread_member_str(const struct shardread_member *m, char *out, size_t cap);

/* An ESC line parsed whole (l->obj): the sealed bytes of "esc" into out
 * (cap bytes), *more from "more". Returns the length, or -EBADMSG when
 * "esc" is no base64 or does not fit in cap. */
ssize_t shardread_escrow(const struct shardread_line *l, uint8_t *out, size_t cap, bool *more);

/* Puts l->obj, if any. */
void shardread_release(struct shardread_line *l);

/* The exact bytes an EVENT stands for: "raw" decoded when present, else the
 * bytes of "d". out must hold SHARDREAD_DECODE_MAX(line length) bytes.
 * Returns the byte count or -EBADMSG (bad base64 or escape). */
ssize_t shardread_bytes(const struct shardread_line *l, uint8_t *out, size_t cap);

/* The bytes of "d" only (valid UTF-8 text from the writer; U+FFFD where the
 * output was not), for text views. Same buffer rule and returns. */
ssize_t shardread_text(const struct shardread_line *l, uint8_t *out, size_t cap);

#define SHARDREAD_DECODE_MAX(linelen) ((linelen) + 16)

/* Sid syntax shared by both paths: 1..SHARDREAD_SID_MAX of [0-9A-Za-z._-]. */
bool shardread_sid_valid(const char *s, size_t n);
