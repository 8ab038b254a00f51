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
#include "recorder.h"
#include "session.h"
#include "state.h"

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

void recorder_release(struct daemon *d, struct session *s)
{
	struct shard_file *f = s->file, **pp;

	s->file = NULL;
	if (!f || --f->refs > 0)
		return;
	/* The close waits behind the lines already queued for the fd; at
	 * shutdown the writer has written everything already. */
	if (!d->writer) {
		close(f->fd);
	} else if (!writer_close_fd(d->writer, f->fd)) {
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

/* Queues one line whatever the cap (header, trunc, end). */
static uint64_t put_line(struct daemon *d, struct session *s, const char *line, size_t len, bool notify)
{
	uint64_t seq;

	if (!s->file)
		return 0;
	seq = writer_line_later(d->writer, s->file->fd, s->serial, line, len, notify);
	if (!seq) {
		recorder_write_failed(d, s, ENOMEM);
		return 0;
	}
	s->st.bytes_recorded += len;
	s->state_dirty = true;
	return seq;
}

/* The lines queued by one recorder call go to the writer together. */
static void hand_over(struct daemon *d)
{
	if (d->writer)
		writer_flush(d->writer);
}

static void truncate_now(struct daemon *d, struct session *s)
{
	char line[SHARD_LINE_MAX];
	int n;

	s->st.truncated = true;
	s->state_urgent = true;
	n = shard_format_trunc(line, sizeof(line), s->st.sid);
	if (n > 0)
		put_line(d, s, line, (size_t)n, false);
}

/* An event line, under the cap: the first line that would cross it turns
 * into the trunc line and nothing but the end follows. */
static int put_event(struct daemon *d, struct session *s, const char *line, size_t len)
{
	if (!s->file || s->st.truncated || s->st.failed)
		return -ECANCELED;
	if (s->st.bytes_recorded + len > s->cap) {
		truncate_now(d, s);
		return -ECANCELED;
	}
	return put_line(d, s, line, len, false) ? 0 : -ENOMEM;
}

static int line_sink(void *userdata, const char *line, size_t len)
{
	struct session *s = userdata;

	return put_event(s->d, s, line, len);
}

static bool recording(const struct session *s)
{
	return s->file && !s->st.truncated && !s->st.failed;
}

int recorder_begin(struct daemon *d, struct session *s)
{
	char path[PATH_MAX], line[SHARD_LINE_MAX], start[64], host[256];
	struct session_state *st = &s->st;
	struct shard_header h = { 0 };
	int n, r;

	if ((r = shard_path(path, sizeof(path), d->cfg.shard_dir, st->start_sec)) < 0)
		return r;
	if ((r = io_mkdir_p(d->cfg.shard_dir, 0700)) < 0)
		return r;
	s->file = shard_get(d, path);
	if (!s->file)
		return -errno;
	state_copy(st->shard, sizeof(st->shard), path);
	if (d->cfg.hostname[0])
		snprintf(host, sizeof(host), "%s", d->cfg.hostname);
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
		recorder_release(d, s);
		return n;
	}
	put_line(d, s, line, (size_t)n, false);
	hand_over(d);
	return 0;
}

void recorder_output(struct daemon *d, struct session *s, const uint8_t *p, size_t n)
{
	if (recording(s)) {
		(void)shard_encode_event(&s->carry_o, s->st.sid, session_t(s), 'o', p, n, line_sink, s);
		hand_over(d);
	}
}

void recorder_flush_withheld(struct daemon *d, struct session *s)
{
	char text[96];

	if (!s->withheld_pending)
		return;
	snprintf(text, sizeof(text), "input withheld: %llu bytes (echo off)",
		 (unsigned long long)s->withheld_pending);
	s->withheld_pending = 0;
	recorder_marker(d, s, text);
}

void recorder_input(struct daemon *d, struct session *s, const uint8_t *p, size_t n, bool secret)
{
	if (!s->st.input)
		return;
	if (secret) {
		s->withheld_pending += n;
		s->st.withheld += n;
		s->state_dirty = true;
		/* One marker per withheld line: Enter ends what was typed. */
		if (memchr(p, '\r', n) || memchr(p, '\n', n))
			recorder_flush_withheld(d, s);
		return;
	}
	recorder_flush_withheld(d, s);
	if (recording(s)) {
		(void)shard_encode_event(&s->carry_i, s->st.sid, session_t(s), 'i', p, n, line_sink, s);
		hand_over(d);
	}
}

void recorder_resize(struct daemon *d, struct session *s, unsigned cols, unsigned rows)
{
	char line[SHARD_LINE_MAX];
	int n;

	if (!recording(s))
		return;
	n = shard_format_resize(line, sizeof(line), s->st.sid, session_t(s), cols, rows);
	if (n > 0)
		put_event(d, s, line, (size_t)n);
	hand_over(d);
}

void recorder_marker(struct daemon *d, struct session *s, const char *text)
{
	char line[SHARD_LINE_MAX];
	int n;

	if (!recording(s))
		return;
	n = shard_format_marker(line, sizeof(line), s->st.sid, session_t(s), text);
	if (n > 0)
		put_event(d, s, line, (size_t)n);
	hand_over(d);
}

void recorder_finish(struct daemon *d, struct session *s, const char *reason)
{
	struct session_state *st = &s->st;
	char line[SHARD_LINE_MAX], end[64];
	struct timeval now;
	double t = session_t(s);
	struct shard_end e;
	int n;

	s->end_seq = 0;
	if (!s->file)
		return;
	if (recording(s)) {
		(void)shard_encode_flush(&s->carry_o, st->sid, t, 'o', line_sink, s);
		(void)shard_encode_flush(&s->carry_i, st->sid, t, 'i', line_sink, s);
	}
	recorder_flush_withheld(d, s);
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
		s->end_seq = put_line(d, s, line, (size_t)n, true);
	hand_over(d);
	recorder_release(d, s);
}

void recorder_write_failed(struct daemon *d, struct session *s, int err)
{
	if (s->st.failed)
		return;
	s->st.failed = true;
	s->state_urgent = true;
	log_line("session %s: cannot write %s: %s; recording stopped, the session goes on", s->st.sid,
		 s->st.shard[0] ? s->st.shard : "its shard", strerror(err));
	if (!s->st.truncated && s->file && err != ENOMEM) {
		char line[SHARD_LINE_MAX];
		int n = shard_format_trunc(line, sizeof(line), s->st.sid);

		s->st.truncated = true;
		if (n > 0 && writer_line(d->writer, s->file->fd, 0, line, (size_t)n, false))
			s->st.bytes_recorded += (uint64_t)n;
		hand_over(d);
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

int recorder_resume(struct daemon *d, struct session *s, const struct state_pending *p)
{
	struct session_state *st = &s->st;
	size_t n = strlen(st->shard);
	int fd;

	/* Written by a daemon as root, still checked: a shard, by full path. */
	if (st->shard[0] != '/' || n < 7 || strcmp(st->shard + n - 6, ".jsonl") != 0)
		return -EINVAL;
	s->file = shard_get(d, st->shard);
	if (!s->file)
		return -errno;
	if (s->file->refs == 1) {
		/* O_APPEND is write-only here: a descriptor that may read. */
		fd = open(st->shard, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		if (fd >= 0) {
			repair_tail(fd, st->shard);
			close(fd);
		}
	}
	if (p) {
		memcpy(s->carry_o.buf, p->carry_o, p->carry_o_len);
		s->carry_o.len = (uint8_t)p->carry_o_len;
		memcpy(s->carry_i.buf, p->carry_i, p->carry_i_len);
		s->carry_i.len = (uint8_t)p->carry_i_len;
	}
	return 0;
}

void recorder_pending(const struct session *s, struct state_pending *p)
{
	p->carry_o_len = s->carry_o.len <= sizeof(p->carry_o) ? s->carry_o.len : 0;
	memcpy(p->carry_o, s->carry_o.buf, p->carry_o_len);
	p->carry_i_len = s->carry_i.len <= sizeof(p->carry_i) ? s->carry_i.len : 0;
	memcpy(p->carry_i, s->carry_i.buf, p->carry_i_len);
}
