/* cmdpolicy: the one reading of a pty-less command line for sessrecd's
 * policies: which commands a recorded user may run without a terminal
 * (NoTtyCommands=, sessrecd.conf(5)) and which are file transfers (scp,
 * sftp) that TransferContent=metadata records as sizes and hashes.
 * Convention: bool answers; names are filled, never longer than cap - 1. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define CMDPOLICY_PATTERNS_MAX 190 /* NoTtyCommands= fits one configuration line */

/* The name a command line is judged by: the basename of its first word,
 * "sftp" for the sftp server (sftp-server, internal-sftp). Empty when the
 * first word holds anything but letters, digits and . _ + - / (a quoted,
 * expanded or substituted word is never a name). */
void cmdpolicy_name(const char *cmd, char *name, size_t cap);

/* Whether patterns is a valid NoTtyCommands= value: space-separated
 * fnmatch(3) patterns of letters, digits and . _ + - * ? [ ] !, at most
 * CMDPOLICY_PATTERNS_MAX characters (empty: no policy). */
bool cmdpolicy_patterns_valid(const char *patterns);

/* Whether cmd may run without a terminal under patterns. Empty patterns
 * allow everything. Otherwise cmd must be one simple command (none of
 * ; & | ` $( <( >( nor a line break, which would run a second command
 * through the shell) whose name matches one of the patterns. On a refusal
 * why says so in one line. */
bool cmdpolicy_allowed(const char *patterns, const char *cmd, char *why, size_t cap);

enum cmdpolicy_transfer {
	CMDPOLICY_NOT_TRANSFER,
	CMDPOLICY_SCP,  /* the remote end of scp: scp -t (to) or -f (from) */
	CMDPOLICY_SFTP, /* the sftp server */
};

/* Whether cmd is the server side of a file transfer. */
enum cmdpolicy_transfer cmdpolicy_transfer(const char *cmd);
