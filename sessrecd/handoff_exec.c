/* handoff_exec: what a starting daemon is handed (the SIGUSR2 re-exec's
 * memfd, or a service manager's LISTEN_FDS), the hand-over at SIGTERM, and
 * the re-exec itself: every session's state written, the writer flushed,
 * the fds and a memfd naming them kept open across execve of the binary on
 * disk. A failed exec leaves the daemon running as before (see
 * handoff_exec.h). Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "handoff.h"
#include "handoff_exec.h"
#include "handoff_msg.h"
#include "io.h"
#include "log.h"
#include "monoclock.h"
#include "session.h"
#include "writer.h"

#define HANDOFF_EXEC_MAX (64u << 20) /* the memfd of 65536 sessions is far below */

static int in_add(struct daemon *d, const char *name, int fd)
{
	struct handoff_fd *v = realloc(d->ho.in, (d->ho.nin + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	d->ho.in = v;
	snprintf(v[d->ho.nin].name, sizeof(v[d->ho.nin].name), "%s", name);
	v[d->ho.nin++].fd = fd;
	return 0;
}

/* One handed-over fd: kept where it belongs, or closed with a word. */
static void take_fd(struct daemon *d, const char *name, int fd, const char *from)
{
	char sid[UUID_STR_LEN];
	enum handoff_kind k = handoff_msg_fd_kind(name, sid);

	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if ((k == HANDOFF_FD_OUTER || k == HANDOFF_FD_INNER || k == HANDOFF_FD_STATE) && in_add(d, name, fd) == 0)
		return;
	if (k == HANDOFF_FD_KEEPER && d->ho.holder != HANDOFF_KEEPER) {
		d->ho.holder = HANDOFF_KEEPER;
		d->ho.keeper_fd = fd;
		return;
	}
	if (d->listen_fd < 0 && (k == HANDOFF_FD_LISTEN || k == HANDOFF_FD_UNKNOWN) &&
	    sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0) > 0) {
		int fl = fcntl(fd, F_GETFL);

		if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0) {
			d->listen_fd = fd;
			return;
		}
	}
	log_line("fd %d (\"%s\") from %s is of no use here; closed", fd, name, from);
	close(fd);
}

static int from_exec(struct daemon *d, const char *env, char *err, size_t errlen)
{
	struct handoff_msg x;
	struct stat st;
	char *end, *buf = NULL;
	long fd = strtol(env, &end, 10);
	int r;

	if (*end || fd < 3 || fd > INT32_MAX || fstat((int)fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > HANDOFF_EXEC_MAX) {
		snprintf(err, errlen, "$%s does not name the handoff memfd", HANDOFF_ENV);
		return -EINVAL;
	}
	(void)unsetenv(HANDOFF_ENV);
	buf = malloc((size_t)st.st_size + 1);
	r = !buf ? -ENOMEM : lseek((int)fd, 0, SEEK_SET) < 0 ? -errno : io_read_full((int)fd, buf, (size_t)st.st_size);
	close((int)fd);
	if (r == 0)
		r = handoff_msg_parse(buf, (size_t)st.st_size, &x);
	free(buf);
	if (r < 0) {
		snprintf(err, errlen, "cannot read what the previous daemon handed over: %s", strerror(-r));
		return r;
	}
	d->listen_activated = x.listen_activated;
	snprintf(d->listen_path, sizeof(d->listen_path), "%s", x.listen_path);
	d->listen_dev = (dev_t)x.listen_dev;
	d->listen_ino = (ino_t)x.listen_ino;
	for (size_t i = 0; i < x.nfds; i++) {
		if (fcntl(x.fds[i].fd, F_GETFD) < 0) {
			log_line("fd %d (\"%s\") was not handed over after all", x.fds[i].fd, x.fds[i].name);
			continue;
		}
		take_fd(d, x.fds[i].name, x.fds[i].fd, "the previous daemon");
	}
	d->ho.keeper_pid = (pid_t)x.keeper_pid;
	d->ho.resumed = x.resumed;
	d->ho.exec_handoff_ns = x.handoff_ns;
	d->ho.source = "exec";
	handoff_msg_free(&x);
	if (d->listen_fd < 0) {
		snprintf(err, errlen, "the previous daemon handed over no listening socket");
		return -EBADF;
	}
	return 0;
}

static int from_listen_fds(struct daemon *d, char *err, size_t errlen)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names);

	if (n < 0) {
		snprintf(err, errlen, "cannot take the fds from the service manager: %s", strerror(-n));
		return n;
	}
	for (int i = 0; i < n; i++)
		take_fd(d, names && names[i] ? names[i] : "", SD_LISTEN_FDS_START + i, "the service manager");
	if (d->listen_fd >= 0)
		d->listen_activated = true;
	if (d->ho.nin)
		d->ho.source = "fdstore";
	for (char **p = names; p && *p; p++)
		free(*p);
	free(names);
	return 0;
}

int handoff_exec_collect(struct daemon *d, char *err, size_t errlen)
{
	const char *env = getenv(HANDOFF_ENV);

	err[0] = '\0';
	return env ? from_exec(d, env, err, errlen) : from_listen_fds(d, err, errlen);
}

/* Says (with why) how many registered sessions waiting for their attach a
 * handoff cannot keep: their tokens are not handed over. */
static void log_unattached(struct daemon *d, const char *why)
{
	unsigned n = 0;

	for (struct session *s = d->sessions; s; s = s->next)
		n += s->phase == SESSION_OPEN;
	if (n)
		log_line("%s: %u registered session%s not yet attached cannot be kept (their attach will be refused)",
			 why, n, n == 1 ? "" : "s");
}

void handoff_exec_detach_all(struct daemon *d)
{
	int64_t now = mono_ns();
	unsigned n = 0;
	int r;

	log_unattached(d, "handing over");
	for (struct session *s = d->sessions, *next; s; s = next) {
		next = s->next;
		if (!session_phase_relaying(s->phase))
			continue;
		if ((r = session_save_handoff(d, s, now)) < 0) {
			/* Without its state no later daemon could go on with it:
			 * it ends here, recorded, as a plain stop ends it. */
			log_line("session %s: cannot write its state for the next daemon: %s; ended", s->st.sid,
				 strerror(-r));
			session_stop(d, s);
			continue;
		}
		session_detach(d, s);
		n++;
	}
	if (n)
		log_line("%u session%s handed over to the next start (fds kept by %s)", n, n == 1 ? "" : "s",
			 handoff_holder_name(d->ho.holder));
}

/* ---- the re-exec ---- */

static int cloexec(int fd, bool on)
{
	return fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0);
}

static int add(struct handoff_msg *x, const char *name, int fd)
{
	snprintf(x->fds[x->nfds].name, sizeof(x->fds[x->nfds].name), "%s", name);
	x->fds[x->nfds++].fd = fd;
	return 0;
}

/* The memfd naming every fd kept open, or -errno. */
static int write_memfd(const struct handoff_msg *x)
{
	char *json = NULL;
	int fd, n, r;

	n = handoff_msg_format(x, &json);
	if (n < 0)
		return n;
	fd = memfd_create("sessrecd-handoff", MFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
	} else if ((r = io_write_full(fd, json, (size_t)n)) < 0) {
		close(fd);
	} else {
		r = fd;
	}
	free(json);
	return r;
}

/* What the re-exec hands over: the listener, the keeper link, each
 * relaying session's fds (their state files are queued already). */
static int collect(struct daemon *d, struct handoff_msg *x, int64_t now)
{
	char name[HANDOFF_NAME_MAX];
	int r;

	x->fds = calloc(3 * (size_t)d->nsessions + 2, sizeof(*x->fds));
	if (!x->fds)
		return -ENOMEM;
	add(x, "listen", d->listen_fd);
	/* A keeper that has not said it listens yet would say so to the next
	 * daemon, which hears nothing unasked from a keeper: waited for here.
	 * One that does not is not handed over (the link closes at the exec
	 * and the next daemon finds it by its socket, if ever it listens). */
	if (handoff_keeper_listening(&d->ho) == 0)
		add(x, "keeper", d->ho.keeper_fd);
	for (struct session *s = d->sessions; s; s = s->next) {
		if (!session_phase_relaying(s->phase) || s->relay.outer_fd < 0)
			continue;
		if ((r = session_save_handoff(d, s, now)) < 0) {
			log_line("SIGUSR2: cannot write the state of session %s: %s", s->st.sid, strerror(-r));
			return r;
		}
		handoff_msg_fd_name(name, s->st.sid, HANDOFF_FD_OUTER);
		add(x, name, s->relay.outer_fd);
		if (s->relay.master_fd >= 0) {
			handoff_msg_fd_name(name, s->st.sid, HANDOFF_FD_INNER);
			add(x, name, s->relay.master_fd);
		}
		if (s->relay.mem.fd >= 0) {
			handoff_msg_fd_name(name, s->st.sid, HANDOFF_FD_STATE);
			add(x, name, s->relay.mem.fd);
		}
	}
	x->listen_activated = d->listen_activated;
	snprintf(x->listen_path, sizeof(x->listen_path), "%s", d->listen_path);
	x->listen_dev = d->listen_dev;
	x->listen_ino = d->listen_ino;
	x->keeper_pid = d->ho.keeper_pid;
	x->resumed = d->ho.resumed;
	x->handoff_ns = now;
	return 0;
}

/* The writer is flushed, so every line and state file is on disk before the
 * exec; waiting closes get their answer. */
static void flush_writer(struct daemon *d)
{
	loop_del(&d->loop, &d->writer_io);
	writer_stop(d->writer);
	d->writer = NULL;
	session_writer_stopped(d);
}

static void restart_writer(struct daemon *d)
{
	int wfd, r;

	if ((r = writer_start(&d->writer, &wfd)) < 0 || (r = loop_set(&d->loop, &d->writer_io, wfd, EPOLLIN)) < 0) {
		/* Nothing can be recorded any more: stop as if told to. */
		log_line("cannot restart the disk writer: %s; stopping", strerror(-r));
		d->quit = true;
		return;
	}
	for (struct session *s = d->sessions; s; s = s->next)
		s->sync.urgent = true;
}

void handoff_exec_run(struct daemon *d)
{
	struct handoff_msg x = { 0 };
	char env[32];
	int memfd = -1, r;

	if (!d->ho.exe[0] || access(d->ho.exe, X_OK) < 0) {
		log_line("SIGUSR2: cannot run %s: %s; still running", d->ho.exe[0] ? d->ho.exe : "(unknown binary)",
			 strerror(d->ho.exe[0] ? errno : ENOENT));
		return;
	}
	log_unattached(d, "SIGUSR2");
	if ((r = collect(d, &x, mono_ns())) < 0) {
		handoff_msg_free(&x);
		log_line("SIGUSR2: %s; still running", strerror(-r));
		return;
	}
	flush_writer(d);
	if ((memfd = write_memfd(&x)) < 0) {
		r = memfd;
		goto fail;
	}
	for (size_t i = 0; i < x.nfds; i++)
		(void)cloexec(x.fds[i].fd, false);
	(void)cloexec(memfd, false);
	snprintf(env, sizeof(env), "%d", memfd);
	log_line("SIGUSR2: re-executing %s with %zu fds", d->ho.exe, x.nfds);
	if (setenv(HANDOFF_ENV, env, 1) == 0)
		execv(d->ho.exe, d->ho.argv);
	r = -errno;
	(void)unsetenv(HANDOFF_ENV);
	for (size_t i = 0; i < x.nfds; i++)
		(void)cloexec(x.fds[i].fd, true);
	close(memfd);
fail:
	log_line("SIGUSR2: cannot re-execute %s: %s; still running with every session", d->ho.exe, strerror(-r));
	handoff_msg_free(&x);
	restart_writer(d);
}
