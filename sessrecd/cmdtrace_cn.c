/* cmdtrace_cn: proc connector messages (cmdtrace_cn.h): parsed with memcpy
 * only, so a datagram of any length or alignment is safe to read.
 * Convention: a count or length, or -errno. */
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <string.h>

#include "cmdtrace_cn.h"

/* One proc_event of len bytes at p. 1 when fn got an event, 0 when it was
 * of no interest, -EBADMSG when too short for its kind. */
static int one_event(const uint8_t *p, size_t len, cmdtrace_cn_fn fn, void *userdata)
{
	struct proc_event pe;
	struct cmdtrace_cn_event ev = { 0 };
	size_t head = offsetof(struct proc_event, event_data), need;

	if (len < head)
		return -EBADMSG;
	memset(&pe, 0, sizeof(pe));
	memcpy(&pe, p, len < sizeof(pe) ? len : sizeof(pe));
	ev.ns = pe.timestamp_ns;
	switch (pe.what) {
	case PROC_EVENT_FORK:
		need = head + sizeof(pe.event_data.fork);
		if (len < need)
			return -EBADMSG;
		if (pe.event_data.fork.child_pid != pe.event_data.fork.child_tgid)
			return 0; /* a thread */
		ev.what = CMDTRACE_CN_FORK;
		ev.tgid = pe.event_data.fork.child_tgid;
		ev.ptgid = pe.event_data.fork.parent_tgid;
		break;
	case PROC_EVENT_EXEC:
		need = head + sizeof(pe.event_data.exec);
		if (len < need)
			return -EBADMSG;
		ev.what = CMDTRACE_CN_EXEC;
		ev.tgid = pe.event_data.exec.process_tgid;
		break;
	case PROC_EVENT_EXIT:
		/* exit_code and exit_signal are there since the first kernels
		 * with the connector; parent_* came later and is not needed. */
		need = head + offsetof(struct exit_proc_event, parent_pid);
		if (len < need)
			return -EBADMSG;
		if (pe.event_data.exit.process_pid != pe.event_data.exit.process_tgid)
			return 0; /* a thread; its process lives on or the leader reports */
		ev.what = CMDTRACE_CN_EXIT;
		ev.tgid = pe.event_data.exit.process_tgid;
		ev.status = (int)pe.event_data.exit.exit_code;
		break;
	default:
		return 0;
	}
	if (ev.tgid <= 0)
		return -EBADMSG;
	fn(userdata, &ev);
	return 1;
}

int cmdtrace_cn_parse(const void *buf, size_t n, cmdtrace_cn_fn fn, void *userdata)
{
	const uint8_t *p = buf;
	int count = 0;

	while (n > 0) {
		struct nlmsghdr nh;
		struct cn_msg cn;
		size_t body, step;
		int r;

		if (n < sizeof(nh))
			return -EBADMSG;
		memcpy(&nh, p, sizeof(nh));
		if (nh.nlmsg_len < sizeof(nh) || nh.nlmsg_len > n)
			return -EBADMSG;
		if (nh.nlmsg_type == NLMSG_NOOP || nh.nlmsg_type == NLMSG_ERROR) /* the connector sends NLMSG_DONE */
			goto next;
		body = nh.nlmsg_len - NLMSG_HDRLEN;
		if (nh.nlmsg_len < NLMSG_HDRLEN || body < sizeof(cn))
			return -EBADMSG;
		memcpy(&cn, p + NLMSG_HDRLEN, sizeof(cn));
		if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC)
			goto next;
		if (cn.len > body - sizeof(cn))
			return -EBADMSG;
		if ((r = one_event(p + NLMSG_HDRLEN + sizeof(cn), cn.len, fn, userdata)) < 0)
			return r;
		count += r;
next:
		step = NLMSG_ALIGN(nh.nlmsg_len);
		if (step >= n)
			break;
		p += step;
		n -= step;
	}
	return count;
}

int cmdtrace_cn_request(void *buf, size_t cap, int listen)
{
	struct nlmsghdr nh = { 0 };
	struct cn_msg cn = { 0 };
	enum proc_cn_mcast_op op = listen ? PROC_CN_MCAST_LISTEN : PROC_CN_MCAST_IGNORE;
	size_t len = NLMSG_LENGTH(sizeof(cn) + sizeof(op));

	if (cap < len)
		return -ENOSPC;
	memset(buf, 0, len);
	nh.nlmsg_len = (uint32_t)len;
	nh.nlmsg_type = NLMSG_DONE;
	cn.id.idx = CN_IDX_PROC;
	cn.id.val = CN_VAL_PROC;
	cn.len = sizeof(op);
	memcpy(buf, &nh, sizeof(nh));
	memcpy((uint8_t *)buf + NLMSG_HDRLEN, &cn, sizeof(cn));
	memcpy((uint8_t *)buf + NLMSG_HDRLEN + sizeof(cn), &op, sizeof(op));
	return (int)len;
}
