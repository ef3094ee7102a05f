/*
 * fuzz_claims.c: the claims of a JWT access token (claims.c), read by
 * "sasl-oauth2 doctor" from the token the provider issued.
 *
 * The input is the token, or (first byte odd) a payload that the harness
 * wraps into header.payload.signature, so that the fuzzer works on the
 * JSON rather than on its base64url.  Each parse starts from stale claims, so
 * that a refusal must clear them.  Checks: the result is 0, OA2_ERR_PARSE or
 * OA2_ERR_TOOBIG; a refusal leaves every field empty and exp 0; every
 * field is a printable C string within its size; a second parse gives the
 * same claims; the checks against each kind of account (Microsoft or not,
 * app-only or delegated, SMTP, IMAP, both, neither) give at most the
 * documented number of findings, each with a known verdict, a step name and
 * a printable, non-empty text.
 */
#include "config.h"

#include "base64.h"
#include "buf.h"
#include "claims.h"
#include "err.h"

#include "fuzz.h"

static void
check_fields(const struct oa2_claims *c)
{
	FUZZ_PRINTABLE(c->aud);
	FUZZ_PRINTABLE(c->scp);
	FUZZ_PRINTABLE(c->roles);
	FUZZ_PRINTABLE(c->user);
	FUZZ_PRINTABLE(c->user_claim);
	FUZZ_PRINTABLE(c->tid);
	FUZZ_PRINTABLE(c->appid);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oa2_finding f[OA2_CLAIMS_FINDINGS_MAX];
	struct oa2_claims_need need;
	struct oa2_claims c, again;
	struct oa2_buf wrapped;
	char *tok;
	size_t i, n;
	int rc, k;

	if (size > 0 && (data[0] & 1)) {
		oa2_buf_init(&wrapped, 4 * 65536);
		if (oa2_buf_appendz(&wrapped, "eyJhbGciOiJSUzI1NiJ9.") != 0 ||
		    oa2_b64_encode(
			data + 1, size - 1, OA2_B64_URL_NOPAD, &wrapped) != 0 ||
		    oa2_buf_appendz(&wrapped, ".c2ln") != 0) {
			oa2_buf_free(&wrapped);
			return 0;
		}
		size = wrapped.len;
		tok = fuzz_dup((const uint8_t *)wrapped.data, size);
		oa2_buf_free(&wrapped);
	} else {
		tok = fuzz_dup(data, size);
	}

	memset(&c, 'x', sizeof(c));
	c.exp = 42;
	rc = oa2_claims_parse(tok, size, &c);
	FUZZ_CHECK(rc == 0 || rc == OA2_ERR_PARSE || rc == OA2_ERR_TOOBIG);
	check_fields(&c);
	if (rc != 0) {
		FUZZ_CHECK(c.aud[0] == '\0' && c.scp[0] == '\0' &&
		    c.roles[0] == '\0' && c.user[0] == '\0' &&
		    c.user_claim[0] == '\0' && c.tid[0] == '\0' &&
		    c.appid[0] == '\0' && c.exp == 0);
		free(tok);
		return 0;
	}
	FUZZ_CHECK(oa2_claims_parse(tok, size, &again) == 0);
	FUZZ_CHECK(memcmp(&c, &again, sizeof(c)) == 0);
	for (k = 0; k < 32; k++) {
		memset(&need, 0, sizeof(need));
		need.mailbox = "relay@contoso.com";
		need.microsoft = k & 1;
		need.app_only = (k >> 1) & 1;
		need.smtp = (k >> 2) & 1;
		need.imap = (k >> 3) & 1;
		need.now = (k >> 4) & 1 ? (time_t)c.exp : (time_t)1800000000;
		n = oa2_claims_check(&c, &need, f, OA2_CLAIMS_FINDINGS_MAX);
		FUZZ_CHECK(n <= 4);
		for (i = 0; i < n; i++) {
			FUZZ_CHECK(f[i].verdict == OA2_OK_V ||
			    f[i].verdict == OA2_WARN_V ||
			    f[i].verdict == OA2_FAIL_V);
			FUZZ_CHECK(f[i].step != NULL && f[i].step[0] != '\0');
			FUZZ_CHECK(f[i].what[0] != '\0');
			FUZZ_PRINTABLE(f[i].what);
		}
		/* a smaller table is filled, never overrun */
		FUZZ_CHECK(oa2_claims_check(&c, &need, f, 1) <= 1);
	}
	free(tok);
	return 0;
}
