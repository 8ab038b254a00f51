/* ctl: the option and error conventions every sessrecctl subcommand shares,
 * and the defaults read from sessrecd's configuration. Convention: exit
 * statuses, as ctl.h states. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "proto.h"

void ctl_verr(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("sessrecctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ctl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_verr(fmt, ap);
	va_end(ap);
}

int ctl_usage_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sessrecctl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'sessrecctl%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
	return CTL_EXIT_USAGE;
}

int ctl_help(const char *text)
{
	fputs(text, stdout);
	return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}

int ctl_common_opt(struct ctl *ctl, int c, const char *arg)
{
	switch (c) {
	case CTL_OPT_DIR:
		if (ctl->ndirs == CTL_MAX_DIRS)
			return ctl_usage_err(NULL, "at most %d --dir options", CTL_MAX_DIRS);
		ctl->dirs[ctl->ndirs++] = arg;
		return 0;
	case CTL_OPT_CONFIG:
		ctl->config = arg;
		return 0;
	case CTL_OPT_SOCKET:
		ctl->socket = arg;
		return 0;
	default:
		return CTL_EXIT_USAGE;
	}
}

int ctl_getopt(const char *cmd, int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	char opts[64];
	int c;

	/* a leading ':' (after a '+') makes a missing argument ':' instead of '?' */
	if (shortopts[0] == '+')
		snprintf(opts, sizeof(opts), "+:%s", shortopts + 1);
	else
		snprintf(opts, sizeof(opts), ":%s", shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, opts, longopts, NULL);
	if (c == ':') {
		ctl_usage_err(cmd, "option '%s' needs a value", argv[optind - 1]);
		return '?';
	}
	if (c == '?') {
		if (optopt && optopt < 0x100)
			ctl_usage_err(cmd, "unknown option '-%c'", optopt);
		else
			ctl_usage_err(cmd, "unknown option '%s'", argv[optind - 1]);
	}
	return c;
}

int ctl_config(struct ctl *ctl, struct sessrec_config *cfg)
{
	const char *path = ctl->config ? ctl->config : CONFIG_DEFAULT_PATH;
	char err[512] = "";
	int r;

	config_defaults(cfg);
	r = config_load(cfg, path, ctl->config == NULL, err, sizeof(err));
	if (r < 0) {
		if (err[0])
			ctl_err("%s", err);
		else
			ctl_err("%s: %s", path, strerror(-r));
		return CTL_EXIT_ERROR;
	}
	return 0;
}

/* Reads the configuration once; a missing default file means defaults. */
static int load_config(struct ctl *ctl)
{
	struct sessrec_config cfg;

	if (ctl->conf_dir[0])
		return 0;
	if (ctl_config(ctl, &cfg))
		return CTL_EXIT_ERROR;
	snprintf(ctl->conf_dir, sizeof(ctl->conf_dir), "%s",
		 cfg.shard_dir[0] ? cfg.shard_dir : CONFIG_DEFAULT_SHARD_DIR);
	snprintf(ctl->conf_socket, sizeof(ctl->conf_socket), "%s",
		 cfg.socket_path[0] ? cfg.socket_path : PROTO_DEFAULT_SOCKET);
	return 0;
}

int ctl_shard_dirs(struct ctl *ctl)
{
	if (ctl->ndirs)
		return 0;
	if (load_config(ctl))
		return CTL_EXIT_ERROR;
	ctl->dirs[ctl->ndirs++] = ctl->conf_dir;
	return 0;
}

const char *ctl_socket_path(struct ctl *ctl)
{
	if (ctl->socket)
		return ctl->socket;
	return load_config(ctl) ? NULL : ctl->conf_socket;
}
