/* log: the daemon's own diagnostics (not events): one line on stderr with a
 * "sessrecd: " prefix, written by one write() so lines never interleave;
 * under systemd journald captures stderr. A slow reader never stalls the
 * daemon: stderr and the events' stdout are written through struct
 * log_out, which drops (and counts) a line that would block. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* A line output that never blocks. Zeroed is "not set up yet": the first
 * line sets it up for its fd (a pipe, FIFO or terminal gets a private
 * non-blocking description of its own, so the flags of the one we share
 * with others stay as they are; a socket is sent to with MSG_DONTWAIT; a
 * regular file is written as it is). */
struct log_out {
	bool set;
	bool sock;
	int fd;
	unsigned long dropped; /* lines dropped since the last that went out */
};

/* Writes one whole line (n bytes, newline included) to src through o.
 * 1 when it went out, with *dropped set to the number of lines dropped
 * before it (the caller says so once); 0 when it was dropped (counted). */
int log_out_line(struct log_out *o, int src, const char *line, size_t n, unsigned long *dropped);

/* Logs one line (printf format, no trailing newline needed). Lines that
 * stderr does not take are counted, and one line says how many once it
 * takes lines again. */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
