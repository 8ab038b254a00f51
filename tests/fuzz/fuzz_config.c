/* fuzz_config: each input is a whole sessrecd.conf for config_load_string
 * (and a value for the three value parsers); it must never crash, and an
 * accepted file must leave a configuration within its documented limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct sessrec_config *c)
{
	if (c->socket_path[0] != '/' || c->state_dir[0] != '/' || c->shard_dir[0] != '/' ||
	    c->syslog_socket[0] != '/' || c->shell[0] != '/')
		abort();
	if (!c->process_name[0] || strlen(c->process_name) > 15 || !c->app_name[0] || strlen(c->app_name) > 48 ||
	    strlen(c->hostname) > 255)
		abort();
	if (c->max_sessions < 1 || c->max_sessions > 65536 || c->token_ttl < 1 || c->token_ttl > 3600 ||
	    c->session_cap == 0)
		abort();
	if (c->syslog_targets & ~0xfu)
		abort();
	if (c->drain_wait < 1 || c->drain_wait > 600)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sessrec_config c;
	char err[512];
	char *text = malloc(size + 1);
	uint64_t sz;
	unsigned m;
	bool b;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	config_defaults(&c);
	err[0] = 'x';
	if (config_load_string(&c, text, "fuzz.conf", err, sizeof(err)) == 0) {
		if (err[0])
			abort();
	} else if (strncmp(err, "fuzz.conf:", 10) != 0) {
		abort(); /* every refusal names the file and line */
	}
	check(&c);
	(void)config_parse_size(text, &sz);
	(void)config_parse_bool(text, &b);
	(void)config_parse_targets(text, &m);
	free(text);
	return 0;
}
