/* relay: the byte pump of an attached session (see relay.h). Each
 * direction reads into its ring in the relay memfd and writes straight on
 * from there; what the other side does not take stays, and a full ring
 * stops reading the side that fills it. Output also stays until the writer
 * confirmed the lines holding it, so a daemon after a kill -9 can record
 * what the shard lacks and show what the terminal lacks. Ends go to the
 * owner through r->report. Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "monoclock.h"
#include "outertty.h"
#include "recorder.h"
#include "relay.h"
#include "relaydisk.h"
#include "relaymem.h"
#include "state.h"
#include "writer.h"

#define RELAY_READS_PER_WAKE 16 /* fairness between sessions under bulk output */
#define RELAY_SALVAGE_MAX (1024 * 1024)
/* What one read of a pty master gives at most (n_tty's buffer less one):
 * a shorter read found it drained. Only a hint: epoll is level-triggered. */
#define RELAY_PTY_CHUNK 4095
/* Output read and not yet written to the terminal. */
static size_t out_pending(const struct relay *r)
{
	return r->mem.h ? (size_t)(r->mem.h->out_read - r->mem.h->out_shown) : 0;
}

/* Ring space for more output: what the ring keeps is not yet shown, or not
 * yet confirmed on disk. */
static size_t out_room(const struct relay *r)
{
	return r->mem.h ? RELAYMEM_OUT_CAP - (size_t)(r->mem.h->out_read - r->mem.h->out_kept) : 0;
}

static size_t in_pending(const struct relay *r)
{
	return r->mem.h ? (size_t)(r->mem.h->in_read - r->mem.h->in_given) : 0;
}

static size_t in_room(const struct relay *r)
{
	return r->mem.h ? RELAYMEM_IN_CAP - in_pending(r) : 0;
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

/* Whether the inner master may be read: room in the ring, the disk keeping
 * up, the anchor not too far behind. */
static bool can_read_master(const struct relay *r)
{
	return out_room(r) > 0 && !r->d->disk_paused && !relaydisk_too_far(&r->disk);
}

/* One write of what the terminal has not taken: a tty that took less than
 * all is full, and another try would only fetch its EAGAIN. */
static int show(struct relay *r)
{
	struct relaymem_hdr *h = r->mem.h;
	size_t n = out_pending(r);
	ssize_t w;

	if (n == 0)
		return 0;
	/* A kill after the write and before the count leaves it unknown
	 * whether the terminal got these: the next daemon takes them as shown
	 * (never twice) and says how many they were. */
	relaymem_set(&h->out_showing, h->out_read);
	w = write_some(r->outer_fd, relaymem_out_at(&r->mem, h->out_shown), n);
	if (w > 0)
		relaymem_set(&h->out_shown, h->out_shown + (uint64_t)w);
	relaymem_set(&h->out_showing, h->out_shown);
	if (w < 0)
		return (int)w;
	relaydisk_set_kept(&r->disk);
	return 0;
}

/* Input waiting for the shell goes to it. */
static int give(struct relay *r)
{
	struct relaymem_hdr *h = r->mem.h;
	size_t n = in_pending(r);
	ssize_t w;

	if (n == 0 || r->master_fd < 0)
		return 0;
	w = write_some(r->master_fd, relaymem_in_at(&r->mem, h->in_given), n);
	if (w < 0)
		return (int)w;
	relaymem_set(&h->in_given, h->in_given + (uint64_t)w);
	return 0;
}

/* Input nobody will read (the shell is going). */
void relay_drop_input(struct relay *r)
{
	if (r->mem.h && in_pending(r))
		relaymem_set(&r->mem.h->in_given, r->mem.h->in_read);
}

/* What the shell wrote before its terminal went away still belongs in the
 * recording (sshd, for one, drops the terminal as soon as the shell exits,
 * which may be before we relayed its last output). Bounded: a process that
 * keeps writing does not keep us here. Read past the ring: nobody will see
 * it, and the session ends. */
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
	relay_drop_input(r);
	r->reason = reason;
	r->mode = RELAY_DRAINING;
	r->drain_deadline_ms = mono_ms() + RELAY_DRAIN_MS;
	/* The owner lets go of its copies of the inner master (a duplicate
	 * in the holder would keep the shell from its hangup). */
	r->report(r, RELAY_INNER_EOF, reason);
	if (out_pending(r) == 0)
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
	struct relaymem_hdr *h = r->mem.h;

	for (int i = 0; i < RELAY_READS_PER_WAKE && r->mode == RELAY_RUNNING; i++) {
		size_t room = in_room(r);
		uint8_t *p;
		ssize_t n;
		bool secret;

		if (room == 0)
			break;
		p = relaymem_in_at(&r->mem, h->in_read);
		n = read(r->outer_fd, p, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) { /* 0 or EIO: hung up */
			outer_gone(r, "hangup");
			return;
		}
		relaymem_set(&h->in_read, h->in_read + (uint64_t)n);
		r->st->bytes_in += (uint64_t)n;
		r->sync->dirty = true;
		check_winsize(r);
		/* The modes the input meets, before the shell sees it. */
		secret = inner_secret(r);
		/* The keystroke goes on first, its recording after. A master
		 * that takes no input belongs to a shell on its way out; its
		 * EOF ends the session. */
		if (give(r) < 0)
			relay_drop_input(r);
		recorder_input(r->rec, p, (size_t)n, secret);
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
 * discipline buffers, about 4 KiB) into one batch at buf (the ring) for one
 * terminal write and one recorder call; 0, or -1 when the inner side is
 * done. */
static int read_master_batch(struct relay *r, uint8_t *buf, size_t room, size_t *got)
{
	struct relaymem_hdr *h = r->mem.h;
	size_t have = 0;

	for (int i = 0; i < RELAY_READS_PER_WAKE && have < room; i++) {
		size_t want = room - have < RELAYMEM_READ_MAX ? room - have : RELAYMEM_READ_MAX;
		ssize_t n;

		/* Counted read by read, over the pattern: what a read the kill
		 * cuts short took is found in the ring by the next daemon. */
		relaymem_fill(&r->mem, h->out_read, want);
		relaymem_set(&h->out_reading, h->out_read + want);
		n = read(r->master_fd, buf + have, want);
		if (n > 0)
			relaymem_set(&h->out_read, h->out_read + (uint64_t)n);
		relaymem_set(&h->out_reading, h->out_read);
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
	struct relaymem_hdr *h = r->mem.h;
	uint8_t *p;
	size_t n;
	int e;

	if (r->mode != RELAY_RUNNING || !can_read_master(r))
		return;
	/* Straight into the ring: the bytes are kept before they are counted,
	 * and counted before they are recorded or shown. */
	p = relaymem_out_at(&r->mem, h->out_read);
	if (read_master_batch(r, p, out_room(r), &n) < 0 || n == 0)
		return;
	r->st->bytes_out += (uint64_t)n;
	r->sync->dirty = true;
	/* Queued for the disk before the terminal shows it (written through
	 * while the disk keeps up); the ring keeps it until both are done. */
	recorder_output(r->rec, p, n);
	relaydisk_mark(&r->disk);
	relaydisk_settle(&r->disk);
	relaydisk_anchor_due(&r->disk);
	e = show(r);
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
	if (in_pending(r) && (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && give(r) < 0)
		relay_drop_input(r);
	if (ev & (EPOLLHUP | EPOLLERR))
		relay_drop_input(r); /* nobody will read it */
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
	if (out_pending(r) && (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
		if (show(r) < 0) {
			outer_gone(r, "hangup");
			return;
		}
		if (r->mode == RELAY_DRAINING && out_pending(r) == 0) {
			r->report(r, RELAY_END, r->reason);
			return;
		}
	}
	if (r->mode == RELAY_RUNNING && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && in_room(r) > 0) {
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
		if (can_read_master(r))
			m |= EPOLLIN;
		else if (!d->disk_paused)
			relaydisk_wait(&r->disk); /* the ring holds output the disk has not confirmed */
		if (in_pending(r))
			m |= EPOLLOUT;
		if (in_room(r))
			o |= EPOLLIN;
	}
	if (r->mode != RELAY_OFF && out_pending(r))
		o |= EPOLLOUT;
	if (r->master_fd >= 0)
		e = loop_set(&d->loop, &r->master_io, r->master_fd, m);
	if (e == 0 && r->outer_fd >= 0)
		e = loop_set(&d->loop, &r->outer_io, r->outer_fd, o);
	if (e < 0)
		r->report(r, RELAY_END, "error");
}

/* A relay whose lines the writer confirmed reads again. */
static void disk_go(struct relaydisk *k)
{
	struct relay *r = (struct relay *)((char *)k - offsetof(struct relay, disk));

	if (r->mode != RELAY_OFF)
		relay_update(r);
}

void relay_disk_progress(struct daemon *d)
{
	relaydisk_progress(d, disk_go);
}

void relay_disk_all_done(struct relay *r)
{
	relaydisk_all_done(&r->disk);
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
	relaymem_init(&r->mem);
	relaydisk_init(&r->disk, d, st, rec, &r->mem);
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
	if (r->mem.h && !relaymem_anchor(&r->mem))
		relaydisk_anchor(&r->disk, r->mem.h->out_durable); /* no "o" line of the session yet */
	relay_update(r);
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

/* Unwatches and closes both fds and the relay state's mapping (the
 * holder's copy lives on); restore: the outer tty's modes, owner and mode
 * go back first. */
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
		/* Before the drained message: the shim's exit gives the
		 * terminal back to the login. */
		if (restore)
			(void)outertty_give_back(r->outer_fd, &r->st->tty_owner);
		close(r->outer_fd);
	}
	r->outer_fd = -1;
	relaydisk_reset(&r->disk);
	relaymem_close(&r->mem);
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
	if (r->outer_fd >= 0)
		(void)show(r);
}

size_t relay_output_pending(const struct relay *r)
{
	return out_pending(r);
}

int relay_pending(const struct relay *r, struct state_pending *p)
{
	size_t no = out_pending(r), ni = in_pending(r);

	if (no && !(p->to_outer = malloc(no)))
		return -ENOMEM;
	if (ni && !(p->to_inner = malloc(ni)))
		return -ENOMEM;
	if (no)
		memcpy(p->to_outer, relaymem_out_at(&r->mem, r->mem.h->out_shown), no);
	if (ni)
		memcpy(p->to_inner, relaymem_in_at(&r->mem, r->mem.h->in_given), ni);
	p->to_outer_len = no;
	p->to_inner_len = ni;
	return 0;
}
