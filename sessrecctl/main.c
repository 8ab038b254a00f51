/* main: sessrecctl's entry point: global options and subcommand dispatch
 * (the conventions every subcommand shares are in ctl.c). Convention: exit
 * statuses, as ctl.h states. */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"

static const char usage[] =
	"Usage: sessrecctl [--dir DIR]... [--config FILE] [--socket PATH] COMMAND [ARGS]\n"
	"\n"
	"Find, replay, export and search the sessions sessrecd recorded.\n"
	"\n"
	"Commands:\n"
	"  list                 one line per session, newest first\n"
	"  show SID             everything known about a session\n"
	"  play SID             replay a session in the terminal (--follow: live)\n"
	"  export SID           write a session as asciicast, text or raw bytes\n"
	"  grep PATTERN         search the text of sessions' input and output\n"
	"  status               the live sessions sessrecd holds (root)\n"
	"  record [-- CMD...]   run CMD (or a shell) recorded by sessrecd\n"
	"  enroll USER...       make sessrec-shell their login shell (root)\n"
	"  unenroll USER...     give them their real shell back (root)\n"
	"  reveal SID           the input a session withheld, opened with the escrow key\n"
	"  escrow-keygen        make the key pair for EscrowPublicKey=\n"
	"  prune                compress and delete old shards ([Retention])\n"
	"\n"
	"Options (also accepted after the command):\n"
	"  --dir DIR            read shards from DIR (repeatable); default: the\n"
	"                       ShardDirectory= of the configuration\n"
	"  --config FILE        sessrecd's configuration (" CONFIG_DEFAULT_PATH
	")\n"
	"  --socket PATH        sessrecd's socket (default from the configuration)\n"
	"  -h, --help           this help; COMMAND --help for a command's\n"
	"  -V, --version        the version\n"
	"\n"
	"SID is a session id or any unique prefix of one.\n"
	"Exit status: 0 ok, 1 error (no such session, I/O), 2 usage.\n";

struct command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
};

/* clang-format off */
static const struct command commands[] = {
	{ "list", ctl_cmd_list },     { "show", ctl_cmd_show },
	{ "play", ctl_cmd_play },     { "export", ctl_cmd_export },
	{ "grep", ctl_cmd_grep },     { "status", ctl_cmd_status },
	{ "record", ctl_cmd_record },
	{ "enroll", ctl_cmd_enroll }, { "unenroll", ctl_cmd_unenroll },
	{ "reveal", ctl_cmd_reveal }, { "escrow-keygen", ctl_cmd_escrow_keygen },
	{ "prune", ctl_cmd_prune },
};
/* clang-format on */

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { 0 };
	int c, r;

	/* character classes for regular expressions; numbers stay "C" */
	setlocale(LC_CTYPE, "");
	tzset();
	ctl.progress = isatty(STDERR_FILENO);
	while ((c = ctl_getopt(NULL, argc, argv, "+hV", longopts)) != -1) {
		switch (c) {
		case 'h':
			return ctl_help(usage);
		case 'V':
			printf("sessrecctl %s\n", SESSREC_VERSION);
			return CTL_EXIT_OK;
		case '?':
			return CTL_EXIT_USAGE;
		default:
			if ((r = ctl_common_opt(&ctl, c, optarg)) != 0)
				return r;
		}
	}
	if (optind >= argc)
		return ctl_usage_err(NULL, "no command given");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			char **sub = argv + optind;
			int subc = argc - optind;

			optind = 0; /* the subcommand runs getopt afresh */
			return commands[i].run(&ctl, subc, sub);
		}
	}
	return ctl_usage_err(NULL, "unknown command '%s'", argv[optind]);
}
