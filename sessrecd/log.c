/* log: stderr diagnostics of sessrecd, one write() per line, never
 * blocking (see log.h). The state of stderr is the one static here: the
 * loop thread is the only one that logs. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 1024

static struct log_out err_out;

static void out_setup(struct log_out *o, int src)
{
	struct stat st;
	char path[32];
	int fd;

	o->set = true;
	o->fd = src;
	if (fstat(src, &st) < 0 || S_ISREG(st.st_mode))
		return; /* a file: nobody reads it at their own pace */
	if (S_ISSOCK(st.st_mode)) {
		o->sock = true;
		return;
	}
	/* O_NONBLOCK on the description we share would also hit whoever
	 * shares it (a shell's terminal): a description of our own. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", src);
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0)
		o->fd = fd;
}

int log_out_line(struct log_out *o, int src, const char *line, size_t n, unsigned long *dropped)
{
	ssize_t w;

	if (!o->set)
		out_setup(o, src);
	do
		w = o->sock ? send(o->fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL) : write(o->fd, line, n);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		o->dropped++; /* a lost line beats a stalled daemon */
		return 0;
	}
	*dropped = o->dropped;
	o->dropped = 0;
	return 1;
}

/* "sessrecd: " + the text + newline into buf; the length. */
__attribute__((format(printf, 3, 0))) static size_t format(char *buf, size_t cap, const char *fmt, va_list ap)
{
	int n = snprintf(buf, cap, "sessrecd: "), k;

	k = vsnprintf(buf + n, cap - (size_t)n - 1, fmt, ap);
	if (k < 0)
		return 0;
	n += k;
	if ((size_t)n > cap - 2)
		n = (int)cap - 2;
	buf[n++] = '\n';
	return (size_t)n;
}

void log_line(const char *fmt, ...)
{
	char buf[LOG_LINE_MAX];
	unsigned long dropped = 0;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = format(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Once stderr takes lines again it hears what it missed (this
	 * call's own count is 0 then: no deeper). */
	if (n && log_out_line(&err_out, STDERR_FILENO, buf, n, &dropped) && dropped)
		log_line("%lu log line%s dropped (stderr was not taking them)", dropped, dropped == 1 ? "" : "s");
}
