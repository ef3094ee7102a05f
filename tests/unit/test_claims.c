/*
 * test_claims.c: doctor's reading of JWT access tokens (claims.c): the
 * payload parsed from crafted tokens shaped like Microsoft Entra's, and
 * the checks against what Exchange Online needs, one table row per
 * mistake the setup guides describe.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "claims.h"
#include "err.h"

#define NOW 1800000000LL
#define MB "relay@contoso.com"
#define TID "11111111-2222-3333-4444-555555555555"
#define EXO "https://outlook.office365.com"
#define EXO_D "https://outlook.office.com"
#define GRAPH "https://graph.microsoft.com"

/* header.payload.signature with the payload given; the signature is not
 * checked by claims.c. */
static void
make_jwt(const char *payload, struct oa2_buf *out)
{
	static const char hdr[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";

	oa2_buf_reset(out);
	assert_int_equal(
	    oa2_b64_encode(hdr, strlen(hdr), OA2_B64_URL_NOPAD, out), 0);
	assert_int_equal(oa2_buf_appendc(out, '.'), 0);
	assert_int_equal(
	    oa2_b64_encode(payload, strlen(payload), OA2_B64_URL_NOPAD, out),
	    0);
	assert_int_equal(oa2_buf_appendz(out, ".c2lnbmF0dXJl"), 0);
}

static void
test_parse(void **state)
{
	struct oa2_buf b;
	struct oa2_claims c;

	(void)state;
	oa2_buf_init(&b, 65536);
	make_jwt("{\"aud\":\"" EXO "\",\"roles\":[\"SMTP.SendAsApp\","
		 "\"IMAP.AccessAsApp\"],\"tid\":\"" TID "\","
		 "\"appid\":\"abc\",\"exp\":1800003600,\"oid\":\"x\"}",
	    &b);
	assert_int_equal(oa2_claims_parse(b.data, b.len, &c), 0);
	assert_string_equal(c.aud, EXO);
	assert_string_equal(c.roles, "SMTP.SendAsApp IMAP.AccessAsApp");
	assert_string_equal(c.scp, "");
	assert_string_equal(c.tid, TID);
	assert_string_equal(c.appid, "abc");
	assert_string_equal(c.user, "");
	assert_int_equal(c.exp, 1800003600LL);

	/* upn before preferred_username before email; aud as an array */
	make_jwt("{\"aud\":[\"a\",\"b\"],\"email\":\"e@x\","
		 "\"preferred_username\":\"p@x\",\"upn\":\"u@x\","
		 "\"scp\":\"SMTP.Send\"}",
	    &b);
	assert_int_equal(oa2_claims_parse(b.data, b.len, &c), 0);
	assert_string_equal(c.aud, "a b");
	assert_string_equal(c.user, "u@x");
	assert_string_equal(c.user_claim, "upn");
	assert_int_equal(c.exp, 0);

	/* a control character in a claim comes out printable */
	make_jwt("{\"email\":\"e\\n@x\"}", &b);
	assert_int_equal(oa2_claims_parse(b.data, b.len, &c), 0);
	assert_string_equal(c.user, "e @x");

	/* not JWTs: opaque tokens, broken segments, a non-object payload */
	{
		static const char *const bad[] = {"opaque-token-value", "a.b",
		    "a.b.c.d", "eyJ4Ijox.!!!!.sig", "x..y"};
		size_t i;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_int_equal(
			    oa2_claims_parse(bad[i], strlen(bad[i]), &c),
			    OA2_ERR_PARSE);
	}
	make_jwt("[1,2]", &b);
	assert_int_equal(oa2_claims_parse(b.data, b.len, &c), OA2_ERR_PARSE);
	make_jwt("{\"aud\":", &b);
	assert_int_equal(oa2_claims_parse(b.data, b.len, &c), OA2_ERR_PARSE);
	oa2_buf_free(&b);
}

static const char *const vnames[] = {"ok", "warn", "FAIL"};

static void
test_check(void **state)
{
	static const struct {
		const char *name, *payload;
		int microsoft, app_only, smtp, imap;
		const char *verdicts; /* step:verdict ..., in a row */
		const char *says;     /* in some finding's text */
	} cases[] = {
	    {"app-only, all good",
		"{\"aud\":\"" EXO "\",\"roles\":[\"SMTP.SendAsApp\"],"
		"\"tid\":\"" TID "\",\"exp\":1800003600}",
		1, 1, 1, 0, "audience:ok permissions:ok user:ok expiry:ok",
		"Add-MailboxPermission"},
	    {"app-only, Graph token (wrong scope)",
		"{\"aud\":\"" GRAPH "\",\"roles\":[\"Mail.Send\"],"
		"\"exp\":1800003600}",
		1, 1, 1, 0, "audience:FAIL permissions:warn user:ok expiry:ok",
		"https://outlook.office365.com/.default"},
	    {"app-only, Graph by its GUID",
		"{\"aud\":\"00000003-0000-0000-c000-000000000000\","
		"\"exp\":1800003600}",
		1, 1, 0, 0, "audience:FAIL", "Microsoft Graph"},
	    {"app-only, Exchange by its GUID",
		"{\"aud\":\"00000002-0000-0ff1-ce00-000000000000\","
		"\"roles\":[\"SMTP.SendAsApp\"],\"exp\":1800003600}",
		1, 1, 0, 0, "audience:ok permissions:ok", "Exchange Online"},
	    {"app-only, no SMTP.SendAsApp: RBAC for Applications?",
		"{\"aud\":\"" EXO "\",\"exp\":1800003600}", 1, 1, 1, 0,
		"audience:ok permissions:warn", "RBAC for Applications"},
	    {"app-only IMAP without IMAP.AccessAsApp",
		"{\"aud\":\"" EXO "\",\"roles\":[\"SMTP.SendAsApp\"],"
		"\"exp\":1800003600}",
		1, 1, 0, 1, "audience:ok permissions:FAIL", "IMAP.AccessAsApp"},
	    {"app-only, role names compare case-insensitively",
		"{\"aud\":\"" EXO "/\",\"roles\":[\"smtp.sendasapp\"],"
		"\"exp\":1800003600}",
		1, 1, 1, 0, "audience:ok permissions:ok", "roles"},
	    {"delegated, all good",
		"{\"aud\":\"" EXO_D "\",\"scp\":\"IMAP.AccessAsUser.All "
		"SMTP.Send\",\"upn\":\"RELAY@contoso.com\","
		"\"exp\":1800003600}",
		1, 0, 1, 1, "audience:ok permissions:ok user:ok expiry:ok",
		"upn RELAY@contoso.com is the mailbox"},
	    {"delegated SMTP without SMTP.Send",
		"{\"aud\":\"" EXO_D "\",\"scp\":\"IMAP.AccessAsUser.All\","
		"\"upn\":\"" MB "\",\"exp\":1800003600}",
		1, 0, 1, 0, "audience:ok permissions:FAIL",
		"https://outlook.office.com/SMTP.Send"},
	    {"delegated IMAP without IMAP.AccessAsUser.All",
		"{\"aud\":\"" EXO_D "\",\"scp\":\"SMTP.Send\","
		"\"upn\":\"" MB "\",\"exp\":1800003600}",
		1, 0, 0, 1, "permissions:FAIL", "IMAP.AccessAsUser.All"},
	    {"delegated, no mail permission at all",
		"{\"aud\":\"" EXO_D "\",\"scp\":\"User.Read\","
		"\"upn\":\"" MB "\",\"exp\":1800003600}",
		1, 0, 0, 0, "permissions:FAIL", "sasl-oauth2 login again"},
	    {"delegated, another user: shared mailbox?",
		"{\"aud\":\"" EXO_D "\",\"scp\":\"SMTP.Send\","
		"\"preferred_username\":\"alice@contoso.com\","
		"\"exp\":1800003600}",
		1, 0, 1, 0, "audience:ok permissions:ok user:warn expiry:ok",
		"shared mailbox"},
	    {"about to expire: High Volume Email refuses it",
		"{\"aud\":\"" EXO "\",\"roles\":[\"SMTP.SendAsApp\"],"
		"\"exp\":1800000300}",
		1, 1, 1, 0, "audience:ok permissions:ok user:ok expiry:warn",
		"501 5.5.127"},
	    {"expired",
		"{\"aud\":\"" EXO "\",\"roles\":[\"SMTP.SendAsApp\"],"
		"\"exp\":1799999000}",
		1, 1, 1, 0, "expiry:FAIL", "expired 1000 s ago"},
	    {"another resource altogether",
		"{\"aud\":\"api://something\",\"exp\":1800003600}", 1, 1, 1, 0,
		"audience:FAIL", "not Exchange Online"},
	    {"generic provider: shown, not judged",
		"{\"aud\":\"mail\",\"scope\":\"x\",\"email\":\"" MB "\","
		"\"exp\":1800000300}",
		0, 0, 1, 1, "audience:ok user:ok expiry:ok",
		"expires in 5 min"},
	};
	struct oa2_finding f[OA2_CLAIMS_FINDINGS_MAX];
	struct oa2_claims_need need;
	struct oa2_claims c;
	struct oa2_buf b;
	char got[256], all[8192];
	size_t i, k, n;

	(void)state;
	oa2_buf_init(&b, 65536);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_jwt(cases[i].payload, &b);
		assert_int_equal(oa2_claims_parse(b.data, b.len, &c), 0);
		memset(&need, 0, sizeof(need));
		need.mailbox = MB;
		need.microsoft = cases[i].microsoft;
		need.app_only = cases[i].app_only;
		need.smtp = cases[i].smtp;
		need.imap = cases[i].imap;
		need.now = (time_t)NOW;
		n = oa2_claims_check(&c, &need, f, OA2_CLAIMS_FINDINGS_MAX);
		got[0] = all[0] = '\0';
		for (k = 0; k < n; k++) {
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s%s:%s", k ? " " : "", f[k].step,
			    vnames[f[k].verdict]);
			snprintf(all + strlen(all), sizeof(all) - strlen(all),
			    "%s\n", f[k].what);
		}
		if (strstr(got, cases[i].verdicts) == NULL ||
		    strstr(all, cases[i].says) == NULL)
			fail_msg("%s: got '%s'\n%s", cases[i].name, got, all);
	}
	oa2_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
