/*
 * errmap.c: provider errors to sentences.
 *
 * Sources: RFC 6749 5.2, RFC 8628 3.5, Microsoft's AADSTS list and
 * Google's documented invalid_grant causes (see REFERENCES.md).  A code not
 * in a table still yields a sentence that quotes the provider's own error.
 * App-only accounts (client credentials) get sentences about the app's
 * registration and credentials, never "log in again".
 *
 * TRUST: the inputs are already printable and truncated (tokenresp.c);
 * retry_after is a number or an HTTP-date (http.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "errmap.h"

struct aad_hint {
	long code;
	int class;
	const char *text;
};

static const struct aad_hint aad_hints[] = {
    {7000218, OA2_ERR_CLIENT,
	"the app registration is a confidential client but no secret was "
	"sent; set client_secret_file or client_secret_command, or enable "
	"\"Allow public client flows\" in Entra (Authentication blade)"},
    {700025, OA2_ERR_CLIENT,
	"the app is a public client but a secret was sent; remove "
	"client_secret_file or client_secret_command from the account"},
    {90023, OA2_ERR_CLIENT,
	"the app is a public client but a secret was sent; remove "
	"client_secret_file or client_secret_command from the account"},
    {65001, OA2_ERR_CLIENT,
	"consent for the mail permissions is missing; a user or an admin "
	"must grant consent (use the admin-consent URL in "
	"docs/microsoft365.md)"},
    {90094, OA2_ERR_CLIENT,
	"admin consent is required for these permissions; ask a tenant "
	"admin to grant consent"},
    {700016, OA2_ERR_CLIENT,
	"the application was not found in this tenant; check client_id "
	"and tenant"},
    {50011, OA2_ERR_CLIENT,
	"the redirect URI is not registered; add exactly http://localhost "
	"(no port, no path: Entra ignores only the port) as a \"Mobile and "
	"desktop\" redirect URI in Entra"},
    {500113, OA2_ERR_CLIENT,
	"the app has no redirect URI; add exactly http://localhost (no "
	"port, no path) as a \"Mobile and desktop\" redirect URI in Entra"},
    {50076, OA2_ERR_AUTH,
	"multi-factor authentication is required; use an interactive "
	"login (flow = authorization_code or device_code)"},
    {50079, OA2_ERR_AUTH,
	"multi-factor authentication enrolment is required; use an "
	"interactive login (flow = authorization_code or device_code)"},
    {50126, OA2_ERR_AUTH, "wrong user name or password"},
    {70008, OA2_ERR_AUTH,
	"the refresh token has expired or was unused for too long (90 "
	"days); log in again, and run 'sasl-oauth2 refresh --all' "
	"regularly so it stays alive"},
    {700082, OA2_ERR_AUTH,
	"the refresh token expired after 90 days without use; log in "
	"again, and run 'sasl-oauth2 refresh --all' regularly so it stays "
	"alive"},
    {70043, OA2_ERR_AUTH,
	"a Conditional Access sign-in frequency policy ended the session; "
	"log in again"},
    {53003, OA2_ERR_AUTH,
	"Conditional Access blocked the sign-in; ask the tenant admin "
	"which policy applies"},
    {54005, OA2_ERR_AUTH,
	"the authorization code was already redeemed; log in again"},
    {50194, OA2_ERR_CLIENT,
	"the app is single-tenant; set tenant = your tenant ID or domain "
	"instead of common"},
    {9001023, OA2_ERR_CLIENT,
	"client credentials need a tenant-specific endpoint; set tenant = "
	"your tenant ID or domain"},
    {7000215, OA2_ERR_CLIENT,
	"the client secret is wrong; put the secret's Value (not its ID) "
	"into client_secret_file (or where client_secret_command gets it)"},
    {7000222, OA2_ERR_CLIENT,
	"the client secret has expired; create a new one in Entra "
	"(Certificates & secrets) and update client_secret_file (or where "
	"client_secret_command gets it)"},
    {7000112, OA2_ERR_CLIENT, "the application is disabled in Entra"},
};

struct oauth_hint {
	const char *error;
	int class;
	const char *text;
};

static const struct oauth_hint oauth_hints[] = {
    {"invalid_grant", OA2_ERR_AUTH,
	"the authorization was refused (expired or revoked refresh "
	"token, or a password change); log in again"},
    {"invalid_client", OA2_ERR_CLIENT,
	"the identity provider did not accept the client; check "
	"client_id, client_secret_file (or client_secret_command) and "
	"client_auth"},
    {"unauthorized_client", OA2_ERR_CLIENT,
	"the client may not use this grant type; check flow and the app "
	"registration"},
    {"invalid_scope", OA2_ERR_CLIENT,
	"the scope was refused; check scope (app-only Microsoft 365 needs "
	"https://outlook.office365.com/.default)"},
    {"unsupported_grant_type", OA2_ERR_CLIENT,
	"the identity provider does not support this flow; choose another "
	"flow"},
    {"invalid_request", OA2_ERR_CLIENT,
	"the identity provider rejected the request; check the account's "
	"endpoints and client_id"},
    {"access_denied", OA2_ERR_AUTH,
	"the sign-in was denied; log in again and approve the request"},
    {"expired_token", OA2_ERR_AUTH,
	"the device code expired before it was approved; log in again"},
    {"temporarily_unavailable", OA2_ERR_PROVIDER,
	"the identity provider is temporarily unavailable; try again "
	"later"},
    {"server_error", OA2_ERR_PROVIDER,
	"the identity provider had an internal error; try again later"},
};

/*
 * App-only accounts (client credentials): the grant is the app's own
 * credentials, so invalid_grant and invalid_client mean a wrong, expired or
 * unregistered secret or certificate, or the wrong tenant, never a login
 * to renew.  Looked up before the tables above.
 */
static const struct aad_hint app_aad_hints[] = {
    {53003, OA2_ERR_CLIENT,
	"Conditional Access blocked the app's sign-in; ask the tenant admin "
	"which policy applies to the app"},
};

static const struct oauth_hint app_oauth_hints[] = {
    {"invalid_grant", OA2_ERR_CLIENT,
	"the identity provider refused the app's credentials; check the app "
	"registration, its client secret (client_secret_file or "
	"client_secret_command) or certificate "
	"(client_key_file, client_certificate_file), and tenant"},
    {"invalid_client", OA2_ERR_CLIENT,
	"the identity provider did not accept the app; check client_id and "
	"tenant, the client secret (client_secret_file or "
	"client_secret_command: the secret's Value, not expired) or the "
	"certificate registered with the app "
	"(client_key_file, client_certificate_file), and client_auth"},
    {"access_denied", OA2_ERR_CLIENT,
	"the identity provider denied the app a token; check the app's API "
	"permissions and that an admin granted consent"},
};

/*
 * Google service accounts (the JWT bearer grant of domain-wide
 * delegation), by error and a part of Google's error_description
 * (developers.google.com/identity/protocols/oauth2/service-account,
 * "Error codes"); "" matches any description.  Looked up first.
 */
struct sa_hint {
	const char *error;
	const char *desc;
	const char *text;
};

static const struct sa_hint sa_hints[] = {
    {"unauthorized_client", "",
	"Google refused domain-wide delegation: it is missing for this "
	"service account, or lacks the scope; in the Admin console "
	"(Security > Access and data control > API controls > Domain-wide "
	"delegation) add the service account's client ID (client_id in the "
	"JSON key file) with scope https://mail.google.com/, and keep user "
	"the Workspace mailbox, not the service account"},
    {"invalid_grant", "Invalid JWT Signature",
	"Google does not know the key that signed the assertion: the key was "
	"deleted or disabled, or the file is another service account's; "
	"create a new JSON key (IAM & Admin > Service accounts > Keys) and "
	"put it into service_account_file"},
    {"invalid_grant", "Invalid email or User ID",
	"this mailbox is not a user of the Workspace domain whose admin "
	"granted the delegation (or it is suspended); check user"},
    {"invalid_grant", "short-lived token",
	"Google found the assertion's times wrong; check that this host's "
	"clock is right (NTP)"},
    {"invalid_grant", "",
	"Google refused the service account's assertion; check "
	"service_account_file (a current key of the service account) and "
	"user (a mailbox of the delegating domain)"},
    {"invalid_scope", "",
	"Google refused the scope; a Gmail relay needs scope "
	"https://mail.google.com/ (provider = google sets it)"},
    {"invalid_client", "",
	"Google did not accept the service account; check that the service "
	"account and its key still exist (IAM & Admin > Service accounts)"},
};

static const char *
find_sa(const char *error, const char *desc, int *class)
{
	size_t i;

	for (i = 0; i < sizeof(sa_hints) / sizeof(sa_hints[0]); i++)
		if (strcmp(sa_hints[i].error, error) == 0 &&
		    strstr(desc, sa_hints[i].desc) != NULL) {
			*class = OA2_ERR_CLIENT;
			return sa_hints[i].text;
		}
	return NULL;
}

/* What any other refusal that would mean "log in again" means for an
 * app-only account. */
static const char app_refused[] =
    "the identity provider refused the app's sign-in; check the app "
    "registration, its client secret or certificate, and tenant";

static const char *
find_aad(const struct aad_hint *t, size_t n, long code, int *class)
{
	size_t i;

	for (i = 0; code != 0 && i < n; i++) {
		if (t[i].code == code) {
			*class = t[i].class;
			return t[i].text;
		}
	}
	return NULL;
}

static const char *
find_oauth(const struct oauth_hint *t, size_t n, const char *error, int *class)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(t[i].error, error) == 0) {
			*class = t[i].class;
			return t[i].text;
		}
	}
	return NULL;
}

#define NHINTS(t) (sizeof(t) / sizeof((t)[0]))

/* Google explains invalid_grant only in error_description. */
static const char *
google_hint(const char *desc)
{
	if (strstr(desc, "expired or revoked") != NULL)
		return "the refresh token expired or was revoked (apps in "
		       "Google's \"Testing\" publishing status lose refresh "
		       "tokens after 7 days); log in again";
	return NULL;
}

static void
short_desc(char *dst, size_t dstsz, const char *desc)
{
	const char *end = strstr(desc, "\\r\\n");
	size_t n;

	/* Microsoft appends "Trace ID: ... Correlation ID: ..." after a
	 * newline, which tokenresp.c made '?'; keep the first sentence. */
	if (end == NULL)
		end = strstr(desc, "??");
	n = end != NULL ? (size_t)(end - desc) : strlen(desc);
	if (n > 200)
		n = 200;
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, desc, n);
	dst[n] = '\0';
}

/* Retry-After is delay-seconds or an HTTP-date (http.c cleaned it). */
static void
wait_clause(char *dst, size_t dstsz, const char *retry_after)
{
	if (strspn(retry_after, "0123456789") == strlen(retry_after))
		snprintf(dst, dstsz, "; the provider asks to wait %s s",
		    retry_after);
	else
		snprintf(dst, dstsz, "; the provider asks to wait until %s",
		    retry_after);
}

int
oa2_explain(const struct oa2_token_response *tr, const char *account, int grant,
    char *msg, size_t msgsz)
{
	const int app_only =
	    grant == OA2_GRANT_APP || grant == OA2_GRANT_SERVICE_ACCOUNT;
	const char *text = NULL;
	char desc[256], said[400], wait[sizeof(tr->retry_after) + 40];
	int class = OA2_ERR_CLIENT;
	long status = 0;

	short_desc(desc, sizeof(desc), tr->error_description);
	if (desc[0] != '\0')
		snprintf(said, sizeof(said), "%s: %s", tr->error, desc);
	else
		snprintf(said, sizeof(said), "%s", tr->error);

	if (grant == OA2_GRANT_SERVICE_ACCOUNT)
		text = find_sa(tr->error, tr->error_description, &class);
	if (text == NULL && app_only)
		text = find_aad(
		    app_aad_hints, NHINTS(app_aad_hints), tr->aadsts, &class);
	if (text == NULL)
		text =
		    find_aad(aad_hints, NHINTS(aad_hints), tr->aadsts, &class);
	if (text == NULL && !app_only &&
	    strcmp(tr->error, "invalid_grant") == 0 &&
	    (text = google_hint(tr->error_description)) != NULL)
		class = OA2_ERR_AUTH;
	if (text == NULL && grant == OA2_GRANT_PASSWORD &&
	    strcmp(tr->error, "invalid_grant") == 0) {
		text = "the user name or password was refused, or the account "
		       "needs MFA or Conditional Access, which the password "
		       "flow cannot satisfy; check them, or use flow = "
		       "device_code";
		class = OA2_ERR_AUTH;
	}
	if (text == NULL && app_only)
		text = find_oauth(app_oauth_hints, NHINTS(app_oauth_hints),
		    tr->error, &class);
	if (text == NULL)
		text = find_oauth(
		    oauth_hints, NHINTS(oauth_hints), tr->error, &class);
	/* No OAuth error we know: the HTTP status decides.  A 429 or 5xx
	 * with an error code of the provider's own (Microsoft's throttling,
	 * a gateway's "service_unavailable") is still "try later". */
	if (text == NULL && strncmp(tr->error, "http_", 5) == 0)
		status = strtol(tr->error + 5, NULL, 10);
	else if (text == NULL &&
	    (tr->http_status == 429 || tr->http_status >= 500))
		status = tr->http_status;
	if (text == NULL && status > 0) {
		if (status == 429 || status >= 500) {
			text =
			    "the identity provider is overloaded or failing; "
			    "try again later";
			class = OA2_ERR_PROVIDER;
		} else {
			text = "the token endpoint answered with an HTTP error "
			       "and no OAuth error; check token_endpoint";
			class = OA2_ERR_CLIENT;
		}
	}
	if (text == NULL)
		text = "the identity provider refused the request";
	if (app_only && class == OA2_ERR_AUTH) {
		text = app_refused;
		class = OA2_ERR_CLIENT;
	}
	/* A throttled or failing provider may say when to come back (429,
	 * 503): tell the user, who would otherwise retry at once. */
	wait[0] = '\0';
	if (class == OA2_ERR_PROVIDER && tr->retry_after[0] != '\0')
		wait_clause(wait, sizeof(wait), tr->retry_after);
	if (class == OA2_ERR_AUTH)
		snprintf(msg, msgsz,
		    "account %s: %s: sasl-oauth2 login %s (provider said: %s)",
		    account, text, account, said);
	else
		snprintf(msg, msgsz, "account %s: %s%s (provider said: %s)",
		    account, text, wait, said);
	return class;
}
