#!/bin/bash
# t-google-sa.sh: flow = service_account, a Google service account with
# domain-wide delegation (RFC 7523 JWT bearer grant), against the IdP's
# model of Google's token endpoint (server.mjs, PROVIDER MODELS) and a real
# Dovecot that checks each token by introspection.
#
# Proves: the account of docs/google.md (snippet google-service-account)
# gets one token per mailbox in user, each acting for its own mailbox (sub),
# and real IMAP (and SMTP submission) logins through the plugin succeed
# for both; one mailbox's token does not log in the other; the key file's
# token_uri is the default endpoint and token_endpoint overrides it, a plain-http token_uri to
# another host is refused; login, refresh, doctor and logout treat the
# account as app-only (logout forgets every mailbox's token), refresh
# notifies once per account with the failing mailbox's sentence; and the
# sentences for: a mailbox outside the domain, user set to the service
# account (the common mistake) or left out, a key file others can read, a
# key Google does not know (signature refused), a service account without
# delegation, and configuration mistakes (no key file, a key file with
# another flow or beside a secret, Microsoft, no scope, not JSON).  Under
# valgrind (plain builds) the path is clean.  The private key appears in
# no output and no log.
. "$(dirname "$0")/lib.sh"

it_require_root
it_require node openssl keyctl dovecot /usr/lib/cyrus/bin/imtest \
    /usr/lib/cyrus/bin/smtptest curl
it_setup

d=$IT_DIR/sa
mkdir -p "$d"
chmod 700 "$d"
(
	umask 077
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$d/key.pem" &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$d/wrong.pem" &&
	openssl pkey -in "$d/key.pem" -pubout -out "$d/pub.pem"
) >>"$IT_DIR/log/openssl.log" 2>&1 || it_fail "openssl could not make the keys"

alice="alice.$$@example.test"
bob="bob.$$@example.test"
outsider="carol.$$@elsewhere.test"
sa_email="relay-$$@sasl-oauth2-test.iam.gserviceaccount.com"
sa_id="10342$$0918273645"
nodeleg_email="nodeleg-$$@sasl-oauth2-test.iam.gserviceaccount.com"
nodeleg_id="10342$$0918273646"
key_id="3f2c1b0a99d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4"

# The IdP's registry: the Workspace domain's users, and two service
# accounts with the same public key, one delegated the Gmail scope, one
# not delegated at all.
SA_PUB=$d/pub.pem SA_EMAIL=$sa_email SA_ID=$sa_id \
    NODELEG_EMAIL=$nodeleg_email NODELEG_ID=$nodeleg_id KEY_ID=$key_id \
    USERS="$alice $bob" node -e '
	const fs = require("fs");
	const e = process.env;
	const pub = fs.readFileSync(e.SA_PUB, "utf8");
	const acct = (email, id, scopes) => ({ client_email: email,
	    client_id: id, private_key_id: e.KEY_ID, public_key: pub,
	    delegated_scopes: scopes });
	process.stdout.write(JSON.stringify({
	    domain_users: e.USERS.split(" "),
	    accounts: [acct(e.SA_EMAIL, e.SA_ID, ["https://mail.google.com/"]),
	        acct(e.NODELEG_EMAIL, e.NODELEG_ID, [])] }));
' >"$d/idp-sa.json" || it_fail "cannot write the IdP's service accounts"

idp_start IDP_GOOGLE_SA="$d/idp-sa.json"
dovecot_start
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER

# sa_keyfile OUT PEM EMAIL CLIENT_ID TOKEN_URI: a JSON key file shaped as
# the Cloud console downloads it, mode 0600.  The key is read from PEM by
# node, never passed on a command line.
sa_keyfile()
{
	(
		umask 077
		PEM=$2 EMAIL=$3 ID=$4 URI=$5 KEY_ID=$key_id node -e '
		const e = process.env;
		process.stdout.write(JSON.stringify({
		    type: "service_account",
		    project_id: "sasl-oauth2-test",
		    private_key_id: e.KEY_ID,
		    private_key: require("fs").readFileSync(e.PEM, "utf8"),
		    client_email: e.EMAIL,
		    client_id: e.ID,
		    auth_uri: "https://accounts.google.com/o/oauth2/auth",
		    token_uri: e.URI,
		    auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
		    client_x509_cert_url: "https://www.googleapis.com/robot/v1/metadata/x509/x",
		    universe_domain: "googleapis.com" }, null, 2) + "\n");
		' >"$1"
	) || it_fail "cannot write $1"
}

sa_keyfile "$d/sa.json" "$d/key.pem" "$sa_email" "$sa_id" "$IDP_TOKEN_URL"
sa_keyfile "$d/google.json" "$d/key.pem" "$sa_email" "$sa_id" \
    https://oauth2.googleapis.com/token
sa_keyfile "$d/http.json" "$d/key.pem" "$sa_email" "$sa_id" \
    http://oauth2.example.net/token
sa_keyfile "$d/wrong.json" "$d/wrong.pem" "$sa_email" "$sa_id" "$IDP_TOKEN_URL"
sa_keyfile "$d/nodeleg.json" "$d/key.pem" "$nodeleg_email" "$nodeleg_id" \
    "$IDP_TOKEN_URL"
self_email="svc.$$@example.test"
sa_keyfile "$d/selfmail.json" "$d/key.pem" "$self_email" "$sa_id" \
    "$IDP_TOKEN_URL"
cp -p "$d/sa.json" "$d/loose.json"
chmod 0644 "$d/loose.json"

oa2_config_init root
doc_snippet google.md google-service-account \
    relay@example.com "$alice" alerts@example.com "$bob" \
    /etc/sasl-oauth2/workspace-relay.json "$d/sa.json" >>"$OA2_CONFIG"
# sa ACCOUNT USERS KEY-FILE [KEY=VALUE...]: a service account of Google's
sa()
{
	oa2_account "$1" root "user=$2" provider=google flow=service_account \
	    "service_account_file=$3" "${@:4}"
}
sa override "$alice" "$d/google.json" "token_endpoint=$IDP_TOKEN_URL"
sa plainhttp "$alice" "$d/http.json"
sa outside "$outsider" "$d/sa.json"
sa itself "$bob, $sa_email" "$d/sa.json"
sa selfmail "$self_email" "$d/selfmail.json"
sa loose "$alice" "$d/loose.json"
sa wrongkey "$alice" "$d/wrong.json"
sa halfway "$alice, $outsider" "$d/sa.json" "notify_command=$IT_DIR/notify.sh"
sa nodeleg "$alice" "$d/nodeleg.json"
oa2_env

# --- a token per mailbox, each acting for its own ---------------------------
# JWT bearer grants the IdP answered (idp_stats cuts at the URN's colons)
jwt_grants()
{
	local n
	n=$(idp_stats | grep -o '"urn:ietf:params:oauth:grant-type:jwt-bearer":[0-9]*' |
	    sed 's/.*://')
	printf '%s\n' "${n:-0}"
}
idp_reset
tok_a=$("$H" token --user "$alice") || it_fail "no token for $alice"
tok_b=$("$H" token --user "$bob") || it_fail "no token for $bob"
[ -n "$tok_a" ] && [ -n "$tok_b" ] || it_fail "an empty token"
[ "$tok_a" != "$tok_b" ] || it_fail "both mailboxes got the same token"
[ "$(jwt_grants)" = 2 ] ||
    it_fail "want 2 JWT bearer grants, the IdP saw $(jwt_grants)"
[ "$(idp_json_field "$(idp_introspect "$tok_a")" email)" = "$alice" ] ||
    it_fail "the token for $alice does not act for $alice"
[ "$(idp_json_field "$(idp_introspect "$tok_b")" email)" = "$bob" ] ||
    it_fail "the token for $bob does not act for $bob"
# cached, each under its own mailbox; the account's name means its first
[ "$("$H" token --user "$bob")" = "$tok_b" ] || it_fail "bob's token not cached"
[ "$("$H" token workspace-relay)" = "$tok_a" ] ||
    it_fail "token workspace-relay is not the first mailbox's"
[ "$(jwt_grants)" = 2 ] || it_fail "a cached token was asked for again"
it_log "a token for each mailbox, each with its own sub"

# --- real IMAP logins through the plugin -------------------------------------
logins()
{
	grep -ci "Login: user=<$1>, method=$2," "$IT_DIR/log/dovecot.log" || true
}
oa2_key_clear root "$alice"
oa2_key_clear root "$bob"
dovecot_seed_message "$alice" "for alice"
dovecot_seed_message "$bob" "for bob"
imtest_login "$alice" XOAUTH2 || it_fail "imtest as $alice (XOAUTH2) failed"
imtest_login "$bob" OAUTHBEARER || it_fail "imtest as $bob (OAUTHBEARER) failed"
# and SMTP submission, the path of a relay
smtptest_login "$alice" XOAUTH2 || it_fail "smtptest as $alice (XOAUTH2) failed"
[ "$(logins "$alice" xoauth2)" -ge 2 ] || it_fail "dovecot logged no logins of $alice"
[ "$(logins "$bob" oauthbearer)" -ge 1 ] || it_fail "dovecot logged no login of $bob"
[ "$(jwt_grants)" = 4 ] ||
    it_fail "the plugin's logins made $(jwt_grants) grants in all, want 4"
it_log "imtest and smtptest logged in $alice and $bob through the plugin"

# One mailbox's token does not log in the other (XOAUTH2 by curl; the
# token in a 0600 config file, not on the command line).
tok_a=$("$H" token --user "$alice") || it_fail "no token for $alice"
(
	umask 077
	printf 'user = "%s"\noauth2-bearer = "%s"\nlogin-options = "AUTH=XOAUTH2"\n' \
	    "$bob" "$tok_a" >"$d/curl.conf"
)
curl -sS --max-time 10 -K "$d/curl.conf" "imap://127.0.0.1:$IMAP_PORT/" \
    >/dev/null 2>"$IT_DIR/log/curl-cross.log" &&
    it_fail "$alice's token logged in $bob"
[ "$(logins "$bob" xoauth2)" = 0 ] || it_fail "dovecot logged $bob in with $alice's token"
printf 'user = "%s"\noauth2-bearer = "%s"\nlogin-options = "AUTH=XOAUTH2"\n' \
    "$alice" "$tok_a" >"$d/curl.conf"
curl -sS --max-time 10 -K "$d/curl.conf" "imap://127.0.0.1:$IMAP_PORT/" \
    >/dev/null 2>>"$IT_DIR/log/curl-cross.log" ||
    it_fail "curl could not log in $alice with her own token (the refusal above proves nothing)"
rm -f "$d/curl.conf"
it_log "$alice's token is refused for $bob"

# --- endpoints ----------------------------------------------------------------
"$H" token override >/dev/null ||
    it_fail "token_endpoint did not override the key file's token_uri"
oa2_expect 78 "token_uri of the JSON key file" "$H" token plainhttp
it_log "token_uri is the default, token_endpoint overrides it, plain http refused"

# --- login, refresh, doctor, status ------------------------------------------
out=$("$H" login workspace-relay 2>&1) || it_fail "login workspace-relay failed: $out"
printf '%s\n' "$out" >>"$IT_DIR/log/said.log"
for mb in "$alice" "$bob"; do
	case $out in
	*"acts for $mb; token valid for"*"no login is needed"*) ;;
	*) it_fail "login did not report $mb: $out" ;;
	esac
done
out=$("$H" refresh --min-ttl 86400 workspace-relay) ||
    it_fail "refresh workspace-relay failed"
printf '%s\n' "$out" >>"$IT_DIR/log/said.log"
for mb in "$alice" "$bob"; do
	grep -q "token for $mb valid" <<<"$out" || it_fail "refresh skipped $mb: $out"
done
out=$("$H" doctor workspace-relay 2>&1) || true
printf '%s\n' "$out" >>"$IT_DIR/log/said.log"
grep -q "flow service_account, user $alice" <<<"$out" || it_fail "doctor names the flow: $out"
grep -q "service_account_file $d/sa.json: service account $sa_email (client ID $sa_id)" \
    <<<"$out" || it_fail "doctor's secret step: $out"
grep -qi "refresh token" <<<"$out" && it_fail "doctor looked for a refresh token: $out"
out=$("$H" status 2>&1) || true
grep -q "not needed" <<<"$out" || it_fail "status wants a refresh token: $out"
oa2_key_present root "$alice" && oa2_key_present root "$bob" ||
    it_fail "the tokens of both mailboxes should be cached here"
"$H" logout workspace-relay 2>>"$IT_DIR/log/said.log" || it_fail "logout failed"
oa2_key_present root "$alice" && it_fail "logout left $alice's token"
oa2_key_present root "$bob" && it_fail "logout left $bob's token"
it_log "login, refresh, doctor and logout treat it as app-only"

# One mailbox of two failing: refresh fails, and the timer's notification
# counts the account's failures (the mailbox that works does not reset
# them) and quotes the failing mailbox's sentence.
cat >"$IT_DIR/notify.sh" <<'SH'
#!/bin/sh
{ env | grep '^SASL_OAUTH2_' | sort; echo --; } >>"$NOTIFY_LOG"
SH
chmod 755 "$IT_DIR/notify.sh"
export NOTIFY_LOG=$IT_DIR/notify.log
for round in 1 2; do
	rc=0
	"$H" refresh halfway >>"$IT_DIR/log/said.log" 2>&1 || rc=$?
	[ "$rc" = 78 ] || it_fail "refresh halfway (round $round) exited $rc, want 78"
done
[ "$(grep -c '^SASL_OAUTH2_EVENT=refresh_failing$' "$NOTIFY_LOG" 2>/dev/null)" = 1 ] ||
    it_fail "want one refresh_failing notification: $(cat "$NOTIFY_LOG" 2>/dev/null)"
grep -q "^SASL_OAUTH2_MESSAGE=account halfway (mailbox $outsider): this mailbox is not a user" \
    "$NOTIFY_LOG" || it_fail "the notification lacks the failing mailbox's sentence: $(cat "$NOTIFY_LOG")"
it_log "one failing mailbox of two: refresh fails, the account's notification says which"

# --- mistakes and refusals, each with its sentence ---------------------------
oa2_expect 78 "account outside (mailbox $outsider): this mailbox is not a user of the Workspace domain" "$H" token outside
oa2_expect 78 "Invalid email or User ID" "$H" token outside
mistake="Gmail logs in the mailbox, not the service account: set user to the Workspace mailbox(es) the service account acts for, and grant domain-wide delegation for"
oa2_expect 78 "$mistake client ID $sa_id with scope https://mail.google.com/ in the Admin console" \
    "$H" token itself
oa2_expect 78 "$mistake" "$H" token --user "$sa_email"
# doctor stops at the secret step with the same sentence
rc=0
out=$("$H" doctor itself 2>&1) || rc=$?
[ "$rc" = 78 ] && tail -n 1 <<<"$out" | grep -qF "FAIL secret: $mistake" ||
    it_fail "doctor itself: exit $rc, not stopped at the secret step: $out"
# the key file's client_email, whatever its domain; and no user at all
oa2_expect 78 "$mistake client ID $sa_id" "$H" token selfmail
cat >"$IT_DIR/etc/empty.conf" <<CONF
[account empty]
provider = google
flow = service_account
service_account_file = $d/sa.json
CONF
oa2_expect 78 "$mistake the service account's client ID" \
    "$H" -c "$IT_DIR/etc/empty.conf" token empty
# configuration mistakes, refused before any request
(umask 077 && echo "not a key file" >"$d/notjson.json")
while IFS='|' read -r name keys needle; do
	printf '[account %s]\nuser = %s\n%b\n' "$name" "$alice" "$keys" \
	    >"$IT_DIR/etc/bad.conf"
	oa2_expect 78 "$needle" "$H" -c "$IT_DIR/etc/bad.conf" token "$name"
done <<CASES
nofile|provider = google\nflow = service_account|flow = service_account needs service_account_file
wrongflow|provider = google\nclient_id = x\nclient_secret_file = $d/sa.json\nflow = client_credentials\nservice_account_file = $d/sa.json|service_account_file is for flow = service_account
secret|provider = google\nflow = service_account\nservice_account_file = $d/sa.json\nclient_secret_file = $d/sa.json|is a service account's only credential
microsoft|provider = microsoft\ntenant = example.test\nflow = service_account\nservice_account_file = $d/sa.json|service accounts are Google's
noscope|token_endpoint = $IDP_TOKEN_URL\nflow = service_account\nservice_account_file = $d/sa.json|a service account names its scope
notjson|provider = google\nflow = service_account\nservice_account_file = $d/notjson.json|notjson.json is not JSON
CASES
oa2_expect 78 "loose.json is accessible by others (mode 0644); run: chmod 600" "$H" token loose
oa2_expect 78 "Google does not know the key that signed the assertion" "$H" token wrongkey
oa2_expect 78 "Invalid JWT Signature" "$H" token wrongkey
oa2_expect 78 "Google refused domain-wide delegation" "$H" token nodeleg
oa2_expect 78 "unauthorized_client" "$H" token nodeleg
it_log "configuration mistakes, outsider, the service account as user, a loose key file, a wrong key, no delegation: refused with their sentences"

# --- memcheck: the key file, the signing, the grant, a refusal ----------------
# (valgrind cannot run a sanitizer build's code: that build covers it)
if command -v valgrind >/dev/null && [ -z "${IT_SAN_LIB:-}" ]; then
	vg="valgrind -q --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9"
	# shellcheck disable=SC2086
	$vg "$H" refresh --min-ttl 86400 workspace-relay >/dev/null 2>"$IT_DIR/log/vg-refresh.log" ||
	    it_fail "valgrind: refresh of the service account: $(tail -n 20 "$IT_DIR/log/vg-refresh.log")"
	rc=0
	# shellcheck disable=SC2086
	$vg "$H" token wrongkey >/dev/null 2>"$IT_DIR/log/vg-wrongkey.log" || rc=$?
	[ "$rc" = 78 ] ||
	    it_fail "valgrind: token wrongkey exited $rc: $(tail -n 20 "$IT_DIR/log/vg-wrongkey.log")"
	it_log "memcheck: clean"
fi

# --- the private key is in no output and no log -------------------------------
"$H" -v token override >/dev/null 2>>"$IT_DIR/log/said.log" ||
    it_fail "verbose token failed"
needle=$(sed -n 5p "$d/key.pem")
[ ${#needle} -ge 60 ] || it_fail "no key line to look for"
if grep -rqF -- "$needle" "$IT_DIR/log"; then
	it_fail "the private key is in a log: $(grep -rlF -- "$needle" "$IT_DIR/log")"
fi
it_pass
