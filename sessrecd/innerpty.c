/* innerpty: the daemon's own inner pty pair (see innerpty.h), after
 * posix_openpt(3); its slave goes to the shim in the attach reply.
 * Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "innerpty.h"

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

int innerpty_open(int outer_fd, uid_t owner, int *master, int *slave)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	struct termios tio;
	bool is_tty = outer_fd >= 0 && tcgetattr(outer_fd, &tio) == 0;
	int m = -1, s = -1, r;

	/* A tty's size is copied even when it is 0x0: the daemon compares the
	 * two and programs cope with an unknown size. */
	if (is_tty && ioctl(outer_fd, TIOCGWINSZ, &ws) < 0)
		ws = (struct winsize){ .ws_row = 24, .ws_col = 80 };

	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
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
	if ((is_tty && tcsetattr(s, TCSANOW, &tio) < 0) || ioctl(s, TIOCSWINSZ, &ws) < 0 ||
	    fchown(s, owner, (gid_t)-1) < 0 || fchmod(s, 0620) < 0) {
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
