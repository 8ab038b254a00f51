/* kdeny: the kernel's audit records of seccomp, AppArmor and SELinux
 * denials, read in the daemon's loop from the audit netlink multicast
 * group (AUDIT_NLGRP_READLOG: every record, in the initial network
 * namespace only) or else from /dev/kmsg (where the kernel prints them
 * when no auditd runs, rate-limited), parsed by common/auditrec,
 * attributed to a session (kdeny_owner) and written to its shard
 * (kdeny_rate). A denial outside every session is ignored.
 * Convention: 0 or -errno. */
#pragma once
#include <stdint.h>

#include "auditrec.h"

struct daemon;

/* Starts reading (KernelDenials=, AuditNetlink=); a source that cannot be
 * opened is logged once and the daemon goes on without it. 0 or -ENOMEM. */
int kdeny_start(struct daemon *d);

/* Writes what is still counted and stops. Safe when never started. */
void kdeny_stop(struct daemon *d);

/* One record as the source gave it (also for tests): attributed, and
 * written when it is a session's. */
void kdeny_take(struct daemon *d, const struct auditrec *r);
