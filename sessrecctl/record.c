/* record: `sessrecctl record [--socket PATH] [-- CMD...]` runs CMD (or the
 * user's shell) on a fresh pty that sessrecd relays and records, the way a
 * login through pam_sessrec would be. Returns the command's exit status. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"
#include "io.h"
#include "proto.h"
#include "protoclient.h"
#include "ptyswitch.h"

#define RECORD_TIMEOUT_MS 5000
/* close is answered once the session's output has reached the terminal. */
#define RECORD_CLOSE_TIMEOUT_MS 60000

static const char record_usage[] =
	"Usage: sessrecctl record [--socket PATH] [-- COMMAND [ARG...]]\n"
	"\n"
	"Run COMMAND (default: your shell, interactive) on a new terminal that\n"
	"sessrecd relays and records, as it records a login. Root only; standard\n"
	"input must be a terminal. Nothing is run when sessrecd cannot record.\n"
	"\n"
	"Options:\n"
	"  --socket PATH        sessrecd's socket (default from the configuration)\n"
	"  -h, --help           this help\n"
	"\n"
	"Exit status: COMMAND's (128+N if killed by signal N); 1 if nothing was\n"
	"recorded or run; 2 usage.\n";

struct record {
	const char *socket;
	char **cmd; /* NULL: the user's interactive shell */
	char shell[PATH_MAX];
	char *shell_argv[3];
	char sid[64];
	char token[256];
};

#define say(...) ctl_err("record: " __VA_ARGS__)

/* -1 to go on, else the exit status (help shown, usage error said). */
static int parse_args(struct record *rec, struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	/* '+': the command's own options are not ours */
	while ((c = ctl_getopt("record", argc, argv, "+h", longopts)) != -1) {
		if (c == 'h')
			return ctl_help(record_usage);
		if (c == '?')
			return CTL_EXIT_USAGE;
		if ((r = ctl_common_opt(ctl, c, optarg)) != 0)
			return r;
	}
	rec->cmd = optind < argc ? argv + optind : NULL;
	return -1;
}

/* An interactive shell when no command was given, as script(1) runs one. */
static void find_shell(struct record *rec)
{
	struct passwd *pw = getpwuid(getuid());
	const char *shell = pw && pw->pw_shell && pw->pw_shell[0] ? pw->pw_shell : getenv("SHELL");

	snprintf(rec->shell, sizeof(rec->shell), "%s", shell && shell[0] ? shell : "/bin/sh");
	rec->shell_argv[0] = rec->shell;
	rec->shell_argv[1] = (char *)"-i";
	rec->shell_argv[2] = NULL;
	if (!rec->cmd)
		rec->cmd = rec->shell_argv;
}

/* One request within timeout_ms; 0 with rep->msg when the daemon said ok,
 * else -1 with why in reason (nothing said: the caller decides whether it is
 * worth a line). rep is the caller's to free either way. */
static int ask(const struct record *rec, int timeout_ms, struct json_object *req, const int *fds, size_t nfds,
	       struct protoclient_reply *rep, char *reason, size_t cap)
{
	struct protoclient c = { .socket = rec->socket, .timeout_ms = timeout_ms };
	const char *err, *skipped;
	int r;

	r = protoclient_call(&c, req, fds, nfds, rep);
	if (r == -EREMOTEIO) {
		err = proto_str(rep->msg, "error");
		skipped = proto_str(rep->msg, "skipped");
		if (skipped)
			snprintf(reason, cap, "sessrecd skipped the session (%s)", skipped);
		else
			snprintf(reason, cap, "refused by sessrecd: %s", err ? err : "no reason given");
		return -1;
	}
	if (r < 0) {
		snprintf(reason, cap, "cannot reach sessrecd at %s: %s", rec->socket, strerror(-r));
		return -1;
	}
	return 0;
}

static int open_session(struct record *rec)
{
	struct passwd *pw = getpwuid(getuid());
	struct protoclient_reply rep;
	struct json_object *req;
	char uidbuf[32], reason[PATH_MAX + 128];
	const char *sid, *token;
	int r = -1;

	snprintf(uidbuf, sizeof(uidbuf), "%u", (unsigned)getuid());
	req = protoclient_req_open(&(struct protoclient_open){
		.user = pw ? pw->pw_name : uidbuf,
		.uid = getuid(),
		.service = "sessrecctl",
		.proto = "local",
		.tty = ttyname(0),
		.pid = getpid(),
		.sessionid = protoclient_sessionid(),
		.input = true,
	});
	if (ask(rec, RECORD_TIMEOUT_MS, req, NULL, 0, &rep, reason, sizeof(reason)) < 0) {
		say("%s; nothing run", reason);
		goto out;
	}
	sid = proto_str(rep.msg, "sid");
	token = proto_str(rep.msg, "token");
	if (!sid || !token || proto_str(rep.msg, "skipped") ||
	    snprintf(rec->sid, sizeof(rec->sid), "%s", sid) >= (int)sizeof(rec->sid) ||
	    snprintf(rec->token, sizeof(rec->token), "%s", token) >= (int)sizeof(rec->token)) {
		say("open: unexpected reply from sessrecd");
		goto out;
	}
	r = 0;
out:
	protoclient_reply_free(&rep);
	json_object_put(req);
	return r;
}

static int attach_session(struct record *rec, int master)
{
	struct json_object *req = protoclient_req_attach(rec->token, NULL, getenv("TERM"), rec->cmd[0]);
	struct protoclient_reply rep;
	char reason[PATH_MAX + 128];
	bool dry_run = false;
	int r = -1;

	if (ask(rec, RECORD_TIMEOUT_MS, req, (int[]){ 0, master }, 2, &rep, reason, sizeof(reason)) < 0) {
		say("attach: %s; nothing run", reason);
		goto out;
	}
	proto_bool(rep.msg, "dry_run", &dry_run);
	if (dry_run) {
		say("attach: sessrecd did not take the terminal (dry run); nothing run");
		goto out;
	}
	r = 0;
out:
	protoclient_reply_free(&rep);
	json_object_put(req);
	return r;
}

/* Returns 0 once the daemon has drained the session and written its end;
 * else -1 with why in reason. */
static int close_session(struct record *rec, char *reason, size_t cap)
{
	struct json_object *req = protoclient_req_close(rec->sid, NULL);
	struct protoclient_reply rep;
	int r;

	r = ask(rec, RECORD_CLOSE_TIMEOUT_MS, req, NULL, 0, &rep, reason, cap);
	protoclient_reply_free(&rep);
	json_object_put(req);
	return r;
}

static void child_exec(struct record *rec, int slave)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU };
	sigset_t none;
	int r, e;

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	r = ptyswitch_child(slave);
	if (r < 0) {
		fprintf(stderr, "sessrecctl: record: cannot switch terminal: %s\n", strerror(-r));
		_exit(1);
	}
	execvp(rec->cmd[0], rec->cmd);
	e = errno;
	fprintf(stderr, "sessrecctl: record: cannot run %s: %s\n", rec->cmd[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

static int wait_child(pid_t pid)
{
	int status;

	if (io_waitpid(pid, &status) < 0)
		return 1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int ctl_cmd_record(struct ctl *ctl, int argc, char **argv)
{
	static struct record rec;
	char reason[PATH_MAX + 128];
	struct termios saved;
	bool have_saved;
	int master = -1, slave = -1, r, status;
	pid_t pid;

	r = parse_args(&rec, ctl, argc, argv);
	if (r >= 0)
		return r;
	if (geteuid() != 0) {
		say("must be run as root (sessrecd opens sessions for uid 0 only)");
		return CTL_EXIT_ERROR;
	}
	if (!isatty(0)) {
		say("standard input is not a terminal");
		return CTL_EXIT_ERROR;
	}
	rec.socket = ctl_socket_path(ctl);
	if (!rec.socket)
		return CTL_EXIT_ERROR;
	find_shell(&rec);
	have_saved = tcgetattr(0, &saved) == 0;
	if (open_session(&rec) < 0)
		return CTL_EXIT_ERROR;
	r = ptyswitch_open(0, &master, &slave);
	if (r < 0) {
		say("cannot open a pty: %s", strerror(-r));
		goto fail;
	}
	if (attach_session(&rec, master) < 0)
		goto fail;
	close(master);
	master = -1;
	signal(SIGCHLD, SIG_DFL);
	pid = fork();
	if (pid < 0) {
		say("cannot fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child_exec(&rec, slave);
	close(slave);
	/* The outer tty is raw while the daemon relays, so these come from
	 * other processes only; the command's end is what ends us. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	status = wait_child(pid);
	r = close_session(&rec, reason, sizeof(reason));
	if (have_saved)
		tcsetattr(0, TCSADRAIN, &saved);
	if (r < 0)
		say("close: %s; the recording of session %s may be incomplete", reason, rec.sid);
	return status;
fail:
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
	if (have_saved)
		tcsetattr(0, TCSANOW, &saved);
	close_session(&rec, reason, sizeof(reason));
	return CTL_EXIT_ERROR;
}
