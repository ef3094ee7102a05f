/*
 * test_sakey.c: Google service account JSON key files (sakey.c) and the
 * RFC 7523 grant assertion signed with their key (jwt.c): the fields a key
 * file must have, an encrypted key refused without a prompt, and an
 * assertion whose header and claims are Google's and whose signature the
 * public key verifies.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "buf.h"
#include "err.h"
#include "jwt.h"
#include "sakey.h"

static EVP_PKEY *test_key;
static char *test_pem;	   /* unencrypted PKCS#8, as Google's */
static char *test_pem_enc; /* the same, encrypted */

static char *
pem_of(EVP_PKEY *k, int encrypted)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(b, k,
			     encrypted ? EVP_aes_256_cbc() : NULL, NULL, 0,
			     NULL, encrypted ? "pass" : NULL),
	    1);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	BIO_free(b);
	return out;
}

static int
setup(void **state)
{
	(void)state;
	test_key = EVP_RSA_gen(2048);
	if (test_key == NULL)
		return -1;
	test_pem = pem_of(test_key, 0);
	test_pem_enc = pem_of(test_key, 1);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(test_key);
	free(test_pem);
	free(test_pem_enc);
	return 0;
}

/* A key file as the Cloud console writes it, with field drop left out
 * (NULL: none) and field set to value (NULL: none). */
static char *
key_file(const char *drop, const char *set, const char *value)
{
	struct json_object *o = json_object_new_object();
	static const char *const fields[][2] = {
	    {"type", "service_account"},
	    {"project_id", "sasl-oauth2-test"},
	    {"private_key_id", "3f2c1b0a99d8e7f6"},
	    {"private_key", NULL},
	    {"client_email", "relay@proj.iam.gserviceaccount.com"},
	    {"client_id", "103421234567890123456"},
	    {"auth_uri", "https://accounts.google.com/o/oauth2/auth"},
	    {"token_uri", "https://oauth2.googleapis.com/token"},
	};
	char *out;
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = fields[i][1] ? fields[i][1] : test_pem;
		if (drop != NULL && strcmp(drop, fields[i][0]) == 0)
			continue;
		if (set != NULL && strcmp(set, fields[i][0]) == 0)
			v = value;
		json_object_object_add(
		    o, fields[i][0], json_object_new_string(v));
	}
	out =
	    strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	return out;
}

static void
test_refused(void **state)
{
	static const struct {
		const char *drop, *set, *value, *needle;
	} cases[] = {
	    {"client_email", NULL, NULL, "has no \"client_email\""},
	    {"client_id", NULL, NULL, "has no \"client_id\""},
	    {"private_key", NULL, NULL, "has no \"private_key\""},
	    {"type", NULL, NULL, "has no \"type\""},
	    {NULL, "type", "authorized_user", "not \"service_account\""},
	    {NULL, "client_email", "a\"b@x",
		"\"client_email\" is not a usable value"},
	    {NULL, "private_key", "-----BEGIN PRIVATE KEY-----\nAAAA\n",
		"not an unencrypted PEM RSA private key"},
	    {NULL, "private_key", NULL, "is encrypted"}, /* test_pem_enc */
	};
	struct oa2_sa_key sa;
	char err[768], *text;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text = key_file(cases[i].drop, cases[i].set,
		    cases[i].value ? cases[i].value : test_pem_enc);
		err[0] = '\0';
		assert_int_equal(oa2_sa_key_parse(text, strlen(text), "k.json",
				     &sa, err, sizeof(err)),
		    OA2_ERR_CONFIG);
		assert_null(sa.key);
		if (strstr(err, cases[i].needle) == NULL)
			fail_msg("case %zu: '%s'", i, err);
		/* no sentence quotes the key */
		assert_null(strstr(err, "BEGIN"));
		free(text);
	}
	err[0] = '\0';
	assert_int_equal(
	    oa2_sa_key_parse("not json", 8, "k.json", &sa, err, sizeof(err)),
	    OA2_ERR_CONFIG);
	assert_non_null(strstr(err, "is not JSON"));
}

/* base64url without padding, decoded by OpenSSL's standard decoder into
 * out (NUL-terminated); its length. */
static size_t
b64url_decode(const char *p, size_t n, unsigned char *out, size_t outsz)
{
	char std[4096];
	size_t i, pad = (4 - n % 4) % 4;
	int len;

	assert_true(n + pad < sizeof(std) && (n + pad) / 4 * 3 < outsz);
	for (i = 0; i < n; i++)
		std[i] = p[i] == '-' ? '+' : p[i] == '_' ? '/' : p[i];
	for (; i < n + pad; i++)
		std[i] = '=';
	len = EVP_DecodeBlock(out, (const unsigned char *)std, (int)(n + pad));
	assert_true(len >= (int)pad);
	out[len - pad] = '\0';
	return (size_t)len - pad;
}

static struct json_object *
part(const char *p, size_t n)
{
	unsigned char raw[4096];
	struct json_object *o;

	b64url_decode(p, n, raw, sizeof(raw));
	o = json_tokener_parse((const char *)raw);
	assert_non_null(o);
	return o;
}

static const char *
str(struct json_object *o, const char *k)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, k, &v));
	return json_object_get_string(v);
}

static long long
num(struct json_object *o, const char *k)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, k, &v));
	return (long long)json_object_get_int64(v);
}

static void
test_assertion(void **state)
{
	struct oa2_sa_key sa;
	struct oa2_buf jwt;
	unsigned char sig[1024];
	size_t siglen;
	struct json_object *h, *c;
	char err[768], *text, *dot1, *dot2;
	EVP_MD_CTX *md;

	(void)state;
	text = key_file(NULL, NULL, NULL);
	assert_int_equal(oa2_sa_key_parse(text, strlen(text), "k.json", &sa,
			     err, sizeof(err)),
	    0);
	free(text);
	assert_string_equal(
	    sa.client_email, "relay@proj.iam.gserviceaccount.com");
	assert_string_equal(sa.client_id, "103421234567890123456");
	assert_string_equal(sa.private_key_id, "3f2c1b0a99d8e7f6");
	assert_string_equal(
	    sa.token_uri, "https://oauth2.googleapis.com/token");

	oa2_buf_init(&jwt, 16384);
	assert_int_equal(
	    oa2_jwt_grant_assertion(sa.key, sa.private_key_id, sa.client_email,
		"https://mail.google.com/", sa.token_uri, "alice@example.com",
		1700000000, &jwt),
	    0);
	dot1 = strchr(jwt.data, '.');
	assert_non_null(dot1);
	dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	h = part(jwt.data, (size_t)(dot1 - jwt.data));
	c = part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	assert_string_equal(str(h, "alg"), "RS256");
	assert_string_equal(str(h, "typ"), "JWT");
	assert_string_equal(str(h, "kid"), "3f2c1b0a99d8e7f6");
	assert_string_equal(
	    str(c, "iss"), "relay@proj.iam.gserviceaccount.com");
	assert_string_equal(str(c, "sub"), "alice@example.com");
	assert_string_equal(str(c, "scope"), "https://mail.google.com/");
	assert_string_equal(
	    str(c, "aud"), "https://oauth2.googleapis.com/token");
	assert_int_equal(num(c, "iat"), 1700000000);
	assert_int_equal(num(c, "exp"), 1700000000 + 3600);
	json_object_put(h);
	json_object_put(c);

	/* the public half of the key verifies the signature */
	siglen = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig));
	md = EVP_MD_CTX_new();
	assert_int_equal(
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, test_key), 1);
	assert_int_equal(
	    EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt.data,
		(size_t)(dot2 - jwt.data)),
	    1);
	EVP_MD_CTX_free(md);

	/* what would need escaping in the JSON is refused, not escaped */
	assert_int_equal(oa2_jwt_grant_assertion(sa.key, NULL, sa.client_email,
			     "https://mail.google.com/", sa.token_uri,
			     "a\"b@example.com", 1700000000, &jwt),
	    OA2_ERR_INVAL);
	assert_int_equal(jwt.len, 0);
	oa2_buf_free(&jwt);
	oa2_sa_key_free(&sa);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_assertion),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
