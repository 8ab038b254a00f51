/* recorder: the lines of one session's recording, from the header to the
 * end line (see recorder.h). Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "chainseed.h"
#include "daemon.h"
#include "escrow.h"
#include "io.h"
#include "log.h"
#include "monoclock.h"
#include "recorder.h"
#include "state.h"
#include "writer.h"

void recorder_init(struct recording *rec, struct daemon *d, struct session_state *st, struct state_sync *sync,
		   uint64_t owner)
{
	memset(rec, 0, sizeof(*rec));
	rec->d = d;
	rec->st = st;
	rec->sync = sync;
	rec->owner = owner;
}

static void truncate_now(struct recording *rec)
{
	char line[SHARD_LINE_MAX];
	int n;

	rec->st->truncated = true;
	rec->sync->urgent = true;
	n = shard_format_trunc(line, sizeof(line), rec->st->sid);
	if (n > 0)
		recline_put(rec, line, (size_t)n, false);
	recloss_news(rec, RECORDER_TRUNCATED); /* session_truncated, at once */
}

/* An event line. The cap (SessionMaxBytes=) counts the shard bytes of
 * output lines only (and command lines: recorder_command): the first
 * output line that would cross it turns into
 * the trunc line, and from then on output is dropped while input, resizes
 * and markers are still recorded (sessrec-shards(5)), so what the user
 * types after the cap is never hidden. */
static int put_event(struct recording *rec, const char *line, size_t len, bool output)
{
	struct session_state *st = rec->st;

	if (!rec->file || st->failed || (output && st->truncated))
		return -ECANCELED;
	if (output) {
		if (st->out_recorded + len > st->cap) {
			truncate_now(rec);
			return -ECANCELED;
		}
		st->out_recorded += len;
	}
	return recline_put(rec, line, len, false) ? 0 : -ENOMEM;
}

static int out_sink(void *userdata, const char *line, size_t len)
{
	return put_event(userdata, line, len, true);
}

static int in_sink(void *userdata, const char *line, size_t len)
{
	return put_event(userdata, line, len, false);
}

/* Whether lines still go to the shard (output also needs to be under the
 * cap: put_event). */
static bool recording(const struct recording *rec)
{
	return rec->file && !rec->st->failed;
}

int recorder_begin(struct recording *rec)
{
	char path[PATH_MAX], line[SHARD_LINE_MAX];
	struct shard_file *f;
	int n, r;

	if ((r = shard_path(path, sizeof(path), rec->d->cfg.shard_dir, rec->st->start_sec)) < 0)
		return r;
	if (!(f = recloss_open(rec->d, path)))
		return -errno;
	recline_attach(rec, f);
	if ((r = state_set(&rec->st->shard, STATE_PATH_MAX, path)) < 0) {
		recline_release(rec);
		return r;
	}
	n = recline_header(rec, line, sizeof(line));
	if (n < 0) {
		recline_release(rec);
		return n;
	}
	recline_put(rec, line, (size_t)n, false);
	recline_hand_over(rec->d);
	return 0;
}

void recorder_output(struct recording *rec, const uint8_t *p, size_t n)
{
	if (recording(rec) && !rec->st->truncated) {
		(void)shard_encode_event(&rec->carry_o, rec->st->sid, recline_elapsed(rec), 'o', p, n, out_sink, rec);
		recline_hand_over(rec->d);
	}
}

void recorder_stderr(struct recording *rec, const uint8_t *p, size_t n)
{
	if (recording(rec) && !rec->st->truncated) {
		(void)shard_encode_event(&rec->carry_e, rec->st->sid, recline_elapsed(rec), 'e', p, n, out_sink, rec);
		recline_hand_over(rec->d);
	}
}

int recorder_command(struct recording *rec, const char *line, size_t len)
{
	int r = put_event(rec, line, len, true);

	recline_hand_over(rec->d);
	return r;
}

void recorder_flush_withheld(struct recording *rec)
{
	char text[96];

	if (!rec->withheld_pending)
		return;
	escrow_flush(rec); /* the sealed line goes just before its marker */
	snprintf(text, sizeof(text), "input withheld: %llu bytes (echo off)",
		 (unsigned long long)rec->withheld_pending);
	rec->withheld_pending = 0;
	rec->st->withheld_lines++; /* the end line's and session_recorded's count (sessrecd(8)) */
	rec->sync->dirty = true;
	recorder_marker(rec, text);
}

void recorder_input(struct recording *rec, const uint8_t *p, size_t n, bool secret)
{
	if (!rec->st->input)
		return;
	if (secret) {
		rec->withheld_pending += n;
		rec->st->withheld += n;
		rec->sync->dirty = true;
		escrow_add(rec, p, n);
		/* One marker per withheld line: Enter ends what was typed. */
		if (memchr(p, '\r', n) || memchr(p, '\n', n))
			recorder_flush_withheld(rec);
		return;
	}
	recorder_flush_withheld(rec);
	if (recording(rec)) {
		(void)shard_encode_event(&rec->carry_i, rec->st->sid, recline_elapsed(rec), 'i', p, n, in_sink, rec);
		recline_hand_over(rec->d);
	}
}

void recorder_resize(struct recording *rec, unsigned cols, unsigned rows)
{
	char line[SHARD_LINE_MAX];
	int n;

	if (!recording(rec))
		return;
	n = shard_format_resize(line, sizeof(line), rec->st->sid, recline_elapsed(rec), cols, rows);
	if (n > 0)
		put_event(rec, line, (size_t)n, false);
	recline_hand_over(rec->d);
}

void recorder_marker(struct recording *rec, const char *text)
{
	char line[SHARD_LINE_MAX];
	int n;

	if (!recording(rec))
		return;
	n = shard_format_marker(line, sizeof(line), rec->st->sid, recline_elapsed(rec), text);
	if (n > 0)
		put_event(rec, line, (size_t)n, false);
	recline_hand_over(rec->d);
}

/* The end line, behind the loss marker when lines were lost: if the marker
 * cannot be written, neither is the end line, so an end line on disk has
 * exact counters. */
static void finish_now(struct recording *rec, const char *reason)
{
	struct session_state *st = rec->st;
	char line[SHARD_LINE_MAX], end[64];
	struct timeval now;
	struct shard_end e;
	struct wlines_loss lost;
	int n;

	if (rec->loss == RECORDER_DEGRADED)
		recloss_resync(rec);
	if (rec->loss == RECORDER_PROBING)
		recloss_resume_lines(rec, RECORDER_MARKING);
	gettimeofday(&now, NULL);
	if (shard_rfc3339(end, sizeof(end), now.tv_sec, now.tv_usec) < 0)
		end[0] = '\0';
	lost = recloss_lost(rec);
	e = (struct shard_end){
		.duration = recline_elapsed(rec),
		.bytes_out = st->bytes_out,
		.bytes_in = st->bytes_in,
		.bytes_recorded = st->bytes_recorded,
		.withheld = st->withheld,
		.withheld_lines = st->withheld_lines,
		.resizes = st->resizes,
		.truncated = st->truncated || st->failed,
		.lost_bytes = lost.bytes,
		.lost_output = lost.out,
		.lost_input = lost.in,
		.removed_bytes = rec->removed_bytes,
		.write_error = rec->loss_err ? recloss_err_name(rec->loss_err) : NULL,
		.lost_at_least = rec->stated_at_least || rec->pending_at_least || rec->pending_out_at_least,
		.reason = reason,
		.end = end[0] ? end : NULL,
	};
	n = shard_format_end(line, sizeof(line), st->sid, &e);
	if (n > 0)
		rec->end_seq = recline_put(rec, line, (size_t)n, true);
	if (rec->loss != RECORDER_OK)
		(void)recline_fence(rec, true); /* the writer forgets the owner */
	recline_hand_over(rec->d);
	recline_release(rec);
}

int recorder_finish(struct recording *rec, const char *reason)
{
	struct session_state *st = rec->st;
	double t = recline_elapsed(rec);

	rec->end_seq = 0;
	if (!rec->file)
		return 0;
	if (recording(rec)) {
		if (!st->truncated)
			(void)shard_encode_flush(&rec->carry_o, st->sid, t, 'o', out_sink, rec);
		if (!st->truncated)
			(void)shard_encode_flush(&rec->carry_e, st->sid, t, 'e', out_sink, rec);
		(void)shard_encode_flush(&rec->carry_i, st->sid, t, 'i', in_sink, rec);
	}
	recorder_flush_withheld(rec);
	if (rec->loss == RECORDER_FENCING && !st->failed) {
		/* The writer's count of what it dropped comes first. */
		rec->finish_reason = reason;
		rec->end_seq = UINT64_MAX;
		return -EINPROGRESS;
	}
	finish_now(rec, reason);
	return 0;
}

void recorder_release(struct recording *rec)
{
	escrow_drop(rec);
	recline_release(rec);
}

void recorder_close_all(struct daemon *d)
{
	shardfile_close_all(d);
}

double recorder_elapsed(const struct recording *rec)
{
	return recline_elapsed(rec);
}

void recorder_write_failed(struct recording *rec, int err)
{
	recline_stop(rec, err);
}

void recorder_writer_report(struct recording *rec, const struct writer_error *r)
{
	if (recloss_report(rec, r)) {
		const char *why = rec->finish_reason;

		rec->finish_reason = NULL;
		finish_now(rec, why);
		recloss_news(rec, RECORDER_FINISHED);
	}
}

/* A crash can cut a line short (SIGKILL between the pages of one write):
 * what follows the last newline is no line and is cut off, so readers and
 * the lines to come stay whole. Only at resume, when no one else writes. */
static void repair_tail(int fd, const char *path)
{
	char buf[SHARD_LINE_MAX];
	struct stat st;
	off_t start;
	ssize_t n;

	if (fstat(fd, &st) < 0 || st.st_size == 0)
		return;
	start = st.st_size > (off_t)sizeof(buf) ? st.st_size - (off_t)sizeof(buf) : 0;
	n = pread(fd, buf, (size_t)(st.st_size - start), start);
	if (n <= 0 || buf[n - 1] == '\n')
		return;
	while (n > 0 && buf[n - 1] != '\n')
		n--;
	if (ftruncate(fd, start + n) == 0)
		log_line("%s: cut off a torn last line of %lld bytes left by a crash", path,
			 (long long)(st.st_size - start - n));
}

/* A shard by full path: ".jsonl", or a rotated ".jsonl.N" a session kept
 * writing after a rename (sessrec-shards(5)). */
static bool shard_name_ok(const char *path)
{
	const char *ext = strstr(path, ".jsonl");

	if (path[0] != '/' || !ext || ext == path + 1)
		return false;
	ext += 6;
	if (*ext == '\0')
		return true;
	if (*ext++ != '.' || !*ext)
		return false;
	return strspn(ext, "0123456789") == strlen(ext);
}

/* The session's hash chain goes on from what its shard holds (chainseed.h),
 * queued before any line of this daemon for it. */
static void resume_chain(struct recording *rec)
{
	struct daemon *d = rec->d;
	struct chainseed_cache one = { 0 };
	struct chain_state cs;
	int fd, r;

	if (!d->writer || !d->chain || rec->file->created)
		return;
	if (!d->seed)
		d->seed = calloc(1, sizeof(*d->seed)); /* NULL: read for this session alone */
	fd = open(state_str(rec->st->shard), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	r = fd < 0 ? -errno : chainseed_scan(d->seed ? d->seed : &one, fd, rec->st->sid, &cs);
	chainseed_drop(&one);
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		log_line("session %s: cannot find where its hash chain stands in %s: %s; it starts again", rec->st->sid,
			 state_str(rec->st->shard), strerror(-r));
		return;
	}
	(void)writer_chain_seed(rec->d->writer, rec->owner, &cs);
}

int recorder_resume(struct recording *rec, const struct state_pending *p)
{
	struct session_state *st = rec->st;
	struct shard_file *f;
	int fd;

	/* Written by a daemon as root, still checked. */
	if (!shard_name_ok(state_str(st->shard)))
		return -EINVAL;
	if (!(f = recloss_open(rec->d, state_str(st->shard))))
		return -errno;
	recline_attach(rec, f);
	if (f->created) {
		/* The file went while no daemon ran: this one describes the
		 * session again. */
		recloss_replaced(rec, st->bytes_recorded, true);
	} else {
		rec->file_bytes = st->bytes_recorded; /* in this file, as far as anyone knows */
	}
	recloss_restore(rec);
	if (f->refs == 1) {
		/* O_APPEND is write-only here: a descriptor that may read. */
		fd = open(state_str(st->shard), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		if (fd >= 0) {
			repair_tail(fd, state_str(st->shard));
			close(fd);
		}
	}
	resume_chain(rec);
	if (p) {
		memcpy(rec->carry_o.buf, p->carry_o, p->carry_o_len);
		rec->carry_o.len = (uint8_t)p->carry_o_len;
		memcpy(rec->carry_i.buf, p->carry_i, p->carry_i_len);
		rec->carry_i.len = (uint8_t)p->carry_i_len;
	}
	return 0;
}

void recorder_pending(const struct recording *rec, struct state_pending *p)
{
	p->carry_o_len = rec->carry_o.len <= sizeof(p->carry_o) ? rec->carry_o.len : 0;
	memcpy(p->carry_o, rec->carry_o.buf, p->carry_o_len);
	p->carry_i_len = rec->carry_i.len <= sizeof(p->carry_i) ? rec->carry_i.len : 0;
	memcpy(p->carry_i, rec->carry_i.buf, p->carry_i_len);
}
