/* Unit tests for common/shardread (the fast paths against json-c on a table
 * of lines, hostile ones included; decoding, "raw" winning over "d") and
 * common/termtext (the terminal text converter, tables of streams). */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shardline.h"
#include "shardread.h"
#include "shardscan.h"
#include "termtext.h"
#include "testutil.h"

#define SID "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define P "{\"sid\":\"" SID "\","

enum { FAST = 1, SLOW = 2, BAD = 3 }; /* read by the fast path, by json-c only, by neither */

struct row {
	const char *line;
	int how;
	enum shardread_kind kind;
};

/* clang-format off */
static const struct row rows[] = {
	/* the writer's layout: fast */
	{ P "\"t\":0.512345,\"ch\":\"o\",\"d\":\"text\"}", FAST, SHARDREAD_EVENT },
	{ P "\"t\":0.000000,\"ch\":\"i\",\"d\":\"\"}", FAST, SHARDREAD_EVENT },
	{ P "\"t\":12.5,\"ch\":\"o\",\"d\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}", FAST, SHARDREAD_EVENT },
	{ P "\"t\":1.000000,\"ch\":\"o\",\"d\":\"\\u001b[1;32mg\\u001b[0m\\r\\n\\t\\\"q\\\"\\\\\\/\\b\\f\"}", FAST, SHARDREAD_EVENT },
	{ P "\"t\":1.000000,\"ch\":\"o\",\"d\":\"a\\ufffdb\",\"raw\":\"Yf9i\"}", FAST, SHARDREAD_EVENT },
	{ P "\"t\":1.000000,\"ch\":\"o\",\"d\":\"\\u0000\\u007f\\u00e9\\u20ac\"}", FAST, SHARDREAD_EVENT },
	{ P "\"t\":3.100000,\"ch\":\"r\",\"d\":\"120x40\"}", FAST, SHARDREAD_EVENT },
	{ P "\"t\":4.000000,\"ch\":\"m\",\"d\":\"restart\"}", FAST, SHARDREAD_EVENT },
	{ P "\"t\":123456789.123456,\"ch\":\"o\",\"d\":\"x\"}", FAST, SHARDREAD_EVENT },
	{ P "\"t\":0.1,\"ch\":\"o\",\"d\":\"\xff\"}", FAST, SHARDREAD_EVENT }, /* seed 000: raw bytes in d */
	{ P "\"trunc\":true}", FAST, SHARDREAD_TRUNC },
	{ P "\"hdr\":{\"version\":2,\"width\":80,\"height\":24,\"timestamp\":1795521514,\"env\":{\"SHELL\":"
	    "\"/bin/bash\",\"TERM\":\"xterm\"}},\"meta\":{\"user\":\"al\\\"ice\",\"uid\":1000,\"service\":\"sshd\","
	    "\"src_ip\":\"192.0.2.1\",\"start\":\"2026-11-24T11:58:34.000000Z\",\"cmd\":null,\"input\":true}}",
	  FAST, SHARDREAD_HDR },
	{ P "\"hdr\":{\"version\":2,\"width\":80,\"height\":24,\"timestamp\":1}}", FAST, SHARDREAD_HDR },
	{ P "\"end\":{\"duration\":1.500000,\"bytes_out\":54,\"bytes_in\":10,\"bytes_recorded\":0,\"withheld\":0,"
	    "\"resizes\":0,\"truncated\":false,\"reason\":\"exit\",\"end\":\"2026-11-24T11:58:35.000000Z\"}}",
	  FAST, SHARDREAD_END },
	{ P "\"end\":{\"truncated\":true,\"truncated\":false}}", FAST, SHARDREAD_END }, /* last wins */
	/* valid, but not the writer's layout: json-c */
	{ "{\"sid\": \"" SID "\", \"t\": 1.0, \"ch\": \"o\", \"d\": \"spaces\"}", SLOW, SHARDREAD_EVENT },
	{ "{\"t\":1.0,\"sid\":\"" SID "\",\"ch\":\"o\",\"d\":\"order\"}", SLOW, SHARDREAD_EVENT },
	{ P "\"t\":1e2,\"ch\":\"o\",\"d\":\"exp\"}", SLOW, SHARDREAD_EVENT },
	{ P "\"t\":-1.5,\"ch\":\"o\",\"d\":\"neg\"}", SLOW, SHARDREAD_EVENT },
	{ P "\"t\":1234567890123456789,\"ch\":\"o\",\"d\":\"big\"}", SLOW, SHARDREAD_EVENT },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"\\ud83d\\ude00 pair\"}", SLOW, SHARDREAD_EVENT },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"\\ud800 lone\"}", SLOW, SHARDREAD_EVENT },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"raw\x01" "control\"}", SLOW, SHARDREAD_EVENT },
	{ P "\"t\":1.0,\"ch\":\"\\u006f\",\"d\":\"escaped ch\"}", SLOW, SHARDREAD_EVENT },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"x\",\"raw\":\"e\\/8=\"}", SLOW, SHARDREAD_EVENT },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"x\",\"sid\":\"other\"}", SLOW, SHARDREAD_EVENT },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"x\",\"extra\":1}", SLOW, SHARDREAD_EVENT },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"x\",\"hdr\":{}}", FAST, SHARDREAD_HDR },
	{ P "\"t\":0.5,\"exec\":{\"pid\":1,\"argv\":[\"ls\",\"-l\"]}}", SLOW, SHARDREAD_EXEC },
	{ P "\"t\":0.6,\"exit\":{\"pid\":1,\"code\":0,\"signal\":null}}", SLOW, SHARDREAD_EXIT },
	{ P "\"t\":0.7,\"esc\":\"q83vEg==\"}", SLOW, SHARDREAD_ESC },
	{ P "\"t\":0.7,\"esc\":\"q83vEg==\",\"more\":true}", SLOW, SHARDREAD_ESC },
	{ P "\"t\":0.7,\"esc\":5}", BAD, 0 },
	{ P "\"t\":0.7,\"esc\":\"q83vEg==\",\"more\":1}", BAD, 0 },
	{ P "\"hdr\":{\"version\":2,\"tags\":[\"a\"]},\"meta\":{}}", SLOW, SHARDREAD_HDR },
	{ P "\"hdr\":{\"a\":1},\"hdr\":{\"b\":2}}", SLOW, SHARDREAD_HDR },
	{ P "\"hdr\":{\"a\":{\"b\":{\"c\":{\"d\":1}}}}}", SLOW, SHARDREAD_HDR },
	{ P "\"end\":{\"reason\":\"exit\"},\"hdr\":{}}", FAST, SHARDREAD_HDR },
	{ P "\"hdr\":{\"x\\u0041\":1}}", SLOW, SHARDREAD_HDR },
	{ P "\"hdr\":{\"w\":-1}}", SLOW, SHARDREAD_HDR },
	{ P "\"future\":{\"kind\":1}}", SLOW, SHARDREAD_OTHER },
	{ "{\"sid\":\"short\",\"trunc\":true}", FAST, SHARDREAD_TRUNC },
	{ "{\"sid\":\"" SID "\"}", SLOW, SHARDREAD_OTHER },
	{ "{\"sid\":\"a\",\"trunc\":true }", SLOW, SHARDREAD_TRUNC },
	/* not shard lines */
	{ "", BAD, 0 },
	{ "{\"sid\": this is not json", BAD, 0 },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"truncated", BAD, 0 },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"x\"} trailing", BAD, 0 },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"x\"}}", BAD, 0 },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"bad \\x escape\"}", BAD, 0 },
	{ P "\"t\":1.0,\"ch\":\"oo\",\"d\":\"x\"}", BAD, 0 },
	{ P "\"t\":1.0,\"ch\":\"o\"}", BAD, 0 },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":7}", BAD, 0 },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"x\",\"raw\":5}", BAD, 0 },
	{ P "\"t\":\"1.0\",\"ch\":\"o\",\"d\":\"x\"}", BAD, 0 },
	/* json-c, the judge, takes these; the fast path leaves them to it */
	{ P "\"t\":01.0,\"ch\":\"o\",\"d\":\"x\"}", SLOW, SHARDREAD_EVENT },
	{ P "\"t\":1.,\"ch\":\"o\",\"d\":\"x\"}", SLOW, SHARDREAD_EVENT },
	{ P "\"trunc\":false}", BAD, 0 },
	{ P "\"hdr\":5}", BAD, 0 },
	{ P "\"hdr\":{},\"meta\":[]}", BAD, 0 },
	{ P "\"end\":\"x\"}", BAD, 0 },
	{ "{\"sid\":\"has space\",\"trunc\":true}", BAD, 0 },
	{ "{\"sid\":\"\",\"trunc\":true}", BAD, 0 },
	{ "{\"sid\":5,\"trunc\":true}", BAD, 0 },
	{ "{\"sid\":\"" SID SID "\",\"trunc\":true}", BAD, 0 }, /* 72 characters */
	{ "{\"trunc\":true}", BAD, 0 },
	{ "[\"sid\",\"" SID "\"]", BAD, 0 },
	{ "{'sid':'a','trunc':true}", BAD, 0 },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"x\"\n}", SLOW, SHARDREAD_EVENT },
};
/* clang-format on */

/* json-c's value of members the fast path gives for line obj. */
static void check_member(struct json_object *line, const struct shardread_member *m, size_t i)
{
	char obj[64], key[64], buf[4096];
	struct json_object *o = NULL, *v = NULL;

	if (m->depth != 1)
		return;
	ck_assert_uint_lt(m->obj_len, sizeof(obj));
	ck_assert_uint_lt(m->key_len, sizeof(key));
	memcpy(obj, m->obj, m->obj_len);
	obj[m->obj_len] = 0;
	memcpy(key, m->key, m->key_len);
	key[m->key_len] = 0;
	ck_assert_msg(json_object_object_get_ex(line, obj, &o), "row %zu: no %s", i, obj);
	ck_assert_msg(json_object_object_get_ex(o, key, &v), "row %zu: no %s.%s", i, obj, key);
	switch (m->type) {
	case 's': {
		ssize_t n = shardread_member_str(m, buf, sizeof(buf));

		ck_assert_int_ge(n, 0);
		ck_assert(json_object_is_type(v, json_type_string));
		ck_assert_int_eq(n, json_object_get_string_len(v));
		ck_assert_mem_eq(buf, json_object_get_string(v), (size_t)n);
		break;
	}
	case 'n':
		ck_assert(json_object_get_double(v) == strtod(m->val, NULL));
		ck_assert(json_object_get_double(v) == m->num);
		break;
	case 'a':
		ck_assert(m->plain && json_object_is_type(v, json_type_array));
		break;
	case 'b':
		ck_assert(json_object_is_type(v, json_type_boolean));
		ck_assert_int_eq(json_object_get_boolean(v), m->val[0] == 't');
		break;
	case 'z':
		ck_assert(json_object_is_type(v, json_type_null));
		break;
	case 'o':
		ck_assert(json_object_is_type(v, json_type_object));
		break;
	default:
		ck_abort_msg("row %zu: type %c", i, m->type);
	}
}

/* Keys repeated in an object: only the last one is compared. */
static bool last_of_its_key(const struct shardread_member *m, size_t n, size_t k)
{
	for (size_t j = k + 1; j < n; j++)
		if (m[j].depth == m[k].depth && m[j].obj == m[k].obj && m[j].key_len == m[k].key_len &&
		    memcmp(m[j].key, m[k].key, m[k].key_len) == 0)
			return false;
	return true;
}

START_TEST(test_agree)
{
	const struct row *r = &rows[_i];
	size_t len = strlen(r->line), n;
	struct shardread_line fast, slow, peek, dec;
	struct shardread_member m[SHARDREAD_MEMBERS_MAX];
	uint8_t a[8192], b[8192];
	int rf, rs, rp, rm;

	rs = shardread_parse(r->line, len, &slow);
	rf = shardread_event(r->line, len, &fast);
	rm = shardread_members(r->line, len, &peek, m, &n);
	ck_assert_msg((rs == 0) == (r->how != BAD), "row %d: parse %d", _i, rs);
	ck_assert_msg((rf == 0 || rm == 0) == (r->how == FAST) || r->kind == SHARDREAD_TRUNC, "row %d: fast %d/%d", _i,
		      rf, rm);
	if (rs == 0)
		ck_assert_msg(slow.kind == r->kind, "row %d: kind %d", _i, slow.kind);
	if (rf == 0) {
		ck_assert_int_eq(rs, 0);
		ck_assert_int_eq(slow.kind, SHARDREAD_EVENT);
		ck_assert_uint_eq(fast.sid_len, slow.sid_len);
		ck_assert_mem_eq(fast.sid, slow.sid, slow.sid_len);
		ck_assert(fast.t == slow.t);
		ck_assert_int_eq(fast.ch, slow.ch);
		ck_assert_int_eq(shardread_bytes(&fast, a, sizeof(a)), shardread_bytes(&slow, b, sizeof(b)));
		ck_assert_mem_eq(a, b, (size_t)shardread_bytes(&fast, a, sizeof(a)));
		ck_assert_int_eq(shardread_text(&fast, a, sizeof(a)), shardread_text(&slow, b, sizeof(b)));
		ck_assert_mem_eq(a, b, (size_t)shardread_text(&fast, a, sizeof(a)));
		ck_assert_int_eq(fast.raw != NULL, slow.raw != NULL);
		/* validation and decoding in one pass give the same */
		ssize_t k = shardread_event_decode(r->line, len, &dec, a, sizeof(a), true);

		ck_assert_int_eq(k, shardread_bytes(&slow, b, sizeof(b)));
		ck_assert_mem_eq(a, b, (size_t)k);
		k = shardread_event_decode(r->line, len, &dec, a, sizeof(a), false);
		ck_assert_int_eq(k, shardread_text(&slow, b, sizeof(b)));
		ck_assert_mem_eq(a, b, (size_t)k);
		ck_assert_int_eq(shardread_event_decode(r->line, len, &dec, a, len, true), -ENOSPC);
	} else {
		ck_assert_int_lt(shardread_event_decode(r->line, len, &dec, a, sizeof(a), true), 0);
	}
	if (rm == 0) {
		ck_assert_int_eq(rs, 0);
		ck_assert_int_eq(peek.kind, slow.kind);
		ck_assert_mem_eq(peek.sid, slow.sid, slow.sid_len);
		for (size_t k = 0; k < n; k++)
			if (last_of_its_key(m, n, k))
				check_member(slow.obj, &m[k], (size_t)_i);
	}
	if (rs == 0 && (slow.kind == SHARDREAD_HDR || slow.kind == SHARDREAD_END)) {
		/* the members json-c's reading gives: the same values */
		struct shardread_member mo[SHARDREAD_MEMBERS_MAX];
		size_t no;

		ck_assert_int_eq(shardread_obj_members(slow.obj, mo, SHARDREAD_MEMBERS_MAX, &no), 0);
		for (size_t k = 0; k < no; k++)
			check_member(slow.obj, &mo[k], (size_t)_i);
		if (rm == 0)
			for (size_t k = 0; k < n; k++)
				if (m[k].depth == 1 && last_of_its_key(m, n, k)) {
					size_t j = 0;

					while (j < no && !(mo[j].depth == 1 && mo[j].obj_len == m[k].obj_len &&
							   mo[j].key_len == m[k].key_len &&
							   memcmp(mo[j].obj, m[k].obj, m[k].obj_len) == 0 &&
							   memcmp(mo[j].key, m[k].key, m[k].key_len) == 0))
						j++;
					ck_assert_msg(j < no, "row %d: member %zu not in json-c's", _i, k);
					ck_assert_int_eq(mo[j].type, m[k].type);
				}
	}
	/* peek is exact where a fast full read agrees, and for trunc lines; on
	 * lines only json-c reads (a second "sid" later on) it is a hint */
	rp = shardread_peek(r->line, len, &peek);
	if (rp == 0 && rs == 0 && (rf == 0 || rm == 0 || peek.kind == SHARDREAD_TRUNC)) {
		ck_assert_uint_eq(peek.sid_len, slow.sid_len);
		ck_assert_mem_eq(peek.sid, slow.sid, slow.sid_len);
		if (peek.kind == SHARDREAD_TRUNC)
			ck_assert_int_eq(slow.kind, SHARDREAD_TRUNC);
		if (rf == 0) {
			ck_assert_int_eq(peek.kind, SHARDREAD_EVENT);
			ck_assert(peek.t == slow.t);
			ck_assert_int_eq(peek.ch, slow.ch);
		}
	}
	if (r->how == FAST && r->kind == SHARDREAD_TRUNC)
		ck_assert_int_eq(rp, 0);
	shardread_release(&slow);
}
END_TEST

/* Every prefix of every row is a line cut short: nothing may read past it,
 * and the fast paths may accept only what json-c accepts. */
/* shardread_escrow: the sealed bytes and "more" of an ESC line; bad
 * base64 and pieces larger than the caller's buffer refused. */
START_TEST(test_escrow)
{
	static const struct {
		const char *line;
		ssize_t n;
		bool more;
	} esc[] = {
		{ P "\"t\":0.7,\"esc\":\"q83vEg==\"}", 4, false },
		{ P "\"t\":0.7,\"esc\":\"q83vEjRW\",\"more\":true}", 6, true },
		{ P "\"t\":0.7,\"esc\":\"q83vEjRW\",\"more\":false}", 6, false },
		{ P "\"t\":0.7,\"esc\":\"q83vEjRWeA==\"}", -EBADMSG, false }, /* 7 bytes > cap 6 */
		{ P "\"t\":0.7,\"esc\":\"q83\"}", -EBADMSG, false },
		{ P "\"t\":0.7,\"esc\":\"q8*vEg==\"}", -EBADMSG, false },
	};
	uint8_t out[6];
	struct shardread_line l;

	for (size_t i = 0; i < sizeof(esc) / sizeof(esc[0]); i++) {
		bool more = !esc[i].more;

		ck_assert_int_eq(shardread_parse(esc[i].line, strlen(esc[i].line), &l), 0);
		ck_assert_int_eq(l.kind, SHARDREAD_ESC);
		ck_assert_int_eq(shardread_escrow(&l, out, sizeof(out), &more), esc[i].n);
		ck_assert_int_eq(more, esc[i].more);
		if (esc[i].n > 0)
			ck_assert_int_eq(out[0], 0xab);
		shardread_release(&l);
	}
}
END_TEST

START_TEST(test_prefixes)
{
	const char *line = rows[_i].line;
	size_t len = strlen(line);

	for (size_t k = 0; k < len; k++) {
		char *cut = malloc(k ? k : 1); /* exact size: ASan sees any overread */
		struct shardread_line a, b;
		struct shardread_member m[SHARDREAD_MEMBERS_MAX];
		size_t n;
		int rs;

		memcpy(cut, line, k);
		rs = shardread_parse(cut, k, &b);
		if (shardread_event(cut, k, &a) == 0 || shardread_members(cut, k, &a, m, &n) == 0)
			ck_assert_msg(rs == 0, "row %d cut at %zu: fast read, json-c refused", _i, k);
		shardread_peek(cut, k, &a);
		shardread_release(&b);
		free(cut);
	}
}
END_TEST

struct dec {
	const char *line;
	const char *bytes; /* shardread_bytes */
	size_t nbytes;
	const char *text; /* shardread_text */
	size_t ntext;
	int err; /* of shardread_bytes */
};

/* clang-format off */
static const struct dec decs[] = {
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"plain\"}", "plain", 5, "plain", 5, 0 },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"a\\ufffdb\",\"raw\":\"Yf9i\"}", "a\xff" "b", 3, "a\xef\xbf\xbd" "b", 5, 0 },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"\\u0000\\u00e9\\r\\n\"}", "\0\xc3\xa9\r\n", 5, "\0\xc3\xa9\r\n", 5, 0 },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"\",\"raw\":\"\"}", "", 0, "", 0, 0 },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"x\",\"raw\":\"!!!!\"}", NULL, 0, "x", 1, -EBADMSG },
	{ P "\"t\":1.0,\"ch\":\"o\",\"d\":\"x\",\"raw\":\"YWJ\"}", NULL, 0, "x", 1, -EBADMSG },
	{ "{\"sid\":\"s\",\"ch\":\"o\",\"t\":2,\"d\":\"json-c \\ud83d\\ude00\"}", "json-c \xf0\x9f\x98\x80", 11,
	  "json-c \xf0\x9f\x98\x80", 11, 0 },
};
/* clang-format on */

/* The fast event reader, else json-c. */
static int read_line(const char *line, size_t len, struct shardread_line *l)
{
	if (shardread_event(line, len, l) == 0)
		return 0;
	return shardread_parse(line, len, l);
}

START_TEST(test_decode)
{
	const struct dec *d = &decs[_i];
	struct shardread_line l;
	uint8_t out[256];
	ssize_t n;

	ck_assert_int_eq(read_line(d->line, strlen(d->line), &l), 0);
	n = shardread_bytes(&l, out, sizeof(out));
	if (d->err) {
		ck_assert_int_eq(n, d->err);
	} else {
		ck_assert_int_eq(n, (ssize_t)d->nbytes);
		ck_assert_mem_eq(out, d->bytes, d->nbytes);
	}
	n = shardread_text(&l, out, sizeof(out));
	ck_assert_int_eq(n, (ssize_t)d->ntext);
	ck_assert_mem_eq(out, d->text, d->ntext);
	ck_assert_int_eq(shardread_bytes(&l, out, 2) < 0 || d->nbytes <= 2, 1);
	shardread_release(&l);
}
END_TEST

/* shardscan over lines in memory: the decs rows, a corrupt line between. */
struct memsrc {
	size_t next, corrupt;
	const char *bad;
};

static int mem_next(void *ctx, const char **line, size_t *len)
{
	struct memsrc *m = ctx;
	size_t i = m->next++;

	if (i >= 2 * (sizeof(decs) / sizeof(decs[0])))
		return 0;
	*line = i % 2 ? m->bad : decs[i / 2].line;
	*len = strlen(*line);
	return 1;
}

static void mem_corrupt(void *ctx)
{
	((struct memsrc *)ctx)->corrupt++;
}

START_TEST(test_scan)
{
	struct memsrc m = { .bad = "{\"sid\":\"s\",\"t\":" };
	struct shardscan sc;
	size_t row = 0, bad = 0;

	shardscan_init(&sc, &(struct shardscan_src){ mem_next, mem_corrupt, &m });
	while (shardscan_next(&sc) == 1) {
		const struct dec *d = &decs[row++];
		int r = shardscan_take(&sc, _i ? SHARDSCAN_TEXT : SHARDSCAN_BYTES);

		ck_assert_int_eq(sc.l.kind, SHARDREAD_EVENT);
		if (!_i && d->err) {
			ck_assert_int_eq(r, -EBADMSG);
			bad++;
			continue;
		}
		ck_assert_int_eq(r, 0);
		ck_assert_uint_eq(sc.ndata, _i ? d->ntext : d->nbytes);
		ck_assert_mem_eq(sc.data, _i ? d->text : d->bytes, sc.ndata);
		ck_assert_int_eq(shardscan_take(&sc, SHARDSCAN_OBJ | SHARDSCAN_MEMBERS), 0);
	}
	ck_assert_uint_eq(row, sizeof(decs) / sizeof(decs[0]));
	ck_assert_uint_eq(m.corrupt, row + bad); /* each bad line between, and bad base64 */
	shardscan_free(&sc);
}
END_TEST

/* Header and end lines: members whichever path reads them; OBJ parses. */
START_TEST(test_scan_members)
{
	static const char *const lines[] = {
		P "\"hdr\":{\"version\":2,\"timestamp\":5},\"meta\":{\"user\":\"u\"}}",
		"{ \"sid\": \"" SID "\", \"hdr\": {\"timestamp\": 5}, \"meta\": {\"user\": \"u\"}}",
		P "\"end\":{\"duration\":1.5,\"reason\":\"exit\"}}",
	};
	struct shardscan sc;
	struct memsrc m = { 0 };

	shardscan_init(&sc, &(struct shardscan_src){ mem_next, mem_corrupt, &m });
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const char *key = i < 2 ? "user" : "reason";
		bool found = false;

		sc.line = lines[i];
		sc.len = strlen(lines[i]);
		if (shardread_peek(sc.line, sc.len, &sc.l) < 0) {
			ck_assert_int_eq(shardread_parse(sc.line, sc.len, &sc.l), 0);
			sc.parsed = true;
		}
		ck_assert_int_eq(shardscan_take(&sc, _i ? SHARDSCAN_MEMBERS | SHARDSCAN_OBJ : SHARDSCAN_MEMBERS), 0);
		ck_assert_int_eq(sc.parsed, i == 1 || _i);
		ck_assert_int_eq(sc.l.kind, i < 2 ? SHARDREAD_HDR : SHARDREAD_END);
		for (size_t k = 0; k < sc.nm; k++)
			if (sc.m[k].depth == 1 && sc.m[k].key_len == strlen(key) &&
			    memcmp(sc.m[k].key, key, strlen(key)) == 0)
				found = sc.m[k].type == 's';
		ck_assert(found);
		if (sc.parsed)
			shardread_release(&sc.l);
		sc.parsed = false;
	}
	ck_assert_uint_eq(m.corrupt, 0);
	shardscan_free(&sc);
}
END_TEST

START_TEST(test_sid)
{
	ck_assert(shardread_sid_valid(SID, 36));
	ck_assert(shardread_sid_valid("A.b_c-9", 7));
	ck_assert(!shardread_sid_valid("", 0));
	ck_assert(!shardread_sid_valid("a b", 3));
	ck_assert(!shardread_sid_valid("a\"b", 3));
	ck_assert(!shardread_sid_valid("\xc3\xa9", 2));
	ck_assert(!shardread_sid_valid(SID SID, 72));
}
END_TEST

/* --- what the writer writes, the fast path reads ---------------------- */

struct writer_sink {
	uint8_t got[1 << 16];
	size_t ngot, lines;
};

/* Each line of the writer: read by the fast path, agreeing with json-c. */
static int fast_line_cb(void *userdata, const char *line, size_t len)
{
	struct writer_sink *w = userdata;
	struct shardread_line f, j;
	uint8_t a[SHARD_LINE_MAX], b[SHARD_LINE_MAX];
	ssize_t n;

	ck_assert(len > 0 && line[len - 1] == '\n');
	len--;
	ck_assert_msg(shardread_event(line, len, &f) == 0, "not fast: %.*s", (int)len, line);
	ck_assert_int_eq(shardread_parse(line, len, &j), 0);
	n = shardread_bytes(&f, a, sizeof(a));
	ck_assert_int_ge(n, 0);
	ck_assert_int_eq(n, shardread_bytes(&j, b, sizeof(b)));
	ck_assert_mem_eq(a, b, (size_t)n);
	ck_assert(f.t == j.t);
	ck_assert_uint_lt(w->ngot + (size_t)n, sizeof(w->got));
	memcpy(w->got + w->ngot, a, (size_t)n);
	w->ngot += (size_t)n;
	w->lines++;
	shardread_release(&j);
	return 0;
}

START_TEST(test_writer_lines_are_fast)
{
	static uint8_t data[20000];
	struct shard_utf8 carry = { .len = 0 };
	struct writer_sink *w = calloc(1, sizeof(*w));
	unsigned seed = 42;
	char line[SHARD_LINE_MAX];
	struct shardread_line l;
	struct shardread_member m[SHARDREAD_MEMBERS_MAX];
	size_t n;
	struct shard_header h = {
		.width = 80,
		.height = 24,
		.timestamp = 1795521514,
		.shell = "/bin/bash",
		.term = "xterm\"\x01",
		.meta = { .user = "al\xc3\xa9"
				  "ce \"q\"",
			  .uid = 1000,
			  .service = "sshd",
			  .proto = "ssh",
			  .src_ip = "192.0.2.1",
			  .src_port = 22,
			  .tty = "/dev/pts/1",
			  .host = "h\x1b[31m",
			  .auth = "publickey ssh-ed25519 AAAA",
			  .start = "2026-11-24T11:58:34.123456Z",
			  .cmd = "ls -l",
			  .pid = 42,
			  .audit_session = 7,
			  .input = true },
	};
	struct shard_end e = { .duration = 12.345678,
			       .bytes_out = 99,
			       .bytes_in = 3,
			       .bytes_recorded = 400,
			       .withheld = 2,
			       .resizes = 1,
			       .truncated = true,
			       .reason = "exit",
			       .end = "2026-11-24T11:58:47.000000Z" };

	/* terminal-like bytes: text, escapes, controls, UTF-8, invalid bytes */
	for (size_t i = 0; i < sizeof(data); i++) {
		seed = seed * 1103515245u + 12345u;
		data[i] = (seed >> 16) % 5 ? (uint8_t)(' ' + (seed >> 8) % 95) : (uint8_t)(seed >> 20);
	}
	ck_assert_int_eq(shard_encode_event(&carry, SID, 1.5, 'o', data, sizeof(data), fast_line_cb, w), 0);
	ck_assert_int_eq(shard_encode_flush(&carry, SID, 1.5, 'o', fast_line_cb, w), 0);
	ck_assert_uint_eq(w->ngot, sizeof(data));
	ck_assert_mem_eq(w->got, data, sizeof(data));
	ck_assert_uint_gt(w->lines, 5);

	ck_assert_int_gt(shard_format_resize(line, sizeof(line), SID, 2, 120, 40), 0);
	ck_assert_int_eq(shardread_event(line, strlen(line) - 1, &l), 0);
	ck_assert_int_gt(shard_format_marker(line, sizeof(line), SID, 3, "restart \"x\"\n"), 0);
	ck_assert_int_eq(shardread_event(line, strlen(line) - 1, &l), 0);
	ck_assert_int_gt(shard_format_trunc(line, sizeof(line), SID), 0);
	ck_assert_int_eq(shardread_peek(line, strlen(line) - 1, &l), 0);
	ck_assert_int_eq(l.kind, SHARDREAD_TRUNC);
	ck_assert_int_gt(shard_format_header(line, sizeof(line), SID, &h), 0);
	ck_assert_int_eq(shardread_members(line, strlen(line) - 1, &l, m, &n), 0);
	ck_assert_int_eq(l.kind, SHARDREAD_HDR);
	ck_assert_int_gt(shard_format_end(line, sizeof(line), SID, &e), 0);
	ck_assert_int_eq(shardread_members(line, strlen(line) - 1, &l, m, &n), 0);
	ck_assert_int_eq(l.kind, SHARDREAD_END);
	free(w);
}
END_TEST

/* --- termtext -------------------------------------------------------- */

struct text {
	const char *in; /* fed in pieces split at '|' when split is set */
	bool input;
	const char *out; /* lines, each followed by '\n' */
};

/* clang-format off */
static const struct text texts[] = {
	{ "hello\r\nworld\r\n", false, "hello\nworld\n" },
	{ "\x1b[1;32mgreen\x1b[0m done\r\n", false, "green done\n" },
	{ "\x1b]0;user@host: ~\x07prompt$ ", false, "prompt$\n" },
	{ "\x1b]2;title\x1b\\x\n", false, "x\n" },
	{ "\x1bPq#0;2;0;0;0#1~~\x1b\\ok\n", false, "ok\n" },
	{ "\x1b_apc\x1b\\\x1b^pm\x07\x1bXsos\x1b\\z\n", false, "z\n" },
	{ "\x1b(Babc\x1b)0\x1b#8\x1b=\x1b>\x1b" "7d\x1b" "8\n", false, "abcd\n" },
	{ "10%\r20%\r100%\n", false, "100%\n" },
	{ "abc\rX\n", false, "Xbc\n" },
	{ "abc\b\bX\n", false, "aXc\n" },
	{ "abc\b \b\n", false, "ab\n" },
	{ "abcdef\r\x1b[Kxy\n", false, "xy\n" },
	{ "hello\x1b[3D\x1b[K\n", false, "he\n" },
	{ "hello\x1b[3D\x1b[1K!\n", false, "  !lo\n" },
	{ "hello\x1b[3D\x1b[1K\n", false, "   lo\n" },
	{ "hello\x1b[2D\x1b[2K!\n", false, "   !\n" },
	{ "ab\x1b[3Cc\n", false, "ab   c\n" },
	{ "abcdef\x1b[4D\x1b[2P\n", false, "abef\n" },
	{ "abc\x1b[2D\x1b[2@XY\n", false, "aXYbc\n" },
	{ "abcdef\x1b[3G\x1b[2X\n", false, "ab  ef\n" },
	{ "caf\xc3\xa9\b\bX\n", false, "caX\xc3\xa9\n" },
	{ "a\xff" "b\n", false, "a\xef\xbf\xbd" "b\n" },
	{ "\xe2\x82|\xac\n", false, "\xe2\x82\xac\n" },
	{ "\x1b[|31mred\x1b|[0m\n", false, "red\n" },
	{ "a\xc2\x9b" "b\x07\x01\x7f" "c\n", false, "abc\n" },
	{ "\x1b[?2004hq\x1b[?2004l\n", false, "q\n" },
	{ "tab\there\n", false, "tab\there\n" },
	{ "\n\n", false, "\n\n" },
	{ "a\x0b" "b\x0c" "c\n", false, "a\nb\nc\n" },
	{ "\xe2\x82\n", false, "\xef\xbf\xbd\n" },
	{ "\xe2\x82x\n", false, "\xef\xbf\xbdx\n" },
	{ "no newline at the end", false, "no newline at the end\n" },
	{ "ls -l\x7f\x7fla\r", true, "ls la\n" },
	{ "echo hi\x1b[D\x1b[Dyo\r", true, "echo yohi\n" },
	{ "abc\x15" "de\r", true, "de\n" },
	{ "foo bar\x17" "baz\r", true, "foo baz\n" },
	{ "one\r\ntwo\n", true, "one\ntwo\n" },
	{ "\x1b[Aup\x1bx\r", true, "up\n" },
	{ "bc\x1b[Ha\x1b[F!\r", true, "abc!\n" },
	{ "abc\x1b[H\x1b[3~\r", true, "bc\n" },
	{ "ab\x1bODc\r", true, "acb\n" },
	{ "ab\x1b[1~>\x1b[4~<\r", true, ">ab<\n" },
	{ "rm -rf /tmp/x\x03", true, "rm -rf /tmp/x\n" },
	{ "\x03", true, "" },
	{ "caf\xc3\xa9\x7f" "e\r", true, "cafe\n" },
	{ "\x1b]0;not a string in input\r", true, "0;not a string in input\n" },
};
/* clang-format on */

struct collect {
	char buf[65536];
	size_t len;
	double first_t;
	int lines, stop_after;
};

static int collect_cb(void *userdata, double t, const char *line, size_t len)
{
	struct collect *c = userdata;

	ck_assert_ptr_null(memchr(line, '\n', len));
	if (c->lines++ == 0)
		c->first_t = t;
	ck_assert_uint_lt(c->len + len + 1, sizeof(c->buf));
	memcpy(c->buf + c->len, line, len);
	c->len += len;
	c->buf[c->len++] = '\n';
	if (c->stop_after && c->lines >= c->stop_after)
		return -ECANCELED;
	return 0;
}

START_TEST(test_text)
{
	const struct text *x = &texts[_i];
	struct termtext *tt = malloc(sizeof(*tt));
	struct collect c = { .len = 0 };
	const char *p = x->in;

	termtext_init(tt, x->input, collect_cb, &c);
	while (*p) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		ck_assert_int_eq(termtext_feed(tt, 1.0, (const uint8_t *)p, n), 0);
		p += n + (bar != NULL);
	}
	ck_assert_int_eq(termtext_finish(tt), 0);
	ck_assert_msg(c.len == strlen(x->out) && memcmp(c.buf, x->out, c.len) == 0, "row %d: got \"%.*s\"", _i,
		      (int)c.len, c.buf);
	free(tt);
}
END_TEST

/* The same streams fed one byte at a time give the same lines. */
START_TEST(test_text_bytewise)
{
	const struct text *x = &texts[_i];
	struct termtext *tt = malloc(sizeof(*tt));
	struct collect c = { .len = 0 };

	termtext_init(tt, x->input, collect_cb, &c);
	for (const char *p = x->in; *p; p++)
		if (*p != '|')
			termtext_feed(tt, 1.0, (const uint8_t *)p, 1);
	termtext_finish(tt);
	ck_assert_msg(c.len == strlen(x->out) && memcmp(c.buf, x->out, c.len) == 0, "row %d", _i);
	free(tt);
}
END_TEST

START_TEST(test_text_times_and_limits)
{
	struct termtext *tt = malloc(sizeof(*tt));
	struct collect c = { .len = 0 };
	static uint8_t big[TERMTEXT_LINE_MAX * 2 + 10];

	/* a line's time is its first character's */
	termtext_init(tt, false, collect_cb, &c);
	termtext_feed(tt, 1.5, (const uint8_t *)"ab", 2);
	termtext_feed(tt, 2.5, (const uint8_t *)"c\r\n", 3);
	ck_assert(c.first_t == 1.5);
	/* long lines are cut, nothing lost */
	memset(big, 'x', sizeof(big));
	c.len = 0;
	c.lines = 0;
	termtext_feed(tt, 3, big, sizeof(big));
	termtext_finish(tt);
	ck_assert_int_eq(c.lines, 3);
	ck_assert_uint_eq(c.len, sizeof(big) + 3);
	/* an unterminated OSC swallows at most TERMTEXT_STRING_MAX bytes */
	c.len = 0;
	c.lines = 0;
	termtext_feed(tt, 4, (const uint8_t *)"\x1b]0;", 4);
	memset(big, 'y', sizeof(big));
	for (int i = 0; i < 5; i++)
		termtext_feed(tt, 4, big, sizeof(big));
	termtext_finish(tt);
	ck_assert_int_ge(c.lines, 1);
	ck_assert_uint_gt(c.len, 5 * sizeof(big) - TERMTEXT_STRING_MAX - 1);
	/* the callback's error stops the feed */
	termtext_init(tt, false, collect_cb, &c);
	c.stop_after = 1;
	c.lines = 0;
	ck_assert_int_eq(termtext_feed(tt, 5, (const uint8_t *)"a\nb\nc\n", 6), -ECANCELED);
	ck_assert_int_eq(c.lines, 1);
	free(tt);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("shardread");
	TCase *tc = tcase_create("lines");

	tcase_add_loop_test(tc, test_agree, 0, (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_loop_test(tc, test_prefixes, 0, (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_loop_test(tc, test_decode, 0, (int)(sizeof(decs) / sizeof(decs[0])));
	tcase_add_loop_test(tc, test_scan, 0, 2);
	tcase_add_loop_test(tc, test_scan_members, 0, 2);
	tcase_add_test(tc, test_sid);
	tcase_add_test(tc, test_escrow);
	tcase_add_test(tc, test_writer_lines_are_fast);
	suite_add_tcase(s, tc);
	tc = tcase_create("termtext");
	tcase_add_loop_test(tc, test_text, 0, (int)(sizeof(texts) / sizeof(texts[0])));
	tcase_add_loop_test(tc, test_text_bytewise, 0, (int)(sizeof(texts) / sizeof(texts[0])));
	tcase_add_test(tc, test_text_times_and_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
