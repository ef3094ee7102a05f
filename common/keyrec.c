/*
 * keyrec.c: encode and decode the keyring record.
 *
 * TRUST: a record read back from the keyring was written by a process of
 * the same uid, but it may be from another version or truncated: it is
 * validated field by field.
 * SECRETS: the token; it lives only in the caller's wiping buffers.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "keyrec.h"
#include "wire.h"

int
oa2_keyrec_encode(
    const char *token, size_t token_len, time_t expiry, struct oa2_buf *out)
{
	char line[32];
	int r;

	/* The decoder takes at most 18 digits: refuse what it could not
	 * read back (year 3e10 is far enough). */
	if (expiry <= 0 || (long long)expiry > 999999999999999999LL ||
	    oa2_token_check(token, token_len) != 0)
		return OA2_ERR_INVAL;
	snprintf(line, sizeof(line), "%lld\n", (long long)expiry);
	if ((r = oa2_buf_appendz(out, OA2_KEYREC_MAGIC)) != 0 ||
	    (r = oa2_buf_appendz(out, line)) != 0 ||
	    (r = oa2_buf_append(out, token, token_len)) != 0)
		return r;
	return 0;
}

int
oa2_keyrec_decode(
    const char *rec, size_t len, struct oa2_buf *token, time_t *expiry)
{
	return oa2_keyrec_decode_as(rec, len, 0, token, expiry);
}

int
oa2_keyrec_decode_as(const char *rec, size_t len, int token_checked,
    struct oa2_buf *token, time_t *expiry)
{
	const size_t mlen = sizeof(OA2_KEYREC_MAGIC) - 1;
	const char *p, *end = rec + len;
	long long v = 0;
	int digits = 0;

	oa2_buf_reset(token);
	*expiry = 0;
	if (len > OA2_KEYREC_MAX)
		return OA2_ERR_TOOBIG;
	if (len < mlen || memcmp(rec, OA2_KEYREC_MAGIC, mlen) != 0)
		return OA2_ERR_PARSE;
	for (p = rec + mlen; p < end && *p >= '0' && *p <= '9'; p++) {
		if (++digits > 18)
			return OA2_ERR_PARSE;
		v = v * 10 + (*p - '0');
	}
	if (digits == 0 || v == 0 || p >= end || *p != '\n')
		return OA2_ERR_PARSE;
	p++;
	if (!token_checked && oa2_token_check(p, (size_t)(end - p)) != 0)
		return OA2_ERR_PARSE;
	*expiry = (time_t)v;
	return oa2_buf_append(token, p, (size_t)(end - p));
}
