/* cmdtrace_ev: the wait status decoder the command tracer's sources share
 * (cmdtrace_ev.h). */
#include "cmdtrace_ev.h"

void cmdtrace_status(struct cmdtrace_event *ev, int status)
{
	if (status & 0x7f) {
		ev->signal = status & 0x7f;
		ev->code = -1;
	} else {
		ev->signal = 0;
		ev->code = (status >> 8) & 0xff;
	}
}
