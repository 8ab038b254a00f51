/* cmdtrace_src: the two sources of the command tracer behind one shape
 * (cmdtrace.c picks one): eBPF (cmdtrace_bpf.c) and the proc connector
 * (cmdtrace_proc.c). Each is opaque; NULL/-errno when it cannot start, with
 * one line in why. Convention: 0 or -errno. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cmdtrace_ev.h"

struct cmdtrace_bpf;
struct cmdtrace_proc;

int cmdtrace_bpf_open(struct cmdtrace_bpf **out, char *why, size_t cap);
void cmdtrace_bpf_close(struct cmdtrace_bpf *b);
int cmdtrace_bpf_fd(const struct cmdtrace_bpf *b); /* readable when records wait */
void cmdtrace_bpf_drain(struct cmdtrace_bpf *b, cmdtrace_report_fn fn, void *userdata);
int cmdtrace_bpf_track(struct cmdtrace_bpf *b, uint64_t tag, pid_t root, int64_t audit_session);
void cmdtrace_bpf_untrack(struct cmdtrace_bpf *b, uint64_t tag);
uint64_t cmdtrace_bpf_owner(struct cmdtrace_bpf *b, pid_t pid);
uint64_t cmdtrace_bpf_lost(const struct cmdtrace_bpf *b);

int cmdtrace_proc_open(struct cmdtrace_proc **out, char *why, size_t cap);
void cmdtrace_proc_close(struct cmdtrace_proc *p);
int cmdtrace_proc_fd(const struct cmdtrace_proc *p);
void cmdtrace_proc_drain(struct cmdtrace_proc *p, cmdtrace_report_fn fn, void *userdata);
int cmdtrace_proc_track(struct cmdtrace_proc *p, uint64_t tag, pid_t root, int64_t audit_session);
void cmdtrace_proc_untrack(struct cmdtrace_proc *p, uint64_t tag);
uint64_t cmdtrace_proc_owner(struct cmdtrace_proc *p, pid_t pid);
uint64_t cmdtrace_proc_lost(const struct cmdtrace_proc *p);
