/* log: stderr diagnostics of sessrecd, one write() per line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

void log_line(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n, k;

	n = snprintf(buf, sizeof(buf), "sessrecd: ");
	va_start(ap, fmt);
	k = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	n += k;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	/* Diagnostics are best effort: a full stderr pipe must not matter. */
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}
