/* cmdpolicy: NoTtyCommands= and the transfer detection over one reading of
 * a command line (see cmdpolicy.h). Convention: bool answers. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "cmdpolicy.h"

#define WORD_MAX 256

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '+' || c == '-' || c == '/';
}

static bool pattern_char(char c)
{
	return (name_char(c) && c != '/') || c == '*' || c == '?' || c == '[' || c == ']' || c == '!';
}

/* The next blank-separated word of *p into w (clipped), *p past it; false
 * at the end. */
static bool next_word(const char **p, char *w, size_t cap)
{
	const char *s = *p;
	size_t n = 0;

	while (is_space(*s))
		s++;
	if (!*s)
		return false;
	while (*s && !is_space(*s)) {
		if (n + 1 < cap)
			w[n++] = *s;
		s++;
	}
	w[n] = '\0';
	*p = s;
	return true;
}

void cmdpolicy_name(const char *cmd, char *name, size_t cap)
{
	char w[WORD_MAX];
	const char *base, *p = cmd ? cmd : "";

	if (cap == 0)
		return;
	name[0] = '\0';
	if (!next_word(&p, w, sizeof(w)))
		return;
	for (const char *c = w; *c; c++)
		if (!name_char(*c))
			return;
	base = strrchr(w, '/');
	base = base ? base + 1 : w;
	if (strcmp(base, "sftp-server") == 0 || strcmp(base, "internal-sftp") == 0)
		base = "sftp";
	snprintf(name, cap, "%s", base);
}

bool cmdpolicy_patterns_valid(const char *patterns)
{
	if (strlen(patterns) > CMDPOLICY_PATTERNS_MAX)
		return false;
	for (const char *c = patterns; *c; c++)
		if (!is_space(*c) && !pattern_char(*c))
			return false;
	return true;
}

/* What lets a shell run a second command after the first. */
static const char *chained(const char *cmd)
{
	static const char *const seq[] = { ";", "&", "|", "`", "$(", "<(", ">(", "\n", "\r" };

	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		if (strstr(cmd, seq[i]))
			return seq[i];
	return NULL;
}

bool cmdpolicy_allowed(const char *patterns, const char *cmd, char *why, size_t cap)
{
	char name[WORD_MAX], pat[WORD_MAX];
	const char *p = patterns, *bad;

	if (!next_word(&p, pat, sizeof(pat)))
		return true; /* no policy */
	if ((bad = chained(cmd))) {
		snprintf(why, cap, "a command without a terminal must be one simple command (it holds %s)",
			 bad[0] == '\n' || bad[0] == '\r' ? "a line break" : bad);
		return false;
	}
	cmdpolicy_name(cmd, name, sizeof(name));
	p = patterns;
	while (name[0] && next_word(&p, pat, sizeof(pat)))
		if (fnmatch(pat, name, 0) == 0)
			return true;
	snprintf(why, cap, "%s is not allowed without a terminal (NoTtyCommands=)", name[0] ? name : "this command");
	return false;
}

/* Whether a flag word (-t, -vt, -f ...) of scp's remote end names one of
 * its server modes. */
static bool scp_mode_flag(const char *w)
{
	return w[0] == '-' && w[1] != '-' && (strchr(w, 't') || strchr(w, 'f'));
}

enum cmdpolicy_transfer cmdpolicy_transfer(const char *cmd)
{
	char name[WORD_MAX], w[WORD_MAX];
	const char *p = cmd ? cmd : "";

	cmdpolicy_name(cmd, name, sizeof(name));
	if (strcmp(name, "sftp") == 0)
		return CMDPOLICY_SFTP;
	if (strcmp(name, "scp") != 0)
		return CMDPOLICY_NOT_TRANSFER;
	(void)next_word(&p, w, sizeof(w)); /* scp itself */
	while (next_word(&p, w, sizeof(w)) && w[0] == '-' && strcmp(w, "--") != 0)
		if (scp_mode_flag(w))
			return CMDPOLICY_SCP;
	return CMDPOLICY_NOT_TRANSFER;
}
