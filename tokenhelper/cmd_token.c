/*
 * cmd_token.c: "sasl-oauth2 token": print a fresh access token, as the
 * plugin's source of tokens and as a password command for other programs.
 *
 * SECRETS: the token goes to stdout only, in the requested format; every
 * copy is wiped after printing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "helper.h"

static void
token_usage(FILE *f)
{
	fputs("usage: sasl-oauth2 token [OPTIONS] ACCOUNT\n"
	      "       sasl-oauth2 token [OPTIONS] --user MAILBOX\n"
	      "\n"
	      "Print a fresh access token on stdout: from the kernel keyring "
	      "cache, or\nnewly obtained (client credentials, or the stored "
	      "refresh token) and cached.\n"
	      "\n"
	      "  -u, --user MAILBOX   the account whose user is MAILBOX\n"
	      "  -f, --format FORMAT  raw (default), xoauth2 or oauthbearer "
	      "(base64 SASL\n"
	      "                       initial response), json "
	      "({\"access_token\",\"expires_at\"})\n"
	      "  -t, --min-ttl SECS   a cached token needs this much life "
	      "left (default 120)\n"
	      "\n"
	      "Examples, as a password command:\n"
	      "  mbsync:   PassCmd \"sasl-oauth2 token work\"\n"
	      "  msmtp:    passwordeval sasl-oauth2 token work\n"
	      "  neomutt:  set imap_oauth_refresh_command = \"sasl-oauth2 "
	      "token work\"\n"
	      "\n"
	      "Exit status: 0 printed, 75 try later, 77 log in again "
	      "(sasl-oauth2 login),\n78 configuration error.\n",
	    f);
}

int
cmd_token(int argc, char **argv)
{
	const struct oa2_account *a;
	struct oa2_config cfg = {0};
	struct token_args ta;
	struct oa2_buf tok;
	struct account acct;
	char path[1024];
	time_t expiry = 0;
	int r, rc;

	switch (token_args_parse(argc, argv, &ta)) {
	case 0:
		break;
	case TOKEN_ARGS_HELP:
		token_usage(stdout);
		return 0;
	case TOKEN_ARGS_USAGE:
		token_usage(stderr);
		return EXIT_USAGE;
	default: /* said why */
		return EXIT_USAGE;
	}
	if (config_open(&cfg, path, sizeof(path)) != 0)
		return EXIT_CONFIG;
	a = config_account(&cfg, path, ta.key, ta.user != NULL);
	if (a == NULL) {
		oa2_config_free(&cfg);
		return EXIT_CONFIG;
	}
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	if ((r = account_resolve(&cfg, a, ta.user, &acct)) == 0)
		r = token_obtain(&acct, ta.min_ttl, 0, &tok, &expiry);
	rc =
	    r == 0 ? token_emit(ta.fmt, &acct, &tok, expiry) : exit_code_for(r);
	oa2_buf_free(&tok);
	account_free(&acct);
	oa2_config_free(&cfg);
	return rc;
}
