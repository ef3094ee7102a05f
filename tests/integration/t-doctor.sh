#!/bin/bash
# t-doctor.sh: "sasl-oauth2 doctor" against the real identity provider:
# a checklist of ok lines for a working app-only account (token obtained,
# then cached), the client certificate's expiry date for private_key_jwt,
# discovery named, and each failure we can cause stopping the list at its
# step with what to do and the exit status the step implies: an unknown
# account (78), a secret file others may read (78), a wrong client secret
# (78), a delegated account never logged in (77), an issuer that is not
# there (78).  --json carries the same steps.  Neither the secret nor the
# token ever appears in what doctor prints.
. "$(dirname "$0")/lib.sh"

it_require node openssl keyctl
it_setup
mkdir -p "$IT_DIR/pki"
# A certificate that ends in 2 days: doctor warns (14 days ahead).
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

oa2_config_init root
cat >>"$OA2_CONFIG" <<CONF
[account relay]
user = $mb
provider = microsoft
tenant = contoso.onmicrosoft.com
token_endpoint = $IDP_TOKEN_URL
client_id = $IDP_RELAY_BASIC_ID
client_secret_file = $IT_DIR/etc/relay.secret
flow = client_credentials

[account badsecret]
user = bad.$$@example.test
provider = microsoft
tenant = contoso.onmicrosoft.com
token_endpoint = $IDP_TOKEN_URL
client_id = $IDP_RELAY_BASIC_ID
client_secret_file = $IT_DIR/etc/bad.secret
flow = client_credentials

[account jwt]
user = jwt.$$@example.test
provider = microsoft
tenant = contoso.onmicrosoft.com
token_endpoint = $IDP_TOKEN_URL
client_id = relay-jwt
client_auth = private_key_jwt
client_key_file = $IT_DIR/pki/key.pem
client_certificate_file = $IT_DIR/pki/cert.pem
flow = client_credentials

[account deleg]
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

[account badissuer]
user = d@example.test
issuer = $IDP_ISSUER/elsewhere
client_id = $IDP_MUA_ID
CONF
(umask 077 && echo "$IDP_RELAY_BASIC_SECRET" >"$IT_DIR/etc/relay.secret" &&
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
it_log "doctor: a client certificate ending in 2 days is a warning with its date"

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

oa2_key_clear root "$mb"
it_pass "doctor: checklist, certificate expiry, discovery, failures and exit codes"
