/* recline: a recording's lines to the writer or the in-memory sink, their
 * counting and the loss gate (see recline.h). Convention: 0 or -errno;
 * sequence numbers, 0 for "not queued". */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "authinfo.h"
#include "daemon.h"
#include "log.h"
#include "monoclock.h"
#include "recline.h"
#include "state.h"
#include "writer.h"

/* Where the lines go: d->sink when set (tests), else the disk writer. */
static uint64_t sink_line(struct daemon *d, int fd, uint64_t owner, const char *line, size_t len, bool notify)
{
	if (d->sink)
		return d->sink->line(d->sink, fd, owner, line, len, notify);
	return writer_line_later(d->writer, fd, owner, line, len, notify);
}

uint64_t recline_resync(struct recording *rec, const char *line, size_t len)
{
	struct daemon *d = rec->d;

	if (!rec->file)
		return 0;
	if (d->sink)
		return d->sink->line(d->sink, rec->file->fd, rec->owner, line, len, true);
	return writer_resync_line(d->writer, rec->file->fd, rec->owner, line, len);
}

/* The in-memory sink has nothing to count (tests report the writer's
 * count themselves). */
uint64_t recline_fence(struct recording *rec, bool forget)
{
	struct daemon *d = rec->d;

	if (d->sink)
		return 1;
	return d->writer ? writer_fence(d->writer, rec->owner, forget) : 0;
}

/* The lines queued by one recorder call go out together. */
void recline_hand_over(struct daemon *d)
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

void recline_unref(struct daemon *d, struct shard_file *f)
{
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

void recline_release(struct recording *rec)
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
	recline_unref(d, f);
}

/* rec writes f from now on. */
void recline_attach(struct recording *rec, struct shard_file *f)
{
	rec->file = f;
	rec->file_next = f->recs;
	f->recs = rec;
	rec->file_bytes = 0;
}

double recline_elapsed(const struct recording *rec)
{
	int64_t ns = (rec->stop_ns ? rec->stop_ns : mono_ns()) - rec->st->start_mono_ns;

	return ns <= 0 ? 0.0 : (double)ns / 1e9;
}

/* See recline.h. */
bool recline_losing(const struct recording *rec)
{
	return rec->loss == RECORDER_FENCING || rec->loss == RECORDER_DEGRADED || rec->loss == RECORDER_PROBING;
}

void recline_count(struct recording *rec, size_t len)
{
	rec->st->bytes_recorded += len;
	rec->file_bytes += len;
	rec->sync->dirty = true;
}

void recline_uncount(struct recording *rec, uint64_t len)
{
	rec->st->bytes_recorded -= len < rec->st->bytes_recorded ? len : rec->st->bytes_recorded;
	rec->file_bytes -= len < rec->file_bytes ? len : rec->file_bytes;
	rec->sync->dirty = true;
}

/* Queues one line whatever the cap (header, trunc, end); while a loss
 * lasts, counts it lost instead (seq 1: nothing to wait for). */
uint64_t recline_put(struct recording *rec, const char *line, size_t len, bool notify)
{
	uint64_t seq;

	if (!rec->file)
		return 0;
	if (recline_losing(rec)) {
		wlines_loss_line(&rec->lost_pending, line, len);
		recline_loss_save(rec, false);
		return 1;
	}
	seq = sink_line(rec->d, rec->file->fd, rec->owner, line, len, notify);
	if (!seq) {
		recline_stop(rec, ENOMEM);
		return 0;
	}
	recline_count(rec, len);
	rec->last_seq = seq;
	return seq;
}

/* The session's header line (the same in every file the session writes:
 * a shard file describes itself). Its length or -errno. */
int recline_header(const struct recording *rec, char *line, size_t cap)
{
	const struct session_state *st = rec->st;
	char start[64], host[256], auth[sizeof(struct authinfo)];
	struct shard_header h = { 0 };
	struct authinfo ai;

	if (rec->d->cfg.hostname[0])
		snprintf(host, sizeof(host), "%s", rec->d->cfg.hostname);
	else if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (shard_rfc3339(start, sizeof(start), st->start_sec, st->start_usec) < 0)
		start[0] = '\0';
	/* meta.auth is the method and the key's fingerprint, never the key. */
	if (authinfo_parse(state_str(st->auth), strlen(state_str(st->auth)), &ai) < 0 ||
	    authinfo_summary(&ai, auth, sizeof(auth)) < 0)
		auth[0] = '\0';
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
		.auth = auth[0] ? auth : NULL,
		.start = start[0] ? start : NULL,
		.cmd = st->cmd, /* NULL when empty */
		.pid = (long)st->pid,
		.audit_session = (long)st->audit_session,
		.input = st->input,
	};
	return shard_format_header(line, cap, st->sid, &h);
}

void recline_marker(struct recording *rec, const char *text)
{
	char line[SHARD_LINE_MAX];
	int n = shard_format_marker(line, sizeof(line), rec->st->sid, recline_elapsed(rec), text);

	if (n > 0)
		recline_put(rec, line, (size_t)n, false);
}

void recline_loss_save(struct recording *rec, bool urgent)
{
	struct wlines_loss p = rec->lost_pending;

	wlines_loss_add(&p, &rec->lost_marking);
	rec->st->loss = (struct state_loss){
		.stage = (int)rec->loss,
		.err = rec->loss_err,
		.at_least = rec->pending_at_least,
		.out_at_least = rec->pending_out_at_least,
		.stated_at_least = rec->stated_at_least,
		.pending_bytes = p.bytes,
		.pending_out = p.out,
		.pending_in = p.in,
		.stated_bytes = rec->lost_stated.bytes,
		.stated_out = rec->lost_stated.out,
		.stated_in = rec->lost_stated.in,
		.off = rec->loss_off,
	};
	rec->sync->dirty = true;
	if (urgent)
		rec->sync->urgent = true;
}

void recline_stop(struct recording *rec, int err)
{
	if (rec->st->failed)
		return;
	rec->st->failed = true;
	rec->sync->urgent = true;
	log_line("session %s: cannot record to %s: %s; recording stopped, the session goes on", rec->st->sid,
		 rec->st->shard ? rec->st->shard : "its shard", strerror(err));
}
