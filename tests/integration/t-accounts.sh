#!/bin/bash
# t-accounts.sh: account kinds and presets against the real identity
# provider: client credentials with a certificate (private_key_jwt, RS256,
# x5t#S256), the microsoft and google presets pointed at the local IdP by
# overriding their endpoints (delegated logins against the IdP's
# Microsoft-like and Google-like clients), a refresh retried without scope
# after invalid_scope, one app-only account serving two mailboxes (and its
# logout), two accounts with the same user each with its own token,
# discovery, and configuration errors with their exit codes and sentences.
. "$(dirname "$0")/lib.sh"

it_require node openssl keyctl
it_setup
mkdir -p "$IT_DIR/pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=relay-jwt \
    -keyout "$IT_DIR/pki/key.pem" -out "$IT_DIR/pki/cert.pem" \
    >"$IT_DIR/log/openssl.log" 2>&1
openssl x509 -in "$IT_DIR/pki/cert.pem" -pubkey -noout >"$IT_DIR/pki/pub.pem"
chmod 600 "$IT_DIR/pki/key.pem"
idp_start IDP_JWT_PUBKEY="$IT_DIR/pki/pub.pem"
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER
mb=$IDP_RELAY_MAILBOX
other="other.$$@example.test"

oa2_config_init root
cat >>"$OA2_CONFIG" <<CONF
[account jwt]
user = $mb
provider = microsoft
tenant = contoso.onmicrosoft.com
token_endpoint = $IDP_TOKEN_URL
client_id = relay-jwt
client_auth = private_key_jwt
client_key_file = $IT_DIR/pki/key.pem
client_certificate_file = $IT_DIR/pki/cert.pem
flow = client_credentials

[account ms]
user = $mb, $other
provider = microsoft
tenant = 00000000-0000-0000-0000-000000000001
token_endpoint = $IDP_TOKEN_URL
client_id = $IDP_RELAY_BASIC_ID
client_secret_file = $IT_DIR/etc/ms.secret
flow = client_credentials

[account ms-notenant]
user = x@example.test
provider = microsoft
client_id = $IDP_RELAY_BASIC_ID
client_secret_file = $IT_DIR/etc/ms.secret
flow = client_credentials

[account gmail]
user = carol.$$@example.test
provider = google
authorization_endpoint = $IDP_AUTH_URL
token_endpoint = $IDP_TOKEN_URL
client_id = $IDP_MUA_GOOGLE_ID
client_secret_file = $IT_DIR/etc/google.secret

[account msdeleg]
user = dave.$$@example.test
provider = microsoft
tenant = contoso.onmicrosoft.com
authorization_endpoint = $IDP_AUTH_URL
token_endpoint = $IDP_TOKEN_URL
client_id = $IDP_MUA_MS_ID

[account gen]
user = frank.$$@example.test
issuer = $IDP_ISSUER
client_id = $IDP_MUA_ID
scope = openid email offline_access

[account msgen]
user = frank.$$@example.test
provider = microsoft
tenant = contoso.onmicrosoft.com
token_endpoint = $IDP_TOKEN_URL
client_id = $IDP_MUA_ID
scope = openid email offline_access https://outlook.office.com/SMTP.Send

[account ropc]
user = erin.$$@example.test
issuer = $IDP_ISSUER
client_id = mua-ropc
scope = openid email offline_access
flow = password

[account badissuer]
user = d@example.test
issuer = $IDP_ISSUER/elsewhere
client_id = $IDP_MUA_ID
CONF
(umask 077 && echo "$IDP_RELAY_BASIC_SECRET" >"$IT_DIR/etc/ms.secret" &&
    echo "$IDP_MUA_GOOGLE_SECRET" >"$IT_DIR/etc/google.secret")
oa2_env

# private_key_jwt: the IdP verifies the RS256 assertion with our key.
tok=$("$H" -v token jwt 2>"$IT_DIR/log/jwt.err") || it_fail "private_key_jwt client credentials failed: $(cat "$IT_DIR/log/jwt.err")"
case $(idp_introspect "$tok") in
*'"active":true'*"\"client_id\":\"relay-jwt\""*|*"\"client_id\":\"relay-jwt\""*'"active":true'*) ;;
*) it_fail "the IdP does not know the private_key_jwt token" ;;
esac
oa2_key_clear root "$mb"
chmod 644 "$IT_DIR/pki/key.pem"
oa2_expect 78 "chmod 600" "$H" token jwt
chmod 600 "$IT_DIR/pki/key.pem"
it_log "private_key_jwt: ok; a loose key file is refused with a chmod hint"

# client_assertion_file: a federated credential the platform writes and
# renews (a Kubernetes projected token, Azure workload identity), here an
# RS256 assertion for relay-jwt signed with the test key, as a platform
# would write it.  Sent as it is, read for every request.
make_assertion() # FILE
{
	node -e '
const crypto = require("crypto"), fs = require("fs");
const [key, aud, out] = process.argv.slice(1);
const b = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const h = b({ alg: "RS256", typ: "JWT" });
const c = b({ iss: "relay-jwt", sub: "relay-jwt", aud, iat: now,
    exp: now + 300, jti: crypto.randomUUID() });
const sig = crypto.sign("sha256", Buffer.from(`${h}.${c}`),
    fs.readFileSync(key)).toString("base64url");
fs.writeFileSync(out, `${h}.${c}.${sig}\n`, { mode: 0o600 });
fs.chmodSync(out, 0o600);
' "$IT_DIR/pki/key.pem" "$IDP_TOKEN_URL" "$1" || it_fail "cannot make an assertion"
}
fed=$IT_DIR/fed.conf
(umask 022 && cat >"$fed" <<CONF
[account fed]
user = $mb
provider = generic
token_endpoint = $IDP_TOKEN_URL
client_id = relay-jwt
client_assertion_file = $IT_DIR/fed.jwt
flow = client_credentials

[account fedboth]
user = $mb
provider = generic
token_endpoint = $IDP_TOKEN_URL
client_id = relay-jwt
client_assertion_file = $IT_DIR/fed.jwt
client_secret_file = $IT_DIR/etc/ms.secret
flow = client_credentials
CONF
)
make_assertion "$IT_DIR/fed.jwt"
oa2_key_clear root "$mb"
tok=$("$H" -c "$fed" token fed 2>"$IT_DIR/log/fed.err") ||
    it_fail "client_assertion_file: $(cat "$IT_DIR/log/fed.err")"
case $(idp_introspect "$tok") in
*'"active":true'*) ;;
*) it_fail "the IdP does not know the token got with client_assertion_file" ;;
esac
# The same assertion again: the IdP refuses a replayed jti, so it went
# as it was (nothing of ours signs it) ...
oa2_expect 78 "did not accept the app" "$H" -c "$fed" token --min-ttl 86400 fed
# ... and once the platform renews the file, the next request reads it.
make_assertion "$IT_DIR/fed.jwt"
"$H" -c "$fed" token --min-ttl 86400 fed >/dev/null 2>"$IT_DIR/log/fed2.err" ||
    it_fail "a renewed client_assertion_file was not read: $(cat "$IT_DIR/log/fed2.err")"
chmod 644 "$IT_DIR/fed.jwt"
oa2_expect 78 "chmod 600" "$H" -c "$fed" token --min-ttl 86400 fed
printf 'not a jwt\n' >"$IT_DIR/fed.jwt"
chmod 600 "$IT_DIR/fed.jwt"
oa2_expect 78 "does not hold a signed JWT" "$H" -c "$fed" token --min-ttl 86400 fed
oa2_expect 78 "client_assertion_file is the account's client authentication" \
    "$H" -c "$fed" token fedboth
oa2_key_clear root "$mb"
it_log "client_assertion_file: sent as written, re-read when renewed; loose, non-JWT and mixed setups refused"
# An encrypted key: refused with a sentence, never a pass phrase prompt on
# the terminal (OpenSSL's default asks on /dev/tty: under tmux it waits).
cp -p "$IT_DIR/pki/key.pem" "$IT_DIR/pki/key.plain.pem"
openssl pkey -in "$IT_DIR/pki/key.plain.pem" -aes256 -passout pass:x \
    -out "$IT_DIR/pki/key.pem" 2>>"$IT_DIR/log/openssl.log"
chmod 600 "$IT_DIR/pki/key.pem"
it_require tmux
tmux -L "t-accounts-$$" new-session -d -x 200 -y 20 \
    "timeout 20 '$H' -c '$OA2_CONFIG' token jwt >/dev/null 2>'$IT_DIR/enc.err'; echo \$? >'$IT_DIR/enc.rc'"
for _ in $(seq 1 100); do
	[ -s "$IT_DIR/enc.rc" ] && break
	sleep 0.1
done
tmux -L "t-accounts-$$" kill-server 2>/dev/null || true
[ "$(cat "$IT_DIR/enc.rc" 2>/dev/null)" = 78 ] ||
    it_fail "an encrypted key: exit '$(cat "$IT_DIR/enc.rc" 2>/dev/null)', want 78 within 10 s ($(cat "$IT_DIR/enc.err"))"
grep -q "key.pem is encrypted.*openssl pkey" "$IT_DIR/enc.err" ||
    it_fail "an encrypted key: $(cat "$IT_DIR/enc.err")"
mv "$IT_DIR/pki/key.plain.pem" "$IT_DIR/pki/key.pem"
it_log "an encrypted key is refused at once with a sentence, no prompt"

# microsoft preset, endpoint overridden; one token serves both mailboxes.
# jwt, above, lists $mb first: so the mailbox's own key (the plugin's) is
# jwt's, and ms caches its token for $mb under a key that names ms.
n0=$(idp_stats client_credentials)
"$H" token --user "$other" >/dev/null || it_fail "microsoft preset (second mailbox) failed"
"$H" token ms >/dev/null || it_fail "microsoft preset (first mailbox) failed"
[ $(($(idp_stats client_credentials) - n0)) -eq 1 ] ||
    it_fail "two mailboxes of one app-only account cost two requests"
oa2_key_present root "$other" && oa2_key_present root "$mb account=ms" ||
    it_fail "not both mailboxes cached"
! oa2_key_present root "$mb" || it_fail "ms cached its token in jwt's key"
it_log "microsoft preset: ok; two mailboxes, one request"

# Two accounts with the same user (jwt and ms both list $mb, with other
# clients): each gets its own token, whichever asks first, and the plugin's
# "token --user" gets the first account's (jwt's).
client_of() # TOKEN: the client the IdP issued it to
{
	idp_introspect "$1" | sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p'
}
for order in "jwt ms" "ms jwt"; do
	oa2_key_clear root "$mb"
	oa2_key_clear root "$other"
	for acct in $order; do
		tok=$("$H" token "$acct") || it_fail "token $acct failed"
		want=relay-jwt
		[ "$acct" = jwt ] || want=$IDP_RELAY_BASIC_ID
		got=$(client_of "$tok")
		[ "$got" = "$want" ] ||
		    it_fail "token $acct ($order): a token of client '$got', want '$want'"
	done
	[ "$(client_of "$("$H" token --user "$mb")")" = relay-jwt ] ||
	    it_fail "token --user $mb ($order): not jwt's token"
	[ "$(client_of "$("$H" token --user "$other")")" = "$IDP_RELAY_BASIC_ID" ] ||
	    it_fail "token --user $other ($order): not ms's token"
done
it_log "two accounts with one user: each its own token; --user picks the first"

# logout forgets the account's token for every mailbox it lists, and
# nothing of the other account with the same user.
oa2_key_present root "$other" && oa2_key_present root "$mb account=ms" &&
    oa2_key_present root "$mb" || it_fail "logout: not everything cached before"
"$H" logout ms 2>"$IT_DIR/log/logout-ms.err" ||
    it_fail "logout ms failed: $(cat "$IT_DIR/log/logout-ms.err")"
! oa2_key_present root "$other" || it_fail "logout ms kept the token for $other"
! oa2_key_present root "$mb account=ms" || it_fail "logout ms kept the token for $mb"
oa2_key_present root "$mb" || it_fail "logout ms dropped jwt's token"
oa2_key_clear root "$mb"
oa2_key_clear root "$other"
it_log "logout of a two-mailbox account: neither key left; the other account's kept"

oa2_expect 78 "AADSTS9001023" "$H" token ms-notenant
it_log "microsoft preset: no tenant refused"

store_json() # ACCOUNT FIELD: a string field of the account's store file
{
	sed -n 's/.*"'"$2"'": *"\([^"]*\)".*/\1/p' "$XDG_STATE_HOME/sasl-oauth2/$1.json"
}
# login_url ACCOUNT LOGIN: log in through the scripted browser; the
# authorization URL the helper printed is left in $url.
login_url()
{
	local lpid
	: >"$IT_DIR/log/login.$1.err" # not the last call's URL (a race)
	"$H" login --no-browser --timeout 60 "$1" 2>"$IT_DIR/log/login.$1.err" &
	lpid=$!
	url=$(idp_auth_url "$IT_DIR/log/login.$1.err")
	idp_browser "$url" "$2" >"$IT_DIR/log/browser.$1.log" 2>&1 ||
	    it_fail "$1: browser failed"
	wait $lpid || it_fail "$1: login failed: $(cat "$IT_DIR/log/login.$1.err")"
}

# google preset, against the Google-like client (idp/server.mjs, PROVIDER
# MODELS): a refresh token only for access_type=offline with
# prompt=consent, and refresh tokens that do not rotate.
login_url gmail "carol.$$@example.test"
case ${url:-} in
*access_type=offline*prompt=consent*) ;;
*) it_fail "google login URL lacks access_type=offline&prompt=consent: ${url:-none}" ;;
esac
case $url in
*scope=https%3A%2F%2Fmail.google.com%2F*) ;;
*) it_fail "google login URL lacks the default scope https://mail.google.com/" ;;
esac
grt=$(store_json gmail refresh_token)
[ -n "$grt" ] || it_fail "google preset: no refresh token stored"
oa2_key_clear root "carol.$$@example.test"
r0=$(idp_stats refresh_token)
"$H" token gmail >/dev/null || it_fail "refresh after google login failed"
"$H" token --min-ttl 86400 gmail >/dev/null || it_fail "second google refresh failed"
[ $(($(idp_stats refresh_token) - r0)) = 2 ] || it_fail "google preset: not two refreshes"
[ "$(store_json gmail refresh_token)" = "$grt" ] ||
    it_fail "google preset: the (non-rotating) refresh token was not kept"
it_log "google preset: offline login, refresh token kept over two refreshes"

# microsoft preset, delegated, against the Microsoft-like client: no
# prompt=consent needed; the refresh must carry scope; the answer's scope
# is narrower than the one asked for, and is what the store keeps.
login_url msdeleg "dave.$$@example.test"
case $url in
*prompt=*) it_fail "microsoft login URL has a prompt: $url" ;;
*scope=https%3A%2F%2Foutlook.office.com%2FIMAP.AccessAsUser.All*offline_access*) ;;
*) it_fail "microsoft login URL lacks the delegated scopes: $url" ;;
esac
mrt=$(store_json msdeleg refresh_token)
[ -n "$mrt" ] || it_fail "microsoft preset: no refresh token stored"
case $(store_json msdeleg scope) in
*offline_access*|"") it_fail "microsoft preset: stored scope '$(store_json msdeleg scope)', want the granted (narrower) one" ;;
*IMAP.AccessAsUser.All*) ;;
*) it_fail "microsoft preset: stored scope '$(store_json msdeleg scope)'" ;;
esac
r0=$(idp_stats refresh_token)
"$H" token --min-ttl 86400 msdeleg >/dev/null 2>"$IT_DIR/log/ms-refresh.err" ||
    it_fail "microsoft preset refresh failed: $(cat "$IT_DIR/log/ms-refresh.err")"
[ $(($(idp_stats refresh_token) - r0)) = 1 ] || it_fail "microsoft preset: not one refresh"
[ "$(store_json msdeleg refresh_token)" != "$mrt" ] ||
    it_fail "microsoft preset: the rotated refresh token was not saved"
oa2_key_clear root "dave.$$@example.test"
it_log "microsoft preset (delegated): login without prompt, refresh with scope, granted scope kept"

# A refresh whose scope the provider refuses (invalid_scope: here the
# account's scope grew after the login) is asked once more without scope,
# for the original grant (RFC 6749 section 6); the refused request spent
# no refresh token.
login_url gen "frank.$$@example.test"
sed 's/"account": *"gen"/"account":"msgen"/' "$XDG_STATE_HOME/sasl-oauth2/gen.json" \
    >"$XDG_STATE_HOME/sasl-oauth2/msgen.json"
chmod 600 "$XDG_STATE_HOME/sasl-oauth2/msgen.json"
oa2_key_clear root "frank.$$@example.test"
r0=$(idp_stats refresh_token)
"$H" -v token msgen >/dev/null 2>"$IT_DIR/log/msgen.err" ||
    it_fail "refresh after invalid_scope failed: $(cat "$IT_DIR/log/msgen.err")"
grep -q "refused the scope of the refresh (invalid_scope); asking again without scope" \
    "$IT_DIR/log/msgen.err" || it_fail "invalid_scope retry not said: $(cat "$IT_DIR/log/msgen.err")"
[ $(($(idp_stats refresh_token) - r0)) = 2 ] || it_fail "invalid_scope: not exactly one retry"
[ "$(idp_stats grants_revoked)" = 0 ] || it_fail "invalid_scope: the retry spent a used refresh token"
oa2_key_clear root "frank.$$@example.test"
it_log "invalid_scope on refresh: asked again without scope, once"

# The legacy password grant: labelled legacy, a wrong password said to be
# one (not an expired grant), works where allowed.
oa2_expect 77 "user name or password was refused" sh -c "echo wrong-password | '$H' login ropc"
out=$(echo ropc-password-1f4e | "$H" login ropc 2>&1) ||
    it_fail "password grant login failed: $out"
case $out in
*legacy*MFA*"logged in as erin.$$@example.test"*) ;;
*) it_fail "password grant: unexpected messages: $out" ;;
esac
oa2_key_clear root "erin.$$@example.test"
"$H" token ropc >/dev/null || it_fail "refresh after a password login failed"
oa2_key_clear root "erin.$$@example.test"
it_log "password grant (legacy): warned, logged in, refreshed"

# status: every account, in valid JSON (jq), each mailbox of an app-only
# account with its own cached token, in JSON and in the table.
it_require jq
"$H" token --user "$other" >/dev/null || it_fail "token for the second mailbox failed"
"$H" status --json >"$IT_DIR/status.json" || it_fail "status --json failed"
jq -e 'length == 9 and ([.[].account] | index("ms")) != null' "$IT_DIR/status.json" >/dev/null ||
    it_fail "status --json: not every account, or not JSON: $(head -c 600 "$IT_DIR/status.json")"
jq -e --arg a "$mb" --arg b "$other" '.[] | select(.account == "ms") |
    .user == $a and (.users | length) == 2 and .users[0].user == $a and
    .users[1].user == $b and all(.users[]; .access_token_expires_in > 0)' \
    "$IT_DIR/status.json" >/dev/null ||
    it_fail "status --json: the two mailboxes of ms: $(jq -c '.[] | select(.account == "ms")' "$IT_DIR/status.json")"
# Microsoft's refresh tokens die after 90 idle days: status says when.
jq -e '.[] | select(.account == "msdeleg") | .refresh_token == true and
    .refresh_token_idle_expires_in > 7776000 - 3600 and
    .refresh_token_idle_expires_in <= 7776000' "$IT_DIR/status.json" >/dev/null ||
    it_fail "status --json: msdeleg's idle death: $(jq -c '.[] | select(.account == "msdeleg")' "$IT_DIR/status.json")"
jq -e '.[] | select(.account == "gmail") | has("refresh_token_idle_expires_in") | not' \
    "$IT_DIR/status.json" >/dev/null || it_fail "status --json: an idle death for Google"
"$H" status >"$IT_DIR/status.txt" || it_fail "status failed"
grep -qE "^msdeleg .*stored, used 0 d ago, dies idle in 89 d" "$IT_DIR/status.txt" ||
    it_fail "status: msdeleg's idle death: $(grep ^msdeleg "$IT_DIR/status.txt")"
[ "$(grep -cE "^(ms +)?  *($mb|$other) .*valid [0-9]+ min" "$IT_DIR/status.txt")" = 2 ] ||
    it_fail "status: both mailboxes of ms should show a cached token: $(cat "$IT_DIR/status.txt")"
oa2_key_clear root "$mb"
oa2_key_clear root "$other"
it_log "status: every account in valid JSON, each mailbox with its own token"

# Configuration errors: exit 78 and a sentence naming the problem.
oa2_expect 78 "issuer" "$H" token badissuer
echo "bogus_key = 1" >>"$OA2_CONFIG"
oa2_expect 78 "unknown key 'bogus_key'" "$H" token jwt
: >"$IT_DIR/empty.conf"
oa2_expect 78 "no account 'nope'" "$H" -c "$IT_DIR/empty.conf" token nope
oa2_expect 64 "usage" "$H" token
oa2_key_clear root "carol.$$@example.test"
it_pass
