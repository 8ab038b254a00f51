/* export: one session as an asciicast v2 file (for asciinema and its
 * players), as the text a person saw (escape sequences removed), or as the
 * exact bytes recorded. Streams from the shard to the output.
 * Convention: helpers 0 or -errno; run and the command an exit status. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evidence.h"
#include "out.h"
#include "sessread.h"
#include "shardline.h"
#include "termtext.h"

static const char export_usage[] =
	"Usage: sessrecctl export [OPTIONS] SID\n"
	"       sessrecctl export --evidence DIR [--key FILE] SID...\n"
	"\n"
	"Writes a session's recording to standard output or a file.\n"
	"\n"
	"Options:\n"
	"  --format FORMAT      asciicast (default): an asciicast v2 file for\n"
	"                         asciinema play / cat (output events, text with\n"
	"                         U+FFFD where the output was not UTF-8);\n"
	"                       text: what the user saw, escape sequences removed,\n"
	"                         one line per terminal line;\n"
	"                       raw: the exact output bytes, for forensics\n"
	"  --input              asciicast: add the input (\"i\") events; text and\n"
	"                       raw: export the input (keys typed) instead\n"
	"  -o, --output FILE    write to FILE (created with mode 0600, replaced if\n"
	"                       it exists) instead of standard output\n"
	"  --evidence DIR       for each SID given, DIR/SID/ with the lines exactly as\n"
	"                       stored, an asciicast, a transcript and manifest.json\n"
	"                       (sources and their SHA-256, chain, seals, the\n"
	"                       verification); --key FILE checks the seals too\n"
	"  --dir DIR            read shards from DIR (repeatable)\n"
	"  -h, --help           this help\n";

enum format { FMT_CAST, FMT_TEXT, FMT_RAW };

struct export_job {
	enum format fmt;
	bool input;
	struct out o;
	bool header; /* asciicast header written */
	char *esc;   /* JSON escaping buffer */
	size_t esc_cap;
	struct termtext tt;
};

static void cast_header(struct export_job *ex, struct json_object *line)
{
	struct json_object *hdr = NULL, *h;

	if (line && json_object_object_get_ex(line, "hdr", &hdr) && json_object_is_type(hdr, json_type_object))
		h = json_object_get(hdr);
	else
		h = json_object_new_object();
	json_object_object_add(h, "version", json_object_new_int(2));
	if (!json_object_object_get_ex(h, "width", NULL))
		json_object_object_add(h, "width", json_object_new_int(80));
	if (!json_object_object_get_ex(h, "height", NULL))
		json_object_object_add(h, "height", json_object_new_int(24));
	out_str(&ex->o, json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	out_write(&ex->o, "\n", 1);
	json_object_put(h);
	ex->header = true;
}

/* [t, "o", "text"]: the line's own JSON when it is valid UTF-8 and has no
 * ESC stand-in (asciicast players know \u001b, not "x1b"), else the decoded
 * text escaped again (invalid bytes become U+FFFD). */
static int cast_event(struct export_job *ex, const struct shardread_line *l, const struct sessread *sr)
{
	char t[64];

	if (!ex->header)
		cast_header(ex, NULL);
	out_write(&ex->o, "[", 1);
	if (l->t_text)
		out_write(&ex->o, l->t_text, l->t_text_len);
	else
		out_write(&ex->o, t, shard_format_t(t, l->t));
	/* asciicast v2 knows o, i, r and m: stderr is output ("o"). */
	out_printf(&ex->o, ", \"%c\", \"", l->ch == 'e' ? 'o' : l->ch);
	if (l->d_json && l->d_utf8 && !l->x1b) {
		out_write(&ex->o, l->d_json, l->d_len);
	} else {
		size_t need = sr->ndata * 6 + 8;

		if (need > ex->esc_cap) {
			char *n = realloc(ex->esc, need);

			if (!n)
				return -ENOMEM;
			ex->esc = n;
			ex->esc_cap = need;
		}
		out_write(&ex->o, ex->esc, shard_json_escape(ex->esc, ex->esc_cap, sr->data, sr->ndata, NULL));
	}
	out_write(&ex->o, "\"]\n", 3);
	return 0;
}

static int text_line_cb(void *userdata, double t, const char *line, size_t len)
{
	struct export_job *ex = userdata;

	out_write(&ex->o, line, len);
	out_write(&ex->o, "\n", 1);
	return ex->o.err;
}

static int open_output(const char *path)
{
	int fd;

	if (!path || strcmp(path, "-") == 0)
		return STDOUT_FILENO;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		ctl_err("%s: %s", path, strerror(errno));
	return fd;
}

static int run(struct export_job *ex, struct sessread *sr)
{
	const struct shardread_line *l;
	char want = ex->input ? 'i' : 'o';
	int n = 0, r = 0;

	while (r == 0 && !ex->o.err && (n = sessread_next(sr, &l)) == 1) {
		if (l->kind == SHARDREAD_HDR && ex->fmt == FMT_CAST && !ex->header)
			cast_header(ex, l->obj);
		if (l->kind == SHARDREAD_EVENT) {
			/* a command's stderr ("e") went to the user with its output */
			bool ch = l->ch == want || (want == 'o' && l->ch == 'e');

			if (ex->fmt == FMT_CAST && (l->ch == 'o' || l->ch == 'e' || (ex->input && l->ch == 'i')))
				r = cast_event(ex, l, sr);
			else if (ex->fmt == FMT_TEXT && ch)
				r = termtext_feed(&ex->tt, l->t, sr->data, sr->ndata);
			else if (ex->fmt == FMT_RAW && ch)
				out_write(&ex->o, sr->data, sr->ndata);
		}
	}
	if (r == 0 && ex->fmt == FMT_TEXT)
		r = termtext_finish(&ex->tt);
	if (r == 0 && ex->fmt == FMT_CAST && !ex->header)
		cast_header(ex, NULL);
	if (r == -ENOMEM)
		ctl_err("%s", strerror(ENOMEM));
	return r || n < 0 ? CTL_EXIT_ERROR : 0;
}

/* Writes sr's session to path (NULL, "-": stdout) as ex asks. An exit
 * status. */
static int export_to(struct export_job *ex, struct sessread *sr, struct store *st, const char *path)
{
	int r, fd;

	/* text views read "d": the writer's UTF-8 with U+FFFD for invalid bytes */
	sr->text = ex->fmt != FMT_RAW;
	termtext_init(&ex->tt, ex->input, text_line_cb, ex);
	if ((fd = open_output(path)) < 0)
		return CTL_EXIT_ERROR;
	r = CTL_EXIT_ERROR;
	if (out_init(&ex->o, fd, 1 << 20) < 0) {
		ctl_err("%s", strerror(ENOMEM));
		goto out_fd;
	}
	r = run(ex, sr);
	if (out_close(&ex->o) < 0) {
		ctl_err("writing %s: %s", path ? path : "the export", strerror(-ex->o.err));
		r = CTL_EXIT_ERROR;
	}
	if (r == 0 && st->io_error)
		r = CTL_EXIT_ERROR;
out_fd:
	if (fd != STDOUT_FILENO && close(fd) < 0 && r == 0) {
		ctl_err("%s: %s", path, strerror(errno));
		r = CTL_EXIT_ERROR;
	}
	free(ex->esc);
	ex->esc = NULL;
	ex->esc_cap = 0;
	return r;
}

int export_file(struct store *st, const struct find_target *tg, bool text, const char *path)
{
	struct export_job ex = { .fmt = text ? FMT_TEXT : FMT_CAST };
	struct sessread sr;
	int r;

	if ((r = sessread_open(&sr, st, tg, false)) != 0)
		return r;
	r = export_to(&ex, &sr, st, path);
	sessread_close(&sr);
	return r;
}

int ctl_cmd_export(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_FORMAT = CTL_OPT_LOCAL, OPT_INPUT, OPT_EVIDENCE, OPT_KEY };
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS,
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "input", no_argument, NULL, OPT_INPUT },
		{ "output", required_argument, NULL, 'o' },
		{ "evidence", required_argument, NULL, OPT_EVIDENCE },
		{ "key", required_argument, NULL, OPT_KEY },
		{ NULL, 0, NULL, 0 },
	};
	struct export_job ex = { .fmt = FMT_CAST };
	const char *path = NULL, *evidence = NULL, *key = NULL;
	struct store st;
	struct sessread sr;
	int c, r;

	while ((c = ctl_getopt("export", argc, argv, "ho:", longopts)) != -1) {
		switch (c) {
		case 'h':
			return ctl_help(export_usage);
		case 'o':
			path = optarg;
			break;
		case OPT_INPUT:
			ex.input = true;
			break;
		case OPT_EVIDENCE:
			evidence = optarg;
			break;
		case OPT_KEY:
			key = optarg;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "asciicast") == 0 || strcmp(optarg, "cast") == 0)
				ex.fmt = FMT_CAST;
			else if (strcmp(optarg, "text") == 0)
				ex.fmt = FMT_TEXT;
			else if (strcmp(optarg, "raw") == 0)
				ex.fmt = FMT_RAW;
			else
				return ctl_usage_err("export", "unknown format '%s' (asciicast, text, raw)", optarg);
			break;
		case '?':
			return CTL_EXIT_USAGE;
		default:
			if (ctl_common_opt(ctl, c, optarg))
				return CTL_EXIT_USAGE;
		}
	}
	if (evidence)
		return evidence_run(ctl, evidence, key, argc - optind, argv + optind);
	if (key)
		return ctl_usage_err("export", "--key goes with --evidence");
	if ((r = sessread_open_sid(&sr, &st, ctl, "export", argc, argv, false)) != 0)
		return r;
	r = export_to(&ex, &sr, &st, path);
	sessread_close(&sr);
	store_close(&st);
	return r;
}
