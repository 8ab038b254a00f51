/* cmdtrace_ev: what the command tracer's sources hand up (one exec or exit
 * of a tracked process), below both sources and the tracer's front.
 * Convention: none needed (types and a pure decoder). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum cmdtrace_what {
	CMDTRACE_EXEC,
	CMDTRACE_EXIT,
};

/* One exec or exit of a tracked process. */
struct cmdtrace_event {
	enum cmdtrace_what what;
	uint64_t tag;        /* the session's */
	int64_t ns;          /* CLOCK_MONOTONIC of the event */
	pid_t pid, ppid;     /* ppid 0: unknown */
	long long uid;       /* -1: unknown */
	const uint8_t *args; /* exec: NUL-separated argv; NULL: could not be read */
	size_t args_len;
	bool args_cut;    /* the source read fewer bytes than the process had */
	const char *cwd;  /* exec: NULL when unknown */
	int code, signal; /* exit: code 0..255 (signal 0), or signal > 0 (code -1) */
	int64_t dur_ns;   /* exit: since its exec; -1 unknown */
};

typedef void (*cmdtrace_report_fn)(void *userdata, const struct cmdtrace_event *ev);

/* Decodes a wait status as the kernel keeps it (task exit_code) into ev's
 * code and signal. */
void cmdtrace_status(struct cmdtrace_event *ev, int status);
