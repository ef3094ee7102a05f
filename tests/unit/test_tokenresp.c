/*
 * test_tokenresp.c: token endpoint answers (RFC 6749 5.1, 5.2, Microsoft
 * and Google shapes) and the sentences and exit classes they map to.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "errmap.h"
#include "tokenresp.h"

static void
test_parse(void **state)
{
	static const struct {
		const char *body;
		long status;
		int rc;
		const char *token, *refresh;
		long long expires_in;
		const char *error;
		long aadsts;
	} cases[] = {
	    {"{\"access_token\":\"2YotnFZFEjr1zCsicMWpAA\",\"token_type\":"
	     "\"example\",\"expires_in\":3600}",
		200, OA2_ERR_PARSE, NULL, NULL, -1, "", 0},
	    {"{\"access_token\":\"2YotnFZFEjr1zCsicMWpAA\",\"token_type\":"
	     "\"Bearer\",\"expires_in\":3600,\"refresh_token\":"
	     "\"tGzv3JOkF0XG5Qx2TlKWIA\"}",
		200, 0, "2YotnFZFEjr1zCsicMWpAA", "tGzv3JOkF0XG5Qx2TlKWIA",
		3600, "", 0},
	    {"{\"access_token\":\"abc\",\"token_type\":\"bearer\","
	     "\"expires_in\":\"3599\"}",
		200, 0, "abc", "", 3599, "", 0},
	    {"{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}  \n", 200, 0,
		"abc", "", -1, "", 0},
	    {"{\"token_type\":\"Bearer\"}", 200, OA2_ERR_PARSE, NULL, NULL, -1,
		"", 0},
	    {"{\"access_token\":\"a b\",\"token_type\":\"Bearer\"}", 200,
		OA2_ERR_PARSE, NULL, NULL, -1, "", 0},
	    {"{\"access_token\":42,\"token_type\":\"Bearer\"}", 200,
		OA2_ERR_PARSE, NULL, NULL, -1, "", 0},
	    {"{\"access_token\":\"abc\",\"token_type\":\"Bearer\"", 200,
		OA2_ERR_PARSE, NULL, NULL, -1, "", 0},
	    {"[1,2]", 200, OA2_ERR_PARSE, NULL, NULL, -1, "", 0},
	    {"<html>oops</html>", 502, OA2_ERR_PROVIDER, NULL, NULL, -1,
		"http_502", 0},
	    {"{\"error\":\"invalid_client\",\"error_description\":"
	     "\"AADSTS7000215: Invalid client secret provided.\\r\\nTrace ID: "
	     "x\",\"error_codes\":[7000215]}",
		401, OA2_ERR_PROVIDER, NULL, NULL, -1, "invalid_client",
		7000215},
	    {"{\"error\":\"invalid_grant\",\"error_description\":"
	     "\"AADSTS70008: The refresh token has expired\"}",
		400, OA2_ERR_PROVIDER, NULL, NULL, -1, "invalid_grant", 70008},
	    {"{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}", 500,
		OA2_ERR_PROVIDER, NULL, NULL, -1, "http_500", 0},
	    /* Found by fuzzing: an empty error still names something. */
	    {"{\"error\":\"\"}", 400, OA2_ERR_PROVIDER, NULL, NULL, -1,
		"http_400", 0},
	};
	struct oa2_token_response tr;
	size_t i;

	oa2_token_response_init(&tr);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    oa2_token_response_parse(cases[i].body,
			strlen(cases[i].body), cases[i].status, &tr),
		    cases[i].rc);
		if (cases[i].token != NULL) {
			assert_string_equal(
			    oa2_buf_str(&tr.access_token), cases[i].token);
			assert_string_equal(
			    oa2_buf_str(&tr.refresh_token), cases[i].refresh);
			assert_int_equal(tr.expires_in, cases[i].expires_in);
		} else {
			assert_int_equal(tr.access_token.len, 0);
		}
		assert_string_equal(tr.error, cases[i].error);
		assert_int_equal(tr.aadsts, cases[i].aadsts);
	}
	oa2_token_response_free(&tr);
}

static void
test_parse_depth(void **state)
{
	struct oa2_token_response tr;
	char deep[200];

	memset(deep, '[', sizeof(deep));
	oa2_token_response_init(&tr);
	assert_int_equal(oa2_token_response_parse(deep, sizeof(deep), 200, &tr),
	    OA2_ERR_PARSE);
	oa2_token_response_free(&tr);
}

static void
test_explain(void **state)
{
	static const struct {
		const char *body;
		long status;
		int class;
		const char *needle;
	} cases[] = {
	    {"{\"error\":\"invalid_client\",\"error_description\":"
	     "\"AADSTS7000218: "
	     "The request body must contain client_assertion or "
	     "client_secret.\"}",
		401, OA2_ERR_CLIENT, "Allow public client flows"},
	    {"{\"error\":\"invalid_grant\",\"error_codes\":[700082]}", 400,
		OA2_ERR_AUTH, "log in again"},
	    {"{\"error\":\"invalid_grant\",\"error_description\":\"Token has "
	     "been expired or revoked.\"}",
		400, OA2_ERR_AUTH, "Testing"},
	    {"{\"error\":\"invalid_grant\"}", 400, OA2_ERR_AUTH,
		"log in again"},
	    {"{\"error\":\"invalid_client\"}", 401, OA2_ERR_CLIENT,
		"client_secret_file"},
	    {"{\"error\":\"invalid_scope\"}", 400, OA2_ERR_CLIENT,
		"outlook.office365.com/.default"},
	    {"{\"error\":\"temporarily_unavailable\"}", 503, OA2_ERR_PROVIDER,
		"try again later"},
	    {"busy", 429, OA2_ERR_PROVIDER, "try again later"},
	    {"nope", 404, OA2_ERR_CLIENT, "check token_endpoint"},
	    {"{\"error\":\"brand_new_error\",\"error_description\":\"Whatever"
	     "\"}",
		400, OA2_ERR_CLIENT, "brand_new_error: Whatever"},
	    {"{\"error\":\"invalid_request\",\"error_description\":"
	     "\"AADSTS9001023: tenant\"}",
		400, OA2_ERR_CLIENT, "tenant-specific endpoint"},
	};
	struct oa2_token_response tr;
	char msg[1024];
	size_t i;

	oa2_token_response_init(&tr);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    oa2_token_response_parse(cases[i].body,
			strlen(cases[i].body), cases[i].status, &tr),
		    OA2_ERR_PROVIDER);
		assert_int_equal(oa2_explain(&tr, "work", 0, msg, sizeof(msg)),
		    cases[i].class);
		if (strstr(msg, cases[i].needle) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, msg,
			    cases[i].needle);
		assert_non_null(strstr(msg, "account work: "));
	}
	oa2_token_response_free(&tr);
}

/* App-only accounts (client credentials) have nobody to log in: the
 * refusals that send a user to "sasl-oauth2 login" point at the app. */
static void
test_explain_app_only(void **state)
{
	static const struct {
		const char *body;
		long status;
		int class;
		const char *needle;
	} cases[] = {
	    {"{\"error\":\"invalid_grant\"}", 400, OA2_ERR_CLIENT,
		"check the app registration, its client secret "
		"(client_secret_file or client_secret_command) or "
		"certificate"},
	    /* Microsoft: a refresh-token AADSTS code says nothing here */
	    {"{\"error\":\"invalid_grant\",\"error_codes\":[700082]}", 400,
		OA2_ERR_CLIENT, "client secret or certificate, and tenant"},
	    /* Google's "expired or revoked" is about refresh tokens too */
	    {"{\"error\":\"invalid_grant\",\"error_description\":\"Token "
	     "has been expired or revoked.\"}",
		400, OA2_ERR_CLIENT, "check the app registration"},
	    {"{\"error\":\"invalid_client\"}", 401, OA2_ERR_CLIENT,
		"certificate registered with the app"},
	    {"{\"error\":\"access_denied\"}", 400, OA2_ERR_CLIENT,
		"admin granted consent"},
	    {"{\"error\":\"invalid_grant\",\"error_description\":"
	     "\"AADSTS53003: Access has been blocked by Conditional Access "
	     "policies.\"}",
		400, OA2_ERR_CLIENT, "policy applies to the app"},
	    {"{\"error\":\"expired_token\"}", 400, OA2_ERR_CLIENT,
		"refused the app's sign-in"},
	    /* what is no login matter reads the same as for any account */
	    {"{\"error\":\"invalid_client\",\"error_description\":"
	     "\"AADSTS7000222: The provided client secret keys are "
	     "expired.\"}",
		401, OA2_ERR_CLIENT, "the client secret has expired"},
	    {"{\"error\":\"invalid_request\",\"error_description\":"
	     "\"AADSTS9001023: tenant\"}",
		400, OA2_ERR_CLIENT, "tenant-specific endpoint"},
	    {"{\"error\":\"temporarily_unavailable\"}", 503, OA2_ERR_PROVIDER,
		"try again later"},
	};
	struct oa2_token_response tr;
	char msg[1024];
	size_t i;

	oa2_token_response_init(&tr);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    oa2_token_response_parse(cases[i].body,
			strlen(cases[i].body), cases[i].status, &tr),
		    OA2_ERR_PROVIDER);
		assert_int_equal(oa2_explain(&tr, "relay", 1, msg, sizeof(msg)),
		    cases[i].class);
		if (strstr(msg, cases[i].needle) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, msg,
			    cases[i].needle);
		if (strstr(msg, "log in") != NULL ||
		    strstr(msg, "sasl-oauth2 login") != NULL)
			fail_msg(
			    "case %zu: '%s' asks an app to log in", i, msg);
		assert_non_null(strstr(msg, "account relay: "));
	}
	oa2_token_response_free(&tr);
}

/* Retry-After (cleaned by http.c) reaches the sentence when the provider
 * says "try later", and only then. */
static void
test_explain_retry_after(void **state)
{
	static const struct {
		const char *body;
		long status;
		const char *retry_after;
		int class;
		const char *needle; /* NULL: no "asks to wait" at all */
	} cases[] = {
	    {"Too Many Requests", 429, "120", OA2_ERR_PROVIDER,
		"try again later; the provider asks to wait 120 s (provider "
		"said: http_429)"},
	    {"{\"error\":\"too_many_requests\"}", 429, "7", OA2_ERR_PROVIDER,
		"the provider asks to wait 7 s"},
	    {"{\"error\":\"temporarily_unavailable\"}", 503,
		"Wed, 21 Oct 2015 07:28:00 GMT", OA2_ERR_PROVIDER,
		"the provider asks to wait until Wed, 21 Oct 2015 07:28:00 "
		"GMT"},
	    {"{\"error\":\"service_unavailable\"}", 503, "0", OA2_ERR_PROVIDER,
		"wait 0 s"},
	    {"busy", 429, "", OA2_ERR_PROVIDER, NULL},
	    /* not a "try later" answer: Retry-After means nothing there */
	    {"{\"error\":\"invalid_grant\"}", 400, "120", OA2_ERR_AUTH, NULL},
	    {"{\"error\":\"invalid_client\"}", 401, "120", OA2_ERR_CLIENT,
		NULL},
	};
	struct oa2_token_response tr;
	char msg[1024];
	size_t i;

	oa2_token_response_init(&tr);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    oa2_token_response_parse(cases[i].body,
			strlen(cases[i].body), cases[i].status, &tr),
		    OA2_ERR_PROVIDER);
		assert_string_equal(tr.retry_after, "");
		snprintf(tr.retry_after, sizeof(tr.retry_after), "%s",
		    cases[i].retry_after);
		assert_int_equal(oa2_explain(&tr, "work", 0, msg, sizeof(msg)),
		    cases[i].class);
		if (cases[i].needle != NULL &&
		    strstr(msg, cases[i].needle) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, msg,
			    cases[i].needle);
		if (cases[i].needle == NULL && strstr(msg, "wait") != NULL)
			fail_msg("case %zu: '%s' asks to wait", i, msg);
	}
	oa2_token_response_free(&tr);
}

/* The password grant: invalid_grant is the password, not a grant to
 * renew; Entra's own code still wins; other errors as for everyone. */
static void
test_explain_password(void **state)
{
	static const struct {
		const char *body, *needle, *absent;
		int class;
	} cases[] = {
	    {"{\"error\":\"invalid_grant\"}",
		"user name or password was "
		"refused",
		"refresh token", OA2_ERR_AUTH},
	    {"{\"error\":\"invalid_grant\",\"error_description\":"
	     "\"AADSTS50126: Error validating credentials\"}",
		"wrong user name or password", "refresh token", OA2_ERR_AUTH},
	    {"{\"error\":\"invalid_client\"}", "did not accept the client",
		"password", OA2_ERR_CLIENT},
	};
	struct oa2_token_response tr;
	char msg[1024];
	size_t i;

	(void)state;
	oa2_token_response_init(&tr);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(oa2_token_response_parse(cases[i].body,
				     strlen(cases[i].body), 400, &tr),
		    OA2_ERR_PROVIDER);
		assert_int_equal(oa2_explain(&tr, "ropc", OA2_GRANT_PASSWORD,
				     msg, sizeof(msg)),
		    cases[i].class);
		if (strstr(msg, cases[i].needle) == NULL ||
		    strstr(msg, cases[i].absent) != NULL)
			fail_msg("case %zu: '%s'", i, msg);
	}
	/* The same invalid_grant for a user's grant: log in again. */
	assert_int_equal(oa2_token_response_parse(
			     cases[0].body, strlen(cases[0].body), 400, &tr),
	    OA2_ERR_PROVIDER);
	assert_int_equal(
	    oa2_explain(&tr, "work", OA2_GRANT_USER, msg, sizeof(msg)),
	    OA2_ERR_AUTH);
	assert_non_null(strstr(msg, "refresh token"));
	oa2_token_response_free(&tr);
}

/* Google service accounts: Google's words (error_description) decide. */
static void
test_explain_service_account(void **state)
{
	static const struct {
		const char *body;
		const char *needle;
	} cases[] = {
	    {"{\"error\":\"unauthorized_client\",\"error_description\":"
	     "\"Client is unauthorized to retrieve access tokens using this "
	     "method, or client not authorized for any of the scopes "
	     "requested.\"}",
		"domain-wide delegation: it is missing"},
	    {"{\"error\":\"invalid_grant\",\"error_description\":"
	     "\"Invalid JWT Signature.\"}",
		"does not know the key"},
	    {"{\"error\":\"invalid_grant\",\"error_description\":"
	     "\"Invalid email or User ID\"}",
		"not a user of the Workspace domain"},
	    {"{\"error\":\"invalid_grant\",\"error_description\":"
	     "\"Invalid JWT: Token must be a short-lived token (60 minutes) "
	     "and in a reasonable timeframe. Check your iat and exp values in "
	     "the JWT claim.\"}",
		"clock"},
	    {"{\"error\":\"invalid_grant\"}", "check service_account_file"},
	    {"{\"error\":\"invalid_scope\"}", "https://mail.google.com/"},
	};
	struct oa2_token_response tr;
	char msg[1024];
	size_t i;

	(void)state;
	oa2_token_response_init(&tr);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(oa2_token_response_parse(cases[i].body,
				     strlen(cases[i].body), 400, &tr),
		    OA2_ERR_PROVIDER);
		/* never "log in again": there is no login */
		assert_int_equal(
		    oa2_explain(&tr, "relay", OA2_GRANT_SERVICE_ACCOUNT, msg,
			sizeof(msg)),
		    OA2_ERR_CLIENT);
		if (strstr(msg, cases[i].needle) == NULL ||
		    strstr(msg, "sasl-oauth2 login") != NULL)
			fail_msg("case %zu: '%s'", i, msg);
	}
	oa2_token_response_free(&tr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_parse_depth),
	    cmocka_unit_test(test_explain),
	    cmocka_unit_test(test_explain_app_only),
	    cmocka_unit_test(test_explain_password),
	    cmocka_unit_test(test_explain_retry_after),
	    cmocka_unit_test(test_explain_service_account),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
