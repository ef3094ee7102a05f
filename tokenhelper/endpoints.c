/*
 * endpoints.c: what an account needs before its first request: the client
 * secret or key, and the endpoints from discovery.  The full helper only;
 * a cache hit in the light front never gets here.
 *
 * TRUST: the discovery document is the provider's, parsed by discovery.c;
 * its token endpoint, and a service account key file's token_uri, must
 * pass the same https/loopback rule as configured ones.
 * SECRETS: the client secret, read from client_secret_file (refused when
 * others can read it) or client_secret_command (secretcmd.c) into a
 * wiping buffer; the private key (of client_key_file or
 * service_account_file, see sakey.c); both freed by
 * account_free().
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "discovery.h"
#include "err.h"
#include "helper.h"
#include "http.h"
#include "jwt.h"
#include "sakey.h"
#include "secretfile.h"

/* A service account's JSON key file: the key, the names for the JWT, and
 * the token endpoint unless the account sets one.  Refuses a user that is
 * the service account itself, or any service account (account_sa_mistake). */
static int
service_account_credentials(struct account *acct)
{
	const char *path = acct->cfg->v[OA2_K_SERVICE_ACCOUNT_FILE];
	struct oa2_sa_key sa;
	char err[768], mb[OA2_MAILBOX_MAX + 1];
	size_t n;
	int r;

	if ((r = oa2_sa_key_load(path, &sa, err, sizeof(err))) != 0) {
		say("account %s: %s", acct->name, err);
		return r;
	}
	for (n = 0; oa2_user_nth(acct->user_list, n, mb, sizeof(mb)) == 0; n++)
		if (strcasecmp(mb, sa.client_email) == 0 ||
		    account_is_service_account_email(mb)) {
			account_sa_mistake(acct, sa.client_id);
			oa2_sa_key_free(&sa);
			return OA2_ERR_CONFIG;
		}
	if (acct->token_endpoint[0] == '\0')
		snprintf(acct->token_endpoint, URL_MAX, "%s",
		    sa.token_uri[0] != '\0' ? sa.token_uri
			: acct->google ? "https://oauth2.googleapis.com/token"
				       : "");
	if (acct->token_endpoint[0] == '\0') {
		say("account %s: %s has no token_uri; set token_endpoint",
		    acct->name, path);
		oa2_sa_key_free(&sa);
		return OA2_ERR_CONFIG;
	}
	snprintf(acct->sa_email, sizeof(acct->sa_email), "%s", sa.client_email);
	snprintf(
	    acct->sa_client_id, sizeof(acct->sa_client_id), "%s", sa.client_id);
	snprintf(
	    acct->sa_key_id, sizeof(acct->sa_key_id), "%s", sa.private_key_id);
	acct->client_key = sa.key; /* freed by account_free */
	acct->credentials_loaded = 1;
	verbose("account %s: service account %s (client ID %s) from %s",
	    acct->name, acct->sa_email, acct->sa_client_id, path);
	return 0;
}

/* Load the client secret or key (refused when others can read it). */
int
account_credentials(struct account *acct)
{
	const char *const *v = (const char *const *)acct->cfg->v;
	char err[512];
	int r = 0;

	if (acct->credentials_loaded)
		return 0;
	if (acct->flow == FLOW_SERVICE_ACCOUNT)
		return service_account_credentials(acct);
	if (acct->client_auth == CLIENT_AUTH_PRIVATE_KEY_JWT) {
		r = oa2_jwt_load_key(v[OA2_K_CLIENT_KEY_FILE],
		    &acct->client_key, err, sizeof(err));
		if (r == 0 && v[OA2_K_CLIENT_CERTIFICATE_FILE] != NULL) {
			r = oa2_jwt_cert_thumbprint(
			    v[OA2_K_CLIENT_CERTIFICATE_FILE], acct->thumbprint,
			    err, sizeof(err));
			acct->have_thumbprint = r == 0;
		}
	} else if (v[OA2_K_CLIENT_SECRET_COMMAND] != NULL) {
		/* says why not itself */
		if ((r = secret_command_read(acct,
			 v[OA2_K_CLIENT_SECRET_COMMAND],
			 &acct->client_secret)) != 0)
			return r;
	} else if (v[OA2_K_CLIENT_SECRET_FILE] != NULL) {
		r = oa2_secretfile_read(v[OA2_K_CLIENT_SECRET_FILE],
		    &acct->client_secret, err, sizeof(err));
	}
	if (r != 0) {
		say("account %s: %s", acct->name, err);
		return r == OA2_ERR_PERM ? OA2_ERR_PERM : OA2_ERR_CONFIG;
	}
	acct->credentials_loaded = 1;
	return 0;
}

static void
fill(char *dst, const char *discovered)
{
	if (dst[0] == '\0')
		snprintf(dst, URL_MAX, "%s", discovered);
}

/* https, or http to loopback only: checked before the first request. */
static int
check_token_endpoint(const struct account *acct, const char *what)
{
	char err[512];

	if (acct->token_endpoint[0] == '\0' ||
	    oa2_url_allowed(acct->token_endpoint, err, sizeof(err)) == 0)
		return 0;
	say("account %s: %s: %s", acct->name, what, err);
	return OA2_ERR_CONFIG;
}

int
account_endpoints(struct account *acct)
{
	struct oa2_http h = {0};
	struct oa2_endpoints ep;
	struct oa2_buf body;
	char url[URL_MAX + 64], err[768];
	size_t n;
	long status = 0;
	int r;

	if ((r = account_credentials(acct)) != 0)
		return r;
	if (!acct->need_discovery)
		return check_token_endpoint(acct,
		    acct->flow == FLOW_SERVICE_ACCOUNT &&
			    acct->cfg->v[OA2_K_TOKEN_ENDPOINT] == NULL
			? "token_uri of the JSON key file"
			: "token_endpoint");
	n = strlen(acct->issuer);
	while (n > 0 && acct->issuer[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s/.well-known/openid-configuration",
	    (int)n, acct->issuer);
	h.ca_file = acct->ca_file;
	h.proxy = acct->proxy;
	h.no_proxy = acct->no_proxy;
	oa2_buf_init(&body, OA2_HTTP_BODY_MAX);
	verbose("account %s: discovery from %s", acct->name, url);
	r = oa2_http_get(&h, url, &status, &body, err, sizeof(err));
	if (r != 0) {
		say("account %s: discovery failed: %s", acct->name, err);
		goto out;
	}
	if (status != 200) {
		say("account %s: discovery at %s answered HTTP %ld; check "
		    "issuer",
		    acct->name, url, status);
		r = status >= 500 ? OA2_ERR_PROVIDER : OA2_ERR_CONFIG;
		goto out;
	}
	r = oa2_discovery_parse(
	    oa2_buf_str(&body), body.len, acct->issuer, &ep, err, sizeof(err));
	if (r != 0) {
		say("account %s: discovery at %s: %s", acct->name, url, err);
		r = OA2_ERR_CONFIG;
		goto out;
	}
	fill(acct->token_endpoint, ep.token);
	fill(acct->authorization_endpoint, ep.authorization);
	fill(acct->device_endpoint, ep.device);
	fill(acct->revocation_endpoint, ep.revocation);
	acct->iss_supported = ep.iss_supported;
	if ((r = check_token_endpoint(acct, "discovered token_endpoint")) != 0)
		goto out;
	acct->need_discovery = 0;
out:
	oa2_buf_free(&body);
	return r;
}

void
account_free(struct account *acct)
{
	oa2_buf_free(&acct->client_secret);
	oa2_jwt_free_key(acct->client_key);
	acct->client_key = NULL;
}
