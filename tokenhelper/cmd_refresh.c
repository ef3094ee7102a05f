/*
 * cmd_refresh.c: "sasl-oauth2 refresh": keep access tokens fresh in the
 * kernel keyring for hosts that cannot run the helper (Postfix's chroot),
 * and keep refresh tokens alive (Microsoft drops them after 90 idle days).
 * Meant for a systemd timer, cron, or its own --watch loop.
 *
 * SECRETS: tokens pass through token_obtain(); nothing is printed but
 * account names, expiry times and errors.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "helper.h"
#include "store.h"
#include "wire.h"

/* Refresh when less than this is left: Exchange Online's high-volume
 * endpoint refuses tokens with under 10 minutes left. */
#define REFRESH_MIN_TTL 900
/* Use a refresh token at least this often so it never idles out. */
#define REFRESH_KEEPALIVE (7 * 86400)

static void
refresh_usage(FILE *f)
{
	fputs("usage: sasl-oauth2 refresh [--min-ttl SECS] [--watch SECS] "
	      "--all | ACCOUNT...\n"
	      "\n"
	      "Refresh the access tokens that have less than --min-ttl "
	      "seconds left\n(default 900) and use refresh tokens unused for a "
	      "week, so they never\nexpire from idleness.  Run it as the user "
	      "whose keyring the host reads\n(Postfix: user postfix), from a "
	      "timer, or with --watch SECS as a loop.\n"
	      "\n"
	      "Example: runuser -u postfix -- sasl-oauth2 refresh --all\n",
	    f);
}

static int
stale_refresh_token(const struct account *acct)
{
	struct oa2_store_entry e;
	char err[512];
	int stale = 0;

	if (account_app_only(acct))
		return 0;
	oa2_store_entry_init(&e);
	if (rt_load(acct->name, acct->store, &e, err, sizeof(err)) == 0 &&
	    time(NULL) - e.updated > REFRESH_KEEPALIVE)
		stale = 1;
	oa2_store_entry_free(&e);
	return stale;
}

/* mailbox: the one to refresh for (a service account's tokens are each
 * one mailbox's), or NULL for the account's first.  A failure's sentence
 * goes to why. */
static int
refresh_for(const struct oa2_config *cfg, const struct oa2_account *a,
    const char *mailbox, long min_ttl, int *next, char *why, size_t whysz)
{
	struct account acct;
	struct oa2_buf tok;
	time_t expiry = 0;
	int r, force;

	*next = 0;
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	said_forget();
	if ((r = account_resolve(cfg, a, mailbox, &acct)) == 0) {
		force = stale_refresh_token(&acct);
		said_forget();
		r = token_obtain(&acct, min_ttl, force, &tok, &expiry);
		if (r == 0 && acct.flow == FLOW_SERVICE_ACCOUNT)
			printf("%s: token for %s valid for %lld min\n",
			    acct.name, acct.user,
			    (long long)(expiry - time(NULL)) / 60);
		else if (r == 0)
			printf("%s: token valid for %lld min%s\n", acct.name,
			    (long long)(expiry - time(NULL)) / 60,
			    force ? " (refresh token kept alive)" : "");
		*next = acct.flow == FLOW_SERVICE_ACCOUNT && acct.several_users;
	}
	snprintf(why, whysz, "%s", r != 0 ? said_last() : "");
	fflush(stdout);
	oa2_buf_free(&tok);
	account_free(&acct);
	return r;
}

static int
refresh_one(
    const struct oa2_config *cfg, const struct oa2_account *a, long min_ttl)
{
	char mb[OA2_MAILBOX_MAX + 1], why[SAID_MAX], why1[SAID_MAX];
	struct account acct;
	int r, r1, more, hush, quiet, resolved;
	size_t n;

	r = refresh_for(cfg, a, NULL, min_ttl, &more, why, sizeof(why));
	/* A service account: every further mailbox has its own token. */
	for (n = 1;
	     more && oa2_user_nth(a->v[OA2_K_USER], n, mb, sizeof(mb)) == 0;
	     n++)
		if ((r1 = refresh_for(cfg, a, mb, min_ttl, &more, why1,
			 sizeof(why1))) != 0 &&
		    r == 0) {
			r = r1;
			memcpy(why, why1, sizeof(why));
		}
	/* The timer's run is what tells a human in time: once per account
	 * (notify.c counts the account's failures), with the first failing
	 * mailbox's sentence. */
	quiet = opt.quiet;
	opt.quiet = 1; /* a configuration error was said above */
	resolved = account_resolve(cfg, a, NULL, &acct) == 0;
	opt.quiet = quiet;
	if (resolved) {
		hush = opt.hush;
		opt.hush = 1; /* keep the sentence, said already */
		if (r != 0)
			say("%s", why);
		opt.hush = hush;
		notify_after_refresh(&acct, r);
	}
	account_free(&acct);
	return r;
}

/* Worse of two results: log in again > configuration > temporary. */
static int
worse(int a, int b)
{
	static const int rank[] = {0, 1, 3, 2}; /* ok temp config noperm */
	int ra, rb;

	ra = a == EXIT_TOKEN	 ? 0
	    : a == EXIT_TEMPFAIL ? 1
	    : a == EXIT_CONFIG	 ? 2
				 : 3;
	rb = b == EXIT_TOKEN	 ? 0
	    : b == EXIT_TEMPFAIL ? 1
	    : b == EXIT_CONFIG	 ? 2
				 : 3;
	return rank[ra] >= rank[rb] ? a : b;
}

int
cmd_refresh(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"min-ttl", required_argument, NULL, 't'},
	    {"watch", required_argument, NULL, 'w'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct oa2_config cfg = {0};
	char path[1024];
	long min_ttl = REFRESH_MIN_TTL, watch = 0;
	int c, i, all = 0, rc;
	size_t k;

	while ((c = getopt_long(argc, argv, "at:w:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = 1;
			break;
		case 't':
			if (parse_seconds(
				optarg, "--min-ttl", 0, 86400, &min_ttl) != 0)
				return EXIT_USAGE;
			break;
		case 'w':
			if (parse_seconds(
				optarg, "--watch", 10, 86400, &watch) != 0)
				return EXIT_USAGE;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'h':
			refresh_usage(stdout);
			return 0;
		default:
			refresh_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (all == (optind < argc)) {
		refresh_usage(stderr);
		return EXIT_USAGE;
	}
	for (;;) {
		rc = EXIT_TOKEN;
		/* Re-read each round: the configuration may have changed. */
		if (config_open(&cfg, path, sizeof(path)) != 0) {
			rc = EXIT_CONFIG;
		} else if (all) {
			for (k = 0; k < cfg.count; k++)
				rc = worse(rc,
				    exit_code_for(refresh_one(
					&cfg, &cfg.accounts[k], min_ttl)));
		} else {
			for (i = optind; i < argc; i++) {
				const struct oa2_account *a =
				    config_account(&cfg, path, argv[i], 0);
				rc = worse(rc,
				    a == NULL ? EXIT_CONFIG
					      : exit_code_for(refresh_one(
						    &cfg, a, min_ttl)));
			}
		}
		oa2_config_free(&cfg);
		if (watch == 0)
			return rc;
		sleep((unsigned)watch);
	}
}
