/*
 * import.c: read the token files of sasl-xoauth2 and mutt_oauth2.py
 * (formats in import.h) for "sasl-oauth2 import".
 *
 * TRUST: the files come from another program and may be stale, damaged
 * or hand-edited: size-capped by the caller, depth-capped here, every
 * member used type- and syntax-checked; messages name members, never
 * their values.
 * SECRETS: refresh tokens and client secrets, copied into wiping buffers;
 * the json-c tree's strings are wiped before it is freed (oa2_json_free).
 * Access tokens are never copied.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "json.h"

#include "conf.h"
#include "err.h"
#include "import.h"
#include "wire.h"

#define JSON_DEPTH 4 /* the files are flat objects */
/* Room for "key = " on a line of the configuration. */
#define VALUE_MAX (OA2_CONFIG_LINE_MAX - 64)

void
oa2_import_init(struct oa2_import *im)
{
	memset(im, 0, sizeof(*im));
	oa2_buf_init(&im->client_secret, OA2_TOKEN_MAX);
	oa2_buf_init(&im->refresh_token, OA2_TOKEN_MAX);
}

void
oa2_import_free(struct oa2_import *im)
{
	oa2_buf_free(&im->client_secret);
	oa2_buf_free(&im->refresh_token);
	/* sasl-xoauth2's proxy may hold a password (refused, never kept) */
	explicit_bzero(im->proxy, sizeof(im->proxy));
}

int
oa2_import_value_check(const char *s, size_t max)
{
	size_t i, n = strnlen(s, max + 1);

	if (n == 0 || n > max || s[0] == ' ' || s[n - 1] == ' ')
		return OA2_ERR_INVAL;
	for (i = 0; i < n; i++)
		if (s[i] < ' ' || s[i] > '~')
			return OA2_ERR_INVAL;
	return 0;
}

int
oa2_import_url_check(const char *url)
{
	if (oa2_import_value_check(url, OA2_IMPORT_URL_MAX - 1) != 0 ||
	    strchr(url, ' ') != NULL)
		return OA2_ERR_INVAL;
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		return OA2_ERR_INVAL;
	return 0;
}

/* A mailbox we can write as "user": also no list separators. */
static int
mailbox_ok(const char *s)
{
	return oa2_import_value_check(s, OA2_MAILBOX_MAX) == 0 &&
	    oa2_mailbox_check(s) == 0 && strpbrk(s, ", \t") == NULL &&
	    strchr(s, '@') != NULL;
}

static int
parse_object(
    const char *text, size_t len, struct oa2_import *im, struct json_object **o)
{
	*o = oa2_json_parse(text, len, JSON_DEPTH);
	if (*o != NULL && json_object_is_type(*o, json_type_object))
		return 0;
	oa2_json_free(*o);
	*o = NULL;
	snprintf(im->problem, sizeof(im->problem), "is not a JSON object");
	return OA2_ERR_PARSE;
}

/* Member key as a string: 1 with *s, *n; 0 when absent (or null, which
 * the tools read as ""); -1 when of another type (problem set). */
static int
member(struct json_object *o, const char *key, struct oa2_import *im,
    const char **s, size_t *n)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(im->problem, sizeof(im->problem),
		    "has a %s that is not a string", key);
		return -1;
	}
	*s = json_object_get_string(v);
	*n = (size_t)json_object_get_string_len(v);
	return 1;
}

/* A yes/no member, as sasl-xoauth2 reads one ("yes", "true", or a JSON
 * boolean); absent is no. */
static int
member_yes(struct json_object *o, const char *key)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	if (!json_object_is_type(v, json_type_string))
		return 0;
	s = json_object_get_string(v);
	return strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0;
}

/* Copy a text member through check into dst; "" counts as absent. */
static int
take_text(struct json_object *o, const char *key, struct oa2_import *im,
    char *dst, size_t dstsz, int (*ok)(const char *, size_t), size_t max)
{
	const char *s;
	size_t n;
	int m = member(o, key, im, &s, &n);

	if (m < 0)
		return OA2_ERR_PARSE;
	if (m == 0 || n == 0)
		return 0;
	if (n >= dstsz || memchr(s, '\0', n) != NULL || ok(s, max) != 0) {
		snprintf(im->problem, sizeof(im->problem),
		    "has a %s that cannot be used (%u bytes)", key,
		    (unsigned)n);
		return OA2_ERR_PARSE;
	}
	memcpy(dst, s, n + 1);
	return 0;
}

static int
url_ok(const char *s, size_t max)
{
	(void)max;
	return oa2_import_url_check(s);
}

static int
id_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n <= max && oa2_opaque_check(s, n) == 0 ? 0 : OA2_ERR_INVAL;
}

static int
user_ok(const char *s, size_t max)
{
	(void)max;
	return mailbox_ok(s) ? 0 : OA2_ERR_INVAL;
}

/* A secret member into a wiping buffer; "" is kept (a public client). */
static int
take_secret(struct json_object *o, const char *key, struct oa2_import *im,
    struct oa2_buf *dst, int *have)
{
	const char *s;
	size_t n;
	int m = member(o, key, im, &s, &n);

	if (m < 0)
		return OA2_ERR_PARSE;
	if (m == 0)
		return 0;
	if (n > 0 && oa2_opaque_check(s, n) != 0) {
		snprintf(im->problem, sizeof(im->problem),
		    "has a %s that is not a token (%u bytes; visible ASCII "
		    "without spaces expected)",
		    key, (unsigned)n);
		return OA2_ERR_PARSE;
	}
	oa2_buf_reset(dst);
	if (have != NULL)
		*have = 1;
	return oa2_buf_append(dst, s, n);
}

/* The members both sasl-xoauth2 files may hold. */
static int
xoauth2_common(struct json_object *o, struct oa2_import *im)
{
	int r;

	if ((r = take_text(o, "client_id", im, im->client_id,
		 sizeof(im->client_id), id_ok, OA2_IMPORT_ID_MAX)) != 0 ||
	    (r = take_secret(o, "client_secret", im, &im->client_secret,
		 &im->have_client_secret)) != 0 ||
	    (r = take_text(o, "token_endpoint", im, im->token_endpoint,
		 sizeof(im->token_endpoint), url_ok, 0)) != 0 ||
	    (r = take_text(o, "ca_bundle_file", im, im->ca_file,
		 sizeof(im->ca_file), oa2_import_value_check,
		 sizeof(im->ca_file) - 1)) != 0 ||
	    /* libcurl's CURLOPT_PROXY there; checked by the importer, and
	     * never quoted here: it may hold a password. */
	    (r = take_text(o, "proxy", im, im->proxy, sizeof(im->proxy),
		 oa2_import_value_check, sizeof(im->proxy) - 1)) != 0)
		return r;
	if (json_object_object_get_ex(o, "ca_certs_dir", NULL))
		im->ca_dir = 1;
	if (member_yes(o, "use_client_credentials"))
		im->client_credentials = 1;
	if (member_yes(o, "manage_token_externally"))
		im->external = 1;
	return 0;
}

int
oa2_import_xoauth2_config(const char *text, size_t len, struct oa2_import *im)
{
	struct json_object *o;
	int r;

	im->problem[0] = '\0';
	if ((r = parse_object(text, len, im, &o)) != 0)
		return r;
	r = xoauth2_common(o, im);
	oa2_json_free(o);
	return r;
}

int
oa2_import_xoauth2_token(const char *text, size_t len, struct oa2_import *im)
{
	struct json_object *o;
	const char *s;
	size_t n;
	int r, m;

	im->problem[0] = '\0';
	if ((r = parse_object(text, len, im, &o)) != 0)
		return r;
	if ((r = xoauth2_common(o, im)) != 0 ||
	    (r = take_text(
		 o, "user", im, im->user, sizeof(im->user), user_ok, 0)) != 0 ||
	    (r = take_text(o, "scope", im, im->scope, sizeof(im->scope),
		 oa2_import_value_check, sizeof(im->scope) - 1)) != 0)
		goto out;
	if ((m = member(o, "refresh_token", im, &s, &n)) < 0) {
		r = OA2_ERR_PARSE;
		goto out;
	}
	if (m == 0 || n == 0) {
		snprintf(
		    im->problem, sizeof(im->problem), "has no refresh_token");
		r = OA2_ERR_NOTFOUND;
		goto out;
	}
	r = take_secret(o, "refresh_token", im, &im->refresh_token, NULL);
out:
	oa2_json_free(o);
	return r;
}

int
oa2_import_mutt(const char *text, size_t len, struct oa2_import *im)
{
	struct json_object *o;
	const char *s;
	size_t n;
	int r, m;

	im->problem[0] = '\0';
	if ((r = parse_object(text, len, im, &o)) != 0)
		return r;
	if ((r = take_text(o, "registration", im, im->registration,
		 sizeof(im->registration), oa2_import_value_check,
		 sizeof(im->registration) - 1)) != 0 ||
	    (r = take_text(o, "email", im, im->user, sizeof(im->user), user_ok,
		 0)) != 0 ||
	    (r = take_text(o, "client_id", im, im->client_id,
		 sizeof(im->client_id), id_ok, OA2_IMPORT_ID_MAX)) != 0 ||
	    (r = take_secret(o, "client_secret", im, &im->client_secret,
		 &im->have_client_secret)) != 0)
		goto out;
	if (im->registration[0] == '\0') {
		snprintf(im->problem, sizeof(im->problem),
		    "has no registration (is it a mutt_oauth2.py token "
		    "file?)");
		r = OA2_ERR_PARSE;
		goto out;
	}
	if (member(o, "authflow", im, &s, &n) == 1 && n == 10 &&
	    memcmp(s, "devicecode", 10) == 0)
		im->device = 1;
	if ((m = member(o, "refresh_token", im, &s, &n)) < 0) {
		r = OA2_ERR_PARSE;
		goto out;
	}
	if (m == 0 || n == 0) {
		snprintf(im->problem, sizeof(im->problem),
		    "has no refresh token (the script writes one at its "
		    "first authorization)");
		r = OA2_ERR_NOTFOUND;
		goto out;
	}
	r = take_secret(o, "refresh_token", im, &im->refresh_token, NULL);
out:
	oa2_json_free(o);
	return r;
}

/* The tenant of https://login.microsoftonline.com/TENANT/oauth2/v2.0/token:
 * a tenant id or domain. */
static int
ms_tenant(const char *url, char *tenant, size_t tenantsz)
{
	static const char host[] = "https://login.microsoftonline.com/";
	static const char path[] = "/oauth2/v2.0/token";
	const char *t = url + sizeof(host) - 1, *e;
	size_t n;

	if (strncmp(url, host, sizeof(host) - 1) != 0 ||
	    (e = strchr(t, '/')) == NULL || strcmp(e, path) != 0)
		return 0;
	n = (size_t)(e - t);
	if (n == 0 || n > OA2_IMPORT_TENANT_MAX || n >= tenantsz ||
	    strspn(t,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789.-") < n)
		return 0;
	memcpy(tenant, t, n);
	tenant[n] = '\0';
	return 1;
}

void
oa2_import_preset(const char *url, const char **provider, char *tenant,
    size_t tenantsz, int *is_preset)
{
	/* Google documents the first; the others are its older names,
	 * still served (sasl-xoauth2 and mutt_oauth2.py use the second). */
	static const char *const google[] = {
	    "https://oauth2.googleapis.com/token",
	    "https://accounts.google.com/o/oauth2/token",
	    "https://www.googleapis.com/oauth2/v4/token",
	};
	size_t i;

	if (tenantsz > 0)
		tenant[0] = '\0';
	*is_preset = 0;
	*provider = "generic";
	if (ms_tenant(url, tenant, tenantsz)) {
		*provider = "microsoft";
		*is_preset = 1;
		return;
	}
	for (i = 0; i < sizeof(google) / sizeof(google[0]); i++)
		if (strcmp(url, google[i]) == 0) {
			*provider = "google";
			*is_preset = 1;
			return;
		}
}

static int
line(struct oa2_buf *out, const char *key, const char *value, const char **bad)
{
	int r;

	if (value == NULL)
		return 0;
	if (oa2_import_value_check(value, VALUE_MAX) != 0) {
		*bad = key;
		return OA2_ERR_INVAL;
	}
	if ((r = oa2_buf_appendz(out, key)) != 0 ||
	    (r = oa2_buf_appendz(out, " = ")) != 0 ||
	    (r = oa2_buf_appendz(out, value)) != 0)
		return r;
	return oa2_buf_appendc(out, '\n');
}

int
oa2_import_section(
    const struct oa2_import_section *s, struct oa2_buf *out, const char **bad)
{
	char from[512], head[768];
	int r;

	*bad = NULL;
	if (s->account == NULL || oa2_import_value_check(s->account, 64) != 0 ||
	    strchr(s->account, ' ') != NULL || strchr(s->account, ']')) {
		*bad = "account";
		return OA2_ERR_INVAL;
	}
	oa2_printable(from, sizeof(from), s->from ? s->from : "",
	    s->from ? strlen(s->from) : 0);
	snprintf(head, sizeof(head),
	    "\n# Imported from %s (%s) by sasl-oauth2 import on %s.\n"
	    "[account %s]\n",
	    s->source, from, s->date, s->account);
	if ((r = oa2_buf_appendz(out, head)) != 0 ||
	    (r = line(out, "user", s->user, bad)) != 0 ||
	    (r = line(out, "provider", s->provider, bad)) != 0 ||
	    (r = line(out, "tenant", s->tenant, bad)) != 0 ||
	    (r = line(out, "token_endpoint", s->token_endpoint, bad)) != 0 ||
	    (r = line(out, "client_id", s->client_id, bad)) != 0 ||
	    (r = line(out, "client_secret_file", s->client_secret_file, bad)) !=
		0 ||
	    (r = line(out, "client_auth", s->client_auth, bad)) != 0 ||
	    (r = line(out, "scope", s->scope, bad)) != 0 ||
	    (r = line(out, "flow", s->flow, bad)) != 0 ||
	    (r = line(out, "store", s->store, bad)) != 0 ||
	    (r = line(out, "ca_file", s->ca_file, bad)) != 0 ||
	    (r = line(out, "proxy", s->proxy, bad)) != 0)
		return r;
	return 0;
}
