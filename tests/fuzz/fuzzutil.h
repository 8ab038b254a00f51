/* fuzzutil: what the libFuzzer targets share: the entry point's prototype
 * and REQUIRE, which aborts (a finding) when a property does not hold. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define REQUIRE(c)               \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
