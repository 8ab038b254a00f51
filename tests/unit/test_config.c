/* Unit tests for common/config: good files give exactly the expected struct,
 * bad ones give the exact "FILE:LINE: what" line and change nothing;
 * sessrecd.conf.d ordering and override; the value parsers. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

START_TEST(test_defaults)
{
	struct sessrec_config c;

	memset(&c, 0xff, sizeof(c));
	config_defaults(&c);
	ck_assert_str_eq(c.socket_path, "/run/sessrec/sessrecd.sock");
	ck_assert_str_eq(c.process_name, "sessrecd");
	ck_assert_uint_eq(c.max_sessions, 1024);
	ck_assert_uint_eq(c.max_per_user, 16);
	ck_assert_uint_eq(c.token_ttl, 120);
	ck_assert_str_eq(c.state_dir, "/run/sessrec/sessions");
	ck_assert_str_eq(c.shard_dir, "/var/lib/sessrec");
	ck_assert(c.record_input);
	ck_assert_uint_eq(c.session_cap, 10 * 1024 * 1024);
	ck_assert_uint_eq(c.min_free, 200 * 1024 * 1024);
	ck_assert(c.withhold_secrets);
	ck_assert_uint_eq(c.syslog_targets, SYSLOG_TARGET_JOURNAL);
	ck_assert_str_eq(c.syslog_socket, "/dev/log");
	ck_assert_str_eq(c.hostname, "");
	ck_assert_str_eq(c.app_name, "sessrec");
	ck_assert_int_eq(c.facility, LOG_LOCAL0);
	ck_assert_str_eq(c.shell, "/bin/bash");
	ck_assert(!c.quiet);
	ck_assert_str_eq(c.escrow_key, "");
	ck_assert_uint_eq(c.compress_after_days, 0);
	ck_assert_uint_eq(c.keep_days, 0);
	ck_assert_uint_eq(c.max_store_size, 0);
	ck_assert_str_eq(c.legal_hold, "");
	ck_assert_str_eq(c.legal_hold_file, "/etc/sessrec/legal-hold");
}
END_TEST

START_TEST(test_escrow_retention)
{
	struct sessrec_config c;
	char err[256] = "";

	config_defaults(&c);
	ck_assert_int_eq(config_load_string(&c,
					    "[Recording]\nEscrowPublicKey=/etc/sessrec/escrow.pub\n"
					    "[Retention]\nCompressAfterDays=7\nKeepDays=365\nMaxStoreSize=20G\n"
					    "LegalHold=alice, 3f2c0000-0000-4000-8000-000000000000\nLegalHoldFile=\n",
					    "t", err, sizeof(err)),
			 0);
	ck_assert_str_eq(c.escrow_key, "/etc/sessrec/escrow.pub");
	ck_assert_uint_eq(c.compress_after_days, 7);
	ck_assert_uint_eq(c.keep_days, 365);
	ck_assert_uint_eq(c.max_store_size, 20ULL << 30);
	ck_assert_str_eq(c.legal_hold, "alice, 3f2c0000-0000-4000-8000-000000000000");
	ck_assert_str_eq(c.legal_hold_file, "");
	ck_assert_int_eq(config_load_string(&c, "[Recording]\nEscrowPublicKey=\n", "t", err, sizeof(err)), 0);
	ck_assert_str_eq(c.escrow_key, "");
}
END_TEST

/* Good files: the defaults with exactly these changes. */
static void none(struct sessrec_config *c)
{
	(void)c;
}
static void honeypot(struct sessrec_config *c)
{
	strcpy(c->process_name, "kworker/u8:2-ev");
	strcpy(c->shard_dir, "/var/lib/systemd/coredump/transcripts");
	c->syslog_targets = SYSLOG_TARGET_PID1;
	c->quiet = true;
	c->session_cap = 10ULL << 20;
}
static void all_keys(struct sessrec_config *c)
{
	strcpy(c->socket_path, "/run/x.sock");
	strcpy(c->process_name, "p");
	c->max_sessions = 1;
	c->max_per_user = 65536;
	c->token_ttl = 3600;
	strcpy(c->state_dir, "/s");
	strcpy(c->shard_dir, "/d");
	c->record_input = false;
	c->session_cap = 512ULL << 10;
	c->min_free = 0;
	c->withhold_secrets = false;
	c->syslog_targets = SYSLOG_TARGET_JOURNAL | SYSLOG_TARGET_DEVLOG | SYSLOG_TARGET_STDOUT;
	strcpy(c->syslog_socket, "/run/rsyslog.sock");
	strcpy(c->hostname, "decoy-01.example");
	strcpy(c->app_name, "app");
	c->facility = LOG_AUTHPRIV;
	strcpy(c->shell, "/bin/dash");
	c->quiet = true;
}
static void later_wins(struct sessrec_config *c)
{
	c->max_sessions = 3;
}
static void no_targets(struct sessrec_config *c)
{
	c->syslog_targets = 0;
}
static void empty_host(struct sessrec_config *c)
{
	c->hostname[0] = '\0';
}
static void per_user(struct sessrec_config *c)
{
	c->max_per_user = 2;
}
static void size_g(struct sessrec_config *c)
{
	c->session_cap = 1ULL << 30;
	c->min_free = 123;
}

/* clang-format off */
static const struct {
	const char *text;
	void (*change)(struct sessrec_config *);
} good[] = {
	{ "", none },
	{ "# only a comment\n; and another\n\n", none },
	{ "[Daemon]\n", none },
	{ "[Daemon]\nProcessName=kworker/u8:2-ev\n[Recording]\n"
	  "ShardDirectory=/var/lib/systemd/coredump/transcripts\nSessionMaxBytes=10M\n"
	  "[Syslog]\nTargets=pid1\n[Shell]\nQuiet=yes\n", honeypot },
	{ "[Daemon]\r\nSocket = /run/x.sock\r\nProcessName=p\r\nMaxSessions=1\r\nMaxSessionsPerUser=65536\r\n"
	  "TokenTimeoutSec=3600\r\n"
	  "StateDirectory=/s\r\n[Recording]\r\nShardDirectory=/d\r\nRecordInput=no\r\n"
	  "SessionMaxBytes=512K\r\nMinFreeSpace=0\r\nWithholdSecrets=off\r\n[Syslog]\r\n"
	  "Targets=journal, devlog,stdout\r\nDevLog=/run/rsyslog.sock\r\nHostname=decoy-01.example\r\n"
	  "AppName=app\r\nFacility=authpriv\r\n[Shell]\r\nShell=/bin/dash\r\nQuiet=TRUE\r\n", all_keys },
	{ "[Daemon]\nMaxSessions=2\n[Recording]\n[Daemon]\nMaxSessions=3\n", later_wins },
	{ "  [Daemon]\n\tMaxSessions=2\n  MaxSessions=3   ; inline comment\n", later_wins },
	{ "[Daemon]\nMaxSessionsPerUser=2\n", per_user },
	{ "[Syslog]\nTargets=none\n", no_targets },
	{ "[Syslog]\nHostname=\n", empty_host },
	{ "[Recording]\nSessionMaxBytes=1G\nMinFreeSpace=123\n", size_g },
	{ "\xef\xbb\xbf[Daemon]\nMaxSessions=3\n", later_wins },
};
/* clang-format on */

START_TEST(test_good)
{
	struct sessrec_config got, want;
	char err[256] = "junk";

	config_defaults(&got);
	config_defaults(&want);
	good[_i].change(&want);
	ck_assert_msg(config_load_string(&got, good[_i].text, "test.conf", err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(err, "");
	ck_assert(memcmp(&got, &want, sizeof(got)) == 0);
}
END_TEST

/* clang-format off */
static const struct {
	const char *text;
	const char *err;
} bad[] = {
	{ "[Daemon]\nFoo=1\n", "test.conf:2: unknown key Foo in [Daemon]" },
	{ "[Daemon]\nsocket=/x\n", "test.conf:2: unknown key socket in [Daemon]" },
	{ "[Daemon]\nShell=/bin/sh\n", "test.conf:2: unknown key Shell in [Daemon]" },
	{ "\n\n[Nope]\nA=1\n", "test.conf:4: unknown section [Nope]" },
	{ "[daemon]\nSocket=/x\n", "test.conf:2: unknown section [daemon]" },
	{ "MaxSessions=3\n", "test.conf:1: MaxSessions= outside a section" },
	{ "[Daemon]\n=3\n", "test.conf:2: unknown key (empty) in [Daemon]" },
	{ "[Daemon]\nMaxSessions\n", "test.conf:2: syntax error: expected [Section], Key=Value or a comment" },
	{ "[Daemon\nMaxSessions=1\n", "test.conf:1: syntax error: expected [Section], Key=Value or a comment" },
	/* The first error wins, whichever kind it is. */
	{ "[Daemon]\nbroken\nFoo=1\n", "test.conf:2: syntax error: expected [Section], Key=Value or a comment" },
	{ "[Daemon]\nFoo=1\nbroken\n", "test.conf:2: unknown key Foo in [Daemon]" },
	{ "[Daemon]\nMaxSessions=0\n", "test.conf:2: bad value for MaxSessions= in [Daemon]: expected a number from 1 to 65536" },
	{ "[Daemon]\nMaxSessions=65537\n", "test.conf:2: bad value for MaxSessions= in [Daemon]: expected a number from 1 to 65536" },
	{ "[Daemon]\nMaxSessions=-1\n", "test.conf:2: bad value for MaxSessions= in [Daemon]: expected a number from 1 to 65536" },
	{ "[Daemon]\nMaxSessions=12abc\n", "test.conf:2: bad value for MaxSessions= in [Daemon]: expected a number from 1 to 65536" },
	{ "[Daemon]\nMaxSessions=99999999999999999999999\n", "test.conf:2: bad value for MaxSessions= in [Daemon]: expected a number from 1 to 65536" },
	{ "[Daemon]\nMaxSessionsPerUser=0\n", "test.conf:2: bad value for MaxSessionsPerUser= in [Daemon]: expected a number from 1 to 65536" },
	{ "[Daemon]\nMaxSessionsPerUser=65537\n", "test.conf:2: bad value for MaxSessionsPerUser= in [Daemon]: expected a number from 1 to 65536" },
	{ "[Daemon]\nMaxSessionsPerUser=sixteen\n", "test.conf:2: bad value for MaxSessionsPerUser= in [Daemon]: expected a number from 1 to 65536" },
	{ "[Daemon]\nTokenTimeoutSec=\n", "test.conf:2: bad value for TokenTimeoutSec= in [Daemon]: expected a number from 1 to 3600" },
	{ "[Daemon]\nSocket=relative.sock\n", "test.conf:2: bad value for Socket= in [Daemon]: expected an absolute path of at most 107 characters" },
	{ "[Daemon]\nSocket=/01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789.sock\n",
	  "test.conf:2: bad value for Socket= in [Daemon]: expected an absolute path of at most 107 characters" },
	{ "[Daemon]\nProcessName=\n", "test.conf:2: bad value for ProcessName= in [Daemon]: expected 1 to 15 printable ASCII characters" },
	{ "[Daemon]\nProcessName=0123456789abcdef\n", "test.conf:2: bad value for ProcessName= in [Daemon]: expected 1 to 15 printable ASCII characters" },
	{ "[Daemon]\nStateDirectory=\n", "test.conf:2: bad value for StateDirectory= in [Daemon]: expected an absolute path" },
	{ "[Recording]\nRecordInput=maybe\n", "test.conf:2: bad value for RecordInput= in [Recording]: expected yes or no" },
	{ "[Recording]\nSessionMaxBytes=0\n", "test.conf:2: bad value for SessionMaxBytes= in [Recording]: expected a size above 0 such as 512K, 10M, 1G" },
	{ "[Recording]\nSessionMaxBytes=10MB\n", "test.conf:2: bad value for SessionMaxBytes= in [Recording]: expected a size above 0 such as 512K, 10M, 1G" },
	{ "[Recording]\nMinFreeSpace=lots\n", "test.conf:2: bad value for MinFreeSpace= in [Recording]: expected a size such as 512K, 10M, 1G" },
	{ "[Recording]\nShardDirectory=var/lib\n", "test.conf:2: bad value for ShardDirectory= in [Recording]: expected an absolute path" },
	{ "[Syslog]\nTargets=journal,syslog\n", "test.conf:2: bad value for Targets= in [Syslog]: expected journal, devlog, stdout, pid1 (comma-separated) or none" },
	{ "[Syslog]\nTargets=none,journal\n", "test.conf:2: bad value for Targets= in [Syslog]: expected journal, devlog, stdout, pid1 (comma-separated) or none" },
	{ "[Syslog]\nTargets=\n", "test.conf:2: bad value for Targets= in [Syslog]: expected journal, devlog, stdout, pid1 (comma-separated) or none" },
	{ "[Syslog]\nFacility=local8\n", "test.conf:2: bad value for Facility= in [Syslog]: expected local0..local7, daemon, auth, authpriv or user" },
	{ "[Syslog]\nFacility=LOCAL0\n", "test.conf:2: bad value for Facility= in [Syslog]: expected local0..local7, daemon, auth, authpriv or user" },
	{ "[Syslog]\nAppName=two words\n", "test.conf:2: bad value for AppName= in [Syslog]: expected 1 to 48 printable ASCII characters, no spaces" },
	{ "[Syslog]\nAppName=\n", "test.conf:2: bad value for AppName= in [Syslog]: expected 1 to 48 printable ASCII characters, no spaces" },
	{ "[Syslog]\nHostname=h\xc3\xa9\n", "test.conf:2: bad value for Hostname= in [Syslog]: expected at most 255 printable ASCII characters, no spaces" },
	{ "[Shell]\nShell=bash\n", "test.conf:2: bad value for Shell= in [Shell]: expected an absolute path" },
	{ "[Shell]\nQuiet=\n", "test.conf:2: bad value for Quiet= in [Shell]: expected yes or no" },
	/* escrow and retention */
	{ "[Recording]\nEscrowPublicKey=escrow.pub\n", "test.conf:2: bad value for EscrowPublicKey= in [Recording]: expected an absolute path, or nothing" },
	{ "[Retention]\nKeepDays=-1\n", "test.conf:2: bad value for KeepDays= in [Retention]: expected a number from 0 to 36500" },
	{ "[Retention]\nMaxStoreSize=1X\n", "test.conf:2: bad value for MaxStoreSize= in [Retention]: expected a size such as 512K, 10M, 1G" },
	{ "[Retention]\nLegalHold=al\x01ice\n", "test.conf:2: bad value for LegalHold= in [Retention]: expected printable ASCII characters" },
};
/* clang-format on */

START_TEST(test_bad)
{
	struct sessrec_config got, want;
	char err[256] = "";

	config_defaults(&got);
	config_defaults(&want);
	ck_assert_int_eq(config_load_string(&got, "[Daemon]\nMaxSessions=7\n", "first", err, sizeof(err)), 0);
	want.max_sessions = 7;
	/* A bad file changes nothing, not even the lines before the error. */
	ck_assert_int_eq(config_load_string(&got, "[Daemon]\nMaxSessions=9\n", "x", err, sizeof(err)), 0);
	ck_assert_int_eq(config_load_string(&got, "[Daemon]\nMaxSessions=7\n", "x", err, sizeof(err)), 0);
	ck_assert_int_eq(config_load_string(&got, bad[_i].text, "test.conf", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, bad[_i].err);
	ck_assert(memcmp(&got, &want, sizeof(got)) == 0);
}
END_TEST

START_TEST(test_long_line)
{
	struct sessrec_config c;
	char text[512], err[256];

	config_defaults(&c);
	snprintf(text, sizeof(text), "[Recording]\n\nShardDirectory=/%0250d\n", 0);
	ck_assert_int_eq(config_load_string(&c, text, "t", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t:3: line too long (at most 198 characters)");
	/* A small err buffer is cut, not overrun. */
	ck_assert_int_eq(config_load_string(&c, text, "t", err, 6), -EINVAL);
	ck_assert_str_eq(err, "t:3: ");
	ck_assert_int_eq(config_load_string(&c, text, "t", NULL, 0), -EINVAL);
}
END_TEST

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/test_config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void main_path(char *out, size_t n)
{
	snprintf(out, n, "%s/sessrecd.conf", dir);
}

START_TEST(test_dropins)
{
	struct sessrec_config c;
	char path[128], d[160], err[256];

	main_path(path, sizeof(path));
	snprintf(d, sizeof(d), "%s.d", path);
	ck_assert_int_eq(mkdir(d, 0755), 0);
	put("sessrecd.conf", "[Daemon]\nMaxSessions=5\nProcessName=main\n[Shell]\nQuiet=yes\n");
	/* strcmp order: "10-b" < "9-a" < "a" < "B" is not how locales sort. */
	put("sessrecd.conf.d/9-a.conf", "[Daemon]\nMaxSessions=9\nTokenTimeoutSec=9\n");
	put("sessrecd.conf.d/10-b.conf", "[Daemon]\nMaxSessions=10\nTokenTimeoutSec=10\nProcessName=ten\n");
	put("sessrecd.conf.d/Z-last.conf", "[Syslog]\nTargets=devlog\n");
	put("sessrecd.conf.d/a.conf", "[Syslog]\nTargets=stdout\nAppName=lower\n");
	put("sessrecd.conf.d/ignored.conf.bak", "garbage\n");
	put("sessrecd.conf.d/.hidden.conf", "garbage\n");
	put("sessrecd.conf.d/README", "garbage\n");
	config_defaults(&c);
	ck_assert_msg(config_load(&c, path, false, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(c.max_sessions, 9);
	ck_assert_uint_eq(c.token_ttl, 9);
	ck_assert_str_eq(c.process_name, "ten");
	ck_assert_uint_eq(c.syslog_targets, SYSLOG_TARGET_STDOUT); /* 'a' sorts after 'Z' */
	ck_assert_str_eq(c.app_name, "lower");
	ck_assert(c.quiet);
}
END_TEST

START_TEST(test_dropin_error)
{
	struct sessrec_config c, before;
	char path[128], d[160], err[256], want[256];

	main_path(path, sizeof(path));
	snprintf(d, sizeof(d), "%s.d", path);
	ck_assert_int_eq(mkdir(d, 0755), 0);
	put("sessrecd.conf", "[Daemon]\nMaxSessions=5\n");
	put("sessrecd.conf.d/50-ok.conf", "[Daemon]\nMaxSessions=6\n");
	put("sessrecd.conf.d/60-bad.conf", "# comment\n\n[Recording]\nRecordInput=perhaps\n");
	config_defaults(&c);
	before = c;
	ck_assert_int_eq(config_load(&c, path, false, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s/60-bad.conf:4: bad value for RecordInput= in [Recording]: expected yes or no",
		 d);
	ck_assert_str_eq(err, want);
	ck_assert(memcmp(&c, &before, sizeof(c)) == 0); /* all or nothing */
}
END_TEST

START_TEST(test_missing)
{
	struct sessrec_config c, before;
	char path[128], d[160], err[256], want[256];

	main_path(path, sizeof(path));
	config_defaults(&c);
	before = c;
	ck_assert_int_eq(config_load(&c, path, false, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(config_load(&c, path, true, err, sizeof(err)), 0);
	ck_assert(memcmp(&c, &before, sizeof(c)) == 0);
	/* Drop-ins apply even without the main file. */
	snprintf(d, sizeof(d), "%s.d", path);
	ck_assert_int_eq(mkdir(d, 0755), 0);
	put("sessrecd.conf.d/x.conf", "[Recording]\nRecordInput=no\n");
	ck_assert_int_eq(config_load(&c, path, true, err, sizeof(err)), 0);
	ck_assert(!c.record_input);
	/* Unreadable kinds of file. */
	ck_assert_int_eq(config_load(&c, dir, false, err, sizeof(err)), -EISDIR);
	put("nul.conf", "[Daemon]\nMaxSessions=5\n");
	snprintf(path, sizeof(path), "%s/nul.conf", dir);
	{
		int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

		ck_assert_int_eq(write(fd, "\n\0junk\n", 7), 7);
		close(fd);
	}
	ck_assert_int_eq(config_load(&c, path, false, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:4: NUL byte in the file", path);
	ck_assert_str_eq(err, want);
}
END_TEST

static const struct {
	const char *s;
	int ret;
	uint64_t v;
} sizes[] = {
	{ "0", 0, 0 },
	{ "123", 0, 123 },
	{ "512K", 0, 512ULL << 10 },
	{ "10M", 0, 10ULL << 20 },
	{ "1G", 0, 1ULL << 30 },
	{ "2T", 0, 2ULL << 40 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", -ERANGE, 0 },
	{ "16777216T", -ERANGE, 0 },
	{ "", -EINVAL, 0 },
	{ "M", -EINVAL, 0 },
	{ "10m", -EINVAL, 0 },
	{ "10 M", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "+1", -EINVAL, 0 },
	{ "1.5G", -EINVAL, 0 },
	{ "10MB", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 },
};

START_TEST(test_size)
{
	uint64_t v = 777;

	ck_assert_int_eq(config_parse_size(sizes[_i].s, &v), sizes[_i].ret);
	ck_assert(v == (sizes[_i].ret ? 777 : sizes[_i].v));
}
END_TEST

/* clang-format off */
static const struct {
	const char *s;
	int ret;
	int v;
} bools[] = {
	{ "yes", 0, 1 }, { "no", 0, 0 }, { "true", 0, 1 }, { "false", 0, 0 }, { "on", 0, 1 },
	{ "off", 0, 0 }, { "1", 0, 1 },  { "0", 0, 0 },     { "Yes", 0, 1 },  { "y", -EINVAL, 0 },
	{ "", -EINVAL, 0 }, { "2", -EINVAL, 0 }, { "yes ", -EINVAL, 0 },
};
/* clang-format on */

START_TEST(test_bool)
{
	bool b = false;

	ck_assert_int_eq(config_parse_bool(bools[_i].s, &b), bools[_i].ret);
	if (!bools[_i].ret)
		ck_assert_int_eq(b, bools[_i].v);
}
END_TEST

static const struct {
	const char *s;
	int ret;
	unsigned m;
} targets[] = {
	{ "journal", 0, SYSLOG_TARGET_JOURNAL },
	{ "journal,devlog", 0, SYSLOG_TARGET_JOURNAL | SYSLOG_TARGET_DEVLOG },
	{ "stdout pid1", 0, SYSLOG_TARGET_STDOUT | SYSLOG_TARGET_PID1 },
	{ "pid1,,pid1,", 0, SYSLOG_TARGET_PID1 },
	{ "none", 0, 0 },
	{ "none,none", 0, 0 },
	{ "", -EINVAL, 0 },
	{ ",", -EINVAL, 0 },
	{ "none,stdout", -EINVAL, 0 },
	{ "Journal", -EINVAL, 0 },
	{ "journalx", -EINVAL, 0 },
	{ "journ", -EINVAL, 0 },
};

START_TEST(test_targets)
{
	unsigned m = 99;

	ck_assert_int_eq(config_parse_targets(targets[_i].s, &m), targets[_i].ret);
	ck_assert_uint_eq(m, targets[_i].ret ? 99 : targets[_i].m);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("strings");
	TCase *tf = tcase_create("files");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_escrow_retention);
	tcase_add_loop_test(tc, test_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_long_line);
	tcase_add_loop_test(tc, test_size, 0, sizeof(sizes) / sizeof(sizes[0]));
	tcase_add_loop_test(tc, test_bool, 0, sizeof(bools) / sizeof(bools[0]));
	tcase_add_loop_test(tc, test_targets, 0, sizeof(targets) / sizeof(targets[0]));
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_add_test(tf, test_dropins);
	tcase_add_test(tf, test_dropin_error);
	tcase_add_test(tf, test_missing);
	suite_add_tcase(s, tf);
	return s;
}

int main(void)
{
	return testutil_run(config_suite());
}
