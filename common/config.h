/* config: the daemon configuration, /etc/sessrec/sessrecd.conf plus
 * sessrecd.conf.d/NAME.conf in lexical order (later wins), systemd-style
 * sections, parsed with libinih. Convention: 0 or -errno. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmdpolicy.h"

#define CONFIG_DEFAULT_PATH "/etc/sessrec/sessrecd.conf"
#define CONFIG_DEFAULT_SHARD_DIR "/var/lib/sessrec"
#define CONFIG_DEFAULT_LEGAL_HOLD "/etc/sessrec/legal-hold"

enum {
	SYSLOG_TARGET_JOURNAL = 1 << 0,
	SYSLOG_TARGET_DEVLOG = 1 << 1,
	SYSLOG_TARGET_STDOUT = 1 << 2,
	SYSLOG_TARGET_PID1 = 1 << 3,
};

struct sessrec_config {
	/* [Daemon] */
	char socket_path[PATH_MAX]; /* Socket= */
	char process_name[16];      /* ProcessName= (comm and argv[0] as ps shows them) */
	unsigned max_sessions;      /* MaxSessions= (1024, 1..65536) */
	unsigned max_per_user;      /* MaxSessionsPerUser= (16, 1..65536; uid 0 is not capped) */
	unsigned token_ttl;         /* TokenTimeoutSec= (120, 1..3600) */
	char state_dir[PATH_MAX];   /* StateDirectory= (/run/sessrec/sessions) */
	/* [Recording] */
	char shard_dir[PATH_MAX]; /* ShardDirectory= */
	bool record_input;        /* RecordInput= */
	uint64_t session_cap;     /* SessionMaxBytes= (10M, > 0) */
	uint64_t min_free;        /* MinFreeSpace= (200M, 0: no check) */
	bool withhold_secrets;    /* WithholdSecrets= (yes) */
	/* [Syslog] */
	unsigned syslog_targets;      /* Targets=journal,devlog,stdout,pid1,none */
	char syslog_socket[PATH_MAX]; /* DevLog= (/dev/log) */
	char hostname[256];           /* Hostname= (empty: gethostname) */
	char app_name[49];            /* AppName= (sessrec) */
	int facility;                 /* Facility= (local0) as LOG_LOCAL0 etc. */
	/* [Shell] */
	char shell[PATH_MAX]; /* Shell= the real shell when sessrec-shell is the login shell */
	bool quiet;           /* Quiet= no notices to the user (honeypot) */
	/* Escrow of withheld input (sessrecd.conf(5), EscrowPublicKey=) */
	char escrow_key[PATH_MAX]; /* [Recording] EscrowPublicKey= (empty: withheld input is dropped) */
	/* Retention, applied by `sessrecctl prune` (sessrecd.conf(5), [Retention]) */
	unsigned compress_after_days;   /* CompressAfterDays= (0: never) */
	unsigned keep_days;             /* KeepDays= (0: forever) */
	uint64_t max_store_size;        /* MaxStoreSize= (0: no cap) */
	char legal_hold[192];           /* LegalHold= sids or user names, comma or space separated */
	char legal_hold_file[PATH_MAX]; /* LegalHoldFile= (/etc/sessrec/legal-hold; missing: none) */
	/* Sessions without a pty (sessrecd(8), "COMMAND SESSIONS") */
	char notty_commands[CMDPOLICY_PATTERNS_MAX + 1]; /* [Daemon] NoTtyCommands= (empty: every command) */
	bool transfer_metadata; /* [Recording] TransferContent=metadata (default content) */
};

void config_defaults(struct sessrec_config *c);

/* Loads path (a missing file is fine when it is CONFIG_DEFAULT_PATH or
 * allow_missing), then every path.d/NAME.conf in strcmp order, later files
 * overriding earlier ones. On a syntax error or bad value returns -EINVAL
 * with "FILE:LINE: what" in err (other failures: -errno, "FILE: why").
 * Either every file applies or c is left untouched. Keys are case-sensitive;
 * lines may be indented; "#" or ";" starts a comment line and " ;" an inline
 * one; lines are at most 198 characters. */
int config_load(struct sessrec_config *c, const char *path, bool allow_missing, char *err, size_t errlen);

/* Parses text as if it were a file called name (for messages), on top of c;
 * same rules and all-or-nothing behaviour as config_load. */
int config_load_string(struct sessrec_config *c, const char *text, const char *name, char *err, size_t errlen);

/* "journal,devlog" -> mask; "none" -> 0; -EINVAL on an unknown name. */
int config_parse_targets(const char *s, unsigned *mask);
/* "10M", "512K", "1G", "123" -> bytes; -EINVAL otherwise. */
int config_parse_size(const char *s, uint64_t *out);
/* "yes/no/true/false/1/0/on/off" */
int config_parse_bool(const char *s, bool *out);
