/* notify: sd_notify messages of sessrecd (see notify.h). */
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "notify.h"
#include "session.h"

void notify_ready(struct daemon *d)
{
	d->status_sessions = session_live_count(d);
	(void)sd_notifyf(0, "READY=1\nSTATUS=Recording %u sessions", d->status_sessions);
}

void notify_reloading(struct daemon *d)
{
	struct timespec ts;

	(void)d;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* MONOTONIC_USEC= lets a newer systemd match the READY=1 that follows. */
	(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
			 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
}

void notify_stopping(struct daemon *d)
{
	(void)d;
	(void)sd_notify(0, "STOPPING=1");
}

void notify_status(struct daemon *d)
{
	unsigned n = session_live_count(d);

	if (n == d->status_sessions)
		return;
	d->status_sessions = n;
	(void)sd_notifyf(0, "STATUS=Recording %u sessions", n);
}

void notify_watchdog(struct daemon *d)
{
	(void)d;
	(void)sd_notify(0, "WATCHDOG=1");
}

uint64_t notify_watchdog_interval(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec / 2;
}
