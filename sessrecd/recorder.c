/* recorder: shard lines of one session and the shared shard files (see
 * recorder.h). Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "daemon.h"
#include "io.h"
#include "log.h"
#include "monoclock.h"
#include "recorder.h"
#include "state.h"
#include "writer.h"

/* Where the lines go: d->sink when set (tests), else the disk writer. */
static uint64_t sink_line(struct daemon *d, int fd, uint64_t owner, const char *line, size_t len, bool notify)
{
	if (d->sink)
		return d->sink->line(d->sink, fd, owner, line, len, notify);
	return writer_line_later(d->writer, fd, owner, line, len, notify);
}

/* A resync line (writer.h); with the in-memory sink, a line. */
static uint64_t sink_resync(struct daemon *d, int fd, uint64_t owner, const char *line, size_t len)
{
	if (d->sink)
		return d->sink->line(d->sink, fd, owner, line, len, true);
	return writer_resync_line(d->writer, fd, owner, line, len);
}

/* A fence (writer.h); the in-memory sink has nothing to count (tests
 * report the writer's count themselves). */
static uint64_t sink_fence(struct daemon *d, uint64_t owner, bool forget)
{
	if (d->sink)
		return 1;
	return d->writer ? writer_fence(d->writer, owner, forget) : 0;
}

/* The lines queued by one recorder call go out together. */
static void hand_over(struct daemon *d)
{
	if (d->sink)
		d->sink->flush(d->sink);
	else if (d->writer)
		writer_flush(d->writer);
}

/* Closes fd behind the lines queued for it (at once when the writer is
 * gone: it wrote everything); 0 when that could not be queued. */
static uint64_t sink_close(struct daemon *d, int fd)
{
	if (d->sink)
		return d->sink->close_fd(d->sink, fd);
	if (d->writer)
		return writer_close_fd(d->writer, fd);
	close(fd);
	return 1;
}

void recorder_init(struct recording *rec, struct daemon *d, struct session_state *st, struct state_sync *sync,
		   uint64_t owner)
{
	memset(rec, 0, sizeof(*rec));
	rec->d = d;
	rec->st = st;
	rec->sync = sync;
	rec->owner = owner;
}

void recorder_release(struct recording *rec)
{
	struct daemon *d = rec->d;
	struct shard_file *f = rec->file;

	rec->file = NULL;
	if (!f)
		return;
	for (struct recording **pp = &f->recs; *pp; pp = &(*pp)->file_next) {
		if (*pp == rec) {
			*pp = rec->file_next;
			break;
		}
	}
	rec->file_next = NULL;
	if (--f->refs > 0)
		return;
	/* The close waits behind the lines already queued for the fd; at
	 * shutdown the writer has written everything already. */
	if (!sink_close(d, f->fd)) {
		f->refs = 0; /* out of memory: kept open for the next session of that day */
		return;
	}
	shardfile_forget(d, f);
}

void recorder_close_all(struct daemon *d)
{
	shardfile_close_all(d);
}

/* rec writes f from now on. */
static void attach_file(struct recording *rec, struct shard_file *f)
{
	rec->file = f;
	rec->file_next = f->recs;
	f->recs = rec;
	rec->file_bytes = 0;
}

double recorder_elapsed(const struct recording *rec)
{
	int64_t ns = (rec->stop_ns ? rec->stop_ns : mono_ns()) - rec->st->start_mono_ns;

	return ns <= 0 ? 0.0 : (double)ns / 1e9;
}

/* Whether lines are counted lost instead of queued (see enum recorder_loss). */
static bool losing(const struct recording *rec)
{
	return rec->loss == RECORDER_FENCING || rec->loss == RECORDER_DEGRADED || rec->loss == RECORDER_PROBING;
}

static void counted(struct recording *rec, size_t len)
{
	rec->st->bytes_recorded += len;
	rec->file_bytes += len;
	rec->sync->dirty = true;
}

/* Queues one line whatever the cap (header, trunc, end); while a loss
 * lasts, counts it lost instead (seq 1: nothing to wait for). */
static uint64_t put_line(struct recording *rec, const char *line, size_t len, bool notify)
{
	uint64_t seq;

	if (!rec->file)
		return 0;
	if (losing(rec)) {
		rec->lost_pending += len;
		return 1;
	}
	seq = sink_line(rec->d, rec->file->fd, rec->owner, line, len, notify);
	if (!seq) {
		recorder_write_failed(rec, ENOMEM);
		return 0;
	}
	counted(rec, len);
	return seq;
}

static void truncate_now(struct recording *rec)
{
	char line[SHARD_LINE_MAX];
	int n;

	rec->st->truncated = true;
	rec->sync->urgent = true;
	n = shard_format_trunc(line, sizeof(line), rec->st->sid);
	if (n > 0)
		put_line(rec, line, (size_t)n, false);
}

/* An event line, under the cap: the first line that would cross it turns
 * into the trunc line and nothing but the end follows. */
static int put_event(struct recording *rec, const char *line, size_t len)
{
	if (!rec->file || rec->st->truncated || rec->st->failed)
		return -ECANCELED;
	if (rec->st->bytes_recorded + len > rec->st->cap) {
		truncate_now(rec);
		return -ECANCELED;
	}
	return put_line(rec, line, len, false) ? 0 : -ENOMEM;
}

static int line_sink(void *userdata, const char *line, size_t len)
{
	struct recording *rec = userdata;

	return put_event(rec, line, len);
}

static bool recording(const struct recording *rec)
{
	return rec->file && !rec->st->truncated && !rec->st->failed;
}

/* The session's header line (the same in every file the session writes:
 * a shard file describes itself). Its length or -errno. */
static int format_header(const struct recording *rec, char *line, size_t cap)
{
	const struct session_state *st = rec->st;
	char start[64], host[256];
	struct shard_header h = { 0 };

	if (rec->d->cfg.hostname[0])
		snprintf(host, sizeof(host), "%s", rec->d->cfg.hostname);
	else if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (shard_rfc3339(start, sizeof(start), st->start_sec, st->start_usec) < 0)
		start[0] = '\0';
	h.width = st->cols ? st->cols : 80;
	h.height = st->rows ? st->rows : 24;
	h.timestamp = st->start_sec;
	h.shell = st->shell[0] ? st->shell : NULL;
	h.term = st->term[0] ? st->term : NULL;
	h.meta = (struct shard_meta){
		.user = st->user,
		.uid = (long)st->uid,
		.service = st->service[0] ? st->service : NULL,
		.proto = st->proto[0] ? st->proto : NULL,
		.src_ip = st->src_ip[0] ? st->src_ip : NULL,
		.src_port = st->src_port,
		.tty = st->tty[0] ? st->tty : NULL,
		.host = host[0] ? host : NULL,
		.auth = st->auth[0] ? st->auth : NULL,
		.start = start[0] ? start : NULL,
		.cmd = st->cmd[0] ? st->cmd : NULL,
		.pid = (long)st->pid,
		.audit_session = (long)st->audit_session,
		.input = st->input,
	};
	return shard_format_header(line, cap, st->sid, &h);
}

static void put_marker(struct recording *rec, const char *text)
{
	char line[SHARD_LINE_MAX];
	int n = shard_format_marker(line, sizeof(line), rec->st->sid, recorder_elapsed(rec), text);

	if (n > 0)
		put_line(rec, line, (size_t)n, false);
}

/* The marker for a removed file, once. */
static void write_start_note(struct recording *rec)
{
	char text[96];

	if (rec->note_due) {
		snprintf(text, sizeof(text), "shard replaced; %llu bytes written to the removed file",
			 (unsigned long long)rec->removed_note);
		put_marker(rec, text);
		rec->note_due = false;
	}
}

/* The header again in a new file, and the marker for the removed one. */
static void write_start(struct recording *rec)
{
	char line[SHARD_LINE_MAX];
	int n = format_header(rec, line, sizeof(line));

	if (n > 0)
		put_line(rec, line, (size_t)n, false);
	write_start_note(rec);
}

static struct shard_file *shard_open(struct daemon *d, const char *path);

/* f was removed under its recordings: each goes on in a new file at the
 * same path (the directory made again), its header first, then a marker
 * saying how many of its bytes went with the removed file. While a loss
 * lasts, both wait for the loss marker (try_resync). */
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

		recorder_release(rec);
		rec->removed_bytes += gone;
		rec->removed_note = rec->news_bytes = gone;
		rec->note_due = true;
		if (!(nf = shard_open(d, path))) {
			log_line("session %s: cannot re-create %s: %s; recording stopped, the session goes on",
				 rec->st->sid, path, strerror(errno));
			rec->st->failed = true;
			rec->sync->urgent = true;
		} else {
			attach_file(rec, nf);
			if (!losing(rec))
				write_start(rec);
			hand_over(d);
		}
		if (rec->report)
			rec->report(rec, RECORDER_SHARD_LOST);
	}
	if (--f->refs == 0 && sink_close(d, f->fd))
		shardfile_forget(d, f);
}

/* Is f still the file at its path? Renamed (rotated), its recordings stay
 * in it and new ones open the path anew; removed, it is replaced. */
static void check_file(struct daemon *d, struct shard_file *f)
{
	switch (shardfile_identity(f)) {
	case SHARDFILE_SAME:
		return;
	case SHARDFILE_MOVED:
		if (!f->moved)
			log_line(
				"%s was renamed; the sessions writing it stay in it, new sessions go to a new file there",
				f->path);
		f->moved = true;
		return;
	case SHARDFILE_REMOVED:
		if (f->recs)
			replace_file(d, f);
		else
			f->moved = true;
		return;
	}
}

/* The shard at path, after checking that a file open for it is still the
 * one there (a removed one is replaced first); the directory is made
 * (0700) when it is gone. NULL with errno. */
static struct shard_file *shard_open(struct daemon *d, const char *path)
{
	struct shard_file *f = shardfile_find(d, path);
	int r;

	if (f)
		check_file(d, f); /* may replace f, opening path anew */
	if (!shardfile_find(d, path) && (r = io_mkdir_p(d->cfg.shard_dir, 0700)) < 0) {
		errno = -r;
		return NULL;
	}
	return shardfile_get(d, path);
}

int recorder_begin(struct recording *rec)
{
	char path[PATH_MAX], line[SHARD_LINE_MAX];
	struct shard_file *f;
	int n, r;

	if ((r = shard_path(path, sizeof(path), rec->d->cfg.shard_dir, rec->st->start_sec)) < 0)
		return r;
	if (!(f = shard_open(rec->d, path)))
		return -errno;
	attach_file(rec, f);
	state_copy(rec->st->shard, sizeof(rec->st->shard), path);
	n = format_header(rec, line, sizeof(line));
	if (n < 0) {
		recorder_release(rec);
		return n;
	}
	put_line(rec, line, (size_t)n, false);
	hand_over(rec->d);
	return 0;
}

void recorder_output(struct recording *rec, const uint8_t *p, size_t n)
{
	if (recording(rec)) {
		(void)shard_encode_event(&rec->carry_o, rec->st->sid, recorder_elapsed(rec), 'o', p, n, line_sink, rec);
		hand_over(rec->d);
	}
}

void recorder_flush_withheld(struct recording *rec)
{
	char text[96];

	if (!rec->withheld_pending)
		return;
	snprintf(text, sizeof(text), "input withheld: %llu bytes (echo off)",
		 (unsigned long long)rec->withheld_pending);
	rec->withheld_pending = 0;
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
		/* One marker per withheld line: Enter ends what was typed. */
		if (memchr(p, '\r', n) || memchr(p, '\n', n))
			recorder_flush_withheld(rec);
		return;
	}
	recorder_flush_withheld(rec);
	if (recording(rec)) {
		(void)shard_encode_event(&rec->carry_i, rec->st->sid, recorder_elapsed(rec), 'i', p, n, line_sink, rec);
		hand_over(rec->d);
	}
}

void recorder_resize(struct recording *rec, unsigned cols, unsigned rows)
{
	char line[SHARD_LINE_MAX];
	int n;

	if (!recording(rec))
		return;
	n = shard_format_resize(line, sizeof(line), rec->st->sid, recorder_elapsed(rec), cols, rows);
	if (n > 0)
		put_event(rec, line, (size_t)n);
	hand_over(rec->d);
}

void recorder_marker(struct recording *rec, const char *text)
{
	char line[SHARD_LINE_MAX];
	int n;

	if (!recording(rec))
		return;
	n = shard_format_marker(line, sizeof(line), rec->st->sid, recorder_elapsed(rec), text);
	if (n > 0)
		put_event(rec, line, (size_t)n);
	hand_over(rec->d);
}

static void try_resync(struct recording *rec);
static void resume_lines(struct recording *rec, enum recorder_loss then);

uint64_t recorder_lost(const struct recording *rec)
{
	return rec->lost_bytes + rec->lost_marking + rec->lost_pending;
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
	int n;

	if (rec->loss == RECORDER_DEGRADED)
		try_resync(rec);
	if (rec->loss == RECORDER_PROBING)
		resume_lines(rec, RECORDER_MARKING);
	gettimeofday(&now, NULL);
	if (shard_rfc3339(end, sizeof(end), now.tv_sec, now.tv_usec) < 0)
		end[0] = '\0';
	e = (struct shard_end){
		.duration = recorder_elapsed(rec),
		.bytes_out = st->bytes_out,
		.bytes_in = st->bytes_in,
		.bytes_recorded = st->bytes_recorded,
		.withheld = st->withheld,
		.resizes = st->resizes,
		.truncated = st->truncated || st->failed,
		.lost_bytes = recorder_lost(rec),
		.removed_bytes = rec->removed_bytes,
		.write_error = rec->loss_err ? recorder_err_name(rec->loss_err) : NULL,
		.reason = reason,
		.end = end[0] ? end : NULL,
	};
	n = shard_format_end(line, sizeof(line), st->sid, &e);
	if (n > 0)
		rec->end_seq = put_line(rec, line, (size_t)n, true);
	if (rec->loss != RECORDER_OK)
		(void)sink_fence(rec->d, rec->owner, true); /* the writer forgets the owner */
	hand_over(rec->d);
	recorder_release(rec);
}

int recorder_finish(struct recording *rec, const char *reason)
{
	struct session_state *st = rec->st;
	double t = recorder_elapsed(rec);

	rec->end_seq = 0;
	if (!rec->file)
		return 0;
	if (recording(rec)) {
		(void)shard_encode_flush(&rec->carry_o, st->sid, t, 'o', line_sink, rec);
		(void)shard_encode_flush(&rec->carry_i, st->sid, t, 'i', line_sink, rec);
	}
	recorder_flush_withheld(rec);
	if (rec->loss == RECORDER_FENCING) {
		/* The writer's count of what it dropped comes first. */
		rec->finish_reason = reason;
		rec->end_seq = UINT64_MAX;
		return -EINPROGRESS;
	}
	finish_now(rec, reason);
	return 0;
}

void recorder_write_failed(struct recording *rec, int err)
{
	if (rec->st->failed)
		return;
	rec->st->failed = true;
	rec->sync->urgent = true;
	log_line("session %s: cannot record to %s: %s; recording stopped, the session goes on", rec->st->sid,
		 rec->st->shard[0] ? rec->st->shard : "its shard", strerror(err));
}

/* ---- loss accounting (docs/architecture.md, "Loss accounting") ---- */

const char *recorder_err_name(int err)
{
	const char *s = strerrorname_np(err);

	return s ? s : "EIO";
}

static void uncount(struct recording *rec, uint64_t len)
{
	rec->st->bytes_recorded -= len < rec->st->bytes_recorded ? len : rec->st->bytes_recorded;
	rec->file_bytes -= len < rec->file_bytes ? len : rec->file_bytes;
	rec->sync->dirty = true;
}

/* The loss marker's line: "write failed (ENOSPC); N bytes lost". */
static int format_loss_line(const struct recording *rec, char *line, size_t cap, uint64_t lost)
{
	char text[128];

	snprintf(text, sizeof(text), "write failed (%s); %llu bytes lost", recorder_err_name(rec->loss_err),
		 (unsigned long long)lost);
	return shard_format_marker(line, cap, rec->st->sid, recorder_elapsed(rec), text);
}

static void loss_marker(struct recording *rec, uint64_t lost)
{
	char line[SHARD_LINE_MAX];
	int n = format_loss_line(rec, line, sizeof(line), lost);

	if (n > 0)
		put_line(rec, line, (size_t)n, false);
}

/* The header a file without it needed is written (or, at the end, queued):
 * the loss marker and the "shard replaced" marker follow it. */
static void resume_lines(struct recording *rec, enum recorder_loss then)
{
	uint64_t lost = rec->lost_pending;

	rec->lost_pending = 0;
	rec->loss = then;
	if (then == RECORDER_MARKING)
		rec->lost_marking = lost;
	else
		rec->lost_bytes += lost;
	rec->news_bytes = lost;
	loss_marker(rec, lost);
	write_start_note(rec);
}

/* Tries to end a loss: the first line is a resync line (writer.h), the
 * loss marker, or the header when the file lacks it. */
static void try_resync(struct recording *rec)
{
	char line[SHARD_LINE_MAX];
	bool header = rec->file_bytes == 0;
	int n;

	if (!rec->file)
		return;
	if (header)
		n = format_header(rec, line, sizeof(line));
	else
		n = format_loss_line(rec, line, sizeof(line), rec->lost_pending);
	if (n <= 0 || !sink_resync(rec->d, rec->file->fd, rec->owner, line, (size_t)n))
		return;
	counted(rec, (size_t)n);
	rec->resync_len = (uint64_t)n;
	if (header) {
		rec->loss = RECORDER_PROBING;
	} else {
		rec->lost_marking = rec->lost_pending;
		rec->lost_pending = 0;
		rec->loss = RECORDER_MARKING;
		write_start_note(rec);
	}
	hand_over(rec->d);
}

static void news(struct recording *rec, enum recorder_news what)
{
	if (rec->report)
		rec->report(rec, what);
}

void recorder_writer_report(struct recording *rec, const struct writer_error *r)
{
	if (!rec->file)
		return; /* ended: its loss is in its end line */
	switch (r->kind) {
	case WRITER_FAILED:
		if (rec->loss == RECORDER_OK) {
			rec->loss_err = r->err;
			log_line("session %s: cannot write %s: %s; lines are counted lost until writing works again",
				 rec->st->sid, rec->st->shard, strerror(r->err));
			news(rec, RECORDER_DEGRADED_NEWS);
		} else if (rec->loss == RECORDER_MARKING || rec->loss == RECORDER_PROBING) {
			rec->lost_pending += rec->lost_marking;
			rec->lost_marking = 0;
			uncount(rec, rec->resync_len);
		} else {
			return;
		}
		rec->loss = RECORDER_FENCING;
		if (!sink_fence(rec->d, rec->owner, false))
			recorder_write_failed(rec, ENOMEM);
		break;
	case WRITER_FENCE:
		if (rec->loss != RECORDER_FENCING)
			return;
		uncount(rec, r->bytes);
		rec->lost_pending += r->bytes;
		rec->loss = RECORDER_DEGRADED;
		rec->sync->urgent = true;
		if (rec->finish_reason) {
			const char *why = rec->finish_reason;

			rec->finish_reason = NULL;
			finish_now(rec, why);
			news(rec, RECORDER_FINISHED);
		}
		break;
	case WRITER_RESUMED:
		if (rec->loss == RECORDER_PROBING) {
			resume_lines(rec, RECORDER_OK);
		} else if (rec->loss == RECORDER_MARKING) {
			rec->lost_bytes += rec->lost_marking;
			rec->news_bytes = rec->lost_marking;
			rec->lost_marking = 0;
			rec->loss = RECORDER_OK;
		} else {
			return;
		}
		hand_over(rec->d);
		log_line("session %s: writing %s works again; %llu bytes were lost", rec->st->sid, rec->st->shard,
			 (unsigned long long)rec->news_bytes);
		news(rec, RECORDER_RESUMED_NEWS);
		break;
	}
}

void recorder_tick(struct daemon *d)
{
	struct shard_file *f, *next;

	for (f = d->shard_files; f; f = next) {
		next = f->next;
		check_file(d, f);
	}
	for (f = d->shard_files; f; f = f->next)
		for (struct recording *rec = f->recs; rec; rec = rec->file_next)
			if (rec->loss == RECORDER_DEGRADED)
				try_resync(rec);
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

int recorder_resume(struct recording *rec, const struct state_pending *p)
{
	struct session_state *st = rec->st;
	size_t n = strlen(st->shard);
	struct shard_file *f;
	int fd;

	/* Written by a daemon as root, still checked: a shard, by full path. */
	if (st->shard[0] != '/' || n < 7 || strcmp(st->shard + n - 6, ".jsonl") != 0)
		return -EINVAL;
	if (!(f = shard_open(rec->d, st->shard)))
		return -errno;
	attach_file(rec, f);
	rec->file_bytes = st->bytes_recorded; /* in this file, as far as anyone knows */
	if (f->refs == 1) {
		/* O_APPEND is write-only here: a descriptor that may read. */
		fd = open(st->shard, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		if (fd >= 0) {
			repair_tail(fd, st->shard);
			close(fd);
		}
	}
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
