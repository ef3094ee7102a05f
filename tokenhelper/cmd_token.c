/*
 * cmd_token.c: "sasl-oauth2 token": print a fresh access token, as the
 * plugin's source of tokens and as a password command for other programs.
 *
 * SECRETS: the token goes to stdout only, in the requested format; every
 * copy is wiped after printing.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "err.h"
#include "helper.h"
#include "wire.h"

enum format { FMT_RAW, FMT_XOAUTH2, FMT_OAUTHBEARER, FMT_JSON };

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

const struct oa2_account *
config_account(const struct oa2_config *cfg, const char *path, const char *key,
    int by_user)
{
	const struct oa2_account *a;

	a = by_user ? oa2_config_find_user(cfg, key)
		    : oa2_config_find(cfg, key);
	if (a != NULL)
		return a;
	if (by_user)
		say("no account in %s has user = %s; add an [account NAME] "
		    "section for it",
		    path, key);
	else
		say("no account '%s' in %s", key, path);
	return NULL;
}

static int
emit(enum format fmt, const struct account *acct, const struct oa2_buf *tok,
    time_t expiry)
{
	struct oa2_buf msg, out;
	int r = 0;

	oa2_buf_init(&msg, OA2_RESPONSE_MAX);
	oa2_buf_init(&out, 2 * OA2_RESPONSE_MAX);
	switch (fmt) {
	case FMT_RAW:
		r = oa2_buf_append(&out, tok->data, tok->len);
		break;
	case FMT_XOAUTH2:
		if ((r = oa2_xoauth2_build(
			 acct->user, tok->data, tok->len, &msg)) == 0)
			r = oa2_b64_encode(
			    msg.data, msg.len, OA2_B64_STD, &out);
		break;
	case FMT_OAUTHBEARER:
		if ((r = oa2_oauthbearer_build(
			 acct->user, NULL, 0, tok->data, tok->len, &msg)) == 0)
			r = oa2_b64_encode(
			    msg.data, msg.len, OA2_B64_STD, &out);
		break;
	case FMT_JSON: {
		char tail[64];
		snprintf(tail, sizeof(tail), "\",\"expires_at\":%lld}",
		    (long long)expiry);
		if ((r = oa2_buf_appendz(&out, "{\"access_token\":\"")) == 0 &&
		    (r = oa2_buf_append(&out, tok->data, tok->len)) == 0)
			r = oa2_buf_appendz(&out, tail);
		break;
	}
	}
	if (r == 0 &&
	    (fwrite(out.data, 1, out.len, stdout) != out.len ||
		fputc('\n', stdout) == EOF || fflush(stdout) == EOF))
		r = OA2_ERR_IO;
	if (r != 0)
		say("account %s: cannot print the token: %s", acct->name,
		    oa2_strerror(r));
	oa2_buf_free(&msg);
	oa2_buf_free(&out);
	return r == 0 ? EXIT_TOKEN : EXIT_SOFTWARE;
}

int
cmd_token(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"user", required_argument, NULL, 'u'},
	    {"format", required_argument, NULL, 'f'},
	    {"min-ttl", required_argument, NULL, 't'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const struct oa2_account *a;
	const char *user = NULL;
	struct oa2_config cfg = {0};
	struct oa2_buf tok;
	struct account acct;
	enum format fmt = FMT_RAW;
	char path[1024];
	long min_ttl = TOKEN_MIN_TTL;
	time_t expiry = 0;
	int c, r, rc;

	while (
	    (c = getopt_long(argc, argv, "u:f:t:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			user = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "raw") == 0)
				fmt = FMT_RAW;
			else if (strcmp(optarg, "xoauth2") == 0)
				fmt = FMT_XOAUTH2;
			else if (strcmp(optarg, "oauthbearer") == 0)
				fmt = FMT_OAUTHBEARER;
			else if (strcmp(optarg, "json") == 0)
				fmt = FMT_JSON;
			else {
				say("--format is raw, xoauth2, oauthbearer or "
				    "json");
				return EXIT_USAGE;
			}
			break;
		case 't':
			if (parse_seconds(
				optarg, "--min-ttl", 0, 86400, &min_ttl) != 0)
				return EXIT_USAGE;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'h':
			token_usage(stdout);
			return 0;
		default:
			token_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if ((user == NULL) == (optind >= argc) || optind + 1 < argc) {
		token_usage(stderr);
		return EXIT_USAGE;
	}
	if (config_open(&cfg, path, sizeof(path)) != 0)
		return EXIT_CONFIG;
	a = config_account(
	    &cfg, path, user != NULL ? user : argv[optind], user != NULL);
	if (a == NULL) {
		oa2_config_free(&cfg);
		return EXIT_CONFIG;
	}
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	if ((r = account_resolve(a, user, &acct)) == 0)
		r = token_obtain(&acct, min_ttl, 0, &tok, &expiry);
	rc = r == 0 ? emit(fmt, &acct, &tok, expiry) : exit_code_for(r);
	oa2_buf_free(&tok);
	account_free(&acct);
	oa2_config_free(&cfg);
	return rc;
}
