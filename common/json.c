/*
 * json.c: json-c behind one door (see json.h).
 *
 * TRUST: every caller's input is untrusted and size-capped by its caller;
 * depth is capped here and trailing bytes are refused.
 * SECRETS: json-c copies each string into its tokener buffer (which grows
 * by realloc and is freed unwiped) and into the tree.  Through the public
 * API only (struct json_tokener is not ours to reach into): before the
 * parse the tokener reads one dummy string as long as the input, so its
 * buffer is already big enough and never moves; after the parse it reads
 * that dummy again, which overwrites every byte a string of the input can
 * have reached.  oa2_json_free wipes the tree's strings.  Not reached:
 * when a document breaks off or turns invalid after a string, json-c
 * frees the partial tree (with that string) itself, unwiped; the public
 * API has no way in.  The helper that parses is short-lived and not
 * dumpable (PR_SET_DUMPABLE 0), which bounds what that copy exposes.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "json.h"

/* Feed tok one JSON string of n 'x' bytes, in chunks: its buffer then
 * holds x's in [0, n) and is at least n + 1 bytes long.  0 or -1. */
static int
dummy_string(struct json_tokener *tok, size_t n)
{
	char xs[256];
	struct json_object *o;
	size_t k;

	memset(xs, 'x', sizeof xs);
	json_tokener_reset(tok);
	if (json_tokener_parse_ex(tok, "\"", 1) != NULL)
		return -1;
	for (; n > 0; n -= k) {
		k = n < sizeof xs ? n : sizeof xs;
		if (json_tokener_parse_ex(tok, xs, (int)k) != NULL ||
		    json_tokener_get_error(tok) != json_tokener_continue)
			return -1;
	}
	if ((o = json_tokener_parse_ex(tok, "\"", 1)) == NULL)
		return -1;
	json_object_put(o);
	json_tokener_reset(tok);
	return 0;
}

struct json_object *
oa2_json_parse(const char *text, size_t len, int depth)
{
	struct json_tokener *tok;
	struct json_object *o = NULL;
	size_t i;

	if (len > (size_t)INT_MAX - 16 ||
	    (tok = json_tokener_new_ex(depth)) == NULL)
		return NULL;
	if (dummy_string(tok, len + 16) < 0)
		goto out;
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
	if (dummy_string(tok, len + 16) < 0) {
		/* The wipe could not be done: give nothing back rather
		 * than leave a copy behind unnoticed. */
		oa2_json_free(o);
		o = NULL;
	}
out:
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
