/* log: the daemon's own diagnostics (not events): one line on stderr with a
 * "sessrecd: " prefix, written by one write() so lines never interleave;
 * under systemd journald captures stderr. */
#pragma once

/* Logs one line (printf format, no trailing newline needed). */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
