/* ctl: what the sessrecctl subcommands share: global options and the entry
 * point of each subcommand (one file per subcommand). Convention: a command
 * returns the process exit status (0 ok, 1 error, 2 usage; record returns
 * the recorded command's status). */
#pragma once
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_MAX_DIRS 64

#define CTL_EXIT_OK 0
#define CTL_EXIT_ERROR 1
#define CTL_EXIT_USAGE 2

struct ctl {
	const char *config;             /* --config, default CONFIG_DEFAULT_PATH */
	const char *socket;             /* --socket, default from config */
	const char *dirs[CTL_MAX_DIRS]; /* --dir (repeatable), default shard dir from config */
	size_t ndirs;
	bool progress;          /* stderr is a terminal: show progress of long scans */
	char conf_dir[4096];    /* ShardDirectory= once read from the configuration */
	char conf_socket[4096]; /* Socket= once read */
};

/* sessrecctl record [--socket PATH] [-- CMD...]: argv[0] is "record". */
int ctl_cmd_record(struct ctl *ctl, int argc, char **argv);

/* The other subcommands; argv[0] is the subcommand's name. */
int ctl_cmd_list(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_show(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_play(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_export(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_grep(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_status(struct ctl *ctl, int argc, char **argv);
/* deploy: the shim as recorded users' login shell (enroll.c) */
int ctl_cmd_enroll(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_unenroll(struct ctl *ctl, int argc, char **argv);
/* reveal.c: the escrow of withheld input; prune.c: retention. */
int ctl_cmd_reveal(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_escrow_keygen(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_prune(struct ctl *ctl, int argc, char **argv);

/* Options every subcommand accepts, before or after its name: getopt_long
 * values, and the entries to put in each subcommand's option table. */
enum {
	CTL_OPT_DIR = 0x100,
	CTL_OPT_CONFIG,
	CTL_OPT_SOCKET,
	CTL_OPT_HELP,
	CTL_OPT_LOCAL, /* first value free for a subcommand's own long options */
};
#define CTL_COMMON_OPTIONS                                                                                      \
	{ "dir", required_argument, NULL, CTL_OPT_DIR }, { "config", required_argument, NULL, CTL_OPT_CONFIG }, \
		{ "socket", required_argument, NULL, CTL_OPT_SOCKET },                                          \
	{                                                                                                       \
		"help", no_argument, NULL, 'h'                                                                  \
	}

/* Handles a common option; returns 0, or CTL_EXIT_USAGE after a message. */
int ctl_common_opt(struct ctl *ctl, int c, const char *arg);

/* Runs getopt_long over a subcommand's arguments (the caller resets
 * optind = 0 first) and reports errors the same way everywhere: returns the
 * option, -1 at the end, or '?' after printing a usage message. */
int ctl_getopt(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts);

/* Fills ctl->dirs from the configuration's ShardDirectory= when no --dir
 * was given. 0, or CTL_EXIT_ERROR after one line on stderr. */
int ctl_shard_dirs(struct ctl *ctl);

/* The daemon's socket: --socket, else the configuration's Socket=. NULL
 * after one line on stderr. */
const char *ctl_socket_path(struct ctl *ctl);

/* The live sessions of the daemon at sock ("list", every page; root
 * only) into a new array *all, and how many it resumed. 0, or an exit
 * status after one line on stderr; with down not NULL, a daemon that is not
 * running (no socket, refused) is 0 with *down true and *all empty. */
struct json_object;
int ctl_live_sessions(const char *sock, struct json_object **all, int64_t *resumed, bool *down);

/* sessrecd's configuration (--config, else the default file, which may be
 * missing) into cfg; 0, or CTL_EXIT_ERROR after one line on stderr. */
struct sessrec_config;
int ctl_config(struct ctl *ctl, struct sessrec_config *cfg);

/* "sessrecctl: ..." on stderr. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_verr(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* "sessrecctl CMD: ...\nTry 'sessrecctl CMD --help'." on stderr; returns CTL_EXIT_USAGE. */
int ctl_usage_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a subcommand's help text to stdout; returns CTL_EXIT_OK. */
int ctl_help(const char *text);
