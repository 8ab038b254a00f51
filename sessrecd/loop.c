/* loop: epoll registration and dispatch, timerfd and signalfd helpers.
 * Convention: 0 or -errno. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

int loop_init(struct loop *l)
{
	memset(l, 0, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void loop_fini(struct loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

void loop_io_init(struct loop_io *io, loop_fn fn, void *userdata)
{
	io->fd = -1;
	io->events = 0;
	io->fn = fn;
	io->userdata = userdata;
}

/* An event of the running batch must not reach an io that went away. */
static void forget_pending(struct loop *l, struct loop_io *io)
{
	for (int i = l->cur; i < l->nbatch; i++)
		if (l->batch[i].data.ptr == io)
			l->batch[i].data.ptr = NULL;
}

void loop_del(struct loop *l, struct loop_io *io)
{
	if (io->fd >= 0)
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	forget_pending(l, io);
	io->fd = -1;
	io->events = 0;
}

int loop_set(struct loop *l, struct loop_io *io, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (events == 0 || fd < 0) {
		loop_del(l, io);
		return 0;
	}
	if (io->fd >= 0 && io->fd != fd)
		loop_del(l, io);
	if (io->fd == fd) {
		if (io->events == events)
			return 0;
		if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			return -errno;
	} else if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		return -errno;
	}
	io->fd = fd;
	io->events = events;
	return 0;
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	int n = epoll_wait(l->epfd, l->batch, LOOP_BATCH, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	l->nbatch = n;
	for (l->cur = 0; l->cur < l->nbatch;) {
		struct epoll_event *ev = &l->batch[l->cur++];
		struct loop_io *io = ev->data.ptr;

		if (io && io->fn)
			io->fn(io, ev->events);
	}
	l->nbatch = l->cur = 0;
	return n;
}

int loop_timerfd(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

static struct timespec ms_ts(unsigned ms)
{
	return (struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
}

int loop_timer_arm(int fd, unsigned first_ms, unsigned interval_ms)
{
	struct itimerspec its = { .it_value = ms_ts(first_ms), .it_interval = ms_ts(interval_ms) };

	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int loop_timer_soon(int fd, unsigned interval_ms)
{
	struct itimerspec its = { .it_value = { .tv_nsec = 1 }, .it_interval = ms_ts(interval_ms) };

	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

void loop_timer_ack(int fd)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0)
		return; /* EAGAIN: already acknowledged */
}

int loop_signalfd(const int *sigs, size_t n)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	for (size_t i = 0; i < n; i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}
