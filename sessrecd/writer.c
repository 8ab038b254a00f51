/* writer: the disk writer thread and its mutex/condvar queue (see writer.h).
 * Lines travel in blocks: the loop fills one without the lock and hands the
 * filled ones over with one lock (and a signal only when the thread sleeps).
 * Convention: sequence numbers, 0 for "not queued". */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "monoclock.h"
#include "writer.h"

#define WRITER_ERRORS_MAX 64
#define WRITER_BLOCK (64 * 1024)               /* line bytes per block, a bigger line gets its own */
#define WRITER_IOV 64                          /* lines per writev (IOV_MAX is 1024) */
#define WRITER_SLOW_NS (2 * 1000000LL)         /* a direct write slower than this... */
#define WRITER_HOLD_MIN_NS (1000 * 1000000LL)  /* ...leaves the disk to the thread this long, */
#define WRITER_HOLD_MAX_NS (60000 * 1000000LL) /* doubling while the disk stays slow */

enum entry_kind { E_LINES, E_CLOSE, E_STATE_PUT, E_STATE_UNLINK };

/* One line in an E_LINES block, its bytes right after it (padded to 8). */
struct line_rec {
	uint64_t owner;
	int fd;
	bool notify;
	uint32_t len;
};

struct entry {
	struct entry *next;
	enum entry_kind kind;
	int fd;
	bool notify;
	uint64_t owner;
	uint64_t seq;
	size_t len;      /* of data (E_LINES: used so far) */
	size_t cap;      /* E_LINES: room in data */
	size_t path_len; /* E_STATE_*: path at data + len, NUL-terminated */
	char data[];
};

struct writer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct entry *head, *tail;
	size_t queued;
	bool congested; /* the loop saw the queue over the high watermark */
	bool stop;
	bool waiting; /* the thread sleeps on cond */
	/* Blocks the loop filled and has not handed over (loop thread only). */
	struct entry *fill_head, *fill_tail;
	uint64_t next_seq, done_seq;
	uint64_t wake_seq; /* wake the loop once done_seq reaches it (0: nobody waits) */
	/* Write-through (loop thread only): no direct writes before this
	 * CLOCK_MONOTONIC time; the current hold-off after a slow write. */
	int64_t direct_after, hold_ns;
	struct writer_error errors[WRITER_ERRORS_MAX];
	size_t nerrors;
	int efd;
};

static void wake_loop(struct writer *w)
{
	uint64_t one = 1;

	if (write(w->efd, &one, sizeof(one)) < 0)
		return; /* counter saturated: the loop is being woken anyway */
}

/* A short write (a full disk) appended part of what it was given: that part
 * is cut off again so no reader meets a torn line (this thread, or the loop
 * while the thread sleeps, is the only writer of the file). */
static int cut_partial(int fd, size_t partial)
{
	struct stat st;

	if (partial && fstat(fd, &st) == 0 && (size_t)st.st_size >= partial &&
	    ftruncate(fd, st.st_size - (off_t)partial) < 0)
		return -errno;
	return 0;
}

/* One write for one line, never retried in pieces. */
static int write_line(int fd, const char *p, size_t len)
{
	ssize_t n;

	do
		n = write(fd, p, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n < len) {
		int r = cut_partial(fd, (size_t)n);

		return r < 0 ? r : -ENOSPC;
	}
	return 0;
}

static size_t rec_size(size_t len)
{
	return (sizeof(struct line_rec) + len + 7) & ~(size_t)7;
}

static void report(struct writer *w, uint64_t owner, int err)
{
	if (!owner)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->nerrors < WRITER_ERRORS_MAX)
		w->errors[w->nerrors++] = (struct writer_error){ owner, err };
	pthread_mutex_unlock(&w->mu);
}

/* The lines of a block. Consecutive lines for one fd go out in one writev:
 * an O_APPEND write lands whole and unmixed whatever its size (the inode
 * lock), so a run of whole lines is as safe as one line, at a fraction of
 * the system calls. When the disk takes only part of a run, the whole lines
 * it took stay, the torn one is cut off and the rest are written (and fail)
 * one by one, so each owner hears of its own loss. Returns whether the loop
 * is to be woken. */
static bool perform_lines(struct writer *w, struct entry *e)
{
	struct iovec iov[WRITER_IOV];
	bool wake = false;

	for (size_t off = 0; off < e->len;) {
		struct line_rec *first = (struct line_rec *)(e->data + off);
		size_t end = off, total = 0, done = 0;
		int niov = 0;
		ssize_t n;

		while (end < e->len && niov < WRITER_IOV) {
			struct line_rec *l = (struct line_rec *)(e->data + end);

			if (l->fd != first->fd)
				break;
			iov[niov++] = (struct iovec){ l + 1, l->len };
			total += l->len;
			wake |= l->notify;
			end += rec_size(l->len);
		}
		do
			n = writev(first->fd, iov, niov);
		while (n < 0 && errno == EINTR);
		if (n >= 0 && (size_t)n == total) {
			off = end;
			continue;
		}
		/* Keep the whole lines the disk took; cut the torn one. */
		if (n > 0) {
			while (off < end) {
				struct line_rec *l = (struct line_rec *)(e->data + off);

				if (done + l->len > (size_t)n)
					break;
				done += l->len;
				off += rec_size(l->len);
			}
			(void)cut_partial(first->fd, (size_t)n - done);
		}
		for (; off < end;) {
			struct line_rec *l = (struct line_rec *)(e->data + off);
			int r = write_line(l->fd, (const char *)(l + 1), l->len);

			if (r < 0) {
				report(w, l->owner, -r);
				wake |= l->owner != 0;
			}
			off += rec_size(l->len);
		}
	}
	return wake;
}

static void perform(struct entry *e)
{
	switch (e->kind) {
	case E_LINES:
		break;
	case E_CLOSE:
		close(e->fd);
		break;
	/* State files are a convenience for a later restart: their failures
	 * are not recording failures. */
	case E_STATE_PUT:
		(void)io_write_atomic(e->data + e->len, e->data, e->len, 0600);
		break;
	case E_STATE_UNLINK:
		(void)unlink(e->data + e->len);
		break;
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct entry *e, *next;

		while (!w->head && !w->stop) {
			w->waiting = true;
			pthread_cond_wait(&w->cond, &w->mu);
		}
		w->waiting = false;
		e = w->head; /* all of it, in one go */
		if (!e)
			break; /* stop and nothing left */
		w->head = w->tail = NULL;
		pthread_mutex_unlock(&w->mu);

		for (; e; e = next) {
			bool wake;

			next = e->next;
			if (e->kind == E_LINES) {
				wake = perform_lines(w, e);
			} else {
				perform(e);
				wake = e->notify;
			}
			pthread_mutex_lock(&w->mu);
			w->queued -= e->len;
			w->done_seq = e->seq;
			if (w->wake_seq && w->done_seq >= w->wake_seq) {
				w->wake_seq = 0;
				wake = true;
			}
			if (w->congested && w->queued < WRITER_LOW_WATER) {
				w->congested = false;
				wake = true;
			}
			pthread_mutex_unlock(&w->mu);
			if (wake)
				wake_loop(w);
			free(e);
		}
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int writer_start(struct writer **wp, int *notify_fd)
{
	struct writer *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		r = -errno;
		free(w);
		return r;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	r = pthread_create(&w->thread, NULL, writer_main, w);
	if (r != 0) {
		close(w->efd);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cond);
		free(w);
		return -r;
	}
	*wp = w;
	*notify_fd = w->efd;
	return 0;
}

/* Links the filled blocks, then e (may be NULL), behind what is queued;
 * under mu. */
static void link_locked(struct writer *w, struct entry *e)
{
	struct entry *first = w->fill_head ? w->fill_head : e, *last = e ? e : w->fill_tail;

	if (!first)
		return;
	if (w->fill_tail)
		w->fill_tail->next = e;
	for (struct entry *x = first; x; x = x->next)
		w->queued += x->len;
	if (w->tail)
		w->tail->next = first;
	else
		w->head = first;
	w->tail = last;
	w->fill_head = w->fill_tail = NULL;
	if (w->waiting) {
		w->waiting = false; /* one signal is enough */
		pthread_cond_signal(&w->cond);
	}
}

/* Write-through: while the thread sleeps on an empty queue and the disk keeps
 * up, the loop writes the batch itself, before the relay shows the bytes on
 * the terminal. So a kill -9 never loses output the user already saw, and no
 * thread is woken. A direct write slower than WRITER_SLOW_NS hands the disk
 * to the thread (hold-off doubling up to a minute while it stays slow), so a
 * slow disk stalls the relay at most once per hold-off. Only the loop links
 * entries, so with the thread idle and the queue empty nothing can overtake
 * these lines. */
static bool flush_direct(struct writer *w)
{
	struct entry *e, *next;
	int64_t t0 = mono_ns(), took;
	bool wake = false, idle;

	if (t0 < w->direct_after)
		return false;
	pthread_mutex_lock(&w->mu);
	idle = !w->head && w->waiting && !w->stop;
	pthread_mutex_unlock(&w->mu);
	if (!idle)
		return false;
	e = w->fill_head;
	w->fill_head = w->fill_tail = NULL;
	for (; e; e = next) {
		next = e->next;
		wake |= perform_lines(w, e);
		pthread_mutex_lock(&w->mu);
		w->done_seq = e->seq;
		pthread_mutex_unlock(&w->mu);
		free(e);
	}
	if (wake)
		wake_loop(w);
	took = mono_ns() - t0;
	if (took > WRITER_SLOW_NS) {
		w->hold_ns = w->hold_ns ? w->hold_ns * 2 : WRITER_HOLD_MIN_NS;
		if (w->hold_ns > WRITER_HOLD_MAX_NS)
			w->hold_ns = WRITER_HOLD_MAX_NS;
		w->direct_after = t0 + took + w->hold_ns;
	} else {
		w->hold_ns = 0;
	}
	return true;
}

void writer_flush(struct writer *w)
{
	if (!w->fill_head || flush_direct(w))
		return;
	pthread_mutex_lock(&w->mu);
	link_locked(w, NULL);
	pthread_mutex_unlock(&w->mu);
}

void writer_stop(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	link_locked(w, NULL);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cond);
	free(w);
}

/* Queues e behind the lines filled so far. */
static uint64_t enqueue(struct writer *w, struct entry *e)
{
	uint64_t seq = e->seq = ++w->next_seq;

	e->next = NULL;
	pthread_mutex_lock(&w->mu);
	link_locked(w, e);
	pthread_mutex_unlock(&w->mu);
	return seq;
}

static struct entry *entry_new(enum entry_kind kind, const char *data, size_t len, const char *path)
{
	size_t plen = path ? strlen(path) + 1 : 0;
	struct entry *e = malloc(sizeof(*e) + len + plen);

	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->fd = -1;
	e->len = len;
	if (len)
		memcpy(e->data, data, len);
	if (plen)
		memcpy(e->data + len, path, plen);
	e->path_len = plen;
	return e;
}

uint64_t writer_line_later(struct writer *w, int fd, uint64_t owner, const char *line, size_t len, bool notify)
{
	struct entry *e = w->fill_tail;
	size_t need = rec_size(len);
	struct line_rec *l;
	uint64_t seq;

	if (!e || e->cap - e->len < need) {
		size_t cap = need > WRITER_BLOCK ? need : WRITER_BLOCK;

		e = malloc(sizeof(*e) + cap);
		if (!e)
			return 0;
		memset(e, 0, sizeof(*e));
		e->kind = E_LINES;
		e->fd = -1;
		e->cap = cap;
		if (w->fill_tail)
			w->fill_tail->next = e;
		else
			w->fill_head = e;
		w->fill_tail = e;
	}
	l = (struct line_rec *)(e->data + e->len);
	*l = (struct line_rec){ .owner = owner, .fd = fd, .notify = notify, .len = (uint32_t)len };
	memcpy(l + 1, line, len);
	e->len += need;
	seq = e->seq = ++w->next_seq;
	if (notify)
		writer_flush(w); /* someone waits for it; e is the thread's now */
	return seq;
}

uint64_t writer_line(struct writer *w, int fd, uint64_t owner, const char *line, size_t len, bool notify)
{
	uint64_t seq = writer_line_later(w, fd, owner, line, len, notify);

	writer_flush(w);
	return seq;
}

uint64_t writer_close_fd(struct writer *w, int fd)
{
	struct entry *e = entry_new(E_CLOSE, NULL, 0, NULL);

	if (!e)
		return 0; /* the caller still owns fd */
	e->fd = fd;
	return enqueue(w, e);
}

uint64_t writer_state_put(struct writer *w, const char *path, const char *data, size_t len, uint64_t owner)
{
	struct entry *e = entry_new(E_STATE_PUT, data, len, path);

	if (!e)
		return 0;
	e->owner = owner;
	return enqueue(w, e);
}

uint64_t writer_state_unlink(struct writer *w, const char *path)
{
	struct entry *e = entry_new(E_STATE_UNLINK, NULL, 0, path);

	return e ? enqueue(w, e) : 0;
}

bool writer_congested(struct writer *w)
{
	bool c;

	pthread_mutex_lock(&w->mu);
	if (w->queued > WRITER_HIGH_WATER)
		w->congested = true;
	c = w->congested;
	pthread_mutex_unlock(&w->mu);
	return c;
}

uint64_t writer_done(struct writer *w)
{
	uint64_t d;

	pthread_mutex_lock(&w->mu);
	d = w->done_seq;
	pthread_mutex_unlock(&w->mu);
	return d;
}

bool writer_wake_at(struct writer *w, uint64_t seq)
{
	bool later;

	pthread_mutex_lock(&w->mu);
	later = w->done_seq < seq;
	if (later && (!w->wake_seq || seq < w->wake_seq))
		w->wake_seq = seq;
	pthread_mutex_unlock(&w->mu);
	return later;
}

size_t writer_collect(struct writer *w, struct writer_error *out, size_t max)
{
	uint64_t v;
	size_t n;

	if (read(w->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing signalled since the last collect */
	}
	pthread_mutex_lock(&w->mu);
	n = w->nerrors < max ? w->nerrors : max;
	memcpy(out, w->errors, n * sizeof(*out));
	memmove(w->errors, w->errors + n, (w->nerrors - n) * sizeof(*out));
	w->nerrors -= n;
	pthread_mutex_unlock(&w->mu);
	return n;
}
