/*
 * test_replies.c: doctor's table of server answers (replies.c): Exchange
 * Online's documented SMTP replies, and IMAP failures with and without an
 * RFC 7628 error challenge, each to its exit status and advice.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "replies.h"

static void
test_diagnose(void **state)
{
	static const struct {
		int imap;
		const char *reply, *status; /* status NULL: no challenge */
		int exit;
		const char *says;
	} cases[] = {
	    {0,
		"535 5.7.3 Authentication unsuccessful "
		"[SN4PR0201CA0045.namprd02.prod.outlook.com]",
		NULL, 78, "Enterprise Application's"},
	    {0,
		"535 5.7.139 Authentication unsuccessful, "
		"SmtpClientAuthentication "
		"is disabled for the Tenant. Visit "
		"https://aka.ms/smtp_auth_disabled "
		"for more information.",
		NULL, 78, "SmtpClientAuthenticationDisabled $false"},
	    {0,
		"535 5.7.139 Authentication unsuccessful, user is locked by "
		"your "
		"organization's security defaults policy.",
		NULL, 78, "security defaults"},
	    {0,
		"550 5.7.30 Basic authentication is not supported for Client "
		"Submission.",
		NULL, 78, "basic authentication"},
	    {0, "501 5.5.127 Authentication failure, Token will expire soon",
		NULL, 75, "10 minutes"},
	    {0,
		"535 5.7.8 Username and Password not accepted. For more "
		"information, go to",
		NULL, 77, "log in again"},
	    {0, "535 5.7.8 Error: authentication failed: Invalid token",
		"invalid_token", 77, "log in again"},
	    {0, "454 4.7.0 Temporary authentication failure", NULL, 75,
		"try again later"},
	    {0, "504 5.5.4 Unrecognized authentication type", NULL, 78,
		"SASL_PATH"},
	    {0, "250 what?", NULL, 77, "reply above"},
	    {0, "535 5.7.39 something new", NULL, 77, "log in again"},
	    {1, "a2 NO AUTHENTICATE failed.", NULL, 78, "ImapEnabled"},
	    {1, "a2 NO [AUTHENTICATIONFAILED] Authentication failed.",
		"invalid_token", 77, "sasl-oauth2 login"},
	    {1, "a2 NO [AUTHENTICATIONFAILED] Authentication failed.", "401",
		77, "sasl-oauth2 login"},
	    {1, "a2 NO [AUTHENTICATIONFAILED] Authentication failed.",
		"insufficient_scope", 78, "scope"},
	    {1, "a2 NO something else", NULL, 77, "reply above"},
	};
	struct oa2_challenge ch;
	const struct oa2_diagnosis *d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&ch, 0, sizeof(ch));
		if (cases[i].status != NULL)
			snprintf(ch.status, sizeof(ch.status), "%s",
			    cases[i].status);
		d = oa2_reply_diagnose(cases[i].imap, cases[i].reply,
		    cases[i].status != NULL ? &ch : NULL);
		assert_non_null(d);
		if (d->exit != cases[i].exit ||
		    strstr(d->what, cases[i].says) == NULL)
			fail_msg("'%s': exit %d, '%s'", cases[i].reply, d->exit,
			    d->what);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_diagnose),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
