/* authlist: `sessrecctl auth`, the authentications sessrecd recorded in the
 * auth-YYYY-MM-DD.jsonl files beside the shards: one line each, oldest
 * first, or a count per source (--by-src). Every value is the client's or
 * sshd's: printed through out_safe / out_json. Convention: exit statuses,
 * as ctl.h states. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "filter.h"
#include "out.h"
#include "sessinfo.h"
#include "timearg.h"

#define AUTHLIST_LINE_MAX 8192 /* the daemon writes under 4096 */
#define AUTHLIST_SRC_MAX 4096  /* sources counted by --by-src */

static const char auth_usage[] =
	"Usage: sessrecctl auth [OPTIONS]\n"
	"\n"
	"The authentications sessrecd recorded (auth-YYYY-MM-DD.jsonl beside\n"
	"the shards), oldest first: time (local), result (failed or ok), user as\n"
	"typed, source address and port, service, method, reason, key.\n"
	"\n"
	"Options:\n"
	"  --user USER          attempts for USER\n"
	"  --src ADDR|CIDR      attempts from that address or network\n"
	"  --since TIME         attempts at TIME or later (--until: or earlier)\n"
	"  --failed             failures only\n"
	"  --by-src             one line per source address: failures, successes,\n"
	"                       first and last attempt, most failures first\n"
	"  --json               the recorded JSON lines (with --by-src, one object\n"
	"                       per source)\n"
	"  --dir DIR            read DIR (repeatable)\n";

struct src_count {
	char *src;
	unsigned long failed, ok;
	double first, last;
};

struct authlist {
	struct filter f;
	bool failed_only, by_src, json;
	struct out o;
	struct src_count *srcs;
	size_t nsrcs;
	bool io_error;
};

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

static void count_src(struct authlist *al, const char *src, bool ok, double t)
{
	struct src_count *c = NULL;

	src = src ? src : "-";
	for (size_t i = 0; i < al->nsrcs && !c; i++)
		if (strcmp(al->srcs[i].src, src) == 0)
			c = &al->srcs[i];
	if (!c) {
		if (al->nsrcs == AUTHLIST_SRC_MAX || !(al->srcs[al->nsrcs].src = strdup(src)))
			return;
		c = &al->srcs[al->nsrcs++];
		c->first = t;
	}
	*(ok ? &c->ok : &c->failed) += 1;
	if (t > c->last)
		c->last = t;
	if (t < c->first)
		c->first = t;
}

static void print_one(struct authlist *al, struct json_object *o, bool ok, double t)
{
	static const char *const cols[] = { "service", "method", "reason" };
	char when[64];
	const char *v;

	out_fmt_time_local(when, sizeof(when), t);
	out_printf(&al->o, "%s  %-6s  ", when, ok ? "ok" : "failed");
	out_safe_str(&al->o, str_of(o, "user") ? str_of(o, "user") : "?");
	out_str(&al->o, "  ");
	out_safe_str(&al->o, str_of(o, "src_ip") ? str_of(o, "src_ip") : "-");
	if ((v = str_of(o, "src_port"))) {
		out_str(&al->o, ":");
		out_safe_str(&al->o, v);
	}
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		out_str(&al->o, "  ");
		out_safe_str(&al->o, str_of(o, cols[i]) ? str_of(o, cols[i]) : "-");
	}
	if ((v = str_of(o, "key_fp"))) {
		out_str(&al->o, "  ");
		out_safe_str(&al->o, str_of(o, "key_type") ? str_of(o, "key_type") : "?");
		out_str(&al->o, " ");
		out_safe_str(&al->o, v);
	}
	out_write(&al->o, "\n", 1);
}

static void take_line(struct authlist *al, const char *line, size_t n)
{
	struct json_object *o = json_tokener_parse(line);
	struct sessinfo si = { 0 };
	char user[AUTHLIST_LINE_MAX], src[256];
	const char *ev, *when;
	double t = 0;
	bool ok;

	if (!o || !json_object_is_type(o, json_type_object) || !(ev = str_of(o, "event")) ||
	    !(when = str_of(o, "time")) || timearg_rfc3339(when, &t) < 0)
		goto out;
	ok = strcmp(ev, "auth_succeeded") == 0;
	/* the filters of list, on the attempt's user, source and time */
	if (str_of(o, "user") && (size_t)snprintf(user, sizeof(user), "%s", str_of(o, "user")) < sizeof(user))
		si.user = user;
	if (str_of(o, "src_ip") && (size_t)snprintf(src, sizeof(src), "%s", str_of(o, "src_ip")) < sizeof(src))
		si.src_ip = src;
	si.start = t;
	if ((al->failed_only && ok) || !filter_match(&al->f, &si))
		goto out;
	if (al->by_src)
		count_src(al, si.src_ip, ok, t);
	else if (al->json) {
		out_json(&al->o, line, n);
		out_write(&al->o, "\n", 1);
	} else
		print_one(al, o, ok, t);
out:
	json_object_put(o);
}

static void read_file(struct authlist *al, const char *path)
{
	FILE *fp = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!fp) {
		ctl_err("%s: %s", path, strerror(errno));
		al->io_error = true;
		return;
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] != '\n' || n > AUTHLIST_LINE_MAX)
			continue; /* torn or not the daemon's */
		line[--n] = '\0';
		take_line(al, line, (size_t)n);
	}
	free(line);
	fclose(fp);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* auth-YYYY-MM-DD.jsonl, and whether the filter's time range can hold it. */
static int auth_file(const struct dirent *e)
{
	int y, m, d, n = 0;

	return sscanf(e->d_name, "auth-%4d-%2d-%2d.jsonl%n", &y, &m, &d, &n) == 3 && n > 0 && e->d_name[n] == '\0';
}

static void read_dir(struct authlist *al, const char *dir)
{
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, auth_file, by_name);
	char path[4096];

	if (n < 0) {
		if (errno != ENOENT) {
			ctl_err("%s: %s", dir, strerror(errno));
			al->io_error = true;
		}
		return;
	}
	for (int i = 0; i < n; i++) {
		struct tm tm = { 0 };
		double day;

		if (sscanf(ents[i]->d_name, "auth-%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) == 3) {
			tm.tm_year -= 1900;
			tm.tm_mon -= 1;
			day = (double)timegm(&tm);
			if (filter_day(&al->f, (int64_t)day) &&
			    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name) < sizeof(path))
				read_file(al, path);
		}
		free(ents[i]);
	}
	free(ents);
}

static int most_failed(const void *a, const void *b)
{
	const struct src_count *x = a, *y = b;

	if (x->failed != y->failed)
		return x->failed < y->failed ? 1 : -1;
	return strcmp(x->src, y->src);
}

static void print_by_src(struct authlist *al)
{
	char first[64], last[64];

	qsort(al->srcs, al->nsrcs, sizeof(al->srcs[0]), most_failed);
	if (!al->json)
		out_printf(&al->o, "%-40s %8s %8s  %-19s  %s\n", "SOURCE", "FAILED", "OK", "FIRST", "LAST");
	for (size_t i = 0; i < al->nsrcs; i++) {
		struct src_count *c = &al->srcs[i];

		out_fmt_time_local(first, sizeof(first), c->first);
		out_fmt_time_local(last, sizeof(last), c->last);
		if (al->json) {
			struct json_object *o = json_object_new_object();
			const char *txt;
			size_t len;

			if (!o)
				continue;
			json_object_object_add(o, "src_ip", json_object_new_string(c->src));
			json_object_object_add(o, "failed", json_object_new_int64((int64_t)c->failed));
			json_object_object_add(o, "succeeded", json_object_new_int64((int64_t)c->ok));
			json_object_object_add(o, "first", json_object_new_double(c->first));
			json_object_object_add(o, "last", json_object_new_double(c->last));
			txt = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
			if (txt)
				out_json(&al->o, txt, len);
			out_write(&al->o, "\n", 1);
			json_object_put(o);
			continue;
		}
		out_safe_pad(&al->o, c->src, 40);
		out_printf(&al->o, " %8lu %8lu  %-19s  %s\n", c->failed, c->ok, first, last);
	}
}

int ctl_cmd_auth(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_JSON = FILTER_OPT_LOCAL, OPT_FAILED, OPT_BY_SRC };
	/* clang-format off */
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS, FILTER_OPTIONS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ "failed", no_argument, NULL, OPT_FAILED },
		{ "by-src", no_argument, NULL, OPT_BY_SRC },
		{ NULL, 0, NULL, 0 },
	};
	/* clang-format on */
	struct authlist al = { 0 };
	int c, r;

	while ((c = ctl_getopt("auth", argc, argv, "h", longopts)) != -1) {
		if (c == 'h')
			return ctl_help(auth_usage);
		if (c == '?')
			return CTL_EXIT_USAGE;
		if (c == OPT_JSON)
			al.json = true;
		else if (c == OPT_FAILED)
			al.failed_only = true;
		else if (c == OPT_BY_SRC)
			al.by_src = true;
		else if ((r = filter_opt(ctl, &al.f, "auth", c, optarg)) != 0)
			return r < 0 ? CTL_EXIT_USAGE : r;
	}
	if (optind < argc)
		return ctl_usage_err("auth", "unexpected argument '%s'", argv[optind]);
	if (al.f.host)
		return ctl_usage_err("auth", "--host does not apply to authentications");
	if ((r = ctl_shard_dirs(ctl)) != 0)
		return r;
	if (out_init(&al.o, STDOUT_FILENO, 1 << 16) < 0 ||
	    (al.by_src && !(al.srcs = calloc(AUTHLIST_SRC_MAX, sizeof(*al.srcs))))) {
		ctl_err("%s", strerror(ENOMEM));
		out_close(&al.o);
		return CTL_EXIT_ERROR;
	}
	for (size_t i = 0; i < ctl->ndirs; i++)
		read_dir(&al, ctl->dirs[i]);
	if (al.by_src)
		print_by_src(&al);
	r = al.io_error ? CTL_EXIT_ERROR : CTL_EXIT_OK;
	if (out_close(&al.o) < 0 && r == 0) {
		ctl_err("writing the list: %s", strerror(-al.o.err));
		r = CTL_EXIT_ERROR;
	}
	for (size_t i = 0; i < al.nsrcs; i++)
		free(al.srcs[i].src);
	free(al.srcs);
	return r;
}
