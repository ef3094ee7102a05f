/*
 * flow.c: requests to the token endpoint shared by every flow, the
 * client credentials grant (RFC 6749 4.4) and a service account's JWT
 * bearer grant (RFC 7523 2.1).
 *
 * TRUST: answers are untrusted; see tokenresp.c.
 * SECRETS: the form (secrets, codes, refresh tokens) is a wiping buffer;
 * verbose output names lengths and fields, never values.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "errmap.h"
#include "helper.h"
#include "http.h"
#include "jwt.h"
#include "secretfile.h"
#include "tokenresp.h"

/* The platform's signed assertion (a Kubernetes projected service account
 * token, Azure workload identity), read anew for every request since the
 * platform renews it: client_assertion_type jwt-bearer (RFC 7523 2.2).
 * Checked like every secret file; its characters must be a JWT's. */
static int
assertion_from_file(const struct account *acct, struct oa2_buf *form)
{
	const char *path = acct->cfg->v[OA2_K_CLIENT_ASSERTION_FILE];
	struct oa2_buf jwt;
	char err[512];
	size_t i, dots = 0;
	int r;

	oa2_buf_init(&jwt, 16384);
	if ((r = oa2_secretfile_read(path, &jwt, err, sizeof(err))) != 0) {
		say("account %s: %s", acct->name, err);
		r = r == OA2_ERR_PERM ? OA2_ERR_PERM : OA2_ERR_CONFIG;
		goto out;
	}
	for (i = 0; i < jwt.len; i++) {
		char c = jwt.data[i];
		if (c == '.')
			dots++;
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '_'))
			break;
	}
	if (jwt.len == 0 || i < jwt.len || dots != 2) {
		say("account %s: client_assertion_file %s does not hold a "
		    "signed JWT (header.claims.signature); is it the "
		    "platform's token file?",
		    acct->name, path);
		r = OA2_ERR_CONFIG;
		goto out;
	}
	verbose("account %s: client assertion from %s (%u bytes)", acct->name,
	    path, (unsigned)jwt.len);
	if ((r = oa2_form_add(form, "client_id", acct->client_id)) == 0 &&
	    (r = oa2_form_add(form, "client_assertion_type",
		 "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")) ==
		0)
		r = oa2_form_add(form, "client_assertion", jwt.data);
out:
	oa2_buf_free(&jwt);
	return r;
}

int
client_auth(const struct account *acct, const char *audience,
    struct oa2_buf *form, struct oa2_http *h)
{
	struct oa2_buf jwt;
	int r;

	h->ca_file = acct->ca_file;
	h->proxy = acct->proxy;
	h->no_proxy = acct->no_proxy;
	/* The JWT bearer grant's assertion is the service account's
	 * credential: no client authentication (RFC 7523 3.1: optional). */
	if (acct->flow == FLOW_SERVICE_ACCOUNT)
		return 0;
	if (acct->client_auth == CLIENT_AUTH_ASSERTION_FILE)
		return assertion_from_file(acct, form);
	if (acct->client_auth == CLIENT_AUTH_PRIVATE_KEY_JWT) {
		oa2_buf_init(&jwt, 16384);
		r = oa2_jwt_assertion(acct->client_key,
		    acct->have_thumbprint ? acct->thumbprint : NULL,
		    acct->client_id, audience, time(NULL), &jwt);
		if (r == 0 &&
		    (r = oa2_form_add(form, "client_id", acct->client_id)) ==
			0 &&
		    (r = oa2_form_add(form, "client_assertion_type",
			 "urn:ietf:params:oauth:client-assertion-type:"
			 "jwt-bearer")) == 0)
			r = oa2_form_add(form, "client_assertion", jwt.data);
		oa2_buf_free(&jwt);
		if (r != 0)
			say("account %s: cannot sign the client assertion: %s",
			    acct->name, oa2_strerror(r));
		return r;
	}
	if (acct->client_secret.len > 0 &&
	    acct->client_auth == CLIENT_AUTH_BASIC) {
		h->basic_user = acct->client_id;
		h->basic_pass = acct->client_secret.data;
		return 0;
	}
	if ((r = oa2_form_add(form, "client_id", acct->client_id)) != 0)
		return r;
	if (acct->client_secret.len > 0)
		r = oa2_form_add(
		    form, "client_secret", acct->client_secret.data);
	return r;
}

/* Say what the provider's error answer means; its class. */
static int
explain(const struct account *acct, const struct oa2_token_response *tr)
{
	char msg[1024], label[512];
	int r;

	/* A service account's refusal is one mailbox's (sub). */
	if (acct->flow == FLOW_SERVICE_ACCOUNT)
		snprintf(label, sizeof(label), "%s (mailbox %s)", acct->name,
		    acct->user);
	else
		snprintf(label, sizeof(label), "%s", acct->name);
	r = oa2_explain(tr, label,
	    acct->flow == FLOW_CLIENT_CREDENTIALS    ? OA2_GRANT_APP
		: acct->flow == FLOW_SERVICE_ACCOUNT ? OA2_GRANT_SERVICE_ACCOUNT
						     : OA2_GRANT_USER,
	    msg, sizeof(msg));
	say("%s", msg);
	return r;
}

/* quiet: leave provider errors (tr->error) to the caller, say nothing.
 * neterr: NULL, or where a transport error (no HTTP answer: the network or
 * a timeout) goes instead of being said, for a caller that retries it. */
static int
token_post(const struct account *acct, struct oa2_buf *form,
    struct oa2_token_response *tr, int quiet, char *neterr, size_t neterrsz)
{
	struct oa2_http h = {0};
	struct oa2_buf body;
	char err[768], retry_after[OA2_RETRY_AFTER_MAX];
	long status = 0;
	int r;

	if ((r = client_auth(acct, acct->token_endpoint, form, &h)) != 0)
		return r;
	h.retry_after = retry_after;
	oa2_buf_init(&body, OA2_HTTP_BODY_MAX);
	verbose("account %s: POST %s (client auth %s)", acct->name,
	    acct->token_endpoint,
	    acct->flow == FLOW_SERVICE_ACCOUNT ? "none: JWT bearer grant"
		: acct->client_auth == CLIENT_AUTH_ASSERTION_FILE
		? "client_assertion_file"
		: acct->client_auth == CLIENT_AUTH_PRIVATE_KEY_JWT
		? "private_key_jwt"
		: acct->client_secret.len == 0		 ? "none"
		: acct->client_auth == CLIENT_AUTH_BASIC ? "basic"
							 : "post");
	r = oa2_http_post(
	    &h, acct->token_endpoint, form, &status, &body, err, sizeof(err));
	if (r != 0 && neterr != NULL &&
	    (r == OA2_ERR_NETWORK || r == OA2_ERR_TIMEOUT)) {
		snprintf(neterr, neterrsz, "%s", err);
		verbose("account %s: %s", acct->name, err);
		goto out;
	}
	if (r == OA2_ERR_CONFIG) {
		/* a proxy's refusal or a proxy setting: err says what to do */
		say("account %s: %s", acct->name, err);
		goto out;
	}
	if (r != 0) {
		say("account %s: %s; check the network and token_endpoint, "
		    "then try again",
		    acct->name, err);
		goto out;
	}
	verbose("account %s: HTTP %ld, %u bytes", acct->name, status,
	    (unsigned)body.len);
	r = oa2_token_response_parse(oa2_buf_str(&body), body.len, status, tr);
	memcpy(tr->retry_after, retry_after, sizeof(tr->retry_after));
	if (r == OA2_ERR_PROVIDER && quiet) {
		verbose("account %s: %s", acct->name, tr->error);
	} else if (r == OA2_ERR_PROVIDER) {
		r = explain(acct, tr);
	} else if (r != 0) {
		say("account %s: unusable answer from %s (HTTP %ld): %s",
		    acct->name, acct->token_endpoint, status,
		    tr->problem[0] ? tr->problem : oa2_strerror(r));
	} else {
		verbose("account %s: got a %s token (%u bytes, expires in "
			"%lld s%s)",
		    acct->name, tr->token_type, (unsigned)tr->access_token.len,
		    tr->expires_in,
		    tr->refresh_token.len > 0 ? ", with a refresh token" : "");
	}
out:
	oa2_buf_free(&body);
	return r;
}

int
token_request(const struct account *acct, struct oa2_buf *form,
    struct oa2_token_response *tr)
{
	return token_post(acct, form, tr, 0, NULL, 0);
}

int
token_request_quiet(const struct account *acct, struct oa2_buf *form,
    struct oa2_token_response *tr, char *neterr, size_t neterrsz)
{
	return token_post(acct, form, tr, 1, neterr, neterrsz);
}

int
flow_client_credentials(
    const struct account *acct, struct oa2_token_response *tr)
{
	struct oa2_buf form;
	int r;

	oa2_buf_init(&form, 65536);
	if ((r = oa2_form_add(&form, "grant_type", "client_credentials")) ==
		0 &&
	    (r = oa2_form_add(
		 &form, "scope", acct->scope ? acct->scope : "")) == 0)
		r = token_request(acct, &form, tr);
	oa2_buf_free(&form);
	return r;
}

/* RFC 7523 2.1: grant_type jwt-bearer, assertion the signed JWT.  The
 * assertion names the mailbox (sub), so each mailbox gets its own token,
 * and every one is a new signature: there is no refresh token. */
int
flow_service_account(const struct account *acct, struct oa2_token_response *tr)
{
	struct oa2_buf form, jwt;
	int r;

	oa2_buf_init(&form, 65536);
	oa2_buf_init(&jwt, 16384);
	r = oa2_jwt_grant_assertion(acct->client_key,
	    acct->sa_key_id[0] != '\0' ? acct->sa_key_id : NULL, acct->sa_email,
	    acct->scope, acct->token_endpoint, acct->user, time(NULL), &jwt);
	if (r != 0) {
		say("account %s: cannot sign the service account's assertion "
		    "for %s: %s; check scope and user",
		    acct->name, acct->user, oa2_strerror(r));
		goto out;
	}
	verbose("account %s: JWT bearer assertion for %s as %s (%u bytes)",
	    acct->name, acct->user, acct->sa_email, (unsigned)jwt.len);
	if ((r = oa2_form_add(&form, "grant_type",
		 "urn:ietf:params:oauth:grant-type:jwt-bearer")) == 0 &&
	    (r = oa2_form_add(&form, "assertion", jwt.data)) == 0)
		r = token_request(acct, &form, tr);
out:
	oa2_buf_free(&jwt);
	oa2_buf_free(&form);
	return r;
}

static int
refresh_post(const struct account *acct, const char *refresh_token,
    const char *scope, struct oa2_token_response *tr, int quiet)
{
	struct oa2_buf form;
	int r;

	oa2_buf_init(&form, 65536);
	if ((r = oa2_form_add(&form, "grant_type", "refresh_token")) == 0 &&
	    (r = oa2_form_add(&form, "refresh_token", refresh_token)) == 0 &&
	    (scope == NULL || (r = oa2_form_add(&form, "scope", scope)) == 0))
		r = token_post(acct, &form, tr, quiet, NULL, 0);
	oa2_buf_free(&form);
	return r;
}

/* RFC 6749 section 6: a refresh without scope asks for the scope of the
 * original grant, which is what the account wants, and a scope beyond it
 * is refused; so only a preset whose provider requires the scope sends it
 * (Microsoft's v2.0 endpoint: AADSTS900144).  Should the provider refuse
 * that scope, ask once more without it: an error answer spends no refresh
 * token. */
int
flow_refresh(const struct account *acct, const char *refresh_token,
    struct oa2_token_response *tr)
{
	const char *scope = acct->refresh_scope ? acct->scope : NULL;
	int r;

	r = refresh_post(acct, refresh_token, scope, tr, scope != NULL);
	if (r != OA2_ERR_PROVIDER || scope == NULL)
		return r;
	if (strcmp(tr->error, "invalid_scope") != 0)
		return explain(acct, tr);
	verbose("account %s: the provider refused the scope of the refresh "
		"(invalid_scope); asking again without scope, for the scope "
		"originally granted",
	    acct->name);
	oa2_token_response_free(tr);
	oa2_token_response_init(tr);
	return refresh_post(acct, refresh_token, NULL, tr, 0);
}

int
flow_code_exchange(const struct account *acct, const char *code,
    const char *redirect_uri, const char *verifier,
    struct oa2_token_response *tr)
{
	struct oa2_buf form;
	int r;

	oa2_buf_init(&form, 65536);
	if ((r = oa2_form_add(&form, "grant_type", "authorization_code")) ==
		0 &&
	    (r = oa2_form_add(&form, "code", code)) == 0 &&
	    (r = oa2_form_add(&form, "redirect_uri", redirect_uri)) == 0 &&
	    (r = oa2_form_add(&form, "code_verifier", verifier)) == 0)
		r = token_request(acct, &form, tr);
	oa2_buf_free(&form);
	return r;
}
