/* fuzz_state: each input is a session state file for state_from_json (a
 * restarted daemon reads these, with the owner of a taken terminal it will
 * give back); it must never crash, and an accepted state must write back
 * to a text that reads the same (the terminal's owner exactly, its mode
 * within the permission bits). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct session_state a, b;
	static char buf[STATE_JSON_MAX];
	int n;

	state_free(&a); /* the strings of the last input */
	state_free(&b);
	if (state_from_json((const char *)data, size, &a) < 0)
		return 0;
	if (a.tty_owner.taken && (a.tty_owner.mode > 07777 || a.tty_owner.uid < 0 || a.tty_owner.gid < 0))
		abort();
	n = state_to_json(&a, buf, sizeof(buf));
	if (n < 0)
		return 0; /* strings at their limits may not fit twice escaped */
	if (state_from_json(buf, (size_t)n, &b) < 0)
		abort();
	if (memcmp(&a.tty_owner, &b.tty_owner, sizeof(a.tty_owner)) != 0 || strcmp(a.sid, b.sid) != 0)
		abort();
	return 0;
}
