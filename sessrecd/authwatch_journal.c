/* authwatch_journal: following sshd's journal lines with a persisted
 * cursor (see authwatch_journal.h). Convention: NULL / void. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "authwatch_journal.h"
#include "daemon.h"
#include "io.h"
#include "log.h"
#include "writer.h"

struct authwatch_journal {
	sd_journal *j;
	authwatch_line_fn line;
	struct loop_io io, more_io;
	int more_fd; /* a timer: entries were left for the next turn */
	char path[PATH_MAX];
	char cursor_at_start[1024]; /* the saved cursor, until the entry after it is reached */
};

/* A field's value (after "NAME="), NUL-free length in *n. */
static const char *field(sd_journal *j, const char *name, size_t *n)
{
	const void *data;
	size_t len, nl = strlen(name);

	if (sd_journal_get_data(j, name, &data, &len) < 0 || len <= nl || memcmp(data, name, nl) != 0 ||
	    ((const char *)data)[nl] != '=')
		return NULL;
	*n = len - nl - 1;
	return (const char *)data + nl + 1;
}

static void save_cursor(struct daemon *d, struct authwatch_journal *aj)
{
	char *c = NULL;

	if (sd_journal_get_cursor(aj->j, &c) < 0 || !c)
		return;
	if (!d->writer || !writer_state_put(d->writer, aj->path, c, strlen(c), 0))
		(void)io_write_atomic(aj->path, c, strlen(c), 0600);
	free(c);
}

static void take_entry(struct daemon *d, struct authwatch_journal *aj)
{
	const char *msg, *pid;
	size_t n, pn;
	uint64_t usec = 0;
	char pidbuf[24];

	if (aj->cursor_at_start[0]) {
		/* the entry the cursor names was read before the restart */
		bool seen = sd_journal_test_cursor(aj->j, aj->cursor_at_start) > 0;

		aj->cursor_at_start[0] = '\0';
		if (seen)
			return;
	}
	if (!(msg = field(aj->j, "MESSAGE", &n)))
		return;
	(void)sd_journal_get_realtime_usec(aj->j, &usec);
	pidbuf[0] = '\0';
	if ((pid = field(aj->j, "_PID", &pn)) && pn < sizeof(pidbuf)) {
		memcpy(pidbuf, pid, pn);
		pidbuf[pn] = '\0';
	}
	aj->line(d, msg, n, strtol(pidbuf, NULL, 10), (int64_t)usec);
}

static void read_entries(struct daemon *d, struct authwatch_journal *aj)
{
	int taken = 0, r = 0;

	while (taken < AUTHWATCH_JOURNAL_BATCH && (r = sd_journal_next(aj->j)) > 0) {
		take_entry(d, aj);
		taken++;
	}
	if (taken)
		save_cursor(d, aj);
	/* The journal's fd wakes us only for what is new: a batch cut short
	 * goes on at the next turn. */
	(void)loop_timer_arm(aj->more_fd, taken == AUTHWATCH_JOURNAL_BATCH && r > 0 ? 1 : 0, 0);
}

static void journal_cb(struct loop_io *io, uint32_t ev)
{
	struct daemon *d = io->userdata;
	struct authwatch_journal *aj = (struct authwatch_journal *)((char *)io -
								    offsetof(struct authwatch_journal, io));

	(void)ev;
	(void)sd_journal_process(aj->j);
	read_entries(d, aj);
}

static void more_cb(struct loop_io *io, uint32_t ev)
{
	struct daemon *d = io->userdata;
	struct authwatch_journal *aj = (struct authwatch_journal *)((char *)io -
								    offsetof(struct authwatch_journal, more_io));

	(void)ev;
	loop_timer_ack(aj->more_fd);
	read_entries(d, aj);
}

/* Where the last daemon stopped, or the journal's end. */
static void position(struct authwatch_journal *aj)
{
	char c[sizeof(aj->cursor_at_start)];
	ssize_t n = io_read_file(aj->path, c, sizeof(c) - 1);

	if (n > 0) {
		c[n] = '\0';
		c[strcspn(c, "\n")] = '\0';
		if (sd_journal_seek_cursor(aj->j, c) == 0) {
			memcpy(aj->cursor_at_start, c, sizeof(c));
			return;
		}
		log_line("sshd's journal: the saved cursor is not usable; reading from the journal's end");
	}
	(void)sd_journal_seek_tail(aj->j);
	(void)sd_journal_previous(aj->j);
}

struct authwatch_journal *authwatch_journal_start(struct daemon *d, authwatch_line_fn fn)
{
	struct authwatch_journal *aj = calloc(1, sizeof(*aj));
	int fd, r;

	if (!aj)
		return NULL;
	aj->line = fn;
	aj->more_fd = -1;
	loop_io_init(&aj->io, journal_cb, d);
	loop_io_init(&aj->more_io, more_cb, d);
	if ((size_t)snprintf(aj->path, sizeof(aj->path), "%s/sshd-journal.cursor", d->cfg.state_dir) >=
	    sizeof(aj->path)) {
		r = -ENAMETOOLONG;
		goto fail;
	}
	if ((r = sd_journal_open(&aj->j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM)) < 0 ||
	    (r = sd_journal_add_match(aj->j, "_COMM=sshd", 0)) < 0)
		goto fail;
	position(aj);
	if ((fd = sd_journal_get_fd(aj->j)) < 0) {
		r = fd;
		goto fail;
	}
	if ((aj->more_fd = loop_timerfd()) < 0 || (r = loop_set(&d->loop, &aj->more_io, aj->more_fd, EPOLLIN)) < 0 ||
	    (r = loop_set(&d->loop, &aj->io, fd, (uint32_t)sd_journal_get_events(aj->j))) < 0)
		goto fail;
	/* what came while no daemon read it */
	read_entries(d, aj);
	return aj;
fail:
	log_line("sshd's journal is not followed: %s", strerror(r < 0 ? -r : EIO));
	authwatch_journal_stop(d, aj);
	return NULL;
}

void authwatch_journal_stop(struct daemon *d, struct authwatch_journal *aj)
{
	if (!aj)
		return;
	loop_del(&d->loop, &aj->io);
	loop_del(&d->loop, &aj->more_io);
	if (aj->more_fd >= 0)
		close(aj->more_fd);
	if (aj->j)
		sd_journal_close(aj->j);
	free(aj);
}
