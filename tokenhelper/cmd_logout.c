/*
 * cmd_logout.c: "sasl-oauth2 logout [--revoke] ACCOUNT": forget the
 * account's tokens (store and cache), and with --revoke first ask the
 * provider to revoke the refresh token (RFC 7009).
 *
 * SECRETS: the refresh token, sent once to the revocation endpoint.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "helper.h"
#include "http.h"
#include "keyring.h"
#include "store.h"

static int
revoke(struct account *acct, const char *refresh_token)
{
	struct oa2_http h = {0};
	struct oa2_buf form, body;
	char err[768];
	long status = 0;
	int r;

	if (acct->revocation_endpoint[0] == '\0') {
		say("account %s: the provider has no revocation endpoint; "
		    "the token is only forgotten here (revoke it in the "
		    "provider's account settings)",
		    acct->name);
		return 0;
	}
	oa2_buf_init(&form, 65536);
	oa2_buf_init(&body, OA2_HTTP_BODY_MAX);
	if ((r = oa2_form_add(&form, "token", refresh_token)) != 0 ||
	    (r = oa2_form_add(&form, "token_type_hint", "refresh_token")) !=
		0 ||
	    (r = client_auth(acct, acct->revocation_endpoint, &form, &h)) != 0)
		goto out;
	r = oa2_http_post(&h, acct->revocation_endpoint, &form, &status, &body,
	    err, sizeof(err));
	if (r != 0)
		say("account %s: revocation failed: %s", acct->name, err);
	else if (status != 200) {
		say("account %s: the revocation endpoint answered HTTP %ld",
		    acct->name, status);
		r = OA2_ERR_PROVIDER;
	} else
		fprintf(stderr,
		    "sasl-oauth2: account %s: refresh token revoked\n",
		    acct->name);
out:
	oa2_buf_free(&form);
	oa2_buf_free(&body);
	return r;
}

int
cmd_logout(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"revoke", no_argument, NULL, 'r'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const struct oa2_account *a;
	struct oa2_config cfg = {0};
	struct oa2_store_entry e;
	struct account acct;
	char path[1024], err[512], mb[OA2_MAILBOX_MAX + 1];
	int c, r, lr, do_revoke = 0, lock = -1;
	size_t n;

	while ((c = getopt_long(argc, argv, "rvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			do_revoke = 1;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'h':
			puts("usage: sasl-oauth2 logout [--revoke] ACCOUNT\n\n"
			     "Forget ACCOUNT's tokens here; --revoke also "
			     "revokes the refresh token\nat the provider "
			     "(RFC 7009).");
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		say("usage: sasl-oauth2 logout [--revoke] ACCOUNT");
		return EXIT_USAGE;
	}
	if (config_open(&cfg, path, sizeof(path)) != 0)
		return EXIT_CONFIG;
	if ((a = config_account(&cfg, path, argv[optind], 0)) == NULL) {
		oa2_config_free(&cfg);
		return EXIT_CONFIG;
	}
	oa2_store_entry_init(&e);
	if ((r = account_resolve(&cfg, a, NULL, &acct)) != 0)
		goto out;
	lock = account_lock(&acct, 60);
	lr = rt_load(acct.name, acct.store, &e, err, sizeof(err));
	if (do_revoke && lr == 0 && (r = account_endpoints(&acct)) == 0)
		r = revoke(&acct, e.refresh_token.data);
	if (r != 0) {
		say("account %s: nothing was deleted; run logout without "
		    "--revoke to forget the tokens anyway",
		    acct.name);
		goto out;
	}
	if ((r = rt_delete(acct.name, acct.store, err, sizeof(err))) != 0) {
		say("account %s: %s", acct.name, err);
		goto out;
	}
	/* Every mailbox the account lists: an app-only account cached its
	 * token for each (tokens.c). */
	for (n = 0; oa2_user_nth(acct.user_list, n, mb, sizeof(mb)) == 0; n++)
		(void)oa2_keyring_invalidate(
		    mb, account_key_qualifier(&acct, mb));
	fprintf(stderr, "sasl-oauth2: account %s: logged out%s\n", acct.name,
	    lr == 0 ? "" : " (no refresh token was stored)");
out:
	account_unlock(lock);
	oa2_store_entry_free(&e);
	account_free(&acct);
	oa2_config_free(&cfg);
	return exit_code_for(r);
}
