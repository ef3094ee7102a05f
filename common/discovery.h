/*
 * discovery.h: OpenID Connect Discovery / RFC 8414 metadata: the endpoints
 * an issuer publishes at /.well-known/openid-configuration.
 */
#ifndef OA2_DISCOVERY_H
#define OA2_DISCOVERY_H

#include <stddef.h>

#define OA2_URL_MAX 1024

struct oa2_endpoints {
	char issuer[OA2_URL_MAX];
	char authorization[OA2_URL_MAX];
	char token[OA2_URL_MAX];
	char device[OA2_URL_MAX];
	char revocation[OA2_URL_MAX];
	/* RFC 9207: authorization_response_iss_parameter_supported is true:
	 * every authorization response carries iss. */
	int iss_supported;
};

/* Parse a metadata document.  0 with every endpoint it names copied (an
 * absent one is ""); OA2_ERR_PARSE when it is not a JSON object, has no
 * token_endpoint, or its issuer differs from expected_issuer (when not
 * NULL) as OIDC Discovery section 4.3 requires; err says why. */
int oa2_discovery_parse(const char *body, size_t len,
    const char *expected_issuer, struct oa2_endpoints *ep, char *err,
    size_t errsz);

#endif
