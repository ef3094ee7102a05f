/*
 * test_keyrec.c: the keyring record format, and the real kernel keyring:
 * store, read, expiry threshold, permissions, invalidation, update, keys
 * of accounts sharing a mailbox, reading the key found before, and
 * invalidating only a rejected token.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <keyutils.h>

#include "buf.h"
#include "err.h"
#include "keyrec.h"
#include "keyring.h"
#include "wire.h"

static void
test_encode_decode(void **state)
{
	struct oa2_buf rec, tok;
	time_t exp;

	oa2_buf_init(&rec, OA2_KEYREC_MAX);
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	assert_int_equal(oa2_keyrec_encode("abc.def", 7, 1700000000, &rec), 0);
	assert_string_equal(
	    oa2_buf_str(&rec), "sasl-oauth2 1\n1700000000\nabc.def");
	assert_int_equal(oa2_keyrec_decode(rec.data, rec.len, &tok, &exp), 0);
	assert_string_equal(oa2_buf_str(&tok), "abc.def");
	assert_int_equal((long long)exp, 1700000000LL);
	oa2_buf_reset(&rec);
	assert_int_equal(
	    oa2_keyrec_encode("bad token", 9, 1, &rec), OA2_ERR_INVAL);
	assert_int_equal(oa2_keyrec_encode("tok", 3, 0, &rec), OA2_ERR_INVAL);
	/* Found by fuzzing: what the decoder cannot read back is refused. */
	assert_int_equal(
	    oa2_keyrec_encode("tok", 3, (time_t)1000000000000000000LL, &rec),
	    OA2_ERR_INVAL);
	oa2_buf_free(&rec);
	oa2_buf_free(&tok);
}

static void
test_decode_rejects(void **state)
{
	static const char *const bad[] = {
	    "",
	    "sasl-oauth2 1\n",
	    "sasl-oauth2 2\n1700000000\ntok",
	    "sasl-oauth2 1\n\ntok",
	    "sasl-oauth2 1\n0\ntok",
	    "sasl-oauth2 1\n17x\ntok",
	    "sasl-oauth2 1\n1700000000\n",
	    "sasl-oauth2 1\n1700000000\ntok with space",
	    "sasl-oauth2 1\n1700000000tok",
	    "sasl-oauth2 1\n1234567890123456789\ntok",
	};
	struct oa2_buf tok;
	time_t exp;
	size_t i;

	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    oa2_keyrec_decode(bad[i], strlen(bad[i]), &tok, &exp),
		    OA2_ERR_PARSE);
		assert_int_equal(tok.len, 0);
		assert_int_equal((long long)exp, 0);
	}
	oa2_buf_free(&tok);
}

static void
test_desc(void **state)
{
	char d[OA2_KEY_DESC_MAX];

	assert_int_equal(
	    oa2_keyring_desc("Relay@Example.TEST", NULL, d, sizeof(d)), 0);
	assert_string_equal(d, "sasl-oauth2:relay@example.test");
	assert_int_equal(
	    oa2_keyring_desc("", NULL, d, sizeof(d)), OA2_ERR_INVAL);
	assert_int_equal(oa2_keyring_desc("a@b", NULL, d, 8), OA2_ERR_TOOBIG);
	/* Another account's token for the mailbox: a key no mailbox can
	 * name (a space), the account's name kept as configured. */
	assert_int_equal(
	    oa2_keyring_desc("Relay@Example.TEST", "Work-2", d, sizeof(d)), 0);
	assert_string_equal(d, "sasl-oauth2:relay@example.test account=Work-2");
	assert_int_equal(
	    oa2_keyring_desc("a@b", "", d, sizeof(d)), OA2_ERR_INVAL);
	assert_int_equal(
	    oa2_keyring_desc("a@b", "two words", d, sizeof(d)), OA2_ERR_INVAL);
	assert_int_equal(oa2_keyring_desc("a@b", "w", d, 17), OA2_ERR_TOOBIG);
}

/* A mailbox no other test or user shares. */
static void
unique_mailbox(char *out, size_t n)
{
	snprintf(out, n, "unit-%ld-%ld@keyring.test", (long)getpid(),
	    (long)time(NULL));
}

static void
test_keyring_roundtrip(void **state)
{
	char mb[128], desc[OA2_KEY_DESC_MAX], *desc_back = NULL;
	struct oa2_buf tok;
	time_t now = time(NULL), exp;
	key_serial_t key;
	long perm_len;

	unique_mailbox(mb, sizeof(mb));
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	assert_int_equal(oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, NULL),
	    OA2_ERR_NOTFOUND);
	assert_int_equal(
	    oa2_keyring_put(mb, NULL, "first", 5, now + 3600, now), 0);
	assert_int_equal(
	    oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, NULL), 0);
	assert_string_equal(oa2_buf_str(&tok), "first");
	assert_int_equal((long long)exp, (long long)(now + 3600));
	/* Too close to expiry for this caller: not handed out. */
	assert_int_equal(oa2_keyring_get(mb, NULL, now, 3601, &tok, &exp, NULL),
	    OA2_ERR_EXPIRED);
	assert_int_equal(tok.len, 0);
	/* Replacing keeps one key with the new token. */
	assert_int_equal(
	    oa2_keyring_put(mb, NULL, "second", 6, now + 7200, now), 0);
	assert_int_equal(
	    oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, NULL), 0);
	assert_string_equal(oa2_buf_str(&tok), "second");
	/* Permissions: possessor all, user view/read/search, others none. */
	assert_int_equal(oa2_keyring_desc(mb, NULL, desc, sizeof(desc)), 0);
	key =
	    (key_serial_t)keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0);
	assert_true(key > 0);
	perm_len = keyctl_describe_alloc(key, &desc_back);
	assert_true(perm_len > 0);
	/* "user;uid;gid;perm;description" with perm in hex */
	assert_non_null(strstr(desc_back, ";3f0b0000;"));
	free(desc_back);
	/* Invalidation forgets it; invalidating nothing is fine. */
	assert_int_equal(oa2_keyring_invalidate(mb, NULL), 0);
	assert_int_equal(oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, NULL),
	    OA2_ERR_NOTFOUND);
	assert_int_equal(oa2_keyring_invalidate(mb, NULL), 0);
	/* A token about to expire is not worth caching. */
	assert_int_equal(
	    oa2_keyring_put(mb, NULL, "t", 1, now + 10, now), OA2_ERR_EXPIRED);
	oa2_buf_free(&tok);
}

static void
test_keyring_foreign_record(void **state)
{
	char mb[128], desc[OA2_KEY_DESC_MAX];
	struct oa2_buf tok;
	time_t exp;
	key_serial_t key;

	unique_mailbox(mb, sizeof(mb));
	memcpy(mb, "foreign-", 8);
	assert_int_equal(oa2_keyring_desc(mb, NULL, desc, sizeof(desc)), 0);
	key = add_key("user", desc, "garbage", 7, KEY_SPEC_USER_KEYRING);
	assert_true(key > 0);
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	assert_int_equal(
	    oa2_keyring_get(mb, NULL, time(NULL), 60, &tok, &exp, NULL),
	    OA2_ERR_PARSE);
	assert_int_equal(tok.len, 0);
	assert_int_equal(oa2_keyring_invalidate(mb, NULL), 0);
	oa2_buf_free(&tok);
}

static key_serial_t
key_of(const char *mb, const char *account)
{
	char desc[OA2_KEY_DESC_MAX];

	assert_int_equal(oa2_keyring_desc(mb, account, desc, sizeof(desc)), 0);
	return (key_serial_t)keyctl_search(
	    KEY_SPEC_USER_KEYRING, "user", desc, 0);
}

/* Two accounts with the same user: two keys, neither sees the other's. */
static void
test_keyring_account_keys(void **state)
{
	char mb[128];
	struct oa2_buf tok;
	time_t now = time(NULL), exp;

	unique_mailbox(mb, sizeof(mb));
	memcpy(mb, "accts", 5);
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	assert_int_equal(
	    oa2_keyring_put(mb, NULL, "first-acct", 10, now + 3600, now), 0);
	assert_int_equal(
	    oa2_keyring_get(mb, "second", now, 60, &tok, &exp, NULL),
	    OA2_ERR_NOTFOUND);
	assert_int_equal(
	    oa2_keyring_put(mb, "second", "second-acct", 11, now + 3600, now),
	    0);
	assert_int_equal(
	    oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, NULL), 0);
	assert_string_equal(oa2_buf_str(&tok), "first-acct");
	assert_int_equal(
	    oa2_keyring_get(mb, "second", now, 60, &tok, &exp, NULL), 0);
	assert_string_equal(oa2_buf_str(&tok), "second-acct");
	assert_int_equal(oa2_keyring_invalidate(mb, "second"), 0);
	assert_int_equal(
	    oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, NULL), 0);
	assert_string_equal(oa2_buf_str(&tok), "first-acct");
	assert_int_equal(oa2_keyring_invalidate(mb, NULL), 0);
	oa2_buf_free(&tok);
}

/* The key found before is read again in one call, but only while it holds
 * the record found then: a token updated in place, a key gone, and a
 * serial that names another key are all looked up by description again. */
static void
test_keyring_hit(void **state)
{
	char mb[128], other[128], desc[OA2_KEY_DESC_MAX], bad[128];
	struct oa2_keyring_hit hit = {0}, stale;
	int i, badlen;
	struct oa2_buf tok;
	time_t now = time(NULL), exp;
	key_serial_t k1, k2;

	unique_mailbox(mb, sizeof(mb));
	memcpy(mb, "hit-", 4);
	unique_mailbox(other, sizeof(other));
	memcpy(other, "oth-", 4);
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	assert_int_equal(oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, &hit),
	    OA2_ERR_NOTFOUND);
	assert_int_equal(hit.serial, 0);
	assert_int_equal(
	    oa2_keyring_put(mb, NULL, "token-one", 9, now + 3600, now), 0);
	k1 = key_of(mb, NULL);
	assert_int_equal(
	    oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, &hit), 0);
	assert_int_equal(hit.serial, k1);
	assert_string_equal(oa2_buf_str(&tok), "token-one");
	stale = hit;
	assert_int_equal(
	    oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, &hit), 0);
	assert_memory_equal(&hit, &stale, sizeof(hit));
	assert_string_equal(oa2_buf_str(&tok), "token-one");
	/* Updated in place: same key, new record. */
	assert_int_equal(
	    oa2_keyring_put(mb, NULL, "token-two", 9, now + 3000, now), 0);
	assert_int_equal(key_of(mb, NULL), k1);
	assert_int_equal(
	    oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, &hit), 0);
	assert_string_equal(oa2_buf_str(&tok), "token-two");
	assert_int_equal((long long)exp, (long long)(now + 3000));
	assert_int_equal(hit.serial, k1);
	assert_true(hit.fingerprint != stale.fingerprint);
	/* Gone, and replaced by a new key. */
	assert_int_equal(oa2_keyring_invalidate(mb, NULL), 0);
	assert_int_equal(oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, &hit),
	    OA2_ERR_NOTFOUND);
	assert_int_equal(hit.serial, 0);
	assert_int_equal(
	    oa2_keyring_put(mb, NULL, "token-three", 11, now + 3600, now), 0);
	assert_int_equal(
	    oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, &stale), 0);
	assert_string_equal(oa2_buf_str(&tok), "token-three");
	assert_true(stale.serial != k1 && stale.serial == key_of(mb, NULL));
	assert_int_equal(
	    oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, &hit), 0);
	assert_string_equal(oa2_buf_str(&tok), "token-three");
	/* The serial now names another mailbox's key (as when the kernel
	 * gives a freed serial to a new key): not that key's token. */
	assert_int_equal(
	    oa2_keyring_put(other, NULL, "not-yours", 9, now + 3600, now), 0);
	k2 = key_of(other, NULL);
	stale = hit;
	stale.serial = k2;
	assert_int_equal(
	    oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, &stale), 0);
	assert_string_equal(oa2_buf_str(&tok), "token-three");
	assert_int_equal(stale.serial, key_of(mb, NULL));
	/* Found again but too old for this caller. */
	assert_int_equal(oa2_keyring_get(mb, NULL, now, 3601, &tok, &exp, &hit),
	    OA2_ERR_EXPIRED);
	assert_int_equal(tok.len, 0);
	/* A record whose token is bad is refused at every read, not only
	 * the first: a record is remembered only once it decoded. */
	assert_int_equal(oa2_keyring_desc(mb, NULL, desc, sizeof(desc)), 0);
	badlen = snprintf(bad, sizeof(bad), OA2_KEYREC_MAGIC "%lld\nto\"ken",
	    (long long)now + 3600);
	assert_true(add_key("user", desc, bad, (size_t)badlen,
			KEY_SPEC_USER_KEYRING) > 0);
	memset(&hit, 0, sizeof(hit));
	for (i = 0; i < 2; i++) {
		assert_int_equal(
		    oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, &hit),
		    OA2_ERR_PARSE);
		assert_int_equal(hit.serial, 0);
	}
	assert_int_equal(oa2_keyring_invalidate(mb, NULL), 0);
	assert_int_equal(oa2_keyring_invalidate(other, NULL), 0);
	oa2_buf_free(&tok);
}

/* After a rejection: only the rejected token is dropped, wherever the
 * mailbox's key holds it. */
static void
test_keyring_invalidate_token(void **state)
{
	char mb[128];
	struct oa2_buf tok;
	time_t now = time(NULL), exp;
	key_serial_t k;

	unique_mailbox(mb, sizeof(mb));
	memcpy(mb, "rej-", 4);
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	/* Nothing cached: nothing to do. */
	assert_int_equal(oa2_keyring_invalidate_token(mb, "old", 3), 0);
	assert_int_equal(
	    oa2_keyring_put(mb, NULL, "rejected", 8, now + 3600, now), 0);
	k = key_of(mb, NULL);
	/* A newer token in the same key (written in place) is spared. */
	assert_int_equal(
	    oa2_keyring_put(mb, NULL, "fresh", 5, now + 3600, now), 0);
	assert_int_equal(key_of(mb, NULL), k);
	assert_int_equal(oa2_keyring_invalidate_token(mb, "rejected", 8), 0);
	assert_int_equal(oa2_keyring_invalidate_token(mb, "fres", 4), 0);
	assert_int_equal(oa2_keyring_invalidate_token(mb, "fresh!", 6), 0);
	assert_int_equal(
	    oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, NULL), 0);
	assert_string_equal(oa2_buf_str(&tok), "fresh");
	/* The rejected token itself goes. */
	assert_int_equal(oa2_keyring_invalidate_token(mb, "fresh", 5), 0);
	assert_int_equal(oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, NULL),
	    OA2_ERR_NOTFOUND);
	/* Also when it was cached again under a new key since. */
	assert_int_equal(
	    oa2_keyring_put(mb, NULL, "fresh", 5, now + 3600, now), 0);
	assert_true(key_of(mb, NULL) != k);
	assert_int_equal(oa2_keyring_invalidate_token(mb, "fresh", 5), 0);
	assert_int_equal(oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, NULL),
	    OA2_ERR_NOTFOUND);
	/* Another account's key for the mailbox is none of the plugin's. */
	assert_int_equal(
	    oa2_keyring_put(mb, "other", "fresh", 5, now + 3600, now), 0);
	assert_int_equal(oa2_keyring_invalidate_token(mb, "fresh", 5), 0);
	assert_int_equal(
	    oa2_keyring_get(mb, "other", now, 60, &tok, &exp, NULL), 0);
	assert_int_equal(oa2_keyring_invalidate(mb, "other"), 0);
	oa2_buf_free(&tok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_decode),
	    cmocka_unit_test(test_decode_rejects),
	    cmocka_unit_test(test_desc),
	    cmocka_unit_test(test_keyring_roundtrip),
	    cmocka_unit_test(test_keyring_foreign_record),
	    cmocka_unit_test(test_keyring_account_keys),
	    cmocka_unit_test(test_keyring_hit),
	    cmocka_unit_test(test_keyring_invalidate_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
