#!/bin/bash
# t-doctor.sh: "sasl-oauth2 doctor" against the real identity provider:
# a checklist of ok lines for a working app-only account (token obtained,
# then cached), the client certificate's expiry date for private_key_jwt,
# discovery named, and each failure we can cause stopping the list at its
# step with what to do and the exit status the step implies: an unknown
# account (78), a secret file others may read (78), a wrong client secret
# (78), an expired client certificate (78), a delegated account never
# logged in (77), an issuer that is not
# there (78).  --json carries the same steps.  Neither the secret nor the
# token ever appears in what doctor prints.
# Then the real login through libsasl2 and the built plugin (SASL_PATH):
# Dovecot's IMAP and submission over STARTTLS (and IMAPS) with the test CA as the
# account's ca_file (success; a revoked token and a token for another
# mailbox refused with the decoded error challenge, 77), a CA that does
# not sign the server (78), and exosmtp.mjs answering as Exchange Online
# does: 235, 535 5.7.3, 535 5.7.139, 550 5.7.30, 501 5.5.127, each with its
# diagnosis and exit status, and exoimap.mjs with Exchange's IMAP
# 'AUTHENTICATE failed'; and troubleshooting.md's doctor command.
# Last, the IdP's Entra model of app-only JWT access tokens: audience,
# tenant and SMTP.SendAsApp ok, a Graph token stopped at its audience,
# the RBAC for Applications note for an app
# without the role, IMAP without IMAP.AccessAsApp stopped before the login,
# the delegated token of a logged-in user (scp, upn) and the shared-mailbox
# warning for another user's token, and the warning when the plugin would
# use another account's mailbox.
. "$(dirname "$0")/lib.sh"

it_require node openssl keyctl
it_require_root
it_setup
mkdir -p "$IT_DIR/pki"
# A certificate that ends in 2 days: doctor warns (14 days ahead).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=relay-jwt \
    -keyout "$IT_DIR/pki/key.pem" -out "$IT_DIR/pki/cert.pem" \
    >"$IT_DIR/log/openssl.log" 2>&1
openssl x509 -in "$IT_DIR/pki/cert.pem" -pubkey -noout >"$IT_DIR/pki/pub.pem"
chmod 600 "$IT_DIR/pki/key.pem"
# And one that ended in 2020 (openssl ca takes explicit dates).
(
	cd "$IT_DIR/pki" && touch index.txt && echo 01 >serial &&
	printf '%s\n' '[ca]' 'default_ca = d' '[d]' "database = $IT_DIR/pki/index.txt" \
	    "serial = $IT_DIR/pki/serial" "new_certs_dir = $IT_DIR/pki" \
	    'default_md = sha256' 'policy = p' '[p]' 'commonName = supplied' >ca.cnf &&
	openssl req -new -newkey rsa:2048 -nodes -subj /CN=old -keyout old.key \
	    -out old.csr && chmod 600 old.key &&
	openssl ca -batch -config ca.cnf -selfsign -keyfile old.key -in old.csr \
	    -startdate 20200101000000Z -enddate 20200201000000Z -out old.pem
) >>"$IT_DIR/log/openssl.log" 2>&1 || it_fail "openssl could not make an expired certificate"
idp_start IDP_JWT_PUBKEY="$IT_DIR/pki/pub.pem"
dovecot_start
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER
mb=$IDP_RELAY_MAILBOX

oa2_config_init root
# the shapes of account the checks below need
ms_app=(provider=microsoft tenant=contoso.onmicrosoft.com
    "token_endpoint=$IDP_TOKEN_URL" "client_id=$IDP_RELAY_BASIC_ID"
    "client_secret_file=$IT_DIR/etc/relay.secret" flow=client_credentials)
entra_app=(provider=microsoft "tenant=$IDP_MS_TENANT_ID"
    "token_endpoint=$IDP_TOKEN_URL" "client_id=$IDP_MS_JWT_APP_ID"
    "client_secret_file=$IT_DIR/etc/msjwt.secret" flow=client_credentials)
entra_user=(provider=microsoft "tenant=$IDP_MS_TENANT_ID"
    "authorization_endpoint=$IDP_AUTH_URL" "token_endpoint=$IDP_TOKEN_URL"
    "client_id=$IDP_MS_JWT_PUBLIC_ID" "ca_file=$IT_CA_FILE")
jwt_app=(provider=microsoft tenant=contoso.onmicrosoft.com
    "token_endpoint=$IDP_TOKEN_URL" client_id=relay-jwt
    client_auth=private_key_jwt flow=client_credentials)
oa2_account relay root "user=$mb" "${ms_app[@]}" "ca_file=$IT_CA_FILE"
oa2_account wrongmb root "user=wrong.$$@example.test" "${ms_app[@]}" "ca_file=$IT_CA_FILE"
oa2_account systemca root "user=$mb" "${ms_app[@]}"
oa2_account msjwt root "user=msjwt.$$@example.test" "${entra_app[@]}" "ca_file=$IT_CA_FILE"
oa2_account msgraph root "user=msgraph.$$@example.test" "${entra_app[@]}" \
    scope=https://graph.microsoft.com/.default
oa2_account msrbac root "user=msrbac.$$@example.test" provider=microsoft \
    "tenant=$IDP_MS_TENANT_ID" "token_endpoint=$IDP_TOKEN_URL" \
    "client_id=$IDP_MS_JWT_RBAC_ID" "client_secret_file=$IT_DIR/etc/msrbac.secret" \
    flow=client_credentials "ca_file=$IT_CA_FILE"
oa2_account msdeleg root "user=dave.$$@example.test" "${entra_user[@]}"
oa2_account msshared root "user=shared.$$@example.test" "${entra_user[@]}"
oa2_account badsecret root "user=bad.$$@example.test" provider=microsoft \
    tenant=contoso.onmicrosoft.com "token_endpoint=$IDP_TOKEN_URL" \
    "client_id=$IDP_RELAY_BASIC_ID" "client_secret_file=$IT_DIR/etc/bad.secret" \
    flow=client_credentials
oa2_account jwt root "user=jwt.$$@example.test" "${jwt_app[@]}" \
    "client_key_file=$IT_DIR/pki/key.pem" "client_certificate_file=$IT_DIR/pki/cert.pem"
oa2_account oldcert root "user=old.$$@example.test" "${jwt_app[@]}" \
    "client_key_file=$IT_DIR/pki/old.key" "client_certificate_file=$IT_DIR/pki/old.pem"
oa2_account deleg root "user=dave.$$@example.test" provider=microsoft \
    tenant=contoso.onmicrosoft.com "authorization_endpoint=$IDP_AUTH_URL" \
    "token_endpoint=$IDP_TOKEN_URL" "client_id=$IDP_MUA_MS_ID"
oa2_account gen root "user=frank.$$@example.test" "issuer=$IDP_ISSUER" \
    "client_id=$IDP_MUA_ID" "scope=openid email offline_access"
oa2_account badissuer root user=d@example.test "issuer=$IDP_ISSUER/elsewhere" \
    "client_id=$IDP_MUA_ID"
(umask 077 && echo "$IDP_RELAY_BASIC_SECRET" >"$IT_DIR/etc/relay.secret" &&
    echo "$IDP_MS_JWT_APP_SECRET" >"$IT_DIR/etc/msjwt.secret" &&
    echo "$IDP_MS_JWT_RBAC_SECRET" >"$IT_DIR/etc/msrbac.secret" &&
    echo "not-the-secret-$$" >"$IT_DIR/etc/bad.secret")
oa2_env

# doctor WANT_RC NAME ARGS...: run doctor, its stdout to $IT_DIR/NAME.out,
# stderr to log/NAME.err; check the exit status.
doctor()
{
	local want=$1 name=$2 rc=0
	shift 2
	"$H" doctor "$@" >"$IT_DIR/$name.out" 2>"$IT_DIR/log/$name.err" || rc=$?
	[ "$rc" = "$want" ] ||
	    it_fail "doctor $*: exit $rc, want $want: $(cat "$IT_DIR/$name.out" "$IT_DIR/log/$name.err")"
}
# has NAME REGEX: doctor's output NAME has a line matching REGEX.
has()
{
	grep -qE -- "$2" "$IT_DIR/$1.out" ||
	    it_fail "doctor ($1) lacks /$2/: $(cat "$IT_DIR/$1.out")"
}
# last NAME REGEX: the last line matches REGEX (doctor stopped there).
last()
{
	tail -n 1 "$IT_DIR/$1.out" | grep -qE -- "$2" ||
	    it_fail "doctor ($1) did not stop at /$2/: $(cat "$IT_DIR/$1.out")"
}

# --- a working app-only account ---------------------------------------------
oa2_key_clear root "$mb"
doctor 0 ok relay
has ok "^ok   config: $OA2_CONFIG \(mode 0644\), account relay: provider microsoft, flow client_credentials, user $mb\$"
has ok "^ok   secret: client_secret_file $IT_DIR/etc/relay.secret \(mode 0600\)\$"
has ok "^ok   endpoints: token endpoint $IDP_TOKEN_URL\$"
has ok "^ok   token: obtained, [0-9]+ bytes, expires in [0-9]+ min\$"
has ok "^ok   claims: an opaque token"
! grep -qv '^ok   ' "$IT_DIR/ok.out" || it_fail "not all ok: $(cat "$IT_DIR/ok.out")"
tok=$(oa2_key_token root "$mb") || it_fail "doctor cached no token"
doctor 0 cached relay
has cached "^ok   token: cached, "
for f in ok cached; do
	for s in "$tok" "$IDP_RELAY_BASIC_SECRET"; do
		! grep -qF -- "$s" "$IT_DIR/$f.out" "$IT_DIR/log/$f.err" ||
		    it_fail "doctor ($f) printed a secret or the token"
	done
done
it_log "doctor: a working app-only account is all ok, token obtained then cached"

# --json: the same steps, one object
doctor 0 json --json relay
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const steps = r.steps.map((s) => s.step + ":" + s.result).join(" ");
if (r.account !== "relay" || r.result !== "ok" || r.exit !== 0 ||
    steps !== "config:ok secret:ok endpoints:ok token:ok claims:ok")
  { console.error(JSON.stringify(r)); process.exit(1); }' "$IT_DIR/json.out" ||
    it_fail "doctor --json: $(cat "$IT_DIR/json.out")"
it_log "doctor --json: the same steps"

# --- private_key_jwt: the certificate's expiry date ------------------------
doctor 0 jwt jwt
has jwt "^ok   secret: client_key_file $IT_DIR/pki/key.pem: an RSA key"
has jwt "^warn certificate: $IT_DIR/pki/cert.pem expires on 20[0-9-]+ [0-9:]+ UTC \(in [01] days\): upload a new certificate"
has jwt "^ok   token: obtained"
doctor 78 oldcert oldcert
last oldcert "^FAIL certificate: $IT_DIR/pki/old\\.pem expired on 2020-02-01 00:00 UTC: make a new key and certificate"
it_log "doctor: a client certificate ending in 2 days is a warning with its date; an expired one fails (78)"

# --- discovery ---------------------------------------------------------------
doctor 77 gen gen
has gen "^ok   endpoints: token endpoint $IDP_ISSUER/token \(discovered from $IDP_ISSUER\)\$"
last gen "^FAIL refresh token: none stored: not logged in; run: sasl-oauth2 login gen\$"
doctor 78 badissuer badissuer
last badissuer "^FAIL endpoints: .*issuer"
it_log "doctor: discovery named; a wrong issuer fails at endpoints (78)"

# --- failures, each stopping the list at its step ---------------------------
doctor 78 unknown nosuch
last unknown "^FAIL config: .*nosuch"
[ "$(wc -l <"$IT_DIR/unknown.out")" = 1 ] || it_fail "unknown account: more than one line"

chmod 0644 "$IT_DIR/etc/relay.secret"
doctor 78 loose relay
last loose "^FAIL secret: .*relay.secret"
grep -q "chmod\|others" "$IT_DIR/loose.out" || it_fail "loose secret: no hint: $(cat "$IT_DIR/loose.out")"
chmod 0600 "$IT_DIR/etc/relay.secret"

doctor 78 badsecret badsecret
last badsecret "^FAIL token: "
! grep -qF "not-the-secret-$$" "$IT_DIR/badsecret.out" "$IT_DIR/log/badsecret.err" ||
    it_fail "doctor printed the wrong secret"

doctor 77 deleg deleg
last deleg "^FAIL refresh token: none stored: not logged in; run: sasl-oauth2 login deleg\$"
doctor 77 delegjson --json deleg
grep -q '"result":"FAIL","exit":77,' "$IT_DIR/delegjson.out" ||
    it_fail "doctor --json deleg: $(cat "$IT_DIR/delegjson.out")"
it_log "doctor: unknown account, loose secret, wrong secret, not logged in: FAIL at their step with 78/78/78/77"

# --- a real login: Dovecot ---------------------------------------------------
oa2_key_clear root "$mb"
doctor 0 login --smtp "127.0.0.1:$SUBMISSION_PORT" --imap "127.0.0.1:$IMAP_PORT" relay
has login "^ok   smtp: 127.0.0.1 port $SUBMISSION_PORT, STARTTLS, TLSv1\\.[23], certificate of 'localhost' verified\$"
has login "^ok   smtp login: (XOAUTH2|OAUTHBEARER) accepted: 235 "
has login "^ok   imap: 127.0.0.1 port $IMAP_PORT, STARTTLS, TLSv1\\.[23], certificate of 'localhost' verified\$"
has login "^ok   imap login: (XOAUTH2|OAUTHBEARER) accepted: a4 OK"
doctor 0 imaps --imap "imaps://127.0.0.1:$IMAPS_PORT" relay
has imaps "^ok   imap: 127.0.0.1 port $IMAPS_PORT, implicit TLS, TLSv1\\.[23], certificate of 'localhost' verified\$"
last imaps "^ok   imap login: (XOAUTH2|OAUTHBEARER) accepted: a4 OK"
doctor 78 scheme --imap "smtps://127.0.0.1:$IMAPS_PORT" relay
last scheme "^FAIL imap: .*the scheme may be imap:// or imaps://"
tok=$(oa2_key_token root "$mb") || it_fail "no cached token after the login"
! grep -qF -- "$tok" "$IT_DIR/login.out" "$IT_DIR/log/login.err" ||
    it_fail "doctor printed the token"
it_log "doctor: real logins to Dovecot's submission and IMAP (STARTTLS, and imaps:// implicit TLS; ca_file) succeed"

# the server's certificate against the system store: the test CA is not there
doctor 78 sysca --imap "127.0.0.1:$IMAP_PORT" systemca
last sysca "^FAIL imap: 127.0.0.1 port $IMAP_PORT, STARTTLS: the server's certificate does not verify: .*set ca_file"
it_log "doctor: a certificate the system store does not know fails (78) with the ca_file hint"

# a revoked token: the cached one still looks fine, the server refuses it
idp_revoke "$tok" || it_fail "cannot revoke the token"
doctor 77 revoked --imap "127.0.0.1:$IMAP_PORT" relay
has revoked "^ok   token: cached"
has revoked "^warn imap challenge: status (invalid_token|401), schemes "
last revoked "^FAIL imap login: (XOAUTH2|OAUTHBEARER) refused: a4 NO .*log in again"
oa2_key_present root "$mb" && it_fail "the plugin kept the refused token in the keyring"
it_log "doctor: a revoked token: the decoded challenge and 'log in again' (77)"

# a token for another mailbox (the app's is $mb)
doctor 77 wrongmb --smtp "127.0.0.1:$SUBMISSION_PORT" wrongmb
last wrongmb "^FAIL smtp login: (XOAUTH2|OAUTHBEARER) refused: 535 "
it_log "doctor: a token for another mailbox is refused at SMTP (77)"

# --- Exchange Online's answers ---------------------------------------------------
echo ok >"$IT_DIR/answer"
it_node_server exo exosmtp.mjs "$IT_DIR/dovecot/server.pem" "$IT_DIR/dovecot/server.key" "$IT_DIR/answer"
exo=${IT_SERVER_URL#smtp://}
exo_case() # ANSWER RC REGEX
{
	echo "$1" >"$IT_DIR/answer"
	doctor "$2" "exo-$1" --smtp "$exo" relay
	last "exo-$1" "$3"
}
exo_case ok 0 "^ok   smtp login: XOAUTH2 accepted: 235 2\\.7\\.0 Authentication successful\$"
exo_case 5.7.3 78 "^FAIL smtp login: XOAUTH2 refused: 535 5\\.7\\.3 Authentication unsuccessful .*Enterprise Application's \\(New-ServicePrincipal -AppId"
exo_case 5.7.139 78 "^FAIL smtp login: XOAUTH2 refused: 535 5\\.7\\.139 .*disabled for the Tenant.*SmtpClientAuthenticationDisabled \\\$false"
exo_case 5.7.139m 78 "^FAIL smtp login: XOAUTH2 refused: 535 5\\.7\\.139 .*disabled for the Mailbox.*Set-CASMailbox"
exo_case 5.7.30 78 "^FAIL smtp login: XOAUTH2 refused: 550 5\\.7\\.30 Basic authentication is not supported.*XOAUTH2"
exo_case 5.5.127 75 "^FAIL smtp login: XOAUTH2 refused: 501 5\\.5\\.127 .*10 minutes"
# the command troubleshooting.md starts from, through the front in PATH
echo ok >"$IT_DIR/answer"
cmd=$(doc_snippet troubleshooting.md doctor smtp.office365.com:587 "$exo")
PATH="$IT_DIR/bin:$PATH" bash -euc "$cmd" >"$IT_DIR/guide.out" 2>"$IT_DIR/log/guide.err" ||
    it_fail "troubleshooting.md's doctor command failed: $(cat "$IT_DIR/guide.out" "$IT_DIR/log/guide.err")"
last guide "^ok   smtp login: XOAUTH2 accepted: 235 "
# a server that never stops sending challenges: doctor gives up (75)
exo_case flood 75 "^FAIL smtp: .*talked too long"
[ "$(grep -c "^auth user=$mb answer=" "$IT_DIR/exo.out")" = 8 ] ||
    it_fail "exosmtp did not see 8 XOAUTH2 logins for $mb: $(cat "$IT_DIR/exo.out")"
it_log "doctor: Exchange Online's 235, 5.7.3, 5.7.139 (tenant, mailbox), 5.7.30 and 5.5.127 explained with 0/78/78/78/78/75"

# Exchange's IMAP: no challenge, just "NO AUTHENTICATE failed."
echo ok >"$IT_DIR/ianswer"
it_node_server exoimap exoimap.mjs "$IT_DIR/dovecot/server.pem" "$IT_DIR/dovecot/server.key" "$IT_DIR/ianswer"
exoimap=${IT_SERVER_URL#imap://}
doctor 0 exoi-ok --imap "$exoimap" relay
last exoi-ok "^ok   imap login: XOAUTH2 accepted: a4 OK AUTHENTICATE completed\\.\$"
echo fail >"$IT_DIR/ianswer"
doctor 78 exoi-fail --imap "$exoimap" relay
last exoi-fail "^FAIL imap login: XOAUTH2 refused: a4 NO AUTHENTICATE failed\\.: Exchange refused the login .*Set-CASMailbox -ImapEnabled"
grep -q "^warn imap challenge" "$IT_DIR/exoi-fail.out" && it_fail "exoimap: a challenge where Exchange sends none"
[ "$(grep -c "^auth user=$mb answer=" "$IT_DIR/exoimap.out")" = 2 ] ||
    it_fail "exoimap did not see 2 XOAUTH2 logins for $mb: $(cat "$IT_DIR/exoimap.out")"
it_log "doctor: Exchange Online's IMAP 'AUTHENTICATE failed' explained (78)"

# --- Entra-shaped JWTs (idp/server.mjs, PROVIDER MODELS) ------------------
echo ok >"$IT_DIR/answer"
doctor 0 msjwt --smtp "$exo" msjwt
has msjwt "^ok   token: obtained, [0-9]+ bytes"
has msjwt "^ok   audience: https://outlook\\.office365\\.com \\(Exchange Online\\), tenant $IDP_MS_TENANT_ID\$"
has msjwt "^ok   permissions: roles SMTP\\.SendAsApp\$"
has msjwt "^ok   user: app-only token \\(no user\\); the mailbox msjwt.$$@example.test must let the app in"
has msjwt "^ok   expiry: expires in [0-9]+ min\$"
last msjwt "^ok   smtp login: XOAUTH2 accepted: 235 "
doctor 0 msrbac --smtp "$exo" msrbac
has msrbac "^warn permissions: roles '' lack SMTP\\.SendAsApp: fine only if an admin gave the app the role with RBAC for Applications"
last msrbac "^ok   smtp login: XOAUTH2 accepted: 235 "
echo 5.7.3 >"$IT_DIR/answer"
doctor 78 msrbac73 --smtp "$exo" msrbac
has msrbac73 "^warn permissions: "
last msrbac73 "^FAIL smtp login: XOAUTH2 refused: 535 5\\.7\\.3 "
# the classic mistake: a Microsoft Graph token for an Exchange login
doctor 78 msgraph --smtp "$exo" msgraph
last msgraph "^FAIL audience: https://graph\\.microsoft\\.com is Microsoft Graph, which Exchange's IMAP and SMTP refuse .*set scope to https://outlook\\.office365\\.com/\\.default"
grep -q "^auth user=msgraph" "$IT_DIR/exo.out" && it_fail "doctor logged in with a Graph token"
doctor 78 msimap --imap "127.0.0.1:$IMAP_PORT" msjwt
last msimap "^FAIL permissions: roles 'SMTP\\.SendAsApp' lack IMAP\\.AccessAsApp: add the application permission"
grep -c "^auth user=msjwt.$$@example.test answer=ok" "$IT_DIR/exo.out" | grep -qx 1 ||
    it_fail "exosmtp did not see msjwt's mailbox: $(cat "$IT_DIR/exo.out")"

# delegated: a login (as dave), then Entra's delegated JWT: scp, upn
login_as() # ACCOUNT LOGIN-NAME
{
	local lpid url
	"$H" login --no-browser --timeout 60 "$1" 2>"$IT_DIR/log/login.$1.err" &
	lpid=$!
	url=$(idp_auth_url "$IT_DIR/log/login.$1.err")
	idp_browser "$url" "$2" >"$IT_DIR/log/browser.$1.log" 2>&1 ||
	    it_fail "$1: browser failed"
	wait $lpid || it_fail "$1: login failed: $(cat "$IT_DIR/log/login.$1.err")"
}
login_as msdeleg "dave.$$@example.test"
oa2_key_clear root "dave.$$@example.test"
echo ok >"$IT_DIR/answer"
doctor 0 msdeleg --smtp "$exo" msdeleg
has msdeleg "^ok   refresh token: stored \\(file\\), last used 0 days ago\$"
has msdeleg "^ok   token: obtained, "
has msdeleg "^ok   audience: https://outlook\\.office\\.com \\(Exchange Online\\), tenant $IDP_MS_TENANT_ID\$"
has msdeleg "^ok   permissions: scp IMAP\\.AccessAsUser\\.All SMTP\\.Send\$"
has msdeleg "^ok   user: upn dave\\.$$@example\\.test is the mailbox\$"
last msdeleg "^ok   smtp login: XOAUTH2 accepted: 235 "
# Exchange offers LOGIN too: a host that passes the whole list may take it
has msdeleg "^warn smtp mechanisms: the server also offers LOGIN: .*smtp_sasl_mechanism_filter = xoauth2"
# logged in as dave for the mailbox shared: fine only as a shared mailbox
login_as msshared "dave.$$@example.test"
doctor 0 msshared msshared
has msshared "^warn user: upn dave\\.$$@example\\.test is not the mailbox shared\\.$$@example\\.test: that works only for a shared mailbox"
it_log "doctor: Entra-shaped delegated JWTs: refresh token, audience, scp, upn ok; another user's token warns of a shared mailbox"

# two accounts for one mailbox: the plugin uses the first; doctor says so
oa2_account second root "user=$mb" "${entra_app[@]}" "ca_file=$IT_CA_FILE"
echo ok >"$IT_DIR/answer"
doctor 0 second --smtp "$exo" second
has second "^warn smtp: the plugin logs in to $mb with account relay"
it_log "doctor: Entra-shaped JWTs: audience, tenant, SMTP.SendAsApp ok; a Graph token fails (78); RBAC for Applications noted; IMAP without IMAP.AccessAsApp stops before the login (78)"

oa2_key_clear root "$mb"
it_pass "doctor: checklist, certificate expiry, discovery, failures, real logins and Exchange's answers"
