/*
 * msadmin.c: the checks and the text of "sasl-oauth2 setup microsoft".
 *
 * The text is written for a tenant's administrator, who pastes the
 * PowerShell into a session with Exchange administrator rights: nothing a
 * user typed may become a command there.  So every value is checked
 * first (a GUID, a domain name, an address of plain characters), the
 * PowerShell sets each one once, in a single-quoted string with its
 * quotes doubled (ms_ps_quote), and the commands use the variables only.
 * PowerShell does not parse a variable's value again when it expands it
 * inside a double-quoted string, and the address in the Exchange filter
 * has no quote to end its own single-quoted string.
 *
 * TRUST: the command line; checked here before any of it is printed or
 * written.  SECRETS: none (a secret file's path, never its contents).
 */
#include "config.h"

#include <string.h>

#include "err.h"
#include "msadmin.h"

#define MS_NAME_PREFIX "sasl-oauth2 "
/* Exchange caps role assignment names at 64 characters. */
#define MS_NAME_MAX 64

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int
ms_guid_check(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	if (strlen(s) != sizeof(shape) - 1)
		return OA2_ERR_INVAL;
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == '-' ? s[i] != '-' : !is_hex(s[i]))
			return OA2_ERR_INVAL;
	return 0;
}

/* [s, s + n): a domain name of two or more labels, the last alphabetic. */
static int
domain_check(const char *s, size_t n)
{
	size_t i, label = 0, labels = 0, last = 0;

	if (n == 0 || n > 253)
		return OA2_ERR_INVAL;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return OA2_ERR_INVAL;
			labels++;
			last = i - label;
			label = 0;
			continue;
		}
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
			return OA2_ERR_INVAL;
		if (label == 0 && s[i] == '-')
			return OA2_ERR_INVAL;
		label++;
	}
	if (labels < 2)
		return OA2_ERR_INVAL;
	for (i = last; i < n; i++)
		if (!is_alpha(s[i]))
			return OA2_ERR_INVAL;
	return 0;
}

int
ms_tenant_check(const char *s)
{
	if (ms_guid_check(s) == 0)
		return 0;
	return domain_check(s, strlen(s));
}

int
ms_mailbox_check(const char *s)
{
	const char *at = strrchr(s, '@'), *p;

	if (at == NULL || at == s || at - s > 64 || strlen(s) > 254)
		return OA2_ERR_INVAL;
	if (s[0] == '.' || at[-1] == '.')
		return OA2_ERR_INVAL;
	for (p = s; p < at; p++) {
		if (*p == '.' && p[1] == '.')
			return OA2_ERR_INVAL;
		if (!is_alpha(*p) && !is_digit(*p) &&
		    strchr("._%+-!#&*/=?^{|}~", *p) == NULL)
			return OA2_ERR_INVAL;
	}
	return domain_check(at + 1, strlen(at + 1));
}

int
ms_path_check(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || s[0] != '/' || s[n - 1] == ' ')
		return OA2_ERR_INVAL;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return OA2_ERR_INVAL;
	return 0;
}

int
ms_ps_quote(struct oa2_buf *out, const char *s)
{
	int r;

	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return OA2_ERR_INVAL;
	if ((r = oa2_buf_appendc(out, '\'')) != 0)
		return r;
	for (; *s != '\0'; s++) {
		if (*s == '\'' && (r = oa2_buf_appendc(out, '\'')) != 0)
			return r;
		if ((r = oa2_buf_appendc(out, *s)) != 0)
			return r;
	}
	return oa2_buf_appendc(out, '\'');
}

int
ms_sh_quote(struct oa2_buf *out, const char *s)
{
	const char *p;
	int r;

	for (p = s; *p != '\0'; p++)
		if (!is_alpha(*p) && !is_digit(*p) &&
		    strchr("@%+=:,./_-", *p) == NULL)
			break;
	if (*p == '\0' && *s != '\0')
		return oa2_buf_appendz(out, s);
	if ((r = oa2_buf_appendc(out, '\'')) != 0)
		return r;
	for (; *s != '\0'; s++) {
		r = *s == '\'' ? oa2_buf_appendz(out, "'\\''")
			       : oa2_buf_appendc(out, *s);
		if (r != 0)
			return r;
	}
	return oa2_buf_appendc(out, '\'');
}

/* The name of the Exchange objects setup creates for the account. */
static int
exchange_name(const struct ms_setup *s, struct oa2_buf *out)
{
	char name[MS_NAME_MAX + 1];
	size_t n = strlen(s->account);

	if (n > MS_NAME_MAX - (sizeof(MS_NAME_PREFIX) - 1))
		n = MS_NAME_MAX - (sizeof(MS_NAME_PREFIX) - 1);
	memcpy(name, MS_NAME_PREFIX, sizeof(MS_NAME_PREFIX) - 1);
	memcpy(name + sizeof(MS_NAME_PREFIX) - 1, s->account, n);
	name[sizeof(MS_NAME_PREFIX) - 1 + n] = '\0';
	return ms_ps_quote(out, name);
}

/* The command to run next: "sasl-oauth2", with -c FILE when given. */
static int
command(const struct ms_setup *s, struct oa2_buf *out)
{
	int r;

	if ((r = oa2_buf_appendz(out, "sasl-oauth2")) != 0 || s->config == NULL)
		return r;
	if ((r = oa2_buf_appendz(out, " -c ")) != 0)
		return r;
	return ms_sh_quote(out, s->config);
}

/* Append tmpl with each @NAME@ replaced by its value. */
static int
expand(const struct ms_setup *s, const char *tmpl, struct oa2_buf *out)
{
	const char *p = tmpl, *at, *end;
	const char *secret = s->secret_file ? s->secret_file : s->secret_hint;
	size_t n;
	int r = 0;

	while (r == 0 && (at = strchr(p, '@')) != NULL) {
		if ((r = oa2_buf_append(out, p, (size_t)(at - p))) != 0)
			return r;
		if ((end = strchr(at + 1, '@')) == NULL)
			return OA2_ERR_INVAL;
		n = (size_t)(end - at - 1);
#define IS(name) (n == sizeof(name) - 1 && memcmp(at + 1, name, n) == 0)
		if (IS("ACCOUNT"))
			r = oa2_buf_appendz(out, s->account);
		else if (IS("MAILBOX"))
			r = oa2_buf_appendz(out, s->mailbox);
		else if (IS("TENANT"))
			r = oa2_buf_appendz(out, s->tenant);
		else if (IS("CLIENT_ID"))
			r = oa2_buf_appendz(out, s->client_id);
		else if (IS("SECRET_FILE") && secret != NULL)
			r = oa2_buf_appendz(out, secret);
		else if (IS("KEY_FILE") && s->key_file != NULL)
			r = oa2_buf_appendz(out, s->key_file);
		else if (IS("CERT_FILE") && s->cert_file != NULL)
			r = oa2_buf_appendz(out, s->cert_file);
		else if (IS("PS_TENANT"))
			r = ms_ps_quote(out, s->tenant);
		else if (IS("PS_CLIENT_ID"))
			r = ms_ps_quote(out, s->client_id);
		else if (IS("PS_MAILBOX"))
			r = ms_ps_quote(out, s->mailbox);
		else if (IS("PS_NAME"))
			r = exchange_name(s, out);
		else if (IS("CMD"))
			r = command(s, out);
		else
			return OA2_ERR_INVAL; /* a template without its value */
#undef IS
		p = end + 1;
	}
	return r != 0 ? r : oa2_buf_appendz(out, p);
}

/* ---- the account section ---------------------------------------------- */

static const char section_delegated[] =
    "[account @ACCOUNT@]\n"
    "# Microsoft 365, delegated: written by \"sasl-oauth2 setup "
    "microsoft\".\n"
    "# Log in once: @CMD@ login @ACCOUNT@\n"
    "user = @MAILBOX@\n"
    "provider = microsoft\n"
    "tenant = @TENANT@\n"
    "client_id = @CLIENT_ID@\n";

static const char section_app[] =
    "[account @ACCOUNT@]\n"
    "# Microsoft 365, app-only (client credentials): written by\n"
    "# \"sasl-oauth2 setup microsoft\".\n"
    "user = @MAILBOX@\n"
    "provider = microsoft\n"
    "tenant = @TENANT@\n"
    "client_id = @CLIENT_ID@\n"
    "flow = client_credentials\n";

static const char section_app_rbac[] =
    "[account @ACCOUNT@]\n"
    "# Microsoft 365, app-only (client credentials, RBAC for "
    "Applications):\n"
    "# written by \"sasl-oauth2 setup microsoft\".\n"
    "user = @MAILBOX@\n"
    "provider = microsoft\n"
    "tenant = @TENANT@\n"
    "client_id = @CLIENT_ID@\n"
    "flow = client_credentials\n";

static const char section_secret[] = "client_secret_file = @SECRET_FILE@\n";

static const char section_secret_hint[] =
    "# The client secret's Value goes in this file, alone, mode 0600;\n"
    "# then delete the \"# \" before client_secret_file:\n"
    "# client_secret_file = @SECRET_FILE@\n";

static const char section_cert[] = "client_auth = private_key_jwt\n"
				   "client_key_file = @KEY_FILE@\n"
				   "client_certificate_file = @CERT_FILE@\n";

int
ms_setup_section(const struct ms_setup *s, struct oa2_buf *out)
{
	int r;

	if (s->mode == MS_DELEGATED)
		return expand(s, section_delegated, out);
	r = expand(
	    s, s->mode == MS_APP_RBAC ? section_app_rbac : section_app, out);
	if (r != 0)
		return r;
	if (s->key_file != NULL)
		return expand(s, section_cert, out);
	if (s->secret_file != NULL)
		return expand(s, section_secret, out);
	return expand(s, section_secret_hint, out);
}

/* ---- what the administrator does ---------------------------------------- */

static const char text_head_app[] =
    "Microsoft 365 app-only access (client credentials) for account "
    "@ACCOUNT@\n";

static const char text_head_rbac[] =
    "Microsoft 365 app-only access (client credentials, RBAC for "
    "Applications)\nfor account @ACCOUNT@\n";

static const char text_head_delegated[] =
    "Microsoft 365 delegated access (a user signs in) for account "
    "@ACCOUNT@\n";

static const char text_values[] =
    "  mailbox    @MAILBOX@\n"
    "  tenant     @TENANT@\n"
    "  client ID  @CLIENT_ID@\n"
    "\n"
    "1. In the Microsoft Entra admin center (https://entra.microsoft.com), "
    "App\n"
    "   registrations, the app with this client ID:\n";

static const char text_app_permission[] =
    "   - API permissions > Add a permission > APIs my organization uses >\n"
    "     Office 365 Exchange Online > Application permissions: "
    "SMTP.SendAsApp\n"
    "     (and IMAP.AccessAsApp to read mail over IMAP).\n";

static const char text_rbac_permission[] =
    "   - API permissions: none for Exchange. With RBAC for Applications "
    "the\n"
    "     role assignment below is the grant, limited to this mailbox by a\n"
    "     management scope, and the token carries no SMTP.SendAsApp role. "
    "No\n"
    "     admin consent is needed.\n";

static const char text_secret[] =
    "   - Certificates & secrets > Client secrets > New client secret. Copy "
    "its\n"
    "     Value (it is shown once only) into this file, alone on its "
    "line,\n"
    "     mode 0600, owned by the user that runs sasl-oauth2 (postfix for "
    "a\n"
    "     Postfix relay):\n"
    "     @SECRET_FILE@\n";

static const char text_secret_hint[] =
    "     Then delete the \"# \" before client_secret_file in the "
    "account.\n";

static const char text_cert[] =
    "   - Certificates & secrets > Certificates > Upload certificate:\n"
    "     @CERT_FILE@\n"
    "     Its private key stays here, mode 0600:\n"
    "     @KEY_FILE@\n";

static const char text_consent[] =
    "   Then a tenant administrator consents, with \"Grant admin consent\" "
    "on\n"
    "   the API permissions page, or by opening this URL (the browser may "
    "end\n"
    "   on an error page after the consent; that is fine):\n"
    "\n"
    "   https://login.microsoftonline.com/@TENANT@/adminconsent?"
    "client_id=@CLIENT_ID@\n";

static const char text_ps_app[] =
    "\n"
    "2. In PowerShell (pwsh on Linux, or Azure Cloud Shell), as an "
    "Exchange\n"
    "   administrator, with the modules ExchangeOnlineManagement and\n"
    "   Microsoft.Graph.Applications (Install-Module NAME).\n"
    "\n"
    "   The service principal is the app's Enterprise Application. Use "
    "its\n"
    "   Object ID, NOT the Object ID on the App registration's page: that "
    "one\n"
    "   is the most common cause of \"535 5.7.3 Authentication "
    "unsuccessful\".\n"
    "   The lines below look it up (Get-MgServicePrincipal); in the portal "
    "it\n"
    "   is Entra > Enterprise applications > (the app) > Object ID.\n"
    "\n"
    "$TenantId = @PS_TENANT@\n"
    "$AppId = @PS_CLIENT_ID@\n"
    "$Mailbox = @PS_MAILBOX@\n"
    "Connect-MgGraph -TenantId $TenantId -Scopes 'Application.Read.All'\n"
    "$ObjectId = (Get-MgServicePrincipal -Filter \"appId eq "
    "'$AppId'\").Id\n"
    "Connect-ExchangeOnline\n"
    "New-ServicePrincipal -AppId $AppId -ObjectId $ObjectId -DisplayName "
    "@PS_NAME@\n";

static const char text_ps_sp[] =
    "Add-MailboxPermission -Identity $Mailbox -User $ObjectId -AccessRights "
    "FullAccess\n"
    "Add-RecipientPermission -Identity $Mailbox -Trustee $ObjectId "
    "-AccessRights SendAs -Confirm:$false\n"
    "Set-CASMailbox -Identity $Mailbox -SmtpClientAuthenticationDisabled "
    "$false\n";

static const char text_ps_rbac[] =
    "New-ManagementScope -Name @PS_NAME@ -RecipientRestrictionFilter "
    "\"PrimarySmtpAddress -eq '$Mailbox'\"\n"
    "New-ManagementRoleAssignment -Name @PS_NAME@ -App $ObjectId -Role "
    "'Application SMTP.SendAsApp' -CustomResourceScope @PS_NAME@\n"
    "Test-ServicePrincipalAuthorization -Identity $ObjectId -Resource "
    "$Mailbox\n"
    "Set-CASMailbox -Identity $Mailbox -SmtpClientAuthenticationDisabled "
    "$false\n";

static const char text_ps_delegated[] =
    "\n"
    "2. SMTP AUTH must be on for the mailbox. A tenant administrator runs, "
    "in\n"
    "   PowerShell with the module ExchangeOnlineManagement:\n"
    "\n"
    "$Mailbox = @PS_MAILBOX@\n"
    "Connect-ExchangeOnline\n"
    "Set-CASMailbox -Identity $Mailbox -SmtpClientAuthenticationDisabled "
    "$false\n";

static const char text_smtp_auth[] =
    "\n"
    "   Set-CASMailbox turns SMTP AUTH on for this mailbox whatever the "
    "tenant's\n"
    "   default (Get-TransportConfig | Format-List "
    "SmtpClientAuthenticationDisabled;\n"
    "   Set-TransportConfig -SmtpClientAuthenticationDisabled $false turns "
    "it on\n"
    "   for every mailbox). \"535 5.7.139 Authentication unsuccessful\" "
    "means\n"
    "   that SMTP AUTH is still off for the mailbox or the tenant, or that\n"
    "   security defaults or a Conditional Access policy block it.\n";

static const char text_next_app[] =
    "\n"
    "3. Check that Entra issues the app a token:\n"
    "\n"
    "   @CMD@ login @ACCOUNT@\n"
    "\n"
    "   Exchange may take a while to apply the permissions above; until "
    "then\n"
    "   SMTP answers \"535 5.7.3 Authentication unsuccessful\".\n";

static const char text_rbac_check[] =
    "\n"
    "   Test-ServicePrincipalAuthorization should show the role "
    "Application\n"
    "   SMTP.SendAsApp with InScope True for the mailbox.\n";

static const char text_delegated_app[] =
    "   - Authentication > Add a platform > Mobile and desktop "
    "applications:\n"
    "     the redirect URI http://localhost, exactly (sasl-oauth2 sends\n"
    "     http://localhost:PORT; Entra ignores the port of http://localhost).\n"
    "   - Authentication > Advanced settings > Allow public client flows: "
    "Yes.\n"
    "     The app is then a public client: it needs no secret, and the "
    "device\n"
    "     code flow (login --device) works. Without it the login fails "
    "with\n"
    "     AADSTS7000218.\n"
    "   - API permissions > Add a permission > Microsoft Graph > Delegated\n"
    "     permissions: IMAP.AccessAsUser.All, SMTP.Send and offline_access\n"
    "     (POP.AccessAsUser.All for POP). sasl-oauth2 asks for the scopes\n"
    "     https://outlook.office.com/IMAP.AccessAsUser.All\n"
    "     https://outlook.office.com/SMTP.Send offline_access\n"
    "   Where users may not consent to apps themselves, a tenant "
    "administrator\n"
    "   consents for everyone, with \"Grant admin consent\" on the API\n"
    "   permissions page, or by opening this URL (the browser ends on an "
    "error\n"
    "   page for http://localhost; that is fine):\n"
    "\n"
    "   https://login.microsoftonline.com/@TENANT@/v2.0/adminconsent?"
    "client_id=@CLIENT_ID@&scope=https://outlook.office.com/"
    "IMAP.AccessAsUser.All%20https://outlook.office.com/SMTP.Send&"
    "redirect_uri=http://localhost\n";

static const char text_next_delegated[] =
    "\n"
    "3. Log in once, as @MAILBOX@:\n"
    "\n"
    "   @CMD@ login @ACCOUNT@\n"
    "\n"
    "   or, on a machine without a browser (a code to enter on another "
    "device):\n"
    "\n"
    "   @CMD@ login --device @ACCOUNT@\n";

int
ms_setup_text(const struct ms_setup *s, struct oa2_buf *out)
{
	const char *parts[16];
	size_t n = 0, i;
	int rbac = s->mode == MS_APP_RBAC, r = 0;

	if (s->mode == MS_DELEGATED) {
		parts[n++] = text_head_delegated;
		parts[n++] = text_values;
		parts[n++] = text_delegated_app;
		parts[n++] = text_ps_delegated;
		parts[n++] = text_smtp_auth;
		parts[n++] = text_next_delegated;
	} else {
		parts[n++] = rbac ? text_head_rbac : text_head_app;
		parts[n++] = text_values;
		parts[n++] = rbac ? text_rbac_permission : text_app_permission;
		parts[n++] = s->key_file != NULL ? text_cert : text_secret;
		if (s->key_file == NULL && s->secret_file == NULL)
			parts[n++] = text_secret_hint;
		if (!rbac)
			parts[n++] = text_consent;
		parts[n++] = text_ps_app;
		parts[n++] = rbac ? text_ps_rbac : text_ps_sp;
		if (rbac)
			parts[n++] = text_rbac_check;
		parts[n++] = text_smtp_auth;
		parts[n++] = text_next_app;
	}
	for (i = 0; r == 0 && i < n; i++)
		r = expand(s, parts[i], out);
	return r;
}
