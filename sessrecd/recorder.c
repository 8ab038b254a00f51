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

/* The shard file at path, opened once and shared. */
static struct shard_file *shard_get(struct daemon *d, const char *path)
{
	struct shard_file *f;
	size_t len = strlen(path);
	int fd;

	for (f = d->shard_files; f; f = f->next) {
		if (strcmp(f->path, path) == 0) {
			f->refs++;
			return f;
		}
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
	if (fd >= 0) {
		/* The umask must not decide who reads recordings. */
		if (fchmod(fd, 0640) < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return NULL;
		}
	} else if (errno == EEXIST) {
		fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	}
	if (fd < 0)
		return NULL;
	f = malloc(sizeof(*f) + len + 1);
	if (!f) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(f->path, path, len + 1);
	f->fd = fd;
	f->refs = 1;
	f->next = d->shard_files;
	d->shard_files = f;
	return f;
}

/* Where the lines go: d->sink when set (tests), else the disk writer. */
static uint64_t sink_line(struct daemon *d, int fd, uint64_t owner, const char *line, size_t len, bool notify)
{
	if (d->sink)
		return d->sink->line(d->sink, fd, owner, line, len, notify);
	return writer_line_later(d->writer, fd, owner, line, len, notify);
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
	struct shard_file *f = rec->file, **pp;

	rec->file = NULL;
	if (!f || --f->refs > 0)
		return;
	/* The close waits behind the lines already queued for the fd; at
	 * shutdown the writer has written everything already. */
	if (!sink_close(d, f->fd)) {
		f->refs = 0; /* out of memory: kept open for the next session of that day */
		return;
	}
	for (pp = &d->shard_files; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	free(f);
}

void recorder_close_all(struct daemon *d)
{
	while (d->shard_files) {
		struct shard_file *f = d->shard_files;

		d->shard_files = f->next;
		close(f->fd);
		free(f);
	}
}

double recorder_elapsed(const struct recording *rec)
{
	int64_t ns = (rec->stop_ns ? rec->stop_ns : mono_ns()) - rec->st->start_mono_ns;

	return ns <= 0 ? 0.0 : (double)ns / 1e9;
}

/* Queues one line whatever the cap (header, trunc, end). */
static uint64_t put_line(struct recording *rec, const char *line, size_t len, bool notify)
{
	uint64_t seq;

	if (!rec->file)
		return 0;
	seq = sink_line(rec->d, rec->file->fd, rec->owner, line, len, notify);
	if (!seq) {
		recorder_write_failed(rec, ENOMEM);
		return 0;
	}
	rec->st->bytes_recorded += len;
	rec->sync->dirty = true;
	rec->last_seq = seq;
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

int recorder_begin(struct recording *rec)
{
	char path[PATH_MAX], line[SHARD_LINE_MAX], start[64], host[256];
	struct session_state *st = rec->st;
	struct shard_header h = { 0 };
	int n, r;

	if ((r = shard_path(path, sizeof(path), rec->d->cfg.shard_dir, st->start_sec)) < 0)
		return r;
	if ((r = io_mkdir_p(rec->d->cfg.shard_dir, 0700)) < 0)
		return r;
	rec->file = shard_get(rec->d, path);
	if (!rec->file)
		return -errno;
	state_copy(st->shard, sizeof(st->shard), path);
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
	n = shard_format_header(line, sizeof(line), st->sid, &h);
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

void recorder_finish(struct recording *rec, const char *reason)
{
	struct session_state *st = rec->st;
	char line[SHARD_LINE_MAX], end[64];
	struct timeval now;
	double t = recorder_elapsed(rec);
	struct shard_end e;
	int n;

	rec->end_seq = 0;
	if (!rec->file)
		return;
	if (recording(rec)) {
		(void)shard_encode_flush(&rec->carry_o, st->sid, t, 'o', line_sink, rec);
		(void)shard_encode_flush(&rec->carry_i, st->sid, t, 'i', line_sink, rec);
	}
	recorder_flush_withheld(rec);
	gettimeofday(&now, NULL);
	if (shard_rfc3339(end, sizeof(end), now.tv_sec, now.tv_usec) < 0)
		end[0] = '\0';
	e = (struct shard_end){
		.duration = t,
		.bytes_out = st->bytes_out,
		.bytes_in = st->bytes_in,
		.bytes_recorded = st->bytes_recorded,
		.withheld = st->withheld,
		.resizes = st->resizes,
		.truncated = st->truncated || st->failed,
		.reason = reason,
		.end = end[0] ? end : NULL,
	};
	n = shard_format_end(line, sizeof(line), st->sid, &e);
	if (n > 0)
		rec->end_seq = put_line(rec, line, (size_t)n, true);
	hand_over(rec->d);
	recorder_release(rec);
}

void recorder_write_failed(struct recording *rec, int err)
{
	if (rec->st->failed)
		return;
	rec->st->failed = true;
	rec->sync->urgent = true;
	log_line("session %s: cannot write %s: %s; recording stopped, the session goes on", rec->st->sid,
		 rec->st->shard[0] ? rec->st->shard : "its shard", strerror(err));
	if (!rec->st->truncated && rec->file && err != ENOMEM) {
		char line[SHARD_LINE_MAX];
		int n = shard_format_trunc(line, sizeof(line), rec->st->sid);

		rec->st->truncated = true;
		/* owner 0: a failure of this line is not reported again */
		if (n > 0 && sink_line(rec->d, rec->file->fd, 0, line, (size_t)n, false))
			rec->st->bytes_recorded += (uint64_t)n;
		hand_over(rec->d);
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

int recorder_resume(struct recording *rec, const struct state_pending *p)
{
	struct session_state *st = rec->st;
	size_t n = strlen(st->shard);
	int fd;

	/* Written by a daemon as root, still checked: a shard, by full path. */
	if (st->shard[0] != '/' || n < 7 || strcmp(st->shard + n - 6, ".jsonl") != 0)
		return -EINVAL;
	rec->file = shard_get(rec->d, st->shard);
	if (!rec->file)
		return -errno;
	if (rec->file->refs == 1) {
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
