/* fuzz_shells: an enrolled user's shell file's content (common/shells), as
 * sessrec-shell reads it once the file is trusted. It must not crash, and
 * what it accepts is one absolute path without control characters. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shells.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[PATH_MAX];

	if (shells_parse((const char *)data, size, buf, sizeof(buf)) == 0 &&
	    (!shells_path_ok(buf) || strlen(buf) + 1 < size || buf[0] != '/'))
		abort();
	return 0;
}
