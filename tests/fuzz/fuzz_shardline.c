/* Fuzz target for common/shardline: the input (after its first byte, which
 * picks where it is split into two reads) is encoded as one channel; every
 * line must be one strict JSON object shorter than SHARD_LINE_MAX ending in
 * one '\n', carry the sid, and d/raw of all lines must give back the input;
 * a line has the ESC stand-in ("x1b") exactly when it pays and d has no
 * real U+241B.
 * Valid text in one read must give exactly the lines of the model
 * (shardline_model.h: the item-by-item escaper, a character at a time; the
 * encoder takes it in blocks and writes the stand-in as it goes). The same bytes as a
 * hostile TERM must still make a valid header line. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "shardline.h"
#include "shardx1b.h"
#include "utf8.h"
#include "fuzzutil.h"
#include "../common/shardline_model.h"

#define SID "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

struct sink {
	uint8_t *out;
	size_t len, cap;
};

static json_object *parse_line(const char *line, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;

	REQUIRE(len > 1 && len < SHARD_LINE_MAX && line[len - 1] == '\n');
	REQUIRE(memchr(line, '\n', len - 1) == NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len - 1);
	REQUIRE(o && json_tokener_get_parse_end(tok) == len - 1);
	json_tokener_free(tok);
	REQUIRE(json_object_is_type(o, json_type_object));
	REQUIRE(strcmp(json_object_get_string(json_object_object_get(o, "sid")), SID) == 0);
	return o;
}

static int sink_line(void *userdata, const char *line, size_t len)
{
	struct sink *s = userdata;
	json_object *o = parse_line(line, len), *d, *raw, *x1b;
	char dtext[SHARD_LINE_MAX];
	const char *ds;
	size_t dn, k = 0;

	REQUIRE(json_object_object_get_ex(o, "d", &d));
	ds = json_object_get_string(d);
	dn = (size_t)json_object_get_string_len(d);
	for (size_t i = 0; i < dn; i++)
		k += ds[i] == 0x1b;
	if (json_object_object_get_ex(o, "x1b", &x1b)) {
		/* every ESC of d is the stand-in, there is no real one, and the
		 * line is shorter for it */
		REQUIRE(strcmp(json_object_get_string(x1b), SHARDX1B_CHAR) == 0 && k == 0);
		memcpy(dtext, ds, dn);
		k = dn - shardx1b_expand((uint8_t *)dtext, dn);
		REQUIRE(k % 2 == 0 && k / 2 * 3 > SHARDX1B_MEMBER_LEN);
		dn -= k;
		ds = dtext;
	} else {
		REQUIRE(k * 3 <= SHARDX1B_MEMBER_LEN || memmem(ds, dn, SHARDX1B_CHAR, SHARDX1B_CHAR_LEN));
	}
	if (json_object_object_get_ex(o, "raw", &raw)) {
		uint8_t bytes[SHARD_LINE_MAX], san[3 * SHARD_LINE_MAX];
		ssize_t n = b64_decode(bytes, json_object_get_string(raw), (size_t)json_object_get_string_len(raw));

		REQUIRE(n > 0 && utf8_valid_len(bytes, (size_t)n) < (size_t)n);
		REQUIRE(utf8_sanitize(san, bytes, (size_t)n) == dn && memcmp(san, ds, dn) == 0);
		REQUIRE(s->len + (size_t)n <= s->cap);
		memcpy(s->out + s->len, bytes, (size_t)n);
		s->len += (size_t)n;
	} else {
		REQUIRE(dn > 0 && utf8_valid_len((const uint8_t *)ds, dn) == dn);
		REQUIRE(s->len + dn <= s->cap);
		memcpy(s->out + s->len, ds, dn);
		s->len += dn;
	}
	json_object_put(o);
	return 0;
}

static void roundtrip(const uint8_t *p, size_t n, size_t cut, size_t step)
{
	struct shard_utf8 carry = { 0 };
	struct sink s = { .out = malloc(n + 1), .cap = n };

	REQUIRE(s.out);
	REQUIRE(shard_encode_event(&carry, SID, 0.5, 'o', p, cut, sink_line, &s) == 0);
	for (size_t at = cut; at < n; at += step) {
		size_t k = n - at < step ? n - at : step;

		REQUIRE(shard_encode_event(&carry, SID, 1e9 + 0.25, 'o', p + at, k, sink_line, &s) == 0);
	}
	REQUIRE(carry.len <= 3);
	REQUIRE(shard_encode_flush(&carry, SID, 2, 'o', sink_line, &s) == 0);
	REQUIRE(carry.len == 0 && s.len == n && memcmp(s.out, p, n) == 0);
	free(s.out);
}

/* p[0..n), valid UTF-8, as one read: each line's d must be as much of the
 * rest as shard_json_escape puts into d's room. */
static void greedy_lines(const uint8_t *p, size_t n)
{
	struct shard_utf8 carry = { 0 };
	struct shardline_model_lines got = { 0 };
	size_t w = 0;
	char *want = shardline_model(SID, 3.5, 'i', p, n, &w);

	REQUIRE(want);
	REQUIRE(shard_encode_event(&carry, SID, 3.5, 'i', p, n, shardline_model_collect, &got) == 0);
	REQUIRE(carry.len == 0 && shardline_model_got(&got, want, w));
	free(got.buf);
	free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shard_header h = { .width = 80, .height = 24, .meta = { .uid = -1 } };
	char line[SHARD_LINE_MAX], *term;
	size_t n, cut;
	int r;

	if (size < 1)
		return 0;
	n = size - 1;
	cut = (size_t)data[0] * n / 255;
	roundtrip(data + 1, n, cut, n ? n : 1);
	if (n <= 512)
		roundtrip(data + 1, n, cut, 1);
	if (utf8_valid_len(data + 1, n) == n)
		greedy_lines(data + 1, n);
	term = malloc(n + 1);
	REQUIRE(term);
	memcpy(term, data + 1, n);
	term[n] = '\0';
	h.term = term;
	h.meta.user = term;
	h.meta.cmd = term;
	r = shard_format_header(line, sizeof(line), SID, &h);
	REQUIRE(r > 0);
	json_object_put(parse_line(line, (size_t)r));
	r = shard_format_marker(line, sizeof(line), SID, 1, term);
	REQUIRE(r > 0);
	json_object_put(parse_line(line, (size_t)r));
	free(term);
	return 0;
}
