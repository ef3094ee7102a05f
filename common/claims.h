/*
 * claims.h: what "sasl-oauth2 doctor" reads in an access token that is a
 * JWT (Microsoft Entra's are), and what it holds those claims against: the
 * audience, the permissions, the user and the expiry a mail server needs.
 * The signature is not checked: the server does that; doctor only
 * explains why a server would refuse the token.
 */
#ifndef OA2_CLAIMS_H
#define OA2_CLAIMS_H

#include <stddef.h>
#include <time.h>

#include "wire.h"

/* The claims, made printable (oa2_printable); "" when absent. */
struct oa2_claims {
	char aud[256];	 /* audiences, space-separated */
	char scp[512];	 /* delegated permissions (space-separated) */
	char roles[512]; /* app permissions, space-separated */
	char user[OA2_MAILBOX_MAX + 1];
	char user_claim[24]; /* upn, preferred_username, email, unique_name */
	char tid[64];
	char appid[64]; /* appid or azp */
	long long exp;	/* 0 when absent */
};

/* Parse the payload of the JWT tok[0..len) into out (zeroed first).
 * OA2_ERR_PARSE: not a JWT (an opaque token) or a payload that is not a
 * JSON object.  Nothing of the token but these claims is kept. */
int oa2_claims_parse(const char *tok, size_t len, struct oa2_claims *out);

/* What the account will do with the token. */
struct oa2_claims_need {
	const char *mailbox; /* the account's user */
	int microsoft;	     /* hold against Exchange Online's rules */
	int app_only;	     /* client credentials */
	int smtp, imap;	     /* the protocols doctor tries; neither: any */
	time_t now;
};

enum oa2_verdict { OA2_OK_V, OA2_WARN_V, OA2_FAIL_V };

/* One line of doctor's checklist. */
struct oa2_finding {
	enum oa2_verdict verdict;
	const char *step; /* "audience", "permissions", "user", "expiry" */
	char what[2048];  /* what was found; on WARN/FAIL, what to do */
};

#define OA2_CLAIMS_FINDINGS_MAX 6

/* Hold c against need: one finding per step into out[0..max); returns how
 * many. */
size_t oa2_claims_check(const struct oa2_claims *c,
    const struct oa2_claims_need *need, struct oa2_finding *out, size_t max);

#endif
