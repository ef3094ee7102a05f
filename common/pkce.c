/*
 * pkce.c: PKCE verifier and challenge (RFC 7636), state, constant-time
 * comparison.
 *
 * TRUST: oa2_const_eq compares the state that came back through the
 * browser (untrusted) with ours; it leaks lengths only.
 * SECRETS: the verifier goes into the caller's wiping buffer; the raw
 * random bytes are wiped here.  The challenge and the SHA-256 digest are
 * public by design.  State is not secret once sent, but is unguessable.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base64.h"
#include "err.h"
#include "pkce.h"

/* getrandom(2) may return short reads for large requests or on signals. */
static int
fill_random(unsigned char *p, size_t n)
{
	ssize_t got;

	while (n > 0) {
		got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return OA2_ERR_IO;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

int
oa2_random_b64url(size_t nbytes, struct oa2_buf *out)
{
	unsigned char raw[OA2_RANDOM_MAX];
	int r;

	oa2_buf_reset(out);
	if (nbytes == 0 || nbytes > sizeof(raw))
		return OA2_ERR_INVAL;
	if ((r = fill_random(raw, nbytes)) != 0)
		goto out;
	r = oa2_b64_encode(raw, nbytes, OA2_B64_URL_NOPAD, out);
out:
	explicit_bzero(raw, sizeof(raw));
	if (r != 0)
		oa2_buf_reset(out);
	return r;
}

static int
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

int
oa2_pkce_challenge(const char *verifier, size_t len, struct oa2_buf *challenge)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t i;
	int r;

	oa2_buf_reset(challenge);
	if (len < OA2_PKCE_VERIFIER_MIN || len > OA2_PKCE_VERIFIER_MAX)
		return OA2_ERR_INVAL;
	for (i = 0; i < len; i++)
		if (!is_unreserved((unsigned char)verifier[i]))
			return OA2_ERR_INVAL;
	if (EVP_Digest(verifier, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return OA2_ERR_NOMEM; /* EVP fails on allocation only */
	if ((r = oa2_b64_encode(md, mdlen, OA2_B64_URL_NOPAD, challenge)) != 0)
		oa2_buf_reset(challenge);
	return r;
}

int
oa2_pkce_new(struct oa2_buf *verifier, struct oa2_buf *challenge)
{
	int r;

	oa2_buf_reset(challenge);
	if ((r = oa2_random_b64url(OA2_PKCE_VERIFIER_BYTES, verifier)) != 0)
		goto out;
	r = oa2_pkce_challenge(verifier->data, verifier->len, challenge);
out:
	if (r != 0) {
		oa2_buf_reset(verifier);
		oa2_buf_reset(challenge);
	}
	return r;
}

int
oa2_state_new(struct oa2_buf *state)
{
	return oa2_random_b64url(OA2_STATE_BYTES, state);
}

int
oa2_const_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	/* OpenSSL's CRYPTO_memcmp, not a loop of our own that a compiler
	 * could shorten. */
	return alen == blen && CRYPTO_memcmp(a, b, alen) == 0;
}
