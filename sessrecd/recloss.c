/* recloss: loss accounting of recordings, and shard files removed or
 * renamed under them (see recloss.h). Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "io.h"
#include "log.h"
#include "recloss.h"
#include "shardtail.h"
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
		if (strcmp(state_str(rec->st->shard), name) != 0 &&
		    state_set(&rec->st->shard, STATE_PATH_MAX, name) == 0)
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
		if (state_set(&rec->st->shard, STATE_PATH_MAX, path) < 0)
			log_line("session %s: out of memory for the name of %s; its state file keeps the old one",
				 rec->st->sid, path);
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
 * output, K of input)"; when part of the count died with a restarted
 * daemon, "at least" says which counts are lower bounds. */
static int format_loss_line(const struct recording *rec, char *line, size_t cap, const struct wlines_loss *lost)
{
	const char *least = rec->pending_at_least ? "at least " : "";
	char text[256];

	snprintf(text, sizeof(text), "write failed (%s); %s%llu bytes lost (%s%llu of output, %s%llu of input)%s",
		 recloss_err_name(rec->loss_err), least, (unsigned long long)lost->bytes,
		 rec->pending_out_at_least ? "at least " : "", (unsigned long long)lost->out, least,
		 (unsigned long long)lost->in,
		 rec->pending_at_least ? "; part of the count died with the recorder restarted during the loss" : "");
	return shard_format_marker(line, cap, rec->st->sid, recline_elapsed(rec), text);
}

static void loss_marker(struct recording *rec, const struct wlines_loss *lost)
{
	char line[SHARD_LINE_MAX];
	int n = format_loss_line(rec, line, sizeof(line), lost);

	if (n > 0)
		recline_put(rec, line, (size_t)n, false);
}

/* A loss marker was written: what it said of lower bounds goes to the
 * counts it joined. */
static void stated(struct recording *rec)
{
	rec->stated_at_least |= rec->pending_at_least || rec->pending_out_at_least;
	rec->pending_at_least = rec->pending_out_at_least = false;
}

/* The header a file without it needed is written (or, at the end, queued):
 * the loss marker and the "shard replaced" marker follow it. */
void recloss_resume_lines(struct recording *rec, enum recorder_loss then)
{
	struct wlines_loss lost = rec->lost_pending;

	rec->lost_pending = (struct wlines_loss){ 0 };
	rec->loss = then;
	if (then == RECORDER_MARKING) {
		rec->lost_marking = lost;
		loss_marker(rec, &lost);
	} else {
		wlines_loss_add(&rec->lost_stated, &lost);
		loss_marker(rec, &lost);
		stated(rec);
	}
	rec->news_lost = lost;
	write_start_note(rec);
	recline_loss_save(rec, true);
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
	recline_loss_save(rec, true);
	recline_hand_over(rec->d);
}

/* ---- a loss across a restart (sessrecd(8), RESTARTS) ---- */

void recloss_restore(struct recording *rec)
{
	const struct state_loss *l = &rec->st->loss;
	bool clean = rec->st->handoff_ns && l->stage != RECORDER_FENCING && l->stage != RECORDER_MARKING;

	rec->loss_err = l->err;
	rec->lost_stated = (struct wlines_loss){ l->stated_bytes, l->stated_out, l->stated_in };
	rec->lost_pending = (struct wlines_loss){ l->pending_bytes, l->pending_out, l->pending_in };
	rec->stated_at_least = l->stated_at_least;
	rec->pending_at_least = l->at_least;
	rec->pending_out_at_least = l->out_at_least;
	rec->loss_off = l->off;
	if (l->stage == RECORDER_OK && !l->pending_bytes)
		return;
	/* The writer's count of a fence (FENCING), or a marker in flight
	 * (MARKING) died with the daemon: its count is restated. */
	rec->loss = RECORDER_DEGRADED;
	if (!clean)
		rec->pending_at_least = rec->pending_out_at_least = true;
	log_line("session %s: resumed during a loss (%s) of %s%llu bytes not yet stated; its marker comes first",
		 rec->st->sid, recloss_err_name(rec->loss_err), rec->pending_at_least ? "at least " : "",
		 (unsigned long long)rec->lost_pending.bytes);
	recline_loss_save(rec, true);
}

/* After a loss that was stated (writing works again): the relay's anchor
 * may predate the hole, so the recording's output ends at the shard's
 * output plus the output stated lost (when that count is exact). */
static uint64_t stated_end(struct recording *rec, uint64_t read)
{
	uint64_t shard_out = 0;
	int fd, e;

	if (!rec->lost_stated.out || rec->stated_at_least)
		return UINT64_MAX;
	fd = open(state_str(rec->st->shard), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return UINT64_MAX;
	e = shardtail_bytes(fd, 0, rec->st->sid, 'o', &shard_out);
	close(fd);
	if (e < 0 || shard_out + rec->lost_stated.out > read)
		return UINT64_MAX;
	return shard_out + rec->lost_stated.out;
}

uint64_t recloss_restore_output(struct recording *rec, uint64_t kept, uint64_t read)
{
	uint64_t shard_out = 0, since_o = 0, since_m = 0, begun, from;
	int fd, e;

	if (!rec->file || rec->removed_bytes || rec->note_due)
		return UINT64_MAX;
	if (rec->loss == RECORDER_OK)
		return stated_end(rec, read);
	if (rec->loss != RECORDER_DEGRADED || !rec->loss_off)
		return UINT64_MAX;
	fd = open(state_str(rec->st->shard), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return UINT64_MAX;
	/* Nothing of the session since the loss began (a marker in flight at
	 * the kill was not written), and its output before. */
	e = shardtail_bytes(fd, rec->loss_off, rec->st->sid, 'o', &since_o);
	if (e == 0)
		e = shardtail_bytes(fd, rec->loss_off, rec->st->sid, 'm', &since_m);
	if (e == 0 && since_o && !since_m)
		e = -EEXIST;
	if (e == 0)
		e = shardtail_bytes(fd, 0, rec->st->sid, 'o', &shard_out);
	close(fd);
	if (e == 0 && since_m) {
		/* A marker was written after the save (its count at least the
		 * saved one): the loss was stated. The shard's output and the
		 * output stated lost tell where the recording stands. */
		wlines_loss_add(&rec->lost_stated, &rec->lost_pending);
		rec->lost_pending = (struct wlines_loss){ 0 };
		rec->stated_at_least = true;
		rec->pending_at_least = rec->pending_out_at_least = false;
		rec->loss = RECORDER_OK;
		recline_loss_save(rec, true);
		log_line("session %s: its loss marker was written after the last save; the loss is stated",
			 rec->st->sid);
		begun = shard_out + rec->lost_stated.out;
		return begun <= read ? begun : UINT64_MAX; /* the ring's bytes since, or "not recorded" */
	}
	begun = shard_out + rec->lost_stated.out;
	if (e < 0 || begun > read || begun + rec->lost_pending.out > read) {
		log_line("session %s: cannot tell where its loss began (%s); its output count stays a lower bound",
			 rec->st->sid,
			 e == -EEXIST ? "lines written since"
			 : e < 0      ? strerror(-e)
				      : "counts disagree");
		return UINT64_MAX;
	}
	/* No line of the session was written since the loss began: the
	 * output from there to the ring's oldest byte is lost, the ring's
	 * bytes are recorded again. */
	from = kept > begun ? kept : begun;
	if (from < begun + rec->lost_pending.out)
		from = begun + rec->lost_pending.out; /* counted lost already: never recorded as well */
	if (from > read)
		from = read;
	rec->lost_pending.out = from - begun; /* the same when it was exact */
	rec->pending_out_at_least = false;
	recline_loss_save(rec, true);
	return from;
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
			log_line("session %s: cannot write its end line to %s: %s", rec->st->sid,
				 state_str(rec->st->shard), strerror(r->err));
		return false;
	}
	switch (r->kind) {
	case WRITER_FAILED:
		if (rec->loss == RECORDER_OK) {
			struct stat sb;

			rec->loss_err = r->err;
			rec->loss_off = fstat(rec->file->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
			log_line("session %s: cannot write %s: %s; lines are counted lost until writing works again",
				 rec->st->sid, state_str(rec->st->shard), strerror(r->err));
			recloss_news(rec, RECORDER_DEGRADED_NEWS);
		} else if (rec->loss == RECORDER_MARKING || rec->loss == RECORDER_PROBING) {
			wlines_loss_add(&rec->lost_pending, &rec->lost_marking);
			rec->lost_marking = (struct wlines_loss){ 0 };
			recline_uncount(rec, rec->resync_len);
		} else {
			return false;
		}
		rec->loss = RECORDER_FENCING;
		recline_loss_save(rec, true);
		if (!recline_fence(rec, false))
			recline_stop(rec, ENOMEM);
		break;
	case WRITER_FENCE:
		if (rec->loss != RECORDER_FENCING)
			return false;
		recline_uncount(rec, r->lost.bytes);
		wlines_loss_add(&rec->lost_pending, &r->lost);
		rec->loss = RECORDER_DEGRADED;
		recline_loss_save(rec, true);
		return rec->finish_reason != NULL;
	case WRITER_RESUMED:
		if (rec->loss == RECORDER_PROBING) {
			recloss_resume_lines(rec, RECORDER_OK);
		} else if (rec->loss == RECORDER_MARKING) {
			wlines_loss_add(&rec->lost_stated, &rec->lost_marking);
			rec->news_lost = rec->lost_marking;
			rec->lost_marking = (struct wlines_loss){ 0 };
			rec->loss = RECORDER_OK;
			stated(rec);
			recline_loss_save(rec, true);
		} else {
			return false;
		}
		recline_hand_over(rec->d);
		log_line("session %s: writing %s works again; %llu bytes were lost", rec->st->sid,
			 state_str(rec->st->shard), (unsigned long long)rec->news_lost.bytes);
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
