/* authrec: the auth file's line and the auth events (see authrec.h).
 * Convention: length or -errno. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "authrec.h"
#include "shardline.h"

#define AUTHREC_FIELD_MAX 256 /* escaped bytes of every other string */

/* ,"key":"escaped value clipped to lim" */
static size_t put_str(char *buf, size_t at, size_t cap, const char *key, const char *v, size_t lim)
{
	int n;

	if (!v)
		return at;
	n = snprintf(buf + at, cap - at, ",\"%s\":\"", key);
	if (n < 0 || (size_t)n >= cap - at)
		return cap;
	at += (size_t)n;
	if (lim > cap - at - 1)
		lim = cap - at - 1;
	at += shard_json_escape(buf + at, lim, (const uint8_t *)v, strlen(v), NULL);
	if (at + 1 >= cap)
		return cap;
	buf[at++] = '"';
	return at;
}

int authrec_format(char *buf, size_t cap, const struct authrec *a)
{
	char when[64];
	size_t at;
	int n;

	if (cap < AUTHREC_LINE_MAX || shard_rfc3339(when, sizeof(when), a->sec, a->usec) < 0)
		return -ENOSPC;
	/* 1024 + 9 * 256 escaped bytes and the keys stay well under 4096 */
	n = snprintf(buf, cap, "{\"time\":\"%s\",\"event\":\"%s\"", when, a->ok ? "auth_succeeded" : "auth_failed");
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	at = put_str(buf, (size_t)n, cap, "user", a->user, AUTHREC_USER_MAX);
	at = put_str(buf, at, cap, "src_ip", a->src_ip, AUTHREC_FIELD_MAX);
	if (a->src_port > 0 && at < cap)
		at += (size_t)snprintf(buf + at, cap - at, ",\"src_port\":%d", a->src_port);
	at = put_str(buf, at, cap, "service", a->service, AUTHREC_FIELD_MAX);
	at = put_str(buf, at, cap, "method", a->method, AUTHREC_FIELD_MAX);
	at = put_str(buf, at, cap, "reason", a->reason, AUTHREC_FIELD_MAX);
	at = put_str(buf, at, cap, "key_type", a->key_type, AUTHREC_FIELD_MAX);
	at = put_str(buf, at, cap, "key_fp", a->key_fp, AUTHREC_FIELD_MAX);
	at = put_str(buf, at, cap, "source", a->source, AUTHREC_FIELD_MAX);
	if (a->pid > 0 && at < cap)
		at += (size_t)snprintf(buf + at, cap - at, ",\"pid\":%ld", a->pid);
	if (at + 3 > cap || at + 2 >= AUTHREC_LINE_MAX)
		return -ENOSPC;
	buf[at++] = '}';
	buf[at++] = '\n';
	buf[at] = '\0';
	return (int)at;
}

void authrec_event(struct event *e, const struct authrec *a, char *port, char *pid)
{
	*e = (struct event){ .type = a->ok ? EVENT_AUTH_SUCCEEDED : EVENT_AUTH_FAILED };
	snprintf(port, 24, "%d", a->src_port);
	snprintf(pid, 24, "%ld", a->pid);
	event_add(e, "user", a->user ? a->user : "-");
	event_add(e, "src_ip", a->src_ip ? a->src_ip : "-");
	event_add(e, "src_port", a->src_port > 0 ? port : NULL);
	event_add(e, "service", a->service);
	event_add(e, "method", a->method);
	event_add(e, "reason", a->reason);
	event_add(e, "key_type", a->key_type);
	event_add(e, "key_fp", a->key_fp);
	event_add(e, "source", a->source);
	event_add(e, "pid", a->pid > 0 ? pid : NULL);
}

int authrec_path(char *buf, size_t cap, const char *dir, int64_t sec)
{
	return shard_day_path(buf, cap, dir, "auth", sec);
}
