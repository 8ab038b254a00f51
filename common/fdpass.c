/* fdpass: sendmsg/recvmsg with SCM_RIGHTS, after OpenSSH's monitor_fdpass.c.
 * Every fd that arrives is CLOEXEC and is either handed to the caller or
 * closed here. Convention: >= 0 or -errno. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdpass.h"

/* Room for one SCM_RIGHTS message of FDPASS_MAX fds, aligned for cmsghdr. */
union fdpass_cmsgbuf {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
};

#define FDPASS_SLOTS (sizeof(union fdpass_cmsgbuf) / sizeof(int))

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int fdpass_send_flags(int sock, const void *buf, size_t len, const int *fds, size_t nfds, int flags)
{
	union fdpass_cmsgbuf cbuf;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > FDPASS_MAX || (nfds && !fds))
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EMSGSIZE;
	return 0;
}

int fdpass_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	return fdpass_send_flags(sock, buf, len, fds, nfds, 0);
}

ssize_t fdpass_recv(int sock, void *buf, size_t cap, int *fds, size_t maxfds, size_t *nfds, int flags)
{
	union fdpass_cmsgbuf cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf),
	};
	int got[FDPASS_SLOTS];
	size_t ngot = 0;
	int bad = 0;
	ssize_t n;

	*nfds = 0;
	if (maxfds > FDPASS_MAX)
		maxfds = FDPASS_MAX;
	do
		n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	/* Collect every fd the kernel installed before judging anything, so
	 * that each one is either returned or closed. */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len >= CMSG_LEN(0)) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (ngot < FDPASS_SLOTS)
					got[ngot++] = fd;
				else
					close(fd); /* cannot happen with our buffer size */
			}
		} else {
			/* SCM_CREDENTIALS and the like: nobody asked for them. */
			bad = -EBADMSG;
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		bad = -EBADMSG;
	else if (mh.msg_flags & MSG_TRUNC)
		bad = -EMSGSIZE;
	else if (!bad && ngot > maxfds)
		bad = -EBADMSG;
	if (bad) {
		close_all(got, ngot);
		return bad;
	}
	if (n == 0) {
		/* Peer closed (or an empty packet, which carries nothing useful). */
		close_all(got, ngot);
		return 0;
	}
	if (ngot)
		memcpy(fds, got, ngot * sizeof(int));
	*nfds = ngot;
	return n;
}
