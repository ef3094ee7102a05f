/*
 * errmap.h: turn an identity provider's refusal into one sentence that says
 * what happened and what to do, and a class for the exit code.
 */
#ifndef OA2_ERRMAP_H
#define OA2_ERRMAP_H

#include <stddef.h>

#include "tokenresp.h"

/* Returns OA2_ERR_AUTH (log in again), OA2_ERR_CLIENT (fix the app
 * registration or configuration) or OA2_ERR_PROVIDER (temporary: try
 * later), and writes the sentence into msg.  app_only: the account uses
 * client credentials, so there is no user who could log in again: what
 * would send one to "sasl-oauth2 login" points at the app registration and
 * its credentials instead, and OA2_ERR_AUTH is never returned. */
int oa2_explain(const struct oa2_token_response *tr, const char *account,
    int app_only, char *msg, size_t msgsz);

#endif
