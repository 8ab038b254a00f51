/* reader: the one reader of shard files (plain or gzip). Every scan runs
 * through here, so it is built for speed: plain files are read through
 * 4 MiB mmap windows (no copy), gzip files inflated 4 MiB at a time, in
 * both cases by a helper thread one chunk ahead of the caller; memchr finds
 * the newlines; lines are handed out in place (only a line spanning two
 * chunks is copied). Memory: two chunks and one line of carry, whatever the
 * file size. A followed file (play --follow) is read() as it grows.
 * A shard may shrink under the reader (an operator's truncate, logrotate's
 * copytruncate): pages of a window past the new end would fault with
 * SIGBUS. mapguard puts zeros there instead and flags the window; each scan
 * of a window checks the flag and cuts the window to what the file still
 * holds. A file that ends before the size it had when opened was cut too.
 * Either way: "FILE: changed while read (truncated from X to Y bytes)",
 * once, and the scan goes on with what was read. (Reading every chunk
 * instead of mapping it costs a copy: list took 60% longer.)
 * Convention: as declared in reader.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader.h"
#include "shardread.h"

static int src_next(void *ctx, const char **line, size_t *len)
{
	return reader_next(ctx, line, len);
}

static void src_corrupt(void *ctx)
{
	reader_corrupt(ctx);
}

int reader_open(struct reader *r, struct store *st, size_t index, uint64_t off, uint64_t lineno)
{
	const struct shard_file *f = &st->files[index];
	struct stat sb;

	memset(r, 0, sizeof(*r));
	r->guard[0].slot = r->guard[1].slot = -1;
	shardscan_init(&r->scan, &(struct shardscan_src){ src_next, src_corrupt, r });
	r->st = st;
	r->file = f;
	r->index = index;
	r->cur = -1;
	r->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &sb) < 0)
		goto fail;
	/* the size it was listed with counts: a file cut since is cut under the scan */
	r->size0 = (uint64_t)sb.st_size > f->size ? (uint64_t)sb.st_size : f->size;
	if (!st->pool_busy && st->pool[2]) {
		/* fresh pages cost a fault and a clearing each: reuse them */
		r->rbuf[0] = st->pool[0];
		r->rbuf[1] = st->pool[1];
		r->carry = st->pool[2];
		st->pool[0] = st->pool[1] = st->pool[2] = NULL;
		st->pool_busy = r->pooled = true;
	} else if (!(r->carry = malloc(SHARDREAD_LINE_MAX))) {
		errno = ENOMEM;
		goto fail;
	}
	if (f->gz) {
		r->gz = gzdopen(r->fd, "rb");
		if (!r->gz)
			goto fail;
		gzbuffer(r->gz, 256 * 1024);
		if (off && gzseek(r->gz, (z_off_t)off, SEEK_SET) < 0) {
			errno = EIO;
			goto fail;
		}
	} else {
		long page = sysconf(_SC_PAGESIZE);

		posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		if (off && lseek(r->fd, (off_t)off, SEEK_SET) < 0)
			goto fail;
		r->map_next = off - off % (uint64_t)page;
		r->skip = (size_t)(off - r->map_next);
	}
	r->off = off;
	r->lineno = lineno;
	return 0;
fail:
	store_warn(st, "%s: %s", f->path, strerror(errno));
	st->io_error = true;
	reader_close(r);
	return CTL_EXIT_ERROR;
}

void reader_close(struct reader *r)
{
	shardscan_free(&r->scan);
	if (r->th_on)
		pthread_join(r->th, NULL);
	r->th_on = false;
	if (r->gz)
		gzclose(r->gz); /* closes fd too */
	else if (r->fd >= 0)
		close(r->fd);
	if (r->fd >= 0 && r->st)
		r->st->done += r->file->size;
	if (r->st && r->ncorrupt > READER_CORRUPT_SHOWN)
		store_warn(r->st, "%u more corrupt lines in %s", r->ncorrupt - READER_CORRUPT_SHOWN, r->file->path);
	r->ncorrupt = 0;
	for (int i = 0; i < 2; i++) {
		mapguard_del(&r->guard[i]);
		if (r->map_len[i])
			munmap(r->buf[i], r->map_len[i]);
		r->map_len[i] = 0;
		r->buf[i] = NULL;
	}
	if (r->st && (r->pooled || (!r->st->pool_busy && !r->st->pool[2]))) {
		/* back to (or into) the store's pool, for the next reader */
		r->st->pool[0] = r->rbuf[0];
		r->st->pool[1] = r->rbuf[1];
		r->st->pool[2] = r->carry;
		r->st->pool_busy = false;
	} else {
		free(r->rbuf[0]);
		free(r->rbuf[1]);
		free(r->carry);
	}
	r->rbuf[0] = r->rbuf[1] = r->carry = NULL;
	r->pooled = false;
	r->gz = NULL;
	r->fd = -1;
}

static void window_cut(struct reader *r);

void reader_corrupt(struct reader *r)
{
	if (r->cur >= 0 && r->guard[r->cur].faulted) {
		/* the line lost its pages after the scan found its end: it was
		 * cut with the file, which window_cut reports */
		window_cut(r);
		return;
	}
	r->st->corrupt++;
	if (++r->ncorrupt <= READER_CORRUPT_SHOWN)
		store_warn(r->st, "%s:%llu: corrupt line skipped", r->file->path, (unsigned long long)r->lineno);
}

/* A window that could not be guarded, read into slot's buffer instead. */
static ssize_t pread_chunk(struct reader *r, int slot, size_t n, int *err)
{
	size_t got = 0;

	if (!r->rbuf[slot] && !(r->rbuf[slot] = malloc(READER_CHUNK))) {
		*err = ENOMEM;
		return -1;
	}
	r->buf[slot] = r->rbuf[slot];
	while (got < n) {
		ssize_t k = pread(r->fd, r->buf[slot] + got, n - got, (off_t)(r->map_next + got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			*err = errno;
			return -1;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	r->map_next += got;
	return (ssize_t)got;
}

/* The next window of a plain file into slot, replacing the one there. */
static ssize_t map_chunk(struct reader *r, int slot, int *err)
{
	struct stat sb;
	size_t n;
	void *p;

	if (r->changed)
		return 0; /* cut short: see window_cut */
	mapguard_del(&r->guard[slot]);
	if (r->map_len[slot]) {
		munmap(r->buf[slot], r->map_len[slot]);
		r->buf[slot] = NULL;
		r->map_len[slot] = 0;
	}
	if (r->map_next >= r->size) {
		if (fstat(r->fd, &sb) < 0) {
			*err = errno;
			return -1;
		}
		r->size = (uint64_t)sb.st_size;
		if (r->map_next >= r->size)
			return 0;
	}
	n = r->size - r->map_next < READER_CHUNK ? (size_t)(r->size - r->map_next) : READER_CHUNK;
	r->map_off[slot] = r->map_next;
	p = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, r->fd, (off_t)r->map_next);
	if (p == MAP_FAILED) {
		*err = errno;
		return -1;
	}
	if (mapguard_add(&r->guard[slot], p, n) < 0) {
		/* no guard: no mapping either; the chunk is read */
		munmap(p, n);
		return pread_chunk(r, slot, n, err);
	}
	r->buf[slot] = p;
	r->map_len[slot] = n;
	r->map_next += n;
	return (ssize_t)n;
}

/* Fills buf[slot] as far as it goes: a short count means the end of the
 * file. Runs in the helper thread, or in the caller when following. */
static ssize_t read_chunk(struct reader *r, int slot, int *err)
{
	size_t got = 0;

	*err = 0;
	if (r->mapped)
		return map_chunk(r, slot, err);
	if (r->gz)
		return gzread(r->gz, r->buf[slot], READER_CHUNK);
	while (got < READER_CHUNK) {
		ssize_t n = read(r->fd, r->buf[slot] + got, READER_CHUNK - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = errno;
			return got ? (ssize_t)got : -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (r->follow)
			break; /* take what is there now */
	}
	return (ssize_t)got;
}

static void *prefetch(void *arg)
{
	struct reader *r = arg;

	r->th_n = read_chunk(r, r->th_slot, &r->th_errno);
	return NULL;
}

/* "changed while read", once per file (find, then show, may both see it);
 * the scan then counts as not complete. */
static void changed(struct reader *r, uint64_t now)
{
	struct shard_file *f = &r->st->files[r->index];

	if (r->changed)
		return;
	r->changed = true;
	r->st->io_error = true;
	if (f->changed)
		return; /* another reader of the command said it */
	f->changed = true;
	store_warn(r->st, "%s: changed while read (truncated from %llu to %llu bytes)", f->path,
		   (unsigned long long)r->size0, (unsigned long long)now);
}

/* At the end of the data read: did the file shrink under the reader (now
 * smaller than when opened, or than what was read)? Said once. */
static bool shrunk(struct reader *r, uint64_t read_to)
{
	struct stat sb;

	if (r->changed)
		return true;
	if (fstat(r->fd, &sb) < 0)
		return false;
	if ((uint64_t)sb.st_size >= r->size0 && (uint64_t)sb.st_size >= read_to)
		return false;
	changed(r, (uint64_t)sb.st_size);
	return true;
}

/* The current window lost pages (mapguard put zeros there): it ends where
 * the file now ends, and so does the scan. */
static void window_cut(struct reader *r)
{
	int s = r->cur;
	struct stat sb;
	uint64_t now = 0;

	if (r->th_on) {
		pthread_join(r->th, NULL); /* its window is past the end: unused */
		r->th_on = false;
	}
	if (fstat(r->fd, &sb) == 0)
		now = (uint64_t)sb.st_size;
	if (now < r->map_off[s] + r->len[s])
		r->len[s] = now > r->map_off[s] ? (size_t)(now - r->map_off[s]) : 0;
	if (r->pos > r->len[s])
		r->pos = r->len[s];
	r->guard[s].faulted = 0;
	changed(r, now); /* and no window after this one */
}

/* A short gzip chunk: the end of the data, or of a file cut short. zlib
 * returns what it inflated and leaves Z_BUF_ERROR when the input ended
 * before the gzip trailer. */
static void gz_end(struct reader *r)
{
	int zerr;

	gzerror(r->gz, &zerr);
	if (zerr != Z_BUF_ERROR || shrunk(r, 0))
		return;
	store_warn(r->st, "%s: truncated: the gzip data stops before its end (the lines before the cut are read)",
		   r->file->path);
	r->st->corrupt++;
	r->changed = true; /* the cut line is not reported again as corrupt */
}

static void chunk_error(struct reader *r, int err)
{
	if (r->gz) {
		int zerr;
		const char *msg = gzerror(r->gz, &zerr);

		if (shrunk(r, 0))
			return;
		/* damaged compressed data: what came before still counts */
		store_warn(r->st, "%s: %s (rest of the file skipped)", r->file->path,
			   zerr == Z_ERRNO ? strerror(errno) : msg);
		if (zerr == Z_ERRNO)
			r->st->io_error = true;
		else
			r->st->corrupt++;
	} else {
		store_warn(r->st, "%s: %s", r->file->path, strerror(err));
		r->st->io_error = true;
	}
}

/* Makes the next chunk current. Returns its length, 0 at the end of the
 * file, -1 on an error (reported). */
static ssize_t next_chunk(struct reader *r)
{
	int slot = r->cur < 0 ? 0 : r->cur ^ 1, err = 0;
	ssize_t n;

	if (r->cur < 0) {
		r->mapped = !r->gz && !r->follow;
		if (!r->mapped)
			r->skip = 0; /* read() starts where lseek put it */
		for (int i = 0; i < 2 && !r->mapped; i++) {
			if (!r->rbuf[i] && !(r->rbuf[i] = malloc(READER_CHUNK))) {
				store_warn(r->st, "%s", strerror(ENOMEM));
				r->st->io_error = true;
				return -1;
			}
			r->buf[i] = r->rbuf[i];
		}
	}
	if (r->th_on) {
		pthread_join(r->th, NULL);
		r->th_on = false;
		n = r->th_n;
		err = r->th_errno;
	} else {
		n = read_chunk(r, slot, &err);
	}
	if (n < 0) {
		chunk_error(r, err);
		return -1;
	}
	r->cur = slot;
	r->pos = r->skip < (size_t)n ? r->skip : (size_t)n;
	r->skip = 0;
	r->len[slot] = (size_t)n;
	r->in = r->gz ? (uint64_t)gzoffset(r->gz) : r->in + (uint64_t)n;
	store_progress(r->st, r->index, r->in);
	if (n < READER_CHUNK) {
		/* the end, for now: where the file ends? */
		if (r->gz)
			gz_end(r);
		else if (r->mapped)
			shrunk(r, r->map_next);
		else if (n == 0 && r->follow && shrunk(r, (uint64_t)lseek(r->fd, 0, SEEK_CUR)))
			return -1; /* the followed lines are gone: reported */
		else if (!r->follow)
			shrunk(r, (uint64_t)lseek(r->fd, 0, SEEK_CUR));
	}
	/* a short chunk is the end: following reads again later, in the caller */
	r->th_slot = slot ^ 1;
	if (n == READER_CHUNK && !r->follow && pthread_create(&r->th, NULL, prefetch, r) == 0)
		r->th_on = true;
	return n;
}

/* A line ends at p[l] ('\n'), after r->partial bytes that came before. */
static int line_done(struct reader *r, const char *p, size_t l, const char **line, size_t *len)
{
	size_t total = r->partial + l;

	r->line_off = r->off;
	r->off += total + 1;
	r->lineno++;
	r->partial = 0;
	if (r->skipping) {
		r->skipping = false;
		r->ncarry = 0;
		return 0;
	}
	if (r->ncarry) {
		if (l)
			memcpy(r->carry + r->ncarry, p, l);
		*line = r->carry;
		r->ncarry = 0;
	} else {
		*line = p;
	}
	*len = total;
	return 1;
}

/* An overlong line is reported once, at its start, and skipped. */
static void overlong(struct reader *r, size_t more)
{
	if (r->skipping || r->partial + more < SHARDREAD_LINE_MAX)
		return;
	r->lineno++;
	reader_corrupt(r);
	r->lineno--;
	r->skipping = true;
}

int reader_next(struct reader *r, const char **line, size_t *len)
{
	for (;;) {
		ssize_t n;

		if (r->cur >= 0 && r->pos < r->len[r->cur]) {
			char *p = r->buf[r->cur] + r->pos;
			size_t avail = r->len[r->cur] - r->pos;
			char *nl = memchr(p, '\n', avail);

			if (r->guard[r->cur].faulted) {
				window_cut(r); /* the scan touched a page the file lost */
				continue;
			}
			if (nl) {
				size_t l = (size_t)(nl - p);

				r->pos += l + 1;
				overlong(r, l);
				if (line_done(r, p, l, line, len))
					return 1;
				continue;
			}
			/* an unfinished line: keep it until its end comes */
			overlong(r, avail);
			if (!r->skipping) {
				memcpy(r->carry + r->ncarry, p, avail);
				r->ncarry += avail;
			}
			r->partial += avail;
			r->pos += avail;
		}
		n = r->eof ? 0 : next_chunk(r);
		if (n > 0)
			continue;
		if (n < 0) {
			r->eof = true;
			return -1;
		}
		if (r->follow)
			return 0; /* a partial line waits for the rest */
		r->eof = true;
		if (r->partial == 0 || r->skipping || r->changed)
			return 0; /* a line cut by a shrink was reported with it */
		/* a last line without its newline: truncated, judged by the caller */
		r->off--; /* line_done counts a newline that is not there */
		return line_done(r, NULL, 0, line, len);
	}
}
