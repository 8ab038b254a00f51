/* writer: the disk writer thread and its mutex/condvar queue (see writer.h).
 * Convention: sequence numbers, 0 for "not queued". */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "writer.h"

#define WRITER_ERRORS_MAX 64

enum entry_kind { E_LINE, E_CLOSE, E_STATE_PUT, E_STATE_UNLINK };

struct entry {
	struct entry *next;
	enum entry_kind kind;
	int fd;
	bool notify;
	uint64_t owner;
	uint64_t seq;
	size_t len;      /* of data */
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
	uint64_t next_seq, done_seq;
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

static int perform(struct entry *e)
{
	ssize_t n;

	switch (e->kind) {
	case E_LINE:
		/* One write per line, never retried in pieces: a line shorter
		 * than PIPE_BUF on an O_APPEND fd lands whole or not at all. */
		do
			n = write(e->fd, e->data, e->len);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if ((size_t)n < e->len) {
			/* A full disk took part of the line: cut it off again so
			 * no reader meets a torn line (this thread is the only
			 * writer of the file). */
			struct stat st;

			if (fstat(e->fd, &st) == 0 && st.st_size >= n && ftruncate(e->fd, st.st_size - n) < 0)
				return -errno;
			return -ENOSPC;
		}
		return 0;
	case E_CLOSE:
		close(e->fd);
		return 0;
	case E_STATE_PUT:
		return io_write_atomic(e->data + e->len, e->data, e->len, 0600);
	case E_STATE_UNLINK:
		return unlink(e->data + e->len) < 0 && errno != ENOENT ? -errno : 0;
	}
	return 0;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct entry *e;
		bool wake = false;
		int r;

		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cond, &w->mu);
		e = w->head;
		if (!e)
			break; /* stop and nothing left */
		w->head = e->next;
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&w->mu);

		r = perform(e);

		pthread_mutex_lock(&w->mu);
		w->queued -= e->len;
		w->done_seq = e->seq;
		/* State files are a convenience for a later restart: their
		 * failures are not recording failures. */
		if (r < 0 && e->kind == E_LINE && e->owner) {
			if (w->nerrors < WRITER_ERRORS_MAX)
				w->errors[w->nerrors++] = (struct writer_error){ e->owner, -r };
			wake = true;
		}
		if (e->notify)
			wake = true;
		if (w->congested && w->queued < WRITER_LOW_WATER) {
			w->congested = false;
			wake = true;
		}
		if (wake)
			wake_loop(w);
		free(e);
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

void writer_stop(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cond);
	free(w);
}

static uint64_t enqueue(struct writer *w, struct entry *e)
{
	uint64_t seq;

	pthread_mutex_lock(&w->mu);
	seq = e->seq = ++w->next_seq;
	e->next = NULL;
	if (w->tail)
		w->tail->next = e;
	else
		w->head = e;
	w->tail = e;
	w->queued += e->len;
	pthread_cond_signal(&w->cond);
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

uint64_t writer_line(struct writer *w, int fd, uint64_t owner, const char *line, size_t len, bool notify)
{
	struct entry *e = entry_new(E_LINE, line, len, NULL);

	if (!e)
		return 0;
	e->fd = fd;
	e->owner = owner;
	e->notify = notify;
	return enqueue(w, e);
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
