/* sessrec-shell: the session's entry point (sessrec-shell(8), "Steps"). Hands
 * the terminal to sessrecd with the token PAM exported, runs the user's real
 * shell on the inner pty and exits with its status once sessrecd has relayed
 * all its output; without a token (or without a tty) it only execs.
 * Convention: attach is 0 or -1 with a reason for the user; the run_* steps
 * do not return (they exec the shell or exit with its status). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <syslog.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "io.h"
#include "proto.h"
#include "protoclient.h"
#include "ptyswitch.h"
#include "shells.h"

#define SHIM_DEFAULT_SHELL "/bin/bash"
#define SHIM_DEFAULT_TIMEOUT_MS 1000
/* sessrecd drains for up to 5 s after the shell's end (RELAY_DRAIN_MS). */
#define SHIM_DRAIN_MS 6000
#define SHIM_DRAIN_STEP_MS 10
#define SFTP_INTERNAL "internal-sftp"
#define SFTP_SERVER "/usr/lib/openssh/sftp-server"

struct shim {
	int argc;
	char **argv;
	char shell[PATH_MAX];     /* the real shell */
	char argv0[PATH_MAX + 1]; /* its argv[0]: "-bash" for a login shell */
	char *cmd;                /* the command to run, NULL for an interactive shell */
	char **exec_argv;
	struct sessrec_config cfg;
	bool cfg_loaded;
};

/* The daemon configuration holds Shell= and Quiet=; a missing or unreadable
 * file leaves the defaults, never stops a login. */
static const struct sessrec_config *shim_config(struct shim *sh)
{
	char err[256];

	if (!sh->cfg_loaded) {
		config_defaults(&sh->cfg);
		if (config_load(&sh->cfg, CONFIG_DEFAULT_PATH, true, err, sizeof(err)) < 0)
			config_defaults(&sh->cfg);
		sh->cfg_loaded = true;
	}
	return &sh->cfg;
}

static bool is_self(const char *path, const char *self)
{
	char real[PATH_MAX];

	return self[0] && realpath(path, real) && strcmp(real, self) == 0;
}

/* The passwd shell, unless that is this shim (it is the login shell, as
 * `sessrecctl enroll` sets it): then the shell enroll remembered (SHELLS_DIR,
 * trusted only when root's alone), else Shell= from the configuration,
 * never ourselves again. */
static void find_shell(struct shim *sh)
{
	char self[PATH_MAX] = "", kept[PATH_MAX], why[PATH_MAX + 128];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct passwd *pw = getpwuid(getuid());
	const char *shell = NULL;
	int r = 0;

	self[n > 0 ? n : 0] = '\0';
	if (pw && pw->pw_shell && pw->pw_shell[0] && !is_self(pw->pw_shell, self))
		shell = pw->pw_shell;
	if (!shell && pw && (r = shells_read(SHELLS_DIR, pw->pw_name, kept, sizeof(kept), why, sizeof(why))) == 0 &&
	    !is_self(kept, self))
		shell = kept;
	else if (!shell && pw && r == -EPERM)
		syslog(LOG_AUTHPRIV | LOG_WARNING, "%s ignored: %s", SHELLS_DIR, why);
	if (!shell) {
		shell = shim_config(sh)->shell;
		if (!shell[0] || is_self(shell, self))
			shell = SHIM_DEFAULT_SHELL;
	}
	snprintf(sh->shell, sizeof(sh->shell), "%s", shell);
}

/* sshd runs internal-sftp in-process; through a shell it has to be the
 * external server with the same arguments. */
static char *map_sftp(char *cmd)
{
	size_t n = strlen(SFTP_INTERNAL);
	char *mapped;

	if (strncmp(cmd, SFTP_INTERNAL, n) != 0 || (cmd[n] != '\0' && cmd[n] != ' ' && cmd[n] != '\t'))
		return cmd;
	if (asprintf(&mapped, "%s%s", SFTP_SERVER, cmd + n) < 0)
		return cmd;
	return mapped;
}

/* What to exec: our own arguments passed through when we are a login shell
 * run with some (-c CMD), else SSH_ORIGINAL_COMMAND via -c when we are a
 * ForceCommand, else an interactive login shell. */
static void build_argv(struct shim *sh)
{
	char *orig = getenv("SSH_ORIGINAL_COMMAND");
	const char *base = strrchr(sh->shell, '/');
	bool login;
	int n = 0;

	sh->exec_argv = calloc((size_t)sh->argc + 4, sizeof(char *));
	if (!sh->exec_argv) {
		fputs("sessrec: out of memory\n", stderr);
		exit(1);
	}
	/* sshd's convention: "-shell" without a command, "shell" with one;
	 * login(1) and su -l mark our own argv[0] the same way. */
	login = sh->argc > 1 ? sh->argv[0][0] == '-' : !(orig && orig[0]);
	base = base ? base + 1 : sh->shell;
	snprintf(sh->argv0, sizeof(sh->argv0), "%s%s", login ? "-" : "", base);
	sh->exec_argv[n++] = sh->argv0;
	if (sh->argc > 1) {
		for (int i = 1; i < sh->argc; i++)
			sh->exec_argv[n++] = sh->argv[i];
		if (sh->argc > 2 && strcmp(sh->argv[1], "-c") == 0)
			sh->cmd = sh->exec_argv[2] = map_sftp(sh->argv[2]);
	} else if (orig && orig[0]) {
		sh->cmd = map_sftp(orig);
		sh->exec_argv[n++] = (char *)"-c";
		sh->exec_argv[n++] = sh->cmd;
	}
	sh->exec_argv[n] = NULL;
}

static bool env_flag(const char *name);

/* The shell inherits none of the plumbing PAM passed down; SESSREC_SID stays
 * (scripts may log it) unless the session is quiet, where nothing may hint
 * at a recorder (honeypots). */
static void scrub_env(void)
{
	bool quiet = env_flag("SESSREC_QUIET");

	unsetenv("SESSREC_TOKEN");
	unsetenv("SESSREC_FAIL");
	unsetenv("SESSREC_QUIET");
	unsetenv("SESSREC_SOCKET");
	unsetenv("SESSREC_TIMEOUT_MS");
	if (quiet)
		unsetenv("SESSREC_SID");
}

static void exec_shell(struct shim *sh)
{
	int e;

	scrub_env();
	execv(sh->shell, sh->exec_argv);
	e = errno;
	fprintf(stderr, "sessrec: cannot run %s: %s\n", sh->shell, strerror(e));
	exit(e == ENOENT ? 127 : 126);
}

static bool env_flag(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] && strcmp(v, "0") != 0;
}

/* The failure policy PAM passed down. Returns only when the login goes on
 * unrecorded. */
static void policy_fail(struct shim *sh, const char *reason)
{
	const char *policy = getenv("SESSREC_FAIL");

	if (policy && strcmp(policy, "closed") == 0) {
		fprintf(stderr, "sessrec: recording unavailable (%s); login refused\n", reason);
		exit(1);
	}
	if (!env_flag("SESSREC_QUIET") && !shim_config(sh)->quiet)
		fprintf(stderr, "sessrec: recording unavailable (%s); session not recorded\n", reason);
}

static int shim_timeout(void)
{
	const char *v = getenv("SESSREC_TIMEOUT_MS");
	char *end;
	long t;

	if (!v || !v[0])
		return SHIM_DEFAULT_TIMEOUT_MS;
	errno = 0;
	t = strtol(v, &end, 10);
	if (errno || *end || t <= 0 || t > 600000)
		return SHIM_DEFAULT_TIMEOUT_MS;
	return (int)t;
}

static const char *shim_socket(void)
{
	const char *s = getenv("SESSREC_SOCKET");

	return s && s[0] ? s : PROTO_DEFAULT_SOCKET;
}

/* Why an attach failed (r < 0), in words for the user. */
static void failure_reason(int r, const struct protoclient_reply *rep, const char *socket, char *reason, size_t cap)
{
	const char *err;

	if (r == -EREMOTEIO) {
		err = protoclient_error(rep);
		snprintf(reason, cap, "%s", err ? err : "refused by sessrecd");
	} else if (!rep->reached) {
		snprintf(reason, cap, "cannot connect to %s: %s", socket, strerror(-r));
	} else {
		snprintf(reason, cap, "no answer from sessrecd: %s", strerror(-r));
	}
}

/* One attach round trip (req: a terminal with fds, or a command without).
 * 0 when the daemon took the session (*dry_run: it wants the shell on the
 * outer tty), else -1 with a reason for the user. */
static int attach(struct json_object *req, const int *fds, size_t nfds, bool *dry_run, char *reason, size_t cap)
{
	struct protoclient c = { .socket = shim_socket(), .timeout_ms = shim_timeout() };
	struct protoclient_reply rep;
	int r;

	*dry_run = false;
	r = protoclient_call(&c, req, fds, nfds, &rep);
	if (r < 0)
		failure_reason(r, &rep, c.socket, reason, cap);
	else if (proto_bool(rep.msg, "dry_run", dry_run) < 0)
		*dry_run = false;
	protoclient_reply_free(&rep);
	return r < 0 ? -1 : 0;
}

/* Passes the child's end on to whoever waits for us: the same signal (with
 * no core file of our own), or the same exit code. */
static void exit_like(int status)
{
	struct rlimit no_core = { 0, 0 };
	sigset_t set;
	int sig;

	if (!WIFSIGNALED(status))
		exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
	sig = WTERMSIG(status);
	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	exit(128 + sig);
}

/* fork(), the child's end waited for with the default SIGCHLD; a failure
 * ends the login. */
static pid_t fork_child(void)
{
	pid_t pid;

	signal(SIGCHLD, SIG_DFL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "sessrec: cannot fork: %s\n", strerror(errno));
		exit(1);
	}
	return pid;
}

/* The status of our child pid once it ended. */
static int wait_child(pid_t pid)
{
	int status;

	if (io_waitpid(pid, &status) < 0)
		exit(1);
	return status;
}

/* The attach of a command without a terminal, with our stdin, stdout and
 * stderr (sshd's pipes). 0 with the command's three pipe ends in cmd and
 * the connection (for "drained") in *sock, or dry_run; -1 with a reason.
 * A command NoTtyCommands= does not allow never runs, whatever fail= says:
 * one line and exit 1. */
static int attach_command(struct shim *sh, const char *token, int cmd[3], int *sock, bool *dry_run, char *reason,
			  size_t cap)
{
	struct protoclient c = { .socket = shim_socket(), .timeout_ms = shim_timeout(), .reply_fds = 3 };
	struct json_object *req = protoclient_req_command(token, getenv("SESSREC_SID"), sh->cmd ? sh->cmd : sh->shell);
	struct protoclient_reply rep;
	const char *refused;
	int r;

	*dry_run = false;
	r = protoclient_call_keep(&c, req, (int[]){ 0, 1, 2 }, 3, &rep, sock);
	json_object_put(req);
	refused = r == -EREMOTEIO ? proto_str(rep.msg, "refused") : NULL;
	if (refused && strcmp(refused, "policy") == 0) {
		fprintf(stderr, "sessrec: %s\n", protoclient_error(&rep) ? protoclient_error(&rep) : "command refused");
		exit(1);
	}
	if (r == 0 && proto_bool(rep.msg, "dry_run", dry_run) == 0 && *dry_run) {
		close(*sock);
	} else if (r == 0 && rep.nfds != 3) {
		snprintf(reason, cap, "sessrecd sent %zu fds, not the command's 3 pipes", rep.nfds);
		close(*sock);
		r = -EBADMSG;
	} else if (r == 0) {
		memcpy(cmd, rep.fds, sizeof(int) * 3);
		rep.nfds = 0; /* ours now */
	} else {
		failure_reason(r, &rep, c.socket, reason, cap);
	}
	protoclient_reply_free(&rep);
	return r < 0 ? -1 : 0;
}

/* Step 1: no terminal (ssh host cmd, scp, sftp). The command's stdin,
 * stdout and stderr go through sessrecd, which records them: the child
 * gets the daemon's pipes on 0-2 and nothing else; we keep none of sshd's
 * pipes (its EOF must come from the daemon), wait for the command, then
 * for "drained" (everything written out and recorded), and exit with its
 * status. */
static void run_command(struct shim *sh, const char *token)
{
	char reason[512];
	bool dry_run;
	int cmd[3], sock = -1, status, null;
	pid_t pid;

	if (attach_command(sh, token, cmd, &sock, &dry_run, reason, sizeof(reason)) < 0)
		policy_fail(sh, reason);
	if (sock < 0 || dry_run)
		exec_shell(sh);
	/* Nobody of the user's may take over the process that holds the
	 * daemon's connection. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	pid = fork_child();
	if (pid == 0) {
		for (int i = 0; i < 3; i++)
			if (dup2(cmd[i], i) < 0)
				_exit(126);
		close_range(3, ~0U, 0);
		exec_shell(sh);
	}
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3; i++) {
		close(cmd[i]);
		if (null >= 0)
			dup2(null, i);
	}
	if (null > 2)
		close(null);
	status = wait_child(pid);
	/* EOF instead (the daemon went away): nothing more to wait for. */
	(void)protoclient_wait_drained(sock);
	close(sock);
	exit_like(status);
}

static bool same_modes(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
	       a->c_lflag == b->c_lflag && memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)) == 0;
}

/* sshd takes its child's exit as the end of the output: once the child is
 * gone it reads the pty until the first read that finds nothing, then closes
 * the channel (channels.c, "force" for tty channels). What sessrecd has not
 * relayed by then never reaches the client. sessrecd puts the outer tty's
 * modes back only after relaying everything, so we leave when they change
 * back from raw (or after SHIM_DRAIN_MS, or when the tty is gone). */
static void wait_drained(const struct termios *raw)
{
	struct timespec step = { .tv_nsec = SHIM_DRAIN_STEP_MS * 1000000L };
	struct termios now;

	for (int i = 0; i < SHIM_DRAIN_MS / SHIM_DRAIN_STEP_MS; i++) {
		if (tcgetattr(0, &now) < 0 || !same_modes(&now, raw))
			return;
		nanosleep(&step, NULL);
	}
}

/* The shell gets a session of its own on the inner pty; we stay the process
 * sshd (or login, or dash -c) waits for, so that its exit means the output
 * has reached the terminal, and pass the shell's status on. raw: the outer
 * modes while sessrecd relays, NULL when their restoring cannot be seen. */
static void fork_shell(struct shim *sh, int slave, const struct termios *raw)
{
	pid_t pid;
	int status, r;

	pid = fork_child();
	if (pid == 0) {
		r = ptyswitch_child(slave);
		if (r < 0) {
			fprintf(stderr, "sessrec: cannot switch terminal: %s\n", strerror(-r));
			_exit(1);
		}
		exec_shell(sh);
	}
	close(slave);
	/* The outer tty is raw: these come from other processes only. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	status = wait_child(pid);
	if (raw)
		wait_drained(raw);
	exit_like(status);
}

/* Steps 2-4 on a terminal. Falls back to the outer tty per policy. */
static void run_tty(struct shim *sh, const char *token)
{
	struct json_object *req;
	struct termios saved, raw;
	char reason[512];
	bool dry_run, have_raw, have_saved = tcgetattr(0, &saved) == 0;
	int master = -1, slave = -1, r;

	r = ptyswitch_open(0, &master, &slave);
	if (r < 0) {
		snprintf(reason, sizeof(reason), "cannot open a pty: %s", strerror(-r));
		policy_fail(sh, reason);
		exec_shell(sh);
	}
	req = protoclient_req_attach(token, getenv("SESSREC_SID"), getenv("TERM"), sh->shell);
	r = attach(req, (int[]){ 0, master }, 2, &dry_run, reason, sizeof(reason));
	json_object_put(req);
	close(master);
	if (r < 0 || dry_run) {
		close(slave);
		/* Whatever the daemon did to the outer tty before failing is undone. */
		if (have_saved)
			tcsetattr(0, TCSANOW, &saved);
		if (r < 0)
			policy_fail(sh, reason);
		exec_shell(sh);
	}
	/* Not ptyswitch_take and exec in place even when we are the session
	 * leader: then nobody would wait for sessrecd to drain (see
	 * wait_drained). */
	have_raw = have_saved && tcgetattr(0, &raw) == 0 && !same_modes(&raw, &saved);
	fork_shell(sh, slave, have_raw ? &raw : NULL);
}

/* sshd runs ~/.ssh/rc through the login shell as `SHELL -c '/bin/sh
 * .ssh/rc'` (session.c, do_rc_files), before the session's own shell or
 * command, and a system rc as `/bin/sh /etc/ssh/sshrc`. Either is code run
 * before anything is recorded: never run, and never worth the token. */
static bool is_rc(int argc, char **argv)
{
	static const char *const forms[] = { "/bin/sh .ssh/rc", "/bin/sh /etc/ssh/sshrc" };
	const char *cmd, *tail;
	size_t n;

	if (argc != 3 || strcmp(argv[1], "-c") != 0)
		return false;
	cmd = argv[2];
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (strcmp(cmd, forms[i]) == 0)
			return true;
	/* an absolute ~/.ssh/rc, as other OpenSSH versions write it */
	n = strlen(cmd);
	tail = "/.ssh/rc";
	return strncmp(cmd, "/bin/sh /", 9) == 0 && n > strlen(tail) && strcmp(cmd + n - strlen(tail), tail) == 0 &&
	       !strpbrk(cmd + 8, " \t;&|`$<>");
}

static void refuse_rc(const char *cmd)
{
	openlog("sessrec-shell", LOG_PID, LOG_AUTHPRIV);
	syslog(LOG_WARNING, "uid %u: not running sshd's rc (%s) before a recorded session", (unsigned)getuid(), cmd);
	exit(0);
}

int main(int argc, char **argv)
{
	static struct shim sh;
	const char *token = getenv("SESSREC_TOKEN");

	sh.argc = argc;
	sh.argv = argv;
	if (argc < 1 || !argv[0])
		return 1;
	find_shell(&sh);
	build_argv(&sh);
	if (!token || !token[0])
		exec_shell(&sh);
	if (is_rc(argc, argv))
		refuse_rc(argv[2]);
	if (!isatty(0))
		run_command(&sh, token);
	run_tty(&sh, token);
	return 1;
}
