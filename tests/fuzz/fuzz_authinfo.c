/* fuzz_authinfo: each input is an SSH_AUTH_INFO_0 value for authinfo_parse;
 * it must never crash, and what it keeps fits its fields and the summary. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authinfo ai;
	char sum[sizeof(ai.method) + sizeof(ai.key_type) + sizeof(ai.key_fp) + 2];

	if (authinfo_parse((const char *)data, size, &ai) < 0) {
		if (ai.method[0] || ai.key_fp[0])
			abort();
		return 0;
	}
	if (!ai.method[0] || (ai.key_fp[0] && strncmp(ai.key_fp, "SHA256:", 7) != 0) ||
	    (ai.key_fp[0] != '\0') != (ai.key_type[0] != '\0'))
		abort();
	if (authinfo_summary(&ai, sum, sizeof(sum)) < 0)
		abort();
	return 0;
}
