/* outertty: the daemon taking the user's outer terminal for the length of
 * a session and giving it back (sessrecd(8), "Threat model"): owner root,
 * mode 0600, every file description opened before revoked (a hangup),
 * TIOCEXCL on the one the daemon keeps; the owner, group and mode put back
 * at the end. No process of the user can then open, read or write it.
 * Convention: 0 or -errno; never logs. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

struct state_tty_owner;

/* Takes the terminal fd names (a tty the peer sent): saves its owner,
 * group and permission bits in *was (was->taken set once anything
 * changed), makes it root's with mode 0600, when hangup hangs it up
 * (TIOCVHANGUP: every file description of it, fd's too, reads end of file
 * and writes fail from then on; a blocked read returns; the session leader
 * and foreground group get SIGHUP and the terminal is nobody's controlling
 * tty any more) and opens it again for the
 * daemon: *newfd, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, with
 * TIOCEXCL set (even root without CAP_SYS_ADMIN cannot open it then).
 * fd stays the caller's. On failure after was->taken the caller gives the
 * terminal back with outertty_give_back on fd. */
int outertty_take(int fd, bool hangup, struct state_tty_owner *was, int *newfd);

/* Puts back what outertty_take saved (TIOCNXCL, owner, group, mode) on fd,
 * a description of the same terminal; a no-op when !was->taken. */
int outertty_give_back(int fd, const struct state_tty_owner *was);
