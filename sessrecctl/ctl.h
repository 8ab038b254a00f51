/* ctl: what the sessrecctl subcommands share: global options and the entry
 * point of each subcommand (one file per subcommand). Convention: a command
 * returns the process exit status (0 ok, 1 error, 2 usage; record returns
 * the recorded command's status). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define CTL_MAX_DIRS 64

struct ctl {
	const char *config;            /* --config, default CONFIG_DEFAULT_PATH */
	const char *socket;            /* --socket, default from config */
	const char *dirs[CTL_MAX_DIRS]; /* --dir (repeatable), default shard dir from config */
	size_t ndirs;
};

/* sessrecctl record [--socket PATH] [-- CMD...]: argv[0] is "record". */
int ctl_cmd_record(struct ctl *ctl, int argc, char **argv);
