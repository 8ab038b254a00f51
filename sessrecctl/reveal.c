/* reveal: the operator's side of the escrow of withheld input
 * (sessrecd(8), "Withheld input"): `escrow-keygen` makes the key pair,
 * `reveal` opens a session's "esc" lines with the private key and prints
 * the withheld lines, escaped for the terminal or as JSON.
 * Convention: the commands return an exit status; helpers 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "io.h"
#include "jsonadd.h"
#include "out.h"
#include "sealkey.h"
#include "sessread.h"
#include "shardline.h"
#include "utf8.h"

#define REVEAL_DEFAULT_DIR "/etc/sessrec"
#define REVEAL_DEFAULT_KEY REVEAL_DEFAULT_DIR "/escrow.key"
#define REVEAL_LINE_MAX (1u << 20) /* longer withheld lines are cut (a hostile shard) */

static const char reveal_usage[] =
	"Usage: sessrecctl reveal [OPTIONS] SID\n"
	"\n"
	"The input a session withheld as secrets (typed while the terminal had echo\n"
	"off), escrowed by sessrecd under EscrowPublicKey=, opened with the private\n"
	"key: one line per withheld line, in time order, terminal controls shown as\n"
	"\\xNN. A key that did not seal them is refused with exit status 1.\n"
	"\n"
	"Options:\n"
	"  --key FILE           the private key (default " REVEAL_DEFAULT_KEY
	")\n"
	"  --json               one JSON object per line: sid, t, d (the text with\n"
	"                       its line end), raw (base64, when it is not UTF-8)\n"
	"  --dir DIR            read shards from DIR (repeatable)\n"
	"  -h, --help           this help\n";

static const char keygen_usage[] =
	"Usage: sessrecctl escrow-keygen [--out DIR]\n"
	"\n"
	"Makes an escrow key pair for EscrowPublicKey=: DIR/escrow.key (the private\n"
	"key, mode 0600: keep it off the recorded machines) and DIR/escrow.pub (the\n"
	"public key). Existing files are never overwritten.\n"
	"\n"
	"Options:\n"
	"  --out DIR            where to write them (default " REVEAL_DEFAULT_DIR
	")\n"
	"  -h, --help           this help\n";

struct reveal {
	struct out o;
	bool json;
	const char *sid; /* the session's */
	uint8_t pk[SEALKEY_BYTES], sk[SEALKEY_BYTES];
	uint8_t *line; /* the opened pieces of the current line */
	size_t len;
	double t;                        /* of its last piece */
	bool pending;                    /* pieces of a line taken, its last one not yet */
	bool bad;                        /* a piece of the current line did not open */
	unsigned lines, opened, refused; /* escrowed lines, opened, not opened */
};

/* The line as one JSON object: sid, t, d, and raw when not UTF-8. */
static void print_json(struct reveal *rv, size_t n)
{
	struct json_object *j = json_object_new_object();
	char ts[32], *raw = NULL;
	const char *txt;

	snprintf(ts, sizeof(ts), "%.6f", rv->t);
	if (!j || jsonadd_str(j, "sid", rv->sid) < 0 ||
	    jsonadd_value(j, "t", json_object_new_double_s(rv->t, ts)) < 0 ||
	    jsonadd_value(j, "d", json_object_new_string_len((const char *)rv->line, (int)n)) < 0)
		goto out;
	if (utf8_valid_len(rv->line, n) != n) {
		if (!(raw = malloc(B64_ENCODED_LEN(n) + 1)))
			goto out;
		raw[b64_encode(raw, rv->line, n)] = '\0';
		if (jsonadd_str(j, "raw", raw) < 0)
			goto out;
	}
	txt = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	out_json(&rv->o, txt, strlen(txt));
	out_write(&rv->o, "\n", 1);
out:
	free(raw);
	json_object_put(j);
}

/* The current line is complete (its last piece, or the end of the
 * session's lines after a piece that said "more": a line a crash cut):
 * printed if every piece opened, counted, wiped. */
static void finish_line(struct reveal *rv)
{
	size_t n = rv->len;

	rv->lines++;
	if (rv->bad) {
		rv->refused++;
	} else if (rv->json) {
		rv->opened++;
		print_json(rv, n);
	} else {
		rv->opened++;
		/* the Enter that ended it is not shown */
		if (n && (rv->line[n - 1] == '\r' || rv->line[n - 1] == '\n'))
			n--;
		out_printf(&rv->o, "+%.3fs  ", rv->t);
		out_safe(&rv->o, (const char *)rv->line, n);
		out_write(&rv->o, "\n", 1);
	}
	if (rv->line)
		sodium_memzero(rv->line, rv->len);
	rv->len = 0;
	rv->bad = false;
	rv->pending = false;
}

/* One "esc" line of the session: its piece opened and added to the line;
 * the last piece of a line prints it. */
static int take_piece(struct reveal *rv, const struct shardread_line *l)
{
	uint8_t sealed[SHARD_ESCROW_SEALED_MAX];
	bool more;
	ssize_t n = shardread_escrow(l, sealed, sizeof(sealed), &more);
	size_t plain;

	rv->t = l->t;
	rv->pending = true;
	if (n < (ssize_t)crypto_box_SEALBYTES) {
		rv->bad = true; /* damaged: counted as not opened */
	} else if (!rv->bad) {
		plain = (size_t)n - crypto_box_SEALBYTES;
		if (rv->len + plain > REVEAL_LINE_MAX) {
			rv->bad = true;
		} else {
			if (!rv->line && !(rv->line = sodium_malloc(REVEAL_LINE_MAX)))
				return -ENOMEM;
			if (crypto_box_seal_open(rv->line + rv->len, sealed, (size_t)n, rv->pk, rv->sk) != 0)
				rv->bad = true;
			else
				rv->len += plain;
		}
	}
	if (!more)
		finish_line(rv);
	return 0;
}

/* The private key of path into rv (and its public key), refused when
 * others may read it. */
static int load_key(struct reveal *rv, const char *path)
{
	struct stat st;
	int r = sealkey_read(path, rv->sk, &st);

	if (r == -EINVAL || r == -EFBIG) {
		ctl_err("%s: holds no key (expected one line of base64 or hex, 32 bytes)", path);
		return CTL_EXIT_ERROR;
	}
	if (r < 0) {
		ctl_err("%s: %s", path, r == -EPERM ? "not a regular file" : strerror(-r));
		return CTL_EXIT_ERROR;
	}
	if (st.st_mode & 077) {
		ctl_err("%s: a private key others can read or write (mode %04o): chmod 600 it", path,
			(unsigned)(st.st_mode & 07777));
		return CTL_EXIT_ERROR;
	}
	crypto_scalarmult_base(rv->pk, rv->sk);
	return 0;
}

static int report(struct reveal *rv, const char *sid, const char *key)
{
	if (rv->lines == 0) {
		ctl_err("session %s has no escrowed input (nothing withheld, or EscrowPublicKey= was not set)", sid);
		return CTL_EXIT_ERROR;
	}
	if (rv->opened == 0) {
		ctl_err("%s does not open the escrowed input of session %s: it was sealed to another key", key, sid);
		return CTL_EXIT_ERROR;
	}
	if (rv->refused) {
		ctl_err("%u of %u escrowed lines of session %s do not open with %s (sealed to another key, or damaged)",
			rv->refused, rv->lines, sid, key);
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

int ctl_cmd_reveal(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_KEY = CTL_OPT_LOCAL, OPT_JSON };
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS,
		{ "key", required_argument, NULL, OPT_KEY },
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct reveal rv = { 0 };
	const char *key = REVEAL_DEFAULT_KEY;
	const struct shardread_line *l;
	struct store st;
	struct sessread sr;
	int c, r, n;

	while ((c = ctl_getopt("reveal", argc, argv, "h", longopts)) != -1) {
		if (c == 'h')
			return ctl_help(reveal_usage);
		if (c == OPT_KEY)
			key = optarg;
		else if (c == OPT_JSON)
			rv.json = true;
		else if (c == '?' || (r = ctl_common_opt(ctl, c, optarg)) != 0)
			return CTL_EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		ctl_err("libsodium cannot start");
		return CTL_EXIT_ERROR;
	}
	if ((r = load_key(&rv, key)) != 0)
		goto out_key;
	if ((r = sessread_open_sid(&sr, &st, ctl, "reveal", argc, argv, false)) != 0)
		goto out_key;
	if (out_init(&rv.o, STDOUT_FILENO, 1 << 16) < 0) {
		r = CTL_EXIT_ERROR;
		goto out_sr;
	}
	rv.sid = sr.tg.sid;
	while ((n = sessread_next(&sr, &l)) == 1 && !rv.o.err) {
		if (l->kind == SHARDREAD_ESC && take_piece(&rv, l) < 0) {
			ctl_err("%s", strerror(ENOMEM));
			n = -1;
			break;
		}
	}
	if (rv.pending && n >= 0)
		finish_line(&rv);
	if (out_close(&rv.o) < 0) {
		ctl_err("writing: %s", strerror(-rv.o.err));
		r = CTL_EXIT_ERROR;
	} else if (n < 0 || st.io_error) {
		r = CTL_EXIT_ERROR;
	} else {
		r = report(&rv, sr.tg.sid, key);
	}
out_sr:
	sessread_close(&sr);
	store_close(&st);
out_key:
	if (rv.line)
		sodium_free(rv.line);
	sodium_memzero(rv.sk, sizeof(rv.sk));
	return r;
}

/* Creates path with mode and writes text; never replaces a file. */
static int write_new(const char *path, const char *text, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
	int r;

	if (fd < 0)
		return -errno;
	r = io_write_full(fd, text, strlen(text));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		unlink(path);
	return r;
}

int ctl_cmd_escrow_keygen(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_OUT = CTL_OPT_LOCAL };
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS,
		{ "out", required_argument, NULL, OPT_OUT },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t pk[SEALKEY_BYTES], sk[SEALKEY_BYTES];
	char keypath[PATH_MAX], pubpath[PATH_MAX], text[46], dir[PATH_MAX];
	const char *out = REVEAL_DEFAULT_DIR;
	int c, r;

	while ((c = ctl_getopt("escrow-keygen", argc, argv, "h", longopts)) != -1) {
		if (c == 'h')
			return ctl_help(keygen_usage);
		if (c == OPT_OUT)
			out = optarg;
		else if (c == '?' || (r = ctl_common_opt(ctl, c, optarg)) != 0)
			return CTL_EXIT_USAGE;
	}
	if (optind != argc)
		return ctl_usage_err("escrow-keygen", "unexpected argument '%s'", argv[optind]);
	if (sodium_init() < 0) {
		ctl_err("libsodium cannot start");
		return CTL_EXIT_ERROR;
	}
	if ((r = io_mkdir_p(out, 0755)) < 0 || !realpath(out, dir)) {
		ctl_err("%s: %s", out, strerror(r < 0 ? -r : errno));
		return CTL_EXIT_ERROR;
	}
	if (snprintf(keypath, sizeof(keypath), "%s/escrow.key", strcmp(dir, "/") ? dir : "") >= (int)sizeof(keypath) ||
	    snprintf(pubpath, sizeof(pubpath), "%s/escrow.pub", strcmp(dir, "/") ? dir : "") >= (int)sizeof(pubpath)) {
		ctl_err("%s: %s", dir, strerror(ENAMETOOLONG));
		return CTL_EXIT_ERROR;
	}
	crypto_box_keypair(pk, sk);
	sealkey_format(sk, text);
	r = write_new(keypath, text, 0600);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(text, sizeof(text));
	if (r < 0) {
		ctl_err("%s: %s%s", keypath, strerror(-r),
			r == -EEXIST ? "; not overwritten (move it away first)" : "");
		return CTL_EXIT_ERROR;
	}
	sealkey_format(pk, text);
	if ((r = write_new(pubpath, text, 0644)) < 0) {
		ctl_err("%s: %s%s", pubpath, strerror(-r),
			r == -EEXIST ? "; not overwritten (move it away first)" : "");
		unlink(keypath);
		return CTL_EXIT_ERROR;
	}
	printf("private key: %s (mode 0600): keep it off the recorded machines; `sessrecctl reveal --key FILE SID` opens\n"
	       "             withheld input with it\n"
	       "public key:  %s\n"
	       "On each recorded machine, install the public key as /etc/sessrec/escrow.pub (owned by root,\n"
	       "mode 0644), set in /etc/sessrec/sessrecd.conf\n"
	       "    [Recording]\n"
	       "    EscrowPublicKey=/etc/sessrec/escrow.pub\n"
	       "and run `systemctl reload sessrecd`.\n",
	       keypath, pubpath);
	return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}
