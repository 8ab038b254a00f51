/* notify: sd_notify messages of sessrecd (see notify.h). */
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "monoclock.h"
#include "notify.h"

void notify_ready(struct daemon *d)
{
	d->status_sessions = d->nlive;
	(void)sd_notifyf(0, "READY=1\nSTATUS=Recording %u sessions", d->status_sessions);
}

void notify_reloading(struct daemon *d)
{
	(void)d;
	/* MONOTONIC_USEC= lets a newer systemd match the READY=1 that follows. */
	(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)mono_us());
}

void notify_stopping(struct daemon *d)
{
	(void)d;
	(void)sd_notify(0, "STOPPING=1");
}

void notify_status(struct daemon *d)
{
	unsigned n = d->nlive;

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
