/* store: finding shard files in the shard directories; warnings and the
 * progress line of long scans. Convention: 0 or an exit status after one
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

#include "monoclock.h"
#include "shardread.h"
#include "store.h"

#define PROGRESS_DELAY_MS 300
#define PROGRESS_EVERY_MS 100

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
	va_start(ap, fmt);
	ctl_verr(fmt, ap);
	va_end(ap);
}

void store_progress(struct store *st, size_t index, uint64_t at)
{
	if (!st->progress || mono_ms() - st->started_ms < PROGRESS_DELAY_MS ||
	    (st->progress_shown && mono_ms() - st->drawn_ms < PROGRESS_EVERY_MS))
		return;
	if (at > st->files[index].size)
		at = st->files[index].size;
	at += st->done;
	fprintf(stderr, "\rsessrecctl: scanning %zu/%zu shards (%d%%)\033[K", index + 1, st->nfiles,
		st->total ? (int)(at * 100 / st->total) : 100);
	fflush(stderr);
	st->progress_shown = true;
	st->drawn_ms = mono_ms();
}

/* Where a file sits in its chain, oldest first: logrotate's dateext names
 * by date (they sort as strings of digits of one length), then numbered
 * siblings from the highest number down (.2.gz is older than .1), then
 * the day shard itself, which the daemon writes. */
enum { ROT_DATE, ROT_NUM, ROT_BASE };

/* Digits of s up to a stop: their count (at most max), 0 if none or more. */
static size_t digits(const char *s, size_t max)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n <= max ? n : 0;
}

int store_shard_name(const char *name, int64_t *day, bool *gz, int *rot, uint64_t *seq)
{
	struct tm tm = { 0 };
	int y, m, d, n = 0;
	const char *rest;
	size_t k;

	if (sscanf(name, "sessions-%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 19)
		return -1;
	rest = name + n;
	if (strncmp(rest, ".jsonl", 6) != 0)
		return -1;
	rest += 6;
	*rot = ROT_BASE;
	*seq = 0;
	if (rest[0] == '.' && (k = digits(rest + 1, 9)) > 0 && rest[1] != '0') {
		/* logrotate's default: .1, .2.gz, ... */
		*rot = ROT_NUM;
		*seq = UINT64_MAX - strtoull(rest + 1, NULL, 10);
		rest += 1 + k;
	} else if (rest[0] == '-' && (k = digits(rest + 1, 14)) >= 8) {
		/* dateext: -YYYYMMDD, or a dateformat of 8 to 14 digits */
		*rot = ROT_DATE;
		*seq = strtoull(rest + 1, NULL, 10);
		rest += 1 + k;
	}
	if (rest[0] == 0)
		*gz = false;
	else if (strcmp(rest, ".gz") == 0)
		*gz = true;
	else
		return -1;
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	*day = (int64_t)timegm(&tm);
	return 0;
}

bool store_same_chain(const struct store *st, size_t a, size_t b)
{
	return a < st->nfiles && b < st->nfiles && st->files[a].chain == st->files[b].chain;
}

static int cmp_file(const void *a, const void *b)
{
	const struct shard_file *x = a, *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->rot != y->rot)
		return x->rot < y->rot ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->gz != y->gz)
		return x->gz ? -1 : 1; /* .1.gz and .1: the compressed one was rotated first */
	return strcmp(x->path, y->path);
}

struct seen {
	dev_t dev;
	ino_t ino;
};

static int add_dir(struct store *st, size_t di, const char *dir, struct seen **seen, size_t *cap)
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
		int64_t day;
		uint64_t seq;
		int rot;

		if (store_shard_name(e->d_name, &day, &gz, &rot, &seq) < 0)
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
		*f = (struct shard_file){ .chain = 0 }; /* chain: set once the files are sorted */
		if (asprintf(&f->path, "%s/%s", dir, e->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		f->day = day;
		f->gz = gz;
		f->dir = di;
		f->rot = rot;
		f->seq = seq;
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
	st->started_ms = mono_ms();
	if ((r = ctl_shard_dirs(ctl)) != 0)
		return r;
	for (size_t i = 0; i < ctl->ndirs; i++) {
		if ((r = add_dir(st, i, ctl->dirs[i], &seen, &cap)) != 0) {
			free(seen);
			store_close(st);
			return r;
		}
	}
	free(seen);
	if (st->nfiles)
		qsort(st->files, st->nfiles, sizeof(*st->files), cmp_file);
	for (size_t i = 1; i < st->nfiles; i++) {
		const struct shard_file *a = &st->files[i - 1], *b = &st->files[i];

		st->files[i].chain = a->chain + (a->day != b->day || a->dir != b->dir);
	}
	return 0;
}

void store_close(struct store *st)
{
	store_progress_clear(st);
	for (size_t i = 0; i < st->nfiles; i++)
		free(st->files[i].path);
	for (int i = 0; i < 3; i++) {
		free(st->pool[i]);
		st->pool[i] = NULL;
	}
	free(st->files);
	st->files = NULL;
	st->nfiles = 0;
}
