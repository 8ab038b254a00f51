/* show: everything the shard holds about one session, streamed: its header
 * and meta, then a timeline of resizes, markers, truncation and commands,
 * then the end summary and what the events add up to.
 * Convention: the command returns an exit status; output errors are
 * collected in struct out and reported once at its close. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out.h"
#include "sessinfo.h"
#include "sessread.h"

static const char show_usage[] =
	"Usage: sessrecctl show [OPTIONS] SID\n"
	"\n"
	"Everything known about a session: its meta data (user, source, service,\n"
	"terminal, authentication), resizes, markers, truncation, the commands run\n"
	"in it when command records exist, and the end summary.\n"
	"\n"
	"Options:\n"
	"  --dir DIR            read shards from DIR (repeatable)\n"
	"  -h, --help           this help\n";

struct show {
	struct out o;
	bool timeline;
	uint64_t events[3], bytes[3]; /* output, input, stderr (a command without a pty) */
	unsigned resizes, markers, execs;
	struct json_object *end; /* the end line */
};

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

/* before, then v escaped ("?" when absent), then after: every value read
 * from a shard is printed through out_safe, numbers too (a hostile shard
 * can hold any string where a number belongs). */
static void put(struct out *o, const char *before, const char *v, const char *after)
{
	out_str(o, before);
	out_safe_str(o, v ? v : "?");
	out_str(o, after);
}

static void field(struct out *o, const char *name, const char *value)
{
	out_printf(o, "%-10s", name);
	out_safe_str(o, value);
	out_write(o, "\n", 1);
}

/* The header line: line parsed whole, sc with its members. */
static void show_hdr(struct show *sh, struct json_object *line, const struct shardscan *sc)
{
	static const char *known[] = { "user", "uid",  "service", "proto", "src_ip", "src_port",      "tty",
				       "host", "auth", "start",   "cmd",   "pid",    "audit_session", "input" };
	struct json_object *hdr = NULL, *meta = NULL, *env = NULL;
	struct sessinfo s = { 0 };
	struct out *o = &sh->o;
	char when[64], utc[64];
	const char *v;

	json_object_object_get_ex(line, "hdr", &hdr);
	json_object_object_get_ex(line, "meta", &meta);
	json_object_object_get_ex(hdr, "env", &env);
	sessinfo_hdr(&s, sc->m, sc->nm);
	out_fmt_time_local(when, sizeof(when), s.start);
	out_fmt_time_utc(utc, sizeof(utc), s.start);
	out_printf(o, "%-10s%s (%s)\n", "Start", when, utc);
	out_printf(o, "%-10s", "User");
	out_safe_str(o, str_of(meta, "user"));
	if ((v = str_of(meta, "uid")))
		put(o, " (uid ", v, ")");
	out_printf(o, "\n%-10s", "Service");
	out_safe_str(o, str_of(meta, "service"));
	if ((v = str_of(meta, "proto"))) {
		out_str(o, " (");
		out_safe_str(o, v);
		out_str(o, ")");
	}
	out_printf(o, "\n%-10s", "Source");
	out_safe_str(o, str_of(meta, "src_ip"));
	if ((v = str_of(meta, "src_port")) && strcmp(v, "0") != 0)
		put(o, " port ", v, "");
	out_write(o, "\n", 1);
	field(o, "Host", str_of(meta, "host"));
	field(o, "TTY", str_of(meta, "tty"));
	if ((v = str_of(meta, "auth")))
		field(o, "Auth", v);
	if ((v = str_of(meta, "cmd")))
		field(o, "Command", v);
	out_printf(o, "%-10s", "Terminal");
	put(o, "", str_of(hdr, "width"), "x");
	put(o, "", str_of(hdr, "height"), ", TERM=");
	out_safe_str(o, str_of(env, "TERM"));
	out_str(o, ", SHELL=");
	out_safe_str(o, str_of(env, "SHELL"));
	out_write(o, "\n", 1);
	if ((v = str_of(meta, "input")))
		field(o, "Input", strcmp(v, "true") == 0 ? "recorded" : "not recorded");
	if ((v = str_of(meta, "pid"))) {
		out_printf(o, "%-10s", "PID");
		out_safe_str(o, v);
		if ((v = str_of(meta, "audit_session")) && strcmp(v, "-1") != 0)
			put(o, ", audit session ", v, "");
		out_write(o, "\n", 1);
	}
	if (meta && json_object_is_type(meta, json_type_object)) {
		json_object_object_foreach(meta, k, val) {
			size_t i;

			for (i = 0; i < sizeof(known) / sizeof(known[0]) && strcmp(known[i], k); i++)
				;
			if (i < sizeof(known) / sizeof(known[0]))
				continue;
			out_printf(o, "%-10s", "Meta");
			out_safe_str(o, k);
			out_str(o, "=");
			out_safe_str(o, json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN |
										    JSON_C_TO_STRING_NOSLASHESCAPE));
			out_write(o, "\n", 1);
		}
	}
	sessinfo_free(&s);
}

static void when(struct show *sh, double t)
{
	if (!sh->timeline) {
		out_str(&sh->o, "\nTimeline:\n");
		sh->timeline = true;
	}
	out_printf(&sh->o, "  +%.3fs  ", t);
}

/* argv as a shell would need it typed: words with blanks or quotes quoted. */
static void show_argv(struct out *o, struct json_object *argv)
{
	size_t n = json_object_array_length(argv);

	for (size_t i = 0; i < n; i++) {
		const char *a = json_object_get_string(json_object_array_get_idx(argv, i));

		if (i)
			out_write(o, " ", 1);
		if (!a)
			a = "";
		if (*a && !strpbrk(a, " \t'\"\\$`;&|<>()*?[]{}~#!")) {
			out_safe_str(o, a);
			continue;
		}
		out_write(o, "'", 1);
		for (const char *p = a; *p; p++) {
			const char *q = strchr(p, '\'');
			size_t run = q ? (size_t)(q - p) : strlen(p);

			out_safe(o, p, run);
			p += run;
			if (!*p)
				break;
			out_str(o, "'\\''");
		}
		out_write(o, "'", 1);
	}
}

static void show_exec(struct show *sh, const struct shardread_line *l)
{
	struct json_object *e = NULL, *argv = NULL, *v;
	struct out *o = &sh->o;

	json_object_object_get_ex(l->obj, "exec", &e);
	when(sh, l->t);
	put(o, "exec  pid ", str_of(e, "pid"), "");
	if (str_of(e, "ppid"))
		put(o, " ppid ", str_of(e, "ppid"), "");
	if (str_of(e, "uid"))
		put(o, " uid ", str_of(e, "uid"), "");
	if (str_of(e, "cwd")) {
		out_str(o, " in ");
		out_safe_str(o, str_of(e, "cwd"));
	}
	out_str(o, ": ");
	if (json_object_object_get_ex(e, "argv", &argv) && json_object_is_type(argv, json_type_array))
		show_argv(o, argv);
	else
		out_str(o, "(arguments unknown)");
	if (json_object_object_get_ex(e, "argv_truncated", &v) && json_object_get_boolean(v))
		out_str(o, " ...");
	out_write(o, "\n", 1);
	sh->execs++;
}

static void show_exit(struct show *sh, const struct shardread_line *l)
{
	struct json_object *e = NULL;
	const char *sig, *code, *dur;

	json_object_object_get_ex(l->obj, "exit", &e);
	when(sh, l->t);
	sig = str_of(e, "signal");
	code = str_of(e, "code");
	dur = str_of(e, "dur");
	put(&sh->o, "exit  pid ", str_of(e, "pid"), "");
	if (sig) {
		out_str(&sh->o, " killed by signal ");
		out_safe_str(&sh->o, sig);
	} else {
		put(&sh->o, " status ", code, "");
	}
	if (dur)
		put(&sh->o, " after ", dur, "s");
	out_write(&sh->o, "\n", 1);
}

static void show_event(struct show *sh, const struct shardread_line *l, const struct sessread *sr)
{
	int k = l->ch == 'o' ? 0 : l->ch == 'i' ? 1 : l->ch == 'e' ? 2 : -1;

	if (k >= 0) {
		sh->events[k]++;
		sh->bytes[k] += sr->ndata;
		return;
	}
	if (l->ch != 'r' && l->ch != 'm')
		return;
	when(sh, l->t);
	out_str(&sh->o, l->ch == 'r' ? "resize " : "marker ");
	out_safe(&sh->o, (const char *)sr->data, sr->ndata);
	out_write(&sh->o, "\n", 1);
	*(l->ch == 'r' ? &sh->resizes : &sh->markers) += 1;
}

static void show_summary(struct show *sh, const struct sessinfo *s)
{
	struct json_object *end = NULL;
	struct out *o = &sh->o;
	const char *v;
	char dur[32];

	if (sh->end)
		json_object_object_get_ex(sh->end, "end", &end);
	out_str(o, "\nSummary:\n");
	out_printf(o, "  %-10s%s", "State", sessinfo_state(s));
	if ((v = str_of(end, "reason"))) {
		out_str(o, " (");
		out_safe_str(o, v);
		out_str(o, ")");
	}
	out_write(o, "\n", 1);
	out_fmt_duration(dur, sizeof(dur), s->has_end ? s->duration : s->last_t);
	out_printf(o, "  %-10s%s%s\n", "Duration", dur, s->has_end ? "" : " so far");
	if ((v = str_of(end, "end"))) {
		out_printf(o, "  %-10s", "Ended");
		out_safe_str(o, v);
		out_write(o, "\n", 1);
	}
	for (int k = 0; k < 3; k++) {
		if (k == 2 && !sh->events[2])
			continue; /* only commands without a pty have a stderr channel */
		out_printf(o, "  %-10s", k == 2 ? "Stderr" : k ? "Input" : "Output");
		if (k < 2 && (v = str_of(end, k ? "bytes_in" : "bytes_out")))
			put(o, "", v, " bytes relayed, ");
		out_printf(o, "%llu bytes recorded in %llu event%s", (unsigned long long)sh->bytes[k],
			   (unsigned long long)sh->events[k], sh->events[k] == 1 ? "" : "s");
		if (k == 1 && (v = str_of(end, "withheld")) && strcmp(v, "0") != 0)
			put(o, ", ", v, " bytes withheld (secrets)");
		out_write(o, "\n", 1);
	}
	out_printf(o, "  %-10s%u, markers %u, commands %u\n", "Resizes", sh->resizes, sh->markers, sh->execs);
	out_printf(o, "  %-10s%s\n", "Truncated", s->trunc ? "yes: the per-session cap was reached" : "no");
	if ((v = str_of(end, "bytes_recorded"))) {
		out_printf(o, "  %-10s", "Stored");
		put(o, "", v, " bytes of shard lines\n");
	}
}

int ctl_cmd_show(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = { CTL_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	struct show sh = { 0 };
	struct sessinfo s = { 0 };
	struct store st;
	struct sessread sr;
	const struct shardread_line *l;
	int c, r, n;

	while ((c = ctl_getopt("show", argc, argv, "h", longopts)) != -1) {
		if (c == 'h')
			return ctl_help(show_usage);
		if (c == '?' || (r = ctl_common_opt(ctl, c, optarg)) != 0)
			return CTL_EXIT_USAGE;
	}
	if ((r = sessread_open_sid(&sr, &st, ctl, "show", argc, argv, false)) != 0)
		return r;
	if (out_init(&sh.o, STDOUT_FILENO, 1 << 16) < 0) {
		r = CTL_EXIT_ERROR;
		goto out_sr;
	}
	out_printf(&sh.o, "%-10s%s\n%-10s", "Session", sr.tg.sid, "Shard"); /* a valid sid: [0-9A-Za-z._-] */
	out_safe_str(&sh.o, st.files[sr.tg.file].path);
	out_printf(&sh.o, ":%llu\n", (unsigned long long)sr.tg.lineno + 1);
	while ((n = sessread_next(&sr, &l)) == 1) {
		switch (l->kind) {
		case SHARDREAD_HDR:
			if (!s.has_hdr)
				show_hdr(&sh, l->obj, &sr.r.scan);
			sessinfo_hdr(&s, sr.r.scan.m, sr.r.scan.nm);
			break;
		case SHARDREAD_EVENT:
			show_event(&sh, l, &sr);
			if (l->t > s.last_t)
				s.last_t = l->t;
			break;
		case SHARDREAD_TRUNC:
			s.trunc = true;
			when(&sh, s.last_t);
			out_str(&sh.o,
				"truncated: the per-session output cap was reached; later output is not recorded (input, resizes and markers are)\n");
			break;
		case SHARDREAD_EXEC:
			show_exec(&sh, l);
			s.last_t = l->t > s.last_t ? l->t : s.last_t;
			break;
		case SHARDREAD_EXIT:
			show_exit(&sh, l);
			s.last_t = l->t > s.last_t ? l->t : s.last_t;
			break;
		case SHARDREAD_END:
			sessinfo_end(&s, sr.r.scan.m, sr.r.scan.nm);
			json_object_put(sh.end);
			sh.end = json_object_get(l->obj);
			break;
		default:
			break;
		}
		if (sh.o.err)
			break;
	}
	if (!s.has_hdr)
		out_str(&sh.o, "(no header line: the session's start was not recorded or is damaged)\n");
	show_summary(&sh, &s);
	r = n < 0 || st.io_error ? CTL_EXIT_ERROR : 0;
	if (out_close(&sh.o) < 0) {
		ctl_err("writing: %s", strerror(-sh.o.err));
		r = CTL_EXIT_ERROR;
	}
	json_object_put(sh.end);
	sessinfo_free(&s);
out_sr:
	sessread_close(&sr);
	store_close(&st);
	return r;
}
