/* fuzz_shells: an enrolled user's shell file (common/shells), as
 * sessrec-shell reads it: any content in a root-owned file under a
 * root-owned directory. It must not crash, and what it accepts is one
 * absolute path without control characters. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shells.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[PATH_MAX], file[PATH_MAX + 16];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char cwd[PATH_MAX - 64];

	/* Not under /tmp: the trust checks refuse a directory others can write. */
	if (!getcwd(cwd, sizeof(cwd)))
		abort();
	snprintf(dir, sizeof(dir), "%s/fuzz_shells.%ld", cwd, (long)getpid());
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		abort();
	snprintf(file, sizeof(file), "%s/u", dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[PATH_MAX], why[PATH_MAX + 128];
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) < 0)
		abort();
	if (shells_read(dir, "u", buf, sizeof(buf), why, sizeof(why)) == 0 && !shells_path_ok(buf))
		abort();
	return 0;
}
