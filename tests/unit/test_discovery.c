/*
 * test_discovery.c: the issuer metadata parser (OpenID Connect Discovery
 * 1.0, RFC 8414): endpoints copied, the issuer held against the configured
 * one, and RFC 9207's authorization_response_iss_parameter_supported.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "discovery.h"
#include "err.h"

#define ISS "http://127.0.0.1:4711"
#define META(x)                                                                \
	"{\"issuer\":\"" ISS "\",\"token_endpoint\":\"" ISS "/token\","        \
	"\"authorization_endpoint\":\"" ISS "/auth\"" x "}"

static void
test_parse(void **state)
{
	static const struct {
		const char *name, *doc, *expected;
		int rc, iss_supported;
	} cases[] = {
	    {"plain", META(""), ISS, 0, 0},
	    {"no issuer expected", META(""), NULL, 0, 0},
	    {"RFC 9207 supported",
		META(",\"authorization_response_iss_parameter_supported\":"
		     "true"),
		ISS, 0, 1},
	    {"RFC 9207 said false",
		META(",\"authorization_response_iss_parameter_supported\":"
		     "false"),
		ISS, 0, 0},
	    {"RFC 9207 not a boolean: not promised",
		META(",\"authorization_response_iss_parameter_supported\":"
		     "\"true\""),
		ISS, 0, 0},
	    {"another issuer", META(""), "http://127.0.0.1:4712", OA2_ERR_PARSE,
		0},
	    {"no token endpoint", "{\"issuer\":\"" ISS "\"}", ISS,
		OA2_ERR_PARSE, 0},
	    {"not an object", "[1]", ISS, OA2_ERR_PARSE, 0},
	    {"broken JSON", "{\"issuer\":", ISS, OA2_ERR_PARSE, 0},
	};
	struct oa2_endpoints ep;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].name);
		assert_int_equal(
		    oa2_discovery_parse(cases[i].doc, strlen(cases[i].doc),
			cases[i].expected, &ep, err, sizeof(err)),
		    cases[i].rc);
		assert_int_equal(ep.iss_supported, cases[i].iss_supported);
		if (cases[i].rc == 0) {
			assert_string_equal(ep.token, ISS "/token");
			assert_string_equal(ep.authorization, ISS "/auth");
			assert_string_equal(ep.device, "");
		} else {
			assert_string_equal(ep.token, "");
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
