/*
 * deviceresp.c: parse the device authorization answer (RFC 8628 3.2) with
 * json-c, like tokenresp.c.
 *
 * TRUST: the body is untrusted: size-capped by http.c, depth-capped here,
 * every member type-checked; the device code must pass oa2_opaque_check,
 * the texts shown to the user are printable, truncated copies, the
 * numbers are bounded.
 * SECRETS: the device code (whoever has it can poll for the user's tokens
 * until it expires) goes into a wiping buffer; oa2_json_free overwrites
 * json-c's copy.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

#include "deviceresp.h"
#include "err.h"
#include "wire.h"

#define JSON_DEPTH 16
/* A day: no provider lets a device code live longer or poll slower. */
#define SECONDS_MAX 86400

void
oa2_device_response_init(struct oa2_device_response *dr)
{
	memset(dr, 0, sizeof(*dr));
	oa2_buf_init(&dr->device_code, OA2_TOKEN_MAX);
}

void
oa2_device_response_free(struct oa2_device_response *dr)
{
	oa2_buf_free(&dr->device_code);
}

static void
clear(struct oa2_device_response *dr)
{
	oa2_buf_reset(&dr->device_code);
	dr->user_code[0] = dr->uri[0] = dr->uri_complete[0] = '\0';
	dr->message[0] = '\0';
	dr->interval = dr->expires_in = 0;
}

static void
copy_member(struct json_object *o, const char *key, char *dst, size_t n)
{
	struct json_object *v;

	dst[0] = '\0';
	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		oa2_printable(dst, n, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
}

/* A number of seconds, also as a string ("5"): some providers send that. */
static long
int_member(struct json_object *o, const char *key, long dflt)
{
	struct json_object *v;
	long n;

	if (!json_object_object_get_ex(o, key, &v))
		return dflt;
	if (json_object_is_type(v, json_type_int))
		n = (long)json_object_get_int64(v);
	else if (json_object_is_type(v, json_type_string))
		n = strtol(json_object_get_string(v), NULL, 10);
	else
		return dflt;
	return n > 0 && n < SECONDS_MAX ? n : dflt;
}

int
oa2_device_response_parse(
    const char *body, size_t len, struct oa2_device_response *dr)
{
	struct json_object *o, *v;
	int r = OA2_ERR_PARSE;

	clear(dr);
	o = oa2_json_parse(body, len, JSON_DEPTH);
	if (o == NULL || !json_object_is_type(o, json_type_object))
		goto out;
	if (!json_object_object_get_ex(o, "device_code", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    oa2_opaque_check(json_object_get_string(v),
		(size_t)json_object_get_string_len(v)) != 0)
		goto out;
	if ((r = oa2_buf_append(&dr->device_code, json_object_get_string(v),
		 (size_t)json_object_get_string_len(v))) != 0)
		goto out;
	copy_member(o, "user_code", dr->user_code, sizeof(dr->user_code));
	copy_member(o, "verification_uri", dr->uri, sizeof(dr->uri));
	if (dr->uri[0] == '\0') /* Microsoft's older v1 endpoint */
		copy_member(o, "verification_url", dr->uri, sizeof(dr->uri));
	copy_member(o, "verification_uri_complete", dr->uri_complete,
	    sizeof(dr->uri_complete));
	copy_member(o, "message", dr->message, sizeof(dr->message));
	dr->interval = int_member(o, "interval", OA2_DEVICE_INTERVAL_DEFAULT);
	dr->expires_in =
	    int_member(o, "expires_in", OA2_DEVICE_EXPIRES_DEFAULT);
	r = dr->user_code[0] != '\0' && dr->uri[0] != '\0' ? 0 : OA2_ERR_PARSE;
out:
	if (r != 0)
		clear(dr);
	oa2_json_free(o);
	return r;
}
