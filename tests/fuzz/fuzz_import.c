/*
 * fuzz_import.c: the files "sasl-oauth2 import" reads (import.c):
 * sasl-xoauth2's configuration and token file, mutt_oauth2.py's token
 * file (decrypted), which come from another program and may be stale,
 * damaged or hand-edited.
 *
 * The first byte chooses the parser ('c' sasl-xoauth2's configuration,
 * 't' its token file, after a configuration that set every member, 'm'
 * mutt_oauth2.py's; any other byte one of them by its value), the rest is
 * the file.  Checks: the result is 0, OA2_ERR_PARSE or (for token files)
 * OA2_ERR_NOTFOUND, and a refusal says why in a printable problem; every
 * text is a printable C string within its field; what is accepted passes
 * the checks the import relies on (a refresh token and a client secret
 * pass oa2_opaque_check, a token endpoint oa2_import_url_check, a user is
 * one mailbox); and the section built from an accepted token file is
 * written without refusal and parses back, defining the account with the
 * same user and client id: nothing a file holds can break the
 * configuration out of its lines.
 */
#include "config.h"

#include "buf.h"
#include "conf.h"
#include "err.h"
#include "import.h"
#include "wire.h"

#include "fuzz.h"

static const char full_config[] =
    "{\"client_id\": \"stale-id\", \"client_secret\": \"stale-secret\", "
    "\"token_endpoint\": \"https://stale.example/token\", "
    "\"ca_bundle_file\": \"/stale/ca.pem\"}";

static int
value_ok(const char *s, size_t max)
{
	return s[0] == '\0' || oa2_import_value_check(s, max) == 0;
}

static void
check_fields(const struct oa2_import *im)
{
	FUZZ_PRINTABLE(im->user);
	FUZZ_PRINTABLE(im->client_id);
	FUZZ_PRINTABLE(im->token_endpoint);
	FUZZ_PRINTABLE(im->registration);
	FUZZ_PRINTABLE(im->scope);
	FUZZ_PRINTABLE(im->ca_file);
	FUZZ_PRINTABLE(im->problem);
	FUZZ_CHECK(value_ok(im->user, OA2_MAILBOX_MAX));
	FUZZ_CHECK(im->user[0] == '\0' ||
	    (strchr(im->user, '@') != NULL && strpbrk(im->user, ", ") == NULL));
	FUZZ_CHECK(im->client_id[0] == '\0' ||
	    oa2_opaque_check(im->client_id, strlen(im->client_id)) == 0);
	FUZZ_CHECK(im->token_endpoint[0] == '\0' ||
	    oa2_import_url_check(im->token_endpoint) == 0);
	FUZZ_CHECK(value_ok(im->registration, sizeof(im->registration) - 1));
	FUZZ_CHECK(value_ok(im->scope, sizeof(im->scope) - 1));
	FUZZ_CHECK(value_ok(im->ca_file, sizeof(im->ca_file) - 1));
	FUZZ_CHECK(
	    strlen(oa2_buf_str(&im->client_secret)) == im->client_secret.len);
	FUZZ_CHECK(im->client_secret.len == 0 ||
	    oa2_opaque_check(im->client_secret.data, im->client_secret.len) ==
		0);
	FUZZ_CHECK(
	    strlen(oa2_buf_str(&im->refresh_token)) == im->refresh_token.len);
}

/* The section of an accepted file parses back to what was read. */
static void
check_section(const struct oa2_import *im)
{
	struct oa2_import_section s = {0};
	struct oa2_config cfg;
	const struct oa2_account *a;
	struct oa2_buf out;
	const char *provider = "generic", *bad;
	char tenant[OA2_IMPORT_TENANT_MAX + 1], err[512];
	int is_preset = 0;

	if (im->token_endpoint[0] != '\0')
		oa2_import_preset(im->token_endpoint, &provider, tenant,
		    sizeof(tenant), &is_preset);
	else
		tenant[0] = '\0';
	FUZZ_PRINTABLE(tenant);
	s.account = "work";
	s.source = "fuzz";
	s.from = im->registration;
	s.date = "2026-01-01";
	s.user = im->user[0] ? im->user : "a@example.test";
	s.provider = provider;
	s.tenant = tenant[0] ? tenant : NULL;
	s.token_endpoint =
	    is_preset || !im->token_endpoint[0] ? NULL : im->token_endpoint;
	s.client_id = im->client_id[0] ? im->client_id : NULL;
	s.scope = im->scope[0] ? im->scope : NULL;
	s.ca_file = im->ca_file[0] ? im->ca_file : NULL;
	oa2_buf_init(&out, OA2_CONFIG_MAX);
	FUZZ_CHECK(oa2_import_section(&s, &out, &bad) == 0);
	FUZZ_CHECK(oa2_config_parse(
		       out.data, out.len, "fuzz", &cfg, err, sizeof(err)) == 0);
	FUZZ_CHECK(cfg.count == 1);
	a = oa2_config_find(&cfg, "work");
	FUZZ_CHECK(a != NULL);
	FUZZ_CHECK(strcmp(a->v[OA2_K_USER], s.user) == 0);
	FUZZ_CHECK(s.client_id == NULL ||
	    strcmp(a->v[OA2_K_CLIENT_ID], s.client_id) == 0);
	FUZZ_CHECK(s.token_endpoint == NULL ||
	    strcmp(a->v[OA2_K_TOKEN_ENDPOINT], s.token_endpoint) == 0);
	oa2_config_free(&cfg);
	oa2_buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oa2_import im;
	const char *text;
	int rc, kind;

	if (size == 0)
		return 0;
	kind = data[0] == 'c' || data[0] == 't' || data[0] == 'm'
	    ? data[0]
	    : "ctm"[data[0] % 3];
	text = (const char *)data + 1;
	size--;
	oa2_import_init(&im);
	switch (kind) {
	case 'c':
		rc = oa2_import_xoauth2_config(text, size, &im);
		FUZZ_CHECK(rc == 0 || rc == OA2_ERR_PARSE);
		break;
	case 't':
		FUZZ_CHECK(oa2_import_xoauth2_config(
			       full_config, strlen(full_config), &im) == 0);
		rc = oa2_import_xoauth2_token(text, size, &im);
		FUZZ_CHECK(
		    rc == 0 || rc == OA2_ERR_PARSE || rc == OA2_ERR_NOTFOUND);
		break;
	default:
		rc = oa2_import_mutt(text, size, &im);
		FUZZ_CHECK(
		    rc == 0 || rc == OA2_ERR_PARSE || rc == OA2_ERR_NOTFOUND);
		break;
	}
	check_fields(&im);
	if (rc != 0) {
		FUZZ_CHECK(im.problem[0] != '\0');
	} else if (kind != 'c') {
		FUZZ_CHECK(im.refresh_token.len > 0);
		FUZZ_CHECK(oa2_opaque_check(im.refresh_token.data,
			       im.refresh_token.len) == 0);
		FUZZ_CHECK(kind == 't' || im.registration[0] != '\0');
		check_section(&im);
	}
	oa2_import_free(&im);
	return 0;
}
