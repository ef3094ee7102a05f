/*
 * fuzz_keyrec.c: the keyring record (keyrec.c), read back from a kernel
 * key that any process of the same uid, or another version, wrote.
 *
 * Checks, on the input as a record: a decoded record has expiry > 0 and a
 * token that passes oa2_token_check; re-encoding it decodes to the same
 * values and, when the expiry has no leading zero, gives back the input
 * byte for byte; a refusal leaves the token empty and the expiry 0.
 * On the input as (8 bytes of expiry, token): whatever encode accepts,
 * decode gives back.
 */
#include "config.h"

#include <time.h>

#include "buf.h"
#include "err.h"
#include "keyrec.h"
#include "wire.h"

#include "fuzz.h"

static void
check_decode(const uint8_t *data, size_t size)
{
	const size_t mlen = sizeof(OA2_KEYREC_MAGIC) - 1;
	struct oa2_buf tok, again, tok2;
	time_t exp = 12345, exp2;
	int rc;

	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	oa2_buf_init(&again, OA2_KEYREC_MAX);
	oa2_buf_init(&tok2, OA2_TOKEN_MAX);
	FUZZ_CHECK(oa2_buf_appendz(&tok, "stale-token") == 0);
	rc = oa2_keyrec_decode((const char *)data, size, &tok, &exp);
	FUZZ_CHECK(rc == 0 || rc == OA2_ERR_PARSE || rc == OA2_ERR_TOOBIG);
	if (rc != 0) {
		FUZZ_CHECK(tok.len == 0 && oa2_buf_str(&tok)[0] == '\0');
		FUZZ_CHECK(exp == 0);
		goto out;
	}
	FUZZ_CHECK(size <= OA2_KEYREC_MAX);
	FUZZ_CHECK(exp > 0);
	FUZZ_CHECK(oa2_token_check(oa2_buf_str(&tok), tok.len) == 0);
	FUZZ_CHECK(strlen(oa2_buf_str(&tok)) == tok.len);
	FUZZ_CHECK(
	    oa2_keyrec_encode(oa2_buf_str(&tok), tok.len, exp, &again) == 0);
	FUZZ_CHECK(oa2_keyrec_decode(again.data, again.len, &tok2, &exp2) == 0);
	FUZZ_CHECK(exp2 == exp && tok2.len == tok.len &&
	    memcmp(tok2.data, tok.data, tok.len) == 0);
	if (data[mlen] != '0')
		FUZZ_CHECK(
		    again.len == size && memcmp(again.data, data, size) == 0);
out:
	oa2_buf_free(&tok);
	oa2_buf_free(&again);
	oa2_buf_free(&tok2);
}

static void
check_encode(const uint8_t *data, size_t size)
{
	struct oa2_buf rec, tok;
	long long v;
	time_t exp;
	int rc;

	if (size < sizeof(v))
		return;
	memcpy(&v, data, sizeof(v));
	oa2_buf_init(&rec, OA2_KEYREC_MAX);
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	rc = oa2_keyrec_encode(
	    (const char *)data + sizeof(v), size - sizeof(v), (time_t)v, &rec);
	FUZZ_CHECK(rc == 0 || rc == OA2_ERR_INVAL);
	/* An expiry the decoder cannot read back (19 digits) is refused. */
	FUZZ_CHECK((rc == 0) ==
	    (v > 0 && v <= 999999999999999999LL &&
		oa2_token_check(
		    (const char *)data + sizeof(v), size - sizeof(v)) == 0));
	if (rc == 0) {
		/* What the plugin will read back is what the helper wrote. */
		FUZZ_CHECK(
		    oa2_keyrec_decode(rec.data, rec.len, &tok, &exp) == 0);
		FUZZ_CHECK((long long)exp == v);
		FUZZ_CHECK(tok.len == size - sizeof(v) &&
		    memcmp(tok.data, data + sizeof(v), tok.len) == 0);
	}
	oa2_buf_free(&rec);
	oa2_buf_free(&tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_decode(data, size);
	check_encode(data, size);
	return 0;
}
