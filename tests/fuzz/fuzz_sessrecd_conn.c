/* fuzz_sessrecd_conn: one message (and optionally fds) from a client, as
 * systemd's fuzz-journald-stream does it: a socketpair whose one end is
 * installed as a real sessrecd connection, the input written to the other
 * end, the daemon's loop run until it is handled. The daemon must not
 * crash, must answer or hang up, and must leak no fd.
 * Input: byte 0 = flags (bit 0: peer is root; bits 1-3: fds sent), the
 * rest is the message. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "fdpass.h"
#include "proto.h"
#include "server.h"
#include "service.h"
#include "session.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct daemon *d;

static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!dir)
		abort();
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char tmp[] = "/tmp/fuzz_sessrecd_conn.XXXXXX";
	char err[512];
	sigset_t all;

	(void)argc;
	(void)argv;
	d = calloc(1, sizeof(*d));
	if (!d || !mkdtemp(tmp))
		abort();
	config_defaults(&d->cfg);
	snprintf(d->cfg.shard_dir, sizeof(d->cfg.shard_dir), "%s/shards", tmp);
	snprintf(d->cfg.state_dir, sizeof(d->cfg.state_dir), "%s/state", tmp);
	d->cfg.syslog_targets = 0;
	d->cfg.min_free = 0;
	d->cfg.max_sessions = 8;
	/* service_init would load eBPF in a thread; the harness never serves
	 * a real attach. */
	snprintf(d->cfg.command_source, sizeof(d->cfg.command_source), "off");
	if (service_init(d, err, sizeof(err)) < 0) {
		fprintf(stderr, "service_init: %s\n", err);
		abort();
	}
	/* The daemon blocked these for its signalfd; the fuzzer wants them. */
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	return 0;
}

/* Runs the loop until it has nothing more to do right now. */
static void settle(void)
{
	for (int i = 0; i < 64; i++)
		if (loop_run_once(&d->loop, 0) <= 0)
			break;
	service_after_events(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ucred cred = { .pid = getpid() };
	int sv[2], fds[8], before, nfds;
	char reply[8192], msg[2 * PROTO_MSG_MAX];

	if (size < 1 || size > sizeof(msg))
		return 0;
	memcpy(msg, data + 1, size - 1);
	before = count_fds();
	cred.uid = cred.gid = (data[0] & 1) ? 0 : 1000;
	nfds = (data[0] >> 1) & 7;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (server_conn_install(d, sv[0], &cred) < 0)
		abort();
	for (int i = 0; i < nfds; i++)
		if ((fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
			abort();
	/* More than SCM_MAX_FD would not even be sent; FDPASS_MAX is what the
	 * sender side allows, so send the rest raw when there are more. */
	if (nfds <= FDPASS_MAX) {
		(void)fdpass_send(sv[1], msg, size - 1, fds, (size_t)nfds);
	} else {
		char cbuf[CMSG_SPACE(sizeof(int) * 8)];
		struct iovec iov = { .iov_base = msg, .iov_len = size - 1 };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		memset(cbuf, 0, sizeof(cbuf));
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
		(void)sendmsg(sv[1], &mh, MSG_NOSIGNAL);
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	settle();
	while (recv(sv[1], reply, sizeof(reply), MSG_DONTWAIT) > 0)
		;
	close(sv[1]);
	settle();
	/* Every connection went with its peer; sessions are dropped by hand. */
	if (d->conns)
		abort();
	while (d->sessions)
		session_free(d, d->sessions);
	if (count_fds() != before) {
		fprintf(stderr, "fd leak: %d before, %d after\n", before, count_fds());
		abort();
	}
	return 0;
}
