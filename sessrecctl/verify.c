/* verify: sessrecctl verify, every session's hash chain, checkpoints and
 * seals recomputed from the day shards (gzip too) or from evidence
 * directories (sessrecctl(1), verify; the checks are verifycore.c).
 * Convention: the command returns an exit status. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "jsonadd.h"
#include "out.h"
#include "reader.h"
#include "store.h"
#include "timearg.h"
#include "verifycore.h"

static const char verify_usage[] =
	"Usage: sessrecctl verify [OPTIONS] (SID... | --all | EVIDENCE_DIR...)\n"
	"\n"
	"Recomputes each session's hash chain from its stored lines and checks its\n"
	"checkpoints and, with the verification key, their seals. Prints per\n"
	"session \"ok\", \"live\" (still recording: verified up to its last\n"
	"checkpoint) or the first bad place: file and line, event time, and what is\n"
	"wrong (line edited, line missing, line inserted, lines reordered, chain\n"
	"cut before the end, seal invalid, seal from a skipped epoch).\n"
	"Exit status 1 on any damage.\n"
	"\n"
	"Options:\n"
	"  --all                every session\n"
	"  --key FILE           the verification key (sessrecctl keygen printed it);\n"
	"                       without it only the chains are checked\n"
	"  --since TIME         only sessions started at or after TIME\n"
	"  --json               one JSON object per session\n"
	"  --dir DIR            read shards from DIR (repeatable)\n"
	"  -h, --help           this help\n";

struct vjob {
	struct verify v;
	char **prefixes;
	size_t nprefixes;
	bool *matched;
	const char **names; /* file index -> name */
	size_t nnames;
	struct json_object *live;
	bool live_known;
	double since;
	bool json;
	struct out o;
	struct verify_sess **list;
	size_t nlist;
	char **evdirs; /* evidence directories (nnames of them) */
};

static bool want(void *arg, const char *sid)
{
	struct vjob *j = arg;
	bool any = j->nprefixes == 0;

	for (size_t i = 0; i < j->nprefixes; i++) {
		if (strncmp(sid, j->prefixes[i], strlen(j->prefixes[i])) == 0) {
			j->matched[i] = true;
			any = true;
		}
	}
	return any;
}

static bool is_live(void *arg, const char *sid)
{
	struct vjob *j = arg;

	return j->live_known && json_object_object_get_ex(j->live, sid, NULL);
}

/* The lines of file i of the store, into the checks. */
static int read_store_file(struct vjob *j, struct store *st, size_t i)
{
	struct reader r;
	const char *line;
	size_t len;
	int n;

	if (reader_open(&r, st, i, 0, 0) != 0)
		return CTL_EXIT_ERROR;
	while ((n = reader_next(&r, &line, &len)) == 1)
		if (verify_line(&j->v, (int)i, r.lineno, line, len) < 0) {
			n = -1;
			break;
		}
	reader_close(&r);
	return n < 0 ? CTL_EXIT_ERROR : 0;
}

/* An evidence directory's lines.jsonl (evidence.c), file index idx. */
static int read_evidence(struct vjob *j, const char *path, int idx)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	uint64_t no = 0;
	ssize_t n;
	int r = 0;

	if (!f) {
		ctl_err("%s: %s", path, strerror(errno));
		return CTL_EXIT_ERROR;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		no++;
		if (line[n - 1] == '\n')
			n--;
		if (verify_line(&j->v, idx, no, line, (size_t)n) < 0) {
			r = CTL_EXIT_ERROR;
			break;
		}
	}
	if (ferror(f)) {
		ctl_err("%s: %s", path, strerror(errno));
		r = CTL_EXIT_ERROR;
	}
	free(line);
	fclose(f);
	return r;
}

static void collect(void *arg, struct verify_sess *s)
{
	struct vjob *j = arg;

	if (!s->selected || !s->started || (j->since > 0 && (double)s->start < j->since))
		return;
	j->list[j->nlist++] = s;
}

static void count(void *arg, struct verify_sess *s)
{
	(*(size_t *)arg)++;
}

static int by_first(const void *a, const void *b)
{
	const struct verify_sess *x = *(struct verify_sess *const *)a, *y = *(struct verify_sess *const *)b;

	if (x->first.file != y->first.file)
		return x->first.file < y->first.file ? -1 : 1;
	return x->first.line < y->first.line ? -1 : x->first.line > y->first.line;
}

static const char *name(const struct vjob *j, int file)
{
	return file >= 0 && (size_t)file < j->nnames ? j->names[file] : "-";
}

static const char *result(const struct verify_sess *s)
{
	return s->damage ? "damaged" : s->ended ? "ok" : "live";
}

static void print_text(struct vjob *j, const struct verify_sess *s)
{
	char hex[CHK_HEX_LEN + 1];

	out_printf(&j->o, "%s  %s", s->sid, result(s));
	if (s->damage) {
		out_printf(&j->o, "  %s:%llu", name(j, s->bad.file), (unsigned long long)s->bad.line);
		if (s->bad.t >= 0)
			out_printf(&j->o, " (t=%.6f)", s->bad.t);
		out_printf(&j->o, ": %s: ", verify_damage_name(s->damage));
		out_safe(&j->o, s->detail, strlen(s->detail));
		if (s->found.file >= 0 && (s->found.file != s->bad.file || s->found.line != s->bad.line))
			out_printf(&j->o, " (found at %s:%llu; the damage is there or before, from the line named)",
				   name(j, s->found.file), (unsigned long long)s->found.line);
	} else if (s->ended) {
		chk_hex(hex, s->final_h);
		out_printf(&j->o, "  %llu lines, %llu checkpoints, %s, final hash %s", (unsigned long long)s->n,
			   (unsigned long long)s->nchk,
			   !s->any_sealed   ? "not sealed"
			   : !j->v.have_key ? "seals not checked"
			   : s->sealed_all  ? "sealed"
					    : "sealed from the key's start",
			   hex);
	} else {
		out_printf(&j->o, "  verified up to %s:%llu (its last checkpoint); %llu lines after it not yet covered",
			   name(j, s->good.file), (unsigned long long)s->good.line, (unsigned long long)s->since);
	}
	out_write(&j->o, "\n", 1);
}

static void print_json(struct vjob *j, const struct verify_sess *s)
{
	struct json_object *o = json_object_new_object();
	char hex[CHK_HEX_LEN + 1];
	const char *txt;
	size_t len;
	int r = o ? 0 : -ENOMEM;

	r = r ?: jsonadd_str(o, "sid", s->sid);
	r = r ?: jsonadd_str(o, "result", result(s));
	r = r ?: jsonadd_i64(o, "lines", (int64_t)s->n);
	r = r ?: jsonadd_i64(o, "checkpoints", (int64_t)s->nchk);
	r = r ?: jsonadd_bool(o, "seals_checked", j->v.have_key && s->any_sealed);
	if (s->damage) {
		r = r ?: jsonadd_str(o, "damage", verify_damage_name(s->damage));
		r = r ?: jsonadd_str(o, "file", name(j, s->bad.file));
		r = r ?: jsonadd_i64(o, "line", (int64_t)s->bad.line);
		if (s->bad.t >= 0)
			r = r ?: jsonadd_value(o, "t", json_object_new_double(s->bad.t));
		r = r ?: jsonadd_str(o, "found_file", name(j, s->found.file));
		r = r ?: jsonadd_i64(o, "found_line", (int64_t)s->found.line);
		r = r ?: jsonadd_str(o, "detail", s->detail);
	} else if (s->ended) {
		chk_hex(hex, s->final_h);
		r = r ?: jsonadd_str(o, "final_hash", hex);
	} else {
		r = r ?: jsonadd_str(o, "verified_to_file", name(j, s->good.file));
		r = r ?: jsonadd_i64(o, "verified_to_line", (int64_t)s->good.line);
	}
	if (r == 0 && (txt = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len))) {
		out_json(&j->o, txt, len);
		out_write(&j->o, "\n", 1);
	}
	json_object_put(o);
}

static bool is_evidence(const char *arg)
{
	char p[4200];
	struct stat st;

	snprintf(p, sizeof(p), "%s/manifest.json", arg);
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* A directory of evidence directories (export --evidence DIR SID...). */
static bool has_evidence(const char *arg)
{
	char p[4096];
	DIR *d = opendir(arg);
	struct dirent *e;
	bool any = false;

	while (d && !any && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", arg, e->d_name);
		any = is_evidence(p);
	}
	if (d)
		closedir(d);
	return any;
}

/* The evidence directories an argument names (itself, or those in it) into
 * list (grown); 0 or -ENOMEM. */
static int add_evidence(const char *arg, char ***list, size_t *n)
{
	DIR *d;
	struct dirent *e;
	char p[4096];
	int r = 0;

	if (is_evidence(arg)) {
		char **nl = realloc(*list, (*n + 1) * sizeof(**list));

		if (!nl || !(nl[*n] = strdup(arg)))
			return -ENOMEM;
		*list = nl;
		(*n)++;
		return 0;
	}
	if (!(d = opendir(arg)))
		return 0;
	while (r == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", arg, e->d_name);
		if (is_evidence(p))
			r = add_evidence(p, list, n);
	}
	closedir(d);
	return r;
}

int ctl_cmd_verify(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_ALL = CTL_OPT_LOCAL, OPT_KEY, OPT_SINCE, OPT_JSON };
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS,
		{ "all", no_argument, NULL, OPT_ALL },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct vjob j = { 0 };
	struct chk_key k0;
	const char *key = NULL;
	bool all = false, evidence = false, damaged = false;
	struct store st = { 0 };
	bool store_open_ = false;
	size_t total = 0;
	int c, r = CTL_EXIT_ERROR;

	while ((c = ctl_getopt("verify", argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case 'h':
			return ctl_help(verify_usage);
		case OPT_ALL:
			all = true;
			break;
		case OPT_KEY:
			key = optarg;
			break;
		case OPT_JSON:
			j.json = true;
			break;
		case OPT_SINCE:
			if (timearg_parse(optarg, time(NULL), &j.since) < 0)
				return ctl_usage_err("verify", "cannot read the time '%s'", optarg);
			break;
		case '?':
			return CTL_EXIT_USAGE;
		default:
			if (ctl_common_opt(ctl, c, optarg))
				return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc && (is_evidence(argv[optind]) || has_evidence(argv[optind])))
		evidence = true;
	if (!all && optind >= argc)
		return ctl_usage_err("verify", "which sessions? SID..., --all or an evidence directory");
	if (all && optind < argc && !evidence)
		return ctl_usage_err("verify", "--all and SIDs together");
	if (key && verify_load_key(key, &k0) != 0)
		return CTL_EXIT_ERROR;
	if (chk_init() < 0) {
		ctl_err("libsodium cannot start");
		return CTL_EXIT_ERROR;
	}
	verify_init(&j.v, key ? &k0 : NULL);
	j.v.want = want;
	j.v.want_arg = &j;
	if (out_init(&j.o, STDOUT_FILENO, 1 << 16) < 0)
		goto out;
	if (evidence) {
		for (int i = optind; i < argc; i++) {
			size_t had = j.nnames;

			if (add_evidence(argv[i], &j.evdirs, &j.nnames) < 0)
				goto out;
			if (j.nnames == had) {
				ctl_err("%s: not an evidence directory (no manifest.json)", argv[i]);
				goto out;
			}
		}
		if (!(j.names = calloc(j.nnames + 1, sizeof(*j.names))))
			goto out;
		for (size_t i = 0; i < j.nnames; i++) {
			char p[4200];

			j.names[i] = j.evdirs[i];
			snprintf(p, sizeof(p), "%s/lines.jsonl", j.evdirs[i]);
			if (read_evidence(&j, p, (int)i) != 0)
				goto out;
		}
	} else {
		j.prefixes = argv + optind;
		j.nprefixes = (size_t)(argc - optind);
		if (!(j.matched = calloc(j.nprefixes + 1, sizeof(bool))))
			goto out;
		if ((r = ctl_shard_dirs(ctl)) != 0 || (r = store_open(&st, ctl)) != 0)
			goto out;
		store_open_ = true;
		r = CTL_EXIT_ERROR;
		if (!(j.names = calloc(st.nfiles + 1, sizeof(*j.names))))
			goto out;
		j.nnames = st.nfiles;
		for (size_t i = 0; i < st.nfiles; i++) {
			j.names[i] = st.files[i].path;
			if (read_store_file(&j, &st, i) != 0)
				goto out;
		}
		for (size_t i = 0; i < j.nprefixes; i++)
			if (!j.matched[i]) {
				ctl_err("no session matches '%s'", j.prefixes[i]);
				damaged = true;
			}
		/* Sessions without an end line: live ones verify to their last checkpoint. */
		if ((j.live = json_object_new_object()) && ctl_live_sids(ctl, j.live) == 0)
			j.live_known = true;
	}
	verify_finish(&j.v, is_live, &j);
	verify_each(&j.v, count, &total);
	if (!(j.list = calloc(total + 1, sizeof(*j.list))))
		goto out;
	verify_each(&j.v, collect, &j);
	qsort(j.list, j.nlist, sizeof(*j.list), by_first);
	for (size_t i = 0; i < j.nlist; i++) {
		if (j.json)
			print_json(&j, j.list[i]);
		else
			print_text(&j, j.list[i]);
		damaged |= j.list[i]->damage != VD_NONE;
	}
	if (!j.json && !key)
		out_str(&j.o, "chains only: no verification key given (--key), seals were not checked\n");
	if (j.v.corrupt) {
		ctl_err("%llu lines are no shard lines at all (see above)", (unsigned long long)j.v.corrupt);
		damaged = true;
	}
	r = damaged || (store_open_ && st.io_error) ? CTL_EXIT_ERROR : CTL_EXIT_OK;
out:
	if (out_close(&j.o) < 0)
		r = CTL_EXIT_ERROR;
	verify_free(&j.v);
	json_object_put(j.live);
	free(j.list);
	free(j.matched);
	free((void *)j.names);
	for (size_t i = 0; j.evdirs && i < j.nnames; i++)
		free(j.evdirs[i]);
	free(j.evdirs);
	if (store_open_)
		store_close(&st);
	return r;
}
