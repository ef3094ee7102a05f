/*
 * keyrec.h: the record both programs keep in the kernel keyring.
 *
 *	"sasl-oauth2 1\n" <expiry, decimal seconds since the epoch> "\n" <token>
 *
 * The version line lets a newer plugin recognise an older helper's record
 * (and refuse it) rather than misread it.
 */
#ifndef OA2_KEYREC_H
#define OA2_KEYREC_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

#define OA2_KEYREC_MAGIC "sasl-oauth2 1\n"
#define OA2_KEYREC_MAX (OA2_TOKEN_MAX + 64)

int oa2_keyrec_encode(
    const char *token, size_t token_len, time_t expiry, struct oa2_buf *out);
/* Validates everything; on success token holds the token (cleared first). */
int oa2_keyrec_decode(
    const char *rec, size_t len, struct oa2_buf *token, time_t *expiry);
/* The same, but with token_checked set it trusts that the token's
 * characters were checked before: for a record known to be one that an
 * earlier decode accepted (its fingerprint matches).  Everything else is
 * still validated. */
int oa2_keyrec_decode_as(const char *rec, size_t len, int token_checked,
    struct oa2_buf *token, time_t *expiry);

#endif
