/* null_relay: the least any recorder in the terminal's data path can cost.
 * It runs a command on a new pty and copies bytes between its own terminal
 * and that pty, as script(1) or sessrecd do, but records nothing. Its
 * figures in bench_engine.py are the floor that the pty hop alone sets on
 * this machine. Usage: null_relay CMD [ARG...]; exits with CMD's status.
 * Built by bench_engine.py: cc -O2 -o null_relay bench/null_relay.c -lutil */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* What one readable side has, written whole to the other (blocking writes:
 * back-pressure without buffers); -1 at EOF or error. */
static int pump(int from, int to, char *buf, size_t cap)
{
	ssize_t n = read(from, buf, cap);

	if (n <= 0)
		return n < 0 && errno == EINTR ? 0 : -1;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[65536];
	struct termios saved, raw;
	struct winsize ws = { 24, 80, 0, 0 };
	int master, status = 0;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: null_relay CMD [ARG...]\n");
		return 2;
	}
	(void)ioctl(0, TIOCGWINSZ, &ws);
	pid = forkpty(&master, NULL, NULL, &ws);
	if (pid < 0) {
		perror("null_relay: forkpty");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror("null_relay: exec");
		_exit(127);
	}
	if (tcgetattr(0, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		(void)tcsetattr(0, TCSANOW, &raw);
	}
	for (;;) {
		struct pollfd p[2] = { { 0, POLLIN, 0 }, { master, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents && pump(master, 1, buf, sizeof(buf)) < 0)
			break; /* EIO: the command's side is closed */
		if (p[0].revents && pump(0, master, buf, sizeof(buf)) < 0)
			break;
	}
	(void)tcsetattr(0, TCSANOW, &saved);
	close(master);
	if (waitpid(pid, &status, 0) < 0)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
