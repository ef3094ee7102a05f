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

	r = oa2_keyring_get(acct->user, time(NULL), min_ttl, tok, expiry);
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

time_t
token_cached_expiry(const struct account *acct, struct oa2_buf *tok)
{
	time_t seen;

	if (oa2_keyring_get(acct->user, time(NULL), 0, tok, &seen) != 0)
		seen = 0;
	oa2_buf_reset(tok);
	return seen;
}

int
token_cached_after_wait(const struct account *acct, long min_ttl, int force,
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
