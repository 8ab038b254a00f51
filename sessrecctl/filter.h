/* filter: the session filters list and grep share (--user, --host, --src,
 * --since, --until), as options and as tests of a session.
 * Convention: exit statuses for option handling, as stated below. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "ctl.h"
#include "sessinfo.h"

struct sidtab;
struct store;

struct filter {
	const char *user, *host, *src;
	double since, until;
	bool has_since, has_until;
	const char *command;     /* --command PATTERN (ERE over exec argv) */
	struct sidtab *commands; /* filter_prepare: the sessions that ran one */
};

enum {
	FILTER_OPT_USER = CTL_OPT_LOCAL,
	FILTER_OPT_SINCE,
	FILTER_OPT_UNTIL,
	FILTER_OPT_HOST,
	FILTER_OPT_SRC,
	FILTER_OPT_COMMAND,
	FILTER_OPT_LOCAL, /* first value free after the filters */
};
#define FILTER_OPTIONS                                                                                                \
	{ "user", required_argument, NULL, FILTER_OPT_USER }, { "since", required_argument, NULL, FILTER_OPT_SINCE }, \
		{ "until", required_argument, NULL, FILTER_OPT_UNTIL },                                               \
		{ "host", required_argument, NULL, FILTER_OPT_HOST },                                                 \
		{ "src", required_argument, NULL, FILTER_OPT_SRC },                                                   \
	{                                                                                                             \
		"command", required_argument, NULL, FILTER_OPT_COMMAND                                                \
	}

/* Handles a filter option (and the common ones): 0, or CTL_EXIT_USAGE after
 * a message; -1 when c is neither. */
int filter_opt(struct ctl *ctl, struct filter *f, const char *cmd, int c, const char *arg);
bool filter_active(const struct filter *f);
/* Whether the shard of that UTC day can hold a session the filter passes. */
bool filter_day(const struct filter *f, int64_t day);
bool filter_match(const struct filter *f, const struct sessinfo *s);

/* --command: finds the sessions that ran a matching command (one scan of
 * st before the caller's). 0, or an exit status after a message. */
int filter_prepare(struct filter *f, const char *cmd, struct store *st);
void filter_release(struct filter *f);
