/* grep: a POSIX extended regular expression over the text of sessions'
 * output and input (escape sequences removed by termtext, line by line),
 * across the store, oldest shard first. Memory: one text converter per
 * session still open in the chain of shards being read (store.h).
 * Convention: helpers 0 or -errno; the command an exit status. */
#include <errno.h>
#include <stddef.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"
#include "out.h"
#include "reader.h"
#include "sessinfo.h"
#include "sidtab.h"
#include "termtext.h"

static const char grep_usage[] =
	"Usage: sessrecctl grep [OPTIONS] PATTERN\n"
	"\n"
	"Searches the text of sessions (what was shown and what was typed, escape\n"
	"sequences removed, line editing applied) for PATTERN, a POSIX extended\n"
	"regular expression. Prints one line per match:\n"
	"  SID  +SECONDS  o|i  LINE\n"
	"(short sid, time into the session, o for output or i for input).\n"
	"\n"
	"Options:\n"
	"  -i, --ignore-case    ignore case\n"
	"  --input              search only the input (keys typed)\n"
	"  --output             search only the output\n"
	"  --user, --since, --until, --host, --src   as in list\n"
	"  --dir DIR            read shards from DIR (repeatable)\n"
	"  -h, --help           this help\n"
	"\n"
	"Exit status: 0 when a line matched, 1 when none did (or on error), 2 usage.\n";

struct grep;
struct gsess;

struct chan {
	struct termtext tt;
	struct grep *g;
	struct gsess *s;
	char ch;
};

struct gsess {
	bool skip, has_hdr;
	struct chan *chan[3]; /* output, input, stderr; while the session is open */
	char sid[];
};

struct grep {
	struct store st;
	struct filter f;
	regex_t re;
	bool chans[3];
	struct out o;
	unsigned long matches;
	struct sidtab tab; /* the sessions of the shard being read */
	int err;           /* of the texts flushed while clearing tab */
	char line[TERMTEXT_LINE_MAX + 1];
};

static struct gsess *lookup(struct grep *g, const char *sid, size_t n)
{
	int added;

	return sidtab_get(&g->tab, sid, n, &added);
}

static int line_cb(void *userdata, double t, const char *line, size_t len)
{
	struct chan *c = userdata;
	struct grep *g = c->g;

	memcpy(g->line, line, len); /* len <= TERMTEXT_LINE_MAX */
	g->line[len] = 0;
	if (regexec(&g->re, g->line, 0, NULL, 0) != 0)
		return 0;
	g->matches++;
	out_printf(&g->o, "%.8s  +%.3fs  %c  ", c->s->sid, t, c->ch);
	out_write(&g->o, line, len); /* termtext output has no control characters */
	out_write(&g->o, "\n", 1);
	return g->o.err;
}

/* Ends a session's text: its last lines are searched too. */
static int close_session(struct gsess *s)
{
	int r = 0;

	for (int k = 0; k < 3; k++) {
		if (!s->chan[k])
			continue;
		if (r == 0)
			r = termtext_finish(&s->chan[k]->tt);
		free(s->chan[k]);
		s->chan[k] = NULL;
	}
	return r;
}

/* sidtab_clear's callback: the texts' last lines are searched too. */
static void drop(void *entry)
{
	struct gsess *s = entry;
	struct grep *g = s->chan[0] ? s->chan[0]->g : s->chan[1] ? s->chan[1]->g : s->chan[2] ? s->chan[2]->g : NULL;
	int r = close_session(s);

	if (g && r < 0 && !g->err)
		g->err = r;
}

static int drop_all(struct grep *g)
{
	sidtab_clear(&g->tab, drop);
	return g->err;
}

/* An event's text (in data) into its channel's text converter. */
static int event(struct grep *g, struct gsess *s, const struct shardread_line *l, const uint8_t *data, size_t n)
{
	int k = l->ch == 'o' ? 0 : l->ch == 'i' ? 1 : l->ch == 'e' ? 2 : -1;

	if (k < 0 || !g->chans[k])
		return 0;
	if (!s->chan[k]) {
		if (!(s->chan[k] = malloc(sizeof(*s->chan[k]))))
			return -ENOMEM;
		termtext_init(&s->chan[k]->tt, k == 1, line_cb, s->chan[k]);
		s->chan[k]->g = g;
		s->chan[k]->s = s;
		s->chan[k]->ch = l->ch;
	}
	return termtext_feed(&s->chan[k]->tt, l->t, data, n);
}

/* The current line of r. -ENOMEM, an output error, or 0. */
static int take_line(struct grep *g, struct reader *r)
{
	struct shardscan *sc = &r->scan;
	const struct shardread_line *l = &sc->l;
	struct sessinfo si = { 0 };
	struct gsess *s;
	int ret;

	if (!(s = lookup(g, l->sid, l->sid_len)))
		return -ENOMEM;
	if (s->skip || l->kind == SHARDREAD_TRUNC || l->kind == SHARDREAD_EXEC || l->kind == SHARDREAD_EXIT)
		return 0;
	if ((ret = shardscan_take(sc, SHARDSCAN_TEXT | SHARDSCAN_MEMBERS)) < 0)
		return ret == -EBADMSG ? 0 : ret; /* corrupt: reported */
	/* read by json-c: kind and sid are json-c's */
	if (sc->parsed && !(s = lookup(g, l->sid, l->sid_len)))
		return -ENOMEM;
	if (s->skip)
		return 0;
	switch (l->kind) {
	case SHARDREAD_HDR:
		s->has_hdr = true;
		if ((ret = sessinfo_hdr(&si, sc->m, sc->nm)) == 0 && !filter_match(&g->f, &si))
			s->skip = true;
		sessinfo_free(&si);
		break;
	case SHARDREAD_EVENT:
		/* with filters, a session is known by its header, its first line */
		if (!s->has_hdr && filter_active(&g->f))
			s->skip = true;
		else
			ret = event(g, s, l, sc->data, sc->ndata);
		break;
	case SHARDREAD_END:
		ret = close_session(s);
		s->skip = true;
		break;
	default:
		break;
	}
	return ret;
}

/* Shards oldest first; a session's text runs on into the next file of its
 * chain (a rotated sibling and the file after it), so the sessions open at
 * the end of a file are closed only at the end of its chain. */
static int scan(struct grep *g)
{
	for (size_t i = 0; i < g->st.nfiles; i++) {
		struct reader r;
		int ret = 0;

		if (filter_day(&g->f, g->st.files[i].day) && reader_open(&r, &g->st, i, 0, 0) == 0) {
			while (ret == 0 && shardscan_next(&r.scan) == 1)
				ret = take_line(g, &r);
			reader_close(&r);
		}
		if (ret == 0 && store_same_chain(&g->st, i, i + 1))
			continue;
		if (ret == 0)
			ret = drop_all(g);
		else
			drop_all(g);
		store_progress_clear(&g->st);
		if (ret == 0)
			ret = out_flush(&g->o);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int ctl_cmd_grep(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_INPUT = FILTER_OPT_LOCAL, OPT_OUTPUT };
	/* clang-format off */
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS, FILTER_OPTIONS,
		{ "ignore-case", no_argument, NULL, 'i' },
		{ "input", no_argument, NULL, OPT_INPUT },
		{ "output", no_argument, NULL, OPT_OUTPUT },
		{ NULL, 0, NULL, 0 },
	};
	/* clang-format on */
	struct grep *g = calloc(1, sizeof(*g));
	int c, r, flags = REG_EXTENDED | REG_NOSUB;
	bool only_in = false, only_out = false;
	char err[256];

	if (!g) {
		ctl_err("%s", strerror(ENOMEM));
		return CTL_EXIT_ERROR;
	}
	g->tab.keyoff = offsetof(struct gsess, sid);
	r = CTL_EXIT_USAGE;
	while ((c = ctl_getopt("grep", argc, argv, "hi", longopts)) != -1) {
		if (c == 'h') {
			r = ctl_help(grep_usage);
			goto out_free;
		}
		if (c == '?')
			goto out_free;
		if (c == 'i')
			flags |= REG_ICASE;
		else if (c == OPT_INPUT)
			only_in = true;
		else if (c == OPT_OUTPUT)
			only_out = true;
		else if (filter_opt(ctl, &g->f, "grep", c, optarg) != 0)
			goto out_free;
	}
	if (optind + 1 != argc) {
		ctl_usage_err("grep", "%s", optind == argc ? "no PATTERN given" : "one PATTERN only");
		goto out_free;
	}
	g->chans[0] = !only_in || only_out;
	g->chans[1] = !only_out || only_in;
	g->chans[2] = g->chans[0]; /* stderr is output the user saw */
	if ((c = regcomp(&g->re, argv[optind], flags)) != 0) {
		regerror(c, &g->re, err, sizeof(err));
		ctl_usage_err("grep", "bad pattern '%s': %s", argv[optind], err);
		goto out_free;
	}
	r = CTL_EXIT_ERROR;
	if (out_init(&g->o, STDOUT_FILENO, 1 << 16) < 0) {
		ctl_err("%s", strerror(ENOMEM));
		goto out_re;
	}
	if (store_open(&g->st, ctl) == 0) {
		int e = scan(g);

		if (e < 0)
			ctl_err("%s", e == -ENOMEM ? strerror(ENOMEM) : "writing the matches failed");
		else if (g->matches && !g->st.io_error)
			r = 0;
		store_close(&g->st);
	}
	out_close(&g->o);
	sidtab_free(&g->tab, drop);
out_re:
	regfree(&g->re);
out_free:
	free(g);
	return r;
}
