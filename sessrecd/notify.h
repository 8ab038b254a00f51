/* notify: the sd_notify side of systemd's service protocol (READY=1,
 * STATUS=, RELOADING=1, STOPPING=1, WATCHDOG=1). Without $NOTIFY_SOCKET
 * every call is a no-op. */
#pragma once
#include <stdint.h>

struct daemon;

void notify_ready(struct daemon *d);
void notify_reloading(struct daemon *d);
void notify_stopping(struct daemon *d);
/* STATUS="Recording N sessions" when N changed since the last one. */
void notify_status(struct daemon *d);
void notify_watchdog(struct daemon *d);
/* The interval at which to send WATCHDOG=1 in microseconds (half of
 * WatchdogSec=), 0 when systemd does not watch us. */
uint64_t notify_watchdog_interval(void);
