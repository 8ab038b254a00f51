/* relaypipe: the pump of a command session's three pipes (see relaypipe.h).
 * Each direction reads into its own buffer and writes straight on from
 * there; a full buffer stops reading its source, an empty one stops
 * watching its destination. Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "recorder.h"
#include "relaypipe.h"
#include "state.h"
#include "writer.h"

#define RELAYPIPE_READS_PER_WAKE 4 /* fairness between sessions under bulk transfers */

static const char *const chan_names[RELAYPIPE_NCHAN] = { "stdin", "stdout", "stderr" };

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void unwatch_close(struct relaypipe *rp, struct loop_io *io, int *fd)
{
	loop_del(&rp->d->loop, io);
	close_fd(fd);
}

/* The source is done: nothing more comes in this direction. */
static void src_done(struct relaypipe_chan *c)
{
	unwatch_close(c->rp, &c->src_io, &c->src);
}

/* The destination is done. A socket (sshd's stdin and stdout may be one)
 * is shut for writing first: another fd of it may stay open for reading. */
static void dst_done(struct relaypipe_chan *c)
{
	if (c->dst >= 0)
		(void)shutdown(c->dst, SHUT_WR);
	unwatch_close(c->rp, &c->dst_io, &c->dst);
}

/* Nobody takes this direction any more (the reader went): what is
 * buffered is dropped and the source closed, so its writer sees EPIPE as
 * it would without the relay. */
static void dst_gone(struct relaypipe_chan *c)
{
	c->off = c->len = 0;
	dst_done(c);
	src_done(c);
	if (c->id != RELAYPIPE_IN && !c->rp->reason)
		c->rp->reason = "hangup";
}

static void record(struct relaypipe_chan *c, const uint8_t *p, size_t n)
{
	struct relaypipe *rp = c->rp;

	c->bytes += n;
	if (c->id == RELAYPIPE_IN)
		rp->st->bytes_in += n;
	else
		rp->st->bytes_out += n;
	if (rp->metadata && c->id != RELAYPIPE_ERR) {
		crypto_hash_sha256_update(&c->sha, p, n);
		return;
	}
	if (c->id == RELAYPIPE_IN)
		recorder_input(rp->rec, p, n, false); /* no terminal: no echo-off secrets */
	else if (c->id == RELAYPIPE_OUT)
		recorder_output(rp->rec, p, n);
	else
		recorder_stderr(rp->rec, p, n);
}

/* Reads what src has while buf has room. */
static void read_src(struct relaypipe_chan *c)
{
	struct daemon *d = c->rp->d;

	for (int i = 0; i < RELAYPIPE_READS_PER_WAKE && c->src >= 0 && !d->disk_paused; i++) {
		ssize_t n;

		if (c->len == 0)
			c->off = 0;
		if (c->off + c->len == RELAYPIPE_BUF && c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len);
			c->off = 0;
		}
		if (c->len == RELAYPIPE_BUF)
			break;
		n = read(c->src, c->buf + c->off + c->len, RELAYPIPE_BUF - c->off - c->len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			break;
		if (n <= 0) { /* EOF, or a side that failed: nothing more comes */
			src_done(c);
			break;
		}
		record(c, c->buf + c->off + c->len, (size_t)n);
		c->len += (size_t)n;
		/* Queued for the disk before it goes on; a writer over its
		 * high watermark stops every relay's reading (service.c). */
		if (d->writer && writer_congested(d->writer)) {
			d->disk_paused = true;
			d->disk_changed = true;
		}
	}
}

/* Writes what buf holds to dst while it takes it. */
static void write_dst(struct relaypipe_chan *c)
{
	while (c->len > 0 && c->dst >= 0) {
		ssize_t w = write(c->dst, c->buf + c->off, c->len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			dst_gone(c);
			return;
		}
		c->off += (size_t)w;
		c->len -= (size_t)w;
	}
	if (c->src < 0 && c->len == 0 && c->dst >= 0)
		dst_done(c); /* EOF goes on */
}

static bool chan_done(const struct relaypipe_chan *c)
{
	return c->src < 0 && c->dst < 0;
}

/* After each event: the end once the command's stdout and stderr are
 * closed and taken (its stdin does not hold the session: sshd ends it
 * then too), else the fds watched for what can be done now. */
static void after(struct relaypipe *rp)
{
	if (chan_done(&rp->ch[RELAYPIPE_OUT]) && chan_done(&rp->ch[RELAYPIPE_ERR])) {
		rp->running = false;
		rp->report(rp, rp->reason ? rp->reason : "exit");
		return;
	}
	relaypipe_update(rp);
}

static void src_cb(struct loop_io *io, uint32_t ev)
{
	struct relaypipe_chan *c = io->userdata;

	(void)ev;
	if (!c->rp->running)
		return;
	read_src(c);
	write_dst(c);
	after(c->rp);
}

static void dst_cb(struct loop_io *io, uint32_t ev)
{
	struct relaypipe_chan *c = io->userdata;

	if (!c->rp->running)
		return;
	write_dst(c);
	if (c->dst >= 0 && (ev & (EPOLLERR | EPOLLHUP)))
		dst_gone(c);
	after(c->rp);
}

void relaypipe_init(struct relaypipe *rp, struct daemon *d, struct session_state *st, struct state_sync *sync,
		    struct recording *rec, relaypipe_report_fn report, void *userdata)
{
	memset(rp, 0, sizeof(*rp));
	rp->d = d;
	rp->st = st;
	rp->sync = sync;
	rp->rec = rec;
	rp->report = report;
	rp->userdata = userdata;
	for (int i = 0; i < RELAYPIPE_NCHAN; i++) {
		struct relaypipe_chan *c = &rp->ch[i];

		c->rp = rp;
		c->id = (enum relaypipe_chan_id)i;
		c->src = c->dst = -1;
		loop_io_init(&c->src_io, src_cb, c);
		loop_io_init(&c->dst_io, dst_cb, c);
	}
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* sshd gives a command pipes or sockets; anything else (a file, a
 * terminal) cannot be watched by epoll or is not this kind of session. */
static bool pipe_like(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode));
}

int relaypipe_take(struct relaypipe *rp, int *fds, int cmd_fds[RELAYPIPE_NCHAN], char *why, size_t cap)
{
	int p[RELAYPIPE_NCHAN][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	int r = 0;

	for (int i = 0; i < RELAYPIPE_NCHAN; i++) {
		if (!pipe_like(fds[i])) {
			snprintf(why, cap, "attach: %s is not a pipe or socket", chan_names[i]);
			return -EINVAL;
		}
	}
	for (int i = 0; i < RELAYPIPE_NCHAN && r == 0; i++) {
		if (pipe2(p[i], O_CLOEXEC) < 0 ||
		    !(rp->ch[i].buf = malloc(RELAYPIPE_BUF)))
			r = -errno;
	}
	/* The daemon's ends and sshd's side do not block; the command's ends
	 * stay as a command expects them. */
	for (int i = 0; i < RELAYPIPE_NCHAN && r == 0; i++)
		if ((r = set_nonblock(fds[i])) == 0)
			r = set_nonblock(i == RELAYPIPE_IN ? p[i][1] : p[i][0]);
	if (r < 0) {
		snprintf(why, cap, "cannot make the command's pipes: %s", strerror(-r));
		for (int i = 0; i < RELAYPIPE_NCHAN; i++) {
			close_fd(&p[i][0]);
			close_fd(&p[i][1]);
			free(rp->ch[i].buf);
			rp->ch[i].buf = NULL;
		}
		return r;
	}
	rp->ch[RELAYPIPE_IN].src = fds[0];
	rp->ch[RELAYPIPE_IN].dst = p[0][1];
	cmd_fds[0] = p[0][0];
	for (int i = RELAYPIPE_OUT; i < RELAYPIPE_NCHAN; i++) {
		rp->ch[i].src = p[i][0];
		rp->ch[i].dst = fds[i];
		cmd_fds[i] = p[i][1];
	}
	for (int i = 0; i < RELAYPIPE_NCHAN; i++) {
		fds[i] = -1;
		crypto_hash_sha256_init(&rp->ch[i].sha);
	}
	return 0;
}

void relaypipe_start(struct relaypipe *rp, bool metadata)
{
	rp->metadata = metadata;
	rp->running = true;
	relaypipe_update(rp);
}

void relaypipe_update(struct relaypipe *rp)
{
	struct loop *l = &rp->d->loop;
	int e = 0;

	if (!rp->running)
		return;
	for (int i = 0; i < RELAYPIPE_NCHAN && e == 0; i++) {
		struct relaypipe_chan *c = &rp->ch[i];

		if (c->src >= 0)
			e = loop_set(l, &c->src_io, c->src,
				     c->len < RELAYPIPE_BUF && !rp->d->disk_paused ? EPOLLIN : 0);
		if (e == 0 && c->dst >= 0)
			e = loop_set(l, &c->dst_io, c->dst, c->len > 0 ? EPOLLOUT : 0);
	}
	if (e < 0) {
		rp->running = false;
		rp->report(rp, "error");
	}
}

void relaypipe_closing(struct relaypipe *rp, int64_t now)
{
	if (rp->running && !rp->close_deadline_ms)
		rp->close_deadline_ms = now + RELAYPIPE_CLOSE_MS;
}

/* A destination with nothing to write is not watched (it would always
 * be writable): whether its reader went is looked at on the tick. */
static void check_readers(struct relaypipe *rp)
{
	for (int i = 0; i < RELAYPIPE_NCHAN; i++) {
		struct relaypipe_chan *c = &rp->ch[i];
		struct pollfd p = { .fd = c->dst, .events = POLLOUT };

		if (c->dst >= 0 && c->len == 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)))
			dst_gone(c);
	}
}

void relaypipe_tick(struct relaypipe *rp, int64_t now)
{
	if (!rp->running)
		return;
	if (rp->close_deadline_ms && now >= rp->close_deadline_ms) {
		rp->running = false;
		rp->report(rp, "close");
		return;
	}
	check_readers(rp);
	after(rp);
}

/* One marker per direction of a transfer recorded as metadata. */
static void transfer_markers(struct relaypipe *rp)
{
	unsigned char sum[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1], text[160];

	for (int i = RELAYPIPE_IN; i <= RELAYPIPE_OUT; i++) {
		crypto_hash_sha256_final(&rp->ch[i].sha, sum);
		sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
		snprintf(text, sizeof(text), "transfer %s: %llu bytes, sha256 %s", chan_names[i],
			 (unsigned long long)rp->ch[i].bytes, hex);
		recorder_marker(rp->rec, text);
	}
}

void relaypipe_stop(struct relaypipe *rp)
{
	bool had = false;

	for (int i = 0; i < RELAYPIPE_NCHAN; i++) {
		struct relaypipe_chan *c = &rp->ch[i];

		had |= c->buf != NULL;
		unwatch_close(rp, &c->src_io, &c->src);
		unwatch_close(rp, &c->dst_io, &c->dst);
		free(c->buf);
		c->buf = NULL;
		c->off = c->len = 0;
	}
	if (had && rp->metadata)
		transfer_markers(rp);
	rp->running = false;
	rp->metadata = false;
}

size_t relaypipe_pending(const struct relaypipe *rp, enum relaypipe_chan_id id)
{
	return rp->ch[id].len;
}
