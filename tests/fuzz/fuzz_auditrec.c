/* fuzz_auditrec: each input is one kernel log record for
 * auditrec_parse_kmsg, and (its first byte picking the type) one audit
 * netlink body for auditrec_parse; neither may crash, and every string
 * taken is NUL-terminated within its field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auditrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct auditrec *r)
{
	if (strnlen(r->comm, sizeof(r->comm)) == sizeof(r->comm) || strnlen(r->exe, sizeof(r->exe)) == sizeof(r->exe) ||
	    strnlen(r->op, sizeof(r->op)) == sizeof(r->op) ||
	    strnlen(r->target, sizeof(r->target)) == sizeof(r->target) ||
	    strnlen(r->profile, sizeof(r->profile)) == sizeof(r->profile) ||
	    strnlen(r->tclass, sizeof(r->tclass)) == sizeof(r->tclass))
		abort();
	if (r->msec > 999)
		abort();
	(void)auditrec_syscall_name(r->arch, r->syscall);
	(void)auditrec_action(r->code);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned types[4] = { 1326, 1400, 1107, 1300 };
	struct auditrec r;

	if (auditrec_parse_kmsg((const char *)data, size, &r) == 0)
		check(&r);
	if (size > 0 && auditrec_parse(types[data[0] & 3], (const char *)data + 1, size - 1, &r) == 0)
		check(&r);
	return 0;
}
