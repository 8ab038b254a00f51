/* Unit tests for sessrecd/chain and sessrecd/chainseed: a session's chain
 * fed line by line (interleaved with another session's), a checkpoint after
 * 64 KiB of its lines and none before, the end line carrying the checkpoint
 * of the whole session, and a resume's reading of a shard back to the last
 * anchor giving the same chain as the writer kept, with or without a
 * checkpoint to start from. No seal key here (chk.h's vectors test seals). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "chainseed.h"
#include "testutil.h"

#define SID_A "aaaaaaaa-0000-4000-8000-000000000001"
#define SID_B "bbbbbbbb-0000-4000-8000-000000000002"

struct shard {
	char path[64];
	FILE *f;
};

static void shard_open(struct shard *s)
{
	int fd;

	snprintf(s->path, sizeof(s->path), "/tmp/test_chain.XXXXXX");
	fd = mkstemp(s->path);
	ck_assert_int_ge(fd, 0);
	s->f = fdopen(fd, "w+");
	ck_assert_ptr_nonnull(s->f);
}

static void shard_close(struct shard *s)
{
	fclose(s->f);
	unlink(s->path);
}

/* A line written for owner: into the file and the chain, as wlines does. */
static void put(struct chain *c, struct shard *s, uint64_t owner, const char *line)
{
	char buf[8192];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "%s\n", line);

	fwrite(buf, 1, n, s->f);
	fflush(s->f);
	chain_wrote(c, owner, fileno(s->f), buf, n);
}

/* A checkpoint if due, written and chained; whether one was. */
static bool checkpoint(struct chain *c, struct shard *s, uint64_t owner)
{
	char line[512];
	int fd, n = chain_chk_due(c, owner, false, 0, line, sizeof(line), &fd);

	if (n <= 0)
		return false;
	fwrite(line, 1, (size_t)n, s->f);
	fflush(s->f);
	chain_chk_written(c, owner, line, (size_t)n);
	return true;
}

static void hdr(char *out, size_t cap, const char *sid)
{
	snprintf(out, cap, "{\"sid\":\"%s\",\"hdr\":{\"version\":2,\"width\":80,\"height\":24,\"timestamp\":1}}", sid);
}

static void event(char *out, size_t cap, const char *sid, int i)
{
	char d[1100];

	memset(d, 'a' + i % 26, sizeof(d) - 1);
	d[sizeof(d) - 1] = '\0';
	snprintf(out, cap, "{\"sid\":\"%s\",\"t\":%d.000000,\"ch\":\"o\",\"d\":\"%s\"}", sid, i, d);
}

/* The chain of sid recomputed from the file with chk.h alone. */
static void recompute(struct shard *s, const char *sid, uint64_t *n, uint8_t h[CHK_HASH_LEN])
{
	char line[8192];

	*n = 0;
	chk_h0(sid, h);
	rewind(s->f);
	while (fgets(line, sizeof(line), s->f)) {
		size_t len = strlen(line) - 1;

		if (strncmp(line + 8, sid, strlen(sid)) != 0)
			continue;
		chk_step(h, line, len);
		(*n)++;
	}
	fseek(s->f, 0, SEEK_END);
}

START_TEST(test_chain_and_seed)
{
	struct chain c;
	struct shard s;
	struct chain_state st;
	char line[4096], end[4096 + CHK_MEMBER_MAX], buf[8192];
	uint8_t h[CHK_HASH_LEN];
	uint64_t n;
	int chks = 0, len;
	const char *in, *obj;
	size_t inlen, olen;
	struct chk k;
	struct chainseed_cache cache = { 0 };

	ck_assert_int_eq(chain_init(&c, NULL), -ENOENT);
	shard_open(&s);
	/* a fresh session: the seed is h_0, nothing chained */
	ck_assert_int_eq(chainseed_scan(&cache, fileno(s.f), SID_A, &st), 0);
	ck_assert_uint_eq(st.n, 0);
	hdr(line, sizeof(line), SID_A);
	put(&c, &s, 1, line);
	hdr(line, sizeof(line), SID_B);
	put(&c, &s, 2, line);
	for (int i = 0; i < 150; i++) {
		event(line, sizeof(line), i % 3 ? SID_A : SID_B, i);
		put(&c, &s, i % 3 ? 1 : 2, line);
		chks += checkpoint(&c, &s, 1);
		(void)checkpoint(&c, &s, 2);
		if (i == 40) {
			/* before its first checkpoint: the resume reads back to the header */
			ck_assert_int_eq(chks, 0);
			ck_assert_int_eq(chainseed_scan(&cache, fileno(s.f), SID_A, &st), 0);
			recompute(&s, SID_A, &n, h);
			ck_assert_uint_eq(st.n, n);
			ck_assert(memcmp(st.h, h, CHK_HASH_LEN) == 0);
		}
	}
	/* 100 lines of ~1.1 KiB: one checkpoint per 64 KiB, not more */
	ck_assert_int_eq(chks, 1);
	ck_assert_int_eq(chainseed_scan(&cache, fileno(s.f), SID_A, &st), 0);
	recompute(&s, SID_A, &n, h);
	ck_assert_uint_eq(st.n, n);
	ck_assert(memcmp(st.h, h, CHK_HASH_LEN) == 0);
	ck_assert_uint_gt(st.since, 0);
	/* the same tail, kept, serves the next session resumed in the shard */
	ck_assert_int_eq(chainseed_scan(&cache, fileno(s.f), SID_B, &st), 0);
	recompute(&s, SID_B, &n, h);
	ck_assert_uint_eq(st.n, n);
	ck_assert(memcmp(st.h, h, CHK_HASH_LEN) == 0);
	/* the end line's checkpoint covers the whole session, end line included */
	snprintf(line, sizeof(line), "{\"sid\":\"%s\",\"end\":{\"duration\":1.000000}}\n", SID_A);
	ck_assert(chain_is_end(line, strlen(line)));
	ck_assert(!chain_is_end(buf, (size_t)snprintf(buf, sizeof(buf), "{\"sid\":\"%s\",\"t\":1}", SID_A)));
	recompute(&s, SID_A, &n, h);
	chk_step(h, line, strlen(line) - 1); /* the end line as the recorder made it */
	len = chain_end_line(&c, 1, line, strlen(line), end, sizeof(end));
	ck_assert_int_gt(len, 0);
	fwrite(end, 1, (size_t)len, s.f);
	fflush(s.f);
	chain_end_written(&c, 1, end, (size_t)len);
	ck_assert(chk_line_input(end, (size_t)len - 1, buf, sizeof(buf), &in, &inlen, &obj, &olen));
	ck_assert_uint_eq(inlen, strlen(line) - 1);
	ck_assert(memcmp(in, line, inlen) == 0);
	ck_assert(chain_take_final(&c, 1, &k));
	ck_assert(!chain_take_final(&c, 1, &k)); /* taken once */
	ck_assert_uint_eq(k.n, n + 1);
	ck_assert(memcmp(k.h, h, CHK_HASH_LEN) == 0);
	ck_assert(!k.sealed);
	chainseed_drop(&cache);
	shard_close(&s);
	chain_fini(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sessrecd_chain");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_chain_and_seed);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
