/* outertty: the outer terminal taken and given back (see outertty.h).
 * Why a hangup: TIOCEXCL and the mode stop new opens only; a process that
 * opened the terminal before the attach (a background job, code run before
 * the shim) would keep reading and writing it past the recording.
 * Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outertty.h"
#include "state.h"

#ifndef TIOCVHANGUP
#define TIOCVHANGUP 0x5437
#endif

int outertty_take(int fd, bool hangup, struct state_tty_owner *was, int *newfd)
{
	struct stat a, b;
	char path[64];
	int nfd = -1, r;

	*was = (struct state_tty_owner){ .taken = false };
	if (fstat(fd, &a) < 0)
		return -errno;
	if (!S_ISCHR(a.st_mode) || !isatty(fd))
		return -ENOTTY;
	*was = (struct state_tty_owner){ .taken = true, .uid = a.st_uid, .gid = a.st_gid, .mode = a.st_mode & 07777 };
	/* Closed to new openers first, so none slips in after the hangup. */
	if (fchown(fd, 0, (gid_t)-1) < 0 || fchmod(fd, 0600) < 0)
		return -errno;
	/* Without CAP_SYS_ADMIN (the shipped unit does not grant it) the
	 * hangup is refused: the terminal is still root's 0600 and exclusive,
	 * and in the shipped deployment no process of the user's opened it
	 * before the shim (sessrecd(8), THREAT MODEL). */
	if (hangup && ioctl(fd, TIOCVHANGUP) < 0 && errno != EPERM)
		return -errno;
	/* A new file description of the same inode: the hung-up ones stay dead. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (nfd < 0)
		return -errno;
	if (fstat(nfd, &b) < 0 || !S_ISCHR(b.st_mode) || b.st_rdev != a.st_rdev) {
		r = -EPERM;
		goto out;
	}
	if (ioctl(nfd, TIOCEXCL) < 0) {
		r = -errno;
		goto out;
	}
	*newfd = nfd;
	return 0;
out:
	close(nfd);
	return r;
}

int outertty_give_back(int fd, const struct state_tty_owner *was)
{
	int r = 0;

	if (!was->taken)
		return 0;
	/* Each step is tried: a terminal half given back beats one kept. */
	if (ioctl(fd, TIOCNXCL) < 0)
		r = -errno;
	if (fchown(fd, (uid_t)was->uid, (gid_t)was->gid) < 0)
		r = -errno;
	if (fchmod(fd, (mode_t)was->mode) < 0)
		r = -errno;
	return r;
}
