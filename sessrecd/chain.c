/* chain: per-session hash chains fed by the performer of shard lines, their
 * checkpoint lines and the end line's checkpoint (see chain.h). Convention:
 * 0 or -errno; line lengths. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "log.h"
#include "monoclock.h"

struct chain_link {
	uint64_t owner;
	int fd; /* of the last line written */
	struct chain_state st;
	int64_t unchecked_ns; /* CLOCK_MONOTONIC of the oldest line since the last checkpoint, 0: none */
};

static int64_t wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

int chain_init(struct chain *c, const char *key_path)
{
	int r;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	if ((r = chk_init()) < 0)
		return r;
	snprintf(c->key_path, sizeof(c->key_path), "%s", key_path ? key_path : "");
	r = c->key_path[0] ? seal_load(&c->seal, c->key_path) : -ENOENT;
	c->seal_on = c->seal.on;
	c->seal_epoch = c->seal.key.epoch;
	return r;
}

void chain_fini(struct chain *c)
{
	seal_wipe(&c->seal);
	free(c->links);
	free(c->finals);
	c->links = NULL;
	c->finals = NULL;
	c->nlinks = c->nfinals = 0;
	pthread_mutex_destroy(&c->mu);
}

/* With 1,900 idle sessions each holding a link, a scan per line cost the
 * one active session microseconds; its lines mostly follow each other. */
static struct chain_link *find(struct chain *c, uint64_t owner)
{
	if (c->hit < c->nlinks && c->links[c->hit].owner == owner)
		return &c->links[c->hit];
	for (size_t i = 0; i < c->nlinks; i++)
		if (c->links[i].owner == owner) {
			c->hit = i;
			return &c->links[i];
		}
	return NULL;
}

/* A new link; out of memory NULL (that session's chain is not kept and
 * its lines verify as a chain cut). */
static struct chain_link *add(struct chain *c, uint64_t owner)
{
	if (c->nlinks == c->caplinks) {
		size_t cap = c->caplinks ? c->caplinks * 2 : 16;
		struct chain_link *nl = realloc(c->links, cap * sizeof(*nl));

		if (!nl)
			return NULL;
		c->links = nl;
		c->caplinks = cap;
	}
	c->links[c->nlinks] = (struct chain_link){ .owner = owner, .fd = -1 };
	return &c->links[c->nlinks++];
}

static void drop(struct chain *c, struct chain_link *l)
{
	*l = c->links[--c->nlinks];
}

/* The sid a line starts with: {"sid":"S",... */
static bool line_sid(const char *line, size_t len, char sid[CHAIN_SID_MAX + 1])
{
	static const char pre[] = "{\"sid\":\"";
	const char *q;

	if (len < sizeof(pre) || memcmp(line, pre, sizeof(pre) - 1) != 0)
		return false;
	q = memchr(line + sizeof(pre) - 1, '"', len - (sizeof(pre) - 1));
	if (!q || q - (line + sizeof(pre) - 1) > CHAIN_SID_MAX)
		return false;
	memcpy(sid, line + sizeof(pre) - 1, (size_t)(q - (line + sizeof(pre) - 1)));
	sid[q - (line + sizeof(pre) - 1)] = '\0';
	return true;
}

/* The link of owner, made at its first line (h_0 from the line's sid). */
static struct chain_link *link_for(struct chain *c, uint64_t owner, const char *line, size_t len)
{
	struct chain_link *l = find(c, owner);

	if (l || !owner)
		return l;
	if (!(l = add(c, owner)))
		return NULL;
	if (!line_sid(line, len, l->st.sid)) {
		drop(c, l);
		return NULL;
	}
	chk_h0(l->st.sid, l->st.h);
	return l;
}

static size_t strip_nl(const char *line, size_t len)
{
	return len && line[len - 1] == '\n' ? len - 1 : len;
}

void chain_wrote(struct chain *c, uint64_t owner, int fd, const char *line, size_t len)
{
	struct chain_link *l = link_for(c, owner, line, len);

	if (!l)
		return;
	chk_step(l->st.h, line, strip_nl(line, len));
	l->st.n++;
	l->st.since += len;
	l->fd = fd;
	if (!l->unchecked_ns)
		l->unchecked_ns = mono_ns();
}

bool chain_is_end(const char *line, size_t len)
{
	static const char end[] = "\",\"end\":{";
	const char *q;

	if (len < 9 || memcmp(line, "{\"sid\":\"", 8) != 0)
		return false;
	q = memchr(line + 8, '"', len - 8);
	return q && (size_t)(line + len - q) > sizeof(end) && memcmp(q, end, sizeof(end) - 1) == 0;
}

/* The checkpoint of l after its n lines (h: h_n). */
static void make_chk(struct chain *c, const char *sid, uint64_t n, const uint8_t h[CHK_HASH_LEN], struct chk *k)
{
	k->n = n;
	memcpy(k->h, h, CHK_HASH_LEN);
	seal_make(&c->seal, sid, k, wall_now());
}

int chain_end_line(struct chain *c, uint64_t owner, const char *line, size_t len, char *out, size_t cap)
{
	struct chain_link *l = link_for(c, owner, line, len);
	size_t body = strip_nl(line, len);
	uint8_t h[CHK_HASH_LEN];
	struct chk k;

	if (!l)
		return -ENOENT;
	/* The end line's checkpoint covers the end line itself, hashed
	 * without the checkpoint (chk_line_input). */
	memcpy(h, l->st.h, sizeof(h));
	chk_step(h, line, body);
	make_chk(c, l->st.sid, l->st.n + 1, h, &k);
	return chk_append(out, cap, line, body, &k);
}

void chain_end_written(struct chain *c, uint64_t owner, const char *line, size_t len)
{
	struct chain_link *l = find(c, owner);
	char buf[4096 + CHK_MEMBER_MAX];
	const char *in, *obj = NULL;
	size_t inlen, olen = 0;
	struct chain_final f = { .owner = owner };

	if (!l)
		return;
	len = strip_nl(line, len);
	if (chk_line_input(line, len, buf, sizeof(buf), &in, &inlen, &obj, &olen) && obj &&
	    chk_parse_obj(obj, olen, &f.chk) == 0) {
		pthread_mutex_lock(&c->mu);
		if (c->nfinals == c->capfinals) {
			size_t cap = c->capfinals ? c->capfinals * 2 : 16;
			struct chain_final *nf = realloc(c->finals, cap * sizeof(*nf));

			if (nf) {
				c->finals = nf;
				c->capfinals = cap;
			}
		}
		if (c->nfinals < c->capfinals)
			c->finals[c->nfinals++] = f;
		pthread_mutex_unlock(&c->mu);
	}
	drop(c, l); /* nothing of the session follows its end line */
}

int chain_chk_due(struct chain *c, uint64_t owner, bool timed, int64_t now_ns, char *out, size_t cap, int *fd)
{
	struct chain_link *l = find(c, owner);
	struct chk k;
	int n;

	if (!l || !l->st.since || l->fd < 0)
		return 0;
	if (l->st.since < CHAIN_CHK_BYTES && !(timed && now_ns - l->unchecked_ns >= CHAIN_CHK_NS))
		return 0;
	make_chk(c, l->st.sid, l->st.n, l->st.h, &k);
	n = chk_format_line(out, cap, l->st.sid, &k);
	if (n < 0)
		return n;
	*fd = l->fd;
	return n;
}

void chain_chk_written(struct chain *c, uint64_t owner, const char *line, size_t len)
{
	struct chain_link *l = find(c, owner);

	if (!l)
		return;
	chk_step(l->st.h, line, strip_nl(line, len));
	l->st.n++;
	l->st.since = 0;
	l->unchecked_ns = 0;
}

bool chain_next_timed(struct chain *c, size_t *it, int64_t now_ns, uint64_t *owner)
{
	for (; *it < c->nlinks; (*it)++) {
		struct chain_link *l = &c->links[*it];

		if (l->st.since && l->fd >= 0 && now_ns - l->unchecked_ns >= CHAIN_CHK_NS) {
			*owner = l->owner;
			(*it)++;
			return true;
		}
	}
	return false;
}

void chain_tick(struct chain *c)
{
	if (!c->seal.on && c->key_path[0] && access(c->key_path, F_OK) == 0 && seal_load(&c->seal, c->key_path) == 0)
		log_line("seal key %s taken: checkpoints are sealed from epoch %llu", c->key_path,
			 (unsigned long long)c->seal.key.epoch);
	(void)seal_advance(&c->seal, wall_now());
	pthread_mutex_lock(&c->mu);
	c->seal_on = c->seal.on;
	c->seal_epoch = c->seal.key.epoch;
	pthread_mutex_unlock(&c->mu);
}

void chain_seed(struct chain *c, uint64_t owner, const struct chain_state *st)
{
	struct chain_link *l = find(c, owner);

	if (!l && !(l = add(c, owner)))
		return;
	l->st = *st;
	l->unchecked_ns = st->since ? mono_ns() : 0;
}

void chain_forget(struct chain *c, uint64_t owner)
{
	struct chain_link *l = find(c, owner);

	if (l)
		drop(c, l);
}

/* A closed fd may be reused for another file: no checkpoint may follow
 * there. The session's next line (a new file) starts its chain again. */
void chain_fd_closed(struct chain *c, int fd)
{
	for (size_t i = 0; i < c->nlinks;) {
		if (c->links[i].fd == fd)
			drop(c, &c->links[i]);
		else
			i++;
	}
}

bool chain_take_final(struct chain *c, uint64_t owner, struct chk *out)
{
	bool found = false;

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->nfinals; i++) {
		if (c->finals[i].owner == owner) {
			*out = c->finals[i].chk;
			c->finals[i] = c->finals[--c->nfinals];
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return found;
}

bool chain_sealing(struct chain *c, uint64_t *epoch)
{
	bool on;

	pthread_mutex_lock(&c->mu);
	on = c->seal_on;
	*epoch = c->seal_epoch;
	pthread_mutex_unlock(&c->mu);
	return on;
}
