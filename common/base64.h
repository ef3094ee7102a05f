/*
 * base64.h: RFC 4648 base64 and base64url encoding.
 */
#ifndef OA2_BASE64_H
#define OA2_BASE64_H

#include <stddef.h>

#include "buf.h"

enum oa2_b64_variant {
	OA2_B64_STD,	  /* '+' '/' with '=' padding */
	OA2_B64_URL_NOPAD /* '-' '_' without padding (PKCE, JWT) */
};

int oa2_b64_encode(
    const void *in, size_t n, enum oa2_b64_variant v, struct oa2_buf *out);

#endif
