/* service: the orchestration of sessrecd (see service.h): setup and
 * teardown of the top-level context, the run loop, signals (SIGTERM/SIGINT
 * stop, SIGHUP reload, SIGUSR2 re-exec), the tick and watchdog timers, and
 * the writer's reports. The top of the module graph: nothing includes
 * service.h but main.c (and the fuzz harness). Convention: 0 or -errno. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain.h"
#include "chainseed.h"
#include "authwatch.h"
#include "cmdtrace_rec.h"
#include "daemon.h"
#include "emit.h"
#include "escrow.h"
#include "handoff.h"
#include "handoff_exec.h"
#include "io.h"
#include "kdeny.h"
#include "log.h"
#include "monoclock.h"
#include "notify.h"
#include "recorder.h"
#include "relay.h"
#include "resume.h"
#include "server.h"
#include "service.h"
#include "session.h"
#include "shardtrust.h"
#include "writer.h"

#define SERVICE_WRITER_ERRORS 64

void service_apply_overrides(const struct daemon_overrides *ov, struct sessrec_config *c)
{
	if (ov->socket)
		snprintf(c->socket_path, sizeof(c->socket_path), "%s", ov->socket_path);
	if (ov->shard_dir)
		snprintf(c->shard_dir, sizeof(c->shard_dir), "%s", ov->shard_dir_path);
	if (ov->targets)
		c->syslog_targets = ov->target_mask;
}

/* A new keeper holds nothing yet: every relaying session's fds go to it. */
static void rehold(struct handoff *ho)
{
	struct daemon *d = ho->userdata;

	for (struct session *s = d->sessions; s; s = s->next)
		session_hold(d, s);
}

int service_keep_args(struct daemon *d, int argc, char **argv)
{
	return handoff_init(&d->ho, &d->loop, &d->cfg, argc, argv, rehold, d);
}

/* Re-arms the tick for what exists now (250 ms while sessions relay, 1 s
 * while anything else needs housekeeping, off otherwise). */
static void update_timers(struct daemon *d)
{
	unsigned want = 0;

	if (session_relay_count(d))
		want = DAEMON_TICK_MS;
	else if (d->sessions || d->conns || d->accept_resume_ms || d->chain)
		want = DAEMON_HOUSE_MS; /* a seal key evolves at its epoch's end (or is made), sessions or not */
	if (want == d->tick_ms || d->tick_fd < 0)
		return;
	if (loop_timer_arm(d->tick_fd, want, want) == 0)
		d->tick_ms = want;
}

/* The start-up and reload check of the shard directory dir (sessrecd(8),
 * SECURITY): -EPERM with the line in why when it is not trusted (the
 * caller refuses it); else the shard_dir_unsafe warning when users can
 * fill its filesystem. A directory not there yet is reported by its
 * creation: 0. */
static int check_shard_dir(struct daemon *d, const char *dir, char *why, size_t whylen)
{
	char msg[PATH_MAX + 128];
	const char *shared;
	struct event e;
	int r = shardtrust_dir(dir, why, whylen);

	if (r == -EPERM)
		return r;
	if (r < 0 || !shardtrust_fs_shared(dir, &shared))
		return 0;
	snprintf(msg, sizeof(msg), "shard directory %s is on the filesystem of %s: users can fill it", dir, shared);
	log_line("warning: %s", msg);
	e = (struct event){ .type = EVENT_SHARD_DIR_UNSAFE, .msg = msg };
	event_add(&e, "shard_dir", dir);
	event_add(&e, "shared_with", shared);
	emit_event(d, &e);
	return 0;
}

/* Pauses or resumes reading inner masters after the writer's queue
 * changed (a relay may have paused already: it says so in disk_changed). */
static void check_disk(struct daemon *d)
{
	bool congested = writer_congested(d->writer);

	if (congested != d->disk_paused) {
		d->disk_paused = congested;
		d->disk_changed = true;
	}
	if (!d->disk_changed)
		return;
	d->disk_changed = false;
	if (d->disk_paused)
		log_line("the disk writer is over %u MiB behind; session output waits for it", WRITER_HIGH_WATER >> 20);
	else
		log_line("the disk writer caught up; session output goes on");
	for (struct session *s = d->sessions; s; s = s->next)
		if (s->phase == SESSION_RELAYING)
			relay_update(&s->relay);
		else if (s->phase == SESSION_COMMAND)
			relaypipe_update(&s->pipe);
}

static void writer_cb(struct loop_io *io, uint32_t ev)
{
	struct daemon *d = io->userdata;
	struct writer_error errs[SERVICE_WRITER_ERRORS];
	size_t n = writer_collect(d->writer, errs, SERVICE_WRITER_ERRORS);

	(void)ev;
	for (size_t i = 0; i < n; i++) {
		struct session *s = session_by_serial(d, errs[i].owner);

		if (s)
			recorder_writer_report(&s->rec, &errs[i]);
	}
	check_disk(d);
}

void service_reload(struct daemon *d)
{
	struct sessrec_config c;
	uint8_t escrow_pk[SEALKEY_BYTES];
	bool escrow_on;
	char err[PATH_MAX + 512] = "";
	int r;

	notify_reloading(d);
	config_defaults(&c);
	r = config_load(&c, d->config_path, !d->config_explicit, err, sizeof(err));
	if (r < 0) {
		log_line("reload: %s; the running configuration stays", err[0] ? err : strerror(-r));
		notify_ready(d);
		return;
	}
	service_apply_overrides(&d->ov, &c);
	if (strcmp(c.socket_path, d->cfg.socket_path) != 0) {
		log_line("reload: Socket= changes need a restart; still listening on %s",
			 d->listen_activated ? "the socket from the service manager" : d->cfg.socket_path);
		memcpy(c.socket_path, d->cfg.socket_path, sizeof(c.socket_path));
	}
	if (strcmp(c.state_dir, d->cfg.state_dir) != 0) {
		log_line("reload: StateDirectory= changes need a restart; still %s", d->cfg.state_dir);
		memcpy(c.state_dir, d->cfg.state_dir, sizeof(c.state_dir));
	}
	if (strcmp(c.shard_dir, d->cfg.shard_dir) != 0 && (r = io_mkdir_p(c.shard_dir, 0700)) < 0)
		log_line("reload: cannot create %s: %s", c.shard_dir, strerror(-r));
	/* Checked again even when unchanged: its owner or mode may have. */
	if (check_shard_dir(d, c.shard_dir, err, sizeof(err)) < 0) {
		log_line("reload: %s; the running configuration stays", err);
		notify_ready(d);
		return;
	}
	if (escrow_load(c.escrow_key, escrow_pk, &escrow_on, err, sizeof(err)) < 0) {
		log_line("reload: %s; the running configuration stays", err);
		notify_ready(d);
		return;
	}
	d->escrow_on = escrow_on;
	memcpy(d->escrow_pk, escrow_pk, sizeof(escrow_pk));
	if (strcmp(c.process_name, d->cfg.process_name) != 0 && (r = proctitle_set(&d->title, c.process_name)) < 0)
		log_line("reload: cannot set the process name: %s", strerror(-r));
	d->cfg = c;
	log_line("configuration reloaded");
	notify_ready(d);
}

static void sig_cb(struct loop_io *io, uint32_t ev)
{
	struct daemon *d = io->userdata;
	struct signalfd_siginfo si;

	(void)ev;
	while (read(d->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
			/* Under the fd store a stop may be a restart: the sessions
			 * are handed over, not ended (sessrecd(8), RESTARTS). */
			d->handoff = handoff_on_term(&d->ho);
			d->quit = true;
			break;
		case SIGINT:
			d->handoff = false;
			d->quit = true;
			break;
		case SIGHUP:
			service_reload(d);
			break;
		case SIGUSR2:
			handoff_exec_run(d);
			break;
		case SIGCHLD:
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			break;
		}
	}
}

static void tick_cb(struct loop_io *io, uint32_t ev)
{
	struct daemon *d = io->userdata;
	int64_t now = mono_ms();
	/* A little slack: a 1 s timer must not skip every other round. */
	bool house = !d->tick_pass && now - d->house_last_ms >= DAEMON_HOUSE_MS - 50;

	(void)ev;
	loop_timer_ack(d->tick_fd);
	if (house)
		d->house_last_ms = now;
	if (!session_tick_some(d, now, house, DAEMON_TICK_SLICE)) {
		/* The rest after the events waiting now: at once, through the
		 * loop, the period kept. */
		(void)loop_timer_soon(d->tick_fd, d->tick_ms);
		return;
	}
	if (d->tick_house) {
		recloss_tick(d);
		server_tick(d, now);
		if (d->writer)
			(void)writer_chain_tick(d->writer); /* timed checkpoints, the key's epoch */
		if (d->seed) {
			chainseed_drop(d->seed); /* the resumes are done */
			free(d->seed);
			d->seed = NULL;
		}
	}
	notify_status(d);
}

static void wd_cb(struct loop_io *io, uint32_t ev)
{
	struct daemon *d = io->userdata;

	(void)ev;
	loop_timer_ack(d->wd_fd);
	notify_watchdog(d);
}

/* Many sessions hold two fds each; systemd's soft limit is low. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Hash chains for every line the writer writes; seals when the key file
 * is there (sessrecd(8), SEALS). Only out of memory is fatal. */
static int start_chains(struct daemon *d)
{
	int r;

	if (!(d->chain = calloc(1, sizeof(*d->chain))))
		return -ENOMEM;
	r = chain_init(d->chain, d->cfg.seal_key);
	if (r == -ENOENT)
		log_line("no seal key at %s: checkpoints are not sealed (sessrecctl keygen makes one)", d->cfg.seal_key);
	else if (r < 0)
		log_line("seal key %s: %s; checkpoints are not sealed", d->cfg.seal_key,
			 r == -EPERM ? "not a root-owned file of mode 0600" : strerror(-r));
	writer_set_chain(d->writer, d->chain);
	return 0;
}

int service_init(struct daemon *d, char *err, size_t errlen)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR2, SIGCHLD };
	int wfd, r;

	d->listen_fd = d->sig_fd = d->tick_fd = d->wd_fd = -1;
	d->loop.epfd = -1;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if ((r = loop_init(&d->loop)) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(-r));
		return r;
	}
	/* Before the writer thread exists, so it inherits the blocked mask. */
	if ((d->sig_fd = loop_signalfd(sigs, sizeof(sigs) / sizeof(sigs[0]))) < 0) {
		r = d->sig_fd;
		snprintf(err, errlen, "signalfd: %s", strerror(-r));
		return r;
	}
	if ((d->tick_fd = loop_timerfd()) < 0) {
		r = d->tick_fd;
		snprintf(err, errlen, "timerfd: %s", strerror(-r));
		return r;
	}
	/* First, so it loads while everything else starts; after the
	 * signalfd, so its thread inherits the blocked mask. */
	if (cmdtrace_rec_start(d) < 0)
		log_line("commands: out of memory; sessions are recorded without commands");
	if ((r = writer_start(&d->writer, &wfd)) < 0) {
		snprintf(err, errlen, "cannot start the disk writer: %s", strerror(-r));
		return r;
	}
	if ((r = start_chains(d)) < 0) {
		snprintf(err, errlen, "hash chains: %s", strerror(-r));
		return r;
	}
	loop_io_init(&d->sig_io, sig_cb, d);
	loop_io_init(&d->tick_io, tick_cb, d);
	loop_io_init(&d->writer_io, writer_cb, d);
	loop_io_init(&d->wd_io, wd_cb, d);
	if ((r = loop_set(&d->loop, &d->sig_io, d->sig_fd, EPOLLIN)) < 0 ||
	    (r = loop_set(&d->loop, &d->tick_io, d->tick_fd, EPOLLIN)) < 0 ||
	    (r = loop_set(&d->loop, &d->writer_io, wfd, EPOLLIN)) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(-r));
		return r;
	}
	d->watchdog_usec = notify_watchdog_interval();
	if (d->watchdog_usec) {
		unsigned ms = (unsigned)(d->watchdog_usec / 1000);

		if (ms == 0)
			ms = 1;
		if ((d->wd_fd = loop_timerfd()) < 0 || loop_timer_arm(d->wd_fd, ms, ms) < 0 ||
		    loop_set(&d->loop, &d->wd_io, d->wd_fd, EPOLLIN) < 0) {
			snprintf(err, errlen, "cannot set up the watchdog timer");
			return -EIO;
		}
	}
	if ((r = io_mkdir_p(d->cfg.shard_dir, 0700)) < 0)
		log_line("cannot create the shard directory %s: %s; sessions are skipped until it can be",
			 d->cfg.shard_dir, strerror(-r));
	if ((r = check_shard_dir(d, d->cfg.shard_dir, err, errlen)) < 0)
		return r;
	if ((r = escrow_load(d->cfg.escrow_key, d->escrow_pk, &d->escrow_on, err, errlen)) < 0)
		return r;
	if (d->escrow_on)
		log_line("withheld input is escrowed to the key in %s", d->cfg.escrow_key);
	r = io_mkdir_p(d->cfg.state_dir, 0700);
	d->state_ok = r == 0;
	if (r < 0)
		log_line("cannot create the state directory %s: %s; sessions run without state files", d->cfg.state_dir,
			 strerror(-r));
	d->house_last_ms = mono_ms();
	return 0;
}

int service_listen(struct daemon *d, char *err, size_t errlen)
{
	/* A socket of our own appears once the tracer is in, so the first
	 * session is served at once (not after tens of ms of eBPF load in
	 * the queue). One from the service manager or the previous daemon
	 * is there already: service_start waits, after resuming. */
	if (d->listen_fd < 0) {
		resume_keeper_early(d);
		cmdtrace_rec_ready(d);
	}
	return server_listen(d, err, errlen);
}

void service_after_events(struct daemon *d)
{
	if (d->disk_changed)
		check_disk(d);
	session_writer_progress(d);
	update_timers(d);
}

void service_start(struct daemon *d)
{
	resume_start(d);
	if (kdeny_start(d) < 0)
		log_line("kernel denials are not recorded: out of memory");
	if (authwatch_start(d) < 0)
		log_line("authentications are not recorded: out of memory");
	/* After the resumed sessions relay again, before any new one
	 * attaches: the loop is not running yet. */
	cmdtrace_rec_ready(d);
	update_timers(d);
	notify_ready(d);
}

int service_run(struct daemon *d)
{
	while (!d->quit) {
		int r = loop_run_once(&d->loop, -1);

		if (r < 0) {
			log_line("epoll_wait: %s", strerror(-r));
			return r;
		}
		service_after_events(d);
	}
	return 0;
}

void service_fini(struct daemon *d)
{
	notify_stopping(d);
	kdeny_stop(d); /* its summaries go into shards still open */
	authwatch_stop(d);
	if (d->handoff)
		handoff_exec_detach_all(d);
	session_shutdown(d);
	/* Its last records are in (session_end drains it) while the writer still takes lines. */
	cmdtrace_rec_stop(d);
	if (d->writer) {
		/* Every queued line reaches the disk before anyone hears "recorded". */
		writer_stop(d->writer);
		d->writer = NULL;
		session_writer_stopped(d);
	}
	if (d->seed) {
		chainseed_drop(d->seed);
		free(d->seed);
		d->seed = NULL;
	}
	if (d->chain) {
		chain_fini(d->chain);
		free(d->chain);
		d->chain = NULL;
	}
	handoff_fini(&d->ho);
	server_close(d);
	while (d->sessions)
		session_free(d, d->sessions);
	recorder_close_all(d);
	if (d->tick_fd >= 0)
		close(d->tick_fd);
	if (d->wd_fd >= 0)
		close(d->wd_fd);
	if (d->sig_fd >= 0)
		close(d->sig_fd);
	loop_fini(&d->loop);
}
