/* shells: the real login shells of enrolled users (sessrecctl enroll), one
 * file per user, <dir>/<user>, holding the shell's absolute path and a
 * newline. sessrecctl writes them, sessrec-shell (the enrolled users' login
 * shell) reads them, trusted only when root's alone, as sshd's StrictModes
 * trusts files: root-owned, not group or other writable, the directory and
 * every parent too, the file a regular file with one link opened with
 * O_NOFOLLOW. Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define SHELLS_DIR "/etc/sessrec/shells.d"
#define SHELLS_SHIM_NAME "sessrec-shell"

/* Whether shell (a passwd shell) is the shim, by its file name: installs
 * put it in different directories. */
bool shells_is_shim(const char *shell);

/* Whether user can name a file here: non-empty, no '/', not "." or "..",
 * no control characters, at most 255 bytes. */
bool shells_user_ok(const char *user);

/* Whether shell is what a file may hold: an absolute path without
 * control characters or newline, shorter than cap of a PATH_MAX buffer. */
bool shells_path_ok(const char *shell);

/* A shell file's content (text, n bytes, NUL not needed) into buf: one
 * line, the shell's path (shells_path_ok), its newline optional at the end.
 * -EINVAL for anything else, or when it does not fit cap. Pure. */
int shells_parse(const char *text, size_t n, char *buf, size_t cap);

/* The shell remembered for user, into buf. -ENOENT: none; -EPERM: the
 * directory or file is not trusted (why says what); -EINVAL: a bad name
 * or content. */
int shells_read(const char *dir, const char *user, char *buf, size_t cap, char *why, size_t whycap);

/* Remembers shell for user (creates dir 0755 if missing; the file 0644,
 * replaced atomically). */
int shells_write(const char *dir, const char *user, const char *shell);

/* Forgets user: -ENOENT when nothing was remembered. */
int shells_remove(const char *dir, const char *user);
