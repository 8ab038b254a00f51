/* bench_encoder: throughput of the shard line encoder (common/shardline) on
 * terminal-like inputs fed in pty-sized reads; prints MB/s of input and the
 * expansion (shard bytes per input byte). Usage: bench_encoder [MiB]
 * Not built by cmake: cc -O2 -D_GNU_SOURCE -Icommon bench/bench_encoder.c
 * common/shardline.c common/shardt.c common/shardx1b.c common/utf8.c
 * common/b64.c common/monoclock.c */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monoclock.h"
#include "shardline.h"

#define SID "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define READ_SIZE 4096   /* what a pty read gives under load */
#define BATCH_SIZE 16384 /* the daemon's batched reads */

static int count_line(void *userdata, const char *line, size_t len)
{
	size_t *total = userdata;

	*total += len + (size_t)(line[0] == 0); /* keep the line "used" */
	return 0;
}

/* Fills n bytes by cycling through pieces picked by a fixed LCG. */
static void fill(uint8_t *out, size_t n, const char *const *piece, size_t npiece)
{
	unsigned seed = 42;
	size_t o = 0;

	while (o < n) {
		seed = seed * 1103515245u + 12345u;
		const char *s = piece[(seed >> 16) % npiece];
		size_t l = strlen(s);

		if (l > n - o)
			l = n - o;
		memcpy(out + o, s, l);
		o += l;
	}
}

/* Uniform in [0, 1), from splitmix64: fixed seed, same data every run. */
static double rnd01(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

static const char *pick(uint64_t *s, const char *const *v, size_t nv)
{
	return v[(size_t)(rnd01(s) * (double)nv)];
}

/* Appends s to line[*len] (line holds 512 bytes: a line is < 300). */
static void put(char *line, size_t *len, const char *s)
{
	size_t l = strlen(s);

	memcpy(line + *len, s, l);
	*len += l;
}

/* The busy-terminal mix of make_data() in bench/bench_engine.py (same words,
 * colours and odds: 4-16 words a line, 15% of them UTF-8 with 2-, 3- and
 * 4-byte characters, 6% wrapped in an SGR colour, 5% of lines erase-line +
 * \r progress lines, 5% start with a tab) as the pty delivers it: \r\n line
 * ends (onlcr). Its own PRNG, so not the same bytes, the same mix. */
static void fill_terminal(uint8_t *out, size_t n)
{
	/* clang-format off */
	static const char *const ascii[] = {
		"the", "of", "and", "to", "in", "is", "for", "on", "that", "by", "this", "with",
		"from", "are", "at", "as", "be", "server", "error", "warning", "request", "user",
		"session", "connect", "close", "open", "read", "write", "/var/log/syslog",
		"127.0.0.1", "0x7f3a2c", "200", "404", "OK", "done",
	};
	static const char *const utf8[] = {
		"caf\xc3\xa9", "na\xc3\xafve", "Gr\xc3\xbc\xc3\x9f" "e", "fa\xc3\xa7" "ade",
		"\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87", "\xd0\xb4\xd0\xbe\xd1\x81\xd1\x82\xd1\x83\xd0\xbf",
		"\xd0\xbe\xd1\x88\xd0\xb8\xd0\xb1\xd0\xba\xd0\xb0", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		"\xe4\xb8\xad\xe6\x96\x87", "\xcf\x80\xe2\x89\x88" "3.14", "\xe2\x86\x92", "\xe2\x9c\x93",
		"\xe2\x9c\x97", "\xe2\x82\xac" "42", "\xf0\x9f\x98\x80", "\xf0\x9f\x9a\x80",
		"\xce\xa9mega",
	};
	/* clang-format on */
	static const char *const colour[] = {
		"\x1b[1;31m", "\x1b[32m", "\x1b[1;33m", "\x1b[34m", "\x1b[38;5;208m", "\x1b[1m",
	};
	uint64_t seed = 5555;
	size_t o = 0;

	while (o < n) {
		char words[512], line[512];
		size_t wl = 0, ll = 0;
		int nw = 4 + (int)(rnd01(&seed) * 13);
		double r;

		for (int w = 0; w < nw; w++) {
			const char *word = rnd01(&seed) < 0.15 ? pick(&seed, utf8, sizeof(utf8) / sizeof(utf8[0]))
							       : pick(&seed, ascii, sizeof(ascii) / sizeof(ascii[0]));
			bool coloured = rnd01(&seed) < 0.06;

			if (w > 0)
				put(words, &wl, " ");
			if (coloured)
				put(words, &wl, pick(&seed, colour, sizeof(colour) / sizeof(colour[0])));
			put(words, &wl, word);
			if (coloured)
				put(words, &wl, "\x1b[0m");
		}
		words[wl] = '\0';
		r = rnd01(&seed);
		if (r < 0.05)
			put(line, &ll, "\x1b[2K\r");
		else if (r < 0.10)
			put(line, &ll, "\t");
		put(line, &ll, words);
		put(line, &ll, "\r\n");
		if (ll > n - o)
			ll = n - o;
		memcpy(out + o, line, ll);
		o += ll;
	}
}

static void run(const char *name, const uint8_t *buf, size_t n, size_t read_size)
{
	struct shard_utf8 carry = { 0 };
	size_t total = 0;
	double t0 = mono_sec(), dt;

	for (size_t at = 0; at < n; at += read_size) {
		size_t k = n - at < read_size ? n - at : read_size;

		if (shard_encode_event(&carry, SID, (double)at / 1e6, 'o', buf + at, k, count_line, &total) < 0)
			abort();
	}
	shard_encode_flush(&carry, SID, 1, 'o', count_line, &total);
	dt = mono_sec() - t0;
	printf("%-28s %8.1f MB/s  expansion %.3f\n", name, (double)n / dt / 1e6, (double)total / (double)n);
}

int main(int argc, char **argv)
{
	static const char *const plain[] = {
		"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "0123 ",
	};
	static const char *const text[] = {
		"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "\r\n",
	};
	/* clang-format off */
	static const char *const mixed[] = {
		"\x1b[0m\x1b[01;34mDocuments\x1b[0m  ", "\x1b[01;32mrun.sh\x1b[0m  ", "notes.txt  ",
		"\r\n", "-rw-r--r-- 1 alice alice  4096 Nov 24 12:00 ", "caf\xc3\xa9 ",
		"\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80", "\xf0\x9f\x98\x80 ", "na\xc3\xafve r\xc3\xa9sum\xc3\xa9 ",
		"\xce\xbb\xce\xb1\xce\xbc\xce\xb2\xce\xb4\xce\xb1 ", "\"quoted\" \\path ", "\t",
		"\x1b]0;alice@web1: ~\x07", "\x1b[?2004h", "alice@web1:~$ ",
	};
	/* clang-format on */
	static const char *const binary[] = {
		"\xff\xfe", "\x00\x01", "abc", "\x80\x81\x82", "\xc3\xa9", "\x1b",
	};
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64, n = mib << 20;
	uint8_t *buf = malloc(n);

	if (!buf || n == 0)
		return 1;
	fill(buf, n, plain, sizeof(plain) / sizeof(plain[0]));
	run("plain ASCII (no controls)", buf, n, READ_SIZE);
	fill(buf, n, text, sizeof(text) / sizeof(text[0]));
	run("ASCII text, \\r\\n lines", buf, n, READ_SIZE);
	fill(buf, n, mixed, sizeof(mixed) / sizeof(mixed[0]));
	run("mixed ls colors+UTF-8", buf, n, READ_SIZE);
	fill_terminal(buf, n);
	run("terminal mix, 4 KiB reads", buf, n, READ_SIZE);
	run("terminal mix, 16 KiB reads", buf, n, BATCH_SIZE);
	fill(buf, n, binary, sizeof(binary) / sizeof(binary[0]));
	run("binary (invalid UTF-8)", buf, n, READ_SIZE);
	free(buf);
	return 0;
}
