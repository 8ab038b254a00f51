/* wlines: a block of shard lines performed for the disk writer (see
 * wlines.h). Convention: 0 or -errno; sizes. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shardscan.h"
#include "wlines.h"

#define WLINES_IOV 64 /* lines per writev (IOV_MAX is 1024) */

struct wlines_drop {
	uint64_t owner;
	struct wlines_loss lost; /* dropped since the owner's last fence */
};

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

/* One line for shardscan. */
struct one_line {
	const char *line;
	size_t len;
	bool given;
};

static int one_next(void *ctx, const char **line, size_t *len)
{
	struct one_line *o = ctx;

	if (o->given)
		return 0;
	o->given = true;
	*line = o->line;
	*len = o->len;
	return 1;
}

static void one_corrupt(void *ctx)
{
	(void)ctx; /* the daemon's own line: counted as bytes only */
}

/* Only lost lines are read back (a loss is rare; the lines that are
 * written never are): through the one shard-line reader. */
void wlines_loss_line(struct wlines_loss *lost, const char *line, size_t len)
{
	struct one_line o = { line, len && line[len - 1] == '\n' ? len - 1 : len, false };
	struct shardscan_src src = { one_next, one_corrupt, &o };
	struct shardscan sc;

	lost->bytes += len;
	shardscan_init(&sc, &src);
	sc.quiet = true;
	if (shardscan_next(&sc) == 1 && sc.l.kind == SHARDREAD_EVENT && (sc.l.ch == 'o' || sc.l.ch == 'e' || sc.l.ch == 'i') &&
	    shardscan_take(&sc, SHARDSCAN_BYTES) == 0 && sc.l.kind == SHARDREAD_EVENT) {
		if (sc.l.ch == 'o' || sc.l.ch == 'e') /* stderr is output too */
			lost->out += sc.ndata;
		else if (sc.l.ch == 'i')
			lost->in += sc.ndata;
	}
	shardscan_free(&sc);
}

void wlines_loss_add(struct wlines_loss *a, const struct wlines_loss *b)
{
	a->bytes += b->bytes;
	a->out += b->out;
	a->in += b->in;
}

static uint64_t sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

void wlines_loss_sub(struct wlines_loss *a, const struct wlines_loss *b)
{
	a->bytes = sub(a->bytes, b->bytes);
	a->out = sub(a->out, b->out);
	a->in = sub(a->in, b->in);
}

size_t wlines_size(size_t len)
{
	return (sizeof(struct wline) + len + 7) & ~(size_t)7;
}

/* The owners whose lines are dropped since one of theirs failed, with the
 * bytes dropped since their last fence. Touched only by whoever performs
 * lines (the thread, or the loop while the thread sleeps on an empty
 * queue), never both at once. */
static struct wlines_drop *drop_find(struct wlines *w, uint64_t owner)
{
	if (!owner)
		return NULL;
	for (size_t i = 0; i < w->ndrops; i++)
		if (w->drops[i].owner == owner)
			return &w->drops[i];
	return NULL;
}

/* Owner's lines are dropped from now on. Out of memory, the table cannot
 * grow: the failure is still reported, and the loop stops queuing the
 * owner's lines when it hears of it. */
static struct wlines_drop *drop_start(struct wlines *w, uint64_t owner)
{
	if (!owner)
		return NULL;
	if (w->ndrops == w->capdrops) {
		size_t cap = w->capdrops ? w->capdrops * 2 : 16;
		struct wlines_drop *nd = realloc(w->drops, cap * sizeof(*nd));

		if (!nd)
			return NULL;
		w->drops = nd;
		w->capdrops = cap;
	}
	w->drops[w->ndrops] = (struct wlines_drop){ .owner = owner };
	return &w->drops[w->ndrops++];
}

static void drop_end(struct wlines *w, struct wlines_drop *d)
{
	*d = w->drops[--w->ndrops];
}

/* Line l could not be written (err): l and every later line of its owner
 * are dropped until its resync line. */
static void line_failed(struct wlines *w, const struct wline *l, int err)
{
	struct wlines_drop *d = drop_find(w, l->owner);

	if (!d) {
		d = drop_start(w, l->owner);
		w->report(w->arg, (struct writer_error){ .owner = l->owner, .err = err, .kind = WRITER_FAILED });
	}
	if (d)
		wlines_loss_line(&d->lost, (const char *)(l + 1), l->len);
}

/* One run: consecutive lines for one fd by one writev. An O_APPEND write
 * lands whole and unmixed whatever its size (the inode lock), so a run of
 * whole lines is as safe as one line, at a fraction of the system calls.
 * When the disk takes only part of it, the whole lines it took stay, the
 * torn one is cut off and the rest are written (or dropped) one by one, so
 * each owner hears of its own loss and no later line of a failed owner is
 * written. Returns whether the loop is to be woken. */
static bool perform_run(struct wlines *w, struct wline **run, struct iovec *iov, int niov, size_t total)
{
	size_t done = 0;
	bool wake = false;
	ssize_t n;
	int i = 0;

	do
		n = writev(run[0]->fd, iov, niov);
	while (n < 0 && errno == EINTR);
	if (n >= 0 && (size_t)n == total)
		return false;
	if (n > 0) {
		for (; i < niov && done + run[i]->len <= (size_t)n; i++)
			done += run[i]->len;
		(void)cut_partial(run[0]->fd, (size_t)n - done);
	}
	for (; i < niov; i++) {
		struct wline *l = run[i];
		struct wlines_drop *d = drop_find(w, l->owner);
		int r;

		if (d) {
			wlines_loss_line(&d->lost, (const char *)(l + 1), l->len);
			continue;
		}
		if ((r = write_line(l->fd, (const char *)(l + 1), l->len)) < 0) {
			line_failed(w, l, -r);
			wake |= l->owner != 0;
		}
	}
	return wake;
}

/* A resync line: written, its owner's lines are written again. */
static void perform_resync(struct wlines *w, const struct wline *l)
{
	struct wlines_drop *d = drop_find(w, l->owner);
	int r = write_line(l->fd, (const char *)(l + 1), l->len);

	if (r == 0) {
		if (d)
			drop_end(w, d);
		w->report(w->arg, (struct writer_error){ .owner = l->owner, .kind = WRITER_RESUMED });
		return;
	}
	if (!d)
		(void)drop_start(w, l->owner);
	w->report(w->arg, (struct writer_error){ .owner = l->owner, .err = -r, .kind = WRITER_FAILED });
}

/* The lines of a block, in runs (see perform_run); lines of owners being
 * dropped are counted, not written. Returns whether the loop is to be
 * woken. */
bool wlines_perform(struct wlines *w, char *data, size_t len)
{
	struct iovec iov[WLINES_IOV];
	struct wline *run[WLINES_IOV];
	bool wake = false;

	for (size_t off = 0; off < len;) {
		size_t total = 0;
		int niov = 0;

		while (off < len && niov < WLINES_IOV) {
			struct wline *l = (struct wline *)(data + off);
			struct wlines_drop *d;

			if ((l->flags & WLINE_RESYNC) || (niov && l->fd != run[0]->fd))
				break;
			wake |= (l->flags & WLINE_NOTIFY) != 0;
			off += wlines_size(l->len);
			if ((d = drop_find(w, l->owner))) {
				wlines_loss_line(&d->lost, (const char *)(l + 1), l->len);
				continue;
			}
			run[niov] = l;
			iov[niov++] = (struct iovec){ l + 1, l->len };
			total += l->len;
		}
		if (niov)
			wake |= perform_run(w, run, iov, niov, total);
		if (off < len && niov < WLINES_IOV) {
			struct wline *l = (struct wline *)(data + off);

			if (l->flags & WLINE_RESYNC) {
				perform_resync(w, l);
				wake = true;
				off += wlines_size(l->len);
			}
		}
	}
	return wake;
}

struct wlines_loss wlines_fence(struct wlines *w, uint64_t owner, bool forget)
{
	struct wlines_drop *d = drop_find(w, owner);
	struct wlines_loss lost = { 0 };

	if (d) {
		lost = d->lost;
		d->lost = (struct wlines_loss){ 0 };
		if (forget)
			drop_end(w, d);
	}
	return lost;
}

void wlines_free(struct wlines *w)
{
	free(w->drops);
	w->drops = NULL;
	w->ndrops = w->capdrops = 0;
}
