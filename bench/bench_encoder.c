/* bench_encoder: throughput of the shard line encoder (common/shardline) on
 * terminal-like inputs fed in pty-sized reads; prints MB/s of input and the
 * expansion (shard bytes per input byte). Usage: bench_encoder [MiB] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shardline.h"

#define SID "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define READ_SIZE 4096 /* what a pty read gives under load */

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

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(const char *name, const uint8_t *buf, size_t n)
{
	struct shard_utf8 carry = { 0 };
	size_t total = 0;
	double t0 = now(), dt;

	for (size_t at = 0; at < n; at += READ_SIZE) {
		size_t k = n - at < READ_SIZE ? n - at : READ_SIZE;

		if (shard_encode_event(&carry, SID, (double)at / 1e6, 'o', buf + at, k, count_line,
				       &total) < 0)
			abort();
	}
	shard_encode_flush(&carry, SID, 1, 'o', count_line, &total);
	dt = now() - t0;
	printf("%-28s %8.1f MB/s  expansion %.3f\n", name, (double)n / dt / 1e6,
	       (double)total / (double)n);
}

int main(int argc, char **argv)
{
	static const char *const plain[] = {
		"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "0123 ",
	};
	static const char *const text[] = {
		"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "\r\n",
	};
	static const char *const mixed[] = {
		"\x1b[0m\x1b[01;34mDocuments\x1b[0m  ", "\x1b[01;32mrun.sh\x1b[0m  ", "notes.txt  ",
		"\r\n", "-rw-r--r-- 1 alice alice  4096 Nov 24 12:00 ", "caf\xc3\xa9 ",
		"\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80", "\xf0\x9f\x98\x80 ", "na\xc3\xafve r\xc3\xa9sum\xc3\xa9 ",
		"\xce\xbb\xce\xb1\xce\xbc\xce\xb2\xce\xb4\xce\xb1 ", "\"quoted\" \\path ", "\t",
		"\x1b]0;alice@web1: ~\x07", "\x1b[?2004h", "alice@web1:~$ ",
	};
	static const char *const binary[] = {
		"\xff\xfe", "\x00\x01", "abc", "\x80\x81\x82", "\xc3\xa9", "\x1b",
	};
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64, n = mib << 20;
	uint8_t *buf = malloc(n);

	if (!buf || n == 0)
		return 1;
	fill(buf, n, plain, sizeof(plain) / sizeof(plain[0]));
	run("plain ASCII (no controls)", buf, n);
	fill(buf, n, text, sizeof(text) / sizeof(text[0]));
	run("ASCII text, \\r\\n lines", buf, n);
	fill(buf, n, mixed, sizeof(mixed) / sizeof(mixed[0]));
	run("mixed ls colors+UTF-8", buf, n);
	fill(buf, n, binary, sizeof(binary) / sizeof(binary[0]));
	run("binary (invalid UTF-8)", buf, n);
	free(buf);
	return 0;
}
