/* innerpty: the inner pty the daemon makes for a session (sessrecd(8),
 * "Threat model"): the shell's terminal, never one the attaching process
 * brings, so the daemon relays only a master it made itself.
 * Convention: 0 or -errno; never logs. */
#pragma once
#include <sys/types.h>

/* Opens a new pty pair with the modes and window size of outer_fd (when
 * outer_fd is not a terminal: the kernel's default modes and 80x24). On 0
 * *master and *slave are open, O_CLOEXEC, the slave opened O_NOCTTY (it is
 * nobody's controlling terminal until the shell takes it). The slave
 * belongs to owner, mode 0620 (its group stays devpts' tty group), as
 * sshd leaves a login's pty: programs that open the terminal by name
 * (ttyname, $GPG_TTY) work. */
int innerpty_open(int outer_fd, uid_t owner, int *master, int *slave);
