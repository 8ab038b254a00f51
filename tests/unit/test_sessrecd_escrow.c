/* Unit tests for the escrow of withheld input: withheld bytes given to the
 * real recorder (in-memory shard sink) come out as "esc" lines that the
 * shard parser reads back (shardread_escrow) and the private key opens to
 * the exact bytes, in pieces under the line limit; another key opens
 * nothing; without a key nothing is escrowed; the key file checks of
 * escrow_load. */
#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "escrow.h"
#include "memsink.h"
#include "recorder.h"
#include "shardread.h"
#include "state.h"
#include "testutil.h"

struct rig {
	struct daemon *d;
	struct memsink m;
	struct session_state st;
	struct state_sync sync;
	struct recording rec;
	char dir[64];
	uint8_t sk[32];
};

static void rig_init(struct rig *r, bool escrow)
{
	memset(r, 0, sizeof(*r));
	ck_assert_int_ge(sodium_init(), 0);
	r->d = calloc(1, sizeof(*r->d));
	ck_assert_ptr_nonnull(r->d);
	config_defaults(&r->d->cfg);
	snprintf(r->dir, sizeof(r->dir), "/tmp/test_sessrecd_escrow.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(r->dir));
	snprintf(r->d->cfg.shard_dir, sizeof(r->d->cfg.shard_dir), "%s", r->dir);
	memsink_init(&r->m);
	r->d->emitter = &r->m.emitter;
	r->d->sink = &r->m.sink;
	crypto_box_keypair(r->d->escrow_pk, r->sk);
	r->d->escrow_on = escrow;
	strcpy(r->st.sid, "0b6bd5d4-58cf-4f5e-9a4e-2b5a3a0c9d11");
	r->st.input = true;
	r->st.cap = 1 << 20;
	r->st.start_sec = time(NULL);
	recorder_init(&r->rec, r->d, &r->st, &r->sync, 1);
	ck_assert_int_eq(recorder_begin(&r->rec), 0);
}

static void rig_fini(struct rig *r)
{
	char cmd[128];

	recorder_release(&r->rec);
	recorder_close_all(r->d);
	state_free(&r->st);
	memsink_free(&r->m);
	free(r->d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void type_secret(struct rig *r, const char *s, size_t n)
{
	recorder_input(&r->rec, (const uint8_t *)s, n, true);
}

/* The esc lines from *at on, opened with pk/sk into out (appended); the
 * number of pieces, each checked for its "more" (all but the last of a
 * line) and its length. -1 when a piece does not open. */
static int open_pieces(struct rig *r, const uint8_t *pk, const uint8_t *sk, uint8_t *out, size_t *len)
{
	int pieces = 0;

	for (size_t i = 0; i < r->m.nlines; i++) {
		const char *line = r->m.lines[i];
		size_t n = strlen(line);
		struct shardread_line l;
		uint8_t sealed[SHARD_ESCROW_SEALED_MAX];
		bool more;
		ssize_t k;

		ck_assert_int_lt(n, SHARD_LINE_MAX);
		ck_assert_int_eq(shardread_parse(line, n - 1, &l), 0);
		if (l.kind != SHARDREAD_ESC) {
			shardread_release(&l);
			continue;
		}
		k = shardread_escrow(&l, sealed, sizeof(sealed), &more);
		ck_assert_int_gt(k, crypto_box_SEALBYTES);
		ck_assert_int_le(k - crypto_box_SEALBYTES, SHARD_ESCROW_PIECE);
		/* the next line says whether this one was the last piece */
		ck_assert_int_eq(more, strstr(r->m.lines[i + 1], "\"esc\"") != NULL);
		shardread_release(&l);
		if (crypto_box_seal_open(out + *len, sealed, (size_t)k, pk, sk) != 0)
			return -1;
		*len += (size_t)k - crypto_box_SEALBYTES;
		pieces++;
	}
	return pieces;
}

START_TEST(test_round_trip)
{
	struct rig r;
	uint8_t out[64], pk2[32], sk2[32];
	size_t len = 0;
	size_t at = 0;

	rig_init(&r, true);
	type_secret(&r, "hunter", 6);
	type_secret(&r, "2\r", 2);
	ck_assert_int_eq(open_pieces(&r, r.d->escrow_pk, r.sk, out, &len), 1);
	ck_assert_uint_eq(len, 8);
	ck_assert_int_eq(memcmp(out, "hunter2\r", 8), 0);
	/* the marker follows its sealed line; nothing in clear */
	ck_assert_ptr_nonnull(memsink_line(&r.m, &at, "\"esc\":\""));
	ck_assert_ptr_nonnull(memsink_line(&r.m, &at, "input withheld: 8 bytes (echo off)"));
	ck_assert_ptr_null(memsink_line(&r.m, NULL, "hunter"));
	/* another key opens nothing */
	crypto_box_keypair(pk2, sk2);
	len = 0;
	ck_assert_int_eq(open_pieces(&r, pk2, sk2, out, &len), -1);
	rig_fini(&r);
}
END_TEST

START_TEST(test_long_line_in_pieces)
{
	struct rig r;
	static char in[5001];
	static uint8_t out[6000];
	size_t len = 0;

	rig_init(&r, true);
	for (size_t i = 0; i < 5000; i++)
		in[i] = (char)('a' + i % 26);
	in[5000] = '\r';
	type_secret(&r, in, 3000);
	type_secret(&r, in + 3000, 2001);
	ck_assert_int_eq(open_pieces(&r, r.d->escrow_pk, r.sk, out, &len), 3);
	ck_assert_uint_eq(len, 5001);
	ck_assert_int_eq(memcmp(out, in, 5001), 0);
	rig_fini(&r);
}
END_TEST

START_TEST(test_exact_piece_then_enter)
{
	struct rig r;
	static char in[SHARD_ESCROW_PIECE + 1];
	static uint8_t out[SHARD_ESCROW_PIECE + 1];
	size_t len = 0;

	rig_init(&r, true);
	memset(in, 'x', SHARD_ESCROW_PIECE);
	in[SHARD_ESCROW_PIECE] = '\r';
	type_secret(&r, in, SHARD_ESCROW_PIECE); /* a full piece, the line not over */
	ck_assert_ptr_null(memsink_line(&r.m, NULL, "\"esc\""));
	type_secret(&r, in + SHARD_ESCROW_PIECE, 1);
	ck_assert_int_eq(open_pieces(&r, r.d->escrow_pk, r.sk, out, &len), 2);
	ck_assert_uint_eq(len, sizeof(in));
	rig_fini(&r);
}
END_TEST

START_TEST(test_off_without_key)
{
	struct rig r;

	rig_init(&r, false);
	type_secret(&r, "hunter2\r", 8);
	ck_assert_ptr_null(memsink_line(&r.m, NULL, "\"esc\""));
	ck_assert_ptr_nonnull(memsink_line(&r.m, NULL, "input withheld: 8 bytes (echo off)"));
	rig_fini(&r);
}
END_TEST

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(test_load_checks)
{
	char dir[64], path[128], why[512];
	uint8_t pk[32];
	bool on = true;

	ck_assert_int_ge(sodium_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/test_sessrecd_escrow.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/escrow.pub", dir);
	ck_assert_int_eq(escrow_load("", pk, &on, why, sizeof(why)), 0);
	ck_assert(!on);
	/* 32 bytes of 0x09, hex then base64 */
	write_file(path, "0909090909090909090909090909090909090909090909090909090909090909\n", 0644);
	ck_assert_int_eq(escrow_load(path, pk, &on, why, sizeof(why)), 0);
	ck_assert(on);
	ck_assert_uint_eq(pk[31], 9);
	write_file(path, "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n", 0644);
	ck_assert_int_eq(escrow_load(path, pk, &on, why, sizeof(why)), 0);
	write_file(path, "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n", 0664);
	ck_assert_int_eq(escrow_load(path, pk, &on, why, sizeof(why)), -EPERM);
	ck_assert_ptr_nonnull(strstr(why, "not group/other-writable (uid 0, mode 0664)"));
	write_file(path, "not a key\n", 0644);
	ck_assert_int_eq(escrow_load(path, pk, &on, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "holds no key"));
	/* all zeros: a low-order point libsodium refuses */
	write_file(path, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 0644);
	ck_assert_int_eq(escrow_load(path, pk, &on, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "not a usable X25519 public key"));
	ck_assert_int_eq(chmod(dir, 0777), 0);
	write_file(path, "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n", 0644);
	ck_assert_int_eq(escrow_load(path, pk, &on, why, sizeof(why)), -EPERM);
	unlink(path);
	ck_assert_int_eq(escrow_load(path, pk, &on, why, sizeof(why)), -ENOENT);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sessrecd_escrow");
	TCase *tc = tcase_create("escrow");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_long_line_in_pieces);
	tcase_add_test(tc, test_exact_piece_then_enter);
	tcase_add_test(tc, test_off_without_key);
	tcase_add_test(tc, test_load_checks);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
