/* prune: retention of the shard store ([Retention] in sessrecd.conf(5),
 * sessrec-shards(5) "Retention"): gzip shards past CompressAfterDays=,
 * delete them past KeepDays= and, oldest first, over MaxStoreSize=; never a
 * shard a live session writes (the daemon's list, today's day), never a
 * chain holding a session on legal hold. Each compression and deletion is
 * an event (shard_compressed, shard_deleted) to the configured targets.
 * Convention: the command returns an exit status; helpers 0 or -errno. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "config.h"
#include "event.h"
#include "hold.h"
#include "io.h"
#include "out.h"
#include "proto.h"
#include "reader.h"
#include "sessinfo.h"
#include "store.h"
#include "uuid.h"

#define DAY 86400

static const char prune_usage[] =
	"Usage: sessrecctl prune [OPTIONS]\n"
	"\n"
	"Applies the retention of sessrecd.conf's [Retention] section to the shard\n"
	"directory: gzip shards older than CompressAfterDays=, delete shards older\n"
	"than KeepDays= and, oldest first, while the shards take more than\n"
	"MaxStoreSize=. Never touched: today's shards and the shards of sessions\n"
	"sessrecd holds (asked over its socket), and no shard is deleted that holds\n"
	"a session on legal hold (LegalHold=, LegalHoldFile=) or shares its day.\n"
	"Each compression and deletion is printed and sent as an event\n"
	"(shard_compressed, shard_deleted) to the configured [Syslog] targets.\n"
	"Run daily by sessrec-retention.timer.\n"
	"\n"
	"Options:\n"
	"  -n, --dry-run        say what would be done; change nothing, send nothing\n"
	"  --today YYYY-MM-DD   count ages from this UTC day instead of today\n"
	"  --dir DIR            prune DIR instead of ShardDirectory= (repeatable)\n"
	"  --config FILE        sessrecd's configuration\n"
	"  --socket PATH        sessrecd's socket (default from the configuration)\n"
	"  -h, --help           this help\n";

enum held { HELD_UNKNOWN, HELD_NO, HELD_YES };

struct prune {
	struct sessrec_config cfg;
	struct store st;
	struct out o;
	bool dry;
	int64_t today; /* unix time of the UTC day prune counts from */
	int64_t *live; /* the days of the sessions the daemon holds */
	size_t nlive;
	struct hold hold;      /* legal hold: sids, sid prefixes, user names */
	enum held *chain_hold; /* per chain */
	char **chain_why;      /* per chain: the entry that holds it */
	bool *gone;            /* per file: deleted */
	uint64_t total;        /* bytes of the files left */
	bool failed;           /* an action failed: exit status 1 */
};

/* Sends e to the configured targets (not in a dry run). */
static void prune_emit(struct prune *p, const struct event *e)
{
	const struct sessrec_config *c = &p->cfg;
	char line[4097];
	int n;

	if (p->dry)
		return;
	if (c->syslog_targets & SYSLOG_TARGET_JOURNAL)
		(void)event_send_journal(e, c->facility, c->app_name);
	if (c->syslog_targets & SYSLOG_TARGET_DEVLOG)
		(void)event_send_devlog(c->syslog_socket, e, c->facility, c->hostname, c->app_name);
	if ((c->syslog_targets & SYSLOG_TARGET_STDOUT) &&
	    (n = event_format_syslog(line, sizeof(line) - 1, e, c->facility, c->hostname, c->app_name, NULL)) > 0) {
		line[n++] = '\n';
		out_write(&p->o, line, (size_t)n);
	}
	if (c->syslog_targets & SYSLOG_TARGET_PID1)
		(void)event_send_pid1(e, c->facility, c->hostname, c->app_name);
}

/* LegalHold= and LegalHoldFile=; a hold file that cannot be read stops
 * the run. */
static int load_holds(struct prune *p)
{
	int r = hold_load(&p->hold, p->cfg.legal_hold, p->cfg.legal_hold_file);

	if (r == -ENOMEM) {
		ctl_err("%s", strerror(ENOMEM));
		return CTL_EXIT_ERROR;
	}
	if (r < 0) {
		ctl_err("prune: cannot read the legal hold file %s: %s; nothing pruned", p->cfg.legal_hold_file,
			strerror(-r));
		return CTL_EXIT_ERROR;
	}
	return 0;
}

/* Whether any file of the chain of file i holds a session on hold (its
 * header names a held sid or user). A file that cannot be read counts as
 * held: what was not checked is not deleted. */
static enum held chain_held(struct prune *p, size_t i)
{
	size_t c = p->st.files[i].chain;

	if (p->chain_hold[c] != HELD_UNKNOWN)
		return p->chain_hold[c];
	p->chain_hold[c] = HELD_NO;
	for (size_t k = 0; k < p->st.nfiles && p->chain_hold[c] == HELD_NO; k++) {
		struct reader r;
		bool io = p->st.io_error;

		if (p->st.files[k].chain != c || p->gone[k])
			continue;
		p->st.io_error = false;
		if (reader_open(&r, &p->st, k, 0, 0) == 0) {
			while (shardscan_next(&r.scan) == 1 && p->chain_hold[c] == HELD_NO) {
				struct shardscan *sc = &r.scan;
				struct sessinfo si = { 0 };
				const char *who;

				if (sc->l.kind != SHARDREAD_HDR || shardscan_take(sc, SHARDSCAN_MEMBERS) < 0 ||
				    sc->l.kind != SHARDREAD_HDR)
					continue;
				(void)sessinfo_hdr(&si, sc->m, sc->nm);
				if ((who = hold_match(&p->hold, sc->l.sid, sc->l.sid_len, si.user))) {
					p->chain_hold[c] = HELD_YES;
					p->chain_why[c] = strdup(who);
				}
				sessinfo_free(&si);
			}
			reader_close(&r);
		}
		if (p->st.io_error && p->chain_hold[c] == HELD_NO) {
			p->chain_hold[c] = HELD_YES;
			p->chain_why[c] = strdup("a file of its day could not be read");
		}
		p->st.io_error = io;
	}
	return p->chain_hold[c];
}

/* The days of the sessions the daemon holds. A daemon that is not
 * running is fine unless sessions wait in the state directory for it to
 * come back: then nothing is pruned. */
static int load_live(struct prune *p, struct ctl *ctl)
{
	struct json_object *all = NULL;
	const char *sock = ctl->socket ? ctl->socket : p->cfg.socket_path;
	int64_t resumed;
	bool down;
	int r;

	if ((r = ctl_live_sessions(sock, &all, &resumed, &down)) != 0)
		return r;
	if (down) {
		DIR *d = opendir(p->cfg.state_dir);
		struct dirent *e;
		unsigned waiting = 0;

		while (d && (e = readdir(d)))
			waiting += uuid_valid(e->d_name);
		if (d)
			closedir(d);
		if (waiting) {
			ctl_err("prune: sessrecd is not answering on %s and %u session%s wait%s in %s for it; nothing pruned",
				sock, waiting, waiting == 1 ? "" : "s", waiting == 1 ? "s" : "", p->cfg.state_dir);
			return CTL_EXIT_ERROR;
		}
	}
	p->nlive = json_object_array_length(all);
	if (p->nlive && !(p->live = calloc(p->nlive, sizeof(*p->live)))) {
		json_object_put(all);
		ctl_err("%s", strerror(ENOMEM));
		return CTL_EXIT_ERROR;
	}
	for (size_t i = 0; i < p->nlive; i++) {
		const char *start = proto_str(json_object_array_get_idx(all, i), "start");
		struct tm tm = { 0 };

		/* "2026-11-24T12:00:00.123456Z": its UTC day; unknown: today's */
		if (start && sscanf(start, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) == 3) {
			tm.tm_year -= 1900;
			tm.tm_mon -= 1;
			p->live[i] = (int64_t)timegm(&tm);
		} else {
			p->live[i] = p->today;
		}
	}
	json_object_put(all);
	return 0;
}

/* Why file i must not be touched at all, or NULL. */
static const char *untouchable(const struct prune *p, size_t i)
{
	const struct shard_file *f = &p->st.files[i];

	if (f->day >= p->today)
		return "today's shard";
	for (size_t k = 0; k < p->nlive; k++)
		if (p->live[k] == f->day)
			return "a live session writes its day";
	return NULL;
}

/* Whole days from the file's day to today (0 for a day still to come). */
static unsigned age_days(const struct prune *p, size_t i)
{
	int64_t d = p->today - p->st.files[i].day;

	return d > 0 ? (unsigned)(d / DAY) : 0;
}

static void day_text(char *buf, size_t cap, int64_t day)
{
	time_t t = (time_t)day;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%d", &tm);
}

/* gzip path into path.gz (through a temporary file, mode and owner of the
 * original, its times kept so ages stay true), then removes path. The
 * original must not change meanwhile (a writer would lose its lines):
 * checked before the removal. *gz_size: the new file's size. */
static int gzip_file(const char *path, const char *gzpath, uint64_t *gz_size)
{
	char tmp[PATH_MAX], buf[65536];
	struct stat before, after, done;
	gzFile gz = NULL;
	int in = -1, outfd = -1, r = 0;
	ssize_t n;

	if (snprintf(tmp, sizeof(tmp), "%s.prune-tmp", gzpath) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if ((in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
		return -errno;
	if (fstat(in, &before) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(before.st_mode) || before.st_nlink != 1) {
		r = -EPERM; /* a hard link would keep the lines anyway: not ours to judge */
		goto out;
	}
	(void)unlink(tmp); /* left by an interrupted run */
	outfd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, before.st_mode & 0640);
	if (outfd < 0 || fchown(outfd, before.st_uid, before.st_gid) < 0) {
		r = -errno;
		goto out;
	}
	if (!(gz = gzdopen(dup(outfd), "wb9"))) {
		r = -ENOMEM;
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (gzwrite(gz, buf, (unsigned)n) != (int)n) {
			r = -EIO;
			goto out;
		}
	if (n < 0)
		r = -errno;
	if (gzclose(gz) != Z_OK && r == 0)
		r = -EIO;
	gz = NULL;
	if (r == 0 && (fsync(outfd) < 0 || fstat(outfd, &done) < 0))
		r = -errno;
	if (r == 0 && futimens(outfd, (struct timespec[2]){ before.st_atim, before.st_mtim }) < 0)
		r = -errno;
	if (r < 0)
		goto out;
	/* a line appended meanwhile would be lost with the original */
	if (fstat(in, &after) < 0 || after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != before.st_mtim.tv_nsec) {
		r = -EBUSY;
		goto out;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, gzpath, RENAME_NOREPLACE) < 0) {
		r = -errno;
		goto out;
	}
	tmp[0] = '\0';
	*gz_size = (uint64_t)done.st_size;
	if (unlink(path) < 0)
		r = -errno;
out:
	if (gz)
		gzclose(gz);
	if (outfd >= 0)
		close(outfd);
	if (r < 0 && tmp[0])
		(void)unlink(tmp);
	close(in);
	return r;
}

static void compress_one(struct prune *p, size_t i)
{
	struct shard_file *f = &p->st.files[i];
	char gzpath[PATH_MAX], day[16], bytes[24], gzbytes[24];
	uint64_t gz_size = 0;
	struct event e;
	int r;

	if (snprintf(gzpath, sizeof(gzpath), "%s.gz", f->path) >= (int)sizeof(gzpath))
		return;
	out_str(&p->o, p->dry ? "would compress " : "compressed ");
	out_safe_str(&p->o, f->path);
	if (p->dry) {
		out_printf(&p->o, " (%u days old)\n", age_days(p, i));
		return;
	}
	if ((r = gzip_file(f->path, gzpath, &gz_size)) < 0) {
		out_str(&p->o, ": failed\n");
		ctl_err("prune: cannot compress %s: %s", f->path,
			r == -EBUSY ? "it changed while compressed (left as it is)" : strerror(-r));
		p->failed = r != -EBUSY;
		return;
	}
	out_printf(&p->o, " (%llu bytes, %llu compressed)\n", (unsigned long long)f->size, (unsigned long long)gz_size);
	day_text(day, sizeof(day), f->day);
	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)f->size);
	snprintf(gzbytes, sizeof(gzbytes), "%llu", (unsigned long long)gz_size);
	e = (struct event){ .type = EVENT_SHARD_COMPRESSED };
	event_add(&e, "file", gzpath);
	event_add(&e, "day", day);
	event_add(&e, "bytes", bytes);
	event_add(&e, "gz_bytes", gzbytes);
	prune_emit(p, &e);
	p->total = p->total - f->size + gz_size;
	free(f->path);
	f->path = strdup(gzpath);
	f->gz = true;
	f->size = gz_size;
	if (!f->path)
		p->gone[i] = true; /* out of memory: forgotten, not deleted */
}

/* Deletes file i unless its chain is on hold; why: the key that asks. */
static void delete_one(struct prune *p, size_t i, const char *why)
{
	struct shard_file *f = &p->st.files[i];
	char day[16], bytes[24], age[16];
	struct event e;

	if (chain_held(p, i) == HELD_YES) {
		out_str(&p->o, "kept ");
		out_safe_str(&p->o, f->path);
		out_str(&p->o, ": legal hold (");
		out_safe_str(&p->o, p->chain_why[f->chain]);
		out_str(&p->o, ")\n");
		p->gone[i] = false;
		return;
	}
	out_str(&p->o, p->dry ? "would delete " : "deleted ");
	out_safe_str(&p->o, f->path);
	out_printf(&p->o, " (%llu bytes, %u days old, %s)\n", (unsigned long long)f->size, age_days(p, i), why);
	p->gone[i] = true;
	p->total -= f->size;
	if (p->dry)
		return;
	if (unlink(f->path) < 0) {
		ctl_err("prune: cannot delete %s: %s", f->path, strerror(errno));
		p->failed = true;
		return;
	}
	day_text(day, sizeof(day), f->day);
	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)f->size);
	snprintf(age, sizeof(age), "%u", age_days(p, i));
	e = (struct event){ .type = EVENT_SHARD_DELETED };
	event_add(&e, "file", f->path);
	event_add(&e, "day", day);
	event_add(&e, "bytes", bytes);
	event_add(&e, "age_days", age);
	event_add(&e, "reason", strncmp(why, "KeepDays", 8) == 0 ? "keep_days" : "max_store_size");
	prune_emit(p, &e);
}

/* Whether file i may be acted on; when not, a line says why. */
static bool touchable(struct prune *p, size_t i, const char *action)
{
	const char *why = untouchable(p, i);

	if (!why)
		return true;
	out_printf(&p->o, "left %s ", action);
	out_safe_str(&p->o, p->st.files[i].path);
	out_printf(&p->o, ": %s\n", why);
	return false;
}

/* KeepDays= first (what goes is not compressed first), then compression,
 * then MaxStoreSize= oldest first (the store lists the oldest day first,
 * each chain oldest file first). */
static void run(struct prune *p)
{
	const struct sessrec_config *c = &p->cfg;
	char why[64];

	snprintf(why, sizeof(why), "KeepDays=%u", c->keep_days);
	for (size_t i = 0; c->keep_days && i < p->st.nfiles; i++)
		if (age_days(p, i) >= c->keep_days && touchable(p, i, "to delete"))
			delete_one(p, i, why);
	for (size_t i = 0; c->compress_after_days && i < p->st.nfiles; i++)
		if (!p->gone[i] && !p->st.files[i].gz && age_days(p, i) >= c->compress_after_days &&
		    touchable(p, i, "to compress"))
			compress_one(p, i);
	if (!c->max_store_size || p->total <= c->max_store_size)
		return;
	snprintf(why, sizeof(why), "MaxStoreSize=%llu", (unsigned long long)c->max_store_size);
	for (size_t i = 0; i < p->st.nfiles && p->total > c->max_store_size; i++)
		if (!p->gone[i] && !untouchable(p, i))
			delete_one(p, i, why);
	if (p->total > c->max_store_size)
		ctl_err("prune: the shards still take %llu bytes, over MaxStoreSize=%llu: the rest are on legal hold, "
			"live or today's",
			(unsigned long long)p->total, (unsigned long long)c->max_store_size);
}

static int parse_day(const char *s, int64_t *day)
{
	struct tm tm = { 0 };
	int n = 0;

	if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 || s[n] || tm.tm_mon < 1 ||
	    tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31)
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*day = (int64_t)timegm(&tm);
	return 0;
}

int ctl_cmd_prune(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_TODAY = CTL_OPT_LOCAL };
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS,
		{ "dry-run", no_argument, NULL, 'n' },
		{ "today", required_argument, NULL, OPT_TODAY },
		{ NULL, 0, NULL, 0 },
	};
	struct prune *p = calloc(1, sizeof(*p));
	int c, r = CTL_EXIT_ERROR;

	if (!p) {
		ctl_err("%s", strerror(ENOMEM));
		return CTL_EXIT_ERROR;
	}
	p->today = (int64_t)time(NULL) / DAY * DAY;
	while ((c = ctl_getopt("prune", argc, argv, "hn", longopts)) != -1) {
		if (c == 'h') {
			r = ctl_help(prune_usage);
			goto out;
		}
		if (c == 'n') {
			p->dry = true;
		} else if (c == OPT_TODAY) {
			if (parse_day(optarg, &p->today) < 0) {
				r = ctl_usage_err("prune", "--today wants YYYY-MM-DD, not '%s'", optarg);
				goto out;
			}
		} else if (c == '?' || ctl_common_opt(ctl, c, optarg)) {
			r = CTL_EXIT_USAGE;
			goto out;
		}
	}
	if (optind < argc) {
		r = ctl_usage_err("prune", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if ((r = ctl_config(ctl, &p->cfg)) != 0 || (r = load_holds(p)) != 0 || (r = load_live(p, ctl)) != 0 ||
	    (r = store_open(&p->st, ctl)) != 0)
		goto out;
	r = CTL_EXIT_ERROR;
	p->total = p->st.total;
	if (!(p->gone = calloc(p->st.nfiles + 1, sizeof(*p->gone))) ||
	    !(p->chain_hold = calloc(p->st.nfiles + 1, sizeof(*p->chain_hold))) ||
	    !(p->chain_why = calloc(p->st.nfiles + 1, sizeof(*p->chain_why))) ||
	    out_init(&p->o, STDOUT_FILENO, 1 << 16) < 0) {
		ctl_err("%s", strerror(ENOMEM));
		goto out_store;
	}
	run(p);
	r = out_close(&p->o) < 0 || p->failed ? CTL_EXIT_ERROR : CTL_EXIT_OK;
out_store:
	for (size_t i = 0; p->chain_why && i < p->st.nfiles + 1; i++)
		free(p->chain_why[i]);
	store_close(&p->st);
out:
	hold_free(&p->hold);
	free(p->live);
	free(p->gone);
	free(p->chain_hold);
	free(p->chain_why);
	free(p);
	return r;
}
