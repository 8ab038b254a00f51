/* status: the sessions sessrecd holds right now, asked over its socket
 * ("list", root only, one page per message until the last), and how many
 * it resumed after a restart.
 * Convention: the command returns an exit status. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jsonadd.h"
#include "out.h"
#include "proto.h"
#include "protoclient.h"

#include "ctl.h"

#define STATUS_TIMEOUT_MS 5000

static const char status_usage[] =
	"Usage: sessrecctl status [OPTIONS]\n"
	"\n"
	"The live sessions sessrecd holds, from its socket (root only): short sid,\n"
	"user, uid, PAM service, tty, pid, start, state and bytes relayed each way,\n"
	"then how many sessions it resumed after a restart.\n"
	"Exit status 1 when the daemon cannot be reached or refuses.\n"
	"\n"
	"Options:\n"
	"  --json               the daemon's answer as one JSON object\n"
	"  --socket PATH        sessrecd's socket (default from the configuration)\n"
	"  -h, --help           this help\n";

static void cell(struct out *o, struct json_object *s, const char *key, int width)
{
	struct json_object *v = NULL;
	const char *txt = NULL;

	if (json_object_object_get_ex(s, key, &v) && !json_object_is_type(v, json_type_null))
		txt = json_object_get_string(v);
	out_safe_pad(o, txt, width);
	out_str(o, "  ");
}

static void print_session(struct out *o, struct json_object *s)
{
	struct json_object *v = NULL;
	char when[32], in[32] = "-", outb[32] = "-";
	const char *sid = proto_str(s, "sid");
	double start;

	out_printf(o, "%-8.8s  ", sid ? sid : "-");
	cell(o, s, "user", 10);
	cell(o, s, "uid", 6);
	cell(o, s, "service", 7);
	cell(o, s, "tty", 10);
	cell(o, s, "pid", 7);
	if (json_object_object_get_ex(s, "start", &v) && json_object_is_type(v, json_type_string)) {
		out_safe_pad(o, json_object_get_string(v), 19);
	} else if (v && (start = json_object_get_double(v)) > 0) {
		out_fmt_time_local(when, sizeof(when), start);
		out_safe_pad(o, when, 19);
	} else {
		out_safe_pad(o, NULL, 19);
	}
	out_str(o, "  ");
	cell(o, s, "state", 10);
	if (json_object_object_get_ex(s, "bytes_in", &v))
		out_fmt_bytes(in, sizeof(in), (uint64_t)json_object_get_int64(v));
	if (json_object_object_get_ex(s, "bytes_out", &v))
		out_fmt_bytes(outb, sizeof(outb), (uint64_t)json_object_get_int64(v));
	out_printf(o, "%7s  %7s\n", in, outb);
}

/* One page from offset: its sessions appended to all (a sid already seen,
 * moved by a session that started or ended between pages, is dropped),
 * *next the offset of the following page or -1. 0 or an exit status after
 * one line on stderr. */
static int fetch_page(const char *sock, int64_t offset, struct json_object *all, struct json_object *seen,
		      int64_t *resumed, int64_t *next, bool *down)
{
	struct json_object *req, *reply = NULL, *sessions = NULL;
	struct protoclient_reply rep;
	const char *error;
	int r;

	if (!(req = protoclient_req_list(offset))) {
		ctl_err("%s", strerror(ENOMEM));
		return CTL_EXIT_ERROR;
	}
	r = protoclient_call(&(struct protoclient){ .socket = sock, .timeout_ms = STATUS_TIMEOUT_MS }, req, NULL, 0,
			     &rep);
	json_object_put(req);
	if (down && offset == 0 && (r == -ENOENT || r == -ECONNREFUSED)) {
		protoclient_reply_free(&rep);
		*down = true; /* the caller copes with a daemon that is not running */
		*next = -1;
		return 0;
	}
	if (r < 0 && r != -EREMOTEIO) {
		protoclient_reply_free(&rep);
		ctl_err("cannot reach sessrecd at %s: %s%s", sock, strerror(-r),
			r == -ENOENT || r == -ECONNREFUSED ? " (is it running?)" : "");
		return CTL_EXIT_ERROR;
	}
	reply = json_object_get(rep.msg); /* still ours after the reply is freed */
	error = protoclient_error(&rep);
	protoclient_reply_free(&rep);
	if (error || r < 0 || !json_object_object_get_ex(reply, "sessions", &sessions) ||
	    !json_object_is_type(sessions, json_type_array)) {
		ctl_err("sessrecd refused: %s", error ? error : "no session list in its answer");
		json_object_put(reply);
		return CTL_EXIT_ERROR;
	}
	proto_int(reply, "resumed", resumed);
	if (proto_int(reply, "next", next) < 0 || *next <= offset)
		*next = -1; /* the last page (or a daemon that does not page) */
	r = 0;
	for (size_t i = 0; i < json_object_array_length(sessions) && r == 0; i++) {
		struct json_object *s = json_object_array_get_idx(sessions, i);
		const char *sid = proto_str(s, "sid");

		if (sid && json_object_object_get_ex(seen, sid, NULL))
			continue;
		if ((sid && jsonadd_bool(seen, sid, true) < 0) || jsonadd_append(all, json_object_get(s)) < 0)
			r = -ENOMEM;
	}
	json_object_put(reply);
	if (r < 0) {
		ctl_err("%s", strerror(ENOMEM));
		return CTL_EXIT_ERROR;
	}
	return 0;
}

int ctl_live_sessions(const char *sock, struct json_object **all, int64_t *resumed, bool *down)
{
	struct json_object *seen = json_object_new_object();
	int64_t offset = 0;
	int r = 0;

	*resumed = 0;
	if (down)
		*down = false;
	if (!(*all = json_object_new_array()) || !seen) {
		ctl_err("%s", strerror(ENOMEM));
		r = CTL_EXIT_ERROR;
	}
	/* every page: the daemon sends what fits one message */
	while (r == 0 && offset >= 0)
		r = fetch_page(sock, offset, *all, seen, resumed, &offset, down);
	json_object_put(seen);
	if (r) {
		json_object_put(*all);
		*all = NULL;
	}
	return r;
}

int ctl_cmd_status(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_JSON = CTL_OPT_LOCAL };
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *all = NULL, *reply = NULL;
	const char *sock;
	bool json = false;
	int64_t resumed = 0;
	struct out o;
	size_t n = 0;
	int c, r;

	while ((c = ctl_getopt("status", argc, argv, "h", longopts)) != -1) {
		if (c == 'h')
			return ctl_help(status_usage);
		if (c == OPT_JSON)
			json = true;
		else if (c == '?' || ctl_common_opt(ctl, c, optarg))
			return CTL_EXIT_USAGE;
	}
	if (optind < argc)
		return ctl_usage_err("status", "unexpected argument '%s'", argv[optind]);
	if (!(sock = ctl_socket_path(ctl)))
		return CTL_EXIT_ERROR;
	if ((r = ctl_live_sessions(sock, &all, &resumed, NULL)) != 0)
		goto out;
	if (!(reply = json_object_new_object())) {
		ctl_err("%s", strerror(ENOMEM));
		r = CTL_EXIT_ERROR;
		goto out;
	}
	n = json_object_array_length(all);
	if (jsonadd_bool(reply, "ok", true) < 0 || jsonadd_value(reply, "sessions", json_object_get(all)) < 0 ||
	    jsonadd_i64(reply, "resumed", resumed) < 0 || jsonadd_i64(reply, "total", (int64_t)n) < 0) {
		ctl_err("%s", strerror(ENOMEM));
		r = CTL_EXIT_ERROR;
		goto out;
	}
	if (out_init(&o, STDOUT_FILENO, 1 << 16) < 0) {
		r = CTL_EXIT_ERROR;
		goto out;
	}
	if (json) {
		size_t len;
		const char *txt = json_object_to_json_string_length(
			reply, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

		if (txt)
			out_json(&o, txt, len);
		out_write(&o, "\n", 1);
	} else {
		out_printf(&o, "%-8s  %-10s  %-6s  %-7s  %-10s  %-7s  %-19s  %-10s  %7s  %7s\n", "SID", "USER", "UID",
			   "SERVICE", "TTY", "PID", "START", "STATE", "IN", "OUT");
		for (size_t i = 0; i < n; i++)
			print_session(&o, json_object_array_get_idx(all, i));
		out_printf(&o, "%zu live session%s, %lld resumed after a restart\n", n, n == 1 ? "" : "s",
			   (long long)resumed);
	}
	r = out_close(&o) < 0 ? CTL_EXIT_ERROR : 0;
out:
	json_object_put(all);
	json_object_put(reply);
	return r;
}
