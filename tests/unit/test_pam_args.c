/* Unit tests for pam_sessrec.so as a PAM module: it loads with RTLD_NOW and
 * exports only pam_sm_*; its arguments and the selection they make, run
 * through the real PAM stack (pam_start_confdir) against a socket nobody
 * listens on, so the result tells whether the user was selected. */
#include <check.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_modules.h>

#include "test_pam_lib.h"

#define NOWHERE "/nonexistent/sessrecd.sock"

START_TEST(test_dlopen_now)
{
	void *h = dlopen(module_path(), RTLD_NOW | RTLD_LOCAL);

	ck_assert_msg(h, "dlopen: %s", dlerror());
	ck_assert_ptr_nonnull(dlsym(h, "pam_sm_open_session"));
	ck_assert_ptr_nonnull(dlsym(h, "pam_sm_close_session"));
	/* The session module, its authfail mode (the auth stack's two entry
	 * points), and none of its own or common/'s names. */
	ck_assert_ptr_nonnull(dlsym(h, "pam_sm_authenticate"));
	ck_assert_ptr_nonnull(dlsym(h, "pam_sm_setcred"));
	ck_assert_ptr_null(dlsym(h, "pam_sm_acct_mgmt"));
	ck_assert_ptr_null(dlsym(h, "pam_sm_chauthtok"));
	ck_assert_ptr_null(dlsym(h, "pamsr_selected"));
	ck_assert_ptr_null(dlsym(h, "protoclient_call"));
	ck_assert_ptr_null(dlsym(h, "ptyswitch_take"));
	dlclose(h);
}
END_TEST

/* nm -D lists every symbol the module defines for others: exactly four. */
START_TEST(test_exports_only_pam_sm)
{
	char cmd[PATH_MAX + 64], line[512], type, name[400];
	int count = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s'", module_path());
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p)) {
		ck_assert_msg(sscanf(line, "%*s %c %399s", &type, name) == 2, "nm line: %s", line);
		ck_assert_msg(strncmp(name, "pam_sm_", 7) == 0, "exported: %s", name);
		count++;
	}
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_int_eq(count, 4);
}
END_TEST

/* One row: the service and user PAM is started with, the module's
 * arguments (after socket=nowhere fail=closed), and whether the module
 * should try to record (and so refuse, the daemon being unreachable). */
/* clang-format off */
static const struct row {
	const char *service, *user, *args;
	bool selected;
} rows[] = {
	{ "sshd", "root", "", true },                           /* empty selection: everyone */
	{ "sshd", "daemon", "users=root,bin", false },
	{ "sshd", "bin", "users=root,bin", true },
	{ "sshd", "root", "users=,root,", true },               /* empty entries skipped */
	{ "sshd", "root", "users=roo", false },                 /* whole names only */
	{ "sshd", "root", "users=rootx", false },
	{ "sshd", "ghost", "users=root", false },               /* unknown, not selected: nothing looked up */
	{ "sshd", "daemon", "groups=daemon", true },            /* primary group */
	{ "sshd", "sync", "groups=nogroup", true },
	{ "sshd", "root", "groups=nogroup", false },
	{ "sshd", "root", "groups=nosuchgroup", false },
	{ "sshd", "root", "users=bin groups=root", true },      /* either list */
	{ "sshd", "root", "exclude_users=root", false },
	{ "sshd", "bin", "exclude_users=root", true },
	{ "sshd", "sync", "groups=nogroup exclude_users=sync", false },
	{ "sshd", "nobody", "exclude_groups=nogroup", false },
	{ "sshd", "root", "exclude_groups=nogroup", true },
	{ "sshd", "root", "users=root exclude_groups=root", false }, /* exclusion wins */
	{ "su", "root", "", false },                            /* nested sessions never */
	{ "su-l", "root", "users=root", false },
	{ "sudo", "root", "", false },
	{ "sudo-i", "root", "", false },
	{ "runuser", "root", "", false },
	{ "runuser-l", "root", "", false },
	{ "sshd", "root", "services=sshd,login", true },
	{ "cron", "root", "services=sshd,login", false },
	{ "sshd", "root", "bogus frobnicate=1 users", true },   /* unknown arguments ignored */
	{ "sshd", "root", "fail=maybe", true },                 /* bad value: fail=closed kept */
	{ "sshd", "root", "timeout_ms=0 timeout_ms=x mode=shim input=no dry_run debug quiet", true },
	{ "sshd", "ghost", "", true },                          /* selected, no passwd entry: refused */
	{ "sshd", "root", "fail=open", false },                 /* fail=open: in, unrecorded, silent */
};
/* clang-format on */

START_TEST(test_selection)
{
	const struct row *r = &rows[_i];
	struct said said = { .text = "" };
	struct pam_conv conv;
	char args[512];
	struct confdir cd;
	pam_handle_t *pamh;
	int rc;

	snprintf(args, sizeof(args), "fail=closed mode=shim %s", r->args);
	pamh = start_stack(&cd, &said, &conv, r->service, r->user, NOWHERE, args, "session optional pam_permit.so\n");
	rc = pam.open_session(pamh, 0);
	if (r->selected) {
		ck_assert_msg(rc == PAM_SESSION_ERR, "%s %s [%s]: got %d", r->service, r->user, r->args, rc);
		ck_assert_str_eq(said.text, REFUSED);
		ck_assert_int_eq(said.errors, 1);
	} else {
		ck_assert_msg(rc == PAM_SUCCESS, "%s %s [%s]: got %d", r->service, r->user, r->args, rc);
		ck_assert_str_eq(said.text, "");
		ck_assert_ptr_null(pam.getenv(pamh, "SESSREC_TOKEN"));
		ck_assert_int_eq(pam.close_session(pamh, 0), PAM_SUCCESS);
	}
	pam.end(pamh, rc);
	confdir_remove(&cd);
}
END_TEST

/* The module's own answer, alone in the stack: libpam passes PAM_SUCCESS
 * and PAM_SESSION_ERR through and turns an all-ignore stack into
 * PAM_PERM_DENIED, so the three are told apart. (pam_sm_* cannot be called
 * directly: pam_set_data refuses callers outside a module.) */
/* clang-format off */
static const struct alone {
	const char *service, *user, *args;
	int expect;
} alones[] = {
	{ "sshd", "daemon", "users=root", PAM_PERM_DENIED },           /* PAM_IGNORE */
	{ "su", "root", "", PAM_PERM_DENIED },
	{ "sshd", "root", "exclude_groups=root", PAM_PERM_DENIED },
	{ "sshd", "root", "", PAM_SUCCESS },                          /* fail=open is the default */
	{ "sshd", "root", "fail=open timeout_ms=50", PAM_SUCCESS },
	{ "sshd", "root", "fail=closed", PAM_SESSION_ERR },
	/* login defaults to mode=tty; a test process leads no terminal session. */
	{ "login", "root", "fail=closed", PAM_SESSION_ERR },
	{ "login", "root", "fail=open", PAM_SUCCESS },
	{ "login", "root", "fail=open mode=shim", PAM_SUCCESS },
};
/* clang-format on */

START_TEST(test_alone)
{
	const struct alone *d = &alones[_i];
	struct said said = { .text = "" };
	struct pam_conv conv;
	struct confdir cd;
	pam_handle_t *pamh;
	int rc;

	pamh = start(&cd, &said, &conv, d->service, d->user, NOWHERE, d->args);
	rc = pam.open_session(pamh, 0);
	ck_assert_msg(rc == d->expect, "%s %s [%s]: got %d", d->service, d->user, d->args, rc);
	ck_assert_int_eq(said.errors, d->expect == PAM_SESSION_ERR ? 1 : 0);
	ck_assert_ptr_null(pam.getenv(pamh, "SESSREC_TOKEN"));
	/* Nothing was registered, so close has nothing to say either. */
	ck_assert_int_eq(pam.close_session(pamh, 0), PAM_PERM_DENIED);
	pam.end(pamh, PAM_SUCCESS);
	confdir_remove(&cd);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pam_args");
	TCase *tc = tcase_create("module");

	tcase_add_test(tc, test_dlopen_now);
	tcase_add_test(tc, test_exports_only_pam_sm);
	tcase_add_loop_test(tc, test_selection, 0, (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_loop_test(tc, test_alone, 0, (int)(sizeof(alones) / sizeof(alones[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(suite());
}
