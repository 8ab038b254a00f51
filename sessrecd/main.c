/* sessrecd: the root daemon that relays and records every session.
 * Arguments, configuration, then the loop; exit 0 on SIGTERM, 1 on a
 * startup error (one line on stderr). It always runs in the foreground
 * (systemd's Type=notify, or a container's PID 1 supervision);
 * --foreground is accepted for clarity. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "handoff_exec.h"
#include "keeper.h"
#include "log.h"
#include "proctitle.h"
#include "proto.h"
#include "service.h"

static const char usage[] =
	"usage: sessrecd [--foreground] [--config FILE] [--socket PATH] [--shard-dir DIR]\n"
	"                [--syslog TARGET[,TARGET...]] [--help] [--version]\n"
	"Records interactive sessions handed to it by pam_sessrec and sessrec-shell.\n"
	"  --foreground        run in the foreground (always the case; accepted for clarity)\n"
	"  --config FILE       configuration file (default " CONFIG_DEFAULT_PATH
	", plus FILE.d/*.conf)\n"
	"  --socket PATH       listening socket (default " PROTO_DEFAULT_SOCKET
	")\n"
	"  --shard-dir DIR     where the day shards are written\n"
	"  --syslog TARGETS    where events go: journal, devlog, stdout, pid1, none\n";

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sessrecd: %s\n", line);
	return 1;
}

static int copy_arg(char *dst, size_t cap, const char *src, const char *opt)
{
	if (strlen(src) >= cap || !*src)
		return fail("bad %s path: '%s'", opt, src);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* 0 to go on, 1 to exit with status 1, -1 to exit 0 (help, version). */
static int parse_args(struct daemon *d, int argc, char **argv)
{
	enum { O_FOREGROUND = 256, O_CONFIG, O_SOCKET, O_SHARD_DIR, O_SYSLOG };
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, O_FOREGROUND },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "shard-dir", required_argument, NULL, O_SHARD_DIR },
		{ "syslog", required_argument, NULL, O_SYSLOG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	snprintf(d->config_path, sizeof(d->config_path), "%s", CONFIG_DEFAULT_PATH);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hV", opts, NULL)) != -1) {
		switch (c) {
		case O_FOREGROUND:
			break;
		case O_CONFIG:
			if (copy_arg(d->config_path, sizeof(d->config_path), optarg, "--config"))
				return 1;
			d->config_explicit = true;
			break;
		case O_SOCKET:
			if (copy_arg(d->ov.socket_path, sizeof(d->ov.socket_path), optarg, "--socket"))
				return 1;
			d->ov.socket = true;
			break;
		case O_SHARD_DIR:
			if (copy_arg(d->ov.shard_dir_path, sizeof(d->ov.shard_dir_path), optarg, "--shard-dir"))
				return 1;
			d->ov.shard_dir = true;
			break;
		case O_SYSLOG:
			if (config_parse_targets(optarg, &d->ov.target_mask) < 0)
				return fail("--syslog: unknown target in '%s' (journal, devlog, stdout, pid1, none)",
					    optarg);
			d->ov.targets = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		case 'V':
			puts("sessrecd " SESSREC_VERSION);
			return -1;
		case ':':
			return fail("%s needs an argument (see --help)", argv[optind - 1]);
		default:
			return fail("unknown option %s (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail("unexpected argument '%s' (see --help)", argv[optind]);
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon *d = calloc(1, sizeof(*d));
	char err[PATH_MAX + 512] = "";
	int r;

	/* The keeper is this binary exec'd again by a daemon (keeper.h). */
	if (keeper_wanted())
		return keeper_main(argc > 0 ? argv[0] : NULL);
	if (!d)
		return fail("%s", strerror(ENOMEM));
	r = parse_args(d, argc, argv);
	if (r != 0) {
		free(d);
		return r > 0 ? 1 : 0;
	}
	config_defaults(&d->cfg);
	r = config_load(&d->cfg, d->config_path, !d->config_explicit, err, sizeof(err));
	if (r < 0) {
		if (!err[0])
			snprintf(err, sizeof(err), "cannot read %s: %s", d->config_path, strerror(-r));
		fail("%s", err);
		free(d);
		return 1;
	}
	service_apply_overrides(&d->ov, &d->cfg);
	if (service_keep_args(d, argc, argv) < 0) {
		fail("%s", strerror(ENOMEM));
		free(d);
		return 1;
	}
	/* Everything needed from argv is copied: the area becomes the title. */
	proctitle_init(&d->title, argc, argv);
	if ((r = proctitle_set(&d->title, d->cfg.process_name)) < 0)
		log_line("cannot set the process name: %s", strerror(-r));
	if (service_init(d, err, sizeof(err)) < 0 || handoff_exec_collect(d, err, sizeof(err)) < 0 ||
	    service_listen(d, err, sizeof(err)) < 0) {
		fail("%s", err);
		service_fini(d);
		free(d);
		return 1;
	}
	service_start(d);
	r = service_run(d);
	service_fini(d);
	free(d);
	return r < 0 ? 1 : 0;
}
