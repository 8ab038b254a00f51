/* Unit tests for common/cmdpolicy: the name a pty-less command is judged
 * by, NoTtyCommands= (table-driven: allowed, refused with the exact line),
 * the transfer detection, and the configuration keys that use them. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "cmdpolicy.h"
#include "config.h"
#include "testutil.h"

static const struct {
	const char *cmd, *name;
} names[] = {
	{ "scp -t /tmp", "scp" },
	{ "/usr/bin/scp -f x", "scp" },
	{ "/usr/lib/openssh/sftp-server", "sftp" },
	{ "internal-sftp -l INFO", "sftp" },
	{ "  git-upload-pack '/srv/x.git'", "git-upload-pack" },
	{ "'bash' -i", "" },       /* quoted: not a name */
	{ "$SHELL", "" },          /* expanded */
	{ "b\\ash", "" },          /* escaped */
	{ "", "" },
	{ "rsync --server -e.Lsf . x", "rsync" },
};

START_TEST(test_name)
{
	char name[64];

	memset(name, 'x', sizeof(name));
	cmdpolicy_name(names[_i].cmd, name, sizeof(name));
	ck_assert_str_eq(name, names[_i].name);
}
END_TEST

static const struct {
	const char *patterns, *cmd;
	const char *why; /* NULL: allowed */
} policies[] = {
	{ "", "bash -i", NULL }, /* no policy */
	{ "   ", "bash; id", NULL },
	{ "scp sftp rsync git-*", "scp -t /tmp/a b", NULL },
	{ "scp sftp rsync git-*", "/usr/lib/openssh/sftp-server", NULL },
	{ "scp sftp rsync git-*", "git-receive-pack '/srv/x.git'", NULL },
	{ "scp sftp rsync git-*", "bash -i", "bash is not allowed without a terminal (NoTtyCommands=)" },
	{ "scp sftp rsync git-*", "/bin/bash", "bash is not allowed without a terminal (NoTtyCommands=)" },
	{ "scp sftp rsync git-*", "'scp' -t x", "this command is not allowed without a terminal (NoTtyCommands=)" },
	{ "scp", "scp -t x; bash", "a command without a terminal must be one simple command (it holds ;)" },
	{ "scp", "scp -t x && bash", "a command without a terminal must be one simple command (it holds &)" },
	{ "scp", "scp -t x | bash", "a command without a terminal must be one simple command (it holds |)" },
	{ "scp", "scp -t `bash`", "a command without a terminal must be one simple command (it holds `)" },
	{ "scp", "scp -t $(bash)", "a command without a terminal must be one simple command (it holds $()" },
	{ "scp", "scp -t <(bash)", "a command without a terminal must be one simple command (it holds <()" },
	{ "scp", "scp -t x\nbash", "a command without a terminal must be one simple command (it holds a line break)" },
	{ "sc?", "scp -t x", NULL },
	{ "[st]cp", "tcp", NULL },
	{ "[!s]cp", "scp -t x", "scp is not allowed without a terminal (NoTtyCommands=)" },
};

START_TEST(test_allowed)
{
	char why[256] = "";
	bool ok = cmdpolicy_allowed(policies[_i].patterns, policies[_i].cmd, why, sizeof(why));

	ck_assert_msg(ok == !policies[_i].why, "%s / %s: %s", policies[_i].patterns, policies[_i].cmd, why);
	if (policies[_i].why)
		ck_assert_str_eq(why, policies[_i].why);
}
END_TEST

static const struct {
	const char *cmd;
	enum cmdpolicy_transfer t;
} transfers[] = {
	{ "scp -t /tmp", CMDPOLICY_SCP },
	{ "scp -f /tmp/x", CMDPOLICY_SCP },
	{ "scp -v -r -d -t -- /tmp", CMDPOLICY_SCP },
	{ "scp -pt .", CMDPOLICY_SCP },
	{ "scp x y", CMDPOLICY_NOT_TRANSFER }, /* a client run by the user */
	{ "scp -- -t", CMDPOLICY_NOT_TRANSFER },
	{ "/usr/lib/openssh/sftp-server", CMDPOLICY_SFTP },
	{ "internal-sftp", CMDPOLICY_SFTP },
	{ "cat -t", CMDPOLICY_NOT_TRANSFER },
	{ "", CMDPOLICY_NOT_TRANSFER },
};

START_TEST(test_transfer)
{
	ck_assert_int_eq(cmdpolicy_transfer(transfers[_i].cmd), transfers[_i].t);
}
END_TEST

START_TEST(test_patterns_valid)
{
	char long_value[CMDPOLICY_PATTERNS_MAX + 2];

	ck_assert(cmdpolicy_patterns_valid(""));
	ck_assert(cmdpolicy_patterns_valid("scp sftp rsync git-* [!x]y?"));
	ck_assert(!cmdpolicy_patterns_valid("scp;bash"));
	ck_assert(!cmdpolicy_patterns_valid("/usr/bin/scp")); /* names, not paths */
	memset(long_value, 'a', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	ck_assert(!cmdpolicy_patterns_valid(long_value));
}
END_TEST

START_TEST(test_config_keys)
{
	struct sessrec_config c;
	char err[256] = "";

	config_defaults(&c);
	ck_assert_str_eq(c.notty_commands, "");
	ck_assert(!c.transfer_metadata); /* content by default */
	ck_assert_int_eq(config_load_string(&c, "[Daemon]\nNoTtyCommands=scp sftp git-*\n[Recording]\n"
						"TransferContent=metadata\n",
					    "t.conf", err, sizeof(err)),
			 0);
	ck_assert_str_eq(c.notty_commands, "scp sftp git-*");
	ck_assert(c.transfer_metadata);
	ck_assert_int_lt(config_load_string(&c, "[Recording]\nTransferContent=hash\n", "t.conf", err, sizeof(err)), 0);
	ck_assert_str_eq(err, "t.conf:2: bad value for TransferContent= in [Recording]: expected content or metadata");
	ck_assert_int_lt(config_load_string(&c, "[Daemon]\nNoTtyCommands=scp;bash\n", "t.conf", err, sizeof(err)), 0);
	ck_assert(c.transfer_metadata); /* a failed load changes nothing */
	ck_assert_str_eq(c.notty_commands, "scp sftp git-*");
}
END_TEST

static Suite *cmdpolicy_suite(void)
{
	Suite *s = suite_create("cmdpolicy");
	TCase *tc = tcase_create("policy");

	tcase_add_loop_test(tc, test_name, 0, sizeof(names) / sizeof(names[0]));
	tcase_add_loop_test(tc, test_allowed, 0, sizeof(policies) / sizeof(policies[0]));
	tcase_add_loop_test(tc, test_transfer, 0, sizeof(transfers) / sizeof(transfers[0]));
	tcase_add_test(tc, test_patterns_valid);
	tcase_add_test(tc, test_config_keys);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(cmdpolicy_suite());
}
