/* proctitle: the name ps shows for the daemon (ProcessName=): the comm
 * (prctl PR_SET_NAME) and the argv area rewritten in place. */
#pragma once
#include <stddef.h>

struct proctitle {
	char *area; /* argv[0] .. end of the last contiguous argument */
	size_t len;
};

/* Remembers the argv area; call before anything else keeps pointers into
 * argv (copy what is needed first: the area is overwritten). */
void proctitle_init(struct proctitle *t, int argc, char **argv);

/* Sets comm (first 15 bytes) and the command line to name. 0 or -errno. */
int proctitle_set(struct proctitle *t, const char *name);
