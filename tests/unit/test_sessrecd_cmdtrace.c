/* test_sessrecd_cmdtrace: the proc connector parser (cmdtrace_cn): fork,
 * exec and exit of processes out, threads and other events skipped,
 * several messages per datagram, malformed ones refused; the subscribe
 * request; the wait status decoder the sources share. */
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <string.h>

#include "cmdtrace_cn.h"
#include "cmdtrace_ev.h"
#include "testutil.h"

struct got {
	struct cmdtrace_cn_event ev[16];
	int n;
};

static void collect(void *userdata, const struct cmdtrace_cn_event *ev)
{
	struct got *g = userdata;

	ck_assert_int_lt(g->n, 16);
	g->ev[g->n++] = *ev;
}

/* Appends one connector message carrying pe (of len bytes) to buf at *off. */
static void put_msg(uint8_t *buf, size_t *off, const struct proc_event *pe, size_t len, __u32 idx)
{
	struct nlmsghdr nh = { .nlmsg_type = NLMSG_DONE };
	struct cn_msg cn = { .id = { .idx = idx, .val = CN_VAL_PROC }, .len = (__u16)len };

	nh.nlmsg_len = (__u32)NLMSG_LENGTH(sizeof(cn) + len);
	memcpy(buf + *off, &nh, sizeof(nh));
	memcpy(buf + *off + NLMSG_HDRLEN, &cn, sizeof(cn));
	memcpy(buf + *off + NLMSG_HDRLEN + sizeof(cn), pe, len);
	*off += NLMSG_ALIGN(nh.nlmsg_len);
}

static struct proc_event fork_ev(int ptgid, int pid, int tgid)
{
	struct proc_event pe = { .what = PROC_EVENT_FORK, .timestamp_ns = 10 };

	pe.event_data.fork.parent_pid = pe.event_data.fork.parent_tgid = ptgid;
	pe.event_data.fork.child_pid = pid;
	pe.event_data.fork.child_tgid = tgid;
	return pe;
}

START_TEST(test_parse_events)
{
	uint8_t buf[4096];
	size_t off = 0;
	struct got g = { 0 };
	struct proc_event pe;

	pe = fork_ev(100, 200, 200);
	put_msg(buf, &off, &pe, sizeof(pe), CN_IDX_PROC);
	pe = fork_ev(100, 201, 100); /* a thread */
	put_msg(buf, &off, &pe, sizeof(pe), CN_IDX_PROC);
	pe = (struct proc_event){ .what = PROC_EVENT_EXEC, .timestamp_ns = 20 };
	pe.event_data.exec.process_pid = pe.event_data.exec.process_tgid = 200;
	put_msg(buf, &off, &pe, sizeof(pe), CN_IDX_PROC);
	pe = (struct proc_event){ .what = PROC_EVENT_UID };
	put_msg(buf, &off, &pe, sizeof(pe), CN_IDX_PROC);
	pe = (struct proc_event){ .what = PROC_EVENT_EXIT, .timestamp_ns = 30 };
	pe.event_data.exit.process_pid = 201; /* a thread ends */
	pe.event_data.exit.process_tgid = 100;
	put_msg(buf, &off, &pe, sizeof(pe), CN_IDX_PROC);
	pe.event_data.exit.process_pid = pe.event_data.exit.process_tgid = 200;
	pe.event_data.exit.exit_code = 3 << 8;
	put_msg(buf, &off, &pe, sizeof(pe), CN_IDX_PROC);
	pe = fork_ev(1, 300, 300); /* another connector's message */
	put_msg(buf, &off, &pe, sizeof(pe), CN_IDX_PROC + 1);

	ck_assert_int_eq(cmdtrace_cn_parse(buf, off, collect, &g), 3);
	ck_assert_int_eq(g.n, 3);
	ck_assert_int_eq(g.ev[0].what, CMDTRACE_CN_FORK);
	ck_assert_int_eq(g.ev[0].tgid, 200);
	ck_assert_int_eq(g.ev[0].ptgid, 100);
	ck_assert_int_eq(g.ev[1].what, CMDTRACE_CN_EXEC);
	ck_assert_int_eq(g.ev[1].tgid, 200);
	ck_assert_uint_eq(g.ev[1].ns, 20);
	ck_assert_int_eq(g.ev[2].what, CMDTRACE_CN_EXIT);
	ck_assert_int_eq(g.ev[2].status, 3 << 8);
}
END_TEST

START_TEST(test_parse_malformed)
{
	uint8_t buf[4096];
	size_t off = 0;
	struct got g = { 0 };
	struct proc_event pe = fork_ev(1, 2, 2);
	struct nlmsghdr nh;

	put_msg(buf, &off, &pe, sizeof(pe), CN_IDX_PROC);
	/* Every cut of the message is refused or yields nothing, never a read past it. */
	for (size_t n = 0; n < off; n++) {
		g.n = 0;
		ck_assert_int_le(cmdtrace_cn_parse(buf, n, collect, &g), 0);
		ck_assert_int_eq(g.n, 0);
	}
	/* An event too short for a fork. */
	off = 0;
	put_msg(buf, &off, &pe, offsetof(struct proc_event, event_data) + 4, CN_IDX_PROC);
	ck_assert_int_eq(cmdtrace_cn_parse(buf, off, collect, &g), -EBADMSG);
	/* nlmsg_len past the datagram, and below its header. */
	off = 0;
	put_msg(buf, &off, &pe, sizeof(pe), CN_IDX_PROC);
	memcpy(&nh, buf, sizeof(nh));
	nh.nlmsg_len = (__u32)off + 8;
	memcpy(buf, &nh, sizeof(nh));
	ck_assert_int_eq(cmdtrace_cn_parse(buf, off, collect, &g), -EBADMSG);
	nh.nlmsg_len = 4;
	memcpy(buf, &nh, sizeof(nh));
	ck_assert_int_eq(cmdtrace_cn_parse(buf, off, collect, &g), -EBADMSG);
	ck_assert_int_eq(cmdtrace_cn_parse(buf, 0, collect, &g), 0);
}
END_TEST

START_TEST(test_request)
{
	uint8_t buf[64];
	struct nlmsghdr nh;
	struct cn_msg cn;
	enum proc_cn_mcast_op op;
	int n = cmdtrace_cn_request(buf, sizeof(buf), 1);

	ck_assert_int_eq(n, (int)NLMSG_LENGTH(sizeof(cn) + sizeof(op)));
	memcpy(&nh, buf, sizeof(nh));
	memcpy(&cn, buf + NLMSG_HDRLEN, sizeof(cn));
	memcpy(&op, buf + NLMSG_HDRLEN + sizeof(cn), sizeof(op));
	ck_assert_uint_eq(nh.nlmsg_len, (unsigned)n);
	ck_assert_uint_eq(cn.id.idx, CN_IDX_PROC);
	ck_assert_uint_eq(cn.id.val, CN_VAL_PROC);
	ck_assert_int_eq(op, PROC_CN_MCAST_LISTEN);
	cmdtrace_cn_request(buf, sizeof(buf), 0);
	memcpy(&op, buf + NLMSG_HDRLEN + sizeof(cn), sizeof(op));
	ck_assert_int_eq(op, PROC_CN_MCAST_IGNORE);
	ck_assert_int_eq(cmdtrace_cn_request(buf, 8, 1), -ENOSPC);
}
END_TEST

START_TEST(test_status)
{
	struct cmdtrace_event ev;

	cmdtrace_status(&ev, 3 << 8);
	ck_assert_int_eq(ev.code, 3);
	ck_assert_int_eq(ev.signal, 0);
	cmdtrace_status(&ev, 0);
	ck_assert_int_eq(ev.code, 0);
	cmdtrace_status(&ev, 9);
	ck_assert_int_eq(ev.code, -1);
	ck_assert_int_eq(ev.signal, 9);
	cmdtrace_status(&ev, 0x80 | 11); /* SIGSEGV with a core dump */
	ck_assert_int_eq(ev.signal, 11);
}
END_TEST

static Suite *cmdtrace_suite(void)
{
	Suite *s = suite_create("cmdtrace");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_events);
	tcase_add_test(tc, test_parse_malformed);
	tcase_add_test(tc, test_request);
	tcase_add_test(tc, test_status);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(cmdtrace_suite());
}
