/*
 * stores.c: refresh tokens in the kernel persistent keyring, or in the
 * Secret Service (libsecret, optional at configure time).
 *
 * TRUST: records read back were written by this uid but are validated
 * like input (version line, digits, token syntax).
 * SECRETS: refresh tokens; the record buffers wipe, the keyring payload
 * copy is wiped, libsecret's returned password is freed with
 * secret_password_free (which clears it).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keyutils.h>
#ifdef HAVE_LIBSECRET
#include <libsecret/secret.h>
#endif

#include "err.h"
#include "stores.h"
#include "wire.h"

#define RTREC_MAGIC "sasl-oauth2-rt 1\n"
#define RTREC_MAX (OA2_TOKEN_MAX + 1200)
#define KEY_PREFIX "sasl-oauth2-rt:"

int
oa2_rtrec_encode(const struct oa2_store_entry *e, struct oa2_buf *out)
{
	char line[32];
	int r;

	if (oa2_token_check(e->refresh_token.data, e->refresh_token.len) != 0 ||
	    strchr(e->scope, '\n') != NULL)
		return OA2_ERR_INVAL;
	snprintf(line, sizeof(line), "%lld\n", e->updated);
	if ((r = oa2_buf_appendz(out, RTREC_MAGIC)) != 0 ||
	    (r = oa2_buf_appendz(out, line)) != 0 ||
	    (r = oa2_buf_appendz(out, e->scope)) != 0 ||
	    (r = oa2_buf_appendc(out, '\n')) != 0 ||
	    (r = oa2_buf_append(
		 out, e->refresh_token.data, e->refresh_token.len)) != 0)
		return r;
	return 0;
}

int
oa2_rtrec_decode(const char *rec, size_t len, struct oa2_store_entry *e)
{
	const size_t mlen = sizeof(RTREC_MAGIC) - 1;
	const char *p, *end = rec + len, *nl;
	long long v = 0;
	int digits = 0;

	oa2_buf_reset(&e->refresh_token);
	e->scope[0] = '\0';
	e->updated = e->refresh_expires = 0;
	if (len > RTREC_MAX || len < mlen ||
	    memcmp(rec, RTREC_MAGIC, mlen) != 0)
		return OA2_ERR_PARSE;
	for (p = rec + mlen; p < end && *p >= '0' && *p <= '9'; p++) {
		if (++digits > 18)
			return OA2_ERR_PARSE;
		v = v * 10 + (*p - '0');
	}
	if (digits == 0 || p >= end || *p++ != '\n')
		return OA2_ERR_PARSE;
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    (size_t)(nl - p) >= sizeof(e->scope))
		return OA2_ERR_PARSE;
	oa2_printable(e->scope, sizeof(e->scope), p, (size_t)(nl - p));
	p = nl + 1;
	if (oa2_token_check(p, (size_t)(end - p)) != 0)
		return OA2_ERR_PARSE;
	e->updated = v;
	return oa2_buf_append(&e->refresh_token, p, (size_t)(end - p));
}

/* ---- kernel persistent keyring -------------------------------------- */

static int
persistent(key_serial_t *ring, char *err, size_t errsz)
{
	/* Linked into our process keyring, so we possess it. */
	long k = keyctl_get_persistent(-1, KEY_SPEC_PROCESS_KEYRING);

	if (k < 0) {
		snprintf(err, errsz,
		    "the kernel persistent keyring is unavailable (%s); use "
		    "store = file",
		    strerror(errno));
		return OA2_ERR_UNAVAIL;
	}
	*ring = (key_serial_t)k;
	return 0;
}

static int
desc_for(const char *account, char *desc, size_t n)
{
	int w = snprintf(desc, n, KEY_PREFIX "%s", account);

	return w > 0 && (size_t)w < n ? 0 : OA2_ERR_TOOBIG;
}

int
oa2_kstore_load(
    const char *account, struct oa2_store_entry *e, char *err, size_t errsz)
{
	char desc[128];
	key_serial_t ring = 0;
	void *payload = NULL;
	long key, n;
	int r;

	if ((r = oa2_store_account_check(account)) != 0 ||
	    (r = desc_for(account, desc, sizeof(desc))) != 0 ||
	    (r = persistent(&ring, err, errsz)) != 0)
		return r;
	if ((key = keyctl_search(ring, "user", desc, 0)) < 0) {
		snprintf(err, errsz,
		    "no refresh token in the persistent "
		    "keyring");
		return OA2_ERR_NOTFOUND;
	}
	if ((n = keyctl_read_alloc((key_serial_t)key, &payload)) < 0) {
		snprintf(err, errsz, "cannot read the persistent keyring: %s",
		    strerror(errno));
		return OA2_ERR_IO;
	}
	r = oa2_rtrec_decode(payload, (size_t)n, e);
	explicit_bzero(payload, (size_t)n);
	free(payload);
	if (r != 0)
		snprintf(err, errsz,
		    "the refresh token in the persistent keyring is "
		    "unreadable");
	return r;
}

int
oa2_kstore_save(const char *account, const struct oa2_store_entry *e, char *err,
    size_t errsz)
{
	struct oa2_buf rec;
	char desc[128];
	key_serial_t ring = 0, key;
	int r;

	if ((r = oa2_store_account_check(account)) != 0 ||
	    (r = desc_for(account, desc, sizeof(desc))) != 0 ||
	    (r = persistent(&ring, err, errsz)) != 0)
		return r;
	oa2_buf_init(&rec, RTREC_MAX);
	if ((r = oa2_rtrec_encode(e, &rec)) != 0) {
		snprintf(err, errsz, "invalid refresh token");
		goto out;
	}
	/* add_key replaces the payload of an existing key atomically. */
	key = add_key("user", desc, rec.data, rec.len, ring);
	if (key < 0) {
		snprintf(err, errsz, "cannot write the persistent keyring: %s",
		    strerror(errno));
		r = errno == EDQUOT ? OA2_ERR_QUOTA : OA2_ERR_IO;
		goto out;
	}
	/* Possessor only: nobody reads it without holding the keyring. */
	(void)keyctl_setperm(key, 0x3f010000u);
	r = 0;
out:
	oa2_buf_free(&rec);
	return r;
}

int
oa2_kstore_delete(const char *account, char *err, size_t errsz)
{
	char desc[128];
	key_serial_t ring = 0;
	long key;
	int r;

	if ((r = oa2_store_account_check(account)) != 0 ||
	    (r = desc_for(account, desc, sizeof(desc))) != 0 ||
	    (r = persistent(&ring, err, errsz)) != 0)
		return r;
	if ((key = keyctl_search(ring, "user", desc, 0)) < 0)
		return 0;
	if (keyctl_invalidate((key_serial_t)key) < 0) {
		snprintf(
		    err, errsz, "cannot remove the key: %s", strerror(errno));
		return OA2_ERR_IO;
	}
	return 0;
}

/* ---- Secret Service ----------------------------------------------------- */

#ifdef HAVE_LIBSECRET
static const SecretSchema schema = {"org.sasl-oauth2.RefreshToken",
    SECRET_SCHEMA_NONE,
    {{"account", SECRET_SCHEMA_ATTRIBUTE_STRING},
	{NULL, SECRET_SCHEMA_ATTRIBUTE_STRING}},
    0, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

static int
secret_fail(GError *ge, const char *what, char *err, size_t errsz)
{
	snprintf(err, errsz,
	    "the Secret Service could not %s the refresh token: %s (is a "
	    "keyring daemon running and unlocked in this session?)",
	    what, ge != NULL ? ge->message : "unknown error");
	if (ge != NULL)
		g_error_free(ge);
	return OA2_ERR_UNAVAIL;
}

int
oa2_sstore_load(
    const char *account, struct oa2_store_entry *e, char *err, size_t errsz)
{
	GError *ge = NULL;
	gchar *pw;
	int r;

	if ((r = oa2_store_account_check(account)) != 0)
		return r;
	pw = secret_password_lookup_sync(
	    &schema, NULL, &ge, "account", account, NULL);
	if (ge != NULL)
		return secret_fail(ge, "read", err, errsz);
	if (pw == NULL) {
		snprintf(err, errsz, "no refresh token in the Secret Service");
		return OA2_ERR_NOTFOUND;
	}
	r = oa2_rtrec_decode(pw, strlen(pw), e);
	secret_password_free(pw);
	if (r != 0)
		snprintf(err, errsz,
		    "the refresh token in the Secret Service is unreadable");
	return r;
}

int
oa2_sstore_save(const char *account, const struct oa2_store_entry *e, char *err,
    size_t errsz)
{
	struct oa2_buf rec;
	GError *ge = NULL;
	char label[128];
	int r;

	if ((r = oa2_store_account_check(account)) != 0)
		return r;
	oa2_buf_init(&rec, RTREC_MAX);
	if ((r = oa2_rtrec_encode(e, &rec)) != 0) {
		snprintf(err, errsz, "invalid refresh token");
		goto out;
	}
	snprintf(
	    label, sizeof(label), "sasl-oauth2 refresh token (%s)", account);
	if (!secret_password_store_sync(&schema, SECRET_COLLECTION_DEFAULT,
		label, rec.data, NULL, &ge, "account", account, NULL))
		r = secret_fail(ge, "store", err, errsz);
out:
	oa2_buf_free(&rec);
	return r;
}

int
oa2_sstore_delete(const char *account, char *err, size_t errsz)
{
	GError *ge = NULL;
	int r;

	if ((r = oa2_store_account_check(account)) != 0)
		return r;
	(void)secret_password_clear_sync(
	    &schema, NULL, &ge, "account", account, NULL);
	return ge != NULL ? secret_fail(ge, "delete", err, errsz) : 0;
}
#else
static int
no_libsecret(char *err, size_t errsz)
{
	snprintf(err, errsz,
	    "store = secret-service needs a build with libsecret "
	    "(./configure finds libsecret-1-dev); use store = file");
	return OA2_ERR_UNAVAIL;
}

int
oa2_sstore_load(
    const char *account, struct oa2_store_entry *e, char *err, size_t errsz)
{
	return no_libsecret(err, errsz);
}

int
oa2_sstore_save(const char *account, const struct oa2_store_entry *e, char *err,
    size_t errsz)
{
	return no_libsecret(err, errsz);
}

int
oa2_sstore_delete(const char *account, char *err, size_t errsz)
{
	return no_libsecret(err, errsz);
}
#endif
