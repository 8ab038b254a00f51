/* auditrec: the kernel's audit records of seccomp and LSM denials into a
 * struct auditrec (see auditrec.h). Convention: 0 or -errno. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auditrec.h"

/* From syscall_names.c, generated at build time (common/gen_syscalls.py). */
extern const char *const auditrec_sys_x86_64[];
extern const unsigned auditrec_sys_x86_64_len;
extern const char *const auditrec_sys_aarch64[];
extern const unsigned auditrec_sys_aarch64_len;

const char *auditrec_syscall_name(uint32_t arch, long nr)
{
	if (nr < 0)
		return NULL;
	if (arch == AUDIT_ARCH_X86_64_ID && (unsigned long)nr < auditrec_sys_x86_64_len)
		return auditrec_sys_x86_64[nr];
	if (arch == AUDIT_ARCH_AARCH64_ID && (unsigned long)nr < auditrec_sys_aarch64_len)
		return auditrec_sys_aarch64[nr];
	return NULL;
}

const char *auditrec_action(uint32_t code)
{
	switch (code & 0xffff0000u) { /* SECCOMP_RET_ACTION_FULL */
	case 0x80000000u:
		return "kill_process";
	case 0x00000000u:
		return "kill_thread";
	case 0x00030000u:
		return "trap";
	case 0x00050000u:
		return "errno";
	case 0x7fc00000u:
		return "user_notif";
	case 0x7ff00000u:
		return "trace";
	case 0x7ffc0000u:
		return "log";
	case 0x7fff0000u:
		return "allow";
	}
	return "unknown";
}

const char *auditrec_kind_name(enum auditrec_kind k)
{
	switch (k) {
	case AUDITREC_KIND_SECCOMP:
		return "seccomp";
	case AUDITREC_KIND_APPARMOR:
		return "apparmor";
	case AUDITREC_KIND_SELINUX:
		return "selinux";
	}
	return "unknown";
}

/* One key=value of a record; the value without its quotes. */
struct field {
	const char *key, *val;
	size_t klen, vlen;
	char quote; /* '"', '\'', or 0: unquoted */
};

/* The next field from *p (up to end), skipping words that are not
 * key=value ("avc:", "denied", "{ read }", "for"); false at the end. The
 * SELinux permission list is returned as the field "{" with its words. */
static bool next_field(const char **p, const char *end, struct field *f)
{
	const char *s = *p;

	for (;;) {
		const char *k, *eq;

		while (s < end && *s == ' ')
			s++;
		if (s >= end)
			return false;
		if (*s == '{') {
			const char *c = memchr(s, '}', (size_t)(end - s));

			if (!c)
				return false;
			*f = (struct field){ .key = "{", .klen = 1, .val = s + 1, .vlen = (size_t)(c - s - 1) };
			*p = c + 1;
			return true;
		}
		k = s;
		while (s < end && *s != ' ' && *s != '=')
			s++;
		if (s >= end || *s != '=')
			continue; /* a bare word */
		eq = s++;
		*f = (struct field){ .key = k, .klen = (size_t)(eq - k) };
		if (s < end && (*s == '"' || *s == '\'')) {
			const char *c = memchr(s + 1, *s, (size_t)(end - s - 1));

			f->quote = *s;
			f->val = s + 1;
			f->vlen = c ? (size_t)(c - s - 1) : (size_t)(end - s - 1);
			*p = c ? c + 1 : end;
			return true;
		}
		f->val = s;
		while (s < end && *s != ' ')
			s++;
		f->vlen = (size_t)(s - f->val);
		*p = s;
		return true;
	}
}

static bool key_is(const struct field *f, const char *k)
{
	return f->klen == strlen(k) && memcmp(f->key, k, f->klen) == 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* An untrusted string: quoted as is, or hex-encoded by the kernel
 * (audit_log_untrustedstring) when it held a quote, a space or a control
 * character; clipped to cap - 1 bytes, stopped at a NUL. */
static void take_str(char *dst, size_t cap, const struct field *f)
{
	size_t n = 0;
	bool hex = !f->quote && f->vlen % 2 == 0 && f->vlen > 0;

	for (size_t i = 0; hex && i < f->vlen; i++)
		hex = hexval(f->val[i]) >= 0;
	if (hex) {
		for (size_t i = 0; i + 1 < f->vlen && n + 1 < cap; i += 2) {
			char c = (char)(hexval(f->val[i]) << 4 | hexval(f->val[i + 1]));

			if (c == '\0')
				break;
			dst[n++] = c;
		}
	} else {
		n = f->vlen < cap - 1 ? f->vlen : cap - 1;
		memcpy(dst, f->val, n);
		if (memchr(dst, '\0', n))
			n = strlen(dst);
	}
	dst[n] = '\0';
}

/* A decimal (or 0x hex, base 0) number of the field; false when it is not
 * one whole. */
static bool take_num(const struct field *f, int base, long long *out)
{
	char buf[32], *e;

	if (f->vlen == 0 || f->vlen >= sizeof(buf))
		return false;
	memcpy(buf, f->val, f->vlen);
	buf[f->vlen] = '\0';
	errno = 0;
	*out = strtoll(buf, &e, base);
	if (errno == ERANGE) {
		unsigned long long u = strtoull(buf, &e, base);

		if (errno == ERANGE)
			return false;
		*out = (long long)(u & 0x7fffffffffffffffULL);
	}
	return *e == '\0' && buf[0] != '-';
}

/* "audit(SEC.MSEC:SERIAL): " at the start of s; the rest in *rest. */
static int take_stamp(const char *s, const char *end, struct auditrec *r, const char **rest)
{
	char buf[64], *e;
	size_t n;
	const char *c;

	if (end - s < 7 || memcmp(s, "audit(", 6) != 0)
		return -EINVAL;
	s += 6;
	c = memchr(s, ')', (size_t)(end - s));
	if (!c || (n = (size_t)(c - s)) >= sizeof(buf) || c + 1 >= end || c[1] != ':')
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	r->sec = strtoll(buf, &e, 10);
	if (e == buf || *e != '.')
		return -EINVAL;
	r->msec = (unsigned)strtoul(e + 1, &e, 10);
	if (*e != ':')
		return -EINVAL;
	r->serial = strtoull(e + 1, &e, 10);
	if (*e != '\0' || r->msec > 999)
		return -EINVAL;
	*rest = c + 2;
	return 0;
}

/* Applies one field; in_msg: inside USER_AVC's msg='...' (the sender's
 * pid/uid/ses stay the outer ones). */
static void apply(struct auditrec *r, const struct field *f, bool in_msg)
{
	long long v;

	if (!in_msg && key_is(f, "pid") && take_num(f, 10, &v))
		r->pid = (long)v;
	else if (!in_msg && key_is(f, "uid") && take_num(f, 10, &v))
		r->uid = (long)v;
	else if (!in_msg && key_is(f, "ses") && take_num(f, 10, &v))
		r->ses = v == 4294967295LL ? -1 : v;
	else if (key_is(f, "comm"))
		take_str(r->comm, sizeof(r->comm), f);
	else if (key_is(f, "exe"))
		take_str(r->exe, sizeof(r->exe), f);
	else if (key_is(f, "syscall") && take_num(f, 10, &v))
		r->syscall = (long)v;
	else if (key_is(f, "arch") && take_num(f, 16, &v))
		r->arch = (uint32_t)v;
	else if (key_is(f, "sig") && take_num(f, 10, &v))
		r->sig = (int)(v & 0xff);
	else if (key_is(f, "code") && take_num(f, 0, &v))
		r->code = (uint32_t)v;
	else if (key_is(f, "operation"))
		take_str(r->op, sizeof(r->op), f);
	else if (key_is(f, "{"))
		take_str(r->op, sizeof(r->op),
			 &(struct field){ .val = f->val + (f->vlen && f->val[0] == ' '),
					  .vlen = f->vlen - (f->vlen && f->val[0] == ' ') -
						  (f->vlen > 1 && f->val[f->vlen - 1] == ' '),
					  .quote = '"' });
	else if (key_is(f, "name") || (key_is(f, "path") && !r->target[0]))
		take_str(r->target, sizeof(r->target), f);
	else if (key_is(f, "profile") || key_is(f, "scontext"))
		take_str(r->profile, sizeof(r->profile), f);
	else if (key_is(f, "class") || key_is(f, "tclass"))
		take_str(r->tclass, sizeof(r->tclass), f);
}

/* Whether text (a record's rest or a USER_AVC msg) is an AVC denial. */
static bool avc_denied(const char *s, const char *end)
{
	while (s < end && *s == ' ')
		s++;
	if (end - s < 4 || memcmp(s, "avc:", 4) != 0)
		return false;
	s += 4;
	while (s < end && *s == ' ')
		s++;
	return end - s >= 6 && memcmp(s, "denied", 6) == 0;
}

int auditrec_parse(unsigned type, const char *body, size_t n, struct auditrec *r)
{
	const char *end = body + n, *p;
	struct field f;
	bool lsm_denied = false, apparmor = false;
	int rc;

	memset(r, 0, sizeof(*r));
	r->type = type;
	r->pid = r->uid = r->syscall = -1;
	r->ses = -1;
	if (type != AUDITREC_SECCOMP && type != AUDITREC_AVC && type != AUDITREC_USER_AVC)
		return -ENOENT;
	if ((rc = take_stamp(body, end, r, &p)) < 0)
		return rc;
	if (type == AUDITREC_AVC && avc_denied(p, end))
		lsm_denied = true;
	while (next_field(&p, end, &f)) {
		if (key_is(&f, "apparmor")) {
			apparmor = true;
			lsm_denied = f.vlen == 6 && memcmp(f.val, "DENIED", 6) == 0;
		} else if (type == AUDITREC_USER_AVC && key_is(&f, "msg") && avc_denied(f.val, f.val + f.vlen)) {
			const char *q = f.val;
			struct field g;

			lsm_denied = true;
			while (next_field(&q, f.val + f.vlen, &g))
				apply(r, &g, true);
		} else {
			apply(r, &f, false);
		}
	}
	if (r->pid < 0)
		return -EINVAL;
	if (type == AUDITREC_SECCOMP) {
		r->kind = AUDITREC_KIND_SECCOMP;
		return r->syscall >= 0 ? 0 : -EINVAL;
	}
	r->kind = apparmor ? AUDITREC_KIND_APPARMOR : AUDITREC_KIND_SELINUX;
	return lsm_denied ? 0 : -ENOENT;
}

int auditrec_parse_kmsg(const char *line, size_t n, struct auditrec *r)
{
	const char *end, *semi = memchr(line, ';', n), *nl, *p;
	unsigned type = 0;

	memset(r, 0, sizeof(*r));
	if (!semi)
		return -ENOENT;
	p = semi + 1;
	end = line + n;
	if ((nl = memchr(p, '\n', (size_t)(end - p))))
		end = nl;
	if (end - p < 12 || memcmp(p, "audit: type=", 12) != 0)
		return -ENOENT;
	p += 12;
	while (p < end && *p >= '0' && *p <= '9' && type < 100000)
		type = type * 10 + (unsigned)(*p++ - '0');
	if (p >= end || *p != ' ')
		return -EINVAL;
	return auditrec_parse(type, p + 1, (size_t)(end - p - 1), r);
}
