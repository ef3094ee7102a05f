/*
 * test_msadmin.c: the checks and the quoting of "setup microsoft"
 * (tokenhelper/msadmin.c), one table each, and the PowerShell it prints
 * for values the checks would refuse: each stays one quoted string.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "msadmin.h"

#define GUID "11111111-2222-3333-4444-555555555555"
#define LONG64                                                                 \
	"0123456789012345678901234567890123456789012345678901234567890123"

struct check_case {
	const char *in;
	int ok;
};

static void
run_checks(int (*check)(const char *), const struct check_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int r = check(c[i].in);
		if ((r == 0) != c[i].ok)
			fail_msg("'%s': got %d, want %s", c[i].in, r,
			    c[i].ok ? "ok" : "refused");
	}
}

static void
test_guid(void **state)
{
	static const struct check_case c[] = {
	    {GUID, 1},
	    {"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", 1},
	    {"0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0", 1},
	    {"", 0},
	    {"1111", 0},
	    {"111111112222333344445555555555555555", 0},
	    {"{11111111-2222-3333-4444-555555555555}", 0},
	    {"11111111-2222-3333-4444-55555555555g", 0},
	    {"11111111-2222-3333-4444-5555555555555", 0},
	    {"11111111-2222-3333-4444-55555555555", 0},
	    {"11111111_2222-3333-4444-555555555555", 0},
	    {"11111111-2222-3333-4444-555555555555'", 0},
	};
	(void)state;
	run_checks(ms_guid_check, c, sizeof(c) / sizeof(c[0]));
}

static void
test_tenant(void **state)
{
	static const struct check_case c[] = {
	    {GUID, 1},
	    {"contoso.onmicrosoft.com", 1},
	    {"contoso.com", 1},
	    {"mail-1.example.co.uk", 1},
	    {"xn--bcher-kva.example", 1},
	    {"common", 0},
	    {"organizations", 0},
	    {"contoso", 0},
	    {"", 0},
	    {"-contoso.com", 0},
	    {"contoso-.com", 0},
	    {"contoso..com", 0},
	    {".contoso.com", 0},
	    {"contoso.com.", 0},
	    {"contoso.c0m", 0},
	    {"contoso.com'", 0},
	    {"contoso.com'; Remove-Mailbox x", 0},
	    {"contoso.com/x", 0},
	    {"contoso com", 0},
	    {"b\xc3\xbc"
	     "cher.example",
		0},
	    {LONG64 ".com", 0},
	};
	(void)state;
	run_checks(ms_tenant_check, c, sizeof(c) / sizeof(c[0]));
}

static void
test_mailbox(void **state)
{
	static const struct check_case c[] = {
	    {"relay@contoso.com", 1},
	    {"first.last+tag@mail.contoso.com", 1},
	    {"a_b%c-d!e#f&g*h/i=j?k^l{m|n}o~p@x.org", 1},
	    {"o'brien@contoso.com", 0},
	    {"a$b@contoso.com", 0},
	    {"a`b@contoso.com", 0},
	    {"a\"b@contoso.com", 0},
	    {"a b@contoso.com", 0},
	    {"a;b@contoso.com", 0},
	    {"a(b)@contoso.com", 0},
	    {".a@contoso.com", 0},
	    {"a.@contoso.com", 0},
	    {"a..b@contoso.com", 0},
	    {"@contoso.com", 0},
	    {"a@", 0},
	    {"a@contoso", 0},
	    {"a@b@contoso.com", 0},
	    {"relay", 0},
	    {"", 0},
	    {"r\xc3\xa9lay@contoso.com", 0},
	    {"a\n@contoso.com", 0},
	    {LONG64 "@contoso.com", 1},
	    {LONG64 "4@contoso.com", 0},
	};
	(void)state;
	run_checks(ms_mailbox_check, c, sizeof(c) / sizeof(c[0]));
}

static void
test_path(void **state)
{
	static const struct check_case c[] = {
	    {"/etc/sasl-oauth2/relay.secret", 1},
	    {"/home/a b/x", 1},
	    {"/", 1},
	    {"", 0},
	    {"relay.secret", 0},
	    {"./relay.secret", 0},
	    {"/etc/x\nclient_id = evil", 0},
	    {"/etc/x ", 0},
	    {"/etc/x\t", 0},
	    {"/etc/caf\xc3\xa9", 0},
	};
	(void)state;
	run_checks(ms_path_check, c, sizeof(c) / sizeof(c[0]));
}

struct quote_case {
	const char *in;
	const char *out; /* NULL: refused */
};

static void
run_quotes(int (*quote)(struct oa2_buf *, const char *),
    const struct quote_case *c, size_t n)
{
	struct oa2_buf b;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		oa2_buf_init(&b, 1024);
		r = quote(&b, c[i].in);
		if (c[i].out == NULL)
			assert_int_equal(r, OA2_ERR_INVAL);
		else {
			assert_int_equal(r, 0);
			assert_string_equal(oa2_buf_str(&b), c[i].out);
		}
		oa2_buf_free(&b);
	}
}

static void
test_ps_quote(void **state)
{
	static const struct quote_case c[] = {
	    {"relay@contoso.com", "'relay@contoso.com'"},
	    {"", "''"},
	    {"o'brien", "'o''brien'"},
	    {"''", "''''''"},
	    {"$(Remove-Mailbox x)", "'$(Remove-Mailbox x)'"},
	    {"a\"b`c", "'a\"b`c'"},
	    {"a\nb", NULL},
	    {"a\rb", NULL},
	    {"\xe2\x80\x99", NULL}, /* U+2019, a quote to PowerShell */
	    {"caf\xc3\xa9", NULL},
	};
	(void)state;
	run_quotes(ms_ps_quote, c, sizeof(c) / sizeof(c[0]));
}

static void
test_sh_quote(void **state)
{
	static const struct quote_case c[] = {
	    {"/etc/sasl-oauth2/sasl-oauth2.conf",
		"/etc/sasl-oauth2/sasl-oauth2.conf"},
	    {"", "''"},
	    {"/tmp/a b", "'/tmp/a b'"},
	    {"it's", "'it'\\''s'"},
	    {"$HOME/x", "'$HOME/x'"},
	    {"a;b", "'a;b'"},
	};
	(void)state;
	run_quotes(ms_sh_quote, c, sizeof(c) / sizeof(c[0]));
}

/* The line of text that starts with prefix, or NULL. */
static const char *
line_of(const char *text, const char *prefix, char *out, size_t outsz)
{
	const char *p = text, *e;

	for (; *p != '\0'; p = *e ? e + 1 : e) {
		e = strchr(p, '\n');
		if (e == NULL)
			e = p + strlen(p);
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			snprintf(out, outsz, "%.*s", (int)(e - p), p);
			return out;
		}
	}
	return NULL;
}

/* Values the checks refuse still come out as one quoted string each, and
 * no line of PowerShell starts with anything of theirs. */
static void
test_hostile_values(void **state)
{
	struct ms_setup s = {
	    .mode = MS_APP_RBAC,
	    .account = "relay",
	    .tenant = "contoso.com'; Remove-Mailbox -Identity a@b.com; '",
	    .client_id = "x'); Remove-Mailbox -Identity a@b.com; ('",
	    .mailbox = "o'brien@contoso.com",
	    .secret_file = "/etc/x",
	};
	struct oa2_buf b;
	char line[512];

	(void)state;
	oa2_buf_init(&b, MS_TEXT_MAX);
	assert_int_equal(ms_setup_text(&s, &b), 0);
	assert_non_null(
	    line_of(oa2_buf_str(&b), "$TenantId = ", line, sizeof(line)));
	assert_string_equal(line,
	    "$TenantId = 'contoso.com''; Remove-Mailbox "
	    "-Identity a@b.com; '''");
	assert_non_null(
	    line_of(oa2_buf_str(&b), "$AppId = ", line, sizeof(line)));
	assert_string_equal(line,
	    "$AppId = 'x''); Remove-Mailbox -Identity "
	    "a@b.com; ('''");
	assert_non_null(
	    line_of(oa2_buf_str(&b), "$Mailbox = ", line, sizeof(line)));
	assert_string_equal(line, "$Mailbox = 'o''brien@contoso.com'");
	assert_null(
	    line_of(oa2_buf_str(&b), "Remove-Mailbox", line, sizeof(line)));
	oa2_buf_free(&b);

	/* A control character is refused, not printed. */
	s.mailbox = "a\nRemove-Mailbox x@y.com";
	oa2_buf_init(&b, MS_TEXT_MAX);
	assert_int_equal(ms_setup_text(&s, &b), OA2_ERR_INVAL);
	oa2_buf_free(&b);
}

/* Exchange caps the names of role assignments at 64 characters. */
static void
test_exchange_name(void **state)
{
	struct ms_setup s = {
	    .mode = MS_APP_RBAC,
	    .account = LONG64,
	    .tenant = "contoso.com",
	    .client_id = GUID,
	    .mailbox = "relay@contoso.com",
	    .secret_file = "/etc/x",
	};
	struct oa2_buf b;
	char line[512], want[256];

	(void)state;
	oa2_buf_init(&b, MS_TEXT_MAX);
	assert_int_equal(ms_setup_text(&s, &b), 0);
	assert_non_null(line_of(
	    oa2_buf_str(&b), "New-ManagementScope ", line, sizeof(line)));
	snprintf(want, sizeof(want), "-Name 'sasl-oauth2 %.52s' ", LONG64);
	assert_non_null(strstr(line, want));
	oa2_buf_free(&b);
}

/* The section parses as it reads: the secret line commented without a
 * file, present with one, the certificate keys with a key. */
static void
test_section(void **state)
{
	struct ms_setup s = {
	    .mode = MS_APP_ONLY,
	    .account = "relay",
	    .tenant = "contoso.com",
	    .client_id = GUID,
	    .mailbox = "relay@contoso.com",
	    .secret_hint = "/etc/sasl-oauth2/relay.secret",
	};
	struct oa2_buf b;

	(void)state;
	oa2_buf_init(&b, MS_TEXT_MAX);
	assert_int_equal(ms_setup_section(&s, &b), 0);
	assert_non_null(strstr(oa2_buf_str(&b),
	    "\n# client_secret_file = /etc/sasl-oauth2/relay.secret\n"));
	assert_non_null(
	    strstr(oa2_buf_str(&b), "\nflow = client_credentials\n"));
	oa2_buf_free(&b);

	s.key_file = "/k.pem";
	s.cert_file = "/c.pem";
	oa2_buf_init(&b, MS_TEXT_MAX);
	assert_int_equal(ms_setup_section(&s, &b), 0);
	assert_non_null(strstr(oa2_buf_str(&b),
	    "\nclient_auth = private_key_jwt\nclient_key_file = /k.pem\n"
	    "client_certificate_file = /c.pem\n"));
	assert_null(strstr(oa2_buf_str(&b), "client_secret_file"));
	oa2_buf_free(&b);

	s.mode = MS_DELEGATED;
	s.key_file = s.cert_file = NULL;
	oa2_buf_init(&b, MS_TEXT_MAX);
	assert_int_equal(ms_setup_section(&s, &b), 0);
	assert_null(strstr(oa2_buf_str(&b), "flow"));
	assert_null(strstr(oa2_buf_str(&b), "secret"));
	oa2_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_guid),
	    cmocka_unit_test(test_tenant),
	    cmocka_unit_test(test_mailbox),
	    cmocka_unit_test(test_path),
	    cmocka_unit_test(test_ps_quote),
	    cmocka_unit_test(test_sh_quote),
	    cmocka_unit_test(test_hostile_values),
	    cmocka_unit_test(test_exchange_name),
	    cmocka_unit_test(test_section),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
