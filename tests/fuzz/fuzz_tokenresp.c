/*
 * fuzz_tokenresp.c: the token endpoint's answer (tokenresp.c) and the
 * sentence made of a refusal (errmap.c).  The device authorization
 * endpoint's refusals take the same path.
 *
 * The input is the body; it is parsed under three HTTP statuses (200, 400
 * and one picked from the input's length) with the same structure, so that
 * each parse must also clear what the one before left.
 * Checks: a success only for 2xx, with a bearer token that passes
 * oa2_token_check, token_type "Bearer", a valid or empty refresh token;
 * an error answer names its error and holds no token; a parse failure
 * says why and holds no token; every text field is a printable C string;
 * oa2_explain returns a class and one printable line for any result, into
 * a large or a tiny buffer; for an app-only account (client credentials)
 * never OA2_ERR_AUTH and never "sasl-oauth2 login".
 */
#include "config.h"

#include "buf.h"
#include "err.h"
#include "errmap.h"
#include "tokenresp.h"
#include "wire.h"

#include "fuzz.h"

static const long statuses[] = {200, 201, 204, 299, 400, 401, 403, 404, 429,
    500, 502, 503, 0, 302, 199, -1, 999};

static void
check_explain(const struct oa2_token_response *tr, size_t size)
{
	char msg[1024], tiny[64];
	size_t tinysz = 1 + size % sizeof(tiny);
	int class;

	memset(msg, 'x', sizeof(msg));
	class = oa2_explain(tr, "work", 0, msg, sizeof(msg));
	FUZZ_CHECK(class == OA2_ERR_AUTH || class == OA2_ERR_CLIENT ||
	    class == OA2_ERR_PROVIDER);
	FUZZ_PRINTABLE(msg);
	FUZZ_CHECK(strncmp(msg, "account work: ", 14) == 0);
	if (class == OA2_ERR_AUTH)
		FUZZ_CHECK(strstr(msg, ": sasl-oauth2 login work ") != NULL);

	memset(tiny, 'x', sizeof(tiny));
	FUZZ_CHECK(oa2_explain(tr, "work", 0, tiny, tinysz) == class);
	FUZZ_CHECK(memchr(tiny, '\0', tinysz) != NULL);
	FUZZ_CHECK(strncmp(tiny, msg, tinysz - 1) == 0);
	FUZZ_CHECK(tinysz == sizeof(tiny) || tiny[tinysz] == 'x');

	/* An app-only account is never told to log in. */
	memset(msg, 'x', sizeof(msg));
	class = oa2_explain(tr, "work", OA2_GRANT_APP, msg, sizeof(msg));
	FUZZ_CHECK(class == OA2_ERR_CLIENT || class == OA2_ERR_PROVIDER);
	FUZZ_PRINTABLE(msg);
	FUZZ_CHECK(strncmp(msg, "account work: ", 14) == 0);
	FUZZ_CHECK(strstr(msg, "sasl-oauth2 login") == NULL);

	/* The password grant: one printable line as well. */
	memset(msg, 'x', sizeof(msg));
	class = oa2_explain(tr, "work", OA2_GRANT_PASSWORD, msg, sizeof(msg));
	FUZZ_CHECK(class == OA2_ERR_AUTH || class == OA2_ERR_CLIENT ||
	    class == OA2_ERR_PROVIDER);
	FUZZ_PRINTABLE(msg);
	FUZZ_CHECK(strncmp(msg, "account work: ", 14) == 0);
}

static void
check_one(
    const char *body, size_t size, long status, struct oa2_token_response *tr)
{
	int rc, ok_status = status >= 200 && status <= 299;

	/* the caller's to set after each parse, from the HTTP layer */
	memcpy(tr->retry_after, "120", 4);
	rc = oa2_token_response_parse(body, size, status, tr);
	FUZZ_CHECK(tr->retry_after[0] == '\0');

	FUZZ_CHECK(rc == 0 || rc == OA2_ERR_PROVIDER || rc == OA2_ERR_PARSE);
	FUZZ_PRINTABLE(tr->token_type);
	FUZZ_PRINTABLE(tr->scope);
	FUZZ_PRINTABLE(tr->error);
	FUZZ_PRINTABLE(tr->error_description);
	FUZZ_PRINTABLE(tr->problem);
	FUZZ_CHECK(tr->expires_in >= -1);
	FUZZ_CHECK(
	    strlen(oa2_buf_str(&tr->access_token)) == tr->access_token.len);
	FUZZ_CHECK(
	    strlen(oa2_buf_str(&tr->refresh_token)) == tr->refresh_token.len);
	switch (rc) {
	case 0:
		FUZZ_CHECK(ok_status);
		FUZZ_CHECK(oa2_token_check(oa2_buf_str(&tr->access_token),
			       tr->access_token.len) == 0);
		FUZZ_CHECK(tr->refresh_token.len == 0 ||
		    oa2_opaque_check(oa2_buf_str(&tr->refresh_token),
			tr->refresh_token.len) == 0);
		FUZZ_CHECK(strcmp(tr->token_type, "Bearer") == 0);
		FUZZ_CHECK(tr->error[0] == '\0' && tr->problem[0] == '\0');
		FUZZ_CHECK(tr->error_description[0] == '\0' && tr->aadsts == 0);
		break;
	case OA2_ERR_PROVIDER:
		FUZZ_CHECK(tr->error[0] != '\0');
		FUZZ_CHECK(tr->access_token.len == 0);
		FUZZ_CHECK(tr->refresh_token.len == 0);
		break;
	default:
		FUZZ_CHECK(ok_status);
		FUZZ_CHECK(tr->problem[0] != '\0');
		FUZZ_CHECK(tr->access_token.len == 0);
		FUZZ_CHECK(tr->refresh_token.len == 0);
		break;
	}
	check_explain(tr, size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct oa2_token_response tr;

	oa2_token_response_init(&tr);
	check_one(body, size, 200, &tr);
	check_one(body, size, 400, &tr);
	check_one(body, size,
	    statuses[size % (sizeof(statuses) / sizeof(statuses[0]))], &tr);
	oa2_token_response_free(&tr);
	return 0;
}
