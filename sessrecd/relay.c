/* relay: the byte pump of an attached session (see relay.h). Each
 * direction writes straight through while the other side keeps up and
 * buffers (allocated only then) when it does not; a full buffer stops
 * reading the side that fills it. Convention: 0 or -errno. */
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
#include "handoff.h"
#include "recorder.h"
#include "relay.h"
#include "session.h"

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
static void salvage_output(struct daemon *d, struct session *s)
{
	for (size_t total = 0; s->st.master_fd >= 0 && total < RELAY_SALVAGE_MAX;) {
		ssize_t n = read(s->st.master_fd, d->scratch, sizeof(d->scratch));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (size_t)n;
		s->st.bytes_out += (uint64_t)n;
		recorder_output(d, s, d->scratch, (size_t)n);
	}
}

/* The terminal went away (or cannot be written): the session ends now and
 * closing the inner master hangs up the shell. */
static void outer_gone(struct daemon *d, struct session *s, const char *reason)
{
	if (s->phase == SESSION_RELAYING)
		salvage_output(d, s);
	session_end(d, s, s->phase == SESSION_DRAINING ? s->end_reason : reason);
}

/* The inner side is done (every slave closed) or is being hung up: what
 * the terminal has not taken yet still goes to it, for RELAY_DRAIN_MS. */
static void inner_done(struct daemon *d, struct session *s, const char *reason)
{
	loop_del(&d->loop, &s->master_io);
	if (s->st.master_fd >= 0)
		close(s->st.master_fd);
	s->st.master_fd = -1;
	/* A duplicate in the holder would keep the shell from its hangup. */
	handoff_drop_inner(d, s);
	buf_free(&s->to_inner);
	s->end_reason = reason;
	s->phase = SESSION_DRAINING;
	s->drain_deadline_ms = loop_now_ms() + RELAY_DRAIN_MS;
	if (buf_len(&s->to_outer) == 0)
		session_end(d, s, reason);
	else
		relay_update(d, s);
}

static void check_winsize(struct daemon *d, struct session *s)
{
	struct winsize ws;

	if (s->st.outer_fd < 0 || ioctl(s->st.outer_fd, TIOCGWINSZ, &ws) < 0)
		return;
	if (ws.ws_col == s->st.cols && ws.ws_row == s->st.rows)
		return;
	s->st.cols = ws.ws_col;
	s->st.rows = ws.ws_row;
	s->st.resizes++;
	s->state_urgent = true;
	/* The kernel sends SIGWINCH to the inner foreground group. */
	if (s->st.master_fd >= 0)
		(void)ioctl(s->st.master_fd, TIOCSWINSZ, &ws);
	recorder_resize(d, s, ws.ws_col, ws.ws_row);
}

/* Input typed now would not be shown: a password prompt (echo off, line
 * mode). tcgetattr on a master reads the slave's modes. */
static bool inner_secret(const struct session *s)
{
	struct termios t;

	if (!s->withhold || !s->st.input || s->st.master_fd < 0 || tcgetattr(s->st.master_fd, &t) < 0)
		return false;
	return !(t.c_lflag & ECHO) && (t.c_lflag & ICANON);
}

static void read_outer(struct daemon *d, struct session *s)
{
	for (int i = 0; i < RELAY_READS_PER_WAKE && s->phase == SESSION_RELAYING; i++) {
		size_t room = RELAY_TO_INNER_MAX - buf_len(&s->to_inner);
		ssize_t n;
		bool secret;

		if (room == 0)
			break;
		if (room > sizeof(d->scratch))
			room = sizeof(d->scratch);
		n = read(s->st.outer_fd, d->scratch, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) { /* 0 or EIO: hung up */
			outer_gone(d, s, "hangup");
			return;
		}
		s->st.bytes_in += (uint64_t)n;
		s->state_dirty = true;
		check_winsize(d, s);
		/* The modes the input meets, before the shell sees it. */
		secret = inner_secret(s);
		/* The keystroke goes on first, its recording after. A master
		 * that takes no input belongs to a shell on its way out; its
		 * EOF ends the session. */
		if (send_to(s->st.master_fd, &s->to_inner, RELAY_TO_INNER_MAX, d->scratch, (size_t)n) < 0)
			buf_free(&s->to_inner);
		recorder_input(d, s, d->scratch, (size_t)n, secret);
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
 * and one recorder call; 0, or -1 when the session ended. */
static int read_master_batch(struct daemon *d, struct session *s, size_t room, size_t *got)
{
	size_t have = 0;

	for (int i = 0; i < RELAY_READS_PER_WAKE && have < room; i++) {
		ssize_t n = read(s->st.master_fd, d->scratch + have, room - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) { /* EIO: every slave is closed, the shell is gone */
			if (have)
				break; /* the next wake sees it again */
			inner_done(d, s, s->end_reason ? s->end_reason : "exit");
			return -1;
		}
		have += (size_t)n;
		if ((size_t)n < RELAY_PTY_CHUNK || !master_has_more(s->st.master_fd))
			break; /* drained for now */
	}
	*got = have;
	return 0;
}

static void read_master(struct daemon *d, struct session *s)
{
	size_t room = RELAY_TO_OUTER_MAX - buf_len(&s->to_outer), n;
	int r;

	if (room == 0 || d->disk_paused || s->phase != SESSION_RELAYING)
		return;
	if (room > sizeof(d->scratch))
		room = sizeof(d->scratch);
	if (read_master_batch(d, s, room, &n) < 0 || n == 0)
		return;
	s->st.bytes_out += (uint64_t)n;
	s->state_dirty = true;
	/* Queued for the disk before the terminal shows it: what was seen
	 * survives a crash right after. */
	recorder_output(d, s, d->scratch, n);
	r = send_to(s->st.outer_fd, &s->to_outer, RELAY_TO_OUTER_MAX, d->scratch, n);
	if (r < 0) {
		outer_gone(d, s, r == -ENOMEM ? "error" : "hangup");
		return;
	}
	daemon_check_disk(d);
}

static void master_cb(struct loop_io *io, uint32_t ev)
{
	struct session *s = io->userdata;
	struct daemon *d = s->d;

	if (s->phase != SESSION_RELAYING)
		return;
	if (buf_len(&s->to_inner) && (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) &&
	    flush(s->st.master_fd, &s->to_inner) < 0)
		buf_free(&s->to_inner);
	if (ev & (EPOLLHUP | EPOLLERR))
		buf_free(&s->to_inner); /* nobody will read it */
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		read_master(d, s);
	if (s->phase == SESSION_RELAYING)
		relay_update(d, s);
}

static void outer_cb(struct loop_io *io, uint32_t ev)
{
	struct session *s = io->userdata;
	struct daemon *d = s->d;

	if (s->phase != SESSION_RELAYING && s->phase != SESSION_DRAINING)
		return;
	if (buf_len(&s->to_outer) && (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
		if (flush(s->st.outer_fd, &s->to_outer) < 0) {
			outer_gone(d, s, "hangup");
			return;
		}
		if (s->phase == SESSION_DRAINING && buf_len(&s->to_outer) == 0) {
			session_end(d, s, s->end_reason);
			return;
		}
	}
	if (s->phase == SESSION_RELAYING && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
	    buf_len(&s->to_inner) < RELAY_TO_INNER_MAX) {
		read_outer(d, s);
	} else if (ev & (EPOLLHUP | EPOLLERR)) {
		outer_gone(d, s, "hangup");
		return;
	}
	if (s->phase == SESSION_RELAYING || s->phase == SESSION_DRAINING)
		relay_update(d, s);
}

void relay_update(struct daemon *d, struct session *s)
{
	uint32_t m = 0, o = 0;
	int r = 0;

	if (s->phase == SESSION_RELAYING) {
		if (!d->disk_paused && buf_len(&s->to_outer) < RELAY_TO_OUTER_MAX)
			m |= EPOLLIN;
		if (buf_len(&s->to_inner))
			m |= EPOLLOUT;
		if (buf_len(&s->to_inner) < RELAY_TO_INNER_MAX)
			o |= EPOLLIN;
	}
	if ((s->phase == SESSION_RELAYING || s->phase == SESSION_DRAINING) && buf_len(&s->to_outer))
		o |= EPOLLOUT;
	if (s->st.master_fd >= 0)
		r = loop_set(&d->loop, &s->master_io, s->st.master_fd, m);
	if (r == 0 && s->st.outer_fd >= 0)
		r = loop_set(&d->loop, &s->outer_io, s->st.outer_fd, o);
	if (r < 0)
		session_end(d, s, "error");
}

void relay_start(struct daemon *d, struct session *s)
{
	relay_update(d, s);
}

int relay_attach(struct daemon *d, struct session *s, int outer, int master, char *why, size_t cap)
{
	struct termios raw, saved;
	struct winsize ws, in;
	struct stat a, b;
	char path[64];
	int fd, fl, r;

	(void)d;
	/* A file description of our own: O_NONBLOCK on the one we were sent
	 * would also hit the login shell sharing it. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", outer);
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, cap, "cannot reopen the terminal: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &a) < 0 || fstat(outer, &b) < 0 || !S_ISCHR(a.st_mode) || a.st_rdev != b.st_rdev) {
		snprintf(why, cap, "the terminal changed while being reopened");
		r = -EPERM;
		goto fail;
	}
	if (tcgetattr(fd, &saved) < 0) {
		r = -errno;
		snprintf(why, cap, "cannot read the terminal's modes: %s", strerror(-r));
		goto fail;
	}
	fl = fcntl(master, F_GETFL);
	if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0) {
		r = -errno;
		snprintf(why, cap, "cannot use the inner pty: %s", strerror(-r));
		goto fail;
	}
	/* Raw, or echo doubles and ^C lands on a tty without a foreground group. */
	raw = saved;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSANOW, &raw) < 0) {
		r = -errno;
		snprintf(why, cap, "cannot put the terminal in raw mode: %s", strerror(-r));
		goto fail;
	}
	s->st.termios = saved;
	s->st.have_termios = true;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0) {
		s->st.cols = ws.ws_col;
		s->st.rows = ws.ws_row;
		if (ioctl(master, TIOCGWINSZ, &in) < 0 || in.ws_col != ws.ws_col || in.ws_row != ws.ws_row)
			(void)ioctl(master, TIOCSWINSZ, &ws);
	}
	close(outer);
	s->st.outer_fd = fd;
	s->st.master_fd = master;
	loop_io_init(&s->outer_io, outer_cb, s);
	loop_io_init(&s->master_io, master_cb, s);
	return 0;
fail:
	close(fd);
	return r;
}

void relay_tick(struct daemon *d, struct session *s, int64_t now)
{
	if (s->phase == SESSION_RELAYING) {
		check_winsize(d, s);
		if (s->close_deadline_ms && now >= s->close_deadline_ms) {
			/* PAM closed the session and the inner side holds on:
			 * hang it up. */
			inner_done(d, s, "close");
			return;
		}
		if (s->outer_io.fd < 0 && s->st.outer_fd >= 0) {
			/* Not watched (the shell takes no input): look for a hangup. */
			struct pollfd p = { .fd = s->st.outer_fd, .events = POLLIN };

			if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
				outer_gone(d, s, "hangup");
		}
	} else if (s->phase == SESSION_DRAINING && now >= s->drain_deadline_ms) {
		session_end(d, s, s->end_reason); /* the terminal takes nothing more */
	}
}

void relay_closing(struct daemon *d, struct session *s, int64_t now)
{
	(void)d;
	if (s->phase == SESSION_RELAYING && !s->close_deadline_ms)
		s->close_deadline_ms = now + RELAY_CLOSE_MS;
}

void relay_stop(struct daemon *d, struct session *s)
{
	loop_del(&d->loop, &s->master_io);
	loop_del(&d->loop, &s->outer_io);
	if (s->st.master_fd >= 0)
		close(s->st.master_fd);
	s->st.master_fd = -1;
	if (s->st.outer_fd >= 0) {
		if (s->st.have_termios)
			(void)tcsetattr(s->st.outer_fd, TCSANOW, &s->st.termios);
		close(s->st.outer_fd);
	}
	s->st.outer_fd = -1;
	buf_free(&s->to_outer);
	buf_free(&s->to_inner);
}

void relay_flush_once(struct session *s)
{
	if (s->st.outer_fd >= 0 && buf_len(&s->to_outer)) {
		ssize_t w = write_some(s->st.outer_fd, s->to_outer.p + s->to_outer.start, buf_len(&s->to_outer));

		if (w > 0)
			buf_pop(&s->to_outer, (size_t)w);
	}
}

/* A pty master: TIOCGPTN answers only on one. */
static bool is_master(int fd)
{
	unsigned n;

	return ioctl(fd, TIOCGPTN, &n) == 0;
}

int relay_resume(struct daemon *d, struct session *s, int outer, int inner, const struct state_pending *p,
		 char *why, size_t cap)
{
	int fl;

	(void)d;
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
		snprintf(why, cap, "cannot use the stored fds: %s", strerror(errno));
		return -errno;
	}
	if (p && (buf_push(&s->to_outer, RELAY_TO_OUTER_MAX, p->to_outer, p->to_outer_len) < 0 ||
		  (inner >= 0 && buf_push(&s->to_inner, RELAY_TO_INNER_MAX, p->to_inner, p->to_inner_len) < 0))) {
		buf_free(&s->to_outer);
		buf_free(&s->to_inner);
		snprintf(why, cap, "cannot take the pending bytes");
		return -ENOMEM;
	}
	s->st.outer_fd = outer;
	s->st.master_fd = inner;
	loop_io_init(&s->outer_io, outer_cb, s);
	loop_io_init(&s->master_io, master_cb, s);
	return 0;
}

int relay_pending(const struct session *s, struct state_pending *p)
{
	size_t no = buf_len(&s->to_outer), ni = buf_len(&s->to_inner);

	if (no && !(p->to_outer = malloc(no)))
		return -ENOMEM;
	if (ni && !(p->to_inner = malloc(ni)))
		return -ENOMEM;
	if (no)
		memcpy(p->to_outer, s->to_outer.p + s->to_outer.start, no);
	if (ni)
		memcpy(p->to_inner, s->to_inner.p + s->to_inner.start, ni);
	p->to_outer_len = no;
	p->to_inner_len = ni;
	return 0;
}

void relay_detach(struct daemon *d, struct session *s)
{
	loop_del(&d->loop, &s->master_io);
	loop_del(&d->loop, &s->outer_io);
	if (s->st.master_fd >= 0)
		close(s->st.master_fd);
	if (s->st.outer_fd >= 0)
		close(s->st.outer_fd);
	s->st.master_fd = s->st.outer_fd = -1;
	buf_free(&s->to_outer);
	buf_free(&s->to_inner);
}
