/*
 * fuzz_helper_output.c: the helper's stdout as the plugin reads it
 * (wire.c), and the token syntax both ends share (oa2_token_check).
 *
 * Checks: a token is accepted exactly when the input is a token with an
 * optional "\n" or "\r\n"; the accepted token is the input without that
 * line end, passes oa2_token_check and is a C string of its length; a
 * refusal leaves the buffer empty, even one that held an older token.
 */
#include "config.h"

#include <ctype.h>

#include "buf.h"
#include "err.h"
#include "wire.h"

#include "fuzz.h"

static size_t
strip_line_end(const char *p, size_t n)
{
	if (n > 0 && p[n - 1] == '\n')
		n--;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct oa2_buf tok;
	size_t n = strip_line_end(text, size), i;
	int rc, valid, pad;

	/* The reference: RFC 6750 2.1, b64token = 1*( ALPHA / DIGIT / "-" /
	 * "." / "_" / "~" / "+" / "/" ) *"=", at most OA2_TOKEN_MAX. */
	valid = n > 0 && n <= OA2_TOKEN_MAX && text[0] != '=';
	for (i = 0, pad = 0; valid && i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '=')
			pad = 1;
		else if (pad ||
		    !(isascii(c) &&
			(isalnum(c) || c == '-' || c == '.' || c == '_' ||
			    c == '~' || c == '+' || c == '/')))
			valid = 0;
	}
	FUZZ_CHECK((oa2_token_check(text, n) == 0) == valid);

	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	FUZZ_CHECK(oa2_buf_appendz(&tok, "stale-token") == 0);
	rc = oa2_helper_output_parse(text, size, &tok);
	FUZZ_CHECK(rc == 0 || rc == OA2_ERR_PARSE);
	FUZZ_CHECK((rc == 0) == valid);
	if (rc == 0) {
		FUZZ_CHECK(tok.len == n);
		FUZZ_CHECK(memcmp(oa2_buf_str(&tok), text, n) == 0);
		FUZZ_CHECK(strlen(oa2_buf_str(&tok)) == n);
		FUZZ_CHECK(oa2_token_check(oa2_buf_str(&tok), tok.len) == 0);
	} else {
		FUZZ_CHECK(tok.len == 0 && oa2_buf_str(&tok)[0] == '\0');
	}
	oa2_buf_free(&tok);
	return 0;
}
