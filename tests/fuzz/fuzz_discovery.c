/*
 * fuzz_discovery.c: OpenID Connect Discovery / RFC 8414 metadata
 * (discovery.c), fetched from the issuer's /.well-known/ URL.
 *
 * Checks: a success names a token endpoint, and every endpoint is "" or a
 * C string of visible ASCII under OA2_URL_MAX; the issuer check holds
 * (the document's own issuer is accepted with the same result, any other
 * refused); a refusal leaves every endpoint empty and says why.
 */
#include "config.h"

#include "discovery.h"
#include "err.h"

#include "fuzz.h"

static int
plain_url(const char *s, size_t size)
{
	size_t i;

	for (i = 0; i < size && s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return i < size;
}

static void
check_result(
    int rc, const struct oa2_endpoints *ep, const char *err, size_t errsz)
{
	static const struct oa2_endpoints zero;

	FUZZ_CHECK(rc == 0 || rc == OA2_ERR_PARSE);
	FUZZ_CHECK(memchr(err, '\0', errsz) != NULL);
	if (rc != 0) {
		FUZZ_CHECK(memcmp(ep, &zero, sizeof(zero)) == 0);
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(ep->token[0] != '\0');
	FUZZ_CHECK(plain_url(ep->issuer, sizeof(ep->issuer)));
	FUZZ_CHECK(plain_url(ep->authorization, sizeof(ep->authorization)));
	FUZZ_CHECK(plain_url(ep->token, sizeof(ep->token)));
	FUZZ_CHECK(plain_url(ep->device, sizeof(ep->device)));
	FUZZ_CHECK(plain_url(ep->revocation, sizeof(ep->revocation)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct oa2_endpoints ep, again;
	char err[256], other[OA2_URL_MAX + 1];
	int rc;

	memset(&ep, 0x55, sizeof(ep));
	memset(err, 'x', sizeof(err));
	err[0] = '\0';
	rc = oa2_discovery_parse(body, size, NULL, &ep, err, sizeof(err));
	check_result(rc, &ep, err, sizeof(err));

	memset(&again, 0x55, sizeof(again));
	rc = oa2_discovery_parse(
	    body, size, "https://login.example.com/", &again, err, sizeof(err));
	check_result(rc, &again, err, sizeof(err));
	FUZZ_CHECK(
	    rc != 0 || strcmp(again.issuer, "https://login.example.com/") == 0);

	if (ep.token[0] == '\0')
		return 0;
	/* The issuer it names is the one it is accepted for. */
	rc = oa2_discovery_parse(
	    body, size, ep.issuer, &again, err, sizeof(err));
	check_result(rc, &again, err, sizeof(err));
	FUZZ_CHECK(rc == 0 && memcmp(&again, &ep, sizeof(ep)) == 0);
	snprintf(other, sizeof(other), "%sx", ep.issuer);
	rc = oa2_discovery_parse(body, size, other, &again, err, sizeof(err));
	check_result(rc, &again, err, sizeof(err));
	FUZZ_CHECK(rc == OA2_ERR_PARSE);
	return 0;
}
