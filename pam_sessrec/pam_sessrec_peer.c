/* pam_sessrec_peer: the client's numeric address for login(1) run by an
 * inetd-style server (telnetd): the connection its parent serves, since the
 * PAM_RHOST telnetd passes is a reverse-DNS name that whoever owns the
 * client's address chooses. Asked of the socket itself (pidfd_getfd, then
 * getpeername), else looked up through /proc/net. Convention: 0 or -errno. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pam_sessrec.h"

#define PEER_MAX_SOCKETS 16
#define TCP_ESTABLISHED 1

/* The socket inodes among pid's fds (at most max). */
static size_t socket_inodes(pid_t pid, unsigned long *inodes, size_t max)
{
	char dir[64], link[64];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	d = opendir(dir);
	if (!d)
		return 0;
	while (n < max && (e = readdir(d))) {
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		len = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%lu]", &inodes[n]) == 1)
			n++;
	}
	closedir(d);
	return n;
}

/* An address as text; a v4-mapped IPv6 one as the IPv4 it carries. */
static int ntop4(const struct in_addr *a, char *ip, size_t cap)
{
	return inet_ntop(AF_INET, a, ip, (socklen_t)cap) ? 0 : -ENOSPC;
}

static int ntop6(const struct in6_addr *a, char *ip, size_t cap)
{
	if (IN6_IS_ADDR_V4MAPPED(a))
		return inet_ntop(AF_INET, &a->s6_addr[12], ip, (socklen_t)cap) ? 0 : -ENOSPC;
	return inet_ntop(AF_INET6, a, ip, (socklen_t)cap) ? 0 : -ENOSPC;
}

/* The kernel prints each 32-bit word of the address as the hex of its
 * in-memory value. */
static int hex_address(const char *hex, char *ip, size_t cap)
{
	size_t len = strlen(hex);
	uint32_t w[4];

	if (len == 8) {
		struct in_addr a;

		if (sscanf(hex, "%8" SCNx32, &w[0]) != 1)
			return -EINVAL;
		a.s_addr = w[0];
		return ntop4(&a, ip, cap);
	}
	if (len == 32) {
		struct in6_addr a;

		if (sscanf(hex, "%8" SCNx32 "%8" SCNx32 "%8" SCNx32 "%8" SCNx32, &w[0], &w[1], &w[2], &w[3]) != 4)
			return -EINVAL;
		memcpy(&a, w, sizeof(a));
		return ntop6(&a, ip, cap);
	}
	return -EINVAL;
}

/* Looks the inodes up in one of /proc/net/tcp{,6}: 0 when exactly one
 * established connection matched so far (*found counts them). */
static void scan_table(const char *table, const unsigned long *inodes, size_t n, char *ip, size_t cap, int *port,
		       int *found)
{
	char line[512], rem[40];
	FILE *f = fopen(table, "re");
	unsigned long inode;
	unsigned st;
	int p;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%*x %39[0-9A-Fa-f]:%x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", rem,
			   &p, &st, &inode) != 4 ||
		    st != TCP_ESTABLISHED)
			continue;
		size_t i = 0;

		/* The same socket is often on several fds (inetd gives it as 0-2). */
		while (i < n && inodes[i] != inode)
			i++;
		if (i == n)
			continue;
		if (*found == 0 && hex_address(rem, ip, cap) == 0) {
			*port = p;
			*found = 1;
		} else {
			*found = 2; /* ambiguous: a server with several clients */
		}
	}
	fclose(f);
}

/* The peer of the TCP socket an inetd-style parent has on its stdin. Exact
 * and atomic, where /proc/net/tcp is read in pieces and may skip a line
 * while other connections come and go (seen under load). Needs ptrace
 * rights over the parent, which login, as root, has. */
static int peer_by_pidfd(pid_t parent, char *ip, size_t cap, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int pfd, fd, r = -ENOENT;

	pfd = pidfd_open(parent, 0);
	if (pfd < 0)
		return -errno;
	fd = pidfd_getfd(pfd, 0, 0); /* the new fd is close-on-exec */
	close(pfd);
	if (fd < 0)
		return -errno;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

			if ((r = ntop4(&a->sin_addr, ip, cap)) == 0)
				*port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

			if ((r = ntop6(&a->sin6_addr, ip, cap)) == 0)
				*port = ntohs(a->sin6_port);
		}
	}
	close(fd);
	return r;
}

int pamsr_peer_of_parent(char *ip, size_t cap, int *port)
{
	unsigned long inodes[PEER_MAX_SOCKETS];
	pid_t parent = getppid();
	int found = 0;
	size_t n;

	if (parent <= 1)
		return -ENOENT;
	if (peer_by_pidfd(parent, ip, cap, port) == 0)
		return 0;
	n = socket_inodes(parent, inodes, PEER_MAX_SOCKETS);
	if (n == 0)
		return -ENOENT;
	scan_table("/proc/net/tcp", inodes, n, ip, cap, port, &found);
	scan_table("/proc/net/tcp6", inodes, n, ip, cap, port, &found);
	return found == 1 ? 0 : -ENOENT;
}
