/*
 * test_http.c: what of an HTTP answer's headers may reach the user: the
 * Retry-After value (RFC 9110 10.2.3), a number or an HTTP-date, nothing
 * else.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "http.h"

static void
test_retry_after(void **state)
{
	static const struct {
		const char *value;
		int rc;
		const char *want;
	} cases[] = {
	    {"120", 0, "120"},
	    {" \t120 \t", 0, "120"},
	    {"0", 0, "0"},
	    {"000120", 0, "120"},
	    {"00000000000000000000005", 0, "5"},
	    {"999999999", 0, "999999999"},
	    {"1000000000", OA2_ERR_PARSE, ""},
	    {"99999999999999999999999", OA2_ERR_PARSE, ""},
	    {"-1", OA2_ERR_PARSE, ""},
	    {"+5", OA2_ERR_PARSE, ""},
	    {"12a", OA2_ERR_PARSE, ""},
	    {"1.5", OA2_ERR_PARSE, ""},
	    {"", OA2_ERR_PARSE, ""},
	    {"   ", OA2_ERR_PARSE, ""},
	    /* RFC 9110 5.6.7: IMF-fixdate, then the two obsolete forms */
	    {"Wed, 21 Oct 2015 07:28:00 GMT", 0,
		"Wed, 21 Oct 2015 07:28:00 GMT"},
	    {" Sun, 06 Nov 1994 08:49:37 GMT ", 0,
		"Sun, 06 Nov 1994 08:49:37 GMT"},
	    {"Sunday, 06-Nov-94 08:49:37 GMT", 0,
		"Sunday, 06-Nov-94 08:49:37 GMT"},
	    {"Sun Nov  6 08:49:37 1994", 0, "Sun Nov  6 08:49:37 1994"},
	    /* words, and text smuggled after a date */
	    {"tomorrow", OA2_ERR_PARSE, ""},
	    {"120 s", OA2_ERR_PARSE, ""},
	    {"soon, please", OA2_ERR_PARSE, ""},
	    {"Wed, 21 Oct 2015 07:28:00 GMT; token=abc", OA2_ERR_PARSE, ""},
	    {"Wed, 21 Oct 2015 07:28:00 GMT\r\nX: y", OA2_ERR_PARSE, ""},
	    {"Wed, 21 Oct 2015 07:28:00 GMT\x1b"
	     "[2J",
		OA2_ERR_PARSE, ""},
	    {"Wed, 21 Oct 2015 07:28:00 GMT Wed, 21 Oct 2015", OA2_ERR_PARSE,
		""},
	    {"<script>alert(1)</script>", OA2_ERR_PARSE, ""},
	    {"Wed,\xc2\xa0"
	     "21 Oct 2015 07:28:00 GMT",
		OA2_ERR_PARSE, ""},
	};
	char out[OA2_RETRY_AFTER_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'x', sizeof(out));
		if (oa2_retry_after_clean(cases[i].value, out, sizeof(out)) !=
		    cases[i].rc)
			fail_msg("case %zu ('%s'): rc %d", i, cases[i].value,
			    oa2_retry_after_clean(
				cases[i].value, out, sizeof(out)));
		assert_string_equal(out, cases[i].want);
	}
}

/* Too small an output is a refusal with "" there, never a cut value. */
static void
test_retry_after_small(void **state)
{
	char out[8];

	memset(out, 'x', sizeof(out));
	assert_int_equal(oa2_retry_after_clean("1234567", out, 8), 0);
	assert_string_equal(out, "1234567");
	assert_int_equal(
	    oa2_retry_after_clean("12345678", out, 8), OA2_ERR_PARSE);
	assert_string_equal(out, "");
	assert_int_equal(
	    oa2_retry_after_clean("Wed, 21 Oct 2015 07:28:00 GMT", out, 8),
	    OA2_ERR_PARSE);
	assert_string_equal(out, "");
	assert_int_equal(oa2_retry_after_clean(NULL, out, 8), OA2_ERR_PARSE);
	assert_string_equal(out, "");
	assert_int_equal(oa2_retry_after_clean("1", out, 0), OA2_ERR_PARSE);
}

/* https anywhere; plain http only to a loopback address, parsed as an
 * address: a DNS name that starts like one goes wherever DNS says. */
static void
test_url_allowed(void **state)
{
	static const struct {
		const char *url;
		int rc;
	} cases[] = {
	    {"https://login.example.com/token", 0},
	    {"http://127.0.0.1:8080/token", 0},
	    {"http://127.45.6.7/token", 0},
	    {"http://localhost:8080/token", 0},
	    {"http://[::1]:8080/token", 0},
	    {"http://127.0.0.1.nip.io/token", OA2_ERR_INVAL},
	    {"http://127.example.net/token", OA2_ERR_INVAL},
	    {"http://128.0.0.1/token", OA2_ERR_INVAL},
	    {"http://10.0.0.1/token", OA2_ERR_INVAL},
	    {"http://[::2]/token", OA2_ERR_INVAL},
	    {"http://[::ffff:127.0.0.1]/token", OA2_ERR_INVAL},
	    {"http://localhost.example.net/token", OA2_ERR_INVAL},
	    {"http://login.example.com/token", OA2_ERR_INVAL},
	    {"ftp://127.0.0.1/token", OA2_ERR_INVAL},
	    {"not a url", OA2_ERR_INVAL},
	};
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].url);
		assert_int_equal(
		    oa2_url_allowed(cases[i].url, err, sizeof(err)),
		    cases[i].rc);
	}
}

/* Which proxy a request goes through, as doctor and the errors say it:
 * the key (with its no_proxy), else the environment as libcurl reads it,
 * loopback exempt unless no_proxy is set; a password refused, unsaid. */
static void
test_proxy_for(void **state)
{
	static const char *const vars[] = {"https_proxy", "HTTPS_PROXY",
	    "all_proxy", "ALL_PROXY", "http_proxy", "no_proxy", "NO_PROXY",
	    "SASL_OAUTH2_PROXY_DROPPED", NULL};
	static const struct {
		const char *proxy, *no_proxy; /* the account's keys */
		const char *env[2];	      /* NAME=VALUE */
		const char *url;
		int r;
		const char *want;
	} cases[] = {
	    {"http://p:3128", NULL, {NULL, NULL}, "https://idp.example/token",
		0, "http://p:3128 (the account's proxy key)"},
	    /* the key: loopback too, unless its no_proxy says */
	    {"http://p:3128", NULL, {NULL, NULL}, "http://127.0.0.1:8080/t", 0,
		"http://p:3128 (the account's proxy key)"},
	    {"http://p:3128", "idp.example", {NULL, NULL},
		"https://login.idp.example/token", 0, ""},
	    {"http://p:3128", ".example", {"https_proxy=http://q:1", NULL},
		"https://idp.example/token", 0, ""},
	    {"http://p:3128", "::1", {NULL, NULL}, "http://[::1]:8080/t", 0,
		""},
	    /* the environment, in libcurl's order */
	    {NULL, NULL, {"HTTPS_PROXY=http://q:1", "https_proxy=http://r:2"},
		"https://idp.example/token", 0, "http://r:2 (https_proxy)"},
	    {NULL, NULL, {"ALL_PROXY=http://q:1", NULL},
		"https://idp.example/token", 0, "http://q:1 (ALL_PROXY)"},
	    {NULL, NULL, {"https_proxy=http://q:1", NULL},
		"http://127.0.0.1:8080/t", 0, ""},
	    {NULL, NULL, {"https_proxy=http://q:1", NULL},
		"https://idp.example/token", 0, "http://q:1 (https_proxy)"},
	    {NULL, NULL, {"all_proxy=http://q:1", NULL}, "http://[::1]:8080/t",
		0, ""},
	    {NULL, NULL, {"all_proxy=http://q:1", "no_proxy=example.test"},
		"http://127.0.0.1:8080/t", 0, "http://q:1 (all_proxy)"},
	    {NULL, NULL, {"all_proxy=http://q:1", "NO_PROXY=*"},
		"https://idp.example/token", 0, ""},
	    {NULL, NULL, {"https_proxy=http://q:1", "no_proxy=.idp.example"},
		"https://login.idp.example/token", 0, ""},
	    {NULL, NULL, {"https_proxy=http://q:1", "no_proxy=idp.example"},
		"https://notidp.example/token", 0, "http://q:1 (https_proxy)"},
	    /* plain http: http_proxy, never HTTP_PROXY (CGI's Proxy:) */
	    {NULL, NULL, {"HTTP_PROXY=http://q:1", "no_proxy=x"},
		"http://127.0.0.1:8080/t", 0, ""},
	    {NULL, NULL, {NULL, NULL}, "https://idp.example/token", 0, ""},
	    /* passwords */
	    {NULL, NULL, {"https_proxy=http://u:s3cret@q:1", NULL},
		"https://idp.example/token", OA2_ERR_CONFIG, ""},
	    {"http://p:3128", NULL, {"https_proxy=http://u:s3cret@q:1", NULL},
		"https://idp.example/token", 0,
		"http://p:3128 (the account's proxy key)"},
	    {NULL, NULL, {"SASL_OAUTH2_PROXY_DROPPED=HTTPS_PROXY", NULL},
		"https://idp.example/token", OA2_ERR_CONFIG, ""},
	};
	char out[OA2_PROXY_DESC_MAX];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct oa2_http h = {0};
		char buf[128];

		for (j = 0; vars[j] != NULL; j++)
			unsetenv(vars[j]);
		unsetenv("HTTP_PROXY");
		for (j = 0; j < 2 && cases[i].env[j] != NULL; j++) {
			snprintf(buf, sizeof(buf), "%s", cases[i].env[j]);
			*strchr(buf, '=') = '\0';
			setenv(buf, strchr(cases[i].env[j], '=') + 1, 1);
		}
		h.proxy = cases[i].proxy;
		h.no_proxy = cases[i].no_proxy;
		memset(out, 'x', sizeof(out));
		assert_int_equal(
		    oa2_http_proxy_for(&h, cases[i].url, out, sizeof(out)),
		    cases[i].r);
		assert_string_equal(out, cases[i].want);
	}
	for (j = 0; vars[j] != NULL; j++)
		unsetenv(vars[j]);
	unsetenv("HTTP_PROXY");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_retry_after_small),
	    cmocka_unit_test(test_url_allowed),
	    cmocka_unit_test(test_proxy_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
