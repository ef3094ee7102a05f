/*
 * test_redirect.c: the loopback redirect request parser, and the same
 * parser fed a pasted address or code, table-driven.
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
#include "redirect.h"

#define H "\r\nHost: 127.0.0.1:4711\r\nUser-Agent: test/1.0\r\n\r\n"

static void
test_parse_ok(void **state)
{
	static const struct {
		const char *name, *req;
		int rc;
		const char *path, *code, *st, *error, *desc, *iss;
	} cases[] = {
	    {"normal callback",
		"GET /callback?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz-1_2.3~"
		" HTTP/1.1" H,
		0, "/callback", "SplxlOBeZQQYbYS6WxSbIA", "xyz-1_2.3~", "", "",
		NULL},
	    {"extra params ignored, escapes and iss decoded",
		"GET /callback?iss=https%3A%2F%2Fidp&code=a%2Fb%2Bc+d"
		"&session_state=x.y&state=s%7E&scope=openid+email HTTP/1.1" H,
		0, "/callback", "a/b+c d", "s~", "", "", "https://idp"},
	    {"an empty iss is there (RFC 9207: compared, so refused)",
		"GET /callback?code=c&iss= HTTP/1.1" H, 0, "/callback", "c", "",
		"", "", ""},
	    {"no headers, HTTP/1.0",
		"GET /callback?code=c&state=s HTTP/1.0\r\n\r\n", 0, "/callback",
		"c", "s", "", "", NULL},
	    {"bytes after the blank line are ignored",
		"GET /callback?code=c&state=s HTTP/1.1" H "junk\0junk", 0,
		"/callback", "c", "s", "", "", NULL},
	    {"error with description",
		"GET /callback?error=access_denied&error_description=The+user"
		"+said+%3Cno%3E%0D%0Aand%09left%C3%A9&state=s HTTP/1.1" H,
		0, "/callback", "", "s", "access_denied",
		"The user said <no>  and left??", NULL},
	    {"missing code is the caller's business",
		"GET /callback?state=s HTTP/1.1" H, 0, "/callback", "", "s", "",
		"", NULL},
	    {"no query", "GET /favicon.ico HTTP/1.1" H, 0, "/favicon.ico", "",
		"", "", "", NULL},
	    {"empty pairs, valueless names",
		"GET /cb?&&state&code=c& HTTP/1.1" H, 0, "/cb", "c", "", "", "",
		NULL},
	    {"path kept as sent", "GET /%63allback?code=c HTTP/1.1" H, 0,
		"/%63allback", "c", "", "", "", NULL},
	};
	struct oa2_redirect r;
	size_t i, len;

	oa2_redirect_init(&r);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = strlen(cases[i].req);
		/* The one case with bytes after a NUL past the headers. */
		if (strstr(cases[i].name, "after the blank") != NULL)
			len += 5;
		print_message("%s\n", cases[i].name);
		assert_int_equal(
		    oa2_redirect_parse(cases[i].req, len, &r), cases[i].rc);
		assert_string_equal(r.path, cases[i].path);
		assert_string_equal(oa2_buf_str(&r.code), cases[i].code);
		assert_string_equal(r.state, cases[i].st);
		assert_string_equal(r.error, cases[i].error);
		assert_string_equal(r.error_description, cases[i].desc);
		assert_int_equal(r.has_iss, cases[i].iss != NULL);
		assert_string_equal(r.iss, cases[i].iss ? cases[i].iss : "");
	}
	oa2_redirect_free(&r);
}

/* More wanted (1) or refused; nothing half-parsed is left behind. */
static void
test_parse_bad(void **state)
{
	static const struct {
		const char *name, *req;
		int rc;
	} cases[] = {
	    {"truncated: request line only",
		"GET /callback?code=c&state=s HTTP/1.1\r\n", 1},
	    {"truncated: one header",
		"GET /callback?code=c HTTP/1.1\r\nHost: x\r\n", 1},
	    {"truncated: three bytes", "GET", 1},
	    {"empty", "", 1},
	    {"bare LF before the end", "GET /callback HTTP/1.1\n",
		OA2_ERR_PARSE},
	    {"duplicate state",
		"GET /callback?code=c&state=a&state=b HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"duplicate code", "GET /callback?code=c&state=a&code=d HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"duplicate code via an escaped name",
		"GET /callback?code=c&c%6Fde=d HTTP/1.1" H, OA2_ERR_PARSE},
	    {"duplicate error", "GET /callback?error=a&error=b HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"empty code", "GET /callback?code=&state=s HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"empty error", "GET /callback?error=&state=s HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"control in code", "GET /callback?code=a%0Ab HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"8-bit in state", "GET /callback?state=a%FF HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"bad escape: not hex", "GET /callback?code=a%zz HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"bad escape: cut short", "GET /callback?code=a%4 HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"bad escape in an ignored param",
		"GET /callback?code=c&scope=%G0 HTTP/1.1" H, OA2_ERR_PARSE},
	    {"bad escape in iss", "GET /callback?code=c&iss=%G0 HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"duplicate iss", "GET /callback?code=c&iss=a&iss=a HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"control in iss", "GET /callback?code=c&iss=a%0Ab HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"bad escape in the path", "GET /call%gback?code=c HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"escaped NUL", "GET /callback?code=a%00b HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		OA2_ERR_PARSE},
	    {"garbage text", "hello\r\n\r\n", OA2_ERR_PARSE},
	    {"HEAD", "HEAD /callback?code=c&state=s HTTP/1.1" H, OA2_ERR_PARSE},
	    {"POST", "POST /callback HTTP/1.1\r\nContent-Length: 3\r\n\r\nx=y",
		OA2_ERR_PARSE},
	    {"lower-case get", "get /callback HTTP/1.1" H, OA2_ERR_PARSE},
	    {"absolute-form",
		"GET http://127.0.0.1:4711/callback?code=c&state=s HTTP/1.1" H,
		OA2_ERR_PARSE},
	    {"authority-form", "GET 127.0.0.1:4711 HTTP/1.1" H, OA2_ERR_PARSE},
	    {"asterisk-form", "GET * HTTP/1.1" H, OA2_ERR_PARSE},
	    {"fragment", "GET /callback#code=c HTTP/1.1" H, OA2_ERR_PARSE},
	    {"two spaces", "GET  /callback HTTP/1.1" H, OA2_ERR_PARSE},
	    {"HTTP/0.9", "GET /callback\r\n\r\n", OA2_ERR_PARSE},
	    {"HTTP/2.0", "GET /callback HTTP/2.0" H, OA2_ERR_PARSE},
	    {"HTTP/1.1 trailing space", "GET /callback HTTP/1.1 " H,
		OA2_ERR_PARSE},
	    {"bare LF line ends", "GET /callback HTTP/1.1\nHost: x\n\n",
		OA2_ERR_PARSE},
	    {"tab in target", "GET /call\tback HTTP/1.1" H, OA2_ERR_PARSE},
	    {"8-bit in target", "GET /caf\xc3\xa9 HTTP/1.1" H, OA2_ERR_PARSE},
	    {"header without colon",
		"GET /callback HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n",
		OA2_ERR_PARSE},
	    {"obs-fold header",
		"GET /callback HTTP/1.1\r\nHost: a\r\n b\r\n\r\n",
		OA2_ERR_PARSE},
	    {"bare CR in a header",
		"GET /callback HTTP/1.1\r\nHost: a\rb\r\n\r\n", OA2_ERR_PARSE},
	    {"empty header name", "GET /callback HTTP/1.1\r\n: a\r\n\r\n",
		OA2_ERR_PARSE},
	};
	static const char good[] = "GET /callback?code=c&state=s HTTP/1.1" H;
	struct oa2_redirect r;
	size_t i;

	oa2_redirect_init(&r);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].name);
		assert_int_equal(
		    oa2_redirect_parse(good, sizeof(good) - 1, &r), 0);
		assert_int_equal(
		    oa2_redirect_parse(cases[i].req, strlen(cases[i].req), &r),
		    cases[i].rc);
		assert_int_equal(r.code.len, 0);
		assert_string_equal(r.state, "");
		assert_string_equal(r.path, "");
	}
	oa2_redirect_free(&r);
}

/* A NUL anywhere in the request is malformed, before or after a complete
 * request line. */
static void
test_nul(void **state)
{
	static const char req[] = "GET /callback?code=a\0b HTTP/1.1" H;
	struct oa2_redirect r;

	oa2_redirect_init(&r);
	assert_int_equal(
	    oa2_redirect_parse(req, sizeof(req) - 1, &r), OA2_ERR_PARSE);
	assert_int_equal(oa2_redirect_parse("GE\0", 3, &r), OA2_ERR_PARSE);
	oa2_redirect_free(&r);
}

static void
test_sizes(void **state)
{
	char *big = malloc(OA2_REDIRECT_REQ_MAX + 2);
	struct oa2_redirect r;
	size_t n;

	assert_non_null(big);
	oa2_redirect_init(&r);

	/* Headers that never end: more wanted below the cap, too big at it
	 * and over it. */
	n = (size_t)snprintf(
	    big, OA2_REDIRECT_REQ_MAX + 2, "GET /callback HTTP/1.1\r\nX: ");
	memset(big + n, 'a', OA2_REDIRECT_REQ_MAX + 2 - n);
	assert_int_equal(
	    oa2_redirect_parse(big, OA2_REDIRECT_REQ_MAX - 1, &r), 1);
	assert_int_equal(
	    oa2_redirect_parse(big, OA2_REDIRECT_REQ_MAX, &r), OA2_ERR_TOOBIG);
	assert_int_equal(oa2_redirect_parse(big, OA2_REDIRECT_REQ_MAX + 1, &r),
	    OA2_ERR_TOOBIG);

	/* A request of exactly the cap is fine. */
	memcpy(big + OA2_REDIRECT_REQ_MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(oa2_redirect_parse(big, OA2_REDIRECT_REQ_MAX, &r), 0);

	/* A long code is kept whole. */
	n = (size_t)snprintf(big, 64, "GET /callback?state=s&code=");
	memset(big + n, 'c', 6000);
	memcpy(big + n + 6000, " HTTP/1.1\r\n\r\n", 13);
	assert_int_equal(oa2_redirect_parse(big, n + 6013, &r), 0);
	assert_int_equal(r.code.len, 6000);

	/* state over its field: too big; 255 characters fit. */
	n = (size_t)snprintf(big, 64, "GET /callback?code=c&state=");
	memset(big + n, 's', 256);
	memcpy(big + n + 256, " HTTP/1.1\r\n\r\n", 13);
	assert_int_equal(
	    oa2_redirect_parse(big, n + 256 + 13, &r), OA2_ERR_TOOBIG);
	memmove(big + n + 255, big + n + 256, 13);
	assert_int_equal(oa2_redirect_parse(big, n + 255 + 13, &r), 0);
	assert_int_equal(strlen(r.state), 255);

	/* path over its field: too big. */
	n = (size_t)snprintf(big, 64, "GET /");
	memset(big + n, 'p', 300);
	memcpy(big + n + 300, " HTTP/1.1\r\n\r\n", 13);
	assert_int_equal(
	    oa2_redirect_parse(big, n + 300 + 13, &r), OA2_ERR_TOOBIG);

	/* A long error_description is cut, not refused. */
	n = (size_t)snprintf(
	    big, 64, "GET /callback?state=s&error=x&error_description=");
	memset(big + n, 'd', 2000);
	memcpy(big + n + 2000, " HTTP/1.1\r\n\r\n", 13);
	assert_int_equal(oa2_redirect_parse(big, n + 2013, &r), 0);
	assert_int_equal(
	    strlen(r.error_description), sizeof(r.error_description) - 1);

	oa2_redirect_free(&r);
	free(big);
}

/* Fed one byte at a time, the parser wants more until the blank line. */
static void
test_incremental(void **state)
{
	static const char req[] = "GET /callback?code=c&state=s HTTP/1.1" H;
	struct oa2_redirect r;
	size_t i;

	oa2_redirect_init(&r);
	for (i = 0; i < sizeof(req) - 1; i++)
		assert_int_equal(oa2_redirect_parse(req, i, &r), 1);
	assert_int_equal(oa2_redirect_parse(req, i, &r), 0);
	assert_string_equal(oa2_buf_str(&r.code), "c");
	/* A second parse clears the first. */
	assert_int_equal(
	    oa2_redirect_parse("GET / HTTP/1.1\r\n\r\n", 18, &r), 0);
	assert_int_equal(r.code.len, 0);
	assert_string_equal(r.state, "");
	oa2_redirect_free(&r);
}

/* A pasted line: the address the browser ended on, or the code alone,
 * through the same parser as a request. */
static void
test_pasted(void **state)
{
	static const char cb[] = "http://127.0.0.1:4711/callback";
	static const char lh[] = "http://localhost:4711";
	static const struct {
		const char *name, *uri, *line;
		int rc, bare;
		const char *path, *code, *st, *error, *iss;
	} cases[] = {
	    {"the whole address", cb,
		"http://127.0.0.1:4711/callback?code=SplxlOBeZQQYbYS6WxSbIA"
		"&state=xyz&iss=https%3A%2F%2Fidp",
		0, 0, "/callback", "SplxlOBeZQQYbYS6WxSbIA", "xyz", "",
		"https://idp"},
	    {"spaces and a CR around it, upper-case scheme and host", cb,
		"  HTTP://127.0.0.1:4711/callback?code=c0&state=s \r\n", 0, 0,
		"/callback", "c0", "s", "", NULL},
	    {"an error page's address", cb,
		"http://127.0.0.1:4711/callback?error=access_denied"
		"&error_description=no&state=s",
		0, 0, "/callback", "", "s", "access_denied", NULL},
	    {"another path is the caller's business", cb,
		"http://127.0.0.1:4711/favicon.ico", 0, 0, "/favicon.ico", "",
		"", "", NULL},
	    {"localhost without a path: the path is /", lh,
		"http://localhost:4711?code=c1&state=s", 0, 0, "/", "c1", "s",
		"", NULL},
	    {"localhost with the slash Entra adds", lh,
		"http://localhost:4711/?code=c1&state=s", 0, 0, "/", "c1", "s",
		"", NULL},
	    {"the code alone", cb, "4/0AX4XfWh-a_b.c~d%2Be", 0, 1, "/callback",
		"4/0AX4XfWh-a_b.c~d+e", "", "", NULL},
	    {"the code alone, localhost", lh, "\t0.AXEAabcdefghij\n", 0, 1, "/",
		"0.AXEAabcdefghij", "", "", NULL},
	    {"blank", cb, " \t\r\n", 1, 0, "", "", "", "", NULL},
	    {"empty", cb, "", 1, 0, "", "", "", "", NULL},
	    {"another port", cb,
		"http://127.0.0.1:47110/callback?code=c&state=s",
		OA2_ERR_NOTFOUND, 0, "", "", "", "", NULL},
	    {"another scheme", cb,
		"https://127.0.0.1:4711/callback?code=c&state=s",
		OA2_ERR_NOTFOUND, 0, "", "", "", "", NULL},
	    {"localhost for 127.0.0.1", cb,
		"http://localhost:4711/callback?code=c&state=s",
		OA2_ERR_NOTFOUND, 0, "", "", "", "", NULL},
	    {"a page of the provider", cb,
		"https://login.example.com/error?code=AADSTS50011",
		OA2_ERR_NOTFOUND, 0, "", "", "", "", NULL},
	    {"userinfo in front of the host", cb,
		"http://x@127.0.0.1:4711/callback?code=c", OA2_ERR_NOTFOUND, 0,
		"", "", "", "", NULL},
	    {"words", cb, "this is not an address", OA2_ERR_PARSE, 0, "", "",
		"", "", NULL},
	    {"a scheme that is not http", cb, "javascript:alert(1)//aaaaaa",
		OA2_ERR_PARSE, 0, "", "", "", "", NULL},
	    {"too short for a code", cb, "y", OA2_ERR_PARSE, 0, "", "", "", "",
		NULL},
	    {"a query, not a code", cb, "code=abcdefghijk&state=s",
		OA2_ERR_PARSE, 0, "", "", "", "", NULL},
	    {"a space inside the address", cb,
		"http://127.0.0.1:4711/callback?code=a b&state=s",
		OA2_ERR_PARSE, 0, "", "", "", "", NULL},
	    {"a control inside the address", cb,
		"http://127.0.0.1:4711/callback?code=a\x1b[Ab&state=s",
		OA2_ERR_PARSE, 0, "", "", "", "", NULL},
	    {"8-bit inside the address", cb,
		"http://127.0.0.1:4711/callback?code=caf\xc3\xa9&state=s",
		OA2_ERR_PARSE, 0, "", "", "", "", NULL},
	    {"a fragment", cb, "http://127.0.0.1:4711/callback#code=c&state=s",
		OA2_ERR_PARSE, 0, "", "", "", "", NULL},
	    {"a repeated state", cb,
		"http://127.0.0.1:4711/callback?code=c&state=a&state=b",
		OA2_ERR_PARSE, 0, "", "", "", "", NULL},
	    {"a bad escape in the code alone", cb, "abcdefghij%zz",
		OA2_ERR_PARSE, 0, "", "", "", "", NULL},
	    {"an escaped NUL in the code alone", cb, "abcdefghij%00",
		OA2_ERR_PARSE, 0, "", "", "", "", NULL},
	};
	struct oa2_redirect r;
	size_t i;
	int bare;

	oa2_redirect_init(&r);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].name);
		bare = -1;
		assert_int_equal(
		    oa2_redirect_parse_pasted(cases[i].line,
			strlen(cases[i].line), cases[i].uri, &r, &bare),
		    cases[i].rc);
		assert_int_equal(bare, cases[i].bare);
		assert_string_equal(r.path, cases[i].path);
		assert_string_equal(oa2_buf_str(&r.code), cases[i].code);
		assert_string_equal(r.state, cases[i].st);
		assert_string_equal(r.error, cases[i].error);
		assert_int_equal(r.has_iss, cases[i].iss != NULL);
		assert_string_equal(r.iss, cases[i].iss ? cases[i].iss : "");
	}
	oa2_redirect_free(&r);
}

/* Caps: a line of the request cap or more is refused whole; a long code
 * alone is kept whole; a redirect URI that is not one is refused. */
static void
test_pasted_sizes(void **state)
{
	static const char cb[] = "http://127.0.0.1:4711/callback";
	char *big = malloc(OA2_REDIRECT_REQ_MAX + 1);
	struct oa2_redirect r;
	int bare;
	size_t n;

	assert_non_null(big);
	oa2_redirect_init(&r);
	n = (size_t)snprintf(big, 64, "%s?state=s&code=", cb);
	memset(big + n, 'c', OA2_REDIRECT_REQ_MAX + 1 - n);
	assert_int_equal(
	    oa2_redirect_parse_pasted(big, OA2_REDIRECT_REQ_MAX, cb, &r, &bare),
	    OA2_ERR_TOOBIG);
	assert_int_equal(bare, 0);
	assert_int_equal(r.code.len, 0);
	assert_int_equal(
	    oa2_redirect_parse_pasted(big, 6000, cb, &r, &bare), 0);
	assert_int_equal(r.code.len, 6000 - n);
	memset(big, 'c', 6000);
	assert_int_equal(
	    oa2_redirect_parse_pasted(big, 6000, cb, &r, &bare), 0);
	assert_int_equal(bare, 1);
	assert_int_equal(r.code.len, 6000);
	/* The code alone fills all but the path and "?code=". */
	assert_int_equal(oa2_redirect_parse_pasted(
			     big, OA2_REDIRECT_REQ_MAX - 1, cb, &r, &bare),
	    OA2_ERR_TOOBIG);
	assert_int_equal(r.code.len, 0);
	assert_int_equal(
	    oa2_redirect_parse_pasted("abcdefghijk", 11, "callback", &r, &bare),
	    OA2_ERR_INVAL);
	oa2_redirect_free(&r);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ok),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_nul),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_incremental),
	    cmocka_unit_test(test_pasted),
	    cmocka_unit_test(test_pasted_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
