/*
 * json.h: the one way this project parses JSON (json-c) from untrusted
 * sources: bounded depth, nothing but white space after the value, and no
 * copy of a secret left behind in freed memory.
 */
#ifndef OA2_JSON_H
#define OA2_JSON_H

#include <stddef.h>

#include <json-c/json.h>

/* The value in text[0..len), or NULL when it is not JSON, nests deeper
 * than depth, or is followed by anything but white space.  The tokener's
 * work buffer (which holds a copy of every string) is wiped before it is
 * freed. */
struct json_object *oa2_json_parse(const char *text, size_t len, int depth);

/* A top-level string member and its length, or NULL. */
const char *oa2_json_string(
    struct json_object *o, const char *key, size_t *len);

/* Overwrite every top-level string member (tokens, codes), then free the
 * tree.  NULL is fine. */
void oa2_json_free(struct json_object *o);

#endif
