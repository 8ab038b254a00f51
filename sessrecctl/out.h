/* out: buffered writes to a file descriptor, printing text that came from a
 * recording (user names, hosts, markers: attacker-controlled in a honeypot)
 * without letting it drive the terminal, and the formats of times, durations
 * and sizes. Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct out {
	int fd;
	char *buf;
	size_t len, cap;
	int err; /* first write error, sticky: later writes are dropped */
};

int out_init(struct out *o, int fd, size_t cap);
void out_write(struct out *o, const void *p, size_t n);
void out_str(struct out *o, const char *s);
void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes s (n bytes) with control characters, DEL, C1 controls and invalid
 * UTF-8 shown as \xNN; NULL as "-". */
void out_safe(struct out *o, const char *s, size_t n);
void out_safe_str(struct out *o, const char *s);
/* out_safe_str padded with spaces to width columns (one per character). */
void out_safe_pad(struct out *o, const char *s, int width);
/* Writes a JSON text that json-c made (json_object_to_json_string_ext), n
 * bytes, with what json-c leaves raw in its strings escaped: DEL and the C1
 * controls as \u007f and \u0080-\u009f, each invalid UTF-8 maximal
 * subpart as \ufffd. json-c escapes C0 controls itself and writes only
 * ASCII outside strings (a raw C0 byte would be escaped too), so the
 * output holds no control character at all. */
void out_json(struct out *o, const char *txt, size_t n);
/* A shard's argv array as a shell would need it typed: words with blanks,
 * quotes or shell syntax single-quoted, every byte through out_safe (show's
 * timeline, sessrecctl commands). */
struct json_object;
void out_argv(struct out *o, struct json_object *argv);
/* Writes what is buffered; returns o->err. */
int out_flush(struct out *o);
/* Flushes and frees; returns o->err. */
int out_close(struct out *o);

/* "YYYY-MM-DD HH:MM:SS" in local time. */
void out_fmt_time_local(char *buf, size_t cap, double ts);
/* RFC 3339 UTC with microseconds. */
void out_fmt_time_utc(char *buf, size_t cap, double ts);
/* 12.3s, 5m12s, 3h02m, 2d04h */
void out_fmt_duration(char *buf, size_t cap, double s);
/* 12.345678: seconds as the shards write them (%.6f) */
void out_fmt_seconds(char *buf, size_t cap, double s);
/* 999, 12.3K, 4.5M, 1.2G */
void out_fmt_bytes(char *buf, size_t cap, uint64_t n);
