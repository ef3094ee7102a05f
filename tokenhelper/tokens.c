/*
 * tokens.c: the one path to a usable access token, shared by "token",
 * "refresh" and the plugin's exec of "token --user".
 *
 * Order: the keyring cache; else, holding the account's lock, the cache
 * again (the usual case for a waiter: the lock holder just refreshed), then
 * the network: client credentials, or the stored refresh token.  So N
 * parallel callers cause one request.  A rotated refresh token is saved
 * (atomically, fsync'd) before the new access token is cached or printed,
 * so no process ever hands out a token whose refresh token could be lost.
 *
 * SECRETS: refresh and access tokens in wiping buffers and the store.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "helper.h"
#include "http.h"
#include "keyring.h"
#include "store.h"
#include "tokenresp.h"

/* Cache a token whose lifetime the provider did not state this long. */
#define TOKEN_DEFAULT_TTL 300

static void
cache_store(const struct account *acct, const struct oa2_token_response *tr,
    time_t *expiry)
{
	time_t now = time(NULL);
	long long ttl =
	    tr->expires_in >= 0 ? tr->expires_in : TOKEN_DEFAULT_TTL;
	char mb[OA2_MAILBOX_MAX + 1];
	size_t n;
	int r;

	*expiry = now + (time_t)ttl;
	r = oa2_keyring_put(acct->user, account_key_qualifier(acct, acct->user),
	    tr->access_token.data, tr->access_token.len, *expiry, now);
	/* An app-only token serves every mailbox the account lists, each
	 * under the key of this account's token for it; a service
	 * account's names one mailbox (sub), and is cached for it only. */
	for (n = 0; r == 0 && acct->several_users &&
	     acct->flow == FLOW_CLIENT_CREDENTIALS &&
	     oa2_user_nth(acct->user_list, n, mb, sizeof(mb)) == 0;
	     n++)
		if (strcasecmp(mb, acct->user) != 0)
			r = oa2_keyring_put(mb, account_key_qualifier(acct, mb),
			    tr->access_token.data, tr->access_token.len,
			    *expiry, now);
	if (r == OA2_ERR_QUOTA)
		say("account %s: this user's kernel key quota is full, so the "
		    "token is not cached; raise it with sysctl "
		    "kernel.keys.maxbytes=200000 (and maxkeys)",
		    acct->name);
	else if (r != 0)
		verbose("account %s: token not cached: %s", acct->name,
		    oa2_strerror(r));
}

int
token_accept(
    struct account *acct, const struct oa2_token_response *tr, time_t *expiry)
{
	struct oa2_store_entry e;
	char err[512];
	int r;

	if (tr->refresh_token.len > 0) {
		oa2_store_entry_init(&e);
		r = oa2_buf_append(&e.refresh_token, tr->refresh_token.data,
		    tr->refresh_token.len);
		snprintf(e.scope, sizeof(e.scope), "%s", tr->scope);
		if (r == 0)
			r = rt_save(
			    acct->name, acct->store, &e, err, sizeof(err));
		oa2_store_entry_free(&e);
		if (r != 0) {
			say("account %s: could not save the new refresh token: "
			    "%s; if the provider rotates refresh tokens, the "
			    "stored one no longer works: then run 'sasl-oauth2 "
			    "login %s'",
			    acct->name, err, acct->name);
			return OA2_ERR_IO;
		}
		verbose("account %s: refresh token saved", acct->name);
	}
	cache_store(acct, tr, expiry);
	return 0;
}

/* The network part: client credentials, or the stored refresh token. */
static int
obtain(struct account *acct, struct oa2_token_response *tr)
{
	struct oa2_store_entry e;
	long long left;
	char err[512];
	int r;

	if ((r = account_endpoints(acct)) != 0)
		return r;
	if (acct->flow == FLOW_CLIENT_CREDENTIALS)
		return flow_client_credentials(acct, tr);
	if (acct->flow == FLOW_SERVICE_ACCOUNT)
		return flow_service_account(acct, tr);
	oa2_store_entry_init(&e);
	r = rt_load(acct->name, acct->store, &e, err, sizeof(err));
	if (r == OA2_ERR_NOTFOUND) {
		say("account %s: not logged in; run: sasl-oauth2 login %s",
		    acct->name, acct->name);
		r = OA2_ERR_AUTH;
	} else if (r != 0) {
		say("account %s: %s", acct->name, err);
	} else if ((r = rt_save(
			acct->name, acct->store, &e, err, sizeof(err))) != 0) {
		/* Make sure the rotated token can be kept before the old one
		 * is spent: a provider that rotates refresh tokens consumes
		 * the old one as it answers, so a save failing after the
		 * answer (a full disk) would end the login.  Rewriting the
		 * entry we have (same token, same time stamp) proves the
		 * store is writable now. */
		say("account %s: %s", acct->name, err);
		r = OA2_ERR_IO;
	} else if ((left = deadline_left_ms()) < oa2_http_timeout_ms() + 1000) {
		/* Killed between the provider's answer and our save, a
		 * refresh would lose the rotated refresh token: start one
		 * only with time to finish it (the wait for the lock may
		 * have used the caller's deadline up). */
		say("account %s: the caller gives up in %lld ms, too little to "
		    "finish a refresh safely; try again",
		    acct->name, left > 0 ? left : 0);
		r = OA2_ERR_TIMEOUT;
	} else {
		r = flow_refresh(acct, e.refresh_token.data, tr);
		/* No new refresh token: the old one stays valid (the
		 * provider does not rotate); save it again so the store
		 * records when it was last used. */
		if (r == 0 && tr->refresh_token.len == 0)
			r = oa2_buf_append(&tr->refresh_token,
			    e.refresh_token.data, e.refresh_token.len);
		/* An answer without scope keeps the scope granted before
		 * (RFC 6749 section 5.1: it is unchanged). */
		if (r == 0 && tr->scope[0] == '\0')
			snprintf(tr->scope, sizeof(tr->scope), "%s", e.scope);
	}
	oa2_store_entry_free(&e);
	return r;
}

int
token_obtain(struct account *acct, long min_ttl, int force, struct oa2_buf *tok,
    time_t *expiry)
{
	struct oa2_token_response tr;
	int lock, r;

	oa2_buf_reset(tok);
	if (!force && token_cached(acct, min_ttl, tok, expiry) == 0)
		return 0;
	if ((r = token_wait_turn(acct, min_ttl, force, &lock, tok, expiry)) !=
	    TOKEN_YOUR_TURN)
		return r;
	if (lock < 0 && !account_app_only(acct)) {
		/* Two unlocked refreshes of a rotating refresh token: the
		 * loser's token is spent and the grant may be revoked. */
		char dir[768];
		if (lock == OA2_ERR_CONFIG &&
		    account_lock_dir(acct, dir, sizeof(dir)) == OA2_ERR_CONFIG)
			say("account %s: the state directory %s must belong to "
			    "uid %u and be private; run: chmod 700 %s",
			    acct->name, dir, (unsigned)geteuid(), dir);
		else
			say("account %s: cannot take the account's lock (%s); "
			    "refreshing without it could lose a rotated "
			    "refresh token: set XDG_STATE_HOME to a private "
			    "directory of this user",
			    acct->name, oa2_strerror(lock));
		return lock == OA2_ERR_CONFIG ? OA2_ERR_CONFIG
					      : OA2_ERR_PROVIDER;
	} else if (lock < 0) {
		/* Client credentials: nothing to lose, only a request more. */
		verbose("account %s: no lock (%s); going on unlocked",
		    acct->name, oa2_strerror(lock));
	}
	oa2_buf_reset(tok);
	oa2_token_response_init(&tr);
	said_forget(); /* the lock record keeps this attempt's sentence */
	if ((r = obtain(acct, &tr)) == 0 &&
	    (r = token_accept(acct, &tr, expiry)) == 0)
		r = oa2_buf_append(
		    tok, tr.access_token.data, tr.access_token.len);
	account_lock_record(lock, r);
	oa2_token_response_free(&tr);
	account_unlock(lock);
	return r;
}
