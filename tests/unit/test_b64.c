/* Unit tests for common/b64: RFC 4648 §10 vectors both ways, round trips of
 * every length and byte, encoding from two places, and rejection of
 * everything but canonical base64. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "testutil.h"

#define GUARD 0xa5

/* clang-format off */
static const struct { const char *plain, *enc; } vectors[] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	{ "\xff\xfe\xfd", "//79" }, { "\xfb\xff", "+/8=" }, { "\0", "AA==" },
};
/* clang-format on */

START_TEST(test_vectors)
{
	const char *p = vectors[_i].plain, *e = vectors[_i].enc;
	size_t pn = strlen(p) + (e[0] == 'A'), en = strlen(e);
	char out[32];
	uint8_t dec[32];

	memset(out, GUARD, sizeof(out));
	ck_assert_uint_eq(b64_encode(out, (const uint8_t *)p, pn), en);
	ck_assert_uint_eq(B64_ENCODED_LEN(pn), en);
	ck_assert(memcmp(out, e, en) == 0);
	for (size_t i = en; i < sizeof(out); i++)
		ck_assert_int_eq((uint8_t)out[i], GUARD);
	memset(dec, GUARD, sizeof(dec));
	ck_assert_int_eq(b64_decode(dec, e, en), (ssize_t)pn);
	ck_assert(memcmp(dec, p, pn) == 0);
	for (size_t i = pn; i < sizeof(dec); i++)
		ck_assert_int_eq(dec[i], GUARD);
}
END_TEST

START_TEST(test_roundtrip)
{
	uint8_t in[600], back[600 + 8];
	char enc[B64_ENCODED_LEN(600) + 8];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(in); n++) {
		size_t el = b64_encode(enc, in, n);

		ck_assert_uint_eq(el, B64_ENCODED_LEN(n));
		memset(back, GUARD, sizeof(back));
		ck_assert_int_eq(b64_decode(back, enc, el), (ssize_t)n);
		ck_assert(memcmp(back, in, n) == 0);
		/* never past len/4*3 */
		for (size_t i = el / 4 * 3; i < sizeof(back); i++)
			ck_assert_int_eq(back[i], GUARD);
	}
}
END_TEST

/* a ++ b from two places is what the same bytes give from one. */
START_TEST(test_two)
{
	uint8_t in[40];
	char want[B64_ENCODED_LEN(40)], got[B64_ENCODED_LEN(40)];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 53 + 7);
	for (size_t na = 0; na <= 3; na++)
		for (size_t nb = 0; na + nb <= sizeof(in); nb++) {
			size_t wl = b64_encode(want, in, na + nb);

			ck_assert_uint_eq(b64_encode_two(got, in, na, in + na, nb), wl);
			ck_assert(memcmp(got, want, wl) == 0);
		}
}
END_TEST

/* clang-format off */
static const char *const malformed[] = {
	"Z", "Zg", "Zg=", "Zm9vY", "Zg==Zg==", "Z===", "====", "=Zg=", "Zm9v\n", " Zm9",
	"Zm9-", "Zm9_", "Zm\x80v", "Zh==", "Zm9=", "Zm=v", "Zm9v====", "Zg\0=",
};
/* clang-format on */

START_TEST(test_malformed)
{
	const char *s = malformed[_i];
	size_t n = strlen(s) + (_i == 17 ? 2 : 0);
	uint8_t out[16];

	ck_assert_int_eq(b64_decode(out, s, n), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("b64");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_vectors, 0, sizeof(vectors) / sizeof(vectors[0]));
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_two);
	tcase_add_loop_test(tc, test_malformed, 0, sizeof(malformed) / sizeof(malformed[0]));
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
