/* io: reads and writes that survive EINTR and short counts. 0 or -errno. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Writes all n bytes (blocking fd: a non-blocking one may give -EAGAIN after a
 * partial write); -EPIPE etc. on failure. */
int io_write_full(int fd, const void *buf, size_t n);
/* Reads exactly n bytes; -EIO on early EOF. */
int io_read_full(int fd, void *buf, size_t n);
/* Reads a whole small file (at most cap-1 bytes) NUL-terminated; returns length or -errno
 * (-EFBIG when the file holds more than cap-1 bytes: nothing is silently cut). */
ssize_t io_read_file(const char *path, char *buf, size_t cap);
/* mkdir -p with mode for the last component; existing directories are left alone. */
int io_mkdir_p(const char *path, unsigned mode);
/* Writes data to path atomically (temp file in the same directory, fsync, rename), mode as given. */
int io_write_atomic(const char *path, const void *data, size_t n, unsigned mode);
/* waitpid(pid, status, 0) again after EINTR: 0 with *status, or -errno. */
int io_waitpid(pid_t pid, int *status);
