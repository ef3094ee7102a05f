/*
 * cmd_token.c: "sasl-oauth2 token": print a fresh access token.
 *
 * Order: the keyring cache; else, holding the account's lock, the keyring
 * again (another process may just have refreshed), then the network.  So N
 * parallel callers make one request.  The new token is cached before it is
 * printed.
 *
 * SECRETS: the token goes to stdout only; it is wiped after printing.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "helper.h"
#include "keyring.h"
#include "tokenresp.h"

/* A cached token needs this much life left to be handed out. */
#define TOKEN_MIN_TTL 120
/* Cache a token whose lifetime the provider did not state this long. */
#define TOKEN_DEFAULT_TTL 300
#define LOCK_TIMEOUT 60

static void
token_usage(FILE *f)
{
	fputs("usage: sasl-oauth2 token [--min-ttl SECONDS] ACCOUNT\n"
	      "       sasl-oauth2 token [--min-ttl SECONDS] --user MAILBOX\n"
	      "\n"
	      "Print a fresh access token on stdout, from the kernel keyring "
	      "cache\nor newly obtained (and then cached).  Use it as a "
	      "password command:\n"
	      "  mbsync:   PassCmd \"sasl-oauth2 token work\"\n"
	      "  msmtp:    passwordeval sasl-oauth2 token work\n"
	      "  neomutt:  set imap_oauth_refresh_command = \"sasl-oauth2 "
	      "token work\"\n",
	    f);
}

static int
emit(const char *token, size_t len)
{
	if (fwrite(token, 1, len, stdout) != len ||
	    fputc('\n', stdout) == EOF || fflush(stdout) == EOF) {
		say("cannot write the token to stdout");
		return EXIT_SOFTWARE;
	}
	return EXIT_TOKEN;
}

static int
cache_lookup(const struct account *acct, long min_ttl, struct oa2_buf *tok)
{
	time_t expiry;
	int r;

	r = oa2_keyring_get(acct->user, time(NULL), min_ttl, tok, &expiry);
	if (r == 0)
		verbose("account %s: cached token, %lld s left", acct->name,
		    (long long)(expiry - time(NULL)));
	else if (r == OA2_ERR_UNAVAIL)
		verbose("no kernel keyring here; tokens are not cached");
	else
		verbose("account %s: no usable cached token (%s)", acct->name,
		    oa2_strerror(r));
	return r;
}

static void
cache_store(const struct account *acct, const struct oa2_token_response *tr)
{
	time_t now = time(NULL);
	long long ttl =
	    tr->expires_in >= 0 ? tr->expires_in : TOKEN_DEFAULT_TTL;
	int r;

	r = oa2_keyring_put(acct->user, tr->access_token.data,
	    tr->access_token.len, now + (time_t)ttl, now);
	if (r == OA2_ERR_QUOTA)
		say("account %s: the kernel key quota of this user is full, "
		    "so the token is not cached; raise "
		    "/proc/sys/kernel/keys/maxbytes (sysctl "
		    "kernel.keys.maxbytes)",
		    acct->name);
	else if (r != 0)
		verbose("account %s: token not cached: %s", acct->name,
		    oa2_strerror(r));
}

static int
obtain(const struct account *acct, struct oa2_token_response *tr)
{
	switch (acct->flow) {
	case FLOW_CLIENT_CREDENTIALS:
		return flow_client_credentials(acct, tr);
	default:
		say("account %s: no stored authorization for this flow yet; "
		    "this version obtains tokens with flow = "
		    "client_credentials only",
		    acct->name);
		return OA2_ERR_AUTH;
	}
}

int
cmd_token(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"user", required_argument, NULL, 'u'},
	    {"min-ttl", required_argument, NULL, 't'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const struct oa2_account *a = NULL;
	const char *user = NULL;
	struct oa2_config cfg = {0};
	struct oa2_token_response tr;
	struct oa2_buf tok;
	struct account acct;
	char path[1024], *end;
	long min_ttl = TOKEN_MIN_TTL;
	int c, r, lock = -1, rc;

	while ((c = getopt_long(argc, argv, "u:t:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			user = optarg;
			break;
		case 't':
			min_ttl = strtol(optarg, &end, 10);
			if (*end != '\0' || min_ttl < 0 || min_ttl > 86400) {
				say("--min-ttl takes seconds (0 to 86400)");
				return EXIT_USAGE;
			}
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
	a = user != NULL ? oa2_config_find_user(&cfg, user)
			 : oa2_config_find(&cfg, argv[optind]);
	if (a == NULL) {
		if (user != NULL)
			say("no account in %s has user = %s; add an [account "
			    "NAME] section for it",
			    path, user);
		else
			say("no account '%s' in %s", argv[optind], path);
		oa2_config_free(&cfg);
		return EXIT_CONFIG;
	}
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	oa2_token_response_init(&tr);
	if ((r = account_resolve(a, &acct)) != 0)
		goto out;
	if (cache_lookup(&acct, min_ttl, &tok) == 0)
		goto print;

	lock = account_lock(acct.name, LOCK_TIMEOUT);
	if (lock == OA2_ERR_TIMEOUT) {
		say("account %s: another sasl-oauth2 has held the lock for "
		    "%d s; try again",
		    acct.name, LOCK_TIMEOUT);
		r = OA2_ERR_PROVIDER;
		goto out;
	} else if (lock < 0) {
		verbose("account %s: no state dir for a lock (%s); going on "
			"unlocked",
		    acct.name, oa2_strerror(lock));
	} else if (cache_lookup(&acct, min_ttl, &tok) == 0) {
		verbose("account %s: another process refreshed meanwhile",
		    acct.name);
		goto print;
	}
	if ((r = obtain(&acct, &tr)) != 0)
		goto out;
	cache_store(&acct, &tr);
	if ((r = oa2_buf_append(
		 &tok, tr.access_token.data, tr.access_token.len)) != 0)
		goto out;
print:
	r = 0;
out:
	account_unlock(lock);
	rc = r == 0 ? emit(tok.data, tok.len) : exit_code_for(r);
	oa2_buf_free(&tok);
	oa2_token_response_free(&tr);
	if (a != NULL)
		account_free(&acct);
	oa2_config_free(&cfg);
	return rc;
}
