/* relaydisk: which of a relay's output is on disk (see relaydisk.h). The
 * ring keeps output until the writer confirmed the lines holding it, so a
 * daemon after a kill -9 can record what the shard lacks; the anchor bounds
 * how much of the shard such a daemon reads back. Convention: 0 or -errno. */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"
#include "recorder.h"
#include "relaydisk.h"
#include "relaymem.h"
#include "state.h"
#include "writer.h"

/* A new anchor (where a resume starts reading the shard) after this much
 * output, taken when the writer has confirmed every line of the session;
 * past RELAYDISK_ANCHOR_MAX reading waits for such a moment, so a resume
 * never reads more than that of the session's lines back. */
#define RELAYDISK_ANCHOR_EVERY (1024 * 1024)
#define RELAYDISK_ANCHOR_MAX (8 * 1024 * 1024)

void relaydisk_init(struct relaydisk *k, struct daemon *d, struct session_state *st, struct recording *rec,
		    struct relaymem *mem)
{
	memset(k, 0, sizeof(*k));
	k->d = d;
	k->st = st;
	k->rec = rec;
	k->mem = mem;
}

bool relaydisk_recording(const struct relaydisk *k)
{
	return k->rec->file && !k->st->truncated && !k->st->failed;
}

/* The writer's last performed seq; everything when lines do not go to it. */
static uint64_t disk_done(struct daemon *d)
{
	return d->sink || !d->writer ? UINT64_MAX : writer_done(d->writer);
}

void relaydisk_set_kept(struct relaydisk *k)
{
	struct relaymem_hdr *h = k->mem->h;
	uint64_t kept = h->out_shown < h->out_durable ? h->out_shown : h->out_durable;

	if (kept != h->out_kept)
		relaymem_set(&h->out_kept, kept);
}

void relaydisk_mark(struct relaydisk *k)
{
	struct relaydisk_mark m = { k->mem->h->out_read - k->rec->carry_o.len, k->rec->last_seq };

	if (!relaydisk_recording(k))
		return;
	if (k->nmarks && k->marks[k->nmarks - 1].seq == m.seq)
		k->marks[k->nmarks - 1].pos = m.pos;
	else if (k->nmarks == RELAYDISK_MARKS)
		k->marks[RELAYDISK_MARKS - 1] = m; /* a later seq covers the earlier lines too */
	else
		k->marks[k->nmarks++] = m;
}

void relaydisk_settle(struct relaydisk *k)
{
	struct relaymem_hdr *h = k->mem->h;
	uint64_t dur = h->out_durable, done;
	unsigned i = 0;

	if (!relaydisk_recording(k)) {
		k->nmarks = 0;
		dur = h->out_read; /* nothing more goes to the recording */
	} else if (k->nmarks) {
		done = disk_done(k->d);
		while (i < k->nmarks && k->marks[i].seq <= done)
			dur = k->marks[i++].pos;
		memmove(k->marks, k->marks + i, (k->nmarks - i) * sizeof(k->marks[0]));
		k->nmarks -= i;
	}
	if (dur > h->out_durable)
		relaymem_set(&h->out_durable, dur);
	relaydisk_set_kept(k);
}

/* Every "o" line of the session is on disk (no mark waits), so the shard's
 * size is where the lines after out_durable begin. */
void relaydisk_anchor(struct relaydisk *k, uint64_t pos)
{
	struct relaymem_anchor a;
	struct stat sb;

	if (!relaydisk_recording(k) || k->nmarks || fstat(k->rec->file->fd, &sb) < 0)
		return;
	a = (struct relaymem_anchor){ (uint64_t)sb.st_size, pos, (uint64_t)sb.st_dev, (uint64_t)sb.st_ino };
	relaymem_set_anchor(k->mem, &a);
}

static uint64_t anchor_pos(const struct relaydisk *k)
{
	const struct relaymem_anchor *a = relaymem_anchor(k->mem);

	return a ? a->pos : 0;
}

void relaydisk_anchor_due(struct relaydisk *k)
{
	if (!k->nmarks && k->mem->h->out_durable - anchor_pos(k) >= RELAYDISK_ANCHOR_EVERY)
		relaydisk_anchor(k, k->mem->h->out_durable);
}

bool relaydisk_too_far(const struct relaydisk *k)
{
	return k->nmarks && k->mem->h->out_read - anchor_pos(k) > RELAYDISK_ANCHOR_MAX;
}

void relaydisk_wait(struct relaydisk *k)
{
	struct daemon *d = k->d;

	if (k->waiting || !k->nmarks || d->sink || !d->writer)
		return;
	(void)writer_wake_at(d->writer, k->marks[k->nmarks - 1].seq); /* done already: seen after these events */
	k->waiting = true;
	k->wait_next = d->disk_waiting;
	d->disk_waiting = k;
}

void relaydisk_unwait(struct relaydisk *k)
{
	if (!k->waiting)
		return;
	for (struct relaydisk **pp = &k->d->disk_waiting; *pp; pp = &(*pp)->wait_next) {
		if (*pp == k) {
			*pp = k->wait_next;
			break;
		}
	}
	k->waiting = false;
	k->wait_next = NULL;
}

void relaydisk_progress(struct daemon *d, void (*go)(struct relaydisk *k))
{
	struct relaydisk *k = d->disk_waiting, *next;

	d->disk_waiting = NULL;
	for (; k; k = next) {
		next = k->wait_next;
		k->waiting = false;
		k->wait_next = NULL;
		if (!k->mem->h)
			continue; /* its relay stopped */
		relaydisk_settle(k);
		relaydisk_anchor_due(k);
		go(k);
	}
}

void relaydisk_all_done(struct relaydisk *k)
{
	if (!k->mem->h)
		return;
	if (k->nmarks)
		relaymem_set(&k->mem->h->out_durable, k->marks[k->nmarks - 1].pos);
	k->nmarks = 0;
	relaydisk_set_kept(k);
	relaydisk_unwait(k);
}

void relaydisk_reset(struct relaydisk *k)
{
	relaydisk_unwait(k);
	k->nmarks = 0;
}
