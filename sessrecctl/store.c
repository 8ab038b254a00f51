/* store: finding shard files in the shard directories and reading their
 * lines. Reading is the hot path of every scan: one 4 MiB buffer, memchr for
 * newlines, no copy per line. Convention: 0 or an exit status after one
 * line on stderr, unless stated in store.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shardread.h"
#include "store.h"

#define PROGRESS_DELAY_MS 300
#define PROGRESS_EVERY_MS 100

static long ms_since(const struct timespec *a)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - a->tv_sec) * 1000 + (now.tv_nsec - a->tv_nsec) / 1000000;
}

void store_progress_clear(struct store *st)
{
	if (st->progress_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		st->progress_shown = false;
	}
}

void store_warn(struct store *st, const char *fmt, ...)
{
	va_list ap;

	store_progress_clear(st);
	fflush(stdout);
	fputs("sessrecctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void progress(struct reader *r)
{
	struct store *st = r->st;
	uint64_t at;

	if (!st->progress || ms_since(&st->started) < PROGRESS_DELAY_MS ||
	    (st->progress_shown && ms_since(&st->drawn) < PROGRESS_EVERY_MS))
		return;
	at = r->gz ? (uint64_t)gzoffset(r->gz) : r->off;
	if (at > r->file->size)
		at = r->file->size;
	at += st->done;
	fprintf(stderr, "\rsessrecctl: scanning %zu/%zu shards (%d%%)\033[K", r->index + 1,
		st->nfiles, st->total ? (int)(at * 100 / st->total) : 100);
	fflush(stderr);
	st->progress_shown = true;
	clock_gettime(CLOCK_MONOTONIC, &st->drawn);
}

/* sessions-YYYY-MM-DD.jsonl[.gz] -> the day's start; -1 otherwise. */
static int64_t shard_day(const char *name, bool *gz)
{
	struct tm tm = { 0 };
	int y, m, d, n = 0;
	const char *rest;

	if (sscanf(name, "sessions-%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 19)
		return -1;
	rest = name + n;
	if (strcmp(rest, ".jsonl") == 0)
		*gz = false;
	else if (strcmp(rest, ".jsonl.gz") == 0)
		*gz = true;
	else
		return -1;
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return (int64_t)timegm(&tm);
}

static int cmp_file(const void *a, const void *b)
{
	const struct shard_file *x = a, *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return strcmp(x->path, y->path);
}

struct seen {
	dev_t dev;
	ino_t ino;
};

static int add_dir(struct store *st, const char *dir, struct seen **seen, size_t *cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int r = 0;

	if (!d) {
		ctl_err("%s: %s", dir, strerror(errno));
		return CTL_EXIT_ERROR;
	}
	while ((e = readdir(d)) != NULL) {
		struct shard_file *f;
		struct stat sb;
		bool gz = false, dup = false;
		int64_t day = shard_day(e->d_name, &gz);

		if (day < 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &sb, 0) < 0) {
			ctl_err("%s/%s: %s", dir, e->d_name, strerror(errno));
			st->io_error = true;
			continue;
		}
		if (!S_ISREG(sb.st_mode))
			continue;
		for (size_t i = 0; i < st->nfiles && !dup; i++)
			dup = (*seen)[i].dev == sb.st_dev && (*seen)[i].ino == sb.st_ino;
		if (dup)
			continue;
		if (st->nfiles == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			void *nf = realloc(st->files, ncap * sizeof(*st->files));
			void *ns = nf ? realloc(*seen, ncap * sizeof(**seen)) : NULL;

			if (nf)
				st->files = nf;
			if (!ns) {
				r = -ENOMEM;
				break;
			}
			*seen = ns;
			*cap = ncap;
		}
		f = &st->files[st->nfiles];
		if (asprintf(&f->path, "%s/%s", dir, e->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		f->day = day;
		f->gz = gz;
		f->size = (uint64_t)sb.st_size;
		(*seen)[st->nfiles] = (struct seen){ sb.st_dev, sb.st_ino };
		st->nfiles++;
		st->total += f->size;
	}
	closedir(d);
	if (r < 0) {
		ctl_err("%s: %s", dir, strerror(-r));
		return CTL_EXIT_ERROR;
	}
	return 0;
}

int store_open(struct store *st, struct ctl *ctl)
{
	struct seen *seen = NULL;
	size_t cap = 0;
	int r;

	memset(st, 0, sizeof(*st));
	st->progress = ctl->progress;
	clock_gettime(CLOCK_MONOTONIC, &st->started);
	if ((r = ctl_shard_dirs(ctl)) != 0)
		return r;
	for (size_t i = 0; i < ctl->ndirs; i++) {
		if ((r = add_dir(st, ctl->dirs[i], &seen, &cap)) != 0) {
			free(seen);
			store_close(st);
			return r;
		}
	}
	free(seen);
	if (st->nfiles)
		qsort(st->files, st->nfiles, sizeof(*st->files), cmp_file);
	return 0;
}

void store_close(struct store *st)
{
	store_progress_clear(st);
	for (size_t i = 0; i < st->nfiles; i++)
		free(st->files[i].path);
	free(st->files);
	st->files = NULL;
	st->nfiles = 0;
}

int reader_open(struct reader *r, struct store *st, size_t index, uint64_t off, uint64_t lineno)
{
	const struct shard_file *f = &st->files[index];

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->st = st;
	r->file = f;
	r->index = index;
	r->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		goto fail;
	r->buf = malloc(READER_BUF);
	if (!r->buf) {
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
		posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		if (off && lseek(r->fd, (off_t)off, SEEK_SET) < 0)
			goto fail;
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
	if (r->gz)
		gzclose(r->gz); /* closes fd too */
	else if (r->fd >= 0)
		close(r->fd);
	if (r->buf && r->st)
		r->st->done += r->file->size;
	free(r->buf);
	r->gz = NULL;
	r->fd = -1;
	r->buf = NULL;
}

void reader_corrupt(struct reader *r)
{
	r->st->corrupt++;
	store_warn(r->st, "%s:%llu: corrupt line skipped", r->file->path,
		   (unsigned long long)r->lineno);
}

static ssize_t fill(struct reader *r)
{
	size_t room = READER_BUF - r->end;
	ssize_t n;

	if (r->gz) {
		n = gzread(r->gz, r->buf + r->end, (unsigned)room);
		if (n < 0) {
			int zerr;
			const char *msg = gzerror(r->gz, &zerr);

			/* damaged compressed data: what came before still counts */
			store_warn(r->st, "%s: %s (rest of the file skipped)", r->file->path,
				   zerr == Z_ERRNO ? strerror(errno) : msg);
			if (zerr == Z_ERRNO)
				r->st->io_error = true;
			else
				r->st->corrupt++;
			r->eof = true;
			return -1;
		}
	} else {
		do
			n = read(r->fd, r->buf + r->end, room);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			store_warn(r->st, "%s: %s", r->file->path, strerror(errno));
			r->st->io_error = true;
			r->eof = true;
			return -1;
		}
	}
	r->end += (size_t)n;
	progress(r);
	return n;
}

int reader_next(struct reader *r, const char **line, size_t *len)
{
	for (;;) {
		char *p = r->buf + r->pos;
		size_t avail = r->end - r->pos;
		char *nl = avail ? memchr(p, '\n', avail) : NULL;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - p);

			r->pos += l + 1;
			r->line_off = r->off;
			r->off += l + 1;
			r->lineno++;
			if (r->skipping) {
				r->skipping = false;
				continue;
			}
			*line = p;
			*len = l;
			return 1;
		}
		if (avail >= SHARDREAD_LINE_MAX && !r->skipping) {
			r->lineno++;
			reader_corrupt(r);
			r->lineno--; /* counted when its newline comes */
			r->skipping = true;
		}
		if (r->skipping) {
			r->off += avail;
			r->pos = r->end = 0;
			avail = 0;
		} else if (r->pos) {
			memmove(r->buf, p, avail);
			r->pos = 0;
			r->end = avail;
		}
		n = r->eof ? 0 : fill(r);
		if (n > 0)
			continue;
		if (n < 0)
			return -1;
		if (r->follow)
			return 0; /* a partial line waits for the rest */
		r->eof = true;
		if (avail == 0 || r->skipping)
			return 0;
		/* a last line without its newline: truncated, judged by the caller */
		r->line_off = r->off;
		r->off += avail;
		r->pos = r->end;
		r->lineno++;
		*line = r->buf;
		*len = avail;
		return 1;
	}
}
