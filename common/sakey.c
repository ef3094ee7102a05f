/*
 * sakey.c: parse a Google service account's JSON key file.
 *
 * TRUST: the file is the administrator's, downloaded from the Cloud
 * console; still size-capped (secretfile.c) and parsed with bounded depth,
 * and every field used is checked for length and for characters a JWT's
 * JSON strings may hold.
 * SECRETS: private_key.  The file's bytes sit in a wiping buffer; json.c
 * wipes the tokener's copy and oa2_json_free the tree's strings (the key
 * is a top-level member); the PEM text is handed to OpenSSL from the tree
 * and the EVP_PKEY is freed by oa2_sa_key_free.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "jwt.h"
#include "sakey.h"
#include "secretfile.h"

/* Printable ASCII without quote or backslash: what goes into the JWT. */
static int
plain(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] > 0x7e ||
		    s[i] == '"' || s[i] == '\\')
			return 0;
	return 1;
}

static int
field(struct json_object *o, const char *name, char *dst, size_t dstsz,
    int required, const char *path, char *err, size_t errsz)
{
	const char *v;
	size_t n;

	dst[0] = '\0';
	if ((v = oa2_json_string(o, name, &n)) == NULL || n == 0) {
		if (!required)
			return 0;
		snprintf(err, errsz,
		    "%s has no \"%s\"; is it the JSON key file of a service "
		    "account (IAM & Admin > Service accounts > Keys > Add key "
		    "> "
		    "JSON)?",
		    path, name);
		return OA2_ERR_CONFIG;
	}
	if (n >= dstsz || !plain(v, n)) {
		snprintf(
		    err, errsz, "%s: \"%s\" is not a usable value", path, name);
		return OA2_ERR_CONFIG;
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

int
oa2_sa_key_parse(const char *text, size_t len, const char *path,
    struct oa2_sa_key *sa, char *err, size_t errsz)
{
	struct json_object *o;
	const char *pem;
	char type[64];
	size_t n;
	int r;

	memset(sa, 0, sizeof(*sa));
	if ((o = oa2_json_parse(text, len, 8)) == NULL ||
	    !json_object_is_type(o, json_type_object)) {
		snprintf(err, errsz,
		    "%s is not JSON; service_account_file must be the "
		    "service account's JSON key file as downloaded",
		    path);
		r = OA2_ERR_CONFIG;
		goto out;
	}
	if ((r = field(o, "type", type, sizeof(type), 1, path, err, errsz)) !=
	    0)
		goto out;
	if (strcmp(type, "service_account") != 0) {
		/* An OAuth client's file (client_secret_*.json) or an
		 * external account's: not a service account key. */
		snprintf(err, errsz,
		    "%s is of type \"%s\", not \"service_account\"; download "
		    "a key of the service account (IAM & Admin > Service "
		    "accounts > Keys > Add key > JSON)",
		    path, type);
		r = OA2_ERR_CONFIG;
		goto out;
	}
	if ((r = field(o, "client_email", sa->client_email,
		 sizeof(sa->client_email), 1, path, err, errsz)) != 0 ||
	    (r = field(o, "client_id", sa->client_id, sizeof(sa->client_id), 1,
		 path, err, errsz)) != 0 ||
	    (r = field(o, "private_key_id", sa->private_key_id,
		 sizeof(sa->private_key_id), 0, path, err, errsz)) != 0 ||
	    (r = field(o, "token_uri", sa->token_uri, sizeof(sa->token_uri), 0,
		 path, err, errsz)) != 0)
		goto out;
	if ((pem = oa2_json_string(o, "private_key", &n)) == NULL || n == 0) {
		snprintf(err, errsz, "%s has no \"private_key\"", path);
		r = OA2_ERR_CONFIG;
		goto out;
	}
	r = oa2_jwt_key_from_pem(
	    pem, n, path, "service_account_file", &sa->key, err, errsz);
out:
	oa2_json_free(o);
	if (r != 0)
		oa2_sa_key_free(sa);
	return r;
}

int
oa2_sa_key_load(
    const char *path, struct oa2_sa_key *sa, char *err, size_t errsz)
{
	struct oa2_buf text;
	int r;

	memset(sa, 0, sizeof(*sa));
	oa2_buf_init(&text, OA2_SECRET_FILE_MAX);
	if ((r = oa2_secretfile_read(path, &text, err, errsz)) == 0)
		r = oa2_sa_key_parse(text.data, text.len, path, sa, err, errsz);
	else if (r != OA2_ERR_PERM)
		r = OA2_ERR_CONFIG;
	oa2_buf_free(&text);
	return r;
}

void
oa2_sa_key_free(struct oa2_sa_key *sa)
{
	oa2_jwt_free_key(sa->key);
	sa->key = NULL;
}
