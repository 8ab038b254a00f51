/* Unit tests for sessrecd's restart pieces: fd names, the gap marker, the
 * fd-store decision, the re-exec memfd's JSON (refused whole when
 * malformed), a state file carrying pending bytes, and the keeper process
 * itself: it holds session fds across the loss of its daemon (a shell's
 * pty keeps its master), hands them to the next daemon, lets go on drop,
 * refuses other users and exits after a clean goodbye. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pty.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handoff.h"
#include "io.h"
#include "keeper.h"
#include "keeperlink.h"
#include "relaymem.h"
#include "state.h"

#define SID_A "0f6f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
#define SID_C "1f6f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
#define SID_D "2f6f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"

static const struct {
	const char *name;
	enum handoff_kind kind;
} names[] = {
	{ SID_A "-outer", HANDOFF_FD_OUTER },
	{ SID_A "-inner", HANDOFF_FD_INNER },
	{ SID_A "-state", HANDOFF_FD_STATE },
	{ SID_A "-stat", HANDOFF_FD_UNKNOWN },
	{ "listen", HANDOFF_FD_LISTEN },
	{ "keeper", HANDOFF_FD_KEEPER },
	{ "sessrecd.socket", HANDOFF_FD_UNKNOWN },
	{ "0F6F1A2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B-outer", HANDOFF_FD_UNKNOWN },
	{ SID_A "-other", HANDOFF_FD_UNKNOWN },
	{ SID_A "-outerx", HANDOFF_FD_UNKNOWN },
	{ SID_A, HANDOFF_FD_UNKNOWN },
	{ "", HANDOFF_FD_UNKNOWN },
	{ "0f6f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5-outer", HANDOFF_FD_UNKNOWN },
};

START_TEST(test_name_kind)
{
	char sid[UUID_STR_LEN] = "";
	enum handoff_kind k = handoff_msg_fd_kind(names[_i].name, sid);

	ck_assert_msg(k == names[_i].kind, "%s: kind %d", names[_i].name, k);
	if (k == HANDOFF_FD_OUTER || k == HANDOFF_FD_INNER || k == HANDOFF_FD_STATE)
		ck_assert_str_eq(sid, SID_A);
}
END_TEST

static const struct {
	enum handoff_kind kind;
	const char *name;
} kinds[] = {
	{ HANDOFF_FD_OUTER, SID_D "-outer" },
	{ HANDOFF_FD_INNER, SID_D "-inner" },
	{ HANDOFF_FD_STATE, SID_D "-state" },
};

START_TEST(test_name_roundtrip)
{
	char buf[HANDOFF_NAME_MAX], sid[UUID_STR_LEN];

	handoff_msg_fd_name(buf, SID_D, kinds[_i].kind);
	ck_assert_str_eq(buf, kinds[_i].name);
	ck_assert_int_eq(handoff_msg_fd_kind(buf, sid), kinds[_i].kind);
	ck_assert_str_eq(sid, SID_D);
}
END_TEST

static const struct {
	int64_t ns;
	const char *text;
} gaps[] = {
	{ 0, "recorder restarted; gap 0.000 s" },
	{ 999999, "recorder restarted; gap 0.000 s" },
	{ 1000000, "recorder restarted; gap 0.001 s" },
	{ 1234567890, "recorder restarted; gap 1.234 s" },
	{ 86400000000000LL, "recorder restarted; gap 86400.000 s" },
	{ -5, "recorder restarted; gap 0.000 s" },
};

START_TEST(test_gap_text)
{
	char buf[96];

	handoff_msg_gap_text(buf, sizeof(buf), gaps[_i].ns);
	ck_assert_str_eq(buf, gaps[_i].text);
}
END_TEST

static const struct {
	const char *notify, *fdstore;
	bool usable;
} envs[] = {
	{ NULL, NULL, false },
	{ "", NULL, false },
	{ "/run/systemd/notify", NULL, true },
	{ "/run/systemd/notify", "4096", true },
	{ "/run/systemd/notify", "0", false },
	{ "/run/systemd/notify", "x", false },
	{ "/run/systemd/notify", "", false },
	{ NULL, "4096", false },
};

static int env_case;

static char *fake_getenv(const char *name)
{
	const char *v = strcmp(name, "NOTIFY_SOCKET") == 0 ? envs[env_case].notify
			: strcmp(name, "FDSTORE") == 0     ? envs[env_case].fdstore
							   : NULL;

	return (char *)(uintptr_t)v;
}

START_TEST(test_fdstore_usable)
{
	env_case = _i;
	ck_assert_int_eq(handoff_fdstore_usable(fake_getenv), envs[_i].usable);
}
END_TEST

static void exec_sample(struct handoff_msg *x, struct handoff_fd *fds)
{
	memset(x, 0, sizeof(*x));
	strcpy(fds[0].name, "listen");
	fds[0].fd = 3;
	strcpy(fds[1].name, SID_A "-outer");
	fds[1].fd = 17;
	strcpy(fds[2].name, SID_A "-inner");
	fds[2].fd = 1000;
	x->fds = fds;
	x->nfds = 3;
	x->listen_activated = false;
	strcpy(x->listen_path, "/run/sessrec/sessrecd.sock");
	x->listen_dev = 25;
	x->listen_ino = 18446744073709551615ULL;
	x->keeper_pid = 4242;
	x->resumed = 7;
	x->handoff_ns = 123456789012345LL;
}

START_TEST(test_exec_roundtrip)
{
	struct handoff_fd fds[3];
	struct handoff_msg x, y;
	char *json;
	int n;

	exec_sample(&x, fds);
	n = handoff_msg_format(&x, &json);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(handoff_msg_parse(json, (size_t)n, &y), 0);
	ck_assert_uint_eq(y.nfds, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(y.fds[i].name, fds[i].name);
		ck_assert_int_eq(y.fds[i].fd, fds[i].fd);
	}
	ck_assert_int_eq(y.listen_activated, false);
	ck_assert_str_eq(y.listen_path, x.listen_path);
	ck_assert_uint_eq(y.listen_dev, 25);
	ck_assert_uint_eq(y.listen_ino, x.listen_ino);
	ck_assert_int_eq(y.keeper_pid, 4242);
	ck_assert_uint_eq(y.resumed, 7);
	ck_assert_int_eq(y.handoff_ns, x.handoff_ns);
	handoff_msg_free(&y);
	free(json);
}
END_TEST

/* Each edit of a good message makes it refused whole. */
/* clang-format off */
static const struct {
	const char *from, *to;
} exec_edits[] = {
	{ "\"version\":1", "\"version\":2" },
	{ "\"fd\":17", "\"fd\":-1" },
	{ "\"fd\":17", "\"fd\":\"17\"" },
	{ "\"fd\":17", "\"fd\":2147483648" },
	{ "\"name\":\"listen\"", "\"name\":7" },
	{ "\"name\":\"listen\"", "\"name\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"" },
	{ "{\"name\":\"listen\",\"fd\":3}", "[]" },
	{ "\"listen_activated\":false", "\"listen_activated\":0" },
	{ "\"resumed\":7", "\"resumed\":-7" },
	{ "\"keeper_pid\":4242,", "" },
	{ "\"handoff_ns\":123456789012345", "\"handoff_ns\":-1" },
	{ "\"listen_dev\":25", "\"listen_dev\":-25" },
	{ "}", "}}" },
};
/* clang-format on */

START_TEST(test_exec_malformed)
{
	struct handoff_fd fds[3];
	struct handoff_msg x, y;
	char *json, out[4096];
	const char *at;
	size_t pre;
	int n;

	exec_sample(&x, fds);
	n = handoff_msg_format(&x, &json);
	ck_assert_int_gt(n, 0);
	at = strstr(json, exec_edits[_i].from);
	ck_assert_msg(at != NULL, "edit %d: '%s' not in %s", _i, exec_edits[_i].from, json);
	pre = (size_t)(at - json);
	memcpy(out, json, pre);
	strcpy(out + pre, exec_edits[_i].to);
	strcat(out, at + strlen(exec_edits[_i].from));
	ck_assert_int_eq(handoff_msg_parse(out, strlen(out), &y), -EINVAL);
	ck_assert_ptr_null(y.fds);
	free(json);
}
END_TEST

START_TEST(test_state_pending)
{
	char dir[] = "/tmp/test_sessrecd_handoff.XXXXXX", path[PATH_MAX], *json;
	struct session_state a, b;
	struct state_pending p = { 0 }, q;
	uint8_t big[70000];
	int n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	memset(&a, 0, sizeof(a));
	strcpy(a.sid, SID_A);
	ck_assert_int_eq(state_set(&a.owner, STATE_PATH_MAX, "/run/sessrec/sessrecd.sock"), 0);
	a.cap = 10485760;
	a.withhold = true;
	a.saved_ns = 5;
	a.handoff_ns = 6;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31);
	p.carry_o[0] = 0xe2;
	p.carry_o[1] = 0x82;
	p.carry_o_len = 2;
	p.carry_i[0] = 0xc3;
	p.carry_i_len = _i == 1 ? 0 : 1;
	p.to_outer = big;
	p.to_outer_len = _i == 1 ? 0 : 65536;
	p.to_inner = big + 3;
	p.to_inner_len = 16384;
	n = state_handoff_json(&a, &p, &json);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(state_path(path, sizeof(path), dir, a.sid), (int)strlen(dir) + 37);
	ck_assert_int_eq(io_write_atomic(path, json, (size_t)n, 0600), 0);
	free(json);
	ck_assert_int_eq(state_load_pending(path, &b, &q), 0);
	ck_assert_str_eq(b.sid, SID_A);
	ck_assert_str_eq(state_str(b.owner), a.owner);
	ck_assert_uint_eq(b.cap, a.cap);
	ck_assert_int_eq(b.withhold, true);
	ck_assert_int_eq(b.saved_ns, 5);
	ck_assert_int_eq(b.handoff_ns, 6);
	ck_assert_uint_eq(q.carry_o_len, 2);
	ck_assert(memcmp(q.carry_o, p.carry_o, 2) == 0);
	ck_assert_uint_eq(q.carry_i_len, p.carry_i_len);
	ck_assert_uint_eq(q.to_outer_len, p.to_outer_len);
	if (p.to_outer_len)
		ck_assert(memcmp(q.to_outer, big, p.to_outer_len) == 0);
	else
		ck_assert_ptr_null(q.to_outer);
	ck_assert_uint_eq(q.to_inner_len, 16384);
	ck_assert(memcmp(q.to_inner, big + 3, 16384) == 0);
	state_pending_free(&q);
	state_free(&b);
	/* A plain state file loads with nothing pending. */
	{
		char plain[STATE_JSON_MAX];

		n = state_to_json(&a, plain, sizeof(plain));
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(io_write_atomic(path, plain, (size_t)n, 0600), 0);
		ck_assert_int_eq(state_load_pending(path, &b, &q), 0);
		ck_assert_uint_eq(q.to_outer_len + q.to_inner_len + q.carry_o_len + q.carry_i_len, 0);
		state_free(&b);
	}
	state_free(&a);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* ---- the keeper ---- */

struct taken {
	int n;
	char sid[4][UUID_STR_LEN];
	int outer[4], inner[4], state[4];
	int64_t lost[4];
};

static void take_cb(void *userdata, const char *sid, int outer, int inner, int state, int64_t lost_ns)
{
	struct taken *t = userdata;

	ck_assert_int_lt(t->n, 4);
	strcpy(t->sid[t->n], sid);
	t->outer[t->n] = outer;
	t->inner[t->n] = inner;
	t->state[t->n] = state;
	t->lost[t->n] = lost_ns;
	t->n++;
}

static int find_taken(const struct taken *t, const char *sid)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->sid[i], sid) == 0)
			return i;
	return -1;
}

static dev_t rdev(int fd)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return st.st_rdev;
}

static unsigned ptn(int master)
{
	unsigned n;

	ck_assert_int_eq(ioctl(master, TIOCGPTN, &n), 0);
	return n;
}

static void sock_in(char *dir, char *sock, size_t cap)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(sock, cap, "%s/s.sock", dir);
}

static int wait_exit(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(test_keeper_holds_and_hands_over)
{
	char dir[] = "/tmp/test_keeper.XXXXXX", sock[PATH_MAX], kpath[PATH_MAX], comm[32] = "", buf[16];
	int ma, sa, mb, sb, mc, sc, link, link2, i;
	unsigned ptn_b;
	struct taken t = { 0 };
	struct relaymem ra, rd;
	struct stat st;
	pid_t pid = 0;
	ssize_t n;

	sock_in(dir, sock, sizeof(sock));
	link = keeperlink_spawn(sock, KEEPER_NAME, &pid);
	ck_assert_int_ge(link, 0);
	ck_assert_int_gt(pid, 0);
	ck_assert(fcntl(link, F_GETFD) & FD_CLOEXEC);
	snprintf(kpath, sizeof(kpath), "/proc/%d/comm", (int)pid);
	ck_assert_int_gt(io_read_file(kpath, comm, sizeof(comm)), 0);
	ck_assert_str_eq(comm, KEEPER_NAME "\n");
	ck_assert_int_eq(keeper_path(kpath, sizeof(kpath), sock), 0);
	ck_assert_int_eq(lstat(kpath, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);

	/* A: outer = the client's tty (slave of pty a), inner = master of pty b. */
	ck_assert_int_eq(openpty(&ma, &sa, NULL, NULL, NULL), 0);
	ck_assert_int_eq(openpty(&mb, &sb, NULL, NULL, NULL), 0);
	ck_assert_int_eq(openpty(&mc, &sc, NULL, NULL, NULL), 0);
	ptn_b = ptn(mb);
	/* A and D with a relay state each; the keeper's copy is the same memfd. */
	ck_assert_int_eq(relaymem_create(&ra, 7, 9), 0);
	ck_assert_int_eq(relaymem_create(&rd, 0, 0), 0);
	ck_assert_int_eq(keeperlink_hold(link, SID_A, sa, mb, ra.fd), 0);
	ck_assert_int_eq(keeperlink_hold(link, SID_C, sc, mc, -1), 0);
	ck_assert_int_eq(keeperlink_hold(link, SID_D, sa, mc, rd.fd), 0);
	ck_assert_int_eq(keeperlink_drop(link, SID_C, false), 0);
	ck_assert_int_eq(keeperlink_drop(link, SID_D, true), 0);
	/* The daemon's own copies go, and then the daemon. */
	close(mb);
	close(mc);
	close(link);
	relaymem_close(&ra);
	relaymem_close(&rd);
	/* The shell side of b still has its master (in the keeper). */
	ck_assert_int_eq(write(sb, "hello", 5), 5);

	link2 = keeperlink_connect(sock);
	ck_assert_int_ge(link2, 0);
	ck_assert_int_eq(keeperlink_take(link2, take_cb, &t), 2);
	i = find_taken(&t, SID_A);
	ck_assert_int_ge(i, 0);
	ck_assert_int_gt(t.lost[i], 0);
	ck_assert_uint_eq(rdev(t.outer[i]), rdev(sa));
	ck_assert_int_ge(t.inner[i], 0);
	ck_assert_uint_eq(ptn(t.inner[i]), ptn_b);
	n = read(t.inner[i], buf, sizeof(buf));
	ck_assert_int_eq(n, 5);
	ck_assert(memcmp(buf, "hello", 5) == 0);
	ck_assert_int_ge(t.state[i], 0);
	ck_assert_int_eq(relaymem_open(&ra, t.state[i]), 0);
	ck_assert_uint_eq(ra.h->out_read, 7);
	ck_assert_uint_eq(ra.h->in_read, 9);
	relaymem_close(&ra);
	i = find_taken(&t, SID_D);
	ck_assert_int_ge(i, 0);
	ck_assert_int_ge(t.outer[i], 0);
	ck_assert_int_eq(t.inner[i], -1); /* dropped: its state stays */
	ck_assert_int_ge(t.state[i], 0);
	ck_assert_int_eq(relaymem_open(&rd, t.state[i]), 0);
	relaymem_close(&rd);
	ck_assert_int_lt(find_taken(&t, SID_C), 0);

	/* A goodbye while it holds sessions keeps it; dropping them ends it. */
	ck_assert_int_eq(keeperlink_bye(link2), 0);
	ck_assert_int_eq(keeperlink_drop(link2, SID_A, false), 0);
	ck_assert_int_eq(keeperlink_drop(link2, SID_D, false), 0);
	ck_assert_int_eq(wait_exit(pid), 0);
	ck_assert_int_eq(lstat(kpath, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	for (i = 0; i < t.n; i++) {
		close(t.outer[i]);
		if (t.inner[i] >= 0)
			close(t.inner[i]);
	}
	close(link2);
	close(ma);
	close(sa);
	close(sb);
	close(sc);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_keeper_refuses_other_users)
{
	char dir[] = "/tmp/test_keeper.XXXXXX", sock[PATH_MAX];
	pid_t pid = 0, child;
	int link;

	if (geteuid() != 0)
		return; /* needs root to become another user */
	sock_in(dir, sock, sizeof(sock));
	link = keeperlink_spawn(sock, KEEPER_NAME, &pid);
	ck_assert_int_ge(link, 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int r;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		r = keeperlink_connect(sock);
		_exit(r == -EACCES || r == -EPERM ? 0 : 1);
	}
	ck_assert_int_eq(wait_exit(child), 0);
	ck_assert_int_eq(keeperlink_bye(link), 0);
	ck_assert_int_eq(wait_exit(pid), 0);
	close(link);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_keeper_without_socket)
{
	char dir[] = "/tmp/test_keeper.XXXXXX", sock[PATH_MAX];
	pid_t pid = 0;

	sock_in(dir, sock, sizeof(sock));
	ck_assert_int_eq(keeperlink_connect(sock), -ENOENT);
	/* A socket path the keeper cannot bind: it says so by exiting. */
	snprintf(sock, sizeof(sock), "%s/%0200d", dir, 0);
	ck_assert_int_lt(keeperlink_spawn(sock, KEEPER_NAME, &pid), 0);
	ck_assert_int_gt(waitpid(-1, NULL, 0), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* The daemon does not wait for a new keeper: a hold sent before it
 * listens waits in the link, and its ready message is read later. */
START_TEST(test_keeper_unwaited)
{
	char dir[] = "/tmp/test_keeper.XXXXXX", sock[PATH_MAX];
	struct taken t = { 0 };
	int ma, sa, link, link2, r;
	pid_t pid = 0;

	sock_in(dir, sock, sizeof(sock));
	link = keeperlink_start(sock, KEEPER_NAME, &pid);
	ck_assert_int_ge(link, 0);
	ck_assert_int_gt(pid, 0);
	ck_assert(fcntl(link, F_GETFL) & O_NONBLOCK);
	r = keeperlink_ready(link, 0);
	ck_assert(r == -EAGAIN || r == 0);
	ck_assert_int_eq(openpty(&ma, &sa, NULL, NULL, NULL), 0);
	ck_assert_int_eq(keeperlink_hold(link, SID_A, sa, ma, -1), 0);
	if (r == -EAGAIN)
		ck_assert_int_eq(keeperlink_ready(link, 3000), 0);
	close(link);
	link2 = keeperlink_connect(sock);
	ck_assert_int_ge(link2, 0);
	ck_assert_int_eq(keeperlink_take(link2, take_cb, &t), 1);
	ck_assert_str_eq(t.sid[0], SID_A);
	ck_assert_uint_eq(rdev(t.outer[0]), rdev(sa));
	close(t.outer[0]);
	close(t.inner[0]);
	ck_assert_int_eq(keeperlink_drop(link2, SID_A, false), 0);
	ck_assert_int_eq(keeperlink_bye(link2), 0);
	ck_assert_int_eq(wait_exit(pid), 0);
	close(link2);
	close(ma);
	close(sa);

	/* One that cannot listen says so by exiting: -ECHILD. */
	snprintf(sock, sizeof(sock), "%s/%0200d", dir, 0);
	link = keeperlink_start(sock, KEEPER_NAME, &pid);
	ck_assert_int_ge(link, 0);
	ck_assert_int_eq(keeperlink_ready(link, 3000), -ECHILD);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	close(link);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *handoff_suite(void)
{
	Suite *s = suite_create("sessrecd_handoff");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_name_kind, 0, sizeof(names) / sizeof(names[0]));
	tcase_add_loop_test(tc, test_name_roundtrip, 0, sizeof(kinds) / sizeof(kinds[0]));
	tcase_add_loop_test(tc, test_gap_text, 0, sizeof(gaps) / sizeof(gaps[0]));
	tcase_add_loop_test(tc, test_fdstore_usable, 0, sizeof(envs) / sizeof(envs[0]));
	tcase_add_test(tc, test_exec_roundtrip);
	tcase_add_loop_test(tc, test_exec_malformed, 0, sizeof(exec_edits) / sizeof(exec_edits[0]));
	tcase_add_loop_test(tc, test_state_pending, 0, 2);
	tcase_add_test(tc, test_keeper_holds_and_hands_over);
	tcase_add_test(tc, test_keeper_refuses_other_users);
	tcase_add_test(tc, test_keeper_without_socket);
	tcase_add_test(tc, test_keeper_unwaited);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	/* keeper_spawn runs this binary again as the keeper. */
	if (keeper_wanted())
		return keeper_main(argc > 0 ? argv[0] : NULL);
	sr = srunner_create(handoff_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
