/*
 * keyring.h: the access-token cache in the kernel user keyring (@u).
 *
 * One "user" key per mailbox, described "sasl-oauth2:<mailbox, lower case>",
 * readable by its owner's processes even where they do not possess @u
 * (systemd services), timing out shortly before the token expires.
 *
 * Where two accounts list the same mailbox, the mailbox's key holds the
 * token of the account the plugin would use for it (the helper decides,
 * see config_key_qualifier()); the other account's token goes under
 * "sasl-oauth2:<mailbox> account=<name>", a description no mailbox can
 * produce (mailboxes have no spaces), so the plugin never reads it.
 */
#ifndef OA2_KEYRING_H
#define OA2_KEYRING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "wire.h"

#define OA2_KEY_PREFIX "sasl-oauth2:"
#define OA2_KEY_ACCOUNT_SEP " account="
#define OA2_KEY_ACCOUNT_MAX 64 /* as account names in the configuration */
#define OA2_KEY_DESC_MAX                                                       \
	(sizeof(OA2_KEY_PREFIX) + OA2_MAILBOX_MAX +                            \
	    sizeof(OA2_KEY_ACCOUNT_SEP) + OA2_KEY_ACCOUNT_MAX)
/* The kernel drops the key this long before the token expires. */
#define OA2_KEY_EXPIRY_MARGIN 30
/* Possessor: all; owning user: view, read, search; nobody else. */
#define OA2_KEY_PERM 0x3f0b0000u

/* account: NULL for the mailbox's own key, else the account whose token
 * for mailbox it is (see above). */
int oa2_keyring_desc(
    const char *mailbox, const char *account, char *desc, size_t descsz);

/*
 * Where a cached token was found: the key, and a fingerprint of the record
 * it held when it was found by its description.  A caller that keeps it
 * (the plugin, from login to login) lets oa2_keyring_get() read that key
 * again in one system call instead of two: the payload cannot be read
 * together with the description, so a key that holds another record than
 * the one found (a newer token written in place, or another key that was
 * given the serial of a key gone since) is looked up by description again.
 */
struct oa2_keyring_hit {
	int32_t serial; /* 0: none */
	uint64_t fingerprint;
};

/* A token with at least min_ttl seconds left: 0 and *token / *expiry set.
 * OA2_ERR_NOTFOUND, OA2_ERR_EXPIRED (found but too old), OA2_ERR_UNAVAIL
 * (no keyrings here), OA2_ERR_PERM, OA2_ERR_PARSE (foreign record).
 * hit: NULL, or (in and out) where the same key was found last time,
 * zeroed at first; afterwards where it is now. */
int oa2_keyring_get(const char *mailbox, const char *account, time_t now,
    long min_ttl, struct oa2_buf *token, time_t *expiry,
    struct oa2_keyring_hit *hit);

/* Store a token; replaces any older one.  OA2_ERR_QUOTA when the uid's key
 * quota is exhausted, OA2_ERR_EXPIRED when too little lifetime is left to be
 * worth caching. */
int oa2_keyring_put(const char *mailbox, const char *account, const char *token,
    size_t token_len, time_t expiry, time_t now);

/* Forget the cached token, whatever it is (logout).  0 also when there was
 * none. */
int oa2_keyring_invalidate(const char *mailbox, const char *account);

/* Forget mailbox's cached token only if it is token, the one a server just
 * rejected: a newer one another process cached meanwhile is spared.  0 also
 * when there was nothing to forget. */
int oa2_keyring_invalidate_token(
    const char *mailbox, const char *token, size_t token_len);

#endif
