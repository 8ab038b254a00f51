/* config: sessrecd.conf and sessrecd.conf.d/NAME.conf (systemd-style sections,
 * CamelCase keys) read with libinih, every value validated, errors as
 * "FILE:LINE: what". A load either applies completely or not at all.
 * Convention: 0 or -errno. */
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <syslog.h>

#include "config.h"
#include "io.h"

#define CONFIG_FILE_MAX (64 * 1024)
#define SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

enum kind {
	K_PATH,
	K_SOCKET,
	K_PROCNAME,
	K_UINT,
	K_BOOL,
	K_SIZE,
	K_TARGETS,
	K_HOST,
	K_APPNAME,
	K_FACILITY,
	K_TEXT,
	K_PATTERNS,
	K_TRANSFER,
	K_CMDSRC,
	K_ARGBYTES
};

struct key {
	const char *section;
	const char *name;
	enum kind kind;
	size_t off;
	size_t size;       /* of the field (strings) */
	unsigned min, max; /* K_UINT range, K_SIZE minimum; K_PATH: min 1 allows an empty value (none) */
};

#define F(field) offsetof(struct sessrec_config, field), sizeof(((struct sessrec_config *)0)->field)

static const struct key keys[] = {
	{ "Daemon", "Socket", K_SOCKET, F(socket_path), 0, 0 },
	{ "Daemon", "ProcessName", K_PROCNAME, F(process_name), 0, 0 },
	{ "Daemon", "MaxSessions", K_UINT, F(max_sessions), 1, 65536 },
	{ "Daemon", "MaxSessionsPerUser", K_UINT, F(max_per_user), 1, 65536 },
	{ "Daemon", "TokenTimeoutSec", K_UINT, F(token_ttl), 1, 3600 },
	{ "Daemon", "StateDirectory", K_PATH, F(state_dir), 0, 0 },
	{ "Recording", "ShardDirectory", K_PATH, F(shard_dir), 0, 0 },
	{ "Recording", "RecordInput", K_BOOL, F(record_input), 0, 0 },
	{ "Recording", "SessionMaxBytes", K_SIZE, F(session_cap), 1, 0 },
	{ "Recording", "MinFreeSpace", K_SIZE, F(min_free), 0, 0 },
	{ "Recording", "WithholdSecrets", K_BOOL, F(withhold_secrets), 0, 0 },
	{ "Syslog", "Targets", K_TARGETS, F(syslog_targets), 0, 0 },
	{ "Syslog", "DevLog", K_SOCKET, F(syslog_socket), 0, 0 },
	{ "Syslog", "Hostname", K_HOST, F(hostname), 0, 0 },
	{ "Syslog", "AppName", K_APPNAME, F(app_name), 0, 0 },
	{ "Syslog", "Facility", K_FACILITY, F(facility), 0, 0 },
	{ "Shell", "Shell", K_PATH, F(shell), 0, 0 },
	{ "Shell", "Quiet", K_BOOL, F(quiet), 0, 0 },
	/* escrow of withheld input */
	{ "Recording", "EscrowPublicKey", K_PATH, F(escrow_key), 1, 0 },
	/* retention (sessrecctl prune) */
	{ "Retention", "CompressAfterDays", K_UINT, F(compress_after_days), 0, 36500 },
	{ "Retention", "KeepDays", K_UINT, F(keep_days), 0, 36500 },
	{ "Retention", "MaxStoreSize", K_SIZE, F(max_store_size), 0, 0 },
	{ "Retention", "LegalHold", K_TEXT, F(legal_hold), 0, 0 },
	{ "Retention", "LegalHoldFile", K_PATH, F(legal_hold_file), 1, 0 },
	/* Sessions without a pty */
	{ "Daemon", "NoTtyCommands", K_PATTERNS, F(notty_commands), 0, 0 },
	{ "Recording", "TransferContent", K_TRANSFER, F(transfer_metadata), 0, 0 },
	/* the terminal taken (issue 10, items 1 and 3) */
	{ "Shell", "DrainWaitSec", K_UINT, F(drain_wait), 1, 600 },
	/* hash chains and seals (issue 14) */
	{ "Recording", "SealEpochSec", K_UINT, F(seal_epoch), 10, 604800 },
	{ "Recording", "SealKeyFile", K_PATH, F(seal_key), 0, 0 },
	/* authentications and kernel denials (issue 13) */
	{ "Audit", "KernelDenials", K_BOOL, F(kernel_denials), 0, 0 },
	{ "Audit", "AuditNetlink", K_BOOL, F(audit_netlink), 0, 0 },
	{ "Audit", "SshdJournal", K_BOOL, F(sshd_journal), 0, 0 },
	{ "Audit", "AuthLog", K_BOOL, F(auth_log), 0, 0 },
	/* Commands (issue 12) */
	{ "Recording", "CommandSource", K_CMDSRC, F(command_source), 0, 0 },
	{ "Recording", "CommandMaxArgBytes", K_ARGBYTES, F(command_max_args), 64, 4096 },
	{ "Syslog", "CommandEvents", K_BOOL, F(command_events), 0, 0 },
};

static const char *const sections[] = { "Daemon", "Recording", "Syslog", "Shell", "Retention", "Audit" };

/* clang-format off */
static const struct {
	const char *name;
	int value;
} facilities[] = {
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 }, { "daemon", LOG_DAEMON },
	{ "auth", LOG_AUTH },     { "authpriv", LOG_AUTHPRIV }, { "user", LOG_USER },
};
/* clang-format on */

/* One parse: the text being fed to inih line by line, and the first error. */
struct parse {
	struct sessrec_config *c;
	const char *name;
	const char *p, *end;
	unsigned line;
	bool failed;
	unsigned fail_line;
	char msg[320];
};

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void fail(struct parse *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct parse *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->failed)
		return; /* the first error is the one to fix */
	ps->failed = true;
	ps->fail_line = ps->line;
	va_start(ap, fmt);
	vsnprintf(ps->msg, sizeof(ps->msg), fmt, ap);
	va_end(ap);
}

void config_defaults(struct sessrec_config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->socket_path, "/run/sessrec/sessrecd.sock");
	strcpy(c->process_name, "sessrecd");
	c->max_sessions = 1024;
	c->max_per_user = 16;
	c->token_ttl = 120;
	strcpy(c->state_dir, "/run/sessrec/sessions");
	strcpy(c->shard_dir, CONFIG_DEFAULT_SHARD_DIR);
	c->record_input = true;
	c->session_cap = 10ULL << 20;
	c->min_free = 200ULL << 20;
	c->withhold_secrets = true;
	c->syslog_targets = SYSLOG_TARGET_JOURNAL;
	strcpy(c->syslog_socket, "/dev/log");
	c->hostname[0] = '\0';
	strcpy(c->app_name, "sessrec");
	c->facility = LOG_LOCAL0;
	strcpy(c->shell, "/bin/bash");
	c->quiet = false;
	strcpy(c->legal_hold_file, CONFIG_DEFAULT_LEGAL_HOLD);
	/* the terminal taken (issue 10, items 1 and 3) */
	c->drain_wait = 10;
	/* hash chains and seals (issue 14) */
	c->seal_epoch = 900;
	strcpy(c->seal_key, "/var/lib/sessrec/seal.key");
	c->kernel_denials = c->audit_netlink = c->sshd_journal = c->auth_log = true;
	strcpy(c->command_source, "auto");
	c->command_max_args = 4096;
	c->command_events = false;
}

static bool ascii_ok(const char *v, unsigned char lo, size_t max, bool may_be_empty)
{
	size_t n = 0;

	for (; v[n]; n++)
		if ((unsigned char)v[n] < lo || (unsigned char)v[n] > 126)
			return false;
	return n <= max && (n > 0 || may_be_empty);
}

static bool path_ok(const char *v, size_t max)
{
	if (v[0] != '/' || strlen(v) > max)
		return false;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int parse_uint(const char *v, unsigned min, unsigned max, unsigned *out)
{
	unsigned long long n = 0;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	for (; *v >= '0' && *v <= '9'; v++) {
		n = n * 10 + (unsigned)(*v - '0');
		if (n > max)
			return -ERANGE;
	}
	if (*v || n < min)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

/* Applies one validated value; a message for the user otherwise. */
static const char *apply(struct sessrec_config *c, const struct key *k, const char *v, char *why, size_t whylen)
{
	char *field = (char *)c + k->off;

	switch (k->kind) {
	case K_PATH:
		if (k->min && !*v)
			break; /* an optional path left empty */
		if (!path_ok(v, k->size - 1))
			return k->min ? "expected an absolute path, or nothing" : "expected an absolute path";
		break;
	case K_SOCKET:
		if (!path_ok(v, SOCKET_PATH_MAX))
			return "expected an absolute path of at most 107 characters";
		break;
	case K_PROCNAME:
		if (!ascii_ok(v, 0x20, 15, false))
			return "expected 1 to 15 printable ASCII characters";
		break;
	case K_HOST:
		if (!ascii_ok(v, 33, 255, true))
			return "expected at most 255 printable ASCII characters, no spaces";
		break;
	case K_APPNAME:
		if (!ascii_ok(v, 33, 48, false))
			return "expected 1 to 48 printable ASCII characters, no spaces";
		break;
	case K_UINT: {
		unsigned u;

		if (parse_uint(v, k->min, k->max, &u) < 0) {
			snprintf(why, whylen, "expected a number from %u to %u", k->min, k->max);
			return why;
		}
		memcpy(field, &u, sizeof(u));
		return NULL;
	}
	case K_BOOL: {
		bool b;

		if (config_parse_bool(v, &b) < 0)
			return "expected yes or no";
		memcpy(field, &b, sizeof(b));
		return NULL;
	}
	case K_SIZE: {
		uint64_t sz;

		if (config_parse_size(v, &sz) < 0 || sz < k->min)
			return k->min ? "expected a size above 0 such as 512K, 10M, 1G"
				      : "expected a size such as 512K, 10M, 1G";
		memcpy(field, &sz, sizeof(sz));
		return NULL;
	}
	case K_TARGETS: {
		unsigned m;

		if (config_parse_targets(v, &m) < 0)
			return "expected journal, devlog, stdout, pid1 (comma-separated) or none";
		memcpy(field, &m, sizeof(m));
		return NULL;
	}
	case K_FACILITY:
		for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
			if (!strcmp(v, facilities[i].name)) {
				memcpy(field, &facilities[i].value, sizeof(int));
				return NULL;
			}
		}
		return "expected local0..local7, daemon, auth, authpriv or user";
	case K_TEXT:
		if (!ascii_ok(v, 0x20, k->size - 1, true))
			return "expected printable ASCII characters";
		break;
	case K_PATTERNS:
		if (!cmdpolicy_patterns_valid(v))
			return "expected command name patterns (letters, digits, . _ + - * ? [ ] !) separated by "
			       "spaces, at most 190 characters";
		break;
	case K_TRANSFER: {
		bool meta = strcmp(v, "metadata") == 0;

		if (!meta && strcmp(v, "content") != 0)
			return "expected content or metadata";
		memcpy(field, &meta, sizeof(meta));
		return NULL;
	}
	case K_CMDSRC:
		if (strcmp(v, "auto") && strcmp(v, "bpf") && strcmp(v, "proc") && strcmp(v, "off"))
			return "expected auto, bpf, proc or off";
		break;
	case K_ARGBYTES: {
		uint64_t sz;

		if (config_parse_size(v, &sz) < 0 || sz < k->min || sz > k->max)
			return "expected a size from 64 to 4K";
		memcpy(field, &sz, sizeof(sz));
		return NULL;
	}
	}
	/* The string kinds: checked above to fit. */
	memcpy(field, v, strlen(v) + 1);
	return NULL;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct parse *ps = user;
	bool section_known = false;
	const char *why;
	char buf[96];

	if (!name)
		return 1; /* a section start, if inih was built to report those */
	if (!value)
		value = "";
	if (!*section) {
		fail(ps, "%s= outside a section", name);
		return 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, section) != 0)
			continue;
		section_known = true;
		if (strcmp(keys[i].name, name) != 0)
			continue;
		why = apply(ps->c, &keys[i], value, buf, sizeof(buf));
		if (!why)
			return 1;
		fail(ps, "bad value for %s= in [%s]: %s", name, section, why);
		return 0;
	}
	for (size_t i = 0; !section_known && i < sizeof(sections) / sizeof(sections[0]); i++)
		section_known = !strcmp(sections[i], section);
	if (!section_known)
		fail(ps, "unknown section [%s]", section);
	else
		fail(ps, "unknown key %s in [%s]", *name ? name : "(empty)", section);
	return 0;
}

/* inih's line reader. Counting lines here gives exact numbers in messages;
 * stripping leading blanks keeps inih's continuation lines out of a
 * systemd-style file; an over-long line is an error, not two lines. */
static char *next_line(char *str, int num, void *stream)
{
	struct parse *ps = stream;
	const char *nl;
	size_t n;

	if (ps->failed || ps->p >= ps->end)
		return NULL;
	nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
	n = nl ? (size_t)(nl - ps->p) + 1 : (size_t)(ps->end - ps->p);
	ps->line++;
	while (n > 0 && (*ps->p == ' ' || *ps->p == '\t')) {
		ps->p++;
		n--;
	}
	if (n > (size_t)num - 1) {
		fail(ps, "line too long (at most %d characters)", num - 2);
		return NULL;
	}
	memcpy(str, ps->p, n);
	str[n] = '\0';
	ps->p += n;
	return str;
}

static int parse_text(struct sessrec_config *c, const char *text, size_t len, const char *name, char *err,
		      size_t errlen)
{
	struct parse ps = { .c = c, .p = text, .end = text + len };
	const char *nul = memchr(text, '\0', len);
	int r;

	if (nul) {
		ps.line = 1;
		for (const char *q = text; q < nul; q++)
			ps.line += *q == '\n';
		fail(&ps, "NUL byte in the file");
		r = -EINVAL;
		goto out;
	}
	r = ini_parse_stream(next_line, &ps, on_value, &ps);
	if (r < 0) {
		set_err(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	/* inih reports the first line it could not parse; ours may come later. */
	if (r > 0 && (!ps.failed || (unsigned)r < ps.fail_line)) {
		ps.failed = false;
		ps.line = (unsigned)r;
		fail(&ps, "syntax error: expected [Section], Key=Value or a comment");
	}
	r = ps.failed ? -EINVAL : 0;
out:
	if (ps.failed)
		set_err(err, errlen, "%s:%u: %s", name, ps.fail_line, ps.msg);
	return r;
}

int config_load_string(struct sessrec_config *c, const char *text, const char *name, char *err, size_t errlen)
{
	struct sessrec_config tmp = *c;
	int r;

	set_err(err, errlen, "%s", "");
	r = parse_text(&tmp, text, strlen(text), name ? name : "(string)", err, errlen);
	if (r == 0)
		*c = tmp;
	return r;
}

static int load_file(struct sessrec_config *c, const char *path, bool allow_missing, char *err, size_t errlen)
{
	char *buf = malloc(CONFIG_FILE_MAX);
	ssize_t n;
	int r;

	if (!buf)
		return -ENOMEM;
	n = io_read_file(path, buf, CONFIG_FILE_MAX);
	if (n < 0) {
		r = (int)n;
		if (r == -ENOENT && allow_missing)
			r = 0;
		else if (r == -EFBIG)
			set_err(err, errlen, "%s: larger than %d KiB", path, CONFIG_FILE_MAX / 1024);
		else
			set_err(err, errlen, "%s: %s", path, strerror(-r));
		goto out;
	}
	r = parse_text(c, buf, (size_t)n, path, err, errlen);
out:
	free(buf);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* path.d/NAME.conf in strcmp order (not the locale's), so later files win. */
static int load_dropins(struct sessrec_config *c, const char *path, char *err, size_t errlen)
{
	char dirpath[PATH_MAX], file[PATH_MAX];
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (snprintf(dirpath, sizeof(dirpath), "%s.d", path) >= (int)sizeof(dirpath)) {
		set_err(err, errlen, "%s.d: path too long", path);
		return -ENAMETOOLONG;
	}
	d = opendir(dirpath);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		set_err(err, errlen, "%s: %s", dirpath, strerror(errno));
		return r;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		if (n == alloc) {
			char **nn = realloc(names, (alloc = alloc ? alloc * 2 : 16) * sizeof(*names));

			if (!nn) {
				r = -ENOMEM;
				goto out;
			}
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && r == 0; i++) {
		if (snprintf(file, sizeof(file), "%s/%s", dirpath, names[i]) >= (int)sizeof(file)) {
			set_err(err, errlen, "%s/%s: path too long", dirpath, names[i]);
			r = -ENAMETOOLONG;
			break;
		}
		r = load_file(c, file, false, err, errlen);
	}
out:
	if (r == -ENOMEM)
		set_err(err, errlen, "%s: out of memory", dirpath);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

int config_load(struct sessrec_config *c, const char *path, bool allow_missing, char *err, size_t errlen)
{
	struct sessrec_config *tmp;
	int r;

	set_err(err, errlen, "%s", "");
	if (!path)
		path = CONFIG_DEFAULT_PATH;
	tmp = malloc(sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	*tmp = *c;
	allow_missing = allow_missing || !strcmp(path, CONFIG_DEFAULT_PATH);
	if ((r = load_file(tmp, path, allow_missing, err, errlen)) == 0 &&
	    (r = load_dropins(tmp, path, err, errlen)) == 0)
		*c = *tmp;
	free(tmp);
	return r;
}
