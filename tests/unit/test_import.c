/*
 * test_import.c: reading sasl-xoauth2's and mutt_oauth2.py's files
 * (common/import.c), the account section written for them, and the
 * secret file "import" writes (oa2_secretfile_create, common/secretfile.c).
 */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "import.h"
#include "secretfile.h"

static int
parse_xoauth2(const char *config, const char *token, struct oa2_import *im)
{
	int r = 0;

	if (config != NULL)
		r = oa2_import_xoauth2_config(config, strlen(config), im);
	if (r == 0)
		r = oa2_import_xoauth2_token(token, strlen(token), im);
	return r;
}

/* The files as the tools write them: sasl-xoauth2's plugin (expiry as a
 * string), its helper script (expiry 0, or Google's whole answer), the
 * token file's overrides of the configuration. */
static void
test_xoauth2(void **state)
{
	static const struct {
		const char *config, *token;
		int r;
		const char *user, *client_id, *secret, *endpoint, *scope,
		    *problem;
		int have_secret;
	} cases[] = {
	    /* the README's Microsoft configuration, a plugin-written file */
	    {"{\"client_id\": \"c1\", \"client_secret\": \"\",\n"
	     " \"token_endpoint\": \"https://login.microsoftonline.com/"
	     "consumers/oauth2/v2.0/token\"}",
		"{\"access_token\":\"at\",\"expiry\":\"1700000000\","
		"\"refresh_token\":\"M.C5_BAY.0.U.-Ck\"}",
		0, "", "c1", "",
		"https://login.microsoftonline.com/consumers/"
		"oauth2/v2.0/token",
		"", NULL, 1},
	    /* the helper script's Outlook file: expiry a number */
	    {"{\"client_id\": \"c1\", \"client_secret\": \"s1\"}",
		"{\"access_token\": \"at\", \"refresh_token\": \"r1\", "
		"\"expiry\": 0}",
		0, "", "c1", "s1", "", "", NULL, 1},
	    /* Google's whole answer dumped by the script */
	    {"{\"client_id\": \"c1\", \"client_secret\": \"s1\"}",
		"{\"access_token\": \"ya29.x\", \"expires_in\": 3599, "
		"\"refresh_token\": \"1//0g\", \"scope\": "
		"\"https://mail.google.com/\", \"token_type\": \"Bearer\"}",
		0, "", "c1", "s1", "", "https://mail.google.com/", NULL, 1},
	    /* overrides in the token file win; user; unknown members */
	    {"{\"client_id\": \"c1\", \"client_secret\": \"s1\", "
	     "\"log_to_syslog_on_failure\": \"yes\"}",
		"{\"refresh_token\": \"r2\", \"user\": \"me@example.com\", "
		"\"client_id\": \"c2\", \"client_secret\": \"\", "
		"\"token_endpoint\": \"https://idp.example/token\", "
		"\"refresh_window\": \"60\"}",
		0, "me@example.com", "c2", "", "https://idp.example/token", "",
		NULL, 1},
	    /* no configuration at all: the token file carries everything */
	    {NULL,
		"{\"refresh_token\": \"r3\", \"client_id\": \"c3\", "
		"\"client_secret\": \"s3\"}",
		0, "", "c3", "s3", "", "", NULL, 1},
	    {NULL, "{\"refresh_token\": \"r3\"}", 0, "", "", "", "", "", NULL,
		0},
	    /* refusals */
	    {NULL, "{\"access_token\": \"at\", \"expiry\": \"0\"}",
		OA2_ERR_NOTFOUND, NULL, NULL, NULL, NULL, NULL,
		"has no refresh_token", 0},
	    {NULL, "{\"refresh_token\": \"\"}", OA2_ERR_NOTFOUND, NULL, NULL,
		NULL, NULL, NULL, "has no refresh_token", 0},
	    {NULL, "{\"refresh_token\": 12}", OA2_ERR_PARSE, NULL, NULL, NULL,
		NULL, NULL, "has a refresh_token that is not a string", 0},
	    {NULL, "{\"refresh_token\": \"a b\"}", OA2_ERR_PARSE, NULL, NULL,
		NULL, NULL, NULL, "refresh_token that is not a token", 0},
	    {NULL, "[\"refresh_token\"]", OA2_ERR_PARSE, NULL, NULL, NULL, NULL,
		NULL, "is not a JSON object", 0},
	    {NULL, "{\"refresh_token\": \"r\"", OA2_ERR_PARSE, NULL, NULL, NULL,
		NULL, NULL, "is not a JSON object", 0},
	    {NULL, "{\"refresh_token\": \"r\"} {}", OA2_ERR_PARSE, NULL, NULL,
		NULL, NULL, NULL, "is not a JSON object", 0},
	    {NULL, "{\"refresh_token\": \"r\", \"user\": \"a, b@c\"}",
		OA2_ERR_PARSE, NULL, NULL, NULL, NULL, NULL,
		"has a user that cannot be used", 0},
	    {NULL,
		"{\"refresh_token\": \"r\", \"token_endpoint\": "
		"\"ftp://x/token\"}",
		OA2_ERR_PARSE, NULL, NULL, NULL, NULL, NULL,
		"has a token_endpoint that cannot be used", 0},
	    {"{\"client_id\": \"c 1\"}", "{\"refresh_token\": \"r\"}",
		OA2_ERR_PARSE, NULL, NULL, NULL, NULL, NULL,
		"has a client_id that cannot be used", 0},
	    {"{\"client_id\": {\"x\": 1}}", "{\"refresh_token\": \"r\"}",
		OA2_ERR_PARSE, NULL, NULL, NULL, NULL, NULL,
		"has a client_id that is not a string", 0},
	};
	struct oa2_import im;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		oa2_import_init(&im);
		r = parse_xoauth2(cases[i].config, cases[i].token, &im);
		if (r != cases[i].r)
			fail_msg("case %zu: %d, want %d (%s)", i, r, cases[i].r,
			    im.problem);
		if (r == 0) {
			assert_string_equal(im.user, cases[i].user);
			assert_string_equal(im.client_id, cases[i].client_id);
			assert_string_equal(
			    oa2_buf_str(&im.client_secret), cases[i].secret);
			assert_int_equal(
			    im.have_client_secret, cases[i].have_secret);
			assert_string_equal(
			    im.token_endpoint, cases[i].endpoint);
			assert_string_equal(im.scope, cases[i].scope);
			assert_true(im.refresh_token.len > 0);
		} else if (strstr(im.problem, cases[i].problem) == NULL) {
			fail_msg("case %zu: problem '%s', want '%s'", i,
			    im.problem, cases[i].problem);
		}
		oa2_import_free(&im);
	}
}

static void
test_xoauth2_flags(void **state)
{
	struct oa2_import im;
	static const char conf[] = "{\"client_id\": \"c\", \"client_secret\": "
				   "\"s\", \"proxy\": \"http://p:3128\", "
				   "\"ca_bundle_file\": \"/etc/ca.pem\", "
				   "\"use_client_credentials\": \"yes\"}";
	static const char tok[] = "{\"refresh_token\": \"r\", "
				  "\"manage_token_externally\": true}";

	(void)state;
	oa2_import_init(&im);
	assert_int_equal(parse_xoauth2(conf, tok, &im), 0);
	assert_string_equal(im.proxy, "http://p:3128");
	assert_false(im.ca_dir);
	assert_true(im.client_credentials);
	assert_true(im.external);
	assert_string_equal(im.ca_file, "/etc/ca.pem");
	oa2_import_free(&im);
}

/* mutt's own script (no client id in the file) and NeoMutt's copy. */
static void
test_mutt(void **state)
{
	static const struct {
		const char *text;
		int r;
		const char *registration, *user, *client_id, *secret, *problem;
		int device;
	} cases[] = {
	    {"{\"registration\": \"microsoft\", \"authflow\": "
	     "\"localhostauthcode\", \"email\": \"alice@contoso.com\", "
	     "\"access_token\": \"eyJ0\", \"access_token_expiration\": "
	     "\"2024-05-01T10:00:00.123456\", \"refresh_token\": "
	     "\"0.AAAA-b_c\"}",
		0, "microsoft", "alice@contoso.com", "", "", NULL, 0},
	    {"{\"registration\": \"google\", \"authflow\": \"devicecode\", "
	     "\"email\": \"bob@gmail.com\", \"access_token\": \"\", "
	     "\"access_token_expiration\": \"\", \"refresh_token\": "
	     "\"1//0g\", \"client_id\": \"123.apps.googleusercontent.com\", "
	     "\"client_secret\": \"GOCSPX-x\"}",
		0, "google", "bob@gmail.com", "123.apps.googleusercontent.com",
		"GOCSPX-x", NULL, 1},
	    /* as the script leaves it before its first authorization */
	    {"{\"registration\": \"google\", \"authflow\": \"authcode\", "
	     "\"email\": \"bob@gmail.com\", \"access_token\": \"\", "
	     "\"access_token_expiration\": \"\", \"refresh_token\": \"\"}",
		OA2_ERR_NOTFOUND, NULL, NULL, NULL, NULL,
		"has no refresh token", 0},
	    {"{\"email\": \"bob@gmail.com\", \"refresh_token\": \"r\"}",
		OA2_ERR_PARSE, NULL, NULL, NULL, NULL, "has no registration",
		0},
	    {"{\"registration\": \"google\", \"refresh_token\": [1]}",
		OA2_ERR_PARSE, NULL, NULL, NULL, NULL,
		"has a refresh_token that is not a string", 0},
	    {"-----BEGIN PGP MESSAGE-----\n", OA2_ERR_PARSE, NULL, NULL, NULL,
		NULL, "is not a JSON object", 0},
	};
	struct oa2_import im;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		oa2_import_init(&im);
		r = oa2_import_mutt(cases[i].text, strlen(cases[i].text), &im);
		if (r != cases[i].r)
			fail_msg("case %zu: %d, want %d (%s)", i, r, cases[i].r,
			    im.problem);
		if (r == 0) {
			assert_string_equal(
			    im.registration, cases[i].registration);
			assert_string_equal(im.user, cases[i].user);
			assert_string_equal(im.client_id, cases[i].client_id);
			assert_string_equal(
			    oa2_buf_str(&im.client_secret), cases[i].secret);
			assert_int_equal(im.device, cases[i].device);
		} else if (strstr(im.problem, cases[i].problem) == NULL) {
			fail_msg("case %zu: problem '%s', want '%s'", i,
			    im.problem, cases[i].problem);
		}
		oa2_import_free(&im);
	}
}

static void
test_preset(void **state)
{
	static const struct {
		const char *url, *provider, *tenant;
		int is_preset;
	} cases[] = {
	    {"https://login.microsoftonline.com/consumers/oauth2/v2.0/token",
		"microsoft", "consumers", 1},
	    {"https://login.microsoftonline.com/"
	     "00000000-0000-0000-0000-000000000001/oauth2/v2.0/token",
		"microsoft", "00000000-0000-0000-0000-000000000001", 1},
	    {"https://login.microsoftonline.com/contoso.onmicrosoft.com/"
	     "oauth2/v2.0/token",
		"microsoft", "contoso.onmicrosoft.com", 1},
	    /* the v1 endpoint takes no scope: not the preset's */
	    {"https://login.microsoftonline.com/common/oauth2/token", "generic",
		"", 0},
	    {"https://login.microsoftonline.com//oauth2/v2.0/token", "generic",
		"", 0},
	    {"https://login.microsoftonline.com/a_b/oauth2/v2.0/token",
		"generic", "", 0},
	    {"https://accounts.google.com/o/oauth2/token", "google", "", 1},
	    {"https://oauth2.googleapis.com/token", "google", "", 1},
	    {"https://www.googleapis.com/oauth2/v4/token", "google", "", 1},
	    {"https://oauth2.googleapis.com/token?x", "generic", "", 0},
	    {"http://127.0.0.1:8080/token", "generic", "", 0},
	};
	const char *provider;
	char tenant[OA2_IMPORT_TENANT_MAX + 1];
	int is_preset;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		oa2_import_preset(cases[i].url, &provider, tenant,
		    sizeof(tenant), &is_preset);
		if (strcmp(provider, cases[i].provider) != 0 ||
		    strcmp(tenant, cases[i].tenant) != 0 ||
		    is_preset != cases[i].is_preset)
			fail_msg("%s: %s/%s/%d, want %s/%s/%d", cases[i].url,
			    provider, tenant, is_preset, cases[i].provider,
			    cases[i].tenant, cases[i].is_preset);
	}
}

static void
test_value_check(void **state)
{
	static const struct {
		const char *s;
		int value, url;
	} cases[] = {
	    {"https://idp.example/token", 0, 0},
	    {"http://127.0.0.1:1/t", 0, 0},
	    {"openid email", 0, OA2_ERR_INVAL},
	    {"", OA2_ERR_INVAL, OA2_ERR_INVAL},
	    {" x", OA2_ERR_INVAL, OA2_ERR_INVAL},
	    {"x ", OA2_ERR_INVAL, OA2_ERR_INVAL},
	    {"https://a/\nuser = evil", OA2_ERR_INVAL, OA2_ERR_INVAL},
	    {"https://a/\r", OA2_ERR_INVAL, OA2_ERR_INVAL},
	    {"https://a/\x7f", OA2_ERR_INVAL, OA2_ERR_INVAL},
	    {"https://a/\xc3\xa9", OA2_ERR_INVAL, OA2_ERR_INVAL},
	    {"file:///etc/passwd", 0, OA2_ERR_INVAL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    oa2_import_value_check(cases[i].s, 100), cases[i].value);
		assert_int_equal(
		    oa2_import_url_check(cases[i].s), cases[i].url);
	}
	assert_int_equal(oa2_import_value_check("abcd", 3), OA2_ERR_INVAL);
}

/* The section, as golden text; a value that could break the file out of
 * its line is refused, naming the key. */
static void
test_section(void **state)
{
	struct oa2_import_section s = {
	    .account = "relay",
	    .source = "sasl-xoauth2",
	    .from = "/etc/tokens/relay@contoso.com\n[account x]",
	    .date = "2026-01-02",
	    .user = "relay@contoso.com",
	    .provider = "microsoft",
	    .tenant = "contoso.onmicrosoft.com",
	    .client_id = "00000000-0000-0000-0000-000000000000",
	    .client_secret_file = "/etc/sasl-oauth2/relay.secret",
	    .client_auth = "post",
	    .scope = "https://outlook.office.com/SMTP.Send offline_access",
	    .proxy = "http://proxy.contoso.com:3128",
	};
	static const char want[] =
	    "\n# Imported from sasl-xoauth2 (/etc/tokens/relay@contoso.com "
	    "[account x]) by sasl-oauth2 import on 2026-01-02.\n"
	    "[account relay]\n"
	    "user = relay@contoso.com\n"
	    "provider = microsoft\n"
	    "tenant = contoso.onmicrosoft.com\n"
	    "client_id = 00000000-0000-0000-0000-000000000000\n"
	    "client_secret_file = /etc/sasl-oauth2/relay.secret\n"
	    "client_auth = post\n"
	    "scope = https://outlook.office.com/SMTP.Send offline_access\n"
	    "proxy = http://proxy.contoso.com:3128\n";
	struct oa2_buf out;
	const char *bad;

	(void)state;
	oa2_buf_init(&out, 65536);
	assert_int_equal(oa2_import_section(&s, &out, &bad), 0);
	assert_string_equal(oa2_buf_str(&out), want);
	oa2_buf_reset(&out);
	s.token_endpoint = "https://x/\nclient_secret_file = /tmp/x";
	assert_int_equal(oa2_import_section(&s, &out, &bad), OA2_ERR_INVAL);
	assert_string_equal(bad, "token_endpoint");
	oa2_buf_reset(&out);
	s.token_endpoint = NULL;
	s.account = "a]b";
	assert_int_equal(oa2_import_section(&s, &out, &bad), OA2_ERR_INVAL);
	assert_string_equal(bad, "account");
	oa2_buf_free(&out);
}

static char tmpdir[] = "/tmp/test_import.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
slurp(const char *path, char *out, size_t outsz)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, outsz - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void
test_secretfile_create(void **state)
{
	char path[512], text[256], err[512];
	struct oa2_buf b;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/secrets/new/x.secret", tmpdir);
	assert_int_equal(
	    oa2_secretfile_create(path, "s3cr3t", 6, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	slurp(path, text, sizeof(text));
	assert_string_equal(text, "s3cr3t\n");
	/* the reader takes it back */
	oa2_buf_init(&b, 4096);
	assert_int_equal(oa2_secretfile_read(path, &b, err, sizeof(err)), 0);
	assert_string_equal(oa2_buf_str(&b), "s3cr3t");
	oa2_buf_free(&b);
	/* never replaced */
	assert_int_equal(
	    oa2_secretfile_create(path, "other", 5, err, sizeof(err)),
	    OA2_ERR_CONFIG);
	slurp(path, text, sizeof(text));
	assert_string_equal(text, "s3cr3t\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xoauth2),
	    cmocka_unit_test(test_xoauth2_flags),
	    cmocka_unit_test(test_mutt),
	    cmocka_unit_test(test_preset),
	    cmocka_unit_test(test_value_check),
	    cmocka_unit_test(test_section),
	    cmocka_unit_test(test_secretfile_create),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
