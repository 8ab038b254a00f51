/* evidence: the evidence directory of a session: its lines exactly as
 * stored, an asciicast, a transcript, and manifest.json (sources with
 * their SHA-256 and line ranges, the chain's head and final hash, the
 * checkpoints and seals, the verification's result). Convention: exit
 * statuses; helpers 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chk.h"
#include "evidence.h"
#include "io.h"
#include "jsonadd.h"
#include "sessread.h"
#include "shardline.h"
#include "verifycore.h"

struct source {
	uint64_t first, last, lines;
};

static int file_sha256(const char *path, char hex[CHK_HEX_LEN + 1])
{
	crypto_hash_sha256_state s;
	uint8_t buf[1 << 16], h[CHK_HASH_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	crypto_hash_sha256_init(&s);
	do {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			crypto_hash_sha256_update(&s, buf, (size_t)n);
	} while (n < 0 && errno == EINTR);
	n = n < 0 ? -errno : 0;
	close(fd);
	if (n < 0)
		return (int)n;
	crypto_hash_sha256_final(&s, h);
	chk_hex(hex, h);
	return 0;
}

/* A checkpoint of line (at lines.jsonl's line no) into the manifest's list. */
static int add_checkpoint(struct json_object *list, const char *line, size_t len, uint64_t no)
{
	char buf[8192], h[CHK_HEX_LEN + 1], seal[CHK_HEX_LEN + 1];
	const char *obj, *in;
	size_t olen, inlen;
	struct json_object *o;
	struct chk c;
	int r;

	if (chk_line_obj(line, len, &obj, &olen) < 0 &&
	    !chk_line_input(line, len, buf, sizeof(buf), &in, &inlen, &obj, &olen))
		return 0;
	if (chk_parse_obj(obj, olen, &c) < 0 || !(o = json_object_new_object()))
		return 0;
	chk_hex(h, c.h);
	r = jsonadd_i64(o, "line", (int64_t)no);
	r = r ?: jsonadd_i64(o, "n", (int64_t)c.n);
	r = r ?: jsonadd_str(o, "h", h);
	if (c.sealed) {
		chk_hex(seal, c.seal);
		r = r ?: jsonadd_str(o, "seal", seal);
		r = r ?: jsonadd_i64(o, "epoch", (int64_t)c.epoch);
	}
	r = r ?: jsonadd_i64(o, "time", c.time);
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	return jsonadd_append(list, o);
}

static void find_one(void *arg, struct verify_sess *s)
{
	*(struct verify_sess **)arg = s;
}

/* The verification's result into the manifest. */
static int add_verification(struct json_object *m, struct verify *v, bool key)
{
	struct verify_sess *s = NULL;
	struct json_object *o = json_object_new_object();
	char h[CHK_HEX_LEN + 1];
	int r = o ? 0 : -ENOMEM;

	verify_finish(v, NULL, NULL);
	verify_each(v, find_one, &s);
	if (!s) {
		json_object_put(o);
		return -ENOENT;
	}
	r = r ?: jsonadd_str(o, "result", s->damage ? "damaged" : s->ended ? "ok" : "cut or live");
	r = r ?: jsonadd_bool(o, "seals_checked", key && s->any_sealed);
	if (s->damage) {
		r = r ?: jsonadd_str(o, "damage", verify_damage_name(s->damage));
		r = r ?: jsonadd_i64(o, "line", (int64_t)s->bad.line);
		r = r ?: jsonadd_str(o, "detail", s->detail);
	}
	if (r == 0 && (r = jsonadd_value(m, "verification", o)) < 0)
		return r;
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	chk_hex(h, s->h);
	r = jsonadd_i64(m, "lines", (int64_t)s->n);
	if (s->ended && !s->damage) {
		chk_hex(h, s->final_h);
		r = r ?: jsonadd_str(m, "final_hash", h);
	}
	return r;
}

/* lines.jsonl and what the manifest says of them. */
static int copy_lines(struct store *st, const struct find_target *tg, const char *path, struct json_object *m,
		      struct verify *v, char *host, size_t hostcap)
{
	struct source *src = calloc(st->nfiles + 1, sizeof(*src));
	struct json_object *sources = json_object_new_array(), *chks = json_object_new_array();
	const struct shardread_line *l;
	struct sessread sr;
	uint64_t no = 0;
	char hex[CHK_HEX_LEN + 1];
	int fd = -1, n, r = -ENOMEM;

	if (!src || !sources || !chks)
		goto out;
	if ((r = sessread_open(&sr, st, tg, false)) != 0) {
		r = -EIO;
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		r = -errno;
		goto out_sr;
	}
	while ((n = sessread_next(&sr, &l)) == 1) {
		const char *line = sr.r.scan.line;
		size_t len = sr.r.scan.len;
		struct source *s = &src[sr.r.index];

		no++;
		if ((r = io_write_full(fd, line, len)) < 0 || (r = io_write_full(fd, "\n", 1)) < 0 ||
		    (r = verify_line(v, (int)sr.r.index, sr.r.lineno, line, len)) < 0 ||
		    (r = add_checkpoint(chks, line, len, no)) < 0)
			goto out_fd;
		if (!s->lines++)
			s->first = sr.r.lineno;
		s->last = sr.r.lineno;
		if (l->kind == SHARDREAD_HDR && l->obj) {
			struct json_object *meta, *hv;

			if (json_object_object_get_ex(l->obj, "meta", &meta) &&
			    json_object_object_get_ex(meta, "host", &hv))
				snprintf(host, hostcap, "%s", json_object_get_string(hv));
		}
	}
	r = n < 0 ? -EIO : 0;
	for (size_t i = 0; i < st->nfiles && r == 0; i++) {
		struct json_object *o;

		if (!src[i].lines)
			continue;
		if ((r = file_sha256(st->files[i].path, hex)) < 0 || !(o = json_object_new_object())) {
			r = r < 0 ? r : -ENOMEM;
			break;
		}
		r = jsonadd_str(o, "file", st->files[i].path);
		r = r ?: jsonadd_str(o, "sha256", hex);
		r = r ?: jsonadd_i64(o, "first_line", (int64_t)src[i].first);
		r = r ?: jsonadd_i64(o, "last_line", (int64_t)src[i].last);
		r = r ?: jsonadd_i64(o, "lines", (int64_t)src[i].lines);
		if (r < 0 || (r = jsonadd_append(sources, o)) < 0) {
			json_object_put(o);
			break;
		}
	}
	if (r == 0 && (r = jsonadd_value(m, "sources", json_object_get(sources))) == 0)
		r = jsonadd_value(m, "checkpoints", json_object_get(chks));
out_fd:
	if (close(fd) < 0 && r == 0)
		r = -errno;
out_sr:
	sessread_close(&sr);
out:
	json_object_put(sources);
	json_object_put(chks);
	free(src);
	return r;
}

static int write_manifest(const char *path, struct json_object *m)
{
	size_t len;
	const char *txt = json_object_to_json_string_length(
		m, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	int fd, r;

	if (!txt)
		return -ENOMEM;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return -errno;
	r = io_write_full(fd, txt, len);
	r = r ?: io_write_full(fd, "\n", 1);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* One session's directory under dir. */
static int one(struct store *st, const char *dir, const char *prefix, const struct chk_key *k0)
{
	struct find_target tg;
	struct json_object *m = json_object_new_object();
	struct verify v;
	char path[4200], sub[4096], host[256] = "", now[64], head[CHK_HEX_LEN + 1];
	uint8_t h0[CHK_HASH_LEN];
	struct timespec ts;
	int r;

	if (!m)
		return CTL_EXIT_ERROR;
	if ((r = find_session(st, prefix, &tg)) != 0) {
		json_object_put(m);
		return r;
	}
	verify_init(&v, k0);
	snprintf(sub, sizeof(sub), "%s/%s", dir, tg.sid);
	if (mkdir(sub, 0700) < 0) {
		ctl_err("%s: %s", sub, strerror(errno));
		r = CTL_EXIT_ERROR;
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	shard_rfc3339(now, sizeof(now), ts.tv_sec, ts.tv_nsec / 1000);
	chk_h0(tg.sid, h0);
	chk_hex(head, h0);
	snprintf(path, sizeof(path), "%s/lines.jsonl", sub);
	r = jsonadd_str(m, "sid", tg.sid);
	r = r ?: copy_lines(st, &tg, path, m, &v, host, sizeof(host));
	r = r ?: jsonadd_str(m, "host", host[0] ? host : NULL);
	r = r ?: jsonadd_str(m, "recorder_version", SESSREC_VERSION);
	r = r ?: jsonadd_str(m, "exported_at", now);
	r = r ?: jsonadd_str(m, "lines_file", "lines.jsonl");
	r = r ?: jsonadd_str(m, "chain_head", head);
	r = r ?: add_verification(m, &v, k0 != NULL);
	if (r < 0) {
		ctl_err("%s: %s", sub, strerror(-r));
		r = CTL_EXIT_ERROR;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/session.cast", sub);
	if ((r = export_file(st, &tg, false, path)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/transcript.txt", sub);
	if ((r = export_file(st, &tg, true, path)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/manifest.json", sub);
	if ((r = write_manifest(path, m)) < 0) {
		ctl_err("%s: %s", path, strerror(-r));
		r = CTL_EXIT_ERROR;
		goto out;
	}
	printf("%s\n", sub);
	r = 0;
out:
	verify_free(&v);
	json_object_put(m);
	return r;
}

int evidence_run(struct ctl *ctl, const char *dir, const char *key, int n, char **sids)
{
	struct chk_key k0;
	struct store st;
	int r = 0, worst = 0;

	if (n <= 0)
		return ctl_usage_err("export", "--evidence needs at least one SID");
	if (key && verify_load_key(key, &k0) != 0)
		return CTL_EXIT_ERROR;
	if (chk_init() < 0 || (r = io_mkdir_p(dir, 0700)) < 0) {
		ctl_err("%s: %s", dir, strerror(r < 0 ? -r : EIO));
		return CTL_EXIT_ERROR;
	}
	if ((r = ctl_shard_dirs(ctl)) != 0 || (r = store_open(&st, ctl)) != 0)
		return r;
	for (int i = 0; i < n; i++)
		if ((r = one(&st, dir, sids[i], key ? &k0 : NULL)) != 0)
			worst = r;
	store_close(&st);
	return worst;
}
