#!/bin/bash
# t-setup-idp.sh: the accounts "sasl-oauth2 setup microsoft" writes work
# with the machinery that follows, against the real identity provider.
# The setup commands are the ones docs/microsoft365.md shows
# (doc_snippet), run with the test's values; the only lines the test adds
# to what setup wrote are the endpoints, which send the microsoft preset
# to the local IdP instead of login.microsoftonline.com:
#   - app-only, service principal way and RBAC way: "token" gets a client
#     credentials token for the GUID-named client (one request each);
#   - delegated: "login" against the IdP's Microsoft-like client under a
#     GUID (idp/server.mjs, PROVIDER MODELS) asks for the delegated scopes,
#     and "token" then refreshes with them;
#   - each written account passes "sasl-oauth2 doctor" (issue 13);
#   - docs/microsoft365.md: every code block marked, every snippet used.
. "$(dirname "$0")/lib.sh"

it_require node curl keyctl
it_setup
idp_start
it_install_products
# The guide calls "sasl-oauth2" by name.
export PATH="$IT_DIR/bin:$PATH"
export XDG_STATE_HOME=$IT_DIR/state
unset SASL_OAUTH2_CONFIG
mkdir -p "$IT_DIR/etc"
chmod 0755 "$IT_DIR/etc"

# guide_setup SNIPPET NAME [FROM TO]...: run the guide's setup command
# with the replacements; its stdout to $IT_DIR/NAME.out.
guide_setup()
{
	local snippet=$1 name=$2 cmd
	shift 2
	cmd=$(doc_snippet microsoft365.md "$snippet" "$@")
	bash -euc "$cmd" >"$IT_DIR/$name.out" 2>"$IT_DIR/log/$name.err" ||
	    it_fail "$snippet: $(cat "$IT_DIR/log/$name.err")"
	grep -q "^sasl-oauth2: account [a-z-]*: added to " "$IT_DIR/log/$name.err" ||
	    it_fail "$snippet: no 'added to' line: $(cat "$IT_DIR/log/$name.err")"
}

# doctor_ok NAME ARGS...: "sasl-oauth2 ARGS" (a doctor run) exits 0 with
# no FAIL line.
doctor_ok()
{
	local name=$1 rc=0
	shift
	sasl-oauth2 "$@" >"$IT_DIR/$name.doctor" 2>&1 || rc=$?
	{ [ $rc = 0 ] && ! grep -q '^FAIL' "$IT_DIR/$name.doctor"; } ||
	    it_fail "$name: doctor exited $rc: $(cat "$IT_DIR/$name.doctor")"
}

secret=$IT_DIR/etc/relay.secret
(umask 077 && printf '%s\n' "$IDP_MS_APP_SECRET" >"$secret")

# --- app-only, service principal way --------------------------------------
conf=$IT_DIR/etc/sp.conf
mb=$IDP_RELAY_MAILBOX
guide_setup ms-setup-app-only sp \
    /etc/sasl-oauth2/sasl-oauth2.conf "$conf" \
    11111111-2222-3333-4444-555555555555 "$IDP_MS_APP_ID" \
    relay@contoso.com "$mb" \
    /etc/sasl-oauth2/relay.secret "$secret"
grep -q "^Add-MailboxPermission -Identity \$Mailbox -User \$ObjectId" "$IT_DIR/sp.out" ||
    it_fail "service principal way: no Add-MailboxPermission"
grep -qx "client_secret_file = $secret" "$conf" || it_fail "sp: no client_secret_file line"
echo "token_endpoint = $IDP_TOKEN_URL" >>"$conf"
oa2_key_clear root "$mb"
n0=$(idp_stats client_credentials)
tok=$(sasl-oauth2 -c "$conf" token relay 2>"$IT_DIR/log/sp-token.err") ||
    it_fail "service principal way: token failed: $(cat "$IT_DIR/log/sp-token.err")"
[ $(($(idp_stats client_credentials) - n0)) = 1 ] ||
    it_fail "service principal way: not one client credentials request"
intro=$(idp_introspect "$tok")
case $intro in
*'"active":true'*) ;;
*) it_fail "service principal way: the IdP does not know the token" ;;
esac
[ "$(idp_json_field "$intro" client_id)" = "$IDP_MS_APP_ID" ] ||
    it_fail "service principal way: token of client '$(idp_json_field "$intro" client_id)'"
[ "$(idp_json_field "$intro" email)" = "$mb" ] ||
    it_fail "service principal way: token for '$(idp_json_field "$intro" email)', want $mb"
doctor_ok sp -c "$conf" doctor relay
oa2_key_clear root "$mb"
it_log "app-only (service principal way): the written account gets a token and passes doctor"

# --- app-only, RBAC for Applications -------------------------------------
conf=$IT_DIR/etc/rbac.conf
rbac_mb="rbac.$$@example.test"
guide_setup ms-setup-rbac rbac \
    /etc/sasl-oauth2/sasl-oauth2.conf "$conf" \
    11111111-2222-3333-4444-555555555555 "$IDP_MS_APP_ID" \
    relay@contoso.com "$rbac_mb" \
    /etc/sasl-oauth2/relay.secret "$secret"
grep -q "^New-ManagementRoleAssignment .*-Role 'Application SMTP.SendAsApp'" "$IT_DIR/rbac.out" ||
    it_fail "RBAC way: no role assignment printed"
grep -q "Add-MailboxPermission" "$IT_DIR/rbac.out" &&
    it_fail "RBAC way: mailbox permissions printed too"
echo "token_endpoint = $IDP_TOKEN_URL" >>"$conf"
oa2_key_clear root "$rbac_mb"
n0=$(idp_stats client_credentials)
sasl-oauth2 -c "$conf" token relay >/dev/null 2>"$IT_DIR/log/rbac-token.err" ||
    it_fail "RBAC way: token failed: $(cat "$IT_DIR/log/rbac-token.err")"
[ $(($(idp_stats client_credentials) - n0)) = 1 ] ||
    it_fail "RBAC way: not one client credentials request"
oa2_key_present root "$rbac_mb" || it_fail "RBAC way: the token is not cached for $rbac_mb"
doctor_ok rbac -c "$conf" doctor relay
oa2_key_clear root "$rbac_mb"
it_log "app-only (RBAC for Applications): the written account gets a token and passes doctor"

# --- delegated -------------------------------------------------------------
export SASL_OAUTH2_CONFIG=$IT_DIR/etc/deleg.conf
alice="alice.$$@example.test"
guide_setup ms-setup-delegated deleg \
    66666666-7777-8888-9999-000000000000 "$IDP_MS_PUBLIC_ID" \
    alice@contoso.com "$alice"
grep -q "^   sasl-oauth2 login work$" "$IT_DIR/deleg.out" ||
    it_fail "delegated: the next command is not 'sasl-oauth2 login work'"
{
	echo "authorization_endpoint = $IDP_AUTH_URL"
	echo "token_endpoint = $IDP_TOKEN_URL"
} >>"$SASL_OAUTH2_CONFIG"
sasl-oauth2 login --no-browser --timeout 60 work 2>"$IT_DIR/log/login.err" &
lpid=$!
url=$(idp_auth_url "$IT_DIR/log/login.err")
case $url in
*"client_id=$IDP_MS_PUBLIC_ID"*scope=https%3A%2F%2Foutlook.office.com%2FIMAP.AccessAsUser.All*SMTP.Send*offline_access*) ;;
*) it_fail "delegated: the login URL lacks the client or the delegated scopes: $url" ;;
esac
idp_browser "$url" "$alice" >"$IT_DIR/log/browser.log" 2>&1 || it_fail "delegated: browser failed"
wait $lpid || it_fail "delegated: login failed: $(cat "$IT_DIR/log/login.err")"
oa2_key_clear root "$alice"
r0=$(idp_stats refresh_token)
sasl-oauth2 token --min-ttl 86400 work >/dev/null 2>"$IT_DIR/log/deleg-token.err" ||
    it_fail "delegated: refresh failed: $(cat "$IT_DIR/log/deleg-token.err")"
[ $(($(idp_stats refresh_token) - r0)) = 1 ] || it_fail "delegated: not one refresh"
doctor_ok deleg doctor work
grep -q '^ok   refresh token: stored' "$IT_DIR/deleg.doctor" ||
    it_fail "delegated: doctor found no refresh token: $(cat "$IT_DIR/deleg.doctor")"
oa2_key_clear root "$alice"
it_log "delegated: the written account logs in, refreshes and passes doctor (Microsoft model)"

doc_check_markers microsoft365.md
it_pass
