/* play: replays a session's output on the terminal with its recorded
 * timing (speed, idle cap, pause / step / quit keys), or follows a live
 * session as it is recorded. The terminal is raw while playing and is
 * restored on every way out: the end, q, SIGINT, SIGTERM, SIGHUP, and
 * around a suspension. Signals arrive through a signalfd, so no handler
 * runs asynchronously. The recording does not get to talk to the
 * operator's terminal (termquery.h): report requests and clipboard writes
 * are filtered from the output unless --raw, only typed keys count (the
 * terminal's answers are skipped), and pending input is flushed at exit.
 * Convention: helpers 0 or -errno; run and the command an exit status. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "monoclock.h"
#include "sessread.h"
#include "termquery.h"

#define FOLLOW_POLL_MS 100

static const char play_usage[] =
	"Usage: sessrecctl play [OPTIONS] SID\n"
	"\n"
	"Replays a session's output in the terminal with the recorded timing.\n"
	"Keys: space pauses and resumes, '.' shows the next output while paused,\n"
	"q (or Ctrl-C) quits. The terminal is restored however play ends. What\n"
	"the terminal answers (to queries the recording holds) is never taken\n"
	"for a key.\n"
	"\n"
	"Options:\n"
	"  -s, --speed X        play X times as fast (default 1)\n"
	"  -i, --idle-limit SEC  shorten pauses longer than SEC seconds to SEC\n"
	"  -f, --follow         follow a live session as it is recorded (like\n"
	"                       tail -f): what was recorded so far at once, then\n"
	"                       new output as it comes, until the session ends\n"
	"  --raw                replay the output as recorded: without it, report\n"
	"                       requests (DA, DSR, DECRQSS, colour queries...),\n"
	"                       clipboard writes (OSC 52) and other sequences that\n"
	"                       make the terminal answer or act are left out\n"
	"  --dir DIR            read shards from DIR (repeatable)\n"
	"  -h, --help           this help\n"
	"\n"
	"Exit status: 0 at the end or on q; killed by the signal after restoring\n"
	"the terminal on SIGINT, SIGTERM or SIGHUP.\n";

struct play {
	double speed, idle; /* idle <= 0: pauses are not capped */
	bool follow;
	int keys; /* fd keys are read from, -1: none */
	struct termios saved;
	bool raw;
	int sigfd;
	sigset_t oldmask;
	double base;       /* monotonic time of virtual time 0 */
	double vt, prev_t; /* virtual and recorded time of the last event */
	bool paused, step;
	double paused_at;
	int quit;         /* 'q' or the signal that ends play */
	bool as_recorded; /* --raw: no filter */
	struct termquery_filter filter;
	struct termquery_keys answers;
	uint8_t *obuf; /* filtered output */
	size_t ocap;
};

static void tty_raw(struct play *p)
{
	struct termios raw;

	if (p->keys < 0 || tcgetattr(p->keys, &p->saved) < 0)
		return;
	raw = p->saved;
	/* also output raw: the recording holds the \r\n the session's pty made */
	cfmakeraw(&raw);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(p->keys, TCSANOW, &raw) == 0)
		p->raw = true;
}

static void tty_restore(struct play *p)
{
	if (p->raw)
		tcsetattr(p->keys, TCSANOW, &p->saved);
	p->raw = false;
}

static void toggle_pause(struct play *p)
{
	double t = mono_sec();

	if (p->paused)
		p->base += t - p->paused_at;
	else
		p->paused_at = t;
	p->paused = !p->paused;
}

static void keys(struct play *p)
{
	uint8_t buf[256], typed[256];
	ssize_t n = read(p->keys, buf, sizeof(buf));
	size_t k;

	if (n == 0)
		p->keys = -1; /* no more keys: play on */
	/* A terminal's answer (a DECRQSS reply holds a space and a q) is
	 * skipped, also when it comes in pieces. */
	k = n > 0 ? termquery_keys(&p->answers, buf, (size_t)n, typed) : 0;
	for (size_t i = 0; i < k; i++) {
		switch (typed[i]) {
		case ' ':
			toggle_pause(p);
			break;
		case '.':
			if (p->paused)
				p->step = true;
			break;
		case 'q':
		case 'Q':
		case 0x03:
		case 0x04:
			p->quit = 'q';
			return;
		default:
			break;
		}
	}
}

static void suspend(struct play *p)
{
	double t = mono_sec();
	bool raw = p->raw;

	tty_restore(p);
	kill(getpid(), SIGSTOP);
	/* continued */
	p->base += mono_sec() - t;
	if (raw)
		tty_raw(p);
}

static void signals(struct play *p)
{
	struct signalfd_siginfo si;

	while (read(p->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTSTP)
			suspend(p);
		else if (si.ssi_signo != SIGWINCH && si.ssi_signo != SIGCONT)
			p->quit = (int)si.ssi_signo;
	}
}

/* Waits up to timeout seconds (< 0: until something happens) for keys and
 * signals, and handles them. */
static void wait_input(struct play *p, double timeout)
{
	struct pollfd fds[2] = { { .fd = p->sigfd, .events = POLLIN }, { .fd = p->keys, .events = POLLIN } };
	struct timespec ts = { 0, 0 };

	if (timeout >= 0) {
		ts.tv_sec = (time_t)timeout;
		ts.tv_nsec = (long)((timeout - (double)ts.tv_sec) * 1e9);
	}
	if (ppoll(fds, p->keys >= 0 ? 2 : 1, timeout >= 0 ? &ts : NULL, NULL) <= 0)
		return;
	if (fds[0].revents)
		signals(p);
	if (p->keys >= 0 && fds[1].revents & (POLLIN | POLLHUP | POLLERR))
		keys(p);
}

/* Holds until the event at recorded time t is due. */
static void wait_event(struct play *p, double t)
{
	double gap = t - p->prev_t, due;

	if (gap < 0)
		gap = 0;
	if (p->idle > 0 && gap > p->idle)
		gap = p->idle;
	p->vt += gap;
	p->prev_t = t;
	while (!p->quit) {
		if (p->paused) {
			if (p->step) {
				p->step = false;
				p->paused_at = mono_sec();
				p->base = p->paused_at - p->vt / p->speed;
				return;
			}
			wait_input(p, -1);
			continue;
		}
		due = p->base + p->vt / p->speed - mono_sec();
		if (due <= 0)
			return;
		wait_input(p, due);
	}
}

static int setup_signals(struct play *p)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGTSTP);
	sigaddset(&set, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &set, &p->oldmask) < 0)
		return -errno;
	p->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (p->sigfd < 0) {
		int r = -errno;

		sigprocmask(SIG_SETMASK, &p->oldmask, NULL);
		return r;
	}
	/* a closed pipe on stdout ends play through EPIPE, not a silent death */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* One output event to the terminal, filtered unless --raw; 0 or -errno. */
static int show(struct play *p, const uint8_t *data, size_t n)
{
	size_t need = 2 * n + TERMQUERY_HOLD;

	if (p->as_recorded)
		return io_write_full(STDOUT_FILENO, data, n);
	if (need > p->ocap) {
		uint8_t *b = realloc(p->obuf, need);

		if (!b)
			return -ENOMEM;
		p->obuf = b;
		p->ocap = need;
	}
	n = termquery_filter(&p->filter, data, n, p->obuf);
	return io_write_full(STDOUT_FILENO, p->obuf, n);
}

/* The end of the output: a sequence left unfinished by the recording is
 * dropped, or ended if it was being passed. */
static void show_end(struct play *p)
{
	uint8_t tail[1];

	if (!p->as_recorded && termquery_filter_end(&p->filter, tail))
		io_write_full(STDOUT_FILENO, tail, 1);
}

/* Play ends: input not read (keys, answers of the terminal) is flushed,
 * so none of it reaches the shell; then the terminal's modes come back.
 * No tcdrain: a stopped terminal would hold play forever. */
static void tty_done(struct play *p)
{
	if (isatty(STDIN_FILENO))
		tcflush(STDIN_FILENO, TCIFLUSH);
	tty_restore(p);
}

static int run(struct play *p, struct sessread *sr)
{
	const struct shardread_line *l;
	double polled = 0, t;
	int n, r = 0;

	p->base = mono_sec();
	while (!p->quit) {
		/* keys count even while output is due back to back */
		if ((t = mono_sec()) - polled > 0.05) {
			wait_input(p, 0);
			polled = t;
			continue;
		}
		if (p->follow && p->paused) {
			wait_input(p, -1);
			continue;
		}
		n = sessread_next(sr, &l);
		if (n < 0)
			return CTL_EXIT_ERROR;
		if (n == 0) {
			if (sr->ended || !p->follow)
				break;
			wait_input(p, FOLLOW_POLL_MS / 1000.0);
			continue;
		}
		/* a command's stderr ("e") is replayed with its output */
		if (l->kind == SHARDREAD_EVENT && (l->ch == 'o' || l->ch == 'e')) {
			if (!p->follow)
				wait_event(p, l->t);
			if (!p->quit && (r = show(p, (const uint8_t *)sr->data, sr->ndata)) < 0) {
				tty_restore(p);
				ctl_err("writing: %s", strerror(-r));
				return CTL_EXIT_ERROR;
			}
		}
	}
	return 0;
}

static int parse_num(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return end != s && !*end && !errno && isfinite(*out) ? 0 : -EINVAL;
}

int ctl_cmd_play(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_RAW = CTL_OPT_LOCAL };
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS,
		{ "speed", required_argument, NULL, 's' },
		{ "idle-limit", required_argument, NULL, 'i' },
		{ "follow", no_argument, NULL, 'f' },
		{ "raw", no_argument, NULL, OPT_RAW },
		{ NULL, 0, NULL, 0 },
	};
	struct play p = { .speed = 1, .keys = -1, .sigfd = -1 };
	struct store st;
	struct sessread sr;
	int c, r;

	while ((c = ctl_getopt("play", argc, argv, "hs:i:f", longopts)) != -1) {
		switch (c) {
		case 'h':
			return ctl_help(play_usage);
		case 's':
			if (parse_num(optarg, &p.speed) < 0 || p.speed <= 0)
				return ctl_usage_err("play", "--speed needs a number above 0, not '%s'", optarg);
			break;
		case 'i':
			if (parse_num(optarg, &p.idle) < 0 || p.idle <= 0)
				return ctl_usage_err("play", "--idle-limit needs seconds above 0, not '%s'", optarg);
			break;
		case 'f':
			p.follow = true;
			break;
		case OPT_RAW:
			p.as_recorded = true;
			break;
		case '?':
			return CTL_EXIT_USAGE;
		default:
			if (ctl_common_opt(ctl, c, optarg))
				return CTL_EXIT_USAGE;
		}
	}
	if ((r = sessread_open_sid(&sr, &st, ctl, "play", argc, argv, p.follow)) != 0)
		return r;
	st.progress = false; /* the screen is the replay's now */
	if ((r = setup_signals(&p)) < 0) {
		ctl_err("signals: %s", strerror(-r));
		r = CTL_EXIT_ERROR;
		goto out_sr;
	}
	if (isatty(STDIN_FILENO))
		p.keys = STDIN_FILENO;
	termquery_filter_init(&p.filter);
	termquery_keys_init(&p.answers);
	tty_raw(&p);
	r = run(&p, &sr);
	show_end(&p);
	tty_done(&p);
	free(p.obuf);
	close(p.sigfd);
	if (p.quit && p.quit != 'q') {
		sessread_close(&sr);
		store_close(&st);
		signal(p.quit, SIG_DFL);
		sigprocmask(SIG_SETMASK, &p.oldmask, NULL);
		raise(p.quit);
		return 128 + p.quit; /* the signal was ignored by our parent's choice */
	}
	sigprocmask(SIG_SETMASK, &p.oldmask, NULL);
	if (r == 0 && st.io_error)
		r = CTL_EXIT_ERROR;
out_sr:
	sessread_close(&sr);
	store_close(&st);
	return r;
}
