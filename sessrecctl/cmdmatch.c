/* cmdmatch: the sessions whose commands match (cmdmatch.h), found with one
 * scan of the store before list or grep read it.
 * Convention: 0 or -errno. */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "cmdmatch.h"
#include "reader.h"

void cmdmatch_argv_text(struct json_object *exec, char *buf, size_t cap)
{
	struct json_object *argv = NULL;
	size_t o = 0;

	buf[0] = '\0';
	if (!json_object_object_get_ex(exec, "argv", &argv) || !json_object_is_type(argv, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(argv) && o + 1 < cap; i++) {
		const char *a = json_object_get_string(json_object_array_get_idx(argv, i));
		size_t n = a ? strlen(a) : 0;

		if (i)
			buf[o++] = ' ';
		if (n > cap - 1 - o)
			n = cap - 1 - o;
		memcpy(buf + o, a ? a : "", n);
		o += n;
	}
	buf[o < cap ? o : cap - 1] = '\0';
}

/* The current line of r, an exec: its session marked when it matches. */
static int take(struct reader *r, const regex_t *re, struct sidtab *tab)
{
	struct shardscan *sc = &r->scan;
	struct json_object *exec = NULL;
	struct cmdmatch_sid *s;
	char text[8192];
	int added, ret;

	if (sc->l.kind != SHARDREAD_EXEC)
		return 0;
	if ((ret = shardscan_take(sc, SHARDSCAN_OBJ)) < 0)
		return ret == -EBADMSG ? 0 : ret;
	if (sc->l.kind != SHARDREAD_EXEC || !json_object_object_get_ex(sc->l.obj, "exec", &exec))
		return 0;
	cmdmatch_argv_text(exec, text, sizeof(text));
	if (regexec(re, text, 0, NULL, 0) != 0)
		return 0;
	if (!(s = sidtab_get(tab, sc->l.sid, sc->l.sid_len, &added)))
		return -ENOMEM;
	s->hit = true;
	return 0;
}

int cmdmatch_collect(struct store *st, const regex_t *re, struct sidtab *tab)
{
	for (size_t i = 0; i < st->nfiles; i++) {
		struct reader r;
		int ret = 0;

		if (reader_open(&r, st, i, 0, 0) < 0)
			continue;
		r.scan.quiet = true; /* the scan after this one reports what is corrupt */
		while (ret == 0 && shardscan_next(&r.scan) == 1)
			ret = take(&r, re, tab);
		reader_close(&r);
		if (ret < 0)
			return ret;
	}
	store_progress_clear(st);
	return 0;
}

bool cmdmatch_has(struct sidtab *tab, const char *sid)
{
	int added;
	struct cmdmatch_sid *s = sidtab_get(tab, sid, strlen(sid), &added);

	return s && s->hit;
}
