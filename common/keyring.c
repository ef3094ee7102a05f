/*
 * keyring.c: read, write and invalidate cached access tokens in @u.
 *
 * TRUST: a key of our description may have been planted by another process
 * of the same uid; its payload is decoded and validated like any input.
 * SECRETS: the token; every copy of a record read into a stack buffer is
 * wiped.  A record's 64-bit fingerprint (struct oa2_keyring_hit) outlives
 * the read: it tells records apart and cannot give a token back.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keyutils.h>

#include "err.h"
#include "keyrec.h"
#include "keyring.h"
#include "wire.h"

/* Printable ASCII without spaces, like a mailbox (oa2_mailbox_check). */
static int
account_check(const char *account)
{
	size_t i, n = strlen(account);

	if (n == 0 || n > OA2_KEY_ACCOUNT_MAX)
		return OA2_ERR_INVAL;
	for (i = 0; i < n; i++)
		if ((unsigned char)account[i] < 0x21 ||
		    (unsigned char)account[i] > 0x7e)
			return OA2_ERR_INVAL;
	return 0;
}

int
oa2_keyring_desc(
    const char *mailbox, const char *account, char *desc, size_t descsz)
{
	size_t plen = sizeof(OA2_KEY_PREFIX) - 1, i, n, need;

	if (oa2_mailbox_check(mailbox) != 0 ||
	    (account != NULL && account_check(account) != 0))
		return OA2_ERR_INVAL;
	n = strlen(mailbox);
	need = plen + n + 1;
	if (account != NULL)
		need += sizeof(OA2_KEY_ACCOUNT_SEP) - 1 + strlen(account);
	if (need > descsz)
		return OA2_ERR_TOOBIG;
	memcpy(desc, OA2_KEY_PREFIX, plen);
	for (i = 0; i < n; i++) {
		char c = mailbox[i];
		desc[plen + i] =
		    (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	desc[plen + n] = '\0';
	/* The account name as configured: names differing in case are
	 * different accounts. */
	if (account != NULL)
		snprintf(desc + plen + n, descsz - plen - n, "%s%s",
		    OA2_KEY_ACCOUNT_SEP, account);
	return 0;
}

static int
map_errno(int e)
{
	switch (e) {
	case ENOKEY:
	case EKEYEXPIRED:
	case EKEYREVOKED:
		return OA2_ERR_NOTFOUND;
	case ENOSYS:
	case EOPNOTSUPP:
		return OA2_ERR_UNAVAIL;
	case EACCES:
	case EPERM:
		return OA2_ERR_PERM;
	case EDQUOT:
		return OA2_ERR_QUOTA;
	case ENOMEM:
		return OA2_ERR_NOMEM;
	default:
		return OA2_ERR_IO;
	}
}

static int
find_key(const char *mailbox, const char *account, key_serial_t *key)
{
	char desc[OA2_KEY_DESC_MAX];
	long k;
	int r;

	if ((r = oa2_keyring_desc(mailbox, account, desc, sizeof(desc))) != 0)
		return r;
	k = keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0);
	if (k < 0)
		return map_errno(errno);
	*key = (key_serial_t)k;
	return 0;
}

/* One read into room for the largest valid record: a system call less than
 * keyctl_read_alloc (size, then data) and no malloc, on the path every
 * cached login takes.  A larger key is not ours. */
static int
read_record(key_serial_t key, char *rec, size_t recsz, size_t *len)
{
	long n;

	*len = 0;
	if ((n = keyctl_read(key, rec, recsz)) < 0)
		return map_errno(errno);
	if ((size_t)n > recsz) {
		explicit_bzero(rec, recsz);
		return OA2_ERR_PARSE;
	}
	*len = (size_t)n;
	return 0;
}

/* 64-bit words of a record's head and of its tail that fingerprint() mixes:
 * the version and the expiry, and the end of the token. */
#define FP_WORDS 8

static uint64_t
fp_mix(uint64_t h, const char *p, size_t n)
{
	uint64_t w[FP_WORDS] = {0};
	size_t k;

	memcpy(w, p, n);
	for (k = 0; k < FP_WORDS; k++) {
		h = (h ^ w[k]) * 0xff51afd7ed558ccdu;
		h ^= h >> 32;
	}
	explicit_bzero(w, sizeof(w));
	return h;
}

/* Tells two records apart by their length, head (the expiry) and tail:
 * two tokens of the same length and expiry do not end alike (a JWT ends in
 * its signature, an opaque token is random throughout).  Mixing a whole
 * 1,500-byte record cost 2,100 instructions a login (callgrind), 3 % of an
 * exchange; this costs a tenth of that.  Not a cryptographic hash, and it
 * need not be one: whoever could plant a colliding record (a process of
 * the same uid) can write the key itself. */
static uint64_t
fingerprint(const char *rec, size_t len)
{
	const size_t part = FP_WORDS * sizeof(uint64_t);
	uint64_t h = 0x9e3779b97f4a7c15u ^ (uint64_t)len;

	h = fp_mix(h, rec, len < part ? len : part);
	if (len > part)
		h = fp_mix(h, rec + len - (len < 2 * part ? len - part : part),
		    len < 2 * part ? len - part : part);
	return h;
}

int
oa2_keyring_get(const char *mailbox, const char *account, time_t now,
    long min_ttl, struct oa2_buf *token, time_t *expiry,
    struct oa2_keyring_hit *hit)
{
	key_serial_t key, was = hit != NULL ? hit->serial : 0;
	char rec[OA2_KEYREC_MAX];
	size_t n = 0;
	int r, have = 0, known = 0;

	oa2_buf_reset(token);
	*expiry = 0;
	/* The key found last time holds the same record: it is still the
	 * one of this description (descriptions never change), read in one
	 * system call, and a record that decoded then, so its token's
	 * characters need no second walk (oa2_xoauth2_build and
	 * oa2_oauthbearer_build check them anyway before they go out). */
	if (was > 0 && read_record(was, rec, sizeof(rec), &n) == 0) {
		have = 1;
		if (fingerprint(rec, n) == hit->fingerprint) {
			known = 1;
			goto decode;
		}
	}
	if (hit != NULL)
		hit->serial = 0;
	if ((r = find_key(mailbox, account, &key)) != 0)
		goto out;
	/* What was read from that key a moment ago is its record now. */
	if (!have || key != was) {
		explicit_bzero(rec, n);
		have = 0;
		if ((r = read_record(key, rec, sizeof(rec), &n)) != 0)
			goto out;
		have = 1;
	}
decode:
	if ((r = oa2_keyrec_decode_as(rec, n, known, token, expiry)) != 0)
		goto out;
	/* Remembered only once it decoded: a bad record is checked anew at
	 * every read. */
	if (hit != NULL && !known) {
		hit->serial = key;
		hit->fingerprint = fingerprint(rec, n);
	}
	if (*expiry - now < min_ttl) {
		oa2_buf_reset(token);
		r = OA2_ERR_EXPIRED;
	}
out:
	if (have)
		explicit_bzero(rec, n);
	return r;
}

int
oa2_keyring_put(const char *mailbox, const char *account, const char *token,
    size_t token_len, time_t expiry, time_t now)
{
	char desc[OA2_KEY_DESC_MAX];
	struct oa2_buf rec;
	key_serial_t key;
	long ttl = (long)(expiry - now) - OA2_KEY_EXPIRY_MARGIN;
	int r;

	if (ttl <= 0)
		return OA2_ERR_EXPIRED;
	if (ttl > 0x7fffffffL)
		ttl = 0x7fffffffL; /* keyctl_set_timeout takes an unsigned */
	if ((r = oa2_keyring_desc(mailbox, account, desc, sizeof(desc))) != 0)
		return r;
	oa2_buf_init(&rec, OA2_KEYREC_MAX);
	if ((r = oa2_keyrec_encode(token, token_len, expiry, &rec)) != 0)
		goto out;
	key = add_key("user", desc, rec.data, rec.len, KEY_SPEC_USER_KEYRING);
	if (key < 0 && errno == EACCES) {
		/* An existing key we may read but not update (we are not its
		 * possessor): replace it instead. */
		(void)oa2_keyring_invalidate(mailbox, account);
		key = add_key(
		    "user", desc, rec.data, rec.len, KEY_SPEC_USER_KEYRING);
	}
	if (key < 0) {
		r = map_errno(errno);
		goto out;
	}
	if (keyctl_setperm(key, OA2_KEY_PERM) < 0 ||
	    keyctl_set_timeout(key, (unsigned)ttl) < 0) {
		r = map_errno(errno);
		(void)keyctl_invalidate(key);
		goto out;
	}
	r = 0;
out:
	oa2_buf_free(&rec);
	return r;
}

int
oa2_keyring_invalidate(const char *mailbox, const char *account)
{
	key_serial_t key;
	int r;

	if ((r = find_key(mailbox, account, &key)) != 0)
		return r == OA2_ERR_NOTFOUND ? 0 : r;
	if (keyctl_invalidate(key) < 0)
		return map_errno(errno);
	return 0;
}

/*
 * The key the mailbox's description names now, whichever it is, and only
 * if it holds the rejected token.  Not the key the token was read from:
 * add_key() updates a user key in place, so one serial holds each newer
 * token in turn; and the rejected token may have been cached again, under
 * a new key, since it was read.  The kernel has no compare-and-invalidate:
 * a token cached between the read and the invalidation (one system call
 * apart, not the seconds a server takes to answer) would be lost, which
 * costs one refresh more and nothing else.
 */
int
oa2_keyring_invalidate_token(
    const char *mailbox, const char *token, size_t token_len)
{
	char rec[OA2_KEYREC_MAX];
	struct oa2_buf cached;
	key_serial_t key;
	time_t expiry;
	size_t n;
	int r, same;

	if ((r = find_key(mailbox, NULL, &key)) != 0 ||
	    (r = read_record(key, rec, sizeof(rec), &n)) != 0)
		return r == OA2_ERR_NOTFOUND ? 0 : r;
	oa2_buf_init(&cached, OA2_TOKEN_MAX);
	r = oa2_keyrec_decode(rec, n, &cached, &expiry);
	explicit_bzero(rec, n);
	same = r == 0 && cached.len == token_len &&
	    memcmp(cached.data, token, token_len) == 0;
	oa2_buf_free(&cached);
	/* Not (or no longer) the rejected token: not ours to drop. */
	if (!same)
		return 0;
	if (keyctl_invalidate(key) < 0)
		return map_errno(errno);
	return 0;
}
