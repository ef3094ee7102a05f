/*
 * test_pkce.c: PKCE (RFC 7636 Appendix B vector), fresh verifiers and
 * states, the constant-time comparison.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "pkce.h"

static int
all_unreserved(const struct oa2_buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++) {
		char c = b->data[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static void
test_challenge(void **state)
{
	static const struct {
		const char *verifier;
		int rc;
		const char *want;
	} cases[] = {
	    /* RFC 7636 Appendix B. */
	    {"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", 0,
		"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
	    /* 42 characters: one short of the minimum. */
	    {"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX", OA2_ERR_INVAL, NULL},
	    /* '+' and '/' are not unreserved. */
	    {"dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk", OA2_ERR_INVAL,
		NULL},
	    {"", OA2_ERR_INVAL, NULL},
	};
	char longv[130];
	struct oa2_buf b;
	size_t i;

	oa2_buf_init(&b, 64);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(oa2_pkce_challenge(cases[i].verifier,
				     strlen(cases[i].verifier), &b),
		    cases[i].rc);
		if (cases[i].want != NULL)
			assert_string_equal(oa2_buf_str(&b), cases[i].want);
		else
			assert_int_equal(b.len, 0);
	}
	/* 128 is the maximum, 129 too many. */
	memset(longv, '~', sizeof(longv));
	assert_int_equal(oa2_pkce_challenge(longv, 128, &b), 0);
	assert_int_equal(b.len, 43);
	assert_int_equal(oa2_pkce_challenge(longv, 129, &b), OA2_ERR_INVAL);
	oa2_buf_free(&b);
}

static void
test_fresh(void **state)
{
	struct oa2_buf v1, c1, v2, c2, chk, s1, s2;

	oa2_buf_init(&v1, 128);
	oa2_buf_init(&c1, 64);
	oa2_buf_init(&v2, 128);
	oa2_buf_init(&c2, 64);
	oa2_buf_init(&chk, 64);
	oa2_buf_init(&s1, 64);
	oa2_buf_init(&s2, 64);

	assert_int_equal(oa2_pkce_new(&v1, &c1), 0);
	assert_int_equal(oa2_pkce_new(&v2, &c2), 0);
	assert_int_equal(v1.len, 64);
	assert_int_equal(c1.len, 43);
	assert_true(all_unreserved(&v1));
	assert_true(all_unreserved(&c1));
	assert_string_not_equal(v1.data, v2.data);
	assert_string_not_equal(c1.data, c2.data);
	/* The challenge is the verifier's. */
	assert_int_equal(oa2_pkce_challenge(v1.data, v1.len, &chk), 0);
	assert_string_equal(chk.data, c1.data);

	assert_int_equal(oa2_state_new(&s1), 0);
	assert_int_equal(oa2_state_new(&s2), 0);
	assert_int_equal(s1.len, 43);
	assert_true(all_unreserved(&s1));
	assert_string_not_equal(s1.data, s2.data);

	/* Old contents are replaced, not appended to. */
	assert_int_equal(oa2_state_new(&s1), 0);
	assert_int_equal(s1.len, 43);

	assert_int_equal(oa2_random_b64url(0, &s1), OA2_ERR_INVAL);
	assert_int_equal(
	    oa2_random_b64url(OA2_RANDOM_MAX + 1, &s1), OA2_ERR_INVAL);
	assert_int_equal(oa2_random_b64url(1, &s1), 0);
	assert_int_equal(s1.len, 2);
	/* A buffer too small for the result. */
	assert_int_equal(oa2_random_b64url(64, &s1), OA2_ERR_TOOBIG);
	assert_int_equal(s1.len, 0);

	oa2_buf_free(&v1);
	oa2_buf_free(&c1);
	oa2_buf_free(&v2);
	oa2_buf_free(&c2);
	oa2_buf_free(&chk);
	oa2_buf_free(&s1);
	oa2_buf_free(&s2);
}

static void
test_const_eq(void **state)
{
	static const struct {
		const char *a, *b;
		int eq;
	} cases[] = {
	    {"abc", "abc", 1},
	    {"", "", 1},
	    {"abc", "abd", 0},
	    {"abc", "ab", 0},
	    {"ab", "abc", 0},
	    {"", "a", 0},
	    {"\x80yz", "\x7fyz", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(oa2_const_eq(cases[i].a, strlen(cases[i].a),
				     cases[i].b, strlen(cases[i].b)),
		    cases[i].eq);
	/* Bytes after an embedded NUL count. */
	assert_int_equal(oa2_const_eq("a\0b", 3, "a\0c", 3), 0);
	assert_int_equal(oa2_const_eq("a\0b", 3, "a\0b", 3), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_challenge),
	    cmocka_unit_test(test_fresh),
	    cmocka_unit_test(test_const_eq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
