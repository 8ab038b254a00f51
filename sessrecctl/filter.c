/* filter: the session filters of list and grep, and their options.
 * Convention: exit statuses for option handling; the tests are bool. */
#include <arpa/inet.h>
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmdmatch.h"
#include "filter.h"
#include "timearg.h"

int filter_opt(struct ctl *ctl, struct filter *f, const char *cmd, int c, const char *arg)
{
	switch (c) {
	case FILTER_OPT_USER:
		f->user = arg;
		return 0;
	case FILTER_OPT_HOST:
		f->host = arg;
		return 0;
	case FILTER_OPT_SRC:
		f->src = arg;
		return 0;
	case FILTER_OPT_COMMAND:
		f->command = arg;
		return 0;
	case FILTER_OPT_SINCE:
	case FILTER_OPT_UNTIL:
		if (timearg_parse(arg, time(NULL), c == FILTER_OPT_SINCE ? &f->since : &f->until) < 0)
			return ctl_usage_err(cmd,
					     "cannot read '%s' as a time (YYYY-MM-DD [HH:MM[:SS]], "
					     "RFC 3339, or an age like 2h, 3d)",
					     arg);
		*(c == FILTER_OPT_SINCE ? &f->has_since : &f->has_until) = true;
		return 0;
	case CTL_OPT_DIR:
	case CTL_OPT_CONFIG:
	case CTL_OPT_SOCKET:
		return ctl_common_opt(ctl, c, arg);
	default:
		return -1;
	}
}

bool filter_active(const struct filter *f)
{
	return f->user || f->host || f->src || f->has_since || f->has_until || f->command;
}

bool filter_day(const struct filter *f, int64_t day)
{
	if (f->has_since && (double)day + 86400 <= f->since)
		return false;
	if (f->has_until && (double)day > f->until)
		return false;
	return true;
}

/* "10.0.0.0/8" or "2001:db8::/32" against an address. */
static bool cidr_match(const char *cidr, const char *ip)
{
	unsigned char net[16], addr[16];
	char buf[64];
	const char *slash = strchr(cidr, '/');
	int af, bits = 0, len, k;

	if (!slash || (size_t)(slash - cidr) >= sizeof(buf))
		return false;
	memcpy(buf, cidr, (size_t)(slash - cidr));
	buf[slash - cidr] = 0;
	af = strchr(buf, ':') ? AF_INET6 : AF_INET;
	len = af == AF_INET6 ? 16 : 4;
	/* Digits only: a prefix length of "" or "x" must match nothing, not
	 * read as 0 and match every address. */
	for (k = 0; k < 3 && slash[1 + k] >= '0' && slash[1 + k] <= '9'; k++)
		bits = bits * 10 + (slash[1 + k] - '0');
	if (k == 0 || slash[1 + k] || bits > len * 8 || inet_pton(af, buf, net) != 1 || inet_pton(af, ip, addr) != 1)
		return false;
	for (int i = 0; i < len; i++, bits -= 8) {
		unsigned mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff00u >> bits) & 0xff;

		if ((net[i] & mask) != (addr[i] & mask))
			return false;
	}
	return true;
}

bool filter_match(const struct filter *f, const struct sessinfo *s)
{
	if (f->user && !(s->user && strcmp(f->user, s->user) == 0))
		return false;
	if (f->host && !(s->host && strcmp(f->host, s->host) == 0))
		return false;
	if (f->src && !(s->src_ip && (strcmp(f->src, s->src_ip) == 0 || cidr_match(f->src, s->src_ip))))
		return false;
	if (f->has_since && !(s->start > 0 && s->start >= f->since))
		return false;
	if (f->has_until && !(s->start > 0 && s->start <= f->until))
		return false;
	if (f->command && !(f->commands && cmdmatch_has(f->commands, s->sid)))
		return false;
	return true;
}

int filter_prepare(struct filter *f, const char *cmd, struct store *st)
{
	regex_t re;
	char err[256];
	int c, r;

	if (!f->command)
		return 0;
	if ((c = regcomp(&re, f->command, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(c, &re, err, sizeof(err));
		return ctl_usage_err(cmd, "bad --command pattern '%s': %s", f->command, err);
	}
	if (!(f->commands = calloc(1, sizeof(*f->commands)))) {
		regfree(&re);
		ctl_err("%s", strerror(ENOMEM));
		return CTL_EXIT_ERROR;
	}
	f->commands->keyoff = offsetof(struct cmdmatch_sid, sid);
	r = cmdmatch_collect(st, &re, f->commands);
	regfree(&re);
	if (r < 0) {
		ctl_err("%s", strerror(-r));
		return CTL_EXIT_ERROR;
	}
	return 0;
}

void filter_release(struct filter *f)
{
	if (f->commands)
		sidtab_free(f->commands, NULL);
	free(f->commands);
	f->commands = NULL;
}
