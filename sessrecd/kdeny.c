/* kdeny: the source of kernel denial records (audit multicast or
 * /dev/kmsg) in the daemon's loop, and the timer of the summaries (see
 * kdeny.h). Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "kdeny.h"
#include "kdeny_owner.h"
#include "kdeny_rate.h"
#include "log.h"
#include "monoclock.h"

#define KDENY_READS 256        /* records per wake-up: the loop stays fair */
#define KDENY_RCVBUF (8 << 20) /* a burst of records waits here */
#define KDENY_BUF 9000         /* one netlink message (MAX_AUDIT_MESSAGE_LENGTH 8970) */

struct kdeny {
	bool netlink; /* else /dev/kmsg */
	int fd, timer_fd;
	struct loop_io io, timer_io;
	bool timer_armed;
	uint64_t lost; /* records the source said it lost (kmsg EPIPE, ENOBUFS) */
	struct kdeny_owner owner;
	struct kdeny_rate rate;
	char buf[KDENY_BUF] __attribute__((aligned(8))); /* netlink headers are read in place */
};

/* The audit multicast reaches the initial network namespace only: the one
 * of kthreadd (pid 2, a kernel thread, never moved; PID 1 may be a
 * container's init or closed to us). */
static bool in_initial_netns(void)
{
	struct stat a, b;

	return stat("/proc/self/ns/net", &a) == 0 && stat("/proc/2/ns/net", &b) == 0 && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}

static int open_netlink(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1u << (AUDIT_NLGRP_READLOG - 1) };
	int sz = KDENY_RCVBUF, fd, r;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_AUDIT);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int open_kmsg(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	/* Only what happens from now on: older records name pids long gone. */
	(void)lseek(fd, 0, SEEK_END);
	return fd;
}

static void arm(struct daemon *d, struct kdeny *k, bool on)
{
	if (on == k->timer_armed || k->timer_fd < 0)
		return;
	if (loop_timer_arm(k->timer_fd, on ? 250 : 0, on ? 250 : 0) == 0)
		k->timer_armed = on;
}

void kdeny_take(struct daemon *d, const struct auditrec *r)
{
	struct kdeny *k = d->kdeny;
	int64_t now = mono_ms();
	struct session *s;

	if (!k)
		return;
	if (!(s = kdeny_owner(d, &k->owner, r->pid, r->ses, now)))
		return;
	kdeny_rate_take(d, &k->rate, s, r, now);
	arm(d, k, true);
}

static void read_netlink(struct daemon *d, struct kdeny *k)
{
	for (int i = 0; i < KDENY_READS; i++) {
		ssize_t n = recv(k->fd, k->buf, sizeof(k->buf), MSG_DONTWAIT);
		struct auditrec r;

		if (n < 0) {
			if (errno == ENOBUFS) {
				/* the kernel could not queue records for us */
				k->lost++;
				log_line("kernel denials: the audit multicast overran; records were lost");
				continue;
			}
			return; /* EAGAIN, or an error the next wake-up sees again */
		}
		/* Walked by hand: NLMSG_NEXT takes the aligned length off, which
		 * may overshoot the last message's unaligned end. */
		for (size_t left = (size_t)n, step; left >= NLMSG_HDRLEN; left -= step) {
			struct nlmsghdr *h = (struct nlmsghdr *)(k->buf + ((size_t)n - left));
			size_t len;

			if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > left)
				break;
			len = h->nlmsg_len - NLMSG_HDRLEN;
			if (auditrec_parse(h->nlmsg_type, NLMSG_DATA(h), strnlen(NLMSG_DATA(h), len), &r) == 0)
				kdeny_take(d, &r);
			step = NLMSG_ALIGN(h->nlmsg_len);
			if (step > left)
				break;
		}
	}
}

static void read_kmsg(struct daemon *d, struct kdeny *k)
{
	for (int i = 0; i < KDENY_READS; i++) {
		ssize_t n = read(k->fd, k->buf, sizeof(k->buf) - 1);
		struct auditrec r;

		if (n < 0) {
			if (errno == EPIPE) {
				k->lost++; /* overwritten before we read it: go on */
				continue;
			}
			return;
		}
		if (n == 0)
			return;
		if (auditrec_parse_kmsg(k->buf, (size_t)n, &r) == 0)
			kdeny_take(d, &r);
	}
}

static void source_cb(struct loop_io *io, uint32_t ev)
{
	struct daemon *d = io->userdata;
	struct kdeny *k = d->kdeny;

	(void)ev;
	if (k->netlink)
		read_netlink(d, k);
	else
		read_kmsg(d, k);
}

/* session_end: its summaries go in before its end line. */
static void session_ending(struct daemon *d, struct session *s)
{
	if (d->kdeny)
		kdeny_rate_session(d, &d->kdeny->rate, s);
}

static void timer_cb(struct loop_io *io, uint32_t ev)
{
	struct daemon *d = io->userdata;
	struct kdeny *k = d->kdeny;

	(void)ev;
	loop_timer_ack(k->timer_fd);
	if (!kdeny_rate_flush(d, &k->rate, (int64_t)time(NULL), mono_ms(), false))
		arm(d, k, false);
}

int kdeny_start(struct daemon *d)
{
	struct kdeny *k;
	int r;

	if (!d->cfg.kernel_denials)
		return 0;
	if (!(k = calloc(1, sizeof(*k))))
		return -ENOMEM;
	k->fd = k->timer_fd = -1;
	loop_io_init(&k->io, source_cb, d);
	loop_io_init(&k->timer_io, timer_cb, d);
	kdeny_owner_init(&k->owner);
	if (d->cfg.audit_netlink && in_initial_netns() && (r = open_netlink()) >= 0) {
		k->fd = r;
		k->netlink = true;
	} else if ((r = open_kmsg()) >= 0) {
		k->fd = r;
	} else {
		log_line("kernel denials are not recorded: neither the audit multicast nor /dev/kmsg can be read (%s)",
			 strerror(-r));
		free(k);
		return 0;
	}
	if ((k->timer_fd = loop_timerfd()) < 0 || loop_set(&d->loop, &k->io, k->fd, EPOLLIN) < 0 ||
	    loop_set(&d->loop, &k->timer_io, k->timer_fd, EPOLLIN) < 0) {
		log_line("kernel denials are not recorded: cannot watch their source");
		loop_del(&d->loop, &k->io);
		if (k->timer_fd >= 0)
			close(k->timer_fd);
		close(k->fd);
		free(k);
		return 0;
	}
	d->kdeny = k;
	d->session_ending = session_ending;
	return 0;
}

void kdeny_stop(struct daemon *d)
{
	struct kdeny *k = d->kdeny;

	if (!k)
		return;
	kdeny_rate_flush(d, &k->rate, 0, mono_ms(), true);
	loop_del(&d->loop, &k->io);
	loop_del(&d->loop, &k->timer_io);
	close(k->fd);
	close(k->timer_fd);
	free(k);
	d->kdeny = NULL;
	d->session_ending = NULL;
}
