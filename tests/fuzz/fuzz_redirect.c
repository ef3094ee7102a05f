/*
 * fuzz_redirect.c: libFuzzer harness for the loopback redirect parser, fed
 * the bytes as a request and as a line pasted into the login's terminal.
 * Checks, beyond "no crash": the result is one of the documented values,
 * outputs are C strings within their fields, and a refusal leaves nothing.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "redirect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oa2_redirect r;
	int rc, bare;

	oa2_redirect_init(&r);
	rc = oa2_redirect_parse((const char *)data, size, &r);
	if (rc != 0 && rc != 1 && rc != OA2_ERR_PARSE && rc != OA2_ERR_TOOBIG)
		abort();
	if (memchr(r.state, '\0', sizeof(r.state)) == NULL ||
	    memchr(r.error, '\0', sizeof(r.error)) == NULL ||
	    memchr(r.error_description, '\0', sizeof(r.error_description)) ==
		NULL ||
	    memchr(r.path, '\0', sizeof(r.path)) == NULL)
		abort();
	if (rc != 0 &&
	    (r.code.len != 0 || r.state[0] != '\0' || r.path[0] != '\0' ||
		r.error[0] != '\0'))
		abort();
	if (rc == 0 &&
	    (r.path[0] != '/' || strlen(oa2_buf_str(&r.code)) != r.code.len))
		abort();
	/* The same bytes as a pasted line: the same invariants. */
	rc = oa2_redirect_parse_pasted((const char *)data, size,
	    "http://127.0.0.1:4711/callback", &r, &bare);
	if (rc != 0 && rc != 1 && rc != OA2_ERR_PARSE && rc != OA2_ERR_TOOBIG &&
	    rc != OA2_ERR_NOTFOUND)
		abort();
	if (memchr(r.state, '\0', sizeof(r.state)) == NULL ||
	    memchr(r.path, '\0', sizeof(r.path)) == NULL)
		abort();
	if (rc != 0 &&
	    (r.code.len != 0 || r.state[0] != '\0' || r.path[0] != '\0' ||
		r.error[0] != '\0' || bare != 0))
		abort();
	if (rc == 0 &&
	    (r.path[0] != '/' || strlen(oa2_buf_str(&r.code)) != r.code.len ||
		(bare && (r.code.len == 0 || r.state[0] != '\0'))))
		abort();
	oa2_redirect_free(&r);
	return 0;
}
