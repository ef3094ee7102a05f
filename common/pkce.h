/*
 * pkce.h: the random values of the authorization code flow: PKCE code
 * verifier and S256 challenge (RFC 7636), the state parameter (RFC 6749
 * 10.12), and a constant-time comparison for checking state.
 */
#ifndef OA2_PKCE_H
#define OA2_PKCE_H

#include <stddef.h>

#include "buf.h"

#define OA2_PKCE_VERIFIER_BYTES 48 /* 64 base64url characters */
#define OA2_PKCE_VERIFIER_MIN 43   /* RFC 7636 4.1 */
#define OA2_PKCE_VERIFIER_MAX 128
#define OA2_STATE_BYTES 32 /* 43 base64url characters */
#define OA2_RANDOM_MAX 256 /* most bytes oa2_random_b64url draws */

/* nbytes (1..OA2_RANDOM_MAX) from getrandom(2), base64url without padding,
 * into out (reset first). */
int oa2_random_b64url(size_t nbytes, struct oa2_buf *out);

/* A fresh verifier and its S256 challenge.  Both buffers are reset first
 * and left empty on failure. */
int oa2_pkce_new(struct oa2_buf *verifier, struct oa2_buf *challenge);

/* challenge = base64url(SHA-256(verifier)), no padding.  The verifier must
 * be 43..128 unreserved characters (ALPHA / DIGIT / "-" / "." / "_" / "~"),
 * else OA2_ERR_INVAL. */
int oa2_pkce_challenge(
    const char *verifier, size_t len, struct oa2_buf *challenge);

/* A fresh state value: OA2_STATE_BYTES random bytes, base64url. */
int oa2_state_new(struct oa2_buf *state);

/* 1 if a[0..alen) equals b[0..blen), else 0.  The time taken depends on
 * the lengths only, not on the contents.  (A predicate, not an error
 * code: 1 means equal.) */
int oa2_const_eq(const char *a, size_t alen, const char *b, size_t blen);

#endif
