/* shardcmd: the command records of a day shard (sessrec-shards(5), "exec"
 * and "exit"): the one encoder of their lines, argv capped and escaped.
 * Convention: a line length on success, -errno on failure; never logs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A process of the session execs. args: the argv bytes as the kernel keeps
 * them (each argument NUL-terminated; the last may lack its NUL when cut),
 * NULL when the source could not read them ("argv":null, never a guess).
 * args_cut: the source read fewer bytes than the process had. uid < 0,
 * ppid <= 0: unknown (null). cwd NULL: unknown. */
struct shard_exec {
	long pid, ppid;
	long long uid;
	const uint8_t *args;
	size_t args_len;
	bool args_cut;
	const char *cwd;
};

/* A process that exec'd exits: code (0..255) or signal (> 0), the other
 * null; dur < 0: unknown (null). */
struct shard_exit {
	long pid;
	int code;   /* -1 when it died of a signal */
	int signal; /* 0 when it exited */
	double dur; /* seconds since its exec */
};

/* {"sid":S,"t":T,"exec":{"pid":P,"ppid":Q,"uid":U,"argv":[...],"cwd":"/x"}}
 * with "argv_truncated":true after argv when the list was cut: by the
 * source, by max_arg_bytes (bytes of args taken), or to keep the line under
 * SHARD_LINE_MAX (cwd is clipped to 1024 bytes first). Every string goes
 * through shard_json_escape: newlines, quotes, escapes and invalid UTF-8
 * come out as valid JSON. cap >= SHARD_LINE_MAX is always enough. */
int shard_format_exec(char *buf, size_t cap, const char *sid, double t, const struct shard_exec *e,
		      size_t max_arg_bytes);

/* {"sid":S,"t":T,"exit":{"pid":P,"code":C,"signal":null,"dur":D}} */
int shard_format_exit(char *buf, size_t cap, const char *sid, double t, const struct shard_exit *e);

/* argv as one line of text for people and syslog: the arguments separated
 * by spaces, each escaped as a JSON string body (no quotes), at most cap - 1
 * bytes and NUL-terminated, never cutting an escape. The length. */
size_t shard_argv_text(char *out, size_t cap, const uint8_t *args, size_t len);
