/*
 * jwt.c: build and sign client assertions with OpenSSL.
 *
 * TRUST: the key and certificate files are the administrator's; the key
 * file must pass the secret-file checks.
 * SECRETS: the private key (an EVP_PKEY, freed with EVP_PKEY_free, which
 * clears RSA key material) and the PEM text (a wiping buffer).  The
 * assertion itself is a credential for its 5 minutes: the caller's form
 * buffer wipes it.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base64.h"
#include "err.h"
#include "jwt.h"
#include "pkce.h"
#include "secretfile.h"

/* OpenSSL's default pass phrase callback opens /dev/tty and asks there,
 * which takes over the host's screen (mutt) until the plugin gives up.
 * This one never asks: it notes that a pass phrase was wanted. */
static int
no_passphrase(char *buf, int size, int rwflag, void *wanted)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)wanted = 1;
	return -1;
}

int
oa2_jwt_key_from_pem(const char *pem, size_t len, const char *path,
    const char *key_name, void **key, char *err, size_t errsz)
{
	EVP_PKEY *k = NULL;
	BIO *bio;
	int encrypted = 0;

	*key = NULL;
	if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return OA2_ERR_NOMEM;
	k = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, &encrypted);
	BIO_free(bio);
	if (k == NULL && encrypted) {
		snprintf(err, errsz,
		    "%s is encrypted, and nothing here could type its pass "
		    "phrase; keep the key unencrypted, readable by this user "
		    "only: openssl pkey -in %s -out KEY.pem, then chmod 600 "
		    "KEY.pem and set %s to it",
		    path, path, key_name);
		return OA2_ERR_CONFIG;
	}
	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		snprintf(err, errsz,
		    "%s is not an unencrypted PEM RSA private key", path);
		EVP_PKEY_free(k);
		return OA2_ERR_CONFIG;
	}
	*key = k;
	return 0;
}

int
oa2_jwt_load_key(const char *path, void **key, char *err, size_t errsz)
{
	struct oa2_buf pem;
	int r;

	*key = NULL;
	oa2_buf_init(&pem, OA2_SECRET_FILE_MAX);
	if ((r = oa2_secretfile_read(path, &pem, err, errsz)) == 0)
		r = oa2_jwt_key_from_pem(pem.data, pem.len, path,
		    "client_key_file", key, err, errsz);
	oa2_buf_free(&pem);
	return r;
}

void
oa2_jwt_free_key(void *key)
{
	EVP_PKEY_free(key);
}

int
oa2_jwt_cert_thumbprint(
    const char *path, unsigned char out[32], char *err, size_t errsz)
{
	unsigned int n = 32;
	X509 *cert;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errsz, "cannot open certificate %s", path);
		return OA2_ERR_CONFIG;
	}
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (cert == NULL) {
		snprintf(err, errsz, "%s is not a PEM certificate", path);
		return OA2_ERR_CONFIG;
	}
	if (X509_digest(cert, EVP_sha256(), out, &n) != 1 || n != 32) {
		X509_free(cert);
		snprintf(err, errsz, "cannot hash certificate %s", path);
		return OA2_ERR_CONFIG;
	}
	X509_free(cert);
	return 0;
}

int
oa2_jwt_cert_not_after(
    const char *path, time_t *not_after, char *err, size_t errsz)
{
	const ASN1_TIME *na;
	struct tm tm;
	X509 *cert;
	FILE *f;
	int r = 0;

	*not_after = 0;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errsz, "cannot open certificate %s", path);
		return OA2_ERR_CONFIG;
	}
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (cert == NULL) {
		snprintf(err, errsz, "%s is not a PEM certificate", path);
		return OA2_ERR_CONFIG;
	}
	memset(&tm, 0, sizeof(tm));
	if ((na = X509_get0_notAfter(cert)) == NULL ||
	    ASN1_TIME_to_tm(na, &tm) != 1) {
		snprintf(err, errsz, "%s has no readable expiry date", path);
		r = OA2_ERR_CONFIG;
	} else {
		*not_after = timegm(&tm);
	}
	X509_free(cert);
	return r;
}

static int
append_b64url(struct oa2_buf *out, const void *p, size_t n)
{
	return oa2_b64_encode(p, n, OA2_B64_URL_NOPAD, out);
}

/* Client ids and URLs go into JSON strings: refuse what would need
 * escaping rather than escape it. */
static int
json_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\' ||
		    (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* base64url(hdr).base64url(claims).base64url(RS256 signature) into out. */
static int
sign_compact(void *key, const struct oa2_buf *hdr, const struct oa2_buf *claims,
    struct oa2_buf *out)
{
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = NULL;
	int r;

	if ((r = append_b64url(out, hdr->data, hdr->len)) != 0 ||
	    (r = oa2_buf_appendc(out, '.')) != 0 ||
	    (r = append_b64url(out, claims->data, claims->len)) != 0)
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)out->data,
		out->len) != 1) {
		r = OA2_ERR_CONFIG;
		goto out;
	}
	if ((r = oa2_buf_appendc(out, '.')) == 0)
		r = append_b64url(out, sig, siglen);
out:
	EVP_MD_CTX_free(md);
	return r;
}

int
oa2_jwt_assertion(void *key, const unsigned char *thumbprint,
    const char *client_id, const char *audience, time_t now,
    struct oa2_buf *out)
{
	struct oa2_buf hdr, claims, jti, x5t;
	int r;

	oa2_buf_init(&hdr, 512);
	oa2_buf_init(&claims, 4096);
	oa2_buf_init(&jti, 128);
	oa2_buf_init(&x5t, 128);
	oa2_buf_reset(out);
	if (!json_safe(client_id) || !json_safe(audience)) {
		r = OA2_ERR_INVAL;
		goto out;
	}
	if ((r = oa2_random_b64url(24, &jti)) != 0)
		goto out;
	if (thumbprint != NULL &&
	    (r = append_b64url(&x5t, thumbprint, 32)) != 0)
		goto out;
	if ((r = oa2_buf_appendz(&hdr, "{\"alg\":\"RS256\",\"typ\":\"JWT\"")) !=
		0 ||
	    (thumbprint != NULL &&
		((r = oa2_buf_appendz(&hdr, ",\"x5t#S256\":\"")) != 0 ||
		    (r = oa2_buf_appendz(&hdr, x5t.data)) != 0 ||
		    (r = oa2_buf_appendc(&hdr, '"')) != 0)) ||
	    (r = oa2_buf_appendc(&hdr, '}')) != 0)
		goto out;
	{
		char line[1536];
		int n = snprintf(line, sizeof(line),
		    "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\","
		    "\"jti\":\"%s\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
		    client_id, client_id, audience, jti.data, (long long)now,
		    (long long)now, (long long)now + OA2_JWT_LIFETIME);
		if (n < 0 || (size_t)n >= sizeof(line)) {
			r = OA2_ERR_TOOBIG;
			goto out;
		}
		if ((r = oa2_buf_appendz(&claims, line)) != 0)
			goto out;
	}
	r = sign_compact(key, &hdr, &claims, out);
out:
	oa2_buf_free(&hdr);
	oa2_buf_free(&claims);
	oa2_buf_free(&jti);
	oa2_buf_free(&x5t);
	if (r != 0)
		oa2_buf_reset(out);
	return r;
}

/*
 * RFC 7523 2.1, as Google's server-to-server flow wants it
 * (developers.google.com/identity/protocols/oauth2/service-account):
 * header {"alg":"RS256","typ":"JWT","kid":private_key_id}, claims iss (the
 * service account's email), scope (space-separated), aud (the token
 * endpoint), iat, exp at most an hour later, and sub, the mailbox acted
 * for under domain-wide delegation.
 */
int
oa2_jwt_grant_assertion(void *key, const char *kid, const char *iss,
    const char *scope, const char *audience, const char *sub, time_t now,
    struct oa2_buf *out)
{
	struct oa2_buf hdr, claims;
	char line[3072];
	int n, r;

	oa2_buf_init(&hdr, 512);
	oa2_buf_init(&claims, 4096);
	oa2_buf_reset(out);
	if ((kid != NULL && !json_safe(kid)) || !json_safe(iss) ||
	    !json_safe(scope) || !json_safe(audience) || !json_safe(sub)) {
		r = OA2_ERR_INVAL;
		goto out;
	}
	n = snprintf(line, sizeof(line),
	    "{\"alg\":\"RS256\",\"typ\":\"JWT\"%s%s%s}",
	    kid != NULL ? ",\"kid\":\"" : "", kid != NULL ? kid : "",
	    kid != NULL ? "\"" : "");
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    (r = oa2_buf_appendz(&hdr, line)) != 0) {
		r = OA2_ERR_TOOBIG;
		goto out;
	}
	n = snprintf(line, sizeof(line),
	    "{\"iss\":\"%s\",\"scope\":\"%s\",\"aud\":\"%s\",\"sub\":\"%s\","
	    "\"iat\":%lld,\"exp\":%lld}",
	    iss, scope, audience, sub, (long long)now,
	    (long long)now + OA2_JWT_GRANT_LIFETIME);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    (r = oa2_buf_appendz(&claims, line)) != 0) {
		r = OA2_ERR_TOOBIG;
		goto out;
	}
	r = sign_compact(key, &hdr, &claims, out);
out:
	oa2_buf_free(&hdr);
	oa2_buf_free(&claims);
	if (r != 0)
		oa2_buf_reset(out);
	return r;
}
