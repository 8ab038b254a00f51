/* Unit tests for common/chk and common/chkseal: the chain, the seal and the
 * key's evolution against fixed vectors computed independently
 * (tests/unit/gen_chk_vectors.py: Python hashlib + hmac, from
 * sessrec-shards(5)), the checkpoint encoder and its strict parser, the end
 * line's hashed bytes, the key texts and the key file. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chk.h"
#include "testutil.h"

#define SID "3f2c0c1e-9d6b-4c1a-8e2f-5a7b9c0d1e2f"

static const char *const lines[] = {
	"{\"sid\":\"" SID
	"\",\"hdr\":{\"version\":2,\"width\":80,\"height\":24,\"timestamp\":1795521600},"
	"\"meta\":{\"user\":\"alice\"}}",
	"{\"sid\":\"" SID "\",\"t\":0.512345,\"ch\":\"o\",\"d\":\"hello\\r\\n\"}",
	"{\"sid\":\"" SID "\",\"t\":0.600000,\"ch\":\"i\",\"d\":\"ls\\r\"}",
};
static const char end_body[] = "{\"sid\":\"" SID "\",\"end\":{\"duration\":1.000000,\"reason\":\"exit\"}}";

/* From gen_chk_vectors.py. */
static const char *const hs[] = {
	"687a073c89cdafc61364c17d60201f75962f0d503a470c7f9d43ca967b034a53",
	"53ab7b1cee497adda4ffe612a70a4de5cf9fecefb38e696a0d916c6032f4869e",
	"08ccb331871f350abd94defa7bcf9f325b190c7e39021615ca7f073dc02fa623",
	"f604c6c46a7f2a5d37287a0ba34b9c6656e71831fe9b92a9a57b40e723b0b8ce",
};
static const char h4_end[] = "4e576b8b9042dd79bc8623eaa51801d8e7dfc654afeceeccf627d20e27f69311";
static const char k3_hex[] = "c19b0369a05c589494a93fdb23e571f30a4e51e628d59f49f81fe5d74cdf89eb";
static const char seal_hex[] = "70ad81aa67994c77608b1c533d9230ab6531aba9bea90e9d29b4c14ea4c3b979";

static void key0(struct chk_key *k)
{
	for (int i = 0; i < CHK_HASH_LEN; i++)
		k->k[i] = (uint8_t)i;
	k->epoch = 0;
	k->start = 1795521600;
	k->len = 900;
}

static void assert_hex(const uint8_t b[CHK_HASH_LEN], const char *want)
{
	char hex[CHK_HEX_LEN + 1];

	chk_hex(hex, b);
	ck_assert_str_eq(hex, want);
}

START_TEST(test_chain_vectors)
{
	uint8_t h[CHK_HASH_LEN];

	ck_assert_int_eq(chk_init(), 0);
	chk_h0(SID, h);
	assert_hex(h, hs[0]);
	for (int i = 0; i < 3; i++) {
		chk_step(h, lines[i], strlen(lines[i]));
		assert_hex(h, hs[i + 1]);
	}
}
END_TEST

START_TEST(test_evolve_and_seal)
{
	struct chk_key k;
	struct chk c = { .n = 3, .epoch = 3, .time = 1795524300 };

	ck_assert_int_eq(chk_init(), 0);
	key0(&k);
	ck_assert_int_eq(chk_key_to(&k, 3), 0);
	ck_assert_uint_eq(k.epoch, 3);
	assert_hex(k.k, k3_hex);
	ck_assert_int_eq(chk_key_to(&k, 2), -ESTALE); /* never back */
	ck_assert_int_eq(chk_unhex(hs[3], CHK_HEX_LEN, c.h), 0);
	chk_seal(&k, SID, &c);
	ck_assert(c.sealed);
	assert_hex(c.seal, seal_hex);
	ck_assert(chk_seal_ok(&k, SID, &c));
	c.n = 4;
	ck_assert(!chk_seal_ok(&k, SID, &c));
	c.n = 3;
	chk_key_evolve(&k);
	ck_assert(!chk_seal_ok(&k, SID, &c)); /* a later key does not verify it */
	ck_assert_uint_eq(chk_key_epoch_at(&k, 1795521600 + 899), 0);
	ck_assert_uint_eq(chk_key_epoch_at(&k, 1795521600 + 900), 1);
	ck_assert_uint_eq(chk_key_epoch_at(&k, 1), 0);
}
END_TEST

START_TEST(test_end_line_input)
{
	char line[1024], buf[1024];
	const char *in, *obj;
	size_t inlen, olen;
	uint8_t h[CHK_HASH_LEN];
	struct chk c = { .n = 4, .time = 1795521601 }, back;
	int n;

	ck_assert_int_eq(chk_unhex(h4_end, CHK_HEX_LEN, c.h), 0);
	n = chk_append(line, sizeof(line), end_body, strlen(end_body), &c);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(line[n - 1], '\n');
	ck_assert(chk_line_input(line, (size_t)n - 1, buf, sizeof(buf), &in, &inlen, &obj, &olen));
	ck_assert_uint_eq(inlen, strlen(end_body));
	ck_assert(memcmp(in, end_body, inlen) == 0);
	ck_assert_int_eq(chk_parse_obj(obj, olen, &back), 0);
	ck_assert_uint_eq(back.n, 4);
	ck_assert(!back.sealed);
	/* the hashed bytes give the vector */
	ck_assert_int_eq(chk_unhex(hs[3], CHK_HEX_LEN, h), 0);
	chk_step(h, in, inlen);
	assert_hex(h, h4_end);
	/* other lines are hashed whole: a checkpoint line, a line without chk */
	n = chk_format_line(line, sizeof(line), SID, &c);
	ck_assert(!chk_line_input(line, (size_t)n - 1, buf, sizeof(buf), &in, &inlen, &obj, &olen));
	ck_assert(in == line && inlen == (size_t)n - 1);
	ck_assert(!chk_line_input(lines[1], strlen(lines[1]), buf, sizeof(buf), &in, &inlen, &obj, &olen));
}
END_TEST

START_TEST(test_format_parse)
{
	struct chk c = { .n = 12, .sealed = true, .epoch = 7, .time = 1795527900 }, back;
	char line[512];
	const char *obj;
	size_t olen;
	int n;

	ck_assert_int_eq(chk_unhex(hs[1], CHK_HEX_LEN, c.h), 0);
	ck_assert_int_eq(chk_unhex(seal_hex, CHK_HEX_LEN, c.seal), 0);
	n = chk_format_line(line, sizeof(line), SID, &c);
	ck_assert_str_eq(line,
			 "{\"sid\":\"" SID
			 "\",\"chk\":{\"n\":12,\"h\":\"53ab7b1cee497adda4ffe612a70a4de5cf9fecef"
			 "b38e696a0d916c6032f4869e\",\"seal\":\"70ad81aa67994c77608b1c533d9230ab6531aba9bea90e9d29"
			 "b4c14ea4c3b979\",\"epoch\":7,\"time\":1795527900}}\n");
	ck_assert_int_eq(chk_line_obj(line, (size_t)n - 1, &obj, &olen), 0);
	ck_assert_int_eq(chk_parse_obj(obj, olen, &back), 0);
	ck_assert(back.sealed && back.n == 12 && back.epoch == 7 && back.time == 1795527900);
	ck_assert(memcmp(back.h, c.h, CHK_HASH_LEN) == 0 && memcmp(back.seal, c.seal, CHK_HASH_LEN) == 0);
	ck_assert_int_eq(chk_line_obj(lines[0], strlen(lines[0]), &obj, &olen), -ENOENT);
}
END_TEST

/* Anything but the encoder's exact layout is refused. */
static const char *const bad_objs[] = {
	"",
	"{}",
	"{\"n\":1,\"h\":\"00\",\"time\":1}",
	"{\"n\":01,\"h\":\"687a073c89cdafc61364c17d60201f75962f0d503a470c7f9d43ca967b034a53\",\"time\":1}",
	"{\"n\":-1,\"h\":\"687a073c89cdafc61364c17d60201f75962f0d503a470c7f9d43ca967b034a53\",\"time\":1}",
	"{\"n\":1,\"h\":\"687A073C89cdafc61364c17d60201f75962f0d503a470c7f9d43ca967b034a53\",\"time\":1}",
	"{\"n\":1, \"h\":\"687a073c89cdafc61364c17d60201f75962f0d503a470c7f9d43ca967b034a53\",\"time\":1}",
	"{\"n\":1,\"h\":\"687a073c89cdafc61364c17d60201f75962f0d503a470c7f9d43ca967b034a53\",\"time\":1,\"x\":2}",
	"{\"n\":1,\"h\":\"687a073c89cdafc61364c17d60201f75962f0d503a470c7f9d43ca967b034a53\"}",
	"{\"n\":1,\"h\":\"687a073c89cdafc61364c17d60201f75962f0d503a470c7f9d43ca967b034a53\",\"seal\":\"00\","
	"\"epoch\":1,\"time\":1}",
	"{\"n\":99999999999999999999,\"h\":\"687a073c89cdafc61364c17d60201f75962f0d503a470c7f9d43ca967b034a53\","
	"\"time\":1}",
	"{\"n\":1,\"h\":\"687a073c89cdafc61364c17d60201f75962f0d503a470c7f9d43ca967b034a53\",\"time\":1}}",
};

START_TEST(test_parse_strict)
{
	struct chk c;

	ck_assert_int_eq(chk_parse_obj(bad_objs[_i], strlen(bad_objs[_i]), &c), -EBADMSG);
}
END_TEST

START_TEST(test_key_texts)
{
	struct chk_key k, back;
	char text[CHK_KEY_TEXT_MAX];
	int n;

	key0(&k);
	k.epoch = 42;
	n = chk_key_format(text, sizeof(text), &k);
	ck_assert_str_eq(text,
			 "sessrec-seal-key v1 1795521600 900 0000000042 "
			 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
	ck_assert_int_eq(chk_key_parse(text, (size_t)n, &back), 0);
	ck_assert(memcmp(&back.k, &k.k, sizeof(k.k)) == 0 && back.epoch == 42 && back.start == k.start &&
		  back.len == 900);
	ck_assert_int_eq(chk_key_parse(text, (size_t)n - 1, &back), -EINVAL);
	n = chk_vkey_format(text, sizeof(text), &k);
	ck_assert_str_eq(text, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f/1795521600/900");
	ck_assert_int_eq(chk_vkey_parse(text, (size_t)n, &back), 0);
	ck_assert(back.epoch == 0 && back.start == 1795521600 && back.len == 900);
	ck_assert_int_eq(
		chk_vkey_parse(" \n000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f/5/9\n",
			       strlen(" \n000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f/5/9\n"),
			       &back),
		0);
	ck_assert_int_eq(chk_vkey_parse("00/1/1", 6, &back), -EINVAL);
	ck_assert_int_eq(chk_vkey_parse(text, (size_t)n - 4, &back), -EINVAL); /* no length */
	ck_assert_int_eq(
		chk_vkey_parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f/1795521600/0",
			       strlen("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f/1795521600/0"),
			       &back),
		-EINVAL);
}
END_TEST

START_TEST(test_key_file)
{
	char dir[] = "/tmp/test_chk.XXXXXX", path[64];
	struct chk_key k, back;
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/seal.key", dir);
	key0(&k);
	ck_assert_int_eq(chk_key_save(path, &k, true), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(chk_key_save(path, &k, true), -EEXIST);
	chk_key_evolve(&k);
	ck_assert_int_eq(chk_key_save(path, &k, false), 0); /* in place */
	ck_assert_int_eq(chk_key_load(path, &back), 0);
	ck_assert(back.epoch == 1 && memcmp(back.k, k.k, sizeof(k.k)) == 0);
	if (geteuid() == 0) {
		ck_assert_int_eq(chmod(path, 0640), 0);
		ck_assert_int_eq(chk_key_load(path, &back), -EPERM);
	}
	unlink(path);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chk");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_chain_vectors);
	tcase_add_test(tc, test_evolve_and_seal);
	tcase_add_test(tc, test_end_line_input);
	tcase_add_test(tc, test_format_parse);
	tcase_add_loop_test(tc, test_parse_strict, 0, sizeof(bad_objs) / sizeof(bad_objs[0]));
	tcase_add_test(tc, test_key_texts);
	tcase_add_test(tc, test_key_file);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
