/* commands: `sessrecctl commands [SID...]`: the commands run in recorded
 * sessions (their exec and exit records, sessrec-shards(5)), one line per
 * exec with its exit status and duration, across the store, oldest shard
 * first. A session's commands are printed when its end line is read (or its
 * chain of shards ends): an exit follows its exec by any time.
 * Convention: helpers 0 or -errno; the command an exit status. */
#include <errno.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"
#include "out.h"
#include "reader.h"
#include "sessinfo.h"
#include "sidtab.h"

static const char commands_usage[] =
	"Usage: sessrecctl commands [OPTIONS] [SID...]\n"
	"\n"
	"The commands run in recorded sessions (every exec the daemon's command\n"
	"tracer saw), oldest first, one line each:\n"
	"  SID  TIME  PID  DURATION  STATUS  ARGV\n"
	"(short sid; local time of the exec; STATUS the exit code, sig:N for a\n"
	"signal, - when no exit was recorded; ARGV quoted as a shell would need\n"
	"it, ? when the source could not read it, ... when it was capped).\n"
	"With SIDs (or unique prefixes), only those sessions.\n"
	"\n"
	"Options:\n"
	"  --user, --since, --until, --host, --src, --command   as in list\n"
	"  --json               one JSON object per command: sid, user, time\n"
	"                       (RFC 3339), t, and the exec and exit records\n"
	"  --dir DIR            read shards from DIR (repeatable)\n"
	"  -h, --help           this help\n"
	"\n"
	"Exit status: 0 when a command was listed, 1 when none was (or on error), 2 usage.\n";

struct cmd_row {
	double t;
	struct json_object *exec, *exit; /* owned */
};

struct cmds;

struct csess {
	struct cmds *c; /* for sidtab_clear's callback */
	bool skip, has_hdr, done;
	double start;
	char *user;
	struct cmd_row *rows;
	size_t nrows, cap;
	char sid[];
};

struct cmds {
	struct store st;
	struct filter f;
	bool json;
	char **sids; /* prefixes asked for; NULL: all */
	int nsids;
	struct out o;
	unsigned long printed;
	bool failed; /* the scan failed: nothing more is printed */
	struct sidtab tab;
};

static bool wanted(const struct cmds *c, const char *sid)
{
	if (!c->sids)
		return true;
	for (int i = 0; i < c->nsids; i++)
		if (strncmp(sid, c->sids[i], strlen(c->sids[i])) == 0)
			return true;
	return false;
}

static void free_rows(struct csess *s)
{
	for (size_t i = 0; i < s->nrows; i++) {
		json_object_put(s->rows[i].exec);
		json_object_put(s->rows[i].exit);
	}
	free(s->rows);
	free(s->user);
	s->rows = NULL;
	s->user = NULL;
	s->nrows = s->cap = 0;
}

static const char *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

static void print_text(struct cmds *c, const struct csess *s, const struct cmd_row *r)
{
	struct json_object *argv = NULL, *v = NULL;
	char when[32] = "-", dur[32] = "-";
	const char *sig = member(r->exit, "signal"), *code = member(r->exit, "code"), *d = member(r->exit, "dur");

	if (s->start > 0)
		out_fmt_time_local(when, sizeof(when), s->start + r->t);
	if (d)
		snprintf(dur, sizeof(dur), "%.3fs", strtod(d, NULL));
	out_printf(&c->o, "%.8s  %-19s  ", s->sid, when);
	out_safe_pad(&c->o, member(r->exec, "pid"), 7);
	out_printf(&c->o, "  %9s  ", dur);
	if (sig) {
		char b[32];

		snprintf(b, sizeof(b), "sig:%.20s", sig);
		out_safe_pad(&c->o, b, 7);
	} else {
		out_safe_pad(&c->o, r->exit ? code : "-", 7);
	}
	out_str(&c->o, "  ");
	if (json_object_object_get_ex(r->exec, "argv", &argv) && json_object_is_type(argv, json_type_array))
		out_argv(&c->o, argv);
	else
		out_str(&c->o, "?");
	if (json_object_object_get_ex(r->exec, "argv_truncated", &v) && json_object_get_boolean(v))
		out_str(&c->o, " ...");
	out_write(&c->o, "\n", 1);
}

static int print_json(struct cmds *c, const struct csess *s, const struct cmd_row *r)
{
	struct json_object *o = json_object_new_object();
	char when[64], t[32];
	const char *txt;
	size_t len;
	int ret = -ENOMEM;

	if (!o)
		return -ENOMEM;
	if (json_object_object_add(o, "sid", json_object_new_string(s->sid)) < 0 ||
	    json_object_object_add(o, "user", s->user ? json_object_new_string(s->user) : NULL) < 0)
		goto out;
	if (s->start > 0) {
		out_fmt_time_utc(when, sizeof(when), s->start + r->t);
		if (json_object_object_add(o, "time", json_object_new_string(when)) < 0)
			goto out;
	}
	snprintf(t, sizeof(t), "%.6f", r->t); /* as the shard writes it */
	if (json_object_object_add(o, "t", json_object_new_double_s(r->t, t)) < 0 ||
	    json_object_object_add(o, "exec", json_object_get(r->exec)) < 0 ||
	    json_object_object_add(o, "exit", json_object_get(r->exit)) < 0)
		goto out;
	if ((txt = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
						     &len))) {
		out_json(&c->o, txt, len);
		out_write(&c->o, "\n", 1);
		ret = 0;
	}
out:
	json_object_put(o);
	return ret;
}

/* A session's commands go out (its end, or the end of its chain). */
static int flush_session(struct cmds *c, struct csess *s)
{
	int ret = 0;

	for (size_t i = 0; i < s->nrows && ret == 0; i++) {
		if (c->json)
			ret = print_json(c, s, &s->rows[i]);
		else
			print_text(c, s, &s->rows[i]);
		c->printed++;
	}
	free_rows(s);
	s->done = true;
	return ret ? ret : c->o.err;
}

static int add_exec(struct csess *s, double t, struct json_object *exec)
{
	if (s->nrows == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct cmd_row *n = realloc(s->rows, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->rows = n;
		s->cap = cap;
	}
	s->rows[s->nrows++] = (struct cmd_row){ .t = t, .exec = json_object_get(exec) };
	return 0;
}

/* The exit goes to the latest exec of its pid without one. */
static void add_exit(struct csess *s, struct json_object *exit)
{
	const char *pid = member(exit, "pid");

	for (size_t i = s->nrows; pid && i-- > 0;) {
		const char *p = member(s->rows[i].exec, "pid");

		if (!s->rows[i].exit && p && !strcmp(p, pid)) {
			s->rows[i].exit = json_object_get(exit);
			return;
		}
	}
}

static int take_line(struct cmds *c, struct reader *r)
{
	struct shardscan *sc = &r->scan;
	const struct shardread_line *l = &sc->l;
	struct sessinfo si = { 0 };
	struct json_object *v = NULL;
	struct csess *s;
	int added, ret;

	if (!(s = sidtab_get(&c->tab, l->sid, l->sid_len, &added)))
		return -ENOMEM;
	if (added) {
		s->c = c;
		s->skip = !wanted(c, s->sid);
	}
	if (s->skip || s->done ||
	    (l->kind != SHARDREAD_HDR && l->kind != SHARDREAD_END && l->kind != SHARDREAD_EXEC &&
	     l->kind != SHARDREAD_EXIT))
		return 0;
	if (!s->has_hdr && l->kind != SHARDREAD_HDR && filter_active(&c->f)) {
		s->skip = true; /* with filters, a session is known by its header, its first line */
		return 0;
	}
	ret = shardscan_take(sc, l->kind == SHARDREAD_HDR ? SHARDSCAN_MEMBERS : SHARDSCAN_OBJ);
	if (ret < 0)
		return ret == -EBADMSG ? 0 : ret;
	switch (l->kind) {
	case SHARDREAD_HDR:
		s->has_hdr = true;
		sessinfo_set_sid(&si, l->sid, l->sid_len);
		if ((ret = sessinfo_hdr(&si, sc->m, sc->nm)) == 0) {
			s->start = si.start;
			if (si.user && !(s->user = strdup(si.user)))
				ret = -ENOMEM;
			if (filter_active(&c->f) && !filter_match(&c->f, &si))
				s->skip = true;
		}
		sessinfo_free(&si);
		break;
	case SHARDREAD_EXEC:
		if (json_object_object_get_ex(l->obj, "exec", &v) && json_object_is_type(v, json_type_object))
			ret = add_exec(s, l->t, v);
		break;
	case SHARDREAD_EXIT:
		if (json_object_object_get_ex(l->obj, "exit", &v) && json_object_is_type(v, json_type_object))
			add_exit(s, v);
		break;
	case SHARDREAD_END:
		ret = flush_session(c, s);
		break;
	default:
		break;
	}
	return ret;
}

/* sidtab_clear's callback: a session still open at the end of its chain
 * shows what it ran so far (not after a failure: c->failed). */
static void drop(void *entry)
{
	struct csess *s = entry;

	if (s->nrows && !s->c->failed)
		(void)flush_session(s->c, s);
	free_rows(s);
}

static int scan(struct cmds *c)
{
	for (size_t i = 0; i < c->st.nfiles; i++) {
		struct reader r;
		int ret = 0;

		if (filter_day(&c->f, c->st.files[i].day) && reader_open(&r, &c->st, i, 0, 0) == 0) {
			while (ret == 0 && shardscan_next(&r.scan) == 1)
				ret = take_line(c, &r);
			reader_close(&r);
		}
		if (ret == 0 && store_same_chain(&c->st, i, i + 1))
			continue;
		c->failed = ret != 0;
		sidtab_clear(&c->tab, drop);
		store_progress_clear(&c->st);
		if (ret == 0)
			ret = out_flush(&c->o);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int ctl_cmd_commands(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_JSON = FILTER_OPT_LOCAL };
	/* clang-format off */
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS, FILTER_OPTIONS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	/* clang-format on */
	struct cmds c = { .tab = SIDTAB_INIT(struct csess) };
	int opt, r;

	while ((opt = ctl_getopt("commands", argc, argv, "h", longopts)) != -1) {
		if (opt == 'h')
			return ctl_help(commands_usage);
		if (opt == '?')
			return CTL_EXIT_USAGE;
		if (opt == OPT_JSON)
			c.json = true;
		else if ((r = filter_opt(ctl, &c.f, "commands", opt, optarg)) != 0)
			return r < 0 ? CTL_EXIT_USAGE : r;
	}
	if (optind < argc) {
		c.sids = argv + optind;
		c.nsids = argc - optind;
	}
	if ((r = store_open(&c.st, ctl)) != 0)
		return r;
	if ((r = filter_prepare(&c.f, "commands", &c.st)) != 0) {
		store_close(&c.st);
		return r;
	}
	r = CTL_EXIT_ERROR;
	if (out_init(&c.o, STDOUT_FILENO, 1 << 16) < 0) {
		ctl_err("%s", strerror(ENOMEM));
		goto out;
	}
	if (!c.json)
		out_printf(&c.o, "%-8s  %-19s  %-7s  %9s  %-7s  %s\n", "SID", "TIME", "PID", "DURATION", "STATUS",
			   "ARGV");
	if ((opt = scan(&c)) < 0)
		ctl_err("%s", opt == -ENOMEM ? strerror(ENOMEM) : "writing the commands failed");
	else if (c.printed && !c.st.io_error)
		r = 0;
	if (out_close(&c.o) < 0)
		r = CTL_EXIT_ERROR;
out:
	c.failed = true;
	sidtab_free(&c.tab, drop);
	filter_release(&c.f);
	store_close(&c.st);
	return r;
}
