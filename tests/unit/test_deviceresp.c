/*
 * test_deviceresp.c: the device authorization answer (RFC 8628 3.2, and
 * the shapes Microsoft and Google send): what is accepted, what the user
 * is shown, the bounds on the numbers, and that a refusal leaves nothing.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "deviceresp.h"
#include "err.h"
#include "wire.h"

#define RFC_CODE "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"

/* RFC 8628 3.2's example cut to the members it needs, plus x. */
#define RFC_WITH(x)                                                            \
	"{\"device_code\":\"" RFC_CODE "\",\"user_code\":\"WDJB-MJHT\","       \
	"\"verification_uri\":\"https://example.com/device\"," x "}"

static void
test_parse(void **state)
{
	static const struct {
		const char *body;
		int rc;
		const char *code, *user_code, *uri, *uri_complete, *message;
		long interval, expires_in;
	} cases[] = {
	    /* RFC 8628 3.2 */
	    {"{\"device_code\":\"" RFC_CODE "\",\"user_code\":\"WDJB-MJHT\","
	     "\"verification_uri\":\"https://example.com/device\","
	     "\"verification_uri_complete\":"
	     "\"https://example.com/device?user_code=WDJB-MJHT\","
	     "\"expires_in\":1800,\"interval\":5}",
		0, RFC_CODE, "WDJB-MJHT", "https://example.com/device",
		"https://example.com/device?user_code=WDJB-MJHT", "", 5, 1800},
	    /* Microsoft identity platform v2.0 */
	    {"{\"user_code\":\"FGHJ2KLMN\",\"device_code\":\"DAQABAAEAAAD-x_y."
	     "z~\",\"verification_uri\":\"https://microsoft.com/devicelogin\","
	     "\"expires_in\":900,\"interval\":5,\"message\":\"To sign in, use "
	     "a web browser to open the page https://microsoft.com/devicelogin "
	     "and enter the code FGHJ2KLMN to authenticate.\"}",
		0, "DAQABAAEAAAD-x_y.z~", "FGHJ2KLMN",
		"https://microsoft.com/devicelogin", "",
		"To sign in, use a web browser to open the page "
		"https://microsoft.com/devicelogin and enter the code "
		"FGHJ2KLMN "
		"to authenticate.",
		5, 900},
	    /* Google and Microsoft's v1: verification_url; numbers as text */
	    {"{\"device_code\":\"4/4-GMMhmHCXhWEzkobqIHGG\",\"user_code\":"
	     "\"GQVQ-JKEC\",\"verification_url\":\"https://www.google.com/"
	     "device\",\"expires_in\":\"1800\",\"interval\":\"7\"}",
		0, "4/4-GMMhmHCXhWEzkobqIHGG", "GQVQ-JKEC",
		"https://www.google.com/device", "", "", 7, 1800},
	    /* verification_uri wins over verification_url */
	    {RFC_WITH("\"verification_url\":\"https://other.example/\""), 0,
		RFC_CODE, "WDJB-MJHT", "https://example.com/device", "", "", 5,
		900},
	    /* defaults, and numbers out of range or of the wrong type */
	    {RFC_WITH("\"interval\":0,\"expires_in\":-1"), 0, RFC_CODE,
		"WDJB-MJHT", "https://example.com/device", "", "", 5, 900},
	    {RFC_WITH("\"interval\":86400,\"expires_in\":86399"), 0, RFC_CODE,
		"WDJB-MJHT", "https://example.com/device", "", "", 5, 86399},
	    {RFC_WITH("\"interval\":9223372036854775807,\"expires_in\":1"), 0,
		RFC_CODE, "WDJB-MJHT", "https://example.com/device", "", "", 5,
		1},
	    {RFC_WITH("\"interval\":2.5,\"expires_in\":true"), 0, RFC_CODE,
		"WDJB-MJHT", "https://example.com/device", "", "", 5, 900},
	    {RFC_WITH("\"interval\":\"abc\",\"expires_in\":null"), 0, RFC_CODE,
		"WDJB-MJHT", "https://example.com/device", "", "", 5, 900},
	    /* a leading number in a string counts, as strtol reads it */
	    {RFC_WITH("\"interval\":\"10s\""), 0, RFC_CODE, "WDJB-MJHT",
		"https://example.com/device", "", "", 10, 900},
	    /* what the user is shown is printable */
	    {RFC_WITH("\"message\":\"line\\nbreak\\u001b[2J\\u00e9\""), 0,
		RFC_CODE, "WDJB-MJHT", "https://example.com/device", "",
		"line break?[2J??", 5, 900},
	    /* refusals */
	    {"", OA2_ERR_PARSE, "", "", "", "", "", 0, 0},
	    {"<html>", OA2_ERR_PARSE, "", "", "", "", "", 0, 0},
	    {"[1]", OA2_ERR_PARSE, "", "", "", "", "", 0, 0},
	    {RFC_WITH("\"x\":1") " trailing", OA2_ERR_PARSE, "", "", "", "", "",
		0, 0},
	    {"{\"user_code\":\"WDJB-MJHT\",\"verification_uri\":\"https://"
	     "example.com/device\"}",
		OA2_ERR_PARSE, "", "", "", "", "", 0, 0},
	    {"{\"device_code\":\"a b\",\"user_code\":\"WDJB-MJHT\","
	     "\"verification_uri\":\"https://example.com/device\"}",
		OA2_ERR_PARSE, "", "", "", "", "", 0, 0},
	    {"{\"device_code\":\"\",\"user_code\":\"WDJB-MJHT\","
	     "\"verification_uri\":\"https://example.com/device\"}",
		OA2_ERR_PARSE, "", "", "", "", "", 0, 0},
	    {"{\"device_code\":42,\"user_code\":\"WDJB-MJHT\","
	     "\"verification_uri\":\"https://example.com/device\"}",
		OA2_ERR_PARSE, "", "", "", "", "", 0, 0},
	    {"{\"device_code\":\"" RFC_CODE "\",\"verification_uri\":"
	     "\"https://example.com/device\",\"message\":\"m\"}",
		OA2_ERR_PARSE, "", "", "", "", "", 0, 0},
	    {"{\"device_code\":\"" RFC_CODE "\",\"user_code\":\"\","
	     "\"verification_uri\":\"https://example.com/device\"}",
		OA2_ERR_PARSE, "", "", "", "", "", 0, 0},
	    {"{\"device_code\":\"" RFC_CODE "\",\"user_code\":\"WDJB-MJHT\","
	     "\"verification_uri_complete\":\"https://example.com/device\"}",
		OA2_ERR_PARSE, "", "", "", "", "", 0, 0},
	    {"{\"device_code\":\"" RFC_CODE "\",\"user_code\":[\"WDJB\"],"
	     "\"verification_uri\":\"https://example.com/device\"}",
		OA2_ERR_PARSE, "", "", "", "", "", 0, 0},
	    /* the error answers go to tokenresp.c; here they are unusable */
	    {"{\"error\":\"invalid_client\"}", OA2_ERR_PARSE, "", "", "", "",
		"", 0, 0},
	};
	struct oa2_device_response dr;
	size_t i;

	oa2_device_response_init(&dr);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* a success before each case: a refusal must clear it */
		assert_int_equal(oa2_device_response_parse(RFC_WITH("\"x\":1"),
				     strlen(RFC_WITH("\"x\":1")), &dr),
		    0);
		if (oa2_device_response_parse(cases[i].body,
			strlen(cases[i].body), &dr) != cases[i].rc)
			fail_msg("case %zu: not rc %d: %s", i, cases[i].rc,
			    cases[i].body);
		assert_string_equal(
		    oa2_buf_str(&dr.device_code), cases[i].code);
		assert_int_equal(dr.device_code.len, strlen(cases[i].code));
		assert_string_equal(dr.user_code, cases[i].user_code);
		assert_string_equal(dr.uri, cases[i].uri);
		assert_string_equal(dr.uri_complete, cases[i].uri_complete);
		assert_string_equal(dr.message, cases[i].message);
		assert_int_equal(dr.interval, cases[i].interval);
		assert_int_equal(dr.expires_in, cases[i].expires_in);
	}
	oa2_device_response_free(&dr);
}

/* An answer whose device code is n bytes of 'c'. */
static int
with_code_of(char *body, size_t bodysz, size_t n)
{
	size_t k;

	k = (size_t)snprintf(body, bodysz, "{\"device_code\":\"");
	assert_true(k + n + 100 < bodysz);
	memset(body + k, 'c', n);
	k += n;
	k += (size_t)snprintf(body + k, bodysz - k,
	    "\",\"user_code\":\"U\",\"verification_uri\":\"https://e/\"}");
	return (int)k;
}

/* Bounds: texts are truncated to their fields; a device code over
 * OA2_TOKEN_MAX and JSON nested too deep are refused. */
static void
test_bounds(void **state)
{
	struct oa2_device_response dr;
	static char body[3 * OA2_TOKEN_MAX];
	char big[2000];
	int n;

	oa2_device_response_init(&dr);
	memset(big, 'u', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = snprintf(body, sizeof(body),
	    "{\"device_code\":\"d\",\"user_code\":\"%s\","
	    "\"verification_uri\":\"https://example.com/%s\",\"message\":"
	    "\"%s\"}",
	    big, big, big);
	assert_int_equal(oa2_device_response_parse(body, (size_t)n, &dr), 0);
	assert_int_equal(strlen(dr.user_code), sizeof(dr.user_code) - 1);
	assert_int_equal(strlen(dr.uri), sizeof(dr.uri) - 1);
	assert_int_equal(strlen(dr.message), sizeof(dr.message) - 1);

	n = with_code_of(body, sizeof(body), OA2_TOKEN_MAX);
	assert_int_equal(oa2_device_response_parse(body, (size_t)n, &dr), 0);
	assert_int_equal(dr.device_code.len, OA2_TOKEN_MAX);
	n = with_code_of(body, sizeof(body), OA2_TOKEN_MAX + 1);
	assert_int_equal(
	    oa2_device_response_parse(body, (size_t)n, &dr), OA2_ERR_PARSE);
	assert_int_equal(dr.device_code.len, 0);
	assert_string_equal(dr.user_code, "");

	memset(body, '[', 200);
	assert_int_equal(
	    oa2_device_response_parse(body, 200, &dr), OA2_ERR_PARSE);
	oa2_device_response_free(&dr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
