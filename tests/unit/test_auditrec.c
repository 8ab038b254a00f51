/* Unit tests for common/auditrec: seccomp records as this kernel wrote
 * them to /dev/kmsg and the audit multicast, AppArmor and SELinux denials
 * (and what is not a denial), hex-encoded hostile names, the action and
 * syscall name tables. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "auditrec.h"
#include "testutil.h"

#define SECCOMP_KILL                                                                                 \
	"audit(1796548300.724:2): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=14816 comm=\"sc\" " \
	"exe=\"/tmp/authdeny-x/sc\" sig=31 arch=c000003e syscall=121 compat=0 ip=0x7f5960ecf829 code=0x80000000"

static int parse(unsigned type, const char *s, struct auditrec *r)
{
	return auditrec_parse(type, s, strlen(s), r);
}

START_TEST(test_seccomp)
{
	struct auditrec r;

	ck_assert_int_eq(parse(1326, SECCOMP_KILL, &r), 0);
	ck_assert_int_eq(r.kind, AUDITREC_KIND_SECCOMP);
	ck_assert_int_eq(r.sec, 1796548300);
	ck_assert_uint_eq(r.msec, 724);
	ck_assert_uint_eq(r.serial, 2);
	ck_assert_int_eq(r.pid, 14816);
	ck_assert_int_eq(r.uid, 0);
	ck_assert_int_eq(r.ses, -1);
	ck_assert_str_eq(r.comm, "sc");
	ck_assert_str_eq(r.exe, "/tmp/authdeny-x/sc");
	ck_assert_int_eq(r.sig, 31);
	ck_assert_uint_eq(r.arch, AUDIT_ARCH_X86_64_ID);
	ck_assert_int_eq(r.syscall, 121);
	ck_assert_str_eq(auditrec_action(r.code), "kill_process");
	ck_assert_str_eq(auditrec_syscall_name(r.arch, r.syscall), "getpgid");
}
END_TEST

START_TEST(test_kmsg)
{
	struct auditrec r;
	const char *l =
		"5,1234,358936061,-;audit: type=1326 audit(1796548300.724:1): auid=1000 uid=1000 gid=1000 "
		"ses=7 pid=42 comm=\"sc\" exe=\"/x\" sig=0 arch=c000003e syscall=110 compat=0 ip=0x7f "
		"code=0x50000\n SUBSYSTEM=x\n";

	ck_assert_int_eq(auditrec_parse_kmsg(l, strlen(l), &r), 0);
	ck_assert_int_eq(r.ses, 7);
	ck_assert_int_eq(r.syscall, 110);
	ck_assert_str_eq(auditrec_action(r.code), "errno");
	ck_assert_str_eq(auditrec_syscall_name(r.arch, r.syscall), "getppid");
	l = "6,1,2,-;EXT4-fs (vda): mounted filesystem";
	ck_assert_int_eq(auditrec_parse_kmsg(l, strlen(l), &r), -ENOENT);
	l = "6,1,2,-;audit: type=1300 audit(1.000:1): arch=c000003e syscall=1";
	ck_assert_int_eq(auditrec_parse_kmsg(l, strlen(l), &r), -ENOENT);
	l = "6,1,2,-;audit: type=1326 audit(1.000:1 pid=1";
	ck_assert_int_eq(auditrec_parse_kmsg(l, strlen(l), &r), -EINVAL);
	l = "6,1,2,-;audit: type=1326 audit(1.000:1): comm=\"x\" syscall=1";
	ck_assert_int_eq(auditrec_parse_kmsg(l, strlen(l), &r), -EINVAL);
}
END_TEST

START_TEST(test_hostile_names)
{
	struct auditrec r;

	/* the kernel hex-encodes a comm with a quote, space or control */
	ck_assert_int_eq(parse(1326,
			       "audit(1.5:9): pid=3 comm=2220785D1B5B324A exe=2F746D702F61 sig=0 "
			       "arch=c00000b7 syscall=172 code=0x7ffc0000",
			       &r),
			 0);
	ck_assert_str_eq(r.comm, "\" x]\x1b[2J");
	ck_assert_str_eq(r.exe, "/tmp/a");
	ck_assert_str_eq(auditrec_syscall_name(r.arch, r.syscall), "getpid");
	ck_assert_str_eq(auditrec_action(r.code), "log");
	/* a NUL stops a decoded name; an unknown arch has no names */
	ck_assert_int_eq(parse(1326, "audit(1.5:9): pid=3 comm=41004243 arch=40000003 syscall=20 code=0", &r), 0);
	ck_assert_str_eq(r.comm, "A");
	ck_assert_ptr_null(auditrec_syscall_name(r.arch, r.syscall));
	ck_assert_str_eq(auditrec_action(r.code), "kill_thread");
	ck_assert_ptr_null(auditrec_syscall_name(AUDIT_ARCH_X86_64_ID, 100000));
	ck_assert_ptr_null(auditrec_syscall_name(AUDIT_ARCH_X86_64_ID, -1));
}
END_TEST

START_TEST(test_apparmor)
{
	struct auditrec r;

	ck_assert_int_eq(parse(1400,
			       "audit(1700000000.100:77): apparmor=\"DENIED\" operation=\"open\" class=\"file\" "
			       "profile=\"/usr/bin/evince\" name=\"/etc/shadow\" pid=4242 comm=\"evince\" "
			       "requested_mask=\"r\" denied_mask=\"r\" fsuid=1000 ouid=0",
			       &r),
			 0);
	ck_assert_int_eq(r.kind, AUDITREC_KIND_APPARMOR);
	ck_assert_int_eq(r.pid, 4242);
	ck_assert_str_eq(r.op, "open");
	ck_assert_str_eq(r.tclass, "file");
	ck_assert_str_eq(r.profile, "/usr/bin/evince");
	ck_assert_str_eq(r.target, "/etc/shadow");
	ck_assert_str_eq(r.comm, "evince");
	ck_assert_int_eq(parse(1400,
			       "audit(1700000000.100:78): apparmor=\"ALLOWED\" operation=\"open\" "
			       "profile=\"p\" name=\"/x\" pid=1 comm=\"c\"",
			       &r),
			 -ENOENT);
	ck_assert_int_eq(
		parse(1400, "audit(1700000000.100:79): apparmor=\"STATUS\" operation=\"profile_load\" pid=1", &r),
		-ENOENT);
}
END_TEST

START_TEST(test_selinux)
{
	struct auditrec r;

	ck_assert_int_eq(parse(1400,
			       "audit(1700000000.200:80): avc:  denied  { read write } for  pid=555 comm=\"httpd\" "
			       "name=\"index.html\" dev=\"vda1\" ino=1234 scontext=system_u:system_r:httpd_t:s0 "
			       "tcontext=unconfined_u:object_r:user_home_t:s0 tclass=file permissive=0",
			       &r),
			 0);
	ck_assert_int_eq(r.kind, AUDITREC_KIND_SELINUX);
	ck_assert_int_eq(r.pid, 555);
	ck_assert_str_eq(r.op, "read write");
	ck_assert_str_eq(r.target, "index.html");
	ck_assert_str_eq(r.profile, "system_u:system_r:httpd_t:s0");
	ck_assert_str_eq(r.tclass, "file");
	ck_assert_int_eq(parse(1400, "audit(1.2:3): avc:  granted  { setenforce } for  pid=1 comm=\"x\"", &r), -ENOENT);
	ck_assert_int_eq(
		parse(1107,
		      "audit(1700000000.300:81): pid=1 uid=81 auid=4294967295 ses=12 "
		      "subj=system_u:system_r:system_dbusd_t msg='avc:  denied  { send_msg } for msgtype=method_call "
		      "interface=org.x member=Y dest=org.z spid=900 tpid=1 "
		      "scontext=u:r:t:s0 tcontext=u:r:z:s0 tclass=dbus permissive=0 exe=\"/usr/bin/dbus-daemon\" "
		      "sauid=81 hostname=? addr=? terminal=?'",
		      &r),
		0);
	ck_assert_int_eq(r.kind, AUDITREC_KIND_SELINUX);
	ck_assert_int_eq(r.pid, 1);
	ck_assert_int_eq(r.ses, 12);
	ck_assert_str_eq(r.op, "send_msg");
	ck_assert_str_eq(r.tclass, "dbus");
	ck_assert_str_eq(r.exe, "/usr/bin/dbus-daemon");
	ck_assert_int_eq(parse(1107, "audit(1.2:3): pid=1 uid=0 msg='op=PAM:session_open acct=\"root\"'", &r), -ENOENT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auditrec");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_seccomp);
	tcase_add_test(tc, test_kmsg);
	tcase_add_test(tc, test_hostile_names);
	tcase_add_test(tc, test_apparmor);
	tcase_add_test(tc, test_selinux);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
