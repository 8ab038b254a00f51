/* relay: the byte pump of an attached session (see relay.h). Each
 * direction writes straight through while the other side keeps up and
 * buffers (allocated only then) when it does not; a full buffer stops
 * reading the side that fills it. Ends go to the owner through r->report.
 * Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "daemon.h"
#include "monoclock.h"
#include "recorder.h"
#include "relay.h"
#include "state.h"
#include "writer.h"

#define RELAY_READS_PER_WAKE 16 /* fairness between sessions under bulk output */
#define RELAY_SALVAGE_MAX (1024 * 1024)
/* What one read of a pty master gives at most (n_tty's buffer less one):
 * a shorter read found it drained. Only a hint: epoll is level-triggered. */
#define RELAY_PTY_CHUNK 4095

static size_t buf_len(const struct relay_buf *b)
{
	return b->end - b->start;
}

static void buf_free(struct relay_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->start = b->end = 0;
}

static void buf_pop(struct relay_buf *b, size_t n)
{
	b->start += n;
	if (b->start == b->end)
		buf_free(b); /* an idle session holds no buffer */
}

static int buf_push(struct relay_buf *b, size_t max, const uint8_t *p, size_t n)
{
	size_t len = buf_len(b);

	if (n == 0)
		return 0;
	if (len + n > max)
		return -ENOBUFS;
	if (!b->p) {
		b->p = malloc(max);
		if (!b->p)
			return -ENOMEM;
		b->start = b->end = 0;
	}
	if (max - b->end < n) {
		memmove(b->p, b->p + b->start, len);
		b->start = 0;
		b->end = len;
	}
	memcpy(b->p + b->end, p, n);
	b->end += n;
	return 0;
}

/* What fd takes now: a count (0 when it would block) or -errno. */
static ssize_t write_some(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	do
		w = write(fd, p, n);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EAGAIN ? 0 : -errno;
	return w;
}

/* Straight to fd when nothing waits, else behind what does. */
static int send_to(int fd, struct relay_buf *b, size_t max, const uint8_t *p, size_t n)
{
	if (buf_len(b) == 0) {
		ssize_t w = write_some(fd, p, n);

		if (w < 0)
			return (int)w;
		p += w;
		n -= (size_t)w;
	}
	return buf_push(b, max, p, n);
}

/* One write: a tty that took less than all is full, and another try would
 * only fetch its EAGAIN (half of all writes under bulk output). */
static int flush(int fd, struct relay_buf *b)
{
	ssize_t w;

	if (buf_len(b) == 0)
		return 0;
	w = write_some(fd, b->p + b->start, buf_len(b));
	if (w < 0)
		return (int)w;
	buf_pop(b, (size_t)w);
	return 0;
}

/* What the shell wrote before its terminal went away still belongs in the
 * recording (sshd, for one, drops the terminal as soon as the shell exits,
 * which may be before we relayed its last output). Bounded: a process that
 * keeps writing does not keep us here. */
static void salvage_output(struct relay *r)
{
	struct daemon *d = r->d;

	for (size_t total = 0; r->master_fd >= 0 && total < RELAY_SALVAGE_MAX;) {
		ssize_t n = read(r->master_fd, d->scratch, sizeof(d->scratch));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (size_t)n;
		r->st->bytes_out += (uint64_t)n;
		recorder_output(r->rec, d->scratch, (size_t)n);
	}
}

/* The terminal went away (or cannot be written): the session ends now and
 * closing the inner master hangs up the shell. */
static void outer_gone(struct relay *r, const char *reason)
{
	if (r->mode == RELAY_RUNNING)
		salvage_output(r);
	r->report(r, RELAY_END, r->mode == RELAY_DRAINING ? r->reason : reason);
}

/* The inner side is done (every slave closed) or is being hung up: what
 * the terminal has not taken yet still goes to it, for RELAY_DRAIN_MS. */
static void inner_done(struct relay *r, const char *reason)
{
	loop_del(&r->d->loop, &r->master_io);
	if (r->master_fd >= 0)
		close(r->master_fd);
	r->master_fd = -1;
	buf_free(&r->to_inner);
	r->reason = reason;
	r->mode = RELAY_DRAINING;
	r->drain_deadline_ms = mono_ms() + RELAY_DRAIN_MS;
	/* The owner lets go of its copies of the inner master (a duplicate
	 * in the holder would keep the shell from its hangup). */
	r->report(r, RELAY_INNER_EOF, reason);
	if (buf_len(&r->to_outer) == 0)
		r->report(r, RELAY_END, reason);
	else
		relay_update(r);
}

static void check_winsize(struct relay *r)
{
	struct session_state *st = r->st;
	struct winsize ws;

	if (r->outer_fd < 0 || ioctl(r->outer_fd, TIOCGWINSZ, &ws) < 0)
		return;
	if (ws.ws_col == st->cols && ws.ws_row == st->rows)
		return;
	st->cols = ws.ws_col;
	st->rows = ws.ws_row;
	st->resizes++;
	r->sync->urgent = true;
	/* The kernel sends SIGWINCH to the inner foreground group. */
	if (r->master_fd >= 0)
		(void)ioctl(r->master_fd, TIOCSWINSZ, &ws);
	recorder_resize(r->rec, ws.ws_col, ws.ws_row);
}

/* Input typed now would not be shown: a password prompt (echo off, line
 * mode). tcgetattr on a master reads the slave's modes. */
static bool inner_secret(const struct relay *r)
{
	struct termios t;

	if (!r->st->withhold || !r->st->input || r->master_fd < 0 || tcgetattr(r->master_fd, &t) < 0)
		return false;
	return !(t.c_lflag & ECHO) && (t.c_lflag & ICANON);
}

static void read_outer(struct relay *r)
{
	struct daemon *d = r->d;

	for (int i = 0; i < RELAY_READS_PER_WAKE && r->mode == RELAY_RUNNING; i++) {
		size_t room = RELAY_TO_INNER_MAX - buf_len(&r->to_inner);
		ssize_t n;
		bool secret;

		if (room == 0)
			break;
		if (room > sizeof(d->scratch))
			room = sizeof(d->scratch);
		n = read(r->outer_fd, d->scratch, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) { /* 0 or EIO: hung up */
			outer_gone(r, "hangup");
			return;
		}
		r->st->bytes_in += (uint64_t)n;
		r->sync->dirty = true;
		check_winsize(r);
		/* The modes the input meets, before the shell sees it. */
		secret = inner_secret(r);
		/* The keystroke goes on first, its recording after. A master
		 * that takes no input belongs to a shell on its way out; its
		 * EOF ends the session. */
		if (send_to(r->master_fd, &r->to_inner, RELAY_TO_INNER_MAX, d->scratch, (size_t)n) < 0)
			buf_free(&r->to_inner);
		recorder_input(r->rec, d->scratch, (size_t)n, secret);
		if ((size_t)n < room)
			break; /* drained: no read just for its EAGAIN */
	}
}

/* Whether the next read finds bytes waiting. A read of a master that has
 * none waits for the kernel's tty worker to push what the shell wrote
 * (flush_work in n_tty_read): a sleep and two context switches per batch
 * under bulk output, while the worker refills during the batch's encoding
 * anyway. TIOCINQ only counts, it never waits. */
static bool master_has_more(int fd)
{
	int n = 0;

	return ioctl(fd, TIOCINQ, &n) == 0 && n > 0;
}

/* Reads what the inner master has (a read gives at most what its line
 * discipline buffers, about 4 KiB) into one batch for one terminal write
 * and one recorder call; 0, or -1 when the inner side is done. */
static int read_master_batch(struct relay *r, size_t room, size_t *got)
{
	uint8_t *scratch = r->d->scratch;
	size_t have = 0;

	for (int i = 0; i < RELAY_READS_PER_WAKE && have < room; i++) {
		ssize_t n = read(r->master_fd, scratch + have, room - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) { /* EIO: every slave is closed, the shell is gone */
			if (have)
				break; /* the next wake sees it again */
			inner_done(r, r->reason ? r->reason : "exit");
			return -1;
		}
		have += (size_t)n;
		if ((size_t)n < RELAY_PTY_CHUNK || !master_has_more(r->master_fd))
			break; /* drained for now */
	}
	*got = have;
	return 0;
}

/* The writer's queue grew over its high watermark: every relay stops
 * reading inner masters (the service tells the others after this batch of
 * events, and says so once). */
static void check_disk(struct daemon *d)
{
	if (!d->disk_paused && d->writer && writer_congested(d->writer)) {
		d->disk_paused = true;
		d->disk_changed = true;
	}
}

static void read_master(struct relay *r)
{
	struct daemon *d = r->d;
	size_t room = RELAY_TO_OUTER_MAX - buf_len(&r->to_outer), n;
	int e;

	if (room == 0 || d->disk_paused || r->mode != RELAY_RUNNING)
		return;
	if (room > sizeof(d->scratch))
		room = sizeof(d->scratch);
	if (read_master_batch(r, room, &n) < 0 || n == 0)
		return;
	r->st->bytes_out += (uint64_t)n;
	r->sync->dirty = true;
	/* Queued for the disk before the terminal shows it: what was seen
	 * survives a crash right after. */
	recorder_output(r->rec, d->scratch, n);
	e = send_to(r->outer_fd, &r->to_outer, RELAY_TO_OUTER_MAX, d->scratch, n);
	if (e < 0) {
		outer_gone(r, e == -ENOMEM ? "error" : "hangup");
		return;
	}
	check_disk(d);
}

static void master_cb(struct loop_io *io, uint32_t ev)
{
	struct relay *r = io->userdata;

	if (r->mode != RELAY_RUNNING)
		return;
	if (buf_len(&r->to_inner) && (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && flush(r->master_fd, &r->to_inner) < 0)
		buf_free(&r->to_inner);
	if (ev & (EPOLLHUP | EPOLLERR))
		buf_free(&r->to_inner); /* nobody will read it */
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		read_master(r);
	if (r->mode == RELAY_RUNNING)
		relay_update(r);
}

static void outer_cb(struct loop_io *io, uint32_t ev)
{
	struct relay *r = io->userdata;

	if (r->mode == RELAY_OFF)
		return;
	if (buf_len(&r->to_outer) && (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
		if (flush(r->outer_fd, &r->to_outer) < 0) {
			outer_gone(r, "hangup");
			return;
		}
		if (r->mode == RELAY_DRAINING && buf_len(&r->to_outer) == 0) {
			r->report(r, RELAY_END, r->reason);
			return;
		}
	}
	if (r->mode == RELAY_RUNNING && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
	    buf_len(&r->to_inner) < RELAY_TO_INNER_MAX) {
		read_outer(r);
	} else if (ev & (EPOLLHUP | EPOLLERR)) {
		outer_gone(r, "hangup");
		return;
	}
	if (r->mode != RELAY_OFF)
		relay_update(r);
}

void relay_update(struct relay *r)
{
	struct daemon *d = r->d;
	uint32_t m = 0, o = 0;
	int e = 0;

	if (r->mode == RELAY_RUNNING) {
		if (!d->disk_paused && buf_len(&r->to_outer) < RELAY_TO_OUTER_MAX)
			m |= EPOLLIN;
		if (buf_len(&r->to_inner))
			m |= EPOLLOUT;
		if (buf_len(&r->to_inner) < RELAY_TO_INNER_MAX)
			o |= EPOLLIN;
	}
	if (r->mode != RELAY_OFF && buf_len(&r->to_outer))
		o |= EPOLLOUT;
	if (r->master_fd >= 0)
		e = loop_set(&d->loop, &r->master_io, r->master_fd, m);
	if (e == 0 && r->outer_fd >= 0)
		e = loop_set(&d->loop, &r->outer_io, r->outer_fd, o);
	if (e < 0)
		r->report(r, RELAY_END, "error");
}

void relay_init(struct relay *r, struct daemon *d, struct session_state *st, struct state_sync *sync,
		struct recording *rec, relay_report_fn report, void *userdata)
{
	memset(r, 0, sizeof(*r));
	r->d = d;
	r->st = st;
	r->sync = sync;
	r->rec = rec;
	r->report = report;
	r->userdata = userdata;
	r->outer_fd = r->master_fd = -1;
	loop_io_init(&r->outer_io, outer_cb, r);
	loop_io_init(&r->master_io, master_cb, r);
}

void relay_start(struct relay *r)
{
	if (r->master_fd >= 0) {
		r->mode = RELAY_RUNNING;
	} else {
		/* The shell went while nobody relayed: what it wrote still goes out. */
		r->mode = RELAY_DRAINING;
		r->reason = "exit";
		r->drain_deadline_ms = mono_ms() + RELAY_DRAIN_MS;
	}
	relay_update(r);
}

int relay_attach(struct relay *r, int outer, int master, char *why, size_t cap)
{
	struct session_state *st = r->st;
	struct termios raw, saved;
	struct winsize ws, in;
	struct stat a, b;
	char path[64];
	int fd, fl, e;

	/* A file description of our own: O_NONBLOCK on the one we were sent
	 * would also hit the login shell sharing it. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", outer);
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = -errno;
		snprintf(why, cap, "cannot reopen the terminal: %s", strerror(-e));
		return e;
	}
	if (fstat(fd, &a) < 0 || fstat(outer, &b) < 0 || !S_ISCHR(a.st_mode) || a.st_rdev != b.st_rdev) {
		snprintf(why, cap, "the terminal changed while being reopened");
		e = -EPERM;
		goto fail;
	}
	if (tcgetattr(fd, &saved) < 0) {
		e = -errno;
		snprintf(why, cap, "cannot read the terminal's modes: %s", strerror(-e));
		goto fail;
	}
	fl = fcntl(master, F_GETFL);
	if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0) {
		e = -errno;
		snprintf(why, cap, "cannot use the inner pty: %s", strerror(-e));
		goto fail;
	}
	/* Raw, or echo doubles and ^C lands on a tty without a foreground group. */
	raw = saved;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSANOW, &raw) < 0) {
		e = -errno;
		snprintf(why, cap, "cannot put the terminal in raw mode: %s", strerror(-e));
		goto fail;
	}
	st->termios = saved;
	st->have_termios = true;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0) {
		st->cols = ws.ws_col;
		st->rows = ws.ws_row;
		if (ioctl(master, TIOCGWINSZ, &in) < 0 || in.ws_col != ws.ws_col || in.ws_row != ws.ws_row)
			(void)ioctl(master, TIOCSWINSZ, &ws);
	}
	close(outer);
	r->outer_fd = fd;
	r->master_fd = master;
	return 0;
fail:
	close(fd);
	return e;
}

void relay_tick(struct relay *r, int64_t now)
{
	if (r->mode == RELAY_RUNNING) {
		check_winsize(r);
		if (r->close_deadline_ms && now >= r->close_deadline_ms) {
			/* PAM closed the session and the inner side holds on:
			 * hang it up. */
			inner_done(r, "close");
			return;
		}
		if (r->outer_io.fd < 0 && r->outer_fd >= 0) {
			/* Not watched (the shell takes no input): look for a hangup. */
			struct pollfd p = { .fd = r->outer_fd, .events = POLLIN };

			if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
				outer_gone(r, "hangup");
		}
	} else if (r->mode == RELAY_DRAINING && now >= r->drain_deadline_ms) {
		r->report(r, RELAY_END, r->reason); /* the terminal takes nothing more */
	}
}

void relay_closing(struct relay *r, int64_t now)
{
	if (r->mode == RELAY_RUNNING && !r->close_deadline_ms)
		r->close_deadline_ms = now + RELAY_CLOSE_MS;
}

/* Unwatches and closes both fds, frees the buffers; restore: the outer
 * tty's modes go back first. */
static void release(struct relay *r, bool restore)
{
	loop_del(&r->d->loop, &r->master_io);
	loop_del(&r->d->loop, &r->outer_io);
	if (r->master_fd >= 0)
		close(r->master_fd);
	r->master_fd = -1;
	if (r->outer_fd >= 0) {
		if (restore && r->st->have_termios)
			(void)tcsetattr(r->outer_fd, TCSANOW, &r->st->termios);
		close(r->outer_fd);
	}
	r->outer_fd = -1;
	buf_free(&r->to_outer);
	buf_free(&r->to_inner);
	r->mode = RELAY_OFF;
}

void relay_stop(struct relay *r)
{
	release(r, true);
}

void relay_detach(struct relay *r)
{
	release(r, false);
}

void relay_flush_once(struct relay *r)
{
	if (r->outer_fd >= 0 && buf_len(&r->to_outer)) {
		ssize_t w = write_some(r->outer_fd, r->to_outer.p + r->to_outer.start, buf_len(&r->to_outer));

		if (w > 0)
			buf_pop(&r->to_outer, (size_t)w);
	}
}

size_t relay_output_pending(const struct relay *r)
{
	return buf_len(&r->to_outer);
}

/* A pty master: TIOCGPTN answers only on one. */
static bool is_master(int fd)
{
	unsigned n;

	return ioctl(fd, TIOCGPTN, &n) == 0;
}

int relay_resume(struct relay *r, int outer, int inner, const struct state_pending *p, char *why, size_t cap)
{
	int fl, e;

	if (!isatty(outer)) {
		snprintf(why, cap, "the stored outer fd is not a terminal");
		return -ENOTTY;
	}
	if (inner >= 0 && !is_master(inner)) {
		snprintf(why, cap, "the stored inner fd is not a pty master");
		return -ENOTTY;
	}
	/* The flags live in the file descriptions the earlier daemon set up;
	 * set again in case it died before it did. */
	if ((fl = fcntl(outer, F_GETFL)) < 0 || fcntl(outer, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(outer, F_SETFD, FD_CLOEXEC) < 0 ||
	    (inner >= 0 && ((fl = fcntl(inner, F_GETFL)) < 0 || fcntl(inner, F_SETFL, fl | O_NONBLOCK) < 0 ||
			    fcntl(inner, F_SETFD, FD_CLOEXEC) < 0))) {
		e = -errno; /* before snprintf, which may set it */
		snprintf(why, cap, "cannot use the stored fds: %s", strerror(-e));
		return e;
	}
	if (p && (buf_push(&r->to_outer, RELAY_TO_OUTER_MAX, p->to_outer, p->to_outer_len) < 0 ||
		  (inner >= 0 && buf_push(&r->to_inner, RELAY_TO_INNER_MAX, p->to_inner, p->to_inner_len) < 0))) {
		buf_free(&r->to_outer);
		buf_free(&r->to_inner);
		snprintf(why, cap, "cannot take the pending bytes");
		return -ENOMEM;
	}
	r->outer_fd = outer;
	r->master_fd = inner;
	return 0;
}

int relay_pending(const struct relay *r, struct state_pending *p)
{
	size_t no = buf_len(&r->to_outer), ni = buf_len(&r->to_inner);

	if (no && !(p->to_outer = malloc(no)))
		return -ENOMEM;
	if (ni && !(p->to_inner = malloc(ni)))
		return -ENOMEM;
	if (no)
		memcpy(p->to_outer, r->to_outer.p + r->to_outer.start, no);
	if (ni)
		memcpy(p->to_inner, r->to_inner.p + r->to_inner.start, ni);
	p->to_outer_len = no;
	p->to_inner_len = ni;
	return 0;
}
