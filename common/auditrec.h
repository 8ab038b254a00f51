/* auditrec: the one parser of the kernel's audit records of denials:
 * SECCOMP (type 1326), AppArmor and SELinux AVC (1400) and SELinux
 * USER_AVC (1107), as the audit netlink multicast or /dev/kmsg carry them;
 * the seccomp action names and the syscall names (tables generated at
 * build time from the kernel headers, x86_64 and aarch64). The text is
 * the kernel's, but comm=, exe= and names are chosen by whoever ran the
 * process: every string is bounded and hex-decoded as the kernel encoded
 * it, never trusted. Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDITREC_SECCOMP 1326
#define AUDITREC_AVC 1400
#define AUDITREC_USER_AVC 1107

#define AUDIT_ARCH_X86_64_ID 0xc000003eu
#define AUDIT_ARCH_AARCH64_ID 0xc00000b7u

enum auditrec_kind {
	AUDITREC_KIND_SECCOMP,
	AUDITREC_KIND_APPARMOR,
	AUDITREC_KIND_SELINUX,
};

struct auditrec {
	enum auditrec_kind kind;
	unsigned type; /* 1326, 1400, 1107 */
	int64_t sec;   /* audit(SEC.MSEC:SERIAL): when the kernel logged it */
	unsigned msec;
	uint64_t serial;
	long pid;      /* -1: absent */
	long uid;      /* -1: absent */
	int64_t ses;   /* audit session id, -1: absent or unset (4294967295) */
	char comm[64]; /* decoded, may hold any byte but NUL */
	char exe[256];
	/* seccomp */
	long syscall;  /* -1: absent */
	uint32_t arch; /* AUDIT_ARCH_*, 0: absent */
	int sig;       /* 0: none */
	uint32_t code; /* the filter's return value (action | data) */
	/* AppArmor / SELinux */
	char op[64];       /* AppArmor operation=, SELinux permissions ("read write") */
	char target[256];  /* name= (a path, a socket...) */
	char profile[256]; /* AppArmor profile=, SELinux scontext= */
	char tclass[64];   /* AppArmor class=, SELinux tclass= */
};

/* Parses the body of a record of type (what follows the netlink header:
 * "audit(SEC.MSEC:SERIAL): key=value ..."). 0 for a denial; -ENOENT for
 * a type or record that is not one (AppArmor ALLOWED/AUDIT/STATUS, an AVC
 * granted); -EINVAL when malformed (no audit(...) stamp, no pid). */
int auditrec_parse(unsigned type, const char *body, size_t n, struct auditrec *r);

/* The same for one /dev/kmsg record ("PRI,SEQ,USEC,FLAGS;audit: type=N
 * audit(...): ..."; continuation lines after a newline are ignored);
 * -ENOENT for a kernel message that is not an audit record. */
int auditrec_parse_kmsg(const char *line, size_t n, struct auditrec *r);

/* "kill_process", "kill_thread", "trap", "errno", "user_notif", "trace",
 * "log", "allow", "unknown": the action of a seccomp return value. */
const char *auditrec_action(uint32_t code);

/* "getpid" for (AUDIT_ARCH_X86_64, 39); NULL when unknown. */
const char *auditrec_syscall_name(uint32_t arch, long nr);

/* "seccomp", "apparmor", "selinux". */
const char *auditrec_kind_name(enum auditrec_kind k);
