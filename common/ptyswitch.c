/* ptyswitch: make the inner pty's slave (sessrecd made it: sessrecd/innerpty.c)
 * the controlling terminal, either in place (session leader) or in a
 * forked child. 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "ptyswitch.h"

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
	/* ENOTTY: fd 0 is not our controlling tty (or we have none); EIO:
	 * it was hung up (sessrecd takes the terminal so), which also ended
	 * it being ours. TIOCSCTTY below says whether we can take the slave. */
	if (ioctl(0, TIOCNOTTY) < 0 && errno != ENOTTY && errno != EIO) {
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
