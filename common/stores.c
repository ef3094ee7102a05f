/*
 * stores.c: refresh tokens in the kernel persistent keyring, or in the
 * Secret Service (libsecret, optional at configure time, and loaded with
 * dlopen when an account first uses it: libsecret brings glib, gio and
 * gcrypt, 15 shared libraries that every start of the helper paid for,
 * although only store = secret-service needs them; docs/performance.md).
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
#include <dlfcn.h>
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

	if (oa2_opaque_check(e->refresh_token.data, e->refresh_token.len) !=
		0 ||
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
	if (oa2_opaque_check(p, (size_t)(end - p)) != 0)
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

/* The package that has it, for the message when it is missing. */
#define LIBSECRET_SONAME "libsecret-1.so.0"

/* What we call of libsecret (and of glib, which it loads). */
static struct {
	gchar *(*lookup)(const SecretSchema *, GCancellable *, GError **, ...);
	gboolean (*store)(const SecretSchema *, const gchar *, const gchar *,
	    const gchar *, GCancellable *, GError **, ...);
	gboolean (*clear)(const SecretSchema *, GCancellable *, GError **, ...);
	void (*password_free)(gchar *);
	void (*error_free)(GError *);
} lib;

static int
sym(void *h, const char *name, void *fp, size_t fpsz)
{
	void *p = dlsym(h, name);

	/* POSIX guarantees data and function pointers convert. */
	memcpy(fp, &p, fpsz);
	return p != NULL ? 0 : -1;
}

static int
secret_open(char *err, size_t errsz)
{
	void *h;

	if (lib.error_free != NULL)
		return 0;
	/* Never closed: glib's types cannot be unloaded. */
	if ((h = dlopen(LIBSECRET_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errsz,
		    "store = secret-service needs %s (Debian: apt install "
		    "libsecret-1-0), which cannot be loaded: %s; or use store "
		    "= file",
		    LIBSECRET_SONAME, dlerror());
		return OA2_ERR_UNAVAIL;
	}
	if (sym(h, "secret_password_lookup_sync", &lib.lookup,
		sizeof(lib.lookup)) != 0 ||
	    sym(h, "secret_password_store_sync", &lib.store,
		sizeof(lib.store)) != 0 ||
	    sym(h, "secret_password_clear_sync", &lib.clear,
		sizeof(lib.clear)) != 0 ||
	    sym(h, "secret_password_free", &lib.password_free,
		sizeof(lib.password_free)) != 0 ||
	    sym(h, "g_error_free", &lib.error_free, sizeof(lib.error_free)) !=
		0) {
		lib.error_free = NULL;
		snprintf(err, errsz,
		    "%s lacks the Secret Service password functions; use "
		    "store = file",
		    LIBSECRET_SONAME);
		return OA2_ERR_UNAVAIL;
	}
	return 0;
}

static int
secret_fail(GError *ge, const char *what, char *err, size_t errsz)
{
	snprintf(err, errsz,
	    "the Secret Service could not %s the refresh token: %s (is a "
	    "keyring daemon running and unlocked in this session?)",
	    what, ge != NULL ? ge->message : "unknown error");
	if (ge != NULL)
		lib.error_free(ge);
	return OA2_ERR_UNAVAIL;
}

int
oa2_sstore_load(
    const char *account, struct oa2_store_entry *e, char *err, size_t errsz)
{
	GError *ge = NULL;
	gchar *pw;
	int r;

	if ((r = oa2_store_account_check(account)) != 0 ||
	    (r = secret_open(err, errsz)) != 0)
		return r;
	pw = lib.lookup(&schema, NULL, &ge, "account", account, NULL);
	if (ge != NULL)
		return secret_fail(ge, "read", err, errsz);
	if (pw == NULL) {
		snprintf(err, errsz, "no refresh token in the Secret Service");
		return OA2_ERR_NOTFOUND;
	}
	r = oa2_rtrec_decode(pw, strlen(pw), e);
	lib.password_free(pw);
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

	if ((r = oa2_store_account_check(account)) != 0 ||
	    (r = secret_open(err, errsz)) != 0)
		return r;
	oa2_buf_init(&rec, RTREC_MAX);
	if ((r = oa2_rtrec_encode(e, &rec)) != 0) {
		snprintf(err, errsz, "invalid refresh token");
		goto out;
	}
	snprintf(
	    label, sizeof(label), "sasl-oauth2 refresh token (%s)", account);
	if (!lib.store(&schema, SECRET_COLLECTION_DEFAULT, label, rec.data,
		NULL, &ge, "account", account, NULL))
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

	if ((r = oa2_store_account_check(account)) != 0 ||
	    (r = secret_open(err, errsz)) != 0)
		return r;
	(void)lib.clear(&schema, NULL, &ge, "account", account, NULL);
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
