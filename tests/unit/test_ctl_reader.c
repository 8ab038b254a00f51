/* Unit tests for sessrecctl's reading of shard files (store.c, reader.c and
 * common/shardscan.c behind them): small shards written here, plain and as
 * gzip siblings, give the same lines; torn, corrupt and overlong lines are
 * reported ("FILE:LINE: corrupt line skipped", counted in st.corrupt) and
 * skipped; lines spanning the reader's 4 MiB chunks come out whole;
 * damaged gzip data ends that file with a warning, a gzip file cut short
 * is called truncated; after five corrupt lines a file's are counted; a
 * file that shrinks under the reader (even under its mmap window) is
 * reported once, without a signal. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "reader.h"
#include "shardscan.h"
#include "store.h"
#include "testutil.h"

#define A "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define B "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

static char dir[64];
static char errfile[96];
static int saved_stderr = -1;

static void mkstore(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_ctl_reader.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(errfile, sizeof(errfile), "%s/stderr", dir);
}

static void rmstore(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *name, const void *data, size_t n, bool gz)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (gz) {
		gzFile g = gzopen(path, "wb");

		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(gzwrite(g, data, (unsigned)n), (int)n);
		ck_assert_int_eq(gzclose(g), Z_OK);
	} else {
		FILE *f = fopen(path, "wb");

		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(data, 1, n, f), n);
		ck_assert_int_eq(fclose(f), 0);
	}
}

/* stderr into errfile while the reader warns. */
static void capture(void)
{
	int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* What was written to stderr since capture(), NUL-terminated (free it). */
static char *captured(void)
{
	FILE *f;
	char *buf = calloc(1, 1 << 16);

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	f = fopen(errfile, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_lt(fread(buf, 1, (1 << 16) - 1, f), 1 << 16);
	fclose(f);
	return buf;
}

static void open_store(struct store *st)
{
	struct ctl ctl = { .ndirs = 1 };

	ctl.dirs[0] = dir;
	ck_assert_int_eq(store_open(st, &ctl), 0);
}

/* Every line of file index as "LINENO KIND SID|BYTES\n" into out (the event
 * bytes as the --format raw export sees them, want BYTES). */
static void scan_file(struct store *st, size_t index, unsigned want, char *out, size_t cap)
{
	struct reader r;
	size_t at = 0;

	out[0] = 0;
	ck_assert_int_eq(reader_open(&r, st, index, 0, 0), 0);
	while (shardscan_next(&r.scan) == 1) {
		const struct shardread_line *l = &r.scan.l;
		int k = shardscan_take(&r.scan, want);

		if (k == -EBADMSG)
			continue;
		ck_assert_int_eq(k, 0);
		at += (size_t)snprintf(out + at, cap - at, "%llu %d %.*s|", (unsigned long long)r.lineno, l->kind,
				       (int)l->sid_len, l->sid);
		if (l->kind == SHARDREAD_EVENT) {
			ck_assert_uint_lt(at + r.scan.ndata, cap);
			memcpy(out + at, r.scan.data, r.scan.ndata);
			at += r.scan.ndata;
		}
		at += (size_t)snprintf(out + at, cap - at, "\n");
		ck_assert_uint_lt(at, cap);
	}
	reader_close(&r);
}

static const char shard[] = "{\"sid\":\"" A
			    "\",\"hdr\":{\"version\":2,\"width\":80,\"height\":24,\"timestamp\":1767225600},"
			    "\"meta\":{\"user\":\"alice\"}}\n" /* 1 */
			    "{\"sid\":\"" A
			    "\",\"t\":0.100000,\"ch\":\"o\",\"d\":\"hello\\r\\n\"}\n" /* 2 */
			    "{\"sid\": this is not json\n"                            /* 3: corrupt */
			    "{\"sid\":\"" A
			    "\",\"t\":0.200000,\"ch\":\"o\",\"d\":\"\\ufffd\",\"raw\":\"/w==\"}\n" /* 4 */
			    "{ \"sid\": \"" A
			    "\", \"t\": 0.3, \"ch\": \"o\", \"d\": \"json-c\" }\n" /* 5: not the writer's layout */
			    "\n"                                                   /* 6: empty: corrupt */
			    "{\"sid\":\"" B
			    "\",\"t\":0.400000,\"ch\":\"i\",\"d\":\"other\"}\n" /* 7 */
			    "{\"sid\":\"" A
			    "\",\"t\":0.500000,\"ch\":\"o\",\"d\":\"x\",\"raw\":\"!!!!\"}\n" /* 8: bad base64 */
			    "{\"sid\":\"" A
			    "\",\"trunc\":true}\n"                                    /* 9 */
			    "{\"sid\":\"bad sid\",\"t\":1,\"ch\":\"o\",\"d\":\"\"}\n" /* 10: corrupt */
			    "{\"sid\":\"" A
			    "\",\"end\":{\"duration\":1.5,\"reason\":\"exit\"}}\n"        /* 11 */
			    "{\"sid\":\"" A "\",\"t\":0.600000,\"ch\":\"o\",\"d\":\"tor"; /* 12: torn, no newline */

static const char want_bytes[] = "1 1 " A
				 "|\n"
				 "2 2 " A
				 "|hello\r\n\n"
				 "4 2 " A
				 "|\xff\n"
				 "5 2 " A
				 "|json-c\n"
				 "7 2 " B
				 "|other\n"
				 "9 3 " A
				 "|\n"
				 "11 4 " A "|\n";

START_TEST(test_plain_and_gz)
{
	struct store st;
	char *got = malloc(1 << 16), *err;

	mkstore();
	put("sessions-2026-01-01.jsonl", shard, sizeof(shard) - 1, false);
	put("sessions-2026-01-02.jsonl.gz", shard, sizeof(shard) - 1, true);
	put("sessions-2026-01-03.jsonl.bak", shard, sizeof(shard) - 1, false); /* not a shard */
	put("notes.txt", "x", 1, false);
	open_store(&st);
	ck_assert_uint_eq(st.nfiles, 2);
	ck_assert(!st.files[0].gz && st.files[1].gz);
	ck_assert_int_eq(st.files[0].day, 1767225600);
	ck_assert_int_eq(st.files[1].day, 1767225600 + 86400);
	for (size_t i = 0; i < 2; i++) {
		char expect[256];

		capture();
		scan_file(&st, i, SHARDSCAN_BYTES, got, 1 << 16);
		err = captured();
		ck_assert_str_eq(got, want_bytes);
		for (int k = 0; k < 5; k++) {
			static const int bad[] = { 3, 6, 8, 10, 12 };

			snprintf(expect, sizeof(expect), "sessrecctl: %s:%d: corrupt line skipped\n", st.files[i].path,
				 bad[k]);
			ck_assert_msg(strstr(err, expect), "file %zu: no '%s' in '%s'", i, expect, err);
		}
		free(err);
	}
	ck_assert_uint_eq(st.corrupt, 10);
	ck_assert(!st.io_error);
	store_close(&st);
	rmstore();
	free(got);
}
END_TEST

/* The text of "d" (text views): line 8's bad "raw" does not matter. */
START_TEST(test_text)
{
	struct store st;
	char *got = malloc(1 << 16), *err;

	mkstore();
	put("sessions-2026-01-01.jsonl", shard, sizeof(shard) - 1, false);
	open_store(&st);
	capture();
	scan_file(&st, 0, SHARDSCAN_TEXT, got, 1 << 16);
	err = captured();
	ck_assert_ptr_nonnull(strstr(got, "4 2 " A "|\xef\xbf\xbd\n"));
	ck_assert_ptr_nonnull(strstr(got, "8 2 " A "|x\n"));
	ck_assert_uint_eq(st.corrupt, 4);
	free(err);
	store_close(&st);
	rmstore();
	free(got);
}
END_TEST

/* A quiet scan (find's) skips what is not a shard line without a word. */
START_TEST(test_quiet)
{
	struct store st;
	struct reader r;
	char *err;
	int n = 0;

	mkstore();
	put("sessions-2026-01-01.jsonl", shard, sizeof(shard) - 1, false);
	open_store(&st);
	capture();
	ck_assert_int_eq(reader_open(&r, &st, 0, 0, 0), 0);
	r.scan.quiet = true;
	while (shardscan_next(&r.scan) == 1)
		n++;
	reader_close(&r);
	err = captured();
	ck_assert_int_eq(n, 8); /* 8 classified: its framing only, so line 8 too */
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(st.corrupt, 0);
	free(err);
	store_close(&st);
	rmstore();
}
END_TEST

/* Lines across the 4 MiB chunks (mmap windows, inflated chunks) and an
 * overlong line (reported at its first line number, skipped). */
START_TEST(test_chunks)
{
	size_t cap = 3 * READER_CHUNK + 2 * SHARDREAD_LINE_MAX, at = 0;
	char *buf = malloc(cap), *got = malloc(1 << 20), *err;
	unsigned nlines = 0;
	struct store st;

	mkstore();
	while (at < 2 * READER_CHUNK + 12345) {
		at += (size_t)sprintf(buf + at, "{\"sid\":\"" A "\",\"t\":%u.000000,\"ch\":\"o\",\"d\":\"", nlines);
		for (unsigned k = 0; k < 97 + nlines % 3001; k++)
			buf[at++] = (char)('a' + (nlines + k) % 26);
		at += (size_t)sprintf(buf + at, "\"}\n");
		nlines++;
		if (nlines == 1000) { /* overlong: line 1001 */
			at += (size_t)sprintf(buf + at, "{\"sid\":\"" A "\",\"t\":1,\"ch\":\"o\",\"d\":\"");
			memset(buf + at, 'z', SHARDREAD_LINE_MAX);
			at += SHARDREAD_LINE_MAX;
			at += (size_t)sprintf(buf + at, "\"}\n");
		}
	}
	put("sessions-2026-01-01.jsonl", buf, at, false);
	put("sessions-2026-01-02.jsonl.gz", buf, at, true);
	open_store(&st);
	for (size_t i = 0; i < 2; i++) {
		struct reader r;
		unsigned seen = 0;

		capture();
		ck_assert_int_eq(reader_open(&r, &st, i, 0, 0), 0);
		while (shardscan_next(&r.scan) == 1) {
			unsigned want = seen;

			ck_assert_int_eq(shardscan_take(&r.scan, SHARDSCAN_BYTES), 0);
			ck_assert(r.scan.l.t == (double)want);
			ck_assert_uint_eq(r.scan.ndata, 97 + want % 3001);
			for (unsigned k = 0; k < r.scan.ndata; k++)
				REQUIRE(r.scan.data[k] == (uint8_t)('a' + (want + k) % 26));
			ck_assert_uint_eq(r.lineno, want < 1000 ? want + 1 : want + 2);
			seen++;
		}
		reader_close(&r);
		err = captured();
		ck_assert_uint_eq(seen, nlines);
		snprintf(got, 1 << 20, "sessrecctl: %s:1001: corrupt line skipped\n", st.files[i].path);
		ck_assert_str_eq(err, got);
		free(err);
	}
	ck_assert_uint_eq(st.corrupt, 2);
	store_close(&st);
	rmstore();
	free(buf);
	free(got);
}
END_TEST

/* Reading from an offset (where find located a session). */
START_TEST(test_offset)
{
	struct store st;
	struct reader r;
	const char *second = strchr(shard, '\n') + 1;
	uint64_t off = (uint64_t)(second - shard);

	mkstore();
	put("sessions-2026-01-01.jsonl", shard, sizeof(shard) - 1, false);
	put("sessions-2026-01-02.jsonl.gz", shard, sizeof(shard) - 1, true);
	open_store(&st);
	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(reader_open(&r, &st, i, off, 1), 0);
		ck_assert_int_eq(shardscan_next(&r.scan), 1);
		ck_assert_uint_eq(r.lineno, 2);
		ck_assert_uint_eq(r.line_off, off);
		ck_assert_int_eq(r.scan.l.kind, SHARDREAD_EVENT);
		ck_assert(r.scan.l.t == 0.1);
		reader_close(&r);
	}
	store_close(&st);
	rmstore();
}
END_TEST

/* Damaged compressed data: the lines before it count, the rest of that
 * file is skipped with one warning (counted as corrupt, not an I/O error). */
START_TEST(test_gz_damaged)
{
	char path[128], *err;
	struct store st;
	struct reader r;
	struct stat sb;
	int fd, n = 0;

	mkstore();
	put("sessions-2026-01-02.jsonl.gz", shard, sizeof(shard) - 1, true);
	snprintf(path, sizeof(path), "%s/sessions-2026-01-02.jsonl.gz", dir);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_int_eq(pwrite(fd, "\xff\xff\xff\xff\xff\xff\xff\xff", 8, sb.st_size / 2), 8);
	close(fd);
	open_store(&st);
	capture();
	ck_assert_int_eq(reader_open(&r, &st, 0, 0, 0), 0);
	while (shardscan_next(&r.scan) == 1)
		n++;
	reader_close(&r);
	err = captured();
	ck_assert_ptr_nonnull(strstr(err, "(rest of the file skipped)"));
	ck_assert_int_lt(n, 8);
	ck_assert_uint_ge(st.corrupt, 1);
	ck_assert(!st.io_error);
	free(err);
	store_close(&st);
	rmstore();
}
END_TEST

/* n event lines of sid A, 200 bytes each ('\n' included), into buf. */
static size_t event_lines(char *buf, unsigned n)
{
	size_t at = 0;

	for (unsigned i = 0; i < n; i++) {
		int k = sprintf(buf + at, "{\"sid\":\"" A "\",\"t\":%u.000000,\"ch\":\"o\",\"d\":\"", i);

		memset(buf + at + k, 'a' + (char)(i % 26), (size_t)(200 - k - 3));
		memcpy(buf + at + 197, "\"}\n", 3);
		at += 200;
	}
	return at;
}

/* A shard cut to 4 KiB while its first mmap window is being scanned (and
 * the next one mapped by the helper thread): the lines past the cut are
 * gone, without a signal and without a "corrupt" word; one "changed while
 * read" names the sizes, and the scan counts as not complete. */
START_TEST(test_shrink_under_the_reader)
{
	unsigned n = (unsigned)(3 * READER_CHUNK / 200), seen = 0;
	char *buf = malloc((size_t)n * 200), path[128], want[256], *err;
	size_t size = event_lines(buf, n);
	struct store st;
	struct reader r;

	mkstore();
	put("sessions-2026-01-01.jsonl", buf, size, false);
	snprintf(path, sizeof(path), "%s/sessions-2026-01-01.jsonl", dir);
	open_store(&st);
	capture();
	ck_assert_int_eq(reader_open(&r, &st, 0, 0, 0), 0);
	while (shardscan_next(&r.scan) == 1) {
		ck_assert_int_eq(shardscan_take(&r.scan, SHARDSCAN_BYTES), 0);
		ck_assert(r.scan.l.t == (double)seen);
		if (++seen == 3)
			ck_assert_int_eq(truncate(path, 4096), 0);
	}
	reader_close(&r);
	err = captured();
	snprintf(want, sizeof(want), "sessrecctl: %s: changed while read (truncated from %zu to 4096 bytes)\n", path,
		 size);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(seen, 4096 / 200);
	ck_assert(st.io_error);
	ck_assert_uint_eq(st.corrupt, 0);
	free(err);
	store_close(&st);
	rmstore();
	free(buf);
}
END_TEST

/* A file that lost its end between the listing and the reading: the same. */
START_TEST(test_shrunk_before_open)
{
	unsigned n = 100, seen = 0;
	char *buf = malloc((size_t)n * 200), path[128], want[256], *err;
	size_t size = event_lines(buf, n);
	struct store st;
	struct reader r;

	mkstore();
	put("sessions-2026-01-01.jsonl", buf, size, false);
	snprintf(path, sizeof(path), "%s/sessions-2026-01-01.jsonl", dir);
	open_store(&st);
	ck_assert_int_eq(truncate(path, 1000), 0);
	capture();
	ck_assert_int_eq(reader_open(&r, &st, 0, 0, 0), 0);
	while (shardscan_next(&r.scan) == 1)
		seen++;
	reader_close(&r);
	err = captured();
	snprintf(want, sizeof(want), "sessrecctl: %s: changed while read (truncated from %zu to 1000 bytes)\n", path,
		 size);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(seen, 5);
	ck_assert(st.io_error);
	free(err);
	store_close(&st);
	rmstore();
	free(buf);
}
END_TEST

/* Twelve corrupt lines: the first five reported, then their count. */
START_TEST(test_corrupt_summary)
{
	char buf[4096], want[1024], *err;
	size_t at = 0, w = 0;
	struct store st;
	struct reader r;

	mkstore();
	for (int i = 0; i < 12; i++)
		at += (size_t)sprintf(buf + at, "not a shard line %d\n", i);
	at += (size_t)sprintf(buf + at, "{\"sid\":\"" A "\",\"t\":1.000000,\"ch\":\"o\",\"d\":\"x\"}\n");
	put("sessions-2026-01-01.jsonl", buf, at, false);
	open_store(&st);
	for (int i = 1; i <= READER_CORRUPT_SHOWN; i++)
		w += (size_t)snprintf(want + w, sizeof(want) - w, "sessrecctl: %s:%d: corrupt line skipped\n",
				      st.files[0].path, i);
	snprintf(want + w, sizeof(want) - w, "sessrecctl: %d more corrupt lines in %s\n", 12 - READER_CORRUPT_SHOWN,
		 st.files[0].path);
	capture();
	ck_assert_int_eq(reader_open(&r, &st, 0, 0, 0), 0);
	ck_assert_int_eq(shardscan_next(&r.scan), 1);
	ck_assert_uint_eq(r.lineno, 13);
	ck_assert_int_eq(shardscan_next(&r.scan), 0);
	reader_close(&r);
	err = captured();
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(st.corrupt, 12);
	free(err);
	store_close(&st);
	rmstore();
}
END_TEST

/* A gzip shard cut in half: "truncated", not a corrupt line; the lines
 * before the cut are read. */
START_TEST(test_gz_cut)
{
	unsigned n = 2000, seen = 0;
	char *buf = malloc((size_t)n * 200), path[128], want[256], *err;
	size_t size = event_lines(buf, n);
	struct store st;
	struct reader r;
	struct stat sb;

	mkstore();
	put("sessions-2026-01-01.jsonl.gz", buf, size, true);
	snprintf(path, sizeof(path), "%s/sessions-2026-01-01.jsonl.gz", dir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(truncate(path, sb.st_size / 2), 0);
	open_store(&st);
	capture();
	ck_assert_int_eq(reader_open(&r, &st, 0, 0, 0), 0);
	while (shardscan_next(&r.scan) == 1) {
		ck_assert_int_eq(shardscan_take(&r.scan, SHARDSCAN_BYTES), 0);
		ck_assert(r.scan.l.t == (double)seen++);
	}
	reader_close(&r);
	err = captured();
	snprintf(want, sizeof(want),
		 "sessrecctl: %s: truncated: the gzip data stops before its end (the lines before the cut are read)\n",
		 path);
	ck_assert_str_eq(err, want);
	ck_assert_uint_gt(seen, 0);
	ck_assert_uint_lt(seen, n);
	ck_assert_uint_eq(st.corrupt, 1);
	ck_assert(!st.io_error);
	free(err);
	store_close(&st);
	rmstore();
	free(buf);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("reader");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_plain_and_gz);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_quiet);
	tcase_add_test(tc, test_chunks);
	tcase_add_test(tc, test_offset);
	tcase_add_test(tc, test_gz_damaged);
	tcase_add_test(tc, test_shrink_under_the_reader);
	tcase_add_test(tc, test_shrunk_before_open);
	tcase_add_test(tc, test_corrupt_summary);
	tcase_add_test(tc, test_gz_cut);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
