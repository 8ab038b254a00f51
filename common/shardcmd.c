/* shardcmd: the exec and exit lines of a day shard (shardcmd.h): argv,
 * hostile in every byte, escaped by the one escaper (shard_json_escape) and
 * capped so the line stays under SHARD_LINE_MAX.
 * Convention: a length on success, -errno on failure; never logs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shardcmd.h"
#include "shardline.h"

#define LINE_LAST (SHARD_LINE_MAX - 1) /* the longest line, its newline included */
#define CWD_CLIP 1024                  /* escaped cwd bytes kept; argv gets the rest of the line */
#define TRUNC_MARK ",\"argv_truncated\":true"

/* Appends the JSON body of p[0..n) between quotes within room bytes;
 * *whole: all of it fit. The bytes written (0: not even the quotes fit). */
static size_t put_string(char *out, size_t room, const uint8_t *p, size_t n, bool *whole)
{
	size_t used = 0, w;

	*whole = false;
	if (room < 2)
		return 0;
	out[0] = '"';
	w = shard_json_escape(out + 1, room - 2, p, n, &used);
	out[1 + w] = '"';
	*whole = used == n;
	return w + 2;
}

/* The argv array into out (room bytes): as many arguments as fit room and
 * max_bytes of args; *cut when any was left out or clipped. */
static size_t put_argv(char *out, size_t room, const uint8_t *args, size_t len, size_t max_bytes, bool *cut)
{
	size_t o = 0, at = 0;

	if (room < 2) {
		*cut = true;
		return 0;
	}
	out[o++] = '[';
	room--; /* the closing bracket */
	if (len > max_bytes) {
		len = max_bytes;
		*cut = true;
	}
	while (at < len) {
		const uint8_t *nul = memchr(args + at, '\0', len - at);
		size_t n = nul ? (size_t)(nul - (args + at)) : len - at;
		bool whole;
		size_t w;

		if (o > 1) {
			if (room - o < 3) { /* a comma and two quotes */
				*cut = true;
				break;
			}
			out[o++] = ',';
		}
		w = put_string(out + o, room - o, args + at, n, &whole);
		o += w;
		if (!whole || w == 0) {
			if (w == 0 && out[o - 1] == ',')
				o--;
			*cut = true;
			break;
		}
		at += n + (nul ? 1 : 0);
	}
	out[o++] = ']';
	return o;
}

int shard_format_exec(char *buf, size_t cap, const char *sid, double t, const struct shard_exec *e,
		      size_t max_arg_bytes)
{
	char ts[SHARD_T_MAX + 1], head[256], cwd[CWD_CLIP + 3], tail[CWD_CLIP + 16];
	size_t hn, tn, room, an = 0, limit = cap < LINE_LAST ? cap : LINE_LAST;
	bool cut = e->args_cut, whole;
	int r;

	ts[shard_format_t(ts, t)] = '\0';
	if (e->ppid > 0 && e->uid >= 0)
		r = snprintf(head, sizeof(head),
			     "{\"sid\":\"%.36s\",\"t\":%s,\"exec\":{\"pid\":%ld,\"ppid\":%ld,\"uid\":%lld,\"argv\":",
			     sid, ts, e->pid, e->ppid, e->uid);
	else if (e->uid >= 0)
		r = snprintf(head, sizeof(head),
			     "{\"sid\":\"%.36s\",\"t\":%s,\"exec\":{\"pid\":%ld,\"ppid\":null,\"uid\":%lld,\"argv\":",
			     sid, ts, e->pid, e->uid);
	else if (e->ppid > 0)
		r = snprintf(head, sizeof(head),
			     "{\"sid\":\"%.36s\",\"t\":%s,\"exec\":{\"pid\":%ld,\"ppid\":%ld,\"uid\":null,\"argv\":",
			     sid, ts, e->pid, e->ppid);
	else
		r = snprintf(head, sizeof(head),
			     "{\"sid\":\"%.36s\",\"t\":%s,\"exec\":{\"pid\":%ld,\"ppid\":null,\"uid\":null,\"argv\":",
			     sid, ts, e->pid);
	if (r < 0 || (size_t)r >= sizeof(head))
		return -ENOSPC;
	hn = (size_t)r;
	if (e->cwd)
		tn = put_string(cwd, CWD_CLIP + 2, (const uint8_t *)e->cwd, strlen(e->cwd), &whole);
	else
		tn = (size_t)snprintf(cwd, sizeof(cwd), "null");
	cwd[tn] = '\0';
	tn = (size_t)snprintf(tail, sizeof(tail), ",\"cwd\":%s}}\n", cwd);
	if (hn + tn + sizeof(TRUNC_MARK) - 1 + 2 > limit)
		return -ENOSPC;
	memcpy(buf, head, hn);
	room = limit - hn - tn - (sizeof(TRUNC_MARK) - 1);
	if (e->args)
		an = put_argv(buf + hn, room, e->args, e->args_len, max_arg_bytes, &cut);
	else
		an = (size_t)snprintf(buf + hn, room, "null");
	if (e->args && cut) {
		memcpy(buf + hn + an, TRUNC_MARK, sizeof(TRUNC_MARK) - 1);
		an += sizeof(TRUNC_MARK) - 1;
	}
	memcpy(buf + hn + an, tail, tn);
	return (int)(hn + an + tn);
}

int shard_format_exit(char *buf, size_t cap, const char *sid, double t, const struct shard_exit *e)
{
	char ts[SHARD_T_MAX + 1], code[16] = "null", sig[16] = "null", dur[SHARD_T_MAX + 1] = "null";
	int r;

	ts[shard_format_t(ts, t)] = '\0';
	if (e->signal > 0)
		snprintf(sig, sizeof(sig), "%d", e->signal);
	else
		snprintf(code, sizeof(code), "%d", e->code);
	if (e->dur >= 0)
		dur[shard_format_t(dur, e->dur)] = '\0';
	r = snprintf(buf, cap,
		     "{\"sid\":\"%.36s\",\"t\":%s,\"exit\":{\"pid\":%ld,\"code\":%s,\"signal\":%s,\"dur\":%s}}\n", sid,
		     ts, e->pid, code, sig, dur);
	return r < 0 || (size_t)r >= cap ? -ENOSPC : r;
}

size_t shard_argv_text(char *out, size_t cap, const uint8_t *args, size_t len)
{
	size_t o = 0, at = 0;

	if (!cap)
		return 0;
	while (at < len && o + 1 < cap) {
		const uint8_t *nul = memchr(args + at, '\0', len - at);
		size_t n = nul ? (size_t)(nul - (args + at)) : len - at, used = 0;

		if (o)
			out[o++] = ' ';
		o += shard_json_escape(out + o, cap - 1 - o, args + at, n, &used);
		if (used < n)
			break;
		at += n + (nul ? 1 : 0);
	}
	out[o] = '\0';
	return o;
}
