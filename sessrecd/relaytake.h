/* relaytake: a relay taking over a session's terminals: at the attach,
 * and at a resume after a restart with the recovery of the output that
 * was in flight (docs/architecture.md, "Restarts"; sessrecd(8),
 * RESTARTS). Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct relay;
struct state_pending;

/* What relaytake_recover found and did, for the resume marker. */
struct relaytake_recovery {
	bool exact;          /* the relay state was handed over (else nothing is known of bytes in flight) */
	uint64_t rerecorded; /* output bytes the shard lacked, recorded again */
	uint64_t resent;     /* output bytes the terminal had not taken, sent now */
	uint64_t unrecorded; /* output bytes shown but lost to the recording */
	uint64_t unsure;     /* output bytes that may be in the recording twice (shard unreadable) */
	uint64_t unshown;    /* at most this many output bytes may not have reached the terminal (a write cut short) */
	uint64_t cut_read;   /* output bytes a read cut short by the kill had taken, found in the ring */
};

/* The first half of an attach, which changes nothing the user sees:
 * saves the modes and window size of outer (the tty the peer sent) in the
 * state, makes the inner pty (innerpty.h; the slave owned by owner) with
 * the same, its master non-blocking and the relay's, and the relay state
 * memfd. *slave is for the attach reply (the caller closes its copy). On
 * failure nothing was made and why says what failed. */
int relaytake_attach(struct relay *r, int outer, uid_t owner, int *slave, char *why, size_t cap);

/* The second half, once the recording has begun: takes the terminal from
 * the user (outertty.h: root 0600, hung up, reopened for the relay with
 * TIOCEXCL; the owner to put back in st->tty_owner) and puts it in raw
 * mode. hangup: every earlier description of it is hung up first (the
 * attaching process leads the terminal's session: a login). outer stays the caller's (it is hung up). On failure the terminal
 * was given back and why says what failed. */
int relaytake_seize(struct relay *r, int outer, bool hangup, char *why, size_t cap);

/* Resumes the relay of a session an earlier daemon handed over: outer is
 * the tty (the earlier daemon's own non-blocking description, already raw,
 * its saved modes in the state), inner the inner master or -1 when the
 * shell was already gone (the relay then drains), mem the relay state
 * memfd or -1. Without a usable memfd a new one is made and the pending
 * bytes of p (a handoff's state file) go out before anything new. On
 * success the fds are the relay's (*mem_used says whether mem was); on
 * failure they stay the caller's and why says what failed. */
int relaytake_resume(struct relay *r, int outer, int inner, int mem, const struct state_pending *p, bool *mem_used,
		     char *why, size_t cap);

/* After relaytake_resume with a handed-over memfd and recorder_resume: the
 * counters come from the memfd, the output the shard lacks (its "o" lines
 * after the anchor tell how far it got) is recorded again from the ring,
 * and what the terminal had not taken waits to go out. out says what was
 * done, for the marker. */
void relaytake_recover(struct relay *r, struct relaytake_recovery *out);
