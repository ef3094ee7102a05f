/*
 * errmap.h: turn an identity provider's refusal into one sentence that says
 * what happened and what to do, and a class for the exit code.
 */
#ifndef OA2_ERRMAP_H
#define OA2_ERRMAP_H

#include <stddef.h>

#include "tokenresp.h"

/* What the refused request spent, for oa2_explain. */
enum oa2_grant {
	OA2_GRANT_USER = 0, /* a user's code, device code or refresh token */
	OA2_GRANT_APP = 1,  /* client credentials: the app's own */
	OA2_GRANT_PASSWORD = 2, /* the resource owner password grant */
	/* a Google service account's JWT bearer grant (RFC 7523 2.1) */
	OA2_GRANT_SERVICE_ACCOUNT = 3,
};

/* Returns OA2_ERR_AUTH (log in again), OA2_ERR_CLIENT (fix the app
 * registration or configuration) or OA2_ERR_PROVIDER (temporary: try
 * later), and writes the sentence into msg.  OA2_GRANT_APP: there is no
 * user who could log in again: what would send one to "sasl-oauth2 login"
 * points at the app registration and its credentials instead, and
 * OA2_ERR_AUTH is never returned.  OA2_GRANT_PASSWORD: invalid_grant is
 * the user name or password (RFC 6749 section 4.3), not a grant to renew. */
int oa2_explain(const struct oa2_token_response *tr, const char *account,
    int grant, char *msg, size_t msgsz);

#endif
