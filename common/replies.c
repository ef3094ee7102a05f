/*
 * replies.c: the table of server answers to an OAuth login (replies.h).
 * The texts are Exchange Online's as Microsoft documents them and the
 * setup guides (../shared/seeds) quote them; the causes are those guides'.
 *
 * TRUST: the reply is the server's, already capped and made printable by
 * the caller; it is only searched, never copied.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "replies.h"

struct rule {
	const char *needle; /* in the reply (SMTP: at its start) */
	struct oa2_diagnosis d;
};

static const struct rule smtp_rules[] = {
    {"535 5.7.139",
	{78,
	    "SMTP AUTH is disabled for this mailbox or the whole tenant "
	    "(security defaults disable it too): a tenant admin runs "
	    "Set-CASMailbox -Identity MAILBOX "
	    "-SmtpClientAuthenticationDisabled "
	    "$false (or Set-TransportConfig -SmtpClientAuthenticationDisabled "
	    "$false for the tenant)"}},
    {"535 5.7.3",
	{78,
	    "Exchange took the token but refused the login: app-only, the "
	    "Exchange service principal is missing or was made with the App "
	    "Registration's Object ID instead of the Enterprise "
	    "Application's (New-ServicePrincipal -AppId CLIENT_ID -ObjectId "
	    "ENTERPRISE_APP_OBJECT_ID), or the mailbox does not let it in "
	    "(Add-MailboxPermission, or RBAC for Applications); delegated, "
	    "the user may not use this mailbox; see 'sasl-oauth2 setup "
	    "microsoft'"}},
    {"550 5.7.30",
	{78,
	    "Exchange refuses basic authentication for client submission: "
	    "the login was not taken for OAuth, or SMTP AUTH is off for the "
	    "tenant; make sure the mechanism is XOAUTH2 and SMTP AUTH is "
	    "enabled (Set-TransportConfig -SmtpClientAuthenticationDisabled "
	    "$false)"}},
    {"501 5.5.127",
	{75,
	    "the token is about to expire (High Volume Email refuses tokens "
	    "with under 10 minutes left): run sasl-oauth2 refresh, or let "
	    "the refresh timer keep tokens fresh, and try again"}},
    {"535 5.7.8",
	{77,
	    "the server refused the token (revoked, expired, or for "
	    "another user or service): log in again (sasl-oauth2 login) or "
	    "check the account's user and scope"}},
    {"535",
	{77,
	    "the server refused the token (revoked, expired, or for "
	    "another user or service): log in again (sasl-oauth2 login) or "
	    "check the account's user and scope"}},
    {"504",
	{78,
	    "the server does not offer this mechanism: check that it "
	    "supports XOAUTH2 or OAUTHBEARER (EHLO) and that the plugin is "
	    "installed where libsasl2 looks (SASL_PATH)"}},
    {"4", {75, "the server failed for now: try again later"}},
};

static const struct oa2_diagnosis imap_scope = {78,
    "the token lacks the permission the server wants (insufficient_scope): "
    "add the scope the challenge names to the account's scope, then "
    "sasl-oauth2 login again"};
static const struct oa2_diagnosis imap_token = {77,
    "the server refused the token (revoked, expired, or not for this "
    "mailbox): log in again (sasl-oauth2 login ACCOUNT), or check that the "
    "account's user is the mailbox the token is for"};
static const struct oa2_diagnosis imap_exchange = {78,
    "Exchange refused the login (AUTHENTICATE failed): app-only, the "
    "Exchange service principal is missing or was made with the wrong "
    "Object ID, or Add-MailboxPermission is missing; delegated, IMAP may "
    "be disabled for the mailbox (Set-CASMailbox -ImapEnabled $true) or "
    "the token lacks IMAP.AccessAsUser.All"};
static const struct oa2_diagnosis unknown = {
    77, "the server refused the login; its reply above says why"};

const struct oa2_diagnosis *
oa2_reply_diagnose(int imap, const char *reply, const struct oa2_challenge *ch)
{
	size_t i;

	if (imap) {
		if (ch != NULL &&
		    (strcasecmp(ch->status, "insufficient_scope") == 0 ||
			strcmp(ch->status, "403") == 0))
			return &imap_scope;
		if (ch != NULL && ch->status[0] != '\0')
			return &imap_token;
		if (strstr(reply, "AUTHENTICATE failed") != NULL)
			return &imap_exchange;
		return &unknown;
	}
	for (i = 0; i < sizeof(smtp_rules) / sizeof(smtp_rules[0]); i++) {
		size_t n = strlen(smtp_rules[i].needle);
		/* "535 5.7.3" is not "535 5.7.39": the code ends there */
		if (strncmp(reply, smtp_rules[i].needle, n) == 0 &&
		    (n < 4 || reply[n] < '0' || reply[n] > '9'))
			return &smtp_rules[i].d;
	}
	return &unknown;
}
