/* pam_sessrec_tty: mode=tty, for login(1): the session's terminal is fd 0
 * when the session opens, so the module hands it to sessrecd itself and
 * moves login (and the shell it forks next) onto the inner pty the daemon
 * made, the same switch sessrec-shell makes (common/ptyswitch). login's own
 * descriptions of the terminal are hung up by the daemon: none stays
 * usable. Convention: 0 or -errno. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "pam_sessrec.h"
#include "ptyswitch.h"

int pamsr_tty_check(const char **why)
{
	pid_t self = getpid();

	if (!isatty(0)) {
		*why = "fd 0 is not a terminal";
		return -ENOTTY;
	}
	/* Only the session leader can give up its controlling terminal for
	 * the whole session and take the inner one; anywhere else (su, a
	 * nested login) the switch would leave the terminal half-owned. */
	if (getsid(0) != self || tcgetsid(0) != self) {
		*why = "not the session leader of the terminal on fd 0";
		return -EPERM;
	}
	return 0;
}

int pamsr_tty_handover(const struct pamsr_args *a, const struct pamsr_who *who, const struct pamsr_reg *reg,
		       const char *term, bool *dry_run, char *err, size_t cap)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int slave = -1, r;

	*dry_run = false;
	/* The daemon's hangup of the terminal signals us, its session
	 * leader; login must live on. */
	sigemptyset(&ign.sa_mask);
	if (sigaction(SIGHUP, &ign, &old) < 0) {
		snprintf(err, cap, "cannot ignore SIGHUP: %s", strerror(errno));
		return -errno;
	}
	/* This process is the one that opened the session and the terminal
	 * is its controlling tty: exactly what the daemon checks. */
	r = pamsr_call_attach(a, who->uid, reg->token, reg->sid, term, who->shell, 0, &slave, dry_run, err, cap);
	if (r < 0 || *dry_run)
		goto out; /* the daemon left the terminal as it was */
	r = ptyswitch_take(slave);
	if (r < 0) {
		/* ptyswitch_take closes the slave only when it succeeds. */
		if (slave > 2)
			close(slave);
		snprintf(err, cap, "cannot switch to the inner pty: %s", strerror(-r));
		r = -EPIPE;
	}
out:
	sigaction(SIGHUP, &old, NULL);
	return r;
}
