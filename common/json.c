/*
 * json.c: json-c behind one door (see json.h).
 *
 * TRUST: every caller's input is untrusted and size-capped by its caller;
 * depth is capped here and trailing bytes are refused.
 * SECRETS: json-c copies each string into its tokener buffer (which grows
 * by realloc and is freed unwiped) and into the tree.  The buffer is
 * sized for the whole input before parsing, so it never moves and one
 * wipe reaches every copy; oa2_json_free wipes the tree's strings.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "json.h"

struct json_object *
oa2_json_parse(const char *text, size_t len, int depth)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t i;

	if (len > (size_t)INT_MAX - 16 ||
	    (tok = json_tokener_new_ex(depth)) == NULL)
		return NULL;
	if (printbuf_memset(tok->pb, 0, 0, (int)len + 16) < 0) {
		json_tokener_free(tok);
		return NULL;
	}
	printbuf_reset(tok->pb);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o != NULL) {
		for (i = json_tokener_get_parse_end(tok); i < len; i++)
			if (text[i] != ' ' && text[i] != '\n' &&
			    text[i] != '\r' && text[i] != '\t')
				break;
		if (i < len) {
			oa2_json_free(o);
			o = NULL;
		}
	}
	explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
	return o;
}

const char *
oa2_json_string(struct json_object *o, const char *key, size_t *len)
{
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

void
oa2_json_free(struct json_object *o)
{
	if (o == NULL)
		return;
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, v)
		{
			(void)key;
			if (json_object_is_type(v, json_type_string))
				explicit_bzero(
				    (char *)json_object_get_string(v),
				    (size_t)json_object_get_string_len(v));
		}
	} else if (json_object_is_type(o, json_type_string)) {
		explicit_bzero((char *)json_object_get_string(o),
		    (size_t)json_object_get_string_len(o));
	}
	json_object_put(o);
}
