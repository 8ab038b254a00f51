/* ptyswitch: open the inner pty and make its slave the controlling terminal,
 * either in place (session leader) or in a forked child. 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "ptyswitch.h"

/* The slave end of master, O_CLOEXEC from the start. TIOCGPTPEER (Linux
 * 4.13) opens it without a path lookup that a mount could redirect. */
static int open_slave(int master)
{
	char path[64];
	int fd;

#ifdef TIOCGPTPEER
	fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno != EINVAL && errno != ENOTTY)
		return -errno;
#endif
	if (ptsname_r(master, path, sizeof(path)) != 0)
		return -ENOTTY;
	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int ptyswitch_open(int outer_fd, int *master, int *slave)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	struct termios tio;
	bool is_tty = tcgetattr(outer_fd, &tio) == 0;
	int m = -1, s = -1, r;

	/* A tty's size is copied even when it is 0x0: the daemon compares the
	 * two and programs cope with an unknown size. */
	if (is_tty && ioctl(outer_fd, TIOCGWINSZ, &ws) < 0)
		ws = (struct winsize){ .ws_row = 24, .ws_col = 80 };

	m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0) {
		r = -errno;
		goto out;
	}
	if (grantpt(m) < 0 || unlockpt(m) < 0) {
		r = -errno;
		goto out;
	}
	s = open_slave(m);
	if (s < 0) {
		r = s;
		goto out;
	}
	if ((is_tty && tcsetattr(s, TCSANOW, &tio) < 0) || ioctl(s, TIOCSWINSZ, &ws) < 0) {
		r = -errno;
		goto out;
	}
	*master = m;
	*slave = s;
	return 0;
out:
	if (s >= 0)
		close(s);
	if (m >= 0)
		close(m);
	return r;
}

/* dup2 leaves the copies without FD_CLOEXEC; a slave already sitting on
 * 0-2 keeps its own flag, so that is cleared by hand. */
static int onto_stdio(int slave)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fd == slave) {
			if (fcntl(fd, F_SETFD, 0) < 0)
				return -errno;
		} else if (dup2(slave, fd) < 0) {
			return -errno;
		}
	}
	if (slave > 2)
		close(slave);
	return 0;
}

int ptyswitch_take(int slave)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int r = 0;

	sigemptyset(&ign.sa_mask);
	if (sigaction(SIGHUP, &ign, &old) < 0)
		return -errno;
	/* ENOTTY: fd 0 is not our controlling tty (or we have none);
	 * TIOCSCTTY below says whether we can take the slave anyway. */
	if (ioctl(0, TIOCNOTTY) < 0 && errno != ENOTTY) {
		r = -errno;
		goto out;
	}
	/* Setting SIG_IGN again flushes a SIGHUP left pending because the
	 * caller had it blocked; restoring the old action must not deliver it. */
	sigaction(SIGHUP, &ign, NULL);
	if (ioctl(slave, TIOCSCTTY, 0) < 0 || tcsetpgrp(slave, getpgrp()) < 0) {
		r = -errno;
		goto out;
	}
	r = onto_stdio(slave);
out:
	sigaction(SIGHUP, &old, NULL);
	return r;
}

int ptyswitch_child(int slave)
{
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 || tcsetpgrp(slave, getpid()) < 0)
		return -errno;
	return onto_stdio(slave);
}
