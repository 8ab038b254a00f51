/* Fuzz target for common/shardread and common/termtext: each line of the
 * input goes through every reader; whatever a fast path accepts, json-c
 * must accept with the same sid, kind, time, ESC stand-in and bytes, and
 * the members of header and end lines (read fast, or from json-c's object)
 * agree with json-c's object. The whole input is then fed to the text converter (output and input modes, split where its
 * first byte says): every line it gives is valid UTF-8 without newlines or
 * control characters but TAB, and no longer than TERMTEXT_LINE_MAX. */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shardline.h"
#include "shardread.h"
#include "shardx1b.h"
#include "termtext.h"
#include "utf8.h"
#include "fuzzutil.h"

static void member_agrees(struct json_object *line, const struct shardread_member *m)
{
	char obj[256], key[256], *buf;
	struct json_object *o, *v;

	if (m->depth != 1 || m->obj_len >= sizeof(obj) || m->key_len >= sizeof(key))
		return;
	memcpy(obj, m->obj, m->obj_len);
	obj[m->obj_len] = 0;
	memcpy(key, m->key, m->key_len);
	key[m->key_len] = 0;
	REQUIRE(json_object_object_get_ex(line, obj, &o));
	REQUIRE(json_object_object_get_ex(o, key, &v));
	if (m->type == 'n') {
		REQUIRE(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double));
		REQUIRE(m->num == json_object_get_double(v) || (isnan(m->num) && isnan(json_object_get_double(v))));
	} else if (m->type == 's') {
		ssize_t n;

		buf = malloc(m->val_len + 1);
		n = shardread_member_str(m, buf, m->val_len);
		REQUIRE(n >= 0 && json_object_is_type(v, json_type_string));
		REQUIRE(n == json_object_get_string_len(v) && memcmp(buf, json_object_get_string(v), (size_t)n) == 0);
		free(buf);
	} else if (m->type == 'b') {
		REQUIRE(json_object_is_type(v, json_type_boolean));
	} else if (m->type == 'z') {
		REQUIRE(json_object_is_type(v, json_type_null));
	} else if (m->type == 'o') {
		REQUIRE(json_object_is_type(v, json_type_object));
	}
}

static void one_line(const char *line, size_t len)
{
	struct shardread_line fast, slow, peek, dec;
	struct shardread_member m[SHARDREAD_MEMBERS_MAX];
	size_t n, cap = SHARDREAD_DECODE_MAX(len);
	uint8_t *a = malloc(cap), *b = malloc(cap);
	int rs = shardread_parse(line, len, &slow), rf = shardread_event(line, len, &fast);
	int rm = shardread_members(line, len, &peek, m, &n);

	if (rf == 0) {
		REQUIRE(rs == 0 && slow.kind == SHARDREAD_EVENT && fast.kind == SHARDREAD_EVENT);
		REQUIRE(fast.sid_len == slow.sid_len && memcmp(fast.sid, slow.sid, slow.sid_len) == 0);
		REQUIRE(fast.t == slow.t && fast.ch == slow.ch && fast.x1b == slow.x1b);
		ssize_t x = shardread_bytes(&fast, a, cap), y = shardread_bytes(&slow, b, cap);

		REQUIRE(x == y && (x < 0 || memcmp(a, b, (size_t)x) == 0));
		x = shardread_text(&fast, a, cap);
		y = shardread_text(&slow, b, cap);
		REQUIRE(x == y && x >= 0 && memcmp(a, b, (size_t)x) == 0);
		REQUIRE(!fast.d_utf8 || utf8_valid_len(a, (size_t)x) == (size_t)x);
		/* the stand-in never survives into what readers get */
		REQUIRE(!fast.x1b || !memmem(a, (size_t)x, SHARDX1B_CHAR, SHARDX1B_CHAR_LEN));
		x = shardread_event_decode(line, len, &dec, a, cap, false);
		REQUIRE(x == y && memcmp(a, b, (size_t)x) == 0);
		x = shardread_event_decode(line, len, &dec, a, cap, true);
		y = shardread_bytes(&slow, b, cap);
		REQUIRE(x == y && (x < 0 || memcmp(a, b, (size_t)x) == 0));
	} else {
		REQUIRE(shardread_event_decode(line, len, &dec, a, cap, true) < 0);
	}
	if (rs == 0 && (slow.kind == SHARDREAD_HDR || slow.kind == SHARDREAD_END)) {
		/* the json-c reading of the same members: agrees with the object */
		size_t no, mcap = 4096;
		struct shardread_member *mo = malloc(mcap * sizeof(*mo));

		if (shardread_obj_members(slow.obj, mo, mcap, &no) == 0)
			for (size_t k = 0; k < no; k++)
				member_agrees(slow.obj, &mo[k]);
		free(mo);
	}
	if (rm == 0) {
		REQUIRE(rs == 0 && peek.kind == slow.kind);
		REQUIRE(peek.sid_len == slow.sid_len && memcmp(peek.sid, slow.sid, slow.sid_len) == 0);
		for (size_t k = 0; k < n; k++) {
			bool last = true;

			for (size_t j = k + 1; j < n && last; j++)
				last = !(m[j].depth == m[k].depth && m[j].obj == m[k].obj &&
					 m[j].key_len == m[k].key_len && memcmp(m[j].key, m[k].key, m[k].key_len) == 0);
			if (last)
				member_agrees(slow.obj, &m[k]);
		}
	}
	if (shardread_peek(line, len, &peek) == 0 && peek.kind == SHARDREAD_TRUNC)
		REQUIRE(rs == 0 && slow.kind == SHARDREAD_TRUNC);
	if (rs == 0 && slow.kind == SHARDREAD_EVENT) {
		shardread_bytes(&slow, a, cap);
		shardread_text(&slow, a, cap);
	}
	if (rs == 0 && slow.kind == SHARDREAD_ESC) {
		/* escrow lines: the sealed bytes never overrun the reader's buffer */
		uint8_t sealed[SHARD_ESCROW_SEALED_MAX];
		bool more;
		ssize_t k = shardread_escrow(&slow, sealed, sizeof(sealed), &more);

		REQUIRE(k == -EBADMSG || (k >= 0 && (size_t)k <= sizeof(sealed)));
	}
	shardread_release(&slow);
	free(a);
	free(b);
}

static int line_cb(void *userdata, double t, const char *line, size_t len)
{
	(void)userdata;
	(void)t;
	REQUIRE(len <= TERMTEXT_LINE_MAX);
	REQUIRE(utf8_valid_len((const uint8_t *)line, len) == len);
	for (size_t i = 0; i < len; i++)
		REQUIRE((uint8_t)line[i] >= 0x20 || line[i] == '\t');
	REQUIRE(!len || (line[len - 1] != ' ' && line[len - 1] != '\t'));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct termtext tt;
	const char *p = (const char *)data, *end = p + size;
	size_t split = size ? data[0] + 1u : 1;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		char *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */

		memcpy(copy, p, len);
		one_line(copy, len);
		free(copy);
		p += len + 1;
	}
	for (int input = 0; input < 2; input++) {
		termtext_init(&tt, input, line_cb, NULL);
		for (size_t off = 0; off < size; off += split)
			termtext_feed(&tt, (double)off, data + off, size - off < split ? size - off : split);
		termtext_finish(&tt);
	}
	return 0;
}
