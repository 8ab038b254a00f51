/* fuzz_cmdpolicy: each input is NoTtyCommands= patterns, a NUL, and a
 * command line; the policy and the transfer detection must never crash,
 * and an allowed command under a policy is one simple command whose name
 * is made of name characters. */
#include <string.h>

#include "cmdpolicy.h"
#include "fuzzutil.h"

static const char *const chain[] = { ";", "&", "|", "`", "$(", "<(", ">(", "\n", "\r" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[4096], name[64], why[256];
	const char *pat, *cmd, *nul;
	bool policy = false;

	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	pat = buf;
	nul = memchr(buf, '\0', size);
	cmd = nul && nul < buf + size ? nul + 1 : "";
	for (const char *p = pat; *p; p++)
		policy |= *p != ' ' && *p != '\t';
	cmdpolicy_name(cmd, name, sizeof(name));
	REQUIRE(strlen(name) < sizeof(name));
	for (const char *p = name; *p; p++)
		REQUIRE(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-", *p));
	(void)cmdpolicy_patterns_valid(pat);
	(void)cmdpolicy_transfer(cmd);
	if (cmdpolicy_allowed(pat, cmd, why, sizeof(why))) {
		for (size_t i = 0; policy && i < sizeof(chain) / sizeof(chain[0]); i++)
			REQUIRE(!strstr(cmd, chain[i]));
	} else {
		REQUIRE(policy && why[0]);
	}
	return 0;
}
