/* fuzz_sealkey: each input is the text of an escrow key file for
 * sealkey_parse; it must never crash, and a key it accepts must format
 * back to text that parses to the same key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[SEALKEY_BYTES], again[SEALKEY_BYTES];
	char text[46];
	char *copy = malloc(size ? size : 1); /* exact size: ASan sees overreads */

	memcpy(copy, data, size);
	if (sealkey_parse(copy, size, key) == 0) {
		sealkey_format(key, text);
		if (sealkey_parse(text, strlen(text), again) != 0 || memcmp(key, again, sizeof(key)) != 0)
			abort();
	}
	free(copy);
	return 0;
}
