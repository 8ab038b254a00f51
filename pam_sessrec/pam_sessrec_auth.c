/* pam_sessrec_auth: the auth-stack mode, `auth [default=die] pam_sessrec.so
 * authfail` placed after the password module the way pam_faillock's
 * authfail is: PAM reaches it only when that module failed, and it tells
 * sessrecd (op authfail) who failed from where, for the auth_failed event
 * and the auth file (pam_sessrec(8), AUTHENTICATION FAILURES). It never
 * prompts, never changes the outcome: the stack still fails. Convention:
 * PAM return codes. */
#include <string.h>
#include <security/pam_modules.h>

#include "pam_sessrec.h"
#include "proto.h"
#include "protoclient.h"

static bool has_arg(int argc, const char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pamsr_args a;
	struct protoclient c;
	struct protoclient_reply rep;
	struct json_object *req;
	const char *user;

	if (!has_arg(argc, argv, "authfail"))
		return PAM_IGNORE;
	pamsr_args_parse(pamh, argc, argv, &a, false);
	/* PAM_USER as the client typed it, never prompted for here */
	user = pamsr_item(pamh, PAM_USER);
	c = (struct protoclient){ .socket = a.socket, .timeout_ms = a.timeout_ms };
	req = protoclient_req_authfail(user ? user : "", pamsr_item(pamh, PAM_SERVICE), pamsr_item(pamh, PAM_RHOST),
				       "auth_err");
	/* Best effort: a daemon that is down loses this report, the login's
	 * outcome is PAM's. */
	if (req) {
		(void)protoclient_call(&c, req, NULL, 0, &rep);
		protoclient_reply_free(&rep);
		json_object_put(req);
	}
	return PAM_AUTH_ERR;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_IGNORE;
}
