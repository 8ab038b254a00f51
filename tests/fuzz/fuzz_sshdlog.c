/* fuzz_sshdlog: each input is one sshd journal MESSAGE for sshdlog_parse,
 * and what it takes goes on into an auth file line; neither may crash, the
 * fields stay NUL-terminated, the line stays one line under 4096 bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authrec.h"
#include "sshdlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshdlog l;
	struct authrec a;
	char line[AUTHREC_LINE_MAX];
	int n;

	if (sshdlog_parse((const char *)data, size, &l) < 0)
		return 0;
	if (strnlen(l.user, sizeof(l.user)) == sizeof(l.user) || l.src_port <= 0 || l.src_port > 65535 ||
	    strnlen(l.method, sizeof(l.method)) == sizeof(l.method) || !l.src_ip[0])
		abort();
	a = (struct authrec){ .user = l.user,
			      .src_ip = l.src_ip,
			      .src_port = l.src_port,
			      .method = l.method,
			      .key_type = l.key_type,
			      .key_fp = l.key_fp };
	n = authrec_format(line, sizeof(line), &a);
	if (n <= 0 || n >= AUTHREC_LINE_MAX || memchr(line, '\n', (size_t)n - 1))
		abort();
	return 0;
}
