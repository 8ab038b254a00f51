/* cmdtrace.h (bpf): the records the kernel side of the command tracer
 * hands to sessrecd through its ring buffer, shared by the BPF program and
 * cmdtrace_bpf.c. Fixed-size integers only: both compilers see one layout. */
#pragma once

#define CMDTRACE_ARGS_MAX 4096 /* argv bytes read at an exec (CommandMaxArgBytes= caps below it) */
#define CMDTRACE_CWD_MAX 1024  /* the cwd's components, leaf first, each NUL-terminated */
#define CMDTRACE_CWD_DEPTH 24  /* components walked; deeper paths are marked cut */
#define CMDTRACE_NAME_MAX 256

enum cmdtrace_kind {
	CMDTRACE_EV_EXEC = 1,
	CMDTRACE_EV_EXIT = 2,
};

/* The value of the tracked map (key: tgid) and of the audit map (key:
 * audit session id; exec_ns unused). */
struct cmdtrace_owner {
	__u64 tag;     /* the session's serial, 0: none */
	__u64 exec_ns; /* CLOCK_MONOTONIC of the process's last exec, 0: never exec'd while tracked */
};

struct cmdtrace_rec {
	__u32 kind; /* enum cmdtrace_kind */
	__u32 pid;  /* tgid */
	__u64 tag;
	__u64 ns;        /* CLOCK_MONOTONIC of the event */
	__u64 dur_ns;    /* exit: since the exec */
	__u32 ppid;      /* exec */
	__u32 uid;       /* exec */
	__s32 code;      /* exit: the wait status as the kernel keeps it (exit_code) */
	__u32 args_len;  /* exec: bytes in args (NUL-separated argv) */
	__u32 args_full; /* exec: arg_end - arg_start: more than args_len when cut */
	__u32 cwd_len;   /* exec: bytes in cwd */
	__u32 cwd_cut;   /* exec: the walk stopped before the root */
	__u32 pad;
	char cwd[CMDTRACE_CWD_MAX + CMDTRACE_NAME_MAX];
	char args[CMDTRACE_ARGS_MAX]; /* last: only args_len of it is sent */
};
