/* configval: the value parsers of sessrecd.conf shared by the loader and
 * its readers (sizes, booleans, syslog targets; declared in config.h).
 * Convention: 0 or -errno (-EINVAL, -ERANGE). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

int config_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	/* clang-format off */
	switch (*p) {
	case '\0': break;
	case 'K': mult = 1ULL << 10; p++; break;
	case 'M': mult = 1ULL << 20; p++; break;
	case 'G': mult = 1ULL << 30; p++; break;
	case 'T': mult = 1ULL << 40; p++; break;
	default: return -EINVAL;
	}
	/* clang-format on */
	if (*p)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; s && i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int config_parse_targets(const char *s, unsigned *mask)
{
	/* clang-format off */
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "journal", SYSLOG_TARGET_JOURNAL }, { "devlog", SYSLOG_TARGET_DEVLOG },
		{ "stdout", SYSLOG_TARGET_STDOUT },   { "pid1", SYSLOG_TARGET_PID1 },
		{ "none", 0 },
	};
	/* clang-format on */
	unsigned m = 0;
	size_t count = 0;
	bool none = false;

	if (!s)
		return -EINVAL;
	while (*s) {
		size_t n = strcspn(s, ", \t");
		size_t i;

		if (n == 0) {
			s++;
			continue;
		}
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == n && !strncmp(s, names[i].name, n))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -EINVAL;
		none |= names[i].bit == 0;
		m |= names[i].bit;
		count++;
		s += n;
	}
	/* "none" means exactly that; mixed with a target it is a typo. */
	if (count == 0 || (none && m))
		return -EINVAL;
	*mask = m;
	return 0;
}

/* Printable ASCII between lo and 126, length 1..max (0..max if may_be_empty). */
