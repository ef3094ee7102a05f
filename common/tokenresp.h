/*
 * tokenresp.h: the token endpoint's answer (RFC 6749 5.1 and 5.2).
 */
#ifndef OA2_TOKENRESP_H
#define OA2_TOKENRESP_H

#include "buf.h"
#include "http.h"

struct oa2_token_response {
	struct oa2_buf access_token;  /* wiping */
	struct oa2_buf refresh_token; /* wiping; empty when none issued */
	char token_type[32];
	long long expires_in; /* seconds, -1 when the provider left it out */
	char scope[1024];
	/* RFC 6749 5.2 error, printable and truncated */
	char error[128];
	char error_description[1024];
	long aadsts;	   /* Microsoft's AADSTS code, 0 when none */
	long http_status;  /* the HTTP status the answer came with */
	char problem[160]; /* why an answer was unusable, for the message */
	/* the answer's Retry-After, cleaned by oa2_retry_after_clean; set by
	 * the caller after parsing ("" when none) */
	char retry_after[OA2_RETRY_AFTER_MAX];
};

void oa2_token_response_init(struct oa2_token_response *tr);
void oa2_token_response_free(struct oa2_token_response *tr);

/*
 * 0: a usable bearer token in access_token.
 * OA2_ERR_PROVIDER: an error answer (error/error_description/aadsts set,
 *   or error = "http_<status>" when the body said nothing usable).
 * OA2_ERR_PARSE: not JSON, a token of the wrong type or syntax, or missing
 *   fields (problem says which).
 */
int oa2_token_response_parse(const char *body, size_t len, long http_status,
    struct oa2_token_response *tr);

#endif
