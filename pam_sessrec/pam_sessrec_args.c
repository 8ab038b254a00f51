/* pam_sessrec_args: the module's arguments and the policy decisions made
 * from them (who is recorded, which services, which mode and proto). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modutil.h>

#include "pam_sessrec.h"

#define GROUP_NAME_MAX 256

/* Walks a comma list: returns the next entry's start and length, skipping
 * empty entries; NULL at the end. */
static const char *next_entry(const char **p, size_t *len)
{
	const char *s = *p, *e;

	while (*s == ',')
		s++;
	if (!*s)
		return NULL;
	e = strchr(s, ',');
	if (!e)
		e = s + strlen(s);
	*len = (size_t)(e - s);
	*p = e;
	return s;
}

bool pamsr_in_list(const char *list, const char *name)
{
	size_t n, len = name ? strlen(name) : 0;
	const char *s;

	if (!list || !len)
		return false;
	while ((s = next_entry(&list, &n)))
		if (n == len && memcmp(s, name, n) == 0)
			return true;
	return false;
}

static bool is_set(const char *list)
{
	return list && list[0];
}

/* Whether user belongs to any group of list. Each lookup goes through
 * pam_modutil (the same answer pam_succeed_if's "user ingroup" gives). */
static bool in_any_group(pam_handle_t *pamh, const char *list, const char *user)
{
	char group[GROUP_NAME_MAX];
	const char *s;
	size_t n;

	if (!is_set(list))
		return false;
	while ((s = next_entry(&list, &n))) {
		if (n >= sizeof(group))
			continue;
		memcpy(group, s, n);
		group[n] = '\0';
		if (pam_modutil_user_in_group_nam_nam(pamh, user, group))
			return true;
	}
	return false;
}

bool pamsr_selected(pam_handle_t *pamh, const struct pamsr_args *a, const char *user)
{
	bool chosen;

	if (pamsr_in_list(a->exclude_users, user))
		return false;
	if (!is_set(a->users) && !is_set(a->groups))
		chosen = true;
	else
		chosen = pamsr_in_list(a->users, user) || in_any_group(pamh, a->groups, user);
	return chosen && !in_any_group(pamh, a->exclude_groups, user);
}

bool pamsr_nested_service(const char *service)
{
	static const char *const nested[] = { "su", "su-l", "sudo", "sudo-i", "runuser", "runuser-l" };

	for (size_t i = 0; service && i < sizeof(nested) / sizeof(nested[0]); i++)
		if (strcmp(service, nested[i]) == 0)
			return true;
	return false;
}

bool pamsr_login_service(const char *service)
{
	/* "remote" is what login(1) -r used to ask for (rlogind). */
	return service && (strcmp(service, "login") == 0 || strcmp(service, "remote") == 0);
}

enum pamsr_mode pamsr_mode_for(const struct pamsr_args *a, const char *service)
{
	if (a->mode != PAMSR_MODE_AUTO)
		return a->mode;
	return pamsr_login_service(service) ? PAMSR_MODE_TTY : PAMSR_MODE_SHIM;
}

const char *pamsr_proto(const char *service, const char *rhost)
{
	if (!service || !service[0])
		return "unknown";
	if (strcmp(service, "sshd") == 0 || strcmp(service, "ssh") == 0)
		return "ssh";
	if (pamsr_login_service(service))
		return rhost && rhost[0] ? "telnet" : "console";
	return service;
}

static int parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "on") == 0)
		*out = true;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "off") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_timeout(const char *v, int *out)
{
	char *end;
	long t;

	errno = 0;
	t = strtol(v, &end, 10);
	if (errno || end == v || *end || t < 1 || t > PAMSR_TIMEOUT_MAX)
		return -EINVAL;
	*out = (int)t;
	return 0;
}

/* One name=value argument; -EINVAL for a bad value, -ENOENT for an
 * unknown name. */
static int parse_pair(struct pamsr_args *a, const char *name, size_t nlen, const char *v)
{
#define IS(s) (nlen == sizeof(s) - 1 && memcmp(name, s, nlen) == 0)
	if (IS("users"))
		a->users = v;
	else if (IS("groups"))
		a->groups = v;
	else if (IS("exclude_users"))
		a->exclude_users = v;
	else if (IS("exclude_groups"))
		a->exclude_groups = v;
	else if (IS("services"))
		a->services = v;
	else if (IS("socket")) {
		/* The socket path reaches the shim's environment: absolute only. */
		if (v[0] != '/' || strlen(v) >= 108)
			return -EINVAL;
		a->socket = v;
	} else if (IS("config")) {
		if (v[0] != '/')
			return -EINVAL;
		a->config = v;
	} else if (IS("timeout_ms"))
		return parse_timeout(v, &a->timeout_ms);
	else if (IS("fail")) {
		if (strcmp(v, "open") == 0)
			a->fail_closed = false;
		else if (strcmp(v, "closed") == 0)
			a->fail_closed = true;
		else
			return -EINVAL;
	} else if (IS("input"))
		return parse_bool(v, &a->input);
	else if (IS("mode")) {
		if (strcmp(v, "shim") == 0)
			a->mode = PAMSR_MODE_SHIM;
		else if (strcmp(v, "tty") == 0)
			a->mode = PAMSR_MODE_TTY;
		else
			return -EINVAL;
	} else if (IS("deploy")) {
		if (strcmp(v, "shell") == 0)
			a->deploy = PAMSR_DEPLOY_SHELL;
		else if (strcmp(v, "forcecommand") == 0)
			a->deploy = PAMSR_DEPLOY_FORCECOMMAND;
		else
			return -EINVAL;
	} else if (IS("dry_run"))
		return parse_bool(v, &a->dry_run);
	else if (IS("debug"))
		return parse_bool(v, &a->debug);
	else if (IS("quiet"))
		return parse_bool(v, &a->quiet);
	else
		return -ENOENT;
	return 0;
#undef IS
}

void pamsr_args_parse(pam_handle_t *pamh, int argc, const char **argv, struct pamsr_args *a, bool log)
{
	*a = (struct pamsr_args){
		.socket = NULL,
		.timeout_ms = PAMSR_TIMEOUT_DEFAULT,
		.mode = PAMSR_MODE_AUTO,
		.input = true,
	};
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *eq;
		int r;

		if (!arg)
			continue;
		eq = strchr(arg, '=');
		if (!eq) {
			/* Flags: the bare name means yes. */
			if (strcmp(arg, "dry_run") == 0)
				a->dry_run = true;
			else if (strcmp(arg, "debug") == 0)
				a->debug = true;
			else if (strcmp(arg, "quiet") == 0)
				a->quiet = true;
			else if (log)
				pam_syslog(pamh, LOG_WARNING, "unknown argument \"%s\" ignored", arg);
			continue;
		}
		r = parse_pair(a, arg, (size_t)(eq - arg), eq + 1);
		if (r == -ENOENT && log)
			pam_syslog(pamh, LOG_WARNING, "unknown argument \"%s\" ignored", arg);
		else if (r < 0 && log)
			pam_syslog(pamh, LOG_ERR, "bad value in \"%s\" ignored", arg);
	}
}
