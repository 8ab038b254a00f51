/* loop: the daemon's one epoll loop. Every fd the daemon watches is a
 * struct loop_io embedded in its owner (connection, session, timer), with a
 * callback; timerfd and signalfd helpers. Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

struct loop_io;
typedef void (*loop_fn)(struct loop_io *io, uint32_t revents);

struct loop_io {
	int fd;          /* the fd watched, -1 while not registered */
	uint32_t events; /* the events asked for */
	loop_fn fn;
	void *userdata;
};

#define LOOP_BATCH 64

struct loop {
	int epfd;
	struct epoll_event batch[LOOP_BATCH];
	int nbatch; /* events of the batch being dispatched */
	int cur;
};

int loop_init(struct loop *l);
void loop_fini(struct loop *l);

/* Prepares io (not registered) with its callback. */
void loop_io_init(struct loop_io *io, loop_fn fn, void *userdata);

/* Watches fd for events (EPOLLIN, EPOLLOUT, EPOLLRDHUP; EPOLLHUP and
 * EPOLLERR always come), re-registering as needed; events == 0 stops
 * watching altogether, so a hung-up fd nobody wants to read cannot spin the
 * loop. The fd stays the caller's. */
int loop_set(struct loop *l, struct loop_io *io, int fd, uint32_t events);

/* Stops watching io; events of the current batch still pending for it are
 * dropped, so its owner may be freed right after. */
void loop_del(struct loop *l, struct loop_io *io);

/* Waits up to timeout_ms (-1: forever) and dispatches what came.
 * Returns the number of events or -errno (EINTR is 0). */
int loop_run_once(struct loop *l, int timeout_ms);

/* A CLOEXEC|NONBLOCK CLOCK_MONOTONIC timerfd, or -errno. */
int loop_timerfd(void);
/* Arms fd to fire after first_ms and then every interval_ms (0: once);
 * first_ms == 0 disarms. */
int loop_timer_arm(int fd, unsigned first_ms, unsigned interval_ms);
/* Fires as soon as the loop next waits, then every interval_ms (0: once). */
int loop_timer_soon(int fd, unsigned interval_ms);
/* Reads the expiration count so the timer stops being readable. */
void loop_timer_ack(int fd);

/* Blocks sigs in this thread (threads started later inherit the mask) and
 * returns a CLOEXEC|NONBLOCK signalfd for them, or -errno. */
int loop_signalfd(const int *sigs, size_t n);
