/* cmdtrace_cn: the parser of proc connector messages (NETLINK_CONNECTOR,
 * CN_IDX_PROC): a datagram from the socket in, fork/exec/exit events out.
 * Pure (no I/O, no state); fuzzed (tests/fuzz/fuzz_cmdtrace_cn.c).
 * Convention: the number of events, or -EBADMSG for a malformed message
 * (the events before the fault are handed out). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum cmdtrace_cn_what {
	CMDTRACE_CN_FORK, /* a new process (threads are left out): tgid's parent is ptgid */
	CMDTRACE_CN_EXEC,
	CMDTRACE_CN_EXIT, /* the thread group leader exits: status as wait(2) reports it */
};

struct cmdtrace_cn_event {
	enum cmdtrace_cn_what what;
	uint64_t ns; /* the kernel's CLOCK_MONOTONIC of the event */
	pid_t tgid;
	pid_t ptgid; /* fork */
	int status;  /* exit */
};

typedef void (*cmdtrace_cn_fn)(void *userdata, const struct cmdtrace_cn_event *ev);

/* Parses one datagram of n bytes (nlmsghdrs, each carrying a cn_msg and a
 * proc_event); fn gets each event of interest, others (uid, sid, comm...)
 * are skipped. */
int cmdtrace_cn_parse(const void *buf, size_t n, cmdtrace_cn_fn fn, void *userdata);

/* The subscribe (listen true) or unsubscribe request into buf (cap bytes):
 * its length, or -ENOSPC. */
int cmdtrace_cn_request(void *buf, size_t cap, int listen);
