#!/bin/bash
# t-notify.sh: notify_command tells a human before it breaks.  After
# "refresh --all" (what the timer runs), an account's notify_command (argv,
# no shell) runs with the event in its environment: login_required when
# the refresh token was refused (exit 77), refresh_failing after the second
# failed refresh in a row, certificate_expiring when the client certificate
# ends within 14 days.  Each event at most once per 15 minutes; never a
# secret in what the command gets; a command that hangs is killed after
# 30 s; one that is not an absolute path is refused with a sentence.
. "$(dirname "$0")/lib.sh"

it_require node keyctl openssl
it_setup
idp_start
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER
store=$XDG_STATE_HOME/sasl-oauth2
(umask 077 && mkdir -p "$store")
closed=http://127.0.0.1:$(it_free_port)/token

# The command: records its arguments and every SASL_OAUTH2_ variable.
cat >"$IT_DIR/notify.sh" <<'SH'
#!/bin/sh
{
	printf 'args=%s|%s\n' "$1" "$2"
	env | grep '^SASL_OAUTH2_' | sort
	echo --
} >>"$NOTIFY_LOG"
SH
chmod 755 "$IT_DIR/notify.sh"
export NOTIFY_LOG=$IT_DIR/notify.log
: >"$NOTIFY_LOG"
printf '#!/bin/sh\nexec sleep 120\n' >"$IT_DIR/hang.sh"
chmod 755 "$IT_DIR/hang.sh"

# A certificate that ends in 10 days.
mkdir -p "$IT_DIR/pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 10 -subj "/CN=notify test" \
    -keyout "$IT_DIR/pki/key.pem" -out "$IT_DIR/pki/cert.pem" \
    >"$IT_DIR/log/openssl.log" 2>&1 || it_fail "openssl failed"
chmod 600 "$IT_DIR/pki/key.pem"
not_after=$(date -d "$(openssl x509 -in "$IT_DIR/pki/cert.pem" -noout -enddate | cut -d= -f2)" +%s)

secret="notify-secret-$$-$RANDOM$RANDOM"
bogus_rt="bogus-refresh-token-$$-$RANDOM$RANDOM"
(umask 077 && printf '%s\n' "$secret" >"$IT_DIR/secret")
oa2_config_init root
cat >>"$OA2_CONFIG" <<CONF
[account dead]
user = dead.$$@example.test
issuer = $IDP_ISSUER
client_id = $IDP_MUA_ID
scope = openid offline_access
notify_command = $IT_DIR/notify.sh one two

[account down]
user = down.$$@example.test
provider = generic
token_endpoint = $closed
client_id = app
client_secret_file = $IT_DIR/secret
flow = client_credentials
notify_command = $IT_DIR/notify.sh

[account cert]
user = cert.$$@example.test
provider = generic
token_endpoint = $closed
client_id = app
client_auth = private_key_jwt
client_key_file = $IT_DIR/pki/key.pem
client_certificate_file = $IT_DIR/pki/cert.pem
flow = client_credentials
notify_command = $IT_DIR/notify.sh

[account quiet]
user = quiet.$$@example.test
provider = generic
token_endpoint = $closed
client_id = app
client_secret_file = $IT_DIR/secret
flow = client_credentials
CONF
export SASL_OAUTH2_CONFIG=$OA2_CONFIG
(umask 077 && printf '{"version":1,"account":"dead","refresh_token":"%s","scope":"openid offline_access","updated":%s,"refresh_expires":0}\n' \
    "$bogus_rt" "$(date +%s)" >"$store/dead.json")

# events: "EVENT ACCOUNT" for each run of the command so far.
events()
{
	awk -F= '/^SASL_OAUTH2_EVENT=/ { e = $2 } /^SASL_OAUTH2_ACCOUNT=/ { a = $2 }
	    /^--$/ { print e, a; e = a = "" }' "$NOTIFY_LOG" | sort
}

# --- round 1: a dead grant, a certificate about to end ----------------------
rc=0
"$H" refresh --all >"$IT_DIR/r1.out" 2>"$IT_DIR/log/r1.err" || rc=$?
[ "$rc" = 77 ] || it_fail "refresh --all exited $rc, want 77 (a dead grant)"
want="certificate_expiring cert
login_required dead"
[ "$(events)" = "$want" ] || it_fail "round 1 told: $(events | tr '\n' ';'), want: $(tr '\n' ';' <<<"$want")"
grep -qx 'args=one|two' "$NOTIFY_LOG" || it_fail "the command's words were not its arguments: $(grep args= "$NOTIFY_LOG")"
grep -q "^SASL_OAUTH2_MESSAGE=account dead: .*log in again" "$NOTIFY_LOG" ||
    it_fail "login_required without the sentence: $(grep MESSAGE "$NOTIFY_LOG")"
grep -q "^SASL_OAUTH2_USER=dead.$$@example.test$" "$NOTIFY_LOG" || it_fail "no SASL_OAUTH2_USER"
grep -qx "SASL_OAUTH2_CERT_NOT_AFTER=$not_after" "$NOTIFY_LOG" ||
    it_fail "certificate_expiring: $(grep CERT "$NOTIFY_LOG"), want $not_after"
grep -q "^SASL_OAUTH2_MESSAGE=account cert: the client certificate .* expires on " "$NOTIFY_LOG" ||
    it_fail "certificate_expiring without its sentence: $(grep MESSAGE= "$NOTIFY_LOG")"
it_log "round 1: login_required and certificate_expiring told, with their sentences"

# --- round 2: the second failure in a row; nothing told twice --------------
: >"$NOTIFY_LOG"
"$H" refresh --all >"$IT_DIR/r2.out" 2>"$IT_DIR/log/r2.err" || true
want="refresh_failing cert
refresh_failing down"
[ "$(events)" = "$want" ] || it_fail "round 2 told: $(events | tr '\n' ';'), want: $(tr '\n' ';' <<<"$want")"
grep -q "^SASL_OAUTH2_MESSAGE=account down: cannot reach" "$NOTIFY_LOG" ||
    it_fail "refresh_failing without the sentence: $(grep MESSAGE= "$NOTIFY_LOG")"
: >"$NOTIFY_LOG"
"$H" refresh --all >"$IT_DIR/r3.out" 2>"$IT_DIR/log/r3.err" || true
[ -z "$(events)" ] || it_fail "round 3 told again within 15 minutes: $(events | tr '\n' ';')"
# 15 minutes later (the stamps aged), each is told again.
find "$store" -name '*.notified-*' -exec touch -d '16 minutes ago' {} +
"$H" refresh --all >"$IT_DIR/r4.out" 2>"$IT_DIR/log/r4.err" || true
[ "$(events | wc -l)" = 4 ] || it_fail "round 4 (stamps 16 min old): $(events | tr '\n' ';')"
it_log "rounds 2-4: refresh_failing after two failures, nothing twice in 15 minutes, then again"

# --- never a secret; a hanging command is killed; argv[0] must be absolute --
for s in "$secret" "$bogus_rt"; do
	! grep -rqF -e "$s" "$NOTIFY_LOG" "$IT_DIR/log" ||
	    it_fail "a secret reached the command or a log"
done
sed -i "s|notify_command = $IT_DIR/notify.sh\$|notify_command = $IT_DIR/hang.sh|" "$OA2_CONFIG"
rm -f "$store"/down.notified-* "$store"/cert.notified-*
t0=$SECONDS
"$H" refresh down >/dev/null 2>"$IT_DIR/log/hang.err" || true
[ $((SECONDS - t0)) -le 40 ] || it_fail "a hanging notify_command held refresh for $((SECONDS - t0)) s"
grep -q "account down: notify_command took more than 30 s and was killed" "$IT_DIR/log/hang.err" ||
    it_fail "hang: $(cat "$IT_DIR/log/hang.err")"
! pgrep -f "$IT_DIR/hang.sh" >/dev/null || it_fail "the hanging command outlived its kill"
sed -i "s|notify_command = $IT_DIR/hang.sh|notify_command = notify.sh|" "$OA2_CONFIG"
rm -f "$store"/down.notified-*
"$H" refresh down >/dev/null 2>"$IT_DIR/log/rel.err" || true
grep -q "account down: notify_command must start with an absolute path" "$IT_DIR/log/rel.err" ||
    it_fail "relative notify_command: $(cat "$IT_DIR/log/rel.err")"
it_log "no secret told; a hanging command killed at 30 s; a relative path refused"
it_pass
