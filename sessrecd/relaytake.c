/* relaytake: a relay taking over a session's terminals, at the attach
 * (the inner pty made, the outer tty taken from the user and put in raw
 * mode, the relay state memfd made)
 * or at a resume after a restart (the stored fds and relay state, and the
 * recovery of the output in flight: docs/architecture.md, "Restarts").
 * Above relay.h, which does the pumping. Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "daemon.h"
#include "innerpty.h"
#include "log.h"
#include "outertty.h"
#include "recorder.h"
#include "relay.h"
#include "relaydisk.h"
#include "relaymem.h"
#include "relaytake.h"
#include "shardtail.h"
#include "state.h"

int relaytake_attach(struct relay *r, int outer, uid_t owner, int *slave, char *why, size_t cap)
{
	struct session_state *st = r->st;
	struct winsize ws;
	int master = -1, s = -1, fl, e;

	if (tcgetattr(outer, &st->termios) < 0) {
		e = -errno;
		snprintf(why, cap, "cannot read the terminal's modes: %s", strerror(-e));
		return e;
	}
	st->have_termios = true;
	if (ioctl(outer, TIOCGWINSZ, &ws) == 0) {
		st->cols = ws.ws_col;
		st->rows = ws.ws_row;
	}
	if ((e = innerpty_open(outer, owner, &master, &s)) < 0) {
		snprintf(why, cap, "cannot make the inner pty: %s", strerror(-e));
		goto fail;
	}
	fl = fcntl(master, F_GETFL);
	if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0) {
		e = -errno;
		snprintf(why, cap, "cannot use the inner pty: %s", strerror(-e));
		goto fail;
	}
	if ((e = relaymem_create(&r->mem, 0, 0)) < 0) {
		snprintf(why, cap, "cannot make the relay state: %s", strerror(-e));
		goto fail;
	}
	r->master_fd = master;
	*slave = s;
	return 0;
fail:
	st->have_termios = false;
	if (s >= 0)
		close(s);
	if (master >= 0)
		close(master);
	return e;
}

int relaytake_seize(struct relay *r, int outer, bool hangup, char *why, size_t cap)
{
	struct session_state *st = r->st;
	struct termios raw = st->termios;
	int fd = -1, e;

	if ((e = outertty_take(outer, hangup, &st->tty_owner, &fd)) < 0) {
		snprintf(why, cap, "cannot take the terminal: %s", strerror(-e));
		goto fail;
	}
	/* Raw, or echo doubles and ^C lands on a tty without a foreground
	 * group. From the saved modes: the hangup reset the terminal's. */
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSANOW, &raw) < 0) {
		e = -errno;
		snprintf(why, cap, "cannot put the terminal in raw mode: %s", strerror(-e));
		goto fail;
	}
	r->outer_fd = fd;
	r->sync->urgent = true; /* the owner to put back reaches the state file */
	return 0;
fail:
	if (fd >= 0) {
		(void)tcsetattr(fd, TCSANOW, &st->termios);
		close(fd);
	}
	(void)outertty_give_back(outer, &st->tty_owner);
	st->tty_owner.taken = false;
	return e;
}

/* A pty master: TIOCGPTN answers only on one. */
static bool is_master(int fd)
{
	unsigned n;

	return ioctl(fd, TIOCGPTN, &n) == 0;
}

/* A new relay state for a session without a usable one: its streams go on
 * from the state's counters, with the pending bytes of a handoff's state
 * file (already recorded) waiting in the rings. */
static int fresh_mem(struct relay *r, bool inner, const struct state_pending *p)
{
	const struct session_state *st = r->st;
	size_t no = p ? p->to_outer_len : 0, ni = p && inner ? p->to_inner_len : 0;
	struct relaymem_hdr *h;
	int e;

	if (no > RELAYMEM_OUT_CAP || ni > RELAYMEM_IN_CAP || no > st->bytes_out || ni > st->bytes_in)
		return -EINVAL;
	if ((e = relaymem_create(&r->mem, st->bytes_out - no, st->bytes_in - ni)) < 0)
		return e;
	h = r->mem.h;
	/* Nobody else maps it yet: no order to keep. */
	if (no)
		memcpy(relaymem_out_at(&r->mem, h->out_read), p->to_outer, no);
	if (ni)
		memcpy(relaymem_in_at(&r->mem, h->in_read), p->to_inner, ni);
	relaymem_barrier();
	h->out_read += no;
	h->out_durable = h->out_reading = h->out_read;
	h->in_read += ni;
	return 0;
}

int relaytake_resume(struct relay *r, int outer, int inner, int mem, const struct state_pending *p, bool *mem_used,
		     char *why, size_t cap)
{
	int fl, e;

	*mem_used = false;
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
	if (mem >= 0 && relaymem_open(&r->mem, mem) == 0) {
		*mem_used = true;
	} else if ((e = fresh_mem(r, inner >= 0, p)) < 0) {
		snprintf(why, cap, "cannot make the relay state: %s", strerror(-e));
		return e;
	}
	r->outer_fd = outer;
	r->master_fd = inner;
	if (inner < 0)
		relay_drop_input(r);
	return 0;
}

/* How far the shard holds the session's output: the anchor's position and
 * the bytes of the session's "o" lines after the anchor's offset. */
static int recorded_upto(struct relay *r, uint64_t *got)
{
	const struct relaymem_anchor *a = relaymem_anchor(&r->mem);
	struct stat sb;
	uint64_t n = 0;
	int fd, e;

	if (!a)
		return -ENOENT;
	fd = open(state_str(r->st->shard), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0)
		e = -errno;
	else if ((uint64_t)sb.st_dev != a->dev || (uint64_t)sb.st_ino != a->ino)
		e = -ESTALE; /* another file under the shard's name */
	else
		e = shardtail_bytes(fd, a->off, r->st->sid, 'o', &n);
	close(fd);
	if (e == 0)
		*got = a->pos + n;
	return e;
}

void relaytake_recover(struct relay *r, struct relaytake_recovery *out)
{
	struct relaymem_hdr *h = r->mem.h;
	uint64_t got = h->out_durable, from;
	int e;

	memset(out, 0, sizeof(*out));
	out->exact = true;
	/* A read the kill cut short: its bytes are in the ring, up to the pattern. */
	out->cut_read = relaymem_taken(&r->mem, h->out_read, (size_t)(h->out_reading - h->out_read));
	relaymem_set(&h->out_read, h->out_read + out->cut_read);
	relaymem_set(&h->out_reading, h->out_read);
	out->unshown = h->out_showing - h->out_shown;
	relaymem_set(&h->out_shown, h->out_showing);
	r->st->bytes_out = h->out_read;
	r->st->bytes_in = h->in_read;
	out->resent = h->out_read - h->out_shown;
	relaydisk_reset(&r->disk);
	if (!relaydisk_recording(&r->disk)) {
		relaymem_set(&h->out_durable, h->out_read);
		relaydisk_settle(&r->disk);
		return;
	}
	if ((e = recorded_upto(r, &got)) < 0) {
		/* Between what was confirmed and what was read: some of it may be
		 * recorded already and is recorded again. */
		log_line(
			"session %s: cannot tell how far %s holds its output: %s; recording again from the last "
			"confirmed byte",
			r->st->sid, state_str(r->st->shard), strerror(-e));
		got = h->out_durable;
		out->unsure = h->out_read - got;
	} else if (got > h->out_read) {
		log_line("session %s: %s holds %llu bytes more output than were read; none recorded again", r->st->sid,
			 state_str(r->st->shard), (unsigned long long)(got - h->out_read));
		got = h->out_read;
	}
	from = got < h->out_kept ? h->out_kept : got;
	out->unrecorded = from - got;
	out->rerecorded = h->out_read - from;
	/* The shard's lines end on a whole character: what was carried is in
	 * the ring and recorded again with the rest. */
	r->rec->carry_o.len = 0;
	relaydisk_anchor(&r->disk, from); /* before the lines recorded again */
	relaymem_set(&h->out_durable, from);
	relaydisk_settle(&r->disk);
	if (out->rerecorded) {
		recorder_output(r->rec, relaymem_out_at(&r->mem, from), (size_t)out->rerecorded);
		relaydisk_mark(&r->disk);
		relaydisk_settle(&r->disk);
	}
}
