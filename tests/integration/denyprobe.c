/* denyprobe: the tests' process the kernel refuses (issue 13). It installs
 * a seccomp filter with SECCOMP_FILTER_FLAG_LOG (every action it takes is
 * an audit record), calls getppid COUNT times (refused with EPERM), prints
 * "denyprobe pid=P denied=N", waits PAUSE ms, and with --kill calls
 * getpgid, which the filter answers with SECCOMP_RET_KILL_PROCESS.
 * usage: denyprobe [--count N] [--pause-ms M] [--kill] */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getpgid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	long count = 1, pause_ms = 0, denied = 0;
	int kill = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = atol(argv[++i]);
		else if (strcmp(argv[i], "--pause-ms") == 0 && i + 1 < argc)
			pause_ms = atol(argv[++i]);
		else if (strcmp(argv[i], "--kill") == 0)
			kill = 1;
		else
			return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_LOG, &prog) < 0) {
		perror("denyprobe: seccomp");
		return 1;
	}
	for (long i = 0; i < count; i++)
		if (syscall(__NR_getppid) < 0 && errno == EPERM)
			denied++;
	printf("denyprobe pid=%ld denied=%ld\n", (long)getpid(), denied);
	fflush(stdout);
	if (pause_ms > 0) {
		struct timespec ts = { pause_ms / 1000, (pause_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	if (kill)
		syscall(__NR_getpgid, 0);
	return 0;
}
