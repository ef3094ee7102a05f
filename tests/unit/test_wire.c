/*
 * test_wire.c: the SASL messages byte for byte (RFC 7628 examples and
 * Google's XOAUTH2 documentation), GS2 escaping, challenge parsing, the
 * helper-output parser and base64.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "buf.h"
#include "err.h"
#include "wire.h"

static void
test_xoauth2(void **state)
{
	static const struct {
		const char *user, *token;
		int rc;
		const char *want;
	} cases[] = {
	    /* Google's documented example, before base64. */
	    {"someuser@example.com",
		"ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg", 0,
		"user=someuser@example.com\001auth=Bearer "
		"ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\001\001"},
	    {"a@b", "t0k+/=", 0, "user=a@b\001auth=Bearer t0k+/=\001\001"},
	    {"a@b", "bad token", OA2_ERR_INVAL, NULL},
	    {"a@b", "bad\001token", OA2_ERR_INVAL, NULL},
	    {"", "tok", OA2_ERR_INVAL, NULL},
	    {"a\001@b", "tok", OA2_ERR_INVAL, NULL},
	    {"a b@c", "tok", OA2_ERR_INVAL, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct oa2_buf b;
		oa2_buf_init(&b, OA2_RESPONSE_MAX);
		assert_int_equal(
		    oa2_xoauth2_build(cases[i].user, cases[i].token,
			strlen(cases[i].token), &b),
		    cases[i].rc);
		if (cases[i].want != NULL) {
			assert_int_equal(b.len, strlen(cases[i].want));
			assert_memory_equal(b.data, cases[i].want, b.len);
		}
		oa2_buf_free(&b);
	}
}

static void
test_oauthbearer(void **state)
{
	static const struct {
		const char *authzid, *host;
		unsigned port;
		const char *token;
		int rc;
		const char *want;
	} cases[] = {
	    /* RFC 7628 section 4.1. */
	    {"user@example.com", "server.example.com", 143,
		"vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", 0,
		"n,a=user@example.com,\001host=server.example.com\001port=143"
		"\001auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
		"\001\001"},
	    /* RFC 7628 section 4.2: no authzid, host and port. */
	    {NULL, "server.example.com", 587,
		"vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", 0,
		"n,,\001host=server.example.com\001port=587\001auth=Bearer "
		"vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001"},
	    /* Without host and port. */
	    {"u@x", NULL, 0, "T", 0, "n,a=u@x,\001auth=Bearer T\001\001"},
	    /* RFC 5801 escaping in the authzid. */
	    {"a,b=c@x", NULL, 0, "T", 0,
		"n,a=a=2Cb=3Dc@x,\001auth=Bearer T\001\001"},
	    {"u@x", "bad host", 0, "T", OA2_ERR_INVAL, NULL},
	    {"u@x", NULL, 70000, "T", OA2_ERR_INVAL, NULL},
	    {"u@x", NULL, 0, "", OA2_ERR_INVAL, NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct oa2_buf b;
		oa2_buf_init(&b, OA2_RESPONSE_MAX);
		assert_int_equal(
		    oa2_oauthbearer_build(cases[i].authzid, cases[i].host,
			cases[i].port, cases[i].token, strlen(cases[i].token),
			&b),
		    cases[i].rc);
		if (cases[i].want != NULL) {
			assert_int_equal(b.len, strlen(cases[i].want));
			assert_memory_equal(b.data, cases[i].want, b.len);
		}
		oa2_buf_free(&b);
	}
}

static void
test_gs2_escape(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"plain@example.com", "plain@example.com"},
	    {",", "=2C"},
	    {"=", "=3D"},
	    {"a=,b", "a=3D=2Cb"},
	    {"", ""},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct oa2_buf b;
		oa2_buf_init(&b, 64);
		assert_int_equal(oa2_gs2_escape(cases[i].in, &b), 0);
		assert_string_equal(oa2_buf_str(&b), cases[i].want);
		oa2_buf_free(&b);
	}
}

static void
test_challenge(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *status, *scope, *oidc;
	} cases[] = {
	    /* RFC 7628 section 3.2.2 / 4.3. */
	    {"{\"status\":\"invalid_token\",\"scope\":\"example_scope\","
	     "\"openid-configuration\":\"https://example.com/.well-known/"
	     "openid-configuration\"}",
		0, "invalid_token", "example_scope",
		"https://example.com/.well-known/openid-configuration"},
	    /* Google's XOAUTH2 error. */
	    {"{\"status\":\"401\",\n \"schemes\":\"bearer\",\"scope\":"
	     "\"https://mail.google.com/\"}",
		0, "401", "https://mail.google.com/", ""},
	    {"{}", 0, "", "", ""},
	    {" { \"status\" : 400 , \"x\" : true , \"y\" : null } ", 0, "400",
		"", ""},
	    {"{\"status\":\"a\\u0041\\n\\\"b\"}", 0, "a??\"b", "", ""},
	    {"{\"status\":\"\001\"}", OA2_ERR_PARSE, NULL, NULL, NULL},
	    {"", OA2_ERR_PARSE, NULL, NULL, NULL},
	    {"not json", OA2_ERR_PARSE, NULL, NULL, NULL},
	    {"{\"status\":\"x\"", OA2_ERR_PARSE, NULL, NULL, NULL},
	    {"{\"status\":{\"nested\":1}}", OA2_ERR_PARSE, NULL, NULL, NULL},
	    {"{\"status\":\"x\"} trailing", OA2_ERR_PARSE, NULL, NULL, NULL},
	    {"{\"status\":\"x\\", OA2_ERR_PARSE, NULL, NULL, NULL},
	    {"{\"status\":\"\\q\"}", OA2_ERR_PARSE, NULL, NULL, NULL},
	};
	struct oa2_challenge ch;
	char big[OA2_CHALLENGE_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    oa2_challenge_parse(cases[i].in, strlen(cases[i].in), &ch),
		    cases[i].rc);
		if (cases[i].status != NULL) {
			assert_string_equal(ch.status, cases[i].status);
			assert_string_equal(ch.scope, cases[i].scope);
			assert_string_equal(
			    ch.openid_configuration, cases[i].oidc);
		}
	}
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[sizeof(big) - 1] = '}';
	assert_int_equal(
	    oa2_challenge_parse(big, sizeof(big), &ch), OA2_ERR_TOOBIG);
	/* A value longer than its field is truncated, not overflowed. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"scope\":\"", 10);
	memcpy(big + 1000, "\"}", 2);
	assert_int_equal(oa2_challenge_parse(big, 1002, &ch), 0);
	assert_int_equal(strlen(ch.scope), sizeof(ch.scope) - 1);
}

static void
test_helper_output(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *want;
	} cases[] = {
	    {"tok\n", 0, "tok"},
	    {"tok", 0, "tok"},
	    {"tok\r\n", 0, "tok"},
	    {"tok\n\n", OA2_ERR_PARSE, NULL},
	    {"two words\n", OA2_ERR_PARSE, NULL},
	    {"\n", OA2_ERR_PARSE, NULL},
	    {"", OA2_ERR_PARSE, NULL},
	    {"tok\nmore\n", OA2_ERR_PARSE, NULL},
	};
	struct oa2_buf t;
	size_t i;

	oa2_buf_init(&t, OA2_TOKEN_MAX);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(oa2_helper_output_parse(
				     cases[i].in, strlen(cases[i].in), &t),
		    cases[i].rc);
		if (cases[i].want != NULL)
			assert_string_equal(oa2_buf_str(&t), cases[i].want);
		else
			assert_int_equal(t.len, 0);
	}
	oa2_buf_free(&t);
}

static void
test_base64(void **state)
{
	/* RFC 4648 section 10 vectors. */
	static const struct {
		const char *in, *std, *url;
	} cases[] = {
	    {"", "", ""},
	    {"f", "Zg==", "Zg"},
	    {"fo", "Zm8=", "Zm8"},
	    {"foo", "Zm9v", "Zm9v"},
	    {"foob", "Zm9vYg==", "Zm9vYg"},
	    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
	    {"\xfb\xff", "+/8=", "-_8"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct oa2_buf b;
		oa2_buf_init(&b, 64);
		assert_int_equal(oa2_b64_encode(cases[i].in,
				     strlen(cases[i].in), OA2_B64_STD, &b),
		    0);
		assert_string_equal(oa2_buf_str(&b), cases[i].std);
		oa2_buf_reset(&b);
		assert_int_equal(
		    oa2_b64_encode(cases[i].in, strlen(cases[i].in),
			OA2_B64_URL_NOPAD, &b),
		    0);
		assert_string_equal(oa2_buf_str(&b), cases[i].url);
		oa2_buf_free(&b);
	}
}

static void
test_buf_cap(void **state)
{
	struct oa2_buf b;

	oa2_buf_init(&b, 8);
	assert_int_equal(oa2_buf_appendz(&b, "12345678"), 0);
	assert_int_equal(oa2_buf_appendc(&b, '9'), OA2_ERR_TOOBIG);
	assert_string_equal(oa2_buf_str(&b), "12345678");
	oa2_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(oa2_buf_str(&b), "");
	oa2_buf_free(&b);
	assert_null(b.data);
	assert_string_equal(oa2_strerror(OA2_ERR_TOOBIG), "input too large");
	assert_string_equal(oa2_strerror(-999), "unknown error");
}

/* RFC 6750 2.1 b64token for access tokens; visible ASCII for refresh
 * tokens and device codes. */
static void
test_token_syntax(void **state)
{
	static const struct {
		const char *tok;
		int bearer, opaque;
	} cases[] = {
	    {"eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ4In0.c2ln", 0, 0},
	    {"ya29.a0AfB_byC-xyz~+/", 0, 0},
	    {"abc==", 0, 0},
	    {"=", OA2_ERR_PARSE, 0},
	    {"ab=c", OA2_ERR_PARSE, 0},
	    {"a\"b", OA2_ERR_PARSE, 0},
	    {"a\\b", OA2_ERR_PARSE, 0},
	    {"M.C105_BAY.0.U.-Cn!abc*def$", OA2_ERR_PARSE, 0},
	    {"a b", OA2_ERR_PARSE, OA2_ERR_PARSE},
	    {"a\tb", OA2_ERR_PARSE, OA2_ERR_PARSE},
	    {"a\xc3\xa9", OA2_ERR_PARSE, OA2_ERR_PARSE},
	    {"", OA2_ERR_PARSE, OA2_ERR_PARSE},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].tok);
		assert_int_equal(
		    oa2_token_check(cases[i].tok, strlen(cases[i].tok)),
		    cases[i].bearer);
		assert_int_equal(
		    oa2_opaque_check(cases[i].tok, strlen(cases[i].tok)),
		    cases[i].opaque);
	}
	/* A NUL inside the length is no token character. */
	assert_int_equal(oa2_token_check("ab\0c", 4), OA2_ERR_PARSE);
	assert_int_equal(oa2_opaque_check("ab\0c", 4), OA2_ERR_PARSE);
}

static void
test_json_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"plain", "plain"},
	    {"a\"b\\c", "a\\\"b\\\\c"},
	    {"tab\tnl\n\x01\x7f", "tab\\u0009nl\\u000a\\u0001\\u007f"},
	    {"caf\xc3\xa9", "caf\xc3\xa9"},
	    {"", ""},
	};
	struct oa2_buf b;
	size_t i;

	(void)state;
	oa2_buf_init(&b, 256);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		oa2_buf_reset(&b);
		assert_int_equal(
		    oa2_json_escape(&b, cases[i].in, strlen(cases[i].in)), 0);
		assert_string_equal(oa2_buf_str(&b), cases[i].out);
	}
	oa2_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xoauth2),
	    cmocka_unit_test(test_oauthbearer),
	    cmocka_unit_test(test_gs2_escape),
	    cmocka_unit_test(test_challenge),
	    cmocka_unit_test(test_helper_output),
	    cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_buf_cap),
	    cmocka_unit_test(test_token_syntax),
	    cmocka_unit_test(test_json_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
