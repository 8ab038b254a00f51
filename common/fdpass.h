/* fdpass: the one place file descriptors cross a socket (SCM_RIGHTS), in the
 * manner of OpenSSH's monitor_fdpass.c. Convention: >= 0 or -errno. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#define FDPASS_MAX 4

/* Sends one datagram/packet of len bytes with nfds (<= FDPASS_MAX) fds
 * attached. Returns 0, or -errno (-EMSGSIZE if the packet was cut short). */
int fdpass_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds);
/* The same with sendmsg flags (MSG_DONTWAIT for a daemon that must not block;
 * MSG_NOSIGNAL is always added). */
int fdpass_send_flags(int sock, const void *buf, size_t len, const int *fds, size_t nfds, int flags);

/* Receives one packet into buf (at most cap bytes) and up to maxfds fds, all
 * received with MSG_CMSG_CLOEXEC. flags is passed to recvmsg (MSG_DONTWAIT).
 * Returns the byte count (0: peer closed) with *nfds set, or -errno:
 * -EMSGSIZE when the packet was larger than cap (MSG_TRUNC), -EBADMSG when
 * control data was truncated (MSG_CTRUNC), unexpected control messages came,
 * or more than maxfds fds arrived. On every error each fd that did arrive is
 * closed and *nfds is 0. */
ssize_t fdpass_recv(int sock, void *buf, size_t cap, int *fds, size_t maxfds, size_t *nfds, int flags);
