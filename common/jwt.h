/*
 * jwt.h: client assertions for private_key_jwt client authentication
 * (RFC 7523, OIDC Core 9): an RS256-signed JWT naming the client, the
 * token endpoint and a fresh jti, with the certificate's SHA-256
 * thumbprint (x5t#S256) so Entra can pick the registered certificate.
 */
#ifndef OA2_JWT_H
#define OA2_JWT_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

#define OA2_JWT_LIFETIME 300

/* RFC 7523 2.1 authorization grants (Google service accounts): Google
 * takes an assertion valid for an hour at most. */
#define OA2_JWT_GRANT_LIFETIME 3600

/* Load a PEM private key from a secret file (refused when others can read
 * it); *key is an EVP_PKEY *.  RSA only (RS256). */
int oa2_jwt_load_key(const char *path, void **key, char *err, size_t errsz);
/* The same from PEM text in memory (a JSON key file's private_key); path
 * and key_name (the configuration key) only name it in err. */
int oa2_jwt_key_from_pem(const char *pem, size_t len, const char *path,
    const char *key_name, void **key, char *err, size_t errsz);
void oa2_jwt_free_key(void *key);
/* SHA-256 over the DER of the PEM certificate at path. */
int oa2_jwt_cert_thumbprint(
    const char *path, unsigned char out[32], char *err, size_t errsz);
/* The notAfter time of the PEM certificate at path (doctor, notify). */
int oa2_jwt_cert_not_after(
    const char *path, time_t *not_after, char *err, size_t errsz);
/* header.claims.signature into out.  thumbprint may be NULL. */
int oa2_jwt_assertion(void *key, const unsigned char *thumbprint,
    const char *client_id, const char *audience, time_t now,
    struct oa2_buf *out);

/* An RFC 7523 2.1 authorization grant assertion: iss, scope, aud, sub,
 * iat, exp = iat + OA2_JWT_GRANT_LIFETIME; kid (may be NULL) names the key
 * in the header. */
int oa2_jwt_grant_assertion(void *key, const char *kid, const char *iss,
    const char *scope, const char *audience, const char *sub, time_t now,
    struct oa2_buf *out);

#endif
