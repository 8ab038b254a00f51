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

#include "chain.h"
#include "io.h"
#include "monoclock.h"
#include "wlines.h"
#include "writer.h"

#define WRITER_BLOCK (64 * 1024)               /* line bytes per block, a bigger line gets its own */
#define WRITER_SLOW_NS (2 * 1000000LL)         /* a direct write slower than this... */
#define WRITER_HOLD_MIN_NS (1000 * 1000000LL)  /* ...leaves the disk to the thread this long, */
#define WRITER_HOLD_MAX_NS (60000 * 1000000LL) /* doubling while the disk stays slow */

enum entry_kind { E_LINES, E_CLOSE, E_STATE_PUT, E_STATE_UNLINK, E_FENCE, E_CHAIN_TICK, E_CHAIN_SEED };

struct entry {
	struct entry *next;
	enum entry_kind kind;
	int fd;
	bool notify;
	bool forget; /* E_FENCE: the owner's dropping ends */
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
	struct writer_error *errors;
	size_t nerrors, caperrors;
	struct wlines lines; /* performs E_LINES (the thread, or the loop while it sleeps) */
	int efd;
};

static void wake_loop(struct writer *w)
{
	uint64_t one = 1;

	if (write(w->efd, &one, sizeof(one)) < 0)
		return; /* counter saturated: the loop is being woken anyway */
}

/* Reports grow as needed: a fence or resumption the loop never heard of
 * would leave its loss accounting wrong. Only out of memory is one lost. */
static void report(void *arg, struct writer_error r)
{
	struct writer *w = arg;

	if (!r.owner)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->nerrors == w->caperrors) {
		size_t cap = w->caperrors ? w->caperrors * 2 : 64;
		struct writer_error *ne = realloc(w->errors, cap * sizeof(*ne));

		if (ne) {
			w->errors = ne;
			w->caperrors = cap;
		}
	}
	if (w->nerrors < w->caperrors)
		w->errors[w->nerrors++] = r;
	pthread_mutex_unlock(&w->mu);
}

/* Performs a fence: the owner's dropped bytes are reported. */
static void perform_fence(struct writer *w, struct entry *e)
{
	struct wlines_loss lost = wlines_fence(&w->lines, e->owner, e->forget);

	report(w, (struct writer_error){ .owner = e->owner, .kind = WRITER_FENCE, .lost = lost });
}

static void perform(struct writer *w, struct entry *e)
{
	switch (e->kind) {
	case E_LINES:
	case E_FENCE:
		break;
	case E_CLOSE:
		if (w->lines.chain)
			chain_fd_closed(w->lines.chain, e->fd);
		close(e->fd);
		break;
	case E_CHAIN_TICK:
		(void)wlines_tick(&w->lines);
		break;
	case E_CHAIN_SEED:
		if (w->lines.chain && e->len == sizeof(struct chain_state))
			chain_seed(w->lines.chain, e->owner, (const struct chain_state *)(void *)e->data);
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
				wake = wlines_perform(&w->lines, e->data, e->len);
			} else if (e->kind == E_FENCE) {
				perform_fence(w, e);
				wake = true;
			} else {
				perform(w, e);
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
	w->lines.report = report;
	w->lines.arg = w;
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
		wake |= wlines_perform(&w->lines, e->data, e->len);
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
	free(w->errors);
	wlines_free(&w->lines);
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

static uint64_t queue_line(struct writer *w, int fd, uint64_t owner, const char *line, size_t len, uint8_t flags)
{
	struct entry *e = w->fill_tail;
	size_t need = wlines_size(len);
	struct wline *l;
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
	l = (struct wline *)(e->data + e->len);
	*l = (struct wline){ .owner = owner, .fd = fd, .flags = flags, .len = (uint32_t)len };
	memcpy(l + 1, line, len);
	e->len += need;
	seq = e->seq = ++w->next_seq;
	if (flags)
		writer_flush(w); /* someone waits for it; e is the thread's now */
	return seq;
}

uint64_t writer_line_later(struct writer *w, int fd, uint64_t owner, const char *line, size_t len, bool notify)
{
	return queue_line(w, fd, owner, line, len, notify ? WLINE_NOTIFY : 0);
}

uint64_t writer_resync_line(struct writer *w, int fd, uint64_t owner, const char *line, size_t len)
{
	return queue_line(w, fd, owner, line, len, WLINE_NOTIFY | WLINE_RESYNC);
}

uint64_t writer_fence(struct writer *w, uint64_t owner, bool forget)
{
	struct entry *e = entry_new(E_FENCE, NULL, 0, NULL);

	if (!e)
		return 0;
	e->owner = owner;
	e->forget = forget;
	return enqueue(w, e);
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
	if (n) {
		memcpy(out, w->errors, n * sizeof(*out));
		memmove(w->errors, w->errors + n, (w->nerrors - n) * sizeof(*out));
		w->nerrors -= n;
	}
	pthread_mutex_unlock(&w->mu);
	return n;
}

void writer_set_chain(struct writer *w, struct chain *c)
{
	w->lines.chain = c;
}

uint64_t writer_chain_tick(struct writer *w)
{
	struct entry *e;

	if (!w->lines.chain || !(e = entry_new(E_CHAIN_TICK, NULL, 0, NULL)))
		return 0;
	return enqueue(w, e);
}

uint64_t writer_chain_seed(struct writer *w, uint64_t owner, const struct chain_state *st)
{
	struct entry *e;

	if (!w->lines.chain || !(e = entry_new(E_CHAIN_SEED, (const char *)st, sizeof(*st), NULL)))
		return 0;
	e->owner = owner;
	return enqueue(w, e);
}
