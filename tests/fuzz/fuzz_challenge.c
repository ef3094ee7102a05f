/*
 * fuzz_challenge.c: the server's RFC 7628 error challenge (wire.c), which a
 * mail server sends and the plugin parses.
 *
 * Checks: the result is 0, OA2_ERR_PARSE or OA2_ERR_TOOBIG (over the cap
 * exactly); every field is always a printable C string; and, against
 * json-c in strict mode as a reference, a flat object of scalars that
 * json-c accepts is accepted too, with the same string values when the
 * input needs no unescaping.
 */
#include "config.h"

#include <json-c/json.h>

#include "err.h"
#include "wire.h"

#include "fuzz.h"

/*
 * What json-c accepts even in strict mode but JSON does not, and neither
 * does wire.c: a control character inside a string, and outside strings
 * anything but structure, numbers and literals (single quotes, comments,
 * NaN, Infinity).  And any nesting: json-c keeps the last of duplicate
 * members, so {"a":{},"a":1} is flat to it.  Such inputs are not compared.
 */
static int
beyond_json(const char *data, size_t len)
{
	int in_string = 0, opened = 0;
	size_t i;
	char c;

	for (i = 0; i < len; i++) {
		c = data[i];
		if (in_string) {
			if ((unsigned char)c < 0x20)
				return 1;
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '[' || (c == '{' && opened++ > 0)) {
			return 1;
		} else if (strchr(" \t\r\n{}[],:+-.0123456789eEtrufalsn", c) ==
		    NULL) {
			return 1;
		}
	}
	return 0;
}

/* json-c's tree of data if it is one strict JSON object whose members are
 * all scalars, with nothing but white space after it; else NULL. */
static struct json_object *
reference_parse(const char *data, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o = NULL;
	size_t i;

	if (len > OA2_CHALLENGE_MAX || memchr(data, '\0', len) != NULL ||
	    beyond_json(data, len))
		return NULL;
	if ((tok = json_tokener_new_ex(4)) == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, data, (int)len);
	if (o != NULL) {
		for (i = json_tokener_get_parse_end(tok); i < len; i++)
			if (data[i] != ' ' && data[i] != '\t' &&
			    data[i] != '\r' && data[i] != '\n')
				break;
		if (i < len || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			o = NULL;
		}
	}
	json_tokener_free(tok);
	if (o == NULL)
		return NULL;
	json_object_object_foreach(o, key, val)
	{
		(void)key;
		if (json_object_is_type(val, json_type_object) ||
		    json_object_is_type(val, json_type_array)) {
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

/* No escapes, no bytes outside printable ASCII and JSON white space: the
 * decoded strings are then the raw ones. */
static int
plain_text(const char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '\\' || c > 0x7e ||
		    (c < 0x20 && c != '\t' && c != '\r' && c != '\n'))
			return 0;
	}
	return 1;
}

static void
compare_string(
    struct json_object *o, const char *key, const char *field, size_t fieldsz)
{
	struct json_object *v;
	size_t n;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return;
	n = (size_t)json_object_get_string_len(v);
	if (n > fieldsz - 1)
		n = fieldsz - 1;
	FUZZ_CHECK(strlen(field) == n);
	FUZZ_CHECK(memcmp(field, json_object_get_string(v), n) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct oa2_challenge c;
	struct json_object *ref;
	int rc;

	memset(&c, 0x55, sizeof(c)); /* the parser must clear it */
	rc = oa2_challenge_parse(text, size, &c);
	FUZZ_CHECK(rc == 0 || rc == OA2_ERR_PARSE || rc == OA2_ERR_TOOBIG);
	FUZZ_CHECK((rc == OA2_ERR_TOOBIG) == (size > OA2_CHALLENGE_MAX));
	FUZZ_PRINTABLE(c.status);
	FUZZ_PRINTABLE(c.scope);
	FUZZ_PRINTABLE(c.schemes);
	FUZZ_PRINTABLE(c.openid_configuration);

	if ((ref = reference_parse(text, size)) == NULL)
		return 0;
	FUZZ_CHECK(rc == 0);
	if (plain_text(text, size)) {
		compare_string(ref, "status", c.status, sizeof(c.status));
		compare_string(ref, "scope", c.scope, sizeof(c.scope));
		compare_string(ref, "schemes", c.schemes, sizeof(c.schemes));
		compare_string(ref, "openid-configuration",
		    c.openid_configuration, sizeof(c.openid_configuration));
	}
	json_object_put(ref);
	return 0;
}
