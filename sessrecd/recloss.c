/* recloss: loss accounting of recordings, and shard files removed or
 * renamed under them (see recloss.h). Convention: 0 or -errno. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "io.h"
#include "log.h"
#include "recloss.h"
#include "state.h"
#include "writer.h"

/* The marker for a removed file, once. While no daemon ran, the count is
 * the last one saved (sessrecd(8), "LOSS ACCOUNTING"). */
static void write_start_note(struct recording *rec)
{
	char text[128];

	if (!rec->note_due)
		return;
	if (rec->note_saved)
		snprintf(text, sizeof(text),
			 "shard replaced while no recorder ran; at least %llu bytes written to the removed file",
			 (unsigned long long)rec->removed_note);
	else
		snprintf(text, sizeof(text), "shard replaced; %llu bytes written to the removed file",
			 (unsigned long long)rec->removed_note);
	recline_marker(rec, text);
	rec->note_due = false;
}

/* The header again in a new file, and the marker for the removed one. */
static void write_start(struct recording *rec)
{
	char line[SHARD_LINE_MAX];
	int n = recline_header(rec, line, sizeof(line));

	if (n > 0)
		recline_put(rec, line, (size_t)n, false);
	write_start_note(rec);
}

void recloss_replaced(struct recording *rec, uint64_t gone, bool saved)
{
	rec->note_saved = saved;
	rec->removed_bytes += gone;
	rec->removed_note = rec->news_bytes = gone;
	rec->note_due = true;
	if (!recline_losing(rec))
		write_start(rec);
	recline_hand_over(rec->d);
	recloss_news(rec, RECORDER_SHARD_LOST);
}

/* A renamed shard keeps its recordings: their state names its new name,
 * so a daemon started later resumes them there. */
static void follow_rename(struct shard_file *f)
{
	char link[64], name[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", f->fd);
	n = readlink(link, name, sizeof(name) - 1);
	if (n <= 0 || (size_t)n >= sizeof(name) - 1)
		return;
	name[n] = '\0';
	for (struct recording *rec = f->recs; rec; rec = rec->file_next) {
		if (strcmp(rec->st->shard, name) != 0 && state_copy(rec->st->shard, sizeof(rec->st->shard), name) == 0)
			rec->sync->urgent = true;
	}
}

/* f was removed under its recordings: each goes on in a new file at the
 * same path (the directory made again), its header first, then a marker
 * saying how many of its bytes went with the removed file. While a loss
 * lasts, both wait for the loss marker (recloss_resync). */
static void replace_file(struct daemon *d, struct shard_file *f)
{
	char path[PATH_MAX];
	struct recording *rec;

	state_copy(path, sizeof(path), f->path);
	f->moved = true;
	log_line("%s was removed while sessions wrote it; they go on in a new file there", path);
	f->refs++; /* f stays while its recordings leave it */
	while ((rec = f->recs)) {
		uint64_t gone = rec->file_bytes;
		struct shard_file *nf;

		recline_release(rec);
		if (!(nf = recloss_open(d, path))) {
			log_line("session %s: cannot re-create %s: %s; recording stopped, the session goes on",
				 rec->st->sid, path, strerror(errno));
			rec->st->failed = true;
			rec->sync->urgent = true;
			rec->removed_bytes += gone;
			rec->news_bytes = gone;
			recloss_news(rec, RECORDER_SHARD_LOST);
			continue;
		}
		recline_attach(rec, nf);
		state_copy(rec->st->shard, sizeof(rec->st->shard), path);
		recloss_replaced(rec, gone, false);
	}
	recline_unref(d, f);
}

/* Is f still the file at its path? Renamed (rotated), its recordings stay
 * in it and new ones open the path anew; removed, it is replaced (true:
 * the list of files changed). */
static bool check_file(struct daemon *d, struct shard_file *f)
{
	switch (shardfile_identity(f)) {
	case SHARDFILE_SAME:
		return false;
	case SHARDFILE_MOVED:
		follow_rename(f);
		if (!f->moved)
			log_line(
				"%s was renamed; the sessions writing it stay in it, new sessions go to a new file there",
				f->path);
		f->moved = true;
		return false;
	case SHARDFILE_REMOVED:
		if (!f->recs) {
			f->moved = true;
			return false;
		}
		replace_file(d, f);
		return true;
	}
	return false;
}

/* The shard at path, after checking that a file open for it is still the
 * one there (a removed one is replaced first); the directory is made
 * (0700) when it is gone. NULL with errno. */
struct shard_file *recloss_open(struct daemon *d, const char *path)
{
	struct shard_file *f = shardfile_find(d, path);
	char dir[PATH_MAX];
	char *slash;
	int r;

	if (f)
		check_file(d, f); /* may replace f, opening path anew */
	if (!shardfile_find(d, path)) {
		/* The shard's own directory: the configured one may have
		 * changed since (a reload, a resumed session). */
		state_copy(dir, sizeof(dir), path);
		if ((slash = strrchr(dir, '/')) && slash != dir)
			*slash = '\0';
		if ((r = io_mkdir_p(dir, 0700)) < 0) {
			errno = -r;
			return NULL;
		}
	}
	return shardfile_get(d, path);
}

struct wlines_loss recloss_lost(const struct recording *rec)
{
	struct wlines_loss all = rec->lost_stated;

	wlines_loss_add(&all, &rec->lost_marking);
	wlines_loss_add(&all, &rec->lost_pending);
	return all;
}

/* ---- loss accounting (docs/architecture.md, "Loss accounting") ---- */

const char *recloss_err_name(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "EIO";
}

/* The loss marker's line: "write failed (ENOSPC); N bytes lost (M of
 * output, K of input)". */
static int format_loss_line(const struct recording *rec, char *line, size_t cap, const struct wlines_loss *lost)
{
	char text[160];

	snprintf(text, sizeof(text), "write failed (%s); %llu bytes lost (%llu of output, %llu of input)",
		 recloss_err_name(rec->loss_err), (unsigned long long)lost->bytes, (unsigned long long)lost->out,
		 (unsigned long long)lost->in);
	return shard_format_marker(line, cap, rec->st->sid, recline_elapsed(rec), text);
}

static void loss_marker(struct recording *rec, const struct wlines_loss *lost)
{
	char line[SHARD_LINE_MAX];
	int n = format_loss_line(rec, line, sizeof(line), lost);

	if (n > 0)
		recline_put(rec, line, (size_t)n, false);
}

/* The header a file without it needed is written (or, at the end, queued):
 * the loss marker and the "shard replaced" marker follow it. */
void recloss_resume_lines(struct recording *rec, enum recorder_loss then)
{
	struct wlines_loss lost = rec->lost_pending;

	rec->lost_pending = (struct wlines_loss){ 0 };
	rec->loss = then;
	if (then == RECORDER_MARKING)
		rec->lost_marking = lost;
	else
		wlines_loss_add(&rec->lost_stated, &lost);
	rec->news_lost = lost;
	loss_marker(rec, &lost);
	write_start_note(rec);
}

/* Tries to end a loss: the first line is a resync line (writer.h), the
 * loss marker, or the header when the file lacks it. */
void recloss_resync(struct recording *rec)
{
	char line[SHARD_LINE_MAX];
	bool header = rec->file_bytes == 0;
	int n;

	if (!rec->file)
		return;
	if (header)
		n = recline_header(rec, line, sizeof(line));
	else
		n = format_loss_line(rec, line, sizeof(line), &rec->lost_pending);
	if (n <= 0 || !recline_resync(rec, line, (size_t)n))
		return;
	recline_count(rec, (size_t)n);
	rec->resync_len = (uint64_t)n;
	if (header) {
		rec->loss = RECORDER_PROBING;
	} else {
		rec->lost_marking = rec->lost_pending;
		rec->lost_pending = (struct wlines_loss){ 0 };
		rec->loss = RECORDER_MARKING;
		write_start_note(rec);
	}
	recline_hand_over(rec->d);
}

void recloss_news(struct recording *rec, enum recorder_news what)
{
	if (rec->report)
		rec->report(rec, what);
}

bool recloss_report(struct recording *rec, const struct writer_error *r)
{
	if (!rec->file) {
		/* Ended: its loss is in its end line, unless that failed too. */
		if (r->kind == WRITER_FAILED && rec->loss == RECORDER_OK)
			log_line("session %s: cannot write its end line to %s: %s", rec->st->sid, rec->st->shard,
				 strerror(r->err));
		return false;
	}
	switch (r->kind) {
	case WRITER_FAILED:
		if (rec->loss == RECORDER_OK) {
			rec->loss_err = r->err;
			log_line("session %s: cannot write %s: %s; lines are counted lost until writing works again",
				 rec->st->sid, rec->st->shard, strerror(r->err));
			recloss_news(rec, RECORDER_DEGRADED_NEWS);
		} else if (rec->loss == RECORDER_MARKING || rec->loss == RECORDER_PROBING) {
			wlines_loss_add(&rec->lost_pending, &rec->lost_marking);
			rec->lost_marking = (struct wlines_loss){ 0 };
			recline_uncount(rec, rec->resync_len);
		} else {
			return false;
		}
		rec->loss = RECORDER_FENCING;
		if (!recline_fence(rec, false))
			recline_stop(rec, ENOMEM);
		break;
	case WRITER_FENCE:
		if (rec->loss != RECORDER_FENCING)
			return false;
		recline_uncount(rec, r->lost.bytes);
		wlines_loss_add(&rec->lost_pending, &r->lost);
		rec->loss = RECORDER_DEGRADED;
		rec->sync->urgent = true;
		return rec->finish_reason != NULL;
	case WRITER_RESUMED:
		if (rec->loss == RECORDER_PROBING) {
			recloss_resume_lines(rec, RECORDER_OK);
		} else if (rec->loss == RECORDER_MARKING) {
			wlines_loss_add(&rec->lost_stated, &rec->lost_marking);
			rec->news_lost = rec->lost_marking;
			rec->lost_marking = (struct wlines_loss){ 0 };
			rec->loss = RECORDER_OK;
		} else {
			return false;
		}
		recline_hand_over(rec->d);
		log_line("session %s: writing %s works again; %llu bytes were lost", rec->st->sid, rec->st->shard,
			 (unsigned long long)rec->news_lost.bytes);
		recloss_news(rec, RECORDER_RESUMED_NEWS);
		break;
	}
	return false;
}

void recloss_tick(struct daemon *d)
{
	struct shard_file *f;

	/* A replacement changes the list: start again (a replaced file has
	 * no recordings left, so this ends). */
	for (f = d->shard_files; f;)
		f = check_file(d, f) ? d->shard_files : f->next;
	for (f = d->shard_files; f; f = f->next)
		for (struct recording *rec = f->recs; rec; rec = rec->file_next)
			if (rec->loss == RECORDER_DEGRADED)
				recloss_resync(rec);
}
