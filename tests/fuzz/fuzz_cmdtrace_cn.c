/* Fuzz target for sessrecd/cmdtrace_cn: any datagram is parsed without
 * reading past it; every event handed out names a process (tgid > 0), and
 * a datagram is either refused or its events counted exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtrace_cn.h"
#include "fuzzutil.h"

static void count(void *userdata, const struct cmdtrace_cn_event *ev)
{
	int *n = userdata;

	REQUIRE(ev->tgid > 0);
	REQUIRE(ev->what == CMDTRACE_CN_FORK || ev->what == CMDTRACE_CN_EXEC || ev->what == CMDTRACE_CN_EXIT);
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: ASan sees any read past the datagram. */
	uint8_t *buf = malloc(size ? size : 1);
	int n = 0, r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	r = cmdtrace_cn_parse(buf, size, count, &n);
	REQUIRE(r < 0 || r == n);
	free(buf);
	return 0;
}
