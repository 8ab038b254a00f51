/* enroll: `sessrecctl enroll USER...` makes sessrec-shell the login shell of
 * recorded users (the deployment in which sshd runs no user code before the
 * recording: sessrec-shell(8)), remembering each real shell where the shim
 * finds it (common/shells); `unenroll` puts the real shell back.
 * Convention: the commands return an exit status; helpers 0 or -errno. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "shells.h"

#include "ctl.h"

#define ENROLL_SHIM "/usr/sbin/sessrec-shell"
#define ENROLL_ETC_SHELLS "/etc/shells"
#define ENROLL_USERMOD "/usr/sbin/usermod"

static const char enroll_usage[] =
	"Usage: sessrecctl enroll [--shim PATH] USER...\n"
	"       sessrecctl unenroll USER...\n"
	"\n"
	"enroll makes sessrec-shell the login shell of each USER (usermod -s), so\n"
	"that sshd runs it before any of the user's own files (~/.bashrc,\n"
	"~/.profile): it hands the terminal to sessrecd, then runs the real shell,\n"
	"which is remembered in " SHELLS_DIR
	"/USER. It adds the shim to\n"
	"/etc/shells if missing. unenroll puts the remembered shell back.\n"
	"Root only. Each change is printed; exit status 1 if any user failed.\n"
	"\n"
	"Options:\n"
	"  --shim PATH          the shim's path (default " ENROLL_SHIM
	")\n"
	"  -h, --help           this help\n";

/* usermod -s shell user, its own messages on our stderr. */
static int set_shell(const char *user, const char *shell)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execl(ENROLL_USERMOD, "usermod", "-s", shell, "--", user, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Appends shim to /etc/shells unless a line says it already. 1 when added. */
static int add_etc_shell(const char *shim)
{
	static char text[65536];
	char line[PATH_MAX + 2];
	ssize_t n = io_read_file(ENROLL_ETC_SHELLS, text, sizeof(text));
	size_t len = strlen(shim);
	int fd, r;

	if (n < 0 && n != -ENOENT)
		return (int)n;
	for (char *p = n > 0 ? text : NULL; p && *p;) {
		char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == len && memcmp(p, shim, len) == 0)
			return 0;
		p = e ? e + 1 : NULL;
	}
	fd = open(ENROLL_ETC_SHELLS, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	/* a last line without its newline gets one first */
	snprintf(line, sizeof(line), "%s%s\n", n > 0 && text[n - 1] != '\n' ? "\n" : "", shim);
	r = io_write_full(fd, line, strlen(line));
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r < 0 ? r : 1;
}

static int enroll_one(const char *user, const char *shim)
{
	struct passwd *pw = getpwnam(user);
	char old[PATH_MAX];
	int r;

	if (!pw || !shells_user_ok(user)) {
		ctl_err("enroll: %s: no such user", user);
		return -ENOENT;
	}
	if (shells_is_shim(pw->pw_shell)) {
		printf("%s: already enrolled (login shell %s)\n", user, pw->pw_shell);
		return 0;
	}
	snprintf(old, sizeof(old), "%s", pw->pw_shell && pw->pw_shell[0] ? pw->pw_shell : "/bin/sh");
	if ((r = shells_write(SHELLS_DIR, user, old)) < 0) {
		ctl_err("enroll: %s: cannot remember the shell %s in %s: %s", user, old, SHELLS_DIR, strerror(-r));
		return r;
	}
	if ((r = set_shell(user, shim)) < 0) {
		ctl_err("enroll: %s: usermod -s %s failed", user, shim);
		shells_remove(SHELLS_DIR, user);
		return r;
	}
	printf("%s: login shell %s -> %s (the real shell is kept in %s/%s)\n", user, old, shim, SHELLS_DIR, user);
	return 0;
}

static int unenroll_one(const char *user)
{
	struct passwd *pw = getpwnam(user);
	char shell[PATH_MAX], why[PATH_MAX + 128];
	int r;

	if (!pw || !shells_user_ok(user)) {
		ctl_err("unenroll: %s: no such user", user);
		return -ENOENT;
	}
	r = shells_read(SHELLS_DIR, user, shell, sizeof(shell), why, sizeof(why));
	if (r < 0) {
		ctl_err("unenroll: %s: no usable shell in %s/%s: %s", user, SHELLS_DIR, user,
			r == -EPERM ? why : strerror(-r));
		return r;
	}
	if (shells_is_shim(pw->pw_shell) && (r = set_shell(user, shell)) < 0) {
		ctl_err("unenroll: %s: usermod -s %s failed", user, shell);
		return r;
	}
	if ((r = shells_remove(SHELLS_DIR, user)) < 0 && r != -ENOENT)
		ctl_err("unenroll: %s: cannot remove %s/%s: %s", user, SHELLS_DIR, user, strerror(-r));
	printf("%s: login shell %s -> %s\n", user, pw->pw_shell, shells_is_shim(pw->pw_shell) ? shell : pw->pw_shell);
	return 0;
}

/* enroll and unenroll share their arguments; argv[0] says which. */
static int run(struct ctl *ctl, int argc, char **argv, bool enroll)
{
	static const struct option longopts[] = {
		CTL_COMMON_OPTIONS,
		{ "shim", required_argument, NULL, CTL_OPT_LOCAL },
		{ NULL, 0, NULL, 0 },
	};
	const char *shim = ENROLL_SHIM;
	char real[PATH_MAX];
	int c, r, failed = 0;

	while ((c = ctl_getopt(argv[0], argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case 'h':
			return ctl_help(enroll_usage);
		case CTL_OPT_LOCAL:
			if (!enroll)
				return ctl_usage_err(argv[0], "--shim is for enroll");
			shim = optarg;
			break;
		case '?':
			return CTL_EXIT_USAGE;
		default:
			if ((r = ctl_common_opt(ctl, c, optarg)) != 0)
				return r;
		}
	}
	if (optind >= argc)
		return ctl_usage_err(argv[0], "no user given");
	if (geteuid() != 0) {
		ctl_err("%s: root only", argv[0]);
		return CTL_EXIT_ERROR;
	}
	if (enroll) {
		if (shim[0] != '/' || !shells_is_shim(shim) || !realpath(shim, real) || access(real, X_OK) < 0) {
			ctl_err("enroll: %s: not an executable sessrec-shell", shim);
			return CTL_EXIT_ERROR;
		}
		r = add_etc_shell(shim);
		if (r < 0) {
			ctl_err("enroll: cannot add %s to %s: %s", shim, ENROLL_ETC_SHELLS, strerror(-r));
			return CTL_EXIT_ERROR;
		}
		if (r > 0)
			printf("%s added to %s\n", shim, ENROLL_ETC_SHELLS);
	}
	for (int i = optind; i < argc; i++)
		failed |= (enroll ? enroll_one(argv[i], shim) : unenroll_one(argv[i])) < 0;
	return failed ? CTL_EXIT_ERROR : CTL_EXIT_OK;
}

int ctl_cmd_enroll(struct ctl *ctl, int argc, char **argv)
{
	return run(ctl, argc, argv, true);
}

int ctl_cmd_unenroll(struct ctl *ctl, int argc, char **argv)
{
	return run(ctl, argc, argv, false);
}
