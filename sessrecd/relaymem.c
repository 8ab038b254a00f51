/* relaymem: the memfd of a session's relay state, its checked layout and
 * its double mapping (see relaymem.h). Convention: 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relaymem.h"

#define MAP_LEN (RELAYMEM_HDR + 2 * RELAYMEM_OUT_CAP + 2 * RELAYMEM_IN_CAP)

_Static_assert(sizeof(struct relaymem_hdr) <= RELAYMEM_HDR - RELAYMEM_PAT, "the header fits its page");

void relaymem_init(struct relaymem *m)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

/* Maps fd at addr (fixed, shared): len bytes from off. */
static int map_at(uint8_t *addr, size_t len, int fd, off_t off)
{
	void *p = mmap(addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, off);

	return p == MAP_FAILED ? -errno : 0;
}

/* The header, then each ring twice, in one reserved range. */
static int map_all(struct relaymem *m, int fd)
{
	uint8_t *base;
	long page = sysconf(_SC_PAGESIZE);
	int r;

	if (page <= 0 || RELAYMEM_HDR % page || RELAYMEM_OUT_CAP % page || RELAYMEM_IN_CAP % page)
		return -EINVAL; /* the rings must start and end on pages */
	base = mmap(NULL, MAP_LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	if ((r = map_at(base, RELAYMEM_HDR, fd, 0)) < 0 ||
	    (r = map_at(base + RELAYMEM_HDR, RELAYMEM_OUT_CAP, fd, RELAYMEM_HDR)) < 0 ||
	    (r = map_at(base + RELAYMEM_HDR + RELAYMEM_OUT_CAP, RELAYMEM_OUT_CAP, fd, RELAYMEM_HDR)) < 0 ||
	    (r = map_at(base + RELAYMEM_HDR + 2 * RELAYMEM_OUT_CAP, RELAYMEM_IN_CAP, fd,
			RELAYMEM_HDR + RELAYMEM_OUT_CAP)) < 0 ||
	    (r = map_at(base + RELAYMEM_HDR + 2 * RELAYMEM_OUT_CAP + RELAYMEM_IN_CAP, RELAYMEM_IN_CAP, fd,
			RELAYMEM_HDR + RELAYMEM_OUT_CAP)) < 0) {
		munmap(base, MAP_LEN);
		return r;
	}
	m->map = base;
	m->h = (struct relaymem_hdr *)(void *)base;
	m->pat = base + RELAYMEM_HDR - RELAYMEM_PAT;
	m->out = base + RELAYMEM_HDR;
	m->in = base + RELAYMEM_HDR + 2 * RELAYMEM_OUT_CAP;
	m->fd = fd;
	return 0;
}

int relaymem_create(struct relaymem *m, uint64_t out_pos, uint64_t in_pos)
{
	int fd = memfd_create("sessrecd-relay", MFD_CLOEXEC | MFD_ALLOW_SEALING), r;
	struct relaymem_hdr *h;

	relaymem_init(m);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, RELAYMEM_SIZE) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if ((r = map_all(m, fd)) < 0) {
		close(fd);
		return r;
	}
	h = m->h;
	if (getrandom((uint8_t *)m->map + RELAYMEM_HDR - RELAYMEM_PAT, RELAYMEM_PAT, 0) != RELAYMEM_PAT) {
		r = -EIO;
		relaymem_close(m);
		return r;
	}
	h->hdr_size = RELAYMEM_HDR;
	h->out_cap = RELAYMEM_OUT_CAP;
	h->in_cap = RELAYMEM_IN_CAP;
	h->out_read = h->out_shown = h->out_durable = h->out_kept = h->out_reading = h->out_showing = out_pos;
	h->in_read = h->in_given = in_pos;
	h->version = RELAYMEM_VERSION;
	__atomic_store_n(&h->magic, RELAYMEM_MAGIC, __ATOMIC_RELEASE); /* last: the layout is complete */
	return 0;
}

bool relaymem_valid(const struct relaymem_hdr *h)
{
	return h->magic == RELAYMEM_MAGIC && h->version == RELAYMEM_VERSION && h->hdr_size == RELAYMEM_HDR &&
	       h->out_cap == RELAYMEM_OUT_CAP && h->in_cap == RELAYMEM_IN_CAP && h->out_kept <= h->out_shown &&
	       h->out_shown <= h->out_read && h->out_kept <= h->out_durable && h->out_durable <= h->out_read &&
	       h->out_read - h->out_kept <= RELAYMEM_OUT_CAP && h->in_given <= h->in_read &&
	       h->in_read - h->in_given <= RELAYMEM_IN_CAP && h->anchor_at <= 2 && h->out_read <= h->out_reading &&
	       h->out_reading - h->out_kept <= RELAYMEM_OUT_CAP && h->out_shown <= h->out_showing &&
	       h->out_showing <= h->out_read;
}

int relaymem_open(struct relaymem *m, int fd)
{
	struct stat st;
	int r;

	relaymem_init(m);
	if (fstat(fd, &st) < 0)
		return -errno;
	/* Sealed at its size: nobody can shrink it under our mapping (SIGBUS). */
	if (!S_ISREG(st.st_mode) || st.st_size != RELAYMEM_SIZE ||
	    (fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_SEAL)) != (F_SEAL_SHRINK | F_SEAL_SEAL))
		return -EINVAL;
	if ((r = map_all(m, fd)) < 0)
		return r;
	if (!relaymem_valid(m->h)) {
		munmap(m->map, MAP_LEN);
		relaymem_init(m);
		return -EINVAL;
	}
	return 0;
}

void relaymem_close(struct relaymem *m)
{
	if (m->map)
		munmap(m->map, MAP_LEN);
	if (m->fd >= 0)
		close(m->fd);
	relaymem_init(m);
}

void relaymem_fill(struct relaymem *m, uint64_t pos, size_t n)
{
	uint8_t *p = relaymem_out_at(m, pos);

	for (size_t done = 0; done < n;) {
		size_t at = (pos + done) % RELAYMEM_PAT, k = RELAYMEM_PAT - at;

		if (k > n - done)
			k = n - done;
		memcpy(p + done, m->pat + at, k);
		done += k;
	}
}

size_t relaymem_taken(const struct relaymem *m, uint64_t pos, size_t n)
{
	const uint8_t *p = relaymem_out_at(m, pos);

	while (n > 0 && p[n - 1] == m->pat[(pos + n - 1) % RELAYMEM_PAT])
		n--;
	return n;
}

const struct relaymem_anchor *relaymem_anchor(const struct relaymem *m)
{
	uint32_t at = __atomic_load_n(&m->h->anchor_at, __ATOMIC_ACQUIRE);

	return at == 1 || at == 2 ? &m->h->anchor[at - 1] : NULL;
}

void relaymem_set_anchor(struct relaymem *m, const struct relaymem_anchor *a)
{
	uint32_t next = m->h->anchor_at == 1 ? 2 : 1;

	/* The other slot first, then one store switches: never half of each. */
	m->h->anchor[next - 1] = *a;
	__atomic_store_n(&m->h->anchor_at, next, __ATOMIC_RELEASE);
}
