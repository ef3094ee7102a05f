/*
 * tokenresp.c: parse token endpoint answers with json-c.
 *
 * json-c (Debian's libjson-c5) is used rather than a parser of our own: it
 * is maintained, fuzzed upstream (OSS-Fuzz), and gives us depth limits.
 *
 * TRUST: the body is untrusted: size-capped by http.c, depth-capped here,
 * every member type-checked; only printable, truncated copies of error
 * strings leave this file.
 * SECRETS: access and refresh tokens are copied into wiping buffers and the
 * json-c copies are overwritten before the object is freed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"

#include "err.h"
#include "tokenresp.h"
#include "wire.h"

#define JSON_DEPTH 16
/* No access token lives longer; a larger expires_in is read as this. */
#define EXPIRES_IN_MAX (10LL * 366 * 86400)

void
oa2_token_response_init(struct oa2_token_response *tr)
{
	memset(tr, 0, sizeof(*tr));
	oa2_buf_init(&tr->access_token, OA2_TOKEN_MAX);
	oa2_buf_init(&tr->refresh_token, OA2_TOKEN_MAX);
	tr->expires_in = -1;
}

void
oa2_token_response_free(struct oa2_token_response *tr)
{
	oa2_buf_free(&tr->access_token);
	oa2_buf_free(&tr->refresh_token);
}

static long
find_aadsts(struct json_object *o, const char *desc)
{
	struct json_object *codes, *c;
	const char *p;

	if (json_object_object_get_ex(o, "error_codes", &codes) &&
	    json_object_is_type(codes, json_type_array) &&
	    json_object_array_length(codes) > 0 &&
	    (c = json_object_array_get_idx(codes, 0)) != NULL &&
	    json_object_is_type(c, json_type_int))
		return (long)json_object_get_int64(c);
	if (desc != NULL && (p = strstr(desc, "AADSTS")) != NULL)
		return strtol(p + 6, NULL, 10);
	return 0;
}

static long long
get_expires_in(struct json_object *o)
{
	struct json_object *v;
	long long n;
	char *end;

	if (!json_object_object_get_ex(o, "expires_in", &v))
		return -1;
	if (json_object_is_type(v, json_type_int)) {
		n = (long long)json_object_get_int64(v);
		return n < 0 ? -1 : n > EXPIRES_IN_MAX ? EXPIRES_IN_MAX : n;
	}
	if (json_object_is_type(v, json_type_string)) {
		/* Some providers send "3599". */
		n = strtoll(json_object_get_string(v), &end, 10);
		if (*end != '\0' || n < 0)
			return -1;
		return n > EXPIRES_IN_MAX ? EXPIRES_IN_MAX : n;
	}
	return -1;
}

int
oa2_token_response_parse(const char *body, size_t len, long http_status,
    struct oa2_token_response *tr)
{
	struct json_object *o = NULL;
	const char *s, *desc = NULL;
	size_t n, dlen = 0;
	int r;

	oa2_buf_reset(&tr->access_token);
	oa2_buf_reset(&tr->refresh_token);
	tr->token_type[0] = tr->scope[0] = tr->error[0] = '\0';
	tr->error_description[0] = tr->problem[0] = '\0';
	tr->retry_after[0] = '\0';
	tr->expires_in = -1;
	tr->aadsts = 0;
	tr->http_status = http_status;

	o = oa2_json_parse(body, len, JSON_DEPTH);

	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		if (http_status < 200 || http_status > 299) {
			snprintf(tr->error, sizeof(tr->error), "http_%ld",
			    http_status);
			r = OA2_ERR_PROVIDER;
		} else {
			snprintf(tr->problem, sizeof(tr->problem),
			    "the answer is not a JSON object");
			r = OA2_ERR_PARSE;
		}
		goto out;
	}
	if ((s = oa2_json_string(o, "error", &n)) != NULL) {
		oa2_printable(tr->error, sizeof(tr->error), s, n);
		if (tr->error[0] == '\0') /* "error": "" still says no */
			snprintf(tr->error, sizeof(tr->error), "http_%ld",
			    http_status);
		if ((desc = oa2_json_string(o, "error_description", &dlen)) !=
		    NULL)
			oa2_printable(tr->error_description,
			    sizeof(tr->error_description), desc, dlen);
		tr->aadsts = find_aadsts(o, tr->error_description);
		r = OA2_ERR_PROVIDER;
		goto out;
	}
	if (http_status < 200 || http_status > 299) {
		snprintf(tr->error, sizeof(tr->error), "http_%ld", http_status);
		r = OA2_ERR_PROVIDER;
		goto out;
	}
	if ((s = oa2_json_string(o, "access_token", &n)) == NULL) {
		snprintf(tr->problem, sizeof(tr->problem),
		    "the answer has no access_token");
		r = OA2_ERR_PARSE;
		goto out;
	}
	if (oa2_token_check(s, n) != 0) {
		snprintf(tr->problem, sizeof(tr->problem),
		    "the access_token is not a valid bearer token "
		    "(%u bytes)",
		    (unsigned)n);
		r = OA2_ERR_PARSE;
		goto out;
	}
	if ((r = oa2_buf_append(&tr->access_token, s, n)) != 0)
		goto out;
	if ((s = oa2_json_string(o, "token_type", &n)) == NULL || n != 6 ||
	    strncasecmp(s, "bearer", 6) != 0) {
		if (s != NULL)
			oa2_printable(
			    tr->token_type, sizeof(tr->token_type), s, n);
		snprintf(tr->problem, sizeof(tr->problem),
		    "the token_type is '%s', not Bearer",
		    s != NULL ? tr->token_type : "(missing)");
		oa2_buf_reset(&tr->access_token);
		r = OA2_ERR_PARSE;
		goto out;
	}
	memcpy(tr->token_type, "Bearer", 7);
	if ((s = oa2_json_string(o, "refresh_token", &n)) != NULL) {
		if (oa2_opaque_check(s, n) != 0) {
			snprintf(tr->problem, sizeof(tr->problem),
			    "the refresh_token is malformed");
			oa2_buf_reset(&tr->access_token);
			r = OA2_ERR_PARSE;
			goto out;
		}
		if ((r = oa2_buf_append(&tr->refresh_token, s, n)) != 0)
			goto out;
	}
	if ((s = oa2_json_string(o, "scope", &n)) != NULL)
		oa2_printable(tr->scope, sizeof(tr->scope), s, n);
	tr->expires_in = get_expires_in(o);
	r = 0;
out:
	oa2_json_free(o);
	return r;
}
