/* proctitle: comm and command line rewriting for ProcessName=.
 * Convention: 0 or -errno. */
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>

#include "proctitle.h"

void proctitle_init(struct proctitle *t, int argc, char **argv)
{
	char *end;

	t->area = NULL;
	t->len = 0;
	if (argc < 1 || !argv || !argv[0])
		return;
	end = argv[0] + strlen(argv[0]) + 1;
	/* Only arguments laid out back to back, as the kernel does, are ours. */
	for (int i = 1; i < argc && argv[i] == end; i++)
		end = argv[i] + strlen(argv[i]) + 1;
	t->area = argv[0];
	t->len = (size_t)(end - argv[0]);
}

int proctitle_set(struct proctitle *t, const char *name)
{
	size_t n;

	if (!name || !*name)
		return -EINVAL;
	if (prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0) < 0)
		return -errno;
	if (!t->area || t->len < 2)
		return 0;
	n = strlen(name);
	if (n > t->len - 1)
		n = t->len - 1;
	/* Zero the rest so no old argument shows through /proc/PID/cmdline. */
	memset(t->area, 0, t->len);
	memcpy(t->area, name, n);
	return 0;
}
