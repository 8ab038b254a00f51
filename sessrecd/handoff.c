/* handoff: the holder of the session fds (fd store or keeper) and the
 * daemon's restart context (see handoff.h). Convention: 0 or -errno. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "config.h"
#include "handoff.h"
#include "keeper.h"
#include "keeperlink.h"
#include "log.h"
#include "monoclock.h"

#define HANDOFF_KEEPER_WAIT_MS 2000     /* a clean shutdown waits this long for the keeper */
#define HANDOFF_KEEPER_MIN_LIFE_MS 5000 /* a keeper dying sooner is not replaced */

static void keeper_cb(struct loop_io *io, uint32_t ev);

int handoff_init(struct handoff *ho, struct loop *loop, const struct sessrec_config *cfg, int argc, char **argv,
		 handoff_rehold_fn rehold, void *userdata)
{
	ssize_t n = readlink("/proc/self/exe", ho->exe, sizeof(ho->exe) - 1);

	ho->loop = loop;
	ho->cfg = cfg;
	loop_io_init(&ho->keeper_io, keeper_cb, ho);
	ho->rehold = rehold;
	ho->userdata = userdata;
	ho->keeper_fd = -1;
	ho->exe[n > 0 ? n : 0] = '\0';
	ho->argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!ho->argv)
		return -ENOMEM;
	for (int i = 0; i < argc; i++)
		if (!(ho->argv[i] = strdup(argv[i])))
			return -ENOMEM;
	return 0;
}

const char *handoff_holder_name(enum handoff_holder h)
{
	return h == HANDOFF_FDSTORE ? "fdstore" : h == HANDOFF_KEEPER ? "keeper" : "none";
}

bool handoff_fdstore_usable(char *(*getenv_fn)(const char *))
{
	const char *sock = getenv_fn("NOTIFY_SOCKET"), *max = getenv_fn("FDSTORE");
	char *end;
	unsigned long n;

	if (!sock || !*sock)
		return false;
	if (!max)
		return true; /* systemd before 254 does not say; our unit sets FileDescriptorStoreMax= */
	errno = 0;
	n = strtoul(max, &end, 10);
	return !errno && end != max && !*end && n > 0;
}

/* ---- the fd store ---- */

static void fdstore_put(const char *sid, int fd, enum handoff_kind kind)
{
	char name[HANDOFF_NAME_MAX], msg[HANDOFF_NAME_MAX + 64];
	int r;

	handoff_msg_fd_name(name, sid, kind);
	/* FDPOLL=0: the fds are ours to remove; a pty master polls HUP while
	 * its shell is between terminals, which must not drop it. */
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", name);
	r = sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
	if (r <= 0)
		log_line("session %s: cannot put fd %s in the service manager's fd store: %s", sid, name,
			 r < 0 ? strerror(-r) : "no $NOTIFY_SOCKET");
}

static void fdstore_remove(const char *sid, enum handoff_kind kind)
{
	char name[HANDOFF_NAME_MAX], msg[HANDOFF_NAME_MAX + 64];

	handoff_msg_fd_name(name, sid, kind);
	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	(void)sd_pid_notify(0, 0, msg);
}

void handoff_hold(struct handoff *ho, const char *sid, int outer, int inner, int state)
{
	int r;

	if (outer < 0)
		return;
	if (ho->holder == HANDOFF_FDSTORE) {
		fdstore_put(sid, outer, HANDOFF_FD_OUTER);
		if (inner >= 0)
			fdstore_put(sid, inner, HANDOFF_FD_INNER);
		if (state >= 0)
			fdstore_put(sid, state, HANDOFF_FD_STATE);
	} else if (ho->holder == HANDOFF_KEEPER) {
		r = keeperlink_hold(ho->keeper_fd, sid, outer, inner, state);
		if (r < 0)
			log_line("session %s: cannot hand its fds to the keeper: %s; a crash would hang it up", sid,
				 strerror(-r));
	}
}

void handoff_hold_state(struct handoff *ho, const char *sid, int outer, int inner, int state)
{
	if (state < 0)
		return;
	if (ho->holder == HANDOFF_FDSTORE) {
		fdstore_remove(sid, HANDOFF_FD_STATE); /* one that could not be used */
		fdstore_put(sid, state, HANDOFF_FD_STATE);
	} else if (ho->holder == HANDOFF_KEEPER) {
		handoff_hold(ho, sid, outer, inner, state);
	}
}

void handoff_drop_inner(struct handoff *ho, const char *sid)
{
	if (ho->holder == HANDOFF_FDSTORE)
		fdstore_remove(sid, HANDOFF_FD_INNER);
	else if (ho->holder == HANDOFF_KEEPER)
		(void)keeperlink_drop(ho->keeper_fd, sid, true);
}

void handoff_drop(struct handoff *ho, const char *sid)
{
	if (ho->holder == HANDOFF_FDSTORE) {
		fdstore_remove(sid, HANDOFF_FD_OUTER);
		fdstore_remove(sid, HANDOFF_FD_INNER);
		fdstore_remove(sid, HANDOFF_FD_STATE);
	} else if (ho->holder == HANDOFF_KEEPER) {
		(void)keeperlink_drop(ho->keeper_fd, sid, false);
	}
}

/* ---- the keeper link ---- */

static void keeper_lost(struct handoff *ho, const char *why)
{
	loop_del(ho->loop, &ho->keeper_io);
	close(ho->keeper_fd);
	ho->keeper_fd = -1;
	ho->holder = HANDOFF_NONE;
	log_line("the keeper (pid %ld) is gone (%s); starting a new one", (long)ho->keeper_pid, why);
	ho->keeper_pid = 0;
	/* A keeper that dies at once is not restarted in a loop. */
	if (mono_ms() - ho->keeper_spawned_ms < HANDOFF_KEEPER_MIN_LIFE_MS) {
		log_line("the keeper died within 5 s of its start; not starting another");
		return;
	}
	if (handoff_keeper_start(ho) == 0 && ho->rehold)
		ho->rehold(ho);
}

static void keeper_cb(struct loop_io *io, uint32_t ev)
{
	struct handoff *ho = io->userdata;
	char buf[256];
	ssize_t n;

	(void)ev;
	if (!ho->keeper_listening) {
		/* Its one message, read here: the daemon does not wait for it
		 * at start-up (the exec and the libraries take milliseconds). */
		int r = keeperlink_ready(ho->keeper_fd, 0);

		if (r == -EAGAIN)
			return;
		if (r == 0) {
			ho->keeper_listening = true;
			return;
		}
		keeper_lost(ho, r == -ECHILD ? "it could not listen" : strerror(-r));
		return;
	}
	/* The keeper says nothing more unasked: anything readable is its end. */
	n = recv(ho->keeper_fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	keeper_lost(ho, n == 0 ? "it closed the link" : n < 0 ? strerror(errno) : "it spoke unasked");
}

int handoff_keeper_watch(struct handoff *ho, int fd)
{
	int r;

	ho->keeper_fd = fd;
	ho->holder = HANDOFF_KEEPER;
	ho->keeper_listening = true;
	if ((r = loop_set(ho->loop, &ho->keeper_io, fd, EPOLLIN | EPOLLRDHUP)) < 0) {
		close(fd);
		ho->holder = HANDOFF_NONE;
		ho->keeper_fd = -1;
	}
	return r;
}

int handoff_keeper_start(struct handoff *ho)
{
	pid_t pid = 0;
	int fd = keeperlink_start(ho->owner, keeper_name(ho->cfg->process_name), &pid), r;

	ho->keeper_spawned_ms = mono_ms();
	if (fd < 0) {
		log_line("cannot start the keeper: %s; sessions will not survive a crash of the daemon", strerror(-fd));
		ho->holder = HANDOFF_NONE;
		return fd;
	}
	ho->keeper_pid = pid;
	if ((r = handoff_keeper_watch(ho, fd)) == 0)
		ho->keeper_listening = false; /* keeper_cb hears when it does */
	return r;
}

int handoff_keeper_listening(struct handoff *ho)
{
	int r;

	if (ho->holder != HANDOFF_KEEPER)
		return -ENOENT;
	if (ho->keeper_listening)
		return 0;
	if ((r = keeperlink_ready(ho->keeper_fd, KEEPERLINK_READY_MS)) == 0)
		ho->keeper_listening = true;
	return r;
}

bool handoff_on_term(const struct handoff *ho)
{
	return ho->holder == HANDOFF_FDSTORE;
}

void handoff_fini(struct handoff *ho)
{
	if (ho->holder == HANDOFF_KEEPER && ho->keeper_fd >= 0) {
		(void)keeperlink_bye(ho->keeper_fd);
		loop_del(ho->loop, &ho->keeper_io);
		close(ho->keeper_fd);
		ho->keeper_fd = -1;
		/* Our child: waited for, so no zombie is left to a PID 1 that
		 * may not reap. */
		for (int i = 0; ho->keeper_pid > 0 && i < HANDOFF_KEEPER_WAIT_MS / 10; i++) {
			if (waitpid(ho->keeper_pid, NULL, WNOHANG) != 0)
				break;
			usleep(10000);
		}
	}
	ho->holder = HANDOFF_NONE;
	for (char **a = ho->argv; a && *a; a++)
		free(*a);
	free(ho->argv);
	ho->argv = NULL;
	for (size_t i = 0; i < ho->nin; i++)
		close(ho->in[i].fd);
	free(ho->in);
	ho->in = NULL;
	ho->nin = 0;
}
