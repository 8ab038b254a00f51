/* relaymem: a session's relay state in a memfd that outlives the daemon
 * process (it travels with the pty fds to the holder, docs/architecture.md
 * "Restarts"): the output ring (bytes read from the inner master that the
 * terminal has not taken or the disk has not confirmed), the input ring,
 * and the stream counters saying which is which. A fixed layout with a
 * version; each ring is mapped twice in a row, so any span of up to its
 * size is contiguous and the relay reads and writes it in place. The
 * relay publishes a counter only after the bytes it covers are in place
 * (relaymem_set), so a later daemon finds a consistent state whatever
 * instruction a kill -9 stopped at. Convention: 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAYMEM_MAGIC 0x4d525253u /* "SRRM" */
#define RELAYMEM_VERSION 1
#define RELAYMEM_HDR 4096
#define RELAYMEM_OUT_CAP (64 * 1024) /* output waiting for a slow terminal or an unconfirmed write */
#define RELAYMEM_IN_CAP (16 * 1024)  /* input waiting for the shell */
#define RELAYMEM_SIZE (RELAYMEM_HDR + RELAYMEM_OUT_CAP + RELAYMEM_IN_CAP)
#define RELAYMEM_PAT 2048      /* the fill pattern, in the header page's upper half */
#define RELAYMEM_READ_MAX 4096 /* one read of the inner master (a pty gives at most 4095) */

/* Where, in the shard, a session's output lines go on from: when the
 * shard (dev, ino) was off bytes long, the session's "o" lines held
 * exactly the output up to pos, and none of the later ones was written. */
struct relaymem_anchor {
	uint64_t off, pos, dev, ino;
};

/* The memfd's first page. Positions count bytes of a stream since the
 * session attached (or since the relay state was first made). Output:
 *   kept <= shown <= read, kept <= durable <= read, read - kept <= out_cap
 * (the ring holds [kept, read)), read <= reading, shown <= showing <= read.
 * Input: given <= read, read - given <= in_cap. */
struct relaymem_hdr {
	uint32_t magic, version;
	uint32_t hdr_size, out_cap, in_cap, pad;
	uint64_t out_read;    /* read from the inner master */
	uint64_t out_shown;   /* written to the terminal */
	uint64_t out_durable; /* in lines the writer confirmed on disk (a lower bound) */
	uint64_t out_kept;    /* the oldest byte the ring still holds: min(shown, durable) */
	uint64_t in_read;     /* read from the terminal */
	uint64_t in_given;    /* written to the inner master */
	/* The system calls a kill can cut short of their count: a read of the
	 * inner master into [out_read, out_reading), filled with the pattern
	 * first (what it took ends where the pattern begins), and a terminal
	 * write that may have shown up to out_showing. Equal to out_read /
	 * out_shown when none is under way. */
	uint64_t out_reading, out_showing;
	uint32_t anchor_at; /* which anchor is current: 0 none, 1 or 2 */
	uint32_t pad2;
	struct relaymem_anchor anchor[2];
};

/* A mapping of the memfd. fd -1: none. */
struct relaymem {
	int fd;
	struct relaymem_hdr *h;
	uint8_t *out, *in;  /* each ring twice in a row */
	const uint8_t *pat; /* RELAYMEM_PAT random bytes, made with the memfd */
	void *map;
};

/* Publishes v in *field after every store before it (a later daemon reads
 * the memfd after a kill at any instruction). */
static inline void relaymem_set(uint64_t *field, uint64_t v)
{
	__atomic_store_n(field, v, __ATOMIC_RELEASE);
}

/* The two mappings of a ring alias each other, which the compiler does not
 * know: bytes stored through one and loaded through the other need a
 * system call (the relay's case) or this barrier in between. */
static inline void relaymem_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* The ring bytes at a stream position (contiguous for up to the cap). */
static inline uint8_t *relaymem_out_at(const struct relaymem *m, uint64_t pos)
{
	return m->out + pos % RELAYMEM_OUT_CAP;
}

static inline uint8_t *relaymem_in_at(const struct relaymem *m, uint64_t pos)
{
	return m->in + pos % RELAYMEM_IN_CAP;
}

/* Fills the output ring at [pos, pos + n) (n <= RELAYMEM_READ_MAX) with
 * the pattern, before a read there. */
void relaymem_fill(struct relaymem *m, uint64_t pos, size_t n);

/* How many bytes a read into [pos, pos + n) that a kill cut short had
 * taken: up to the pattern's suffix (data ending in bytes equal to the
 * pattern's at their places are counted short, one in 256 per byte). */
size_t relaymem_taken(const struct relaymem *m, uint64_t pos, size_t n);

/* An unmapped relaymem (fd -1). */
void relaymem_init(struct relaymem *m);

/* A new memfd (MFD_CLOEXEC, sealed at its size), mapped, its streams
 * starting at out_pos and in_pos. */
int relaymem_create(struct relaymem *m, uint64_t out_pos, uint64_t in_pos);

/* Maps the memfd fd an earlier daemon made, after checking its size and
 * seals, layout and version and that its counters are consistent; m owns fd on
 * success, the caller still does on failure. */
int relaymem_open(struct relaymem *m, int fd);

/* Unmaps and closes (the memfd lives on while the holder has it). */
void relaymem_close(struct relaymem *m);

/* The current anchor, or NULL when there is none. */
const struct relaymem_anchor *relaymem_anchor(const struct relaymem *m);

/* Makes a the current anchor (written into the other slot first). */
void relaymem_set_anchor(struct relaymem *m, const struct relaymem_anchor *a);

/* Whether the header's counters are consistent (relaymem_open's check; for tests). */
bool relaymem_valid(const struct relaymem_hdr *h);
