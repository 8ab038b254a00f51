/* resume: a starting daemon taking up the sessions an earlier one left
 * (docs/architecture.md, "Restarts"; sessrecd(8), RESTARTS): it chooses
 * the holder (starting or reaching the keeper), takes what a keeper holds,
 * pairs every handed-over fd (handoff_exec_collect) with its state file
 * and resumes those sessions; a session whose fds are gone is ended as
 * "lost"; fds without a state file are reported and closed. */
#pragma once

struct daemon;

/* Before our own socket is bound, while the command tracer loads: starts
 * the keeper resume_start would start, when it surely would (nothing was
 * handed to us, no fd store, nothing at <socket>.keeper to take sessions
 * from), so its exec does not compete with the first session for the CPU. */
void resume_keeper_early(struct daemon *d);

/* After the listener exists, before the loop runs. */
void resume_start(struct daemon *d);
