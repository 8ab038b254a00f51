/* ptyswitch: the controlling-terminal switch (sessrec-shell(8), "Steps" 2 and 4),
 * shared by sessrec-shell, sessrecctl record and pam_sessrec's mode=tty.
 * Convention: 0 or -errno; never logs. */
#pragma once

/* For a session leader whose controlling terminal is on fd 0 (or was,
 * until sessrecd hung it up when it took it): gives it up
 * (TIOCNOTTY; the kernel then HUPs our own foreground group, so SIGHUP is
 * ignored for the duration and its previous action restored), makes slave
 * the controlling terminal with our process group in the foreground, puts it
 * on fds 0-2 and closes slave. After an error slave is still open and the
 * process may be left without a controlling terminal: callers give up (exit)
 * rather than carry on. */
int ptyswitch_take(int slave);

/* For a freshly forked child about to exec: setsid(), slave as controlling
 * terminal and foreground group, slave on fds 0-2, slave closed (left open
 * on error). */
int ptyswitch_child(int slave);
