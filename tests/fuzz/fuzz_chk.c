/* Fuzz target for common/chk: the checkpoint parser on any bytes, as an
 * object and as a line (a checkpoint line, an end line with its member).
 * What the strict parser accepts, the encoder writes back byte for byte;
 * the bytes an end line is hashed by are the line's own up to its member,
 * plus the closing brace. */
#include <string.h>

#include "chk.h"
#include "fuzzutil.h"

static void roundtrip(const char *obj, size_t len)
{
	char out[CHK_MEMBER_MAX];
	struct chk c;
	int n;

	if (chk_parse_obj(obj, len, &c) < 0)
		return;
	n = chk_format_obj(out, sizeof(out), &c);
	REQUIRE(n > 0 && (size_t)n == len && memcmp(out, obj, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data, *obj, *in;
	char buf[8192];
	size_t olen, inlen;

	roundtrip(line, size);
	if (chk_line_obj(line, size, &obj, &olen) == 0) {
		REQUIRE(obj >= line && obj + olen <= line + size);
		roundtrip(obj, olen);
	}
	if (size > sizeof(buf))
		return 0;
	if (chk_line_input(line, size, buf, sizeof(buf), &in, &inlen, &obj, &olen)) {
		REQUIRE(in == buf && inlen >= 2 && inlen < size && buf[inlen - 1] == '}');
		REQUIRE(memcmp(buf, line, inlen - 1) == 0);
		REQUIRE(obj > line && obj + olen == line + size - 1 && *obj == '{');
		roundtrip(obj, olen);
	} else {
		REQUIRE(in == line && inlen == size);
	}
	return 0;
}
