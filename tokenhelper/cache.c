/*
 * cache.c: reading the kernel keyring cache of access tokens, for the full
 * helper (tokens.c) and the light front (front.c) alike, so both accept
 * exactly the same cached token.
 *
 * SECRETS: cached access tokens, read into the caller's wiping buffer.
 */
#include "config.h"

#include <time.h>

#include "err.h"
#include "helper.h"
#include "keyring.h"

int
token_cached(const struct account *acct, long min_ttl, struct oa2_buf *tok,
    time_t *expiry)
{
	int r;

	r = oa2_keyring_get(acct->user, account_key_qualifier(acct, acct->user),
	    time(NULL), min_ttl, tok, expiry, NULL);
	if (r == 0)
		verbose("account %s: cached token, %lld s left", acct->name,
		    (long long)(*expiry - time(NULL)));
	else if (r == OA2_ERR_UNAVAIL)
		verbose("no kernel keyring here; tokens are not cached");
	else
		verbose("account %s: no usable cached token (%s)", acct->name,
		    oa2_strerror(r));
	return r;
}

/* The expiry of whatever the cache holds for the account, else 0; tok is
 * scratch space. */
static time_t
cached_expiry(const struct account *acct, struct oa2_buf *tok)
{
	time_t seen;

	if (oa2_keyring_get(acct->user, account_key_qualifier(acct, acct->user),
		time(NULL), 0, tok, &seen, NULL) != 0)
		seen = 0;
	oa2_buf_reset(tok);
	return seen;
}

/* Holding the lock, after waiting for it: the token another process cached
 * meanwhile (its expiry differs from seen, which was cached before the
 * wait), else one with min_ttl left; force takes only a newer one. */
static int
cached_after_wait(const struct account *acct, long min_ttl, int force,
    time_t seen, struct oa2_buf *tok, time_t *expiry)
{
	if (token_cached(acct, 0, tok, expiry) == 0 && *expiry != seen &&
	    *expiry - time(NULL) > OA2_KEY_EXPIRY_MARGIN &&
	    (!force || seen == 0 || *expiry > seen)) {
		/* Another process obtained this token while we waited: use
		 * it, even when its lifetime is below min_ttl (it is as
		 * fresh as the provider makes them). */
		verbose("account %s: another process refreshed meanwhile",
		    acct->name);
		return 0;
	}
	if (!force && token_cached(acct, min_ttl, tok, expiry) == 0)
		return 0;
	oa2_buf_reset(tok);
	return OA2_ERR_NOTFOUND;
}

int
token_wait_turn(const struct account *acct, long min_ttl, int force, int *lock,
    struct oa2_buf *tok, time_t *expiry)
{
	time_t seen = cached_expiry(acct, tok), start = time(NULL);
	unsigned long gen = account_lock_generation(acct);
	char why[SAID_MAX];
	int exclusive, failed, r;

	*lock = account_lock_or_wait(acct, LOCK_TIMEOUT, &exclusive);
	if (*lock == OA2_ERR_TIMEOUT) {
		*lock = -1;
		account_lock_busy(acct->name);
		return OA2_ERR_PROVIDER;
	}
	if (*lock < 0)
		return TOKEN_YOUR_TURN;
	for (;;) {
		if (cached_after_wait(
			acct, min_ttl, force, seen, tok, expiry) == 0) {
			r = 0;
			break;
		}
		/* The attempt we waited for failed: say so rather than
		 * repeat its request (refresh --all, force, still tries). */
		if (!force &&
		    account_lock_failed_since(
			*lock, gen, &failed, why, sizeof(why))) {
			account_lock_failed_say(acct->name, failed, why);
			r = failed;
			break;
		}
		if (exclusive)
			return TOKEN_YOUR_TURN;
		/* The holder left nothing: this caller tries. */
		r = account_lock_upgrade(
		    *lock, LOCK_TIMEOUT - (int)(time(NULL) - start));
		if (r == OA2_ERR_TIMEOUT) {
			account_lock_busy(acct->name);
			r = OA2_ERR_PROVIDER;
		}
		if (r != 0)
			break;
		exclusive = 1;
	}
	account_unlock(*lock);
	*lock = -1;
	return r;
}
