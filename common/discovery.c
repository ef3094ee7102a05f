/*
 * discovery.c: parse issuer metadata with json-c.
 *
 * TRUST: the document is untrusted: size-capped by http.c, depth-capped
 * here; URLs longer than OA2_URL_MAX or with control characters are
 * refused, and the caller still applies its https/loopback policy.
 * SECRETS: none.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "json.h"

#include "discovery.h"
#include "err.h"

static int
copy_url(
    struct json_object *o, const char *key, char *dst, char *err, size_t errsz)
{
	struct json_object *v;
	const char *s;
	size_t n, i;

	dst[0] = '\0';
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errsz, "%s is not a string", key);
		return OA2_ERR_PARSE;
	}
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n >= OA2_URL_MAX) {
		snprintf(err, errsz, "%s is longer than %d bytes", key,
		    OA2_URL_MAX - 1);
		return OA2_ERR_PARSE;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f) {
			snprintf(err, errsz, "%s is not a plain URL", key);
			return OA2_ERR_PARSE;
		}
	}
	memcpy(dst, s, n + 1);
	return 0;
}

int
oa2_discovery_parse(const char *body, size_t len, const char *expected_issuer,
    struct oa2_endpoints *ep, char *err, size_t errsz)
{
	struct json_object *o, *v;
	int r;

	memset(ep, 0, sizeof(*ep));
	o = oa2_json_parse(body, len, 16);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errsz, "the metadata is not a JSON object");
		r = OA2_ERR_PARSE;
		goto out;
	}
	if ((r = copy_url(o, "issuer", ep->issuer, err, errsz)) != 0 ||
	    (r = copy_url(o, "authorization_endpoint", ep->authorization, err,
		 errsz)) != 0 ||
	    (r = copy_url(o, "token_endpoint", ep->token, err, errsz)) != 0 ||
	    (r = copy_url(o, "device_authorization_endpoint", ep->device, err,
		 errsz)) != 0 ||
	    (r = copy_url(
		 o, "revocation_endpoint", ep->revocation, err, errsz)) != 0)
		goto out;
	if (json_object_object_get_ex(
		o, "authorization_response_iss_parameter_supported", &v) &&
	    json_object_is_type(v, json_type_boolean))
		ep->iss_supported = json_object_get_boolean(v);
	if (ep->token[0] == '\0') {
		snprintf(err, errsz, "the metadata names no token_endpoint");
		r = OA2_ERR_PARSE;
		goto out;
	}
	if (expected_issuer != NULL &&
	    strcmp(ep->issuer, expected_issuer) != 0) {
		snprintf(err, errsz,
		    "the metadata's issuer '%.200s' is not the configured "
		    "issuer",
		    ep->issuer);
		r = OA2_ERR_PARSE;
		goto out;
	}
	r = 0;
out:
	oa2_json_free(o);
	if (r != 0)
		memset(ep, 0, sizeof(*ep));
	return r;
}
