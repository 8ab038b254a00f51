/* list: one line (or JSON object) per session, newest first. Shards are
 * read a day at a time, newest day first, so memory holds one day's session
 * summaries, never the store; lines are only classified (shardscan), and
 * only header and end lines are read whole.
 * Convention: helpers 0 or -errno; scan and the command an exit status. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"
#include "out.h"
#include "reader.h"
#include "sessinfo.h"
#include "shardline.h"
#include "sidtab.h"

static const char list_usage[] =
	"Usage: sessrecctl list [OPTIONS]\n"
	"\n"
	"One line per recorded session, newest first: short sid, start (local\n"
	"time), duration, user, source address, PAM service, host, bytes relayed\n"
	"(output + input), a flag and state: live (no end line yet), ended,\n"
	"truncated (the per-session cap was reached) or unattached. FLAG is W\n"
	"when more than 3 input lines were withheld as secrets (typed with echo\n"
	"off), else -.\n"
	"\n"
	"Options:\n"
	"  --user USER          sessions of USER\n"
	"  --since TIME         sessions that started at TIME or later\n"
	"  --until TIME         sessions that started at TIME or earlier\n"
	"  --host HOST          sessions recorded on HOST\n"
	"  --src ADDR[/BITS]    sessions from ADDR (or a network)\n"
	"  --command PATTERN    sessions that ran a command whose arguments,\n"
	"                       joined by spaces, match PATTERN (an ERE)\n"
	"  --json               one JSON object per line, with the full sid and\n"
	"                       every known field\n"
	"  --dir DIR            read shards from DIR (repeatable)\n"
	"  -h, --help           this help\n"
	"\n"
	"TIME: YYYY-MM-DD, \"YYYY-MM-DD HH:MM[:SS]\" (local), RFC 3339, @UNIX,\n"
	"today, yesterday, or an age: 90s, 30m, 2h, 3d, 1w.\n";

enum { L_HDR = 1, L_END = 2, L_TRUNC = 4, L_SKIP = 8, L_UNATTACHED = 16, L_WITHHELD = 32 };

/* The text columns (user, src, service, host) fit their widest value, from
 * these widths up to LIST_COL_MAX: a recorded name is attacker-controlled in
 * a honeypot, and one absurd value must not push every line off the screen
 * (it overflows its own line only). */
enum { LIST_NCOLS = 4, LIST_COL_MAX = 40 };
static const int list_col_min[LIST_NCOLS] = { 10, 15, 7, 12 };
static const char *const list_col_name[LIST_NCOLS] = { "USER", "SRC", "SERVICE", "HOST" };

/* What list keeps of a session until its day is printed: small, in the
 * table's arena. --json reads the header and end lines again at the end
 * (kept as copies only for gzip shards, which cannot be read at an offset). */
struct lsess {
	uint8_t flags;
	float duration;
	uint32_t file, ncmds, first_line; /* file: where its first line is */
	uint32_t hdr_file, end_file;      /* of its chain (a rotation may cut it) */
	double start, last_t;
	uint64_t bytes;
	const char *text; /* user, src_ip, service, host: NUL-separated, "" unknown */
	uint64_t hdr_off, end_off;
	const char *hdr_line, *end_line;
	char sid[];
};

struct list {
	struct store st;
	struct filter f;
	bool json;
	struct out out;
	struct out scratch;    /* a value shown safely, to measure its width */
	int width[LIST_NCOLS]; /* only grow: see print_header */
	bool header_done;
	struct sidtab tab;  /* one day's sessions */
	struct lsess **day; /* the same, to sort */
	size_t capday;
	char *line; /* a line read again (--json) */
	int fd;     /* of the file it comes from */
	size_t fd_file;
};

static struct lsess *lookup(struct list *ls, const struct shardread_line *l, const struct reader *r)
{
	int added;
	struct lsess *s = sidtab_get(&ls->tab, l->sid, l->sid_len, &added);

	if (s && added) {
		s->file = (uint32_t)r->index;
		s->first_line = (uint32_t)r->lineno;
	}
	return s;
}

static char *arena_dup(struct list *ls, const char *p, size_t n)
{
	char *c = sidtab_alloc(&ls->tab, n + 1);

	if (c) {
		memcpy(c, p, n);
		c[n] = 0;
	}
	return c;
}

/* The header's fields into the summary (or its filtering out). */
static int take_hdr(struct list *ls, struct lsess *s, const struct sessinfo *si, struct reader *r, const char *line,
		    size_t len)
{
	const char *f[4] = { si->user, si->src_ip, si->service, si->host };
	size_t n[4], total = 0;
	char *p;

	s->flags |= L_HDR;
	s->start = si->start;
	if (filter_active(&ls->f) && !filter_match(&ls->f, si)) {
		s->flags |= L_SKIP;
		return 0;
	}
	for (int i = 0; i < 4; i++)
		total += (n[i] = f[i] ? strlen(f[i]) : 0) + 1;
	if (!(p = sidtab_alloc(&ls->tab, total)))
		return -ENOMEM;
	s->text = p;
	for (int i = 0; i < 4; i++) {
		memcpy(p, f[i] ? f[i] : "", n[i] + 1);
		p += n[i] + 1;
	}
	s->hdr_off = r->line_off;
	s->hdr_file = (uint32_t)r->index;
	if (ls->json && r->gz && !(s->hdr_line = arena_dup(ls, line, len)))
		return -ENOMEM;
	return 0;
}

static int take_end(struct list *ls, struct lsess *s, const struct sessinfo *si, struct reader *r, const char *line,
		    size_t len)
{
	s->flags |= L_END;
	s->duration = (float)si->duration;
	s->bytes = si->bytes_out + si->bytes_in;
	if (si->trunc)
		s->flags |= L_TRUNC;
	if (si->reason && strcmp(si->reason, "unattached") == 0)
		s->flags |= L_UNATTACHED;
	if (si->withheld_lines > SHARD_WITHHELD_FLAG)
		s->flags |= L_WITHHELD;
	s->end_off = r->line_off;
	s->end_file = (uint32_t)r->index;
	if (ls->json && r->gz && !(s->end_line = arena_dup(ls, line, len)))
		return -ENOMEM;
	return 0;
}

/* The current line of r into its session's summary. -ENOMEM or 0. */
static int take_line(struct list *ls, struct reader *r)
{
	struct shardscan *sc = &r->scan;
	const struct shardread_line *l = &sc->l;
	struct sessinfo si = { .sid = "" };
	struct lsess *s = lookup(ls, l, r);
	int ret = 0;

	if (!s)
		return -ENOMEM;
	if (!store_same_chain(&ls->st, s->file, r->index) || (s->flags & L_SKIP))
		return 0; /* a copy of the session in another directory, or filtered out */
	/* Only header and end lines are read whole; list needs no payload, so
	 * other lines in the writer's layout are taken as framed: show, export,
	 * play and grep check every line they read. */
	if ((l->kind == SHARDREAD_HDR || l->kind == SHARDREAD_END) && (ret = shardscan_take(sc, SHARDSCAN_MEMBERS)) < 0)
		return ret == -EBADMSG ? 0 : ret; /* corrupt: reported */
	switch (l->kind) {
	case SHARDREAD_HDR:
		sessinfo_set_sid(&si, l->sid, l->sid_len); /* --command knows sessions by sid */
		ret = sessinfo_hdr(&si, sc->m, sc->nm);
		if (ret == 0)
			ret = take_hdr(ls, s, &si, r, sc->line, sc->len);
		break;
	case SHARDREAD_END:
		si.last_t = s->last_t;
		ret = sessinfo_end(&si, sc->m, sc->nm);
		if (ret == 0)
			ret = take_end(ls, s, &si, r, sc->line, sc->len);
		break;
	case SHARDREAD_TRUNC:
		s->flags |= L_TRUNC;
		break;
	case SHARDREAD_EXEC:
		s->ncmds++;
		/* fall through */
	case SHARDREAD_EXIT:
	case SHARDREAD_DENY:
	case SHARDREAD_EVENT:
		if (l->t > s->last_t)
			s->last_t = l->t;
		break;
	default:
		break;
	}
	sessinfo_free(&si);
	return ret;
}

static const char *lstate(const struct lsess *s)
{
	if (s->flags & L_UNATTACHED)
		return "unattached";
	if (s->flags & L_TRUNC)
		return s->flags & L_END ? "truncated" : "live";
	return s->flags & L_END ? "ended" : "live";
}

/* The i-th string of s->text. */
static const char *field(const struct lsess *s, int i)
{
	const char *p = s->text;

	if (!p)
		return NULL;
	while (i--)
		p += strlen(p) + 1;
	return p;
}

/* A line of a plain shard read again at its offset, NUL-terminated. */
static const char *line_at(struct list *ls, size_t file, uint64_t off)
{
	size_t got = 0;

	if (ls->fd < 0 || ls->fd_file != file) {
		if (ls->fd >= 0)
			close(ls->fd);
		ls->fd_file = file;
		ls->fd = open(ls->st.files[file].path, O_RDONLY | O_CLOEXEC);
		if (ls->fd < 0)
			return NULL;
	}
	if (!ls->line && !(ls->line = malloc(SHARDREAD_LINE_MAX + 1)))
		return NULL;
	while (got < SHARDREAD_LINE_MAX) {
		/* the writer's lines fit in 4 KiB; longer ones take more reads */
		size_t want = SHARDREAD_LINE_MAX - got < 4096 ? SHARDREAD_LINE_MAX - got : 4096;
		ssize_t n = pread(ls->fd, ls->line + got, want, (off_t)(off + got));
		char *nl;

		if (n <= 0)
			break;
		nl = memchr(ls->line + got, '\n', (size_t)n);
		got += (size_t)n;
		if (nl) {
			*nl = 0;
			return ls->line;
		}
	}
	ls->line[got] = 0;
	return ls->line;
}

/* Copies every member of src (an object) into dst. */
static void merge(struct json_object *dst, struct json_object *src)
{
	if (!src || !json_object_is_type(src, json_type_object))
		return;
	json_object_object_foreach(src, k, v)
		json_object_object_add(dst, k, json_object_get(v));
}

static struct json_object *reread(struct list *ls, const struct lsess *s, int flag, size_t file, uint64_t off,
				  const char *copy)
{
	if (!(s->flags & flag))
		return NULL;
	if (copy)
		return json_tokener_parse(copy);
	copy = line_at(ls, file, off);
	return copy ? json_tokener_parse(copy) : NULL;
}

static void print_json(struct list *ls, const struct lsess *s)
{
	struct json_object *o = json_object_new_object(), *hl, *el, *hdr = NULL, *meta = NULL, *v;
	char when[64];
	const char *txt;
	size_t len;

	hl = reread(ls, s, L_HDR, s->hdr_file, s->hdr_off, s->hdr_line);
	el = reread(ls, s, L_END, s->end_file, s->end_off, s->end_line);
	json_object_object_add(o, "sid", json_object_new_string(s->sid));
	json_object_object_add(o, "state", json_object_new_string(lstate(s)));
	if (hl && json_object_object_get_ex(hl, "meta", &meta))
		merge(o, meta);
	if (!json_object_object_get_ex(o, "start", &v) && s->start > 0) {
		out_fmt_time_utc(when, sizeof(when), s->start);
		json_object_object_add(o, "start", json_object_new_string(when));
	}
	if (hl && json_object_object_get_ex(hl, "hdr", &hdr)) {
		static const char *keys[] = { "width", "height", "timestamp", "env" };

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (json_object_object_get_ex(hdr, keys[i], &v))
				json_object_object_add(o, keys[i], json_object_get(v));
	}
	out_fmt_seconds(when, sizeof(when), s->last_t);
	json_object_object_add(o, "duration", json_object_new_double_s(s->last_t, when));
	if (el && json_object_object_get_ex(el, "end", &v))
		merge(o, v);
	if (!json_object_object_get_ex(o, "truncated", &v))
		json_object_object_add(o, "truncated", json_object_new_boolean(!!(s->flags & L_TRUNC)));
	json_object_object_add(o, "withheld_flag", json_object_new_boolean(!!(s->flags & L_WITHHELD)));
	json_object_object_add(o, "commands", json_object_new_int64(s->ncmds));
	json_object_object_add(o, "shard", json_object_new_string(ls->st.files[s->file].path));
	json_object_object_add(o, "line", json_object_new_int64(s->first_line));
	txt = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (txt)
		out_json(&ls->out, txt, len); /* DEL and C1 escaped too */
	out_write(&ls->out, "\n", 1);
	json_object_put(o);
	json_object_put(hl);
	json_object_put(el);
}

/* The header, aligned with the lines that follow it. Widths are known a
 * day at a time (memory holds one day's sessions), so it is printed before
 * the newest day, and again before an older day only if that day widened a
 * column. */
static void print_header(struct list *ls)
{
	out_printf(&ls->out, "%-8s  %-19s  %8s  ", "SID", "START", "DURATION");
	for (int i = 0; i < LIST_NCOLS; i++)
		out_printf(&ls->out, "%-*s  ", ls->width[i], list_col_name[i]);
	out_printf(&ls->out, "%7s  %-4s  %s\n", "BYTES", "FLAG", "STATE");
	ls->header_done = true;
}

/* Columns out_safe_pad takes for s, up to LIST_COL_MAX: it writes one column
 * per character (escapes are ASCII), so the scratch copy's characters are
 * counted. A character is at most 4 bytes, so a longer value is at the cap. */
static int col_width(struct list *ls, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	int cols = 0;

	if (n >= 4 * (size_t)LIST_COL_MAX)
		return LIST_COL_MAX;
	if (n == 0)
		return 1; /* "-" */
	ls->scratch.len = 0;
	out_safe(&ls->scratch, s, n);
	for (size_t i = 0; i < ls->scratch.len && cols < LIST_COL_MAX; i++)
		if (((uint8_t)ls->scratch.buf[i] & 0xc0) != 0x80)
			cols++;
	return cols;
}

/* Widens the columns for the day's n sessions; true if one grew. */
static bool fit_columns(struct list *ls, size_t n)
{
	bool grew = false;

	for (size_t k = 0; k < n; k++)
		for (int i = 0; i < LIST_NCOLS; i++) {
			int w = col_width(ls, field(ls->day[k], i));

			if (w > ls->width[i]) {
				ls->width[i] = w;
				grew = true;
			}
		}
	return grew;
}

static void print_line(struct list *ls, const struct lsess *s)
{
	char when[32] = "-", dur[32], bytes[32] = "-";

	if (s->start > 0)
		out_fmt_time_local(when, sizeof(when), s->start);
	out_fmt_duration(dur, sizeof(dur), s->flags & L_END ? s->duration : s->last_t);
	if (s->flags & L_END)
		out_fmt_bytes(bytes, sizeof(bytes), s->bytes);
	out_printf(&ls->out, "%-8.8s  %-19s  %8s  ", s->sid, when, dur);
	for (int i = 0; i < LIST_NCOLS; i++) {
		out_safe_pad(&ls->out, field(s, i), ls->width[i]);
		out_str(&ls->out, "  ");
	}
	out_printf(&ls->out, "%7s  %-4s  %s\n", bytes, s->flags & L_WITHHELD ? "W" : "-", lstate(s));
}

static int newest_first(const void *a, const void *b)
{
	const struct lsess *x = *(struct lsess *const *)a, *y = *(struct lsess *const *)b;

	if (x->start != y->start)
		return x->start < y->start ? 1 : -1;
	return strcmp(x->sid, y->sid);
}

/* Prints and forgets the day's sessions. */
static int flush_day(struct list *ls)
{
	size_t n = 0;

	if (ls->tab.count > ls->capday) {
		free(ls->day);
		ls->capday = ls->tab.cap;
		if (!(ls->day = malloc(ls->capday * sizeof(*ls->day))))
			return -ENOMEM;
	}
	for (size_t i = 0; i < ls->tab.cap; i++) {
		struct lsess *s = ls->tab.slot[i];

		if (s && !(s->flags & L_SKIP) && ((s->flags & L_HDR) || !filter_active(&ls->f)))
			ls->day[n++] = s;
	}
	qsort(ls->day, n, sizeof(*ls->day), newest_first);
	if (!ls->json && (fit_columns(ls, n) || !ls->header_done))
		print_header(ls);
	for (size_t i = 0; i < n; i++) {
		if (ls->json) {
			/* duration: the end's, else the last event's */
			if (ls->day[i]->flags & L_END)
				ls->day[i]->last_t = ls->day[i]->duration;
			print_json(ls, ls->day[i]);
		} else {
			print_line(ls, ls->day[i]);
		}
	}
	sidtab_clear(&ls->tab, NULL);
	if (ls->fd >= 0)
		close(ls->fd);
	ls->fd = -1;
	store_progress_clear(&ls->st);
	return out_flush(&ls->out);
}

static int scan(struct list *ls)
{
	size_t i = ls->st.nfiles;

	while (i > 0) {
		int64_t day = ls->st.files[i - 1].day;
		size_t first = i;

		while (first > 0 && ls->st.files[first - 1].day == day)
			first--;
		for (size_t k = first; k < i && filter_day(&ls->f, day); k++) {
			struct reader r;
			int ret = 0;

			if (reader_open(&r, &ls->st, k, 0, 0))
				continue;
			while (ret == 0 && shardscan_next(&r.scan) == 1)
				ret = take_line(ls, &r);
			reader_close(&r);
			if (ret < 0) {
				store_warn(&ls->st, "%s", strerror(-ret));
				return CTL_EXIT_ERROR;
			}
		}
		if (flush_day(ls) < 0)
			return CTL_EXIT_ERROR;
		i = first;
	}
	return 0;
}

int ctl_cmd_list(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_JSON = FILTER_OPT_LOCAL };
	/* clang-format off */
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS, FILTER_OPTIONS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	/* clang-format on */
	struct list ls = { .tab = SIDTAB_INIT(struct lsess), .fd = -1 };
	int c, r;

	while ((c = ctl_getopt("list", argc, argv, "h", longopts)) != -1) {
		if (c == 'h')
			return ctl_help(list_usage);
		if (c == '?')
			return CTL_EXIT_USAGE;
		if (c == OPT_JSON)
			ls.json = true;
		else if ((r = filter_opt(ctl, &ls.f, "list", c, optarg)) != 0)
			return r < 0 ? CTL_EXIT_USAGE : r;
	}
	if (optind < argc)
		return ctl_usage_err("list", "unexpected argument '%s'", argv[optind]);
	if ((r = store_open(&ls.st, ctl)) != 0)
		return r;
	if ((r = filter_prepare(&ls.f, "list", &ls.st)) != 0) {
		store_close(&ls.st);
		return r;
	}
	/* scratch holds a value of 4 * LIST_COL_MAX bytes, each escaped to 4 */
	if (out_init(&ls.out, STDOUT_FILENO, 1 << 16) < 0 || out_init(&ls.scratch, -1, 16 * LIST_COL_MAX) < 0) {
		out_close(&ls.out);
		filter_release(&ls.f);
		store_close(&ls.st);
		ctl_err("%s", strerror(ENOMEM));
		return CTL_EXIT_ERROR;
	}
	memcpy(ls.width, list_col_min, sizeof(ls.width));
	r = scan(&ls);
	if (!ls.json && !ls.header_done)
		print_header(&ls); /* no shard: the header alone */
	if (out_close(&ls.out) < 0 && r == 0) {
		ctl_err("writing the list: %s", strerror(-ls.out.err));
		r = CTL_EXIT_ERROR;
	}
	ls.scratch.len = 0; /* nothing of it is written anywhere */
	out_close(&ls.scratch);
	sidtab_free(&ls.tab, NULL);
	free(ls.day);
	free(ls.line);
	if (ls.fd >= 0)
		close(ls.fd);
	if (r == 0 && ls.st.io_error)
		r = CTL_EXIT_ERROR;
	filter_release(&ls.f);
	store_close(&ls.st);
	return r;
}
