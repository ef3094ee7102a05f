#!/bin/bash
# t-login.sh: "log in once, stay logged in" against the real identity
# provider at its defaults (offline_access only with prompt=consent):
# authorization code + PKCE through the loopback listener (the browser
# played by idp/browser.mjs; RFC 9207's iss checked), the device grant
# approved by script, discovery from the issuer, refresh with rotation
# saved, 50 concurrent "token" calls making exactly one refresh request
# (counted at the IdP), 20 rounds of such storms for each account without
# losing a rotated refresh token (the IdP revokes the whole grant on
# reuse: grants_revoked stays 0), invalid_grant
# after revocation, logout --revoke, status, and mbsync through the plugin
# with the interactively logged-in account.
. "$(dirname "$0")/lib.sh"

it_require_root
it_require node keyctl mbsync dovecot
it_setup
idp_start IDP_AT_TTL=600
dovecot_start
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER

alice="alice.$$@example.test"
bob="bob.$$@example.test"
oa2_config_init root
oa2_account work root "user=$alice" "provider=generic" "issuer=$IDP_ISSUER" \
    "client_id=$IDP_MUA_ID" \
    "scope=openid email offline_access https://outlook.office.com/IMAP.AccessAsUser.All"
oa2_account dev root "user=$bob" "provider=generic" "issuer=$IDP_ISSUER" \
    "client_id=$IDP_MUA_SECRET_ID" "client_secret=$IDP_MUA_SECRET_SECRET" \
    "scope=openid email offline_access" "flow=device_code"
oa2_env

store_rt() # ACCOUNT: the stored refresh token
{
	sed -n 's/.*"refresh_token": *"\([^"]*\)".*/\1/p' \
	    "$XDG_STATE_HOME/sasl-oauth2/$1.json"
}

# --- authorization code + PKCE, loopback redirect ---------------------
"$H" login --no-browser --timeout 60 work 2>"$IT_DIR/log/login.err" &
lpid=$!
for _ in $(seq 1 100); do
	url=$(grep -m1 -o "$IDP_ISSUER/auth?[^ ]*" "$IT_DIR/log/login.err") &&
	    break
	sleep 0.1
done
[ -n "${url:-}" ] || it_fail "login printed no authorization URL"
case $url in
*code_challenge_method=S256*state=*|*state=*code_challenge_method=S256*) ;;
*) it_fail "the authorization URL lacks PKCE S256 or state" ;;
esac
idp_browser "$url" "$alice" >"$IT_DIR/log/browser.log" 2>&1 ||
    it_fail "the scripted browser could not complete the login"
wait $lpid || it_fail "login exited $? ($(cat "$IT_DIR/log/login.err"))"
grep -q "logged in as $alice" "$IT_DIR/log/login.err" ||
    it_fail "login did not confirm"
# OpenID Connect Core 1.0 section 11: without prompt=consent the IdP
# (at its defaults) drops offline_access and issues no refresh token.
[ -f "$XDG_STATE_HOME/sasl-oauth2/work.json" ] ||
    it_fail "no refresh token stored ($(cat "$IT_DIR/log/login.err"))"
[ "$(stat -c %a "$XDG_STATE_HOME/sasl-oauth2")" = 700 ] || it_fail "state dir not 0700"
[ "$(stat -c %a "$XDG_STATE_HOME/sasl-oauth2/work.json")" = 600 ] ||
    it_fail "store file not 0600"
rt1=$(store_rt work)
[ -n "$rt1" ] || it_fail "no refresh token stored"
it_log "authorization code login: ok, refresh token stored 0600"

# --- RFC 9207: a redirect naming another issuer is refused ---------------
# The IdP's discovery promises iss; a redirect that names another issuer
# (a mix-up attack) or none is refused before the code is redeemed.
login_iss() # ISS_IN_REDIRECT: the login's exit code; stderr in login-iss.err
{
	local lurl rc=0
	oa2_key_clear root "mixup.$$@example.test"
	: >"$IT_DIR/log/login-iss.err" # not the last call's URL (a race)
	"$H" login --no-browser --timeout 30 mixup 2>"$IT_DIR/log/login-iss.err" &
	lpid=$!
	lurl=$(idp_auth_url "$IT_DIR/log/login-iss.err")
	BROWSER_ISS=$1 idp_browser "$lurl" "mixup.$$@example.test" \
	    >"$IT_DIR/log/browser-iss.log" 2>&1 || it_fail "browser failed (iss $1)"
	wait $lpid || rc=$?
	echo $rc
}
oa2_account mixup root "user=mixup.$$@example.test" "provider=generic" \
    "issuer=$IDP_ISSUER" "client_id=$IDP_MUA_ID" "scope=openid email offline_access"
c0=$(idp_stats authorization_code)
rc=$(login_iss "http://127.0.0.1:1/evil")
[ "$rc" = 77 ] || it_fail "a redirect from another issuer: exit $rc, want 77"
grep -q "comes from issuer http://127.0.0.1:1/evil, not from $IDP_ISSUER (RFC 9207)" \
    "$IT_DIR/log/login-iss.err" || it_fail "iss mismatch: $(cat "$IT_DIR/log/login-iss.err")"
rc=$(login_iss -)
[ "$rc" = 77 ] || it_fail "a redirect without iss: exit $rc, want 77"
grep -q "names no issuer although $IDP_ISSUER promises to" "$IT_DIR/log/login-iss.err" ||
    it_fail "iss missing: $(cat "$IT_DIR/log/login-iss.err")"
[ "$(idp_stats authorization_code)" = "$c0" ] || it_fail "a refused code was redeemed"
[ ! -e "$XDG_STATE_HOME/sasl-oauth2/mixup.json" ] || it_fail "a refused login stored a token"
rc=$(login_iss "$IDP_ISSUER")
[ "$rc" = 0 ] || it_fail "the right iss: exit $rc ($(cat "$IT_DIR/log/login-iss.err"))"
it_log "RFC 9207: another issuer and a missing iss refused, the right one accepted"

# --- login redeems the code and saves under the account's lock ---------
# A refresh of the old grant finishing after the login's save would put
# its rotated refresh token over the new one: so while another process
# holds the lock, the login waits before it redeems the code.
rm -f "$XDG_STATE_HOME/sasl-oauth2/mixup.json"
exec 9>>"$XDG_STATE_HOME/sasl-oauth2/mixup.lock"
flock 9
"$H" login --no-browser --timeout 30 mixup 2>"$IT_DIR/log/login-lock.err" 9>&- &
lpid=$!
lurl=$(idp_auth_url "$IT_DIR/log/login-lock.err")
c0=$(idp_stats authorization_code)
idp_browser "$lurl" "mixup.$$@example.test" >"$IT_DIR/log/browser-lock.log" 2>&1 ||
    it_fail "browser failed (lock)"
sleep 2
[ ! -e "$XDG_STATE_HOME/sasl-oauth2/mixup.json" ] ||
    it_fail "login saved a refresh token while another process held the account's lock"
[ "$(idp_stats authorization_code)" = "$c0" ] ||
    it_fail "login redeemed the code while another process held the account's lock"
exec 9>&-
wait $lpid || it_fail "login after the lock was released: $(cat "$IT_DIR/log/login-lock.err")"
[ -e "$XDG_STATE_HOME/sasl-oauth2/mixup.json" ] || it_fail "login saved nothing after the lock"
it_log "login waits for the account's lock to redeem the code and save"

# The token command answers from the cache: no request.
n0=$(idp_stats token_requests)
t1=$("$H" token work) || it_fail "token after login failed"
[ "$(idp_stats token_requests)" = "$n0" ] || it_fail "a cached token cost a request"

# --- refresh with rotation --------------------------------------------
r0=$(idp_stats refresh_token)
t2=$("$H" token --min-ttl 700 work) || it_fail "refresh failed"
[ $(($(idp_stats refresh_token) - r0)) -eq 1 ] || it_fail "refresh: not one request"
[ "$t2" != "$t1" ] || it_fail "refresh returned the old access token"
rt2=$(store_rt work)
[ -n "$rt2" ] && [ "$rt2" != "$rt1" ] || it_fail "the rotated refresh token was not saved"
it_log "refresh: one request, rotated refresh token saved"

# --- storms: 50 concurrent callers, one request per round -------------
# storms ACCOUNT MAILBOX: 20 rounds; each round the access token has
# expired (the kernel dropped the key) and 50 callers want one.
storms()
{
	local a=$1 mb=$2 round r0 pids i got
	for round in $(seq 1 20); do
		oa2_key_clear root "$mb"
		r0=$(idp_stats refresh_token)
		rm -f "$IT_DIR"/storm.*
		pids=""
		for i in $(seq 1 50); do
			("$H" token "$a" >"$IT_DIR/storm.$i" 2>&1 ||
			    echo "exit $?" >>"$IT_DIR/storm.$i") &
			pids="$pids $!"
		done
		# shellcheck disable=SC2086
		wait $pids
		grep -l "exit\|sasl-oauth2:" "$IT_DIR"/storm.* >/dev/null 2>&1 &&
		    it_fail "$a storm $round: some callers failed: $(cat "$IT_DIR"/storm.* | grep -m3 -v '^[A-Za-z0-9._-]*$')"
		[ "$(sort -u "$IT_DIR"/storm.* | wc -l)" = 1 ] ||
		    it_fail "$a storm $round: callers got different tokens"
		got=$(($(idp_stats refresh_token) - r0))
		[ $got -eq 1 ] || it_fail "$a storm $round: $got refresh requests for 50 callers"
	done
	[ "$(idp_stats grants_revoked)" = 0 ] ||
	    it_fail "$a: a rotated refresh token was lost (the IdP saw one reused)"
	it_log "$a: 20 storms of 50 callers: 1 refresh request each, no grant revoked"
}
storms work "$alice"

# --- the caller's deadline: no refresh that could be cut short ---------
# The plugin kills the helper at SASL_OAUTH2_DEADLINE; a refresh killed
# after the provider answered would lose the rotated refresh token, so
# with less time left than one request may take, the helper refuses.
monotonic_ms() { node -e 'console.log(String(process.hrtime.bigint() / 1000000n))'; }
oa2_key_clear root "$alice"
rt_before=$(store_rt work)
r0=$(idp_stats refresh_token)
rc=0
SASL_OAUTH2_HTTP_TIMEOUT=10 SASL_OAUTH2_DEADLINE=$(($(monotonic_ms) + 5000)) \
    "$H" token work >"$IT_DIR/dl.out" 2>"$IT_DIR/dl.err" || rc=$?
[ $rc = 75 ] || it_fail "a refresh without time to finish: exit $rc, want 75 ($(cat "$IT_DIR/dl.err"))"
grep -q "too little to finish a refresh" "$IT_DIR/dl.err" || it_fail "deadline: $(cat "$IT_DIR/dl.err")"
[ ! -s "$IT_DIR/dl.out" ] || it_fail "deadline: a token was printed"
[ "$(idp_stats refresh_token)" = "$r0" ] || it_fail "deadline: a refresh was sent anyway"
[ "$(store_rt work)" = "$rt_before" ] || it_fail "deadline: the stored refresh token changed"
SASL_OAUTH2_HTTP_TIMEOUT=10 SASL_OAUTH2_DEADLINE=$(($(monotonic_ms) + 30000)) \
    "$H" token work >"$IT_DIR/dl.out" 2>"$IT_DIR/dl.err" ||
    it_fail "a refresh with time enough failed: $(cat "$IT_DIR/dl.err")"
[ "$(idp_stats refresh_token)" = $((r0 + 1)) ] || it_fail "deadline: no refresh with time enough"
it_log "the caller's deadline: no refresh started without time to finish it"

# --- the plugin with the logged-in account: mbsync --------------------
dovecot_seed_message "$alice" "for alice"
export MBSYNC_HOST=localhost
mbsync_sync "$alice" XOAUTH2 || it_fail "mbsync (cached token) failed"
oa2_key_clear root "$alice"
mbsync_sync "$alice" OAUTHBEARER || it_fail "mbsync (refresh via helper) failed"
[ "$(mbsync_count "$alice")" -ge 1 ] || it_fail "mbsync synced nothing"
it_log "mbsync through the plugin: ok (cache, then refresh by the helper)"

# --- device grant --------------------------------------------------------
"$H" login --timeout 60 dev 2>"$IT_DIR/log/device.err" &
dpid=$!
for _ in $(seq 1 100); do
	code=$(sed -n 's/.*enter the code \([^ ]*\).*/\1/p' "$IT_DIR/log/device.err")
	[ -n "$code" ] && break
	sleep 0.1
done
[ -n "${code:-}" ] || it_fail "device login printed no user code: $(cat "$IT_DIR/log/device.err")"
idp_browser --device "$code" "$bob" >"$IT_DIR/log/device-browser.log" 2>&1 ||
    it_fail "the scripted device approval failed"
wait $dpid || it_fail "device login exited $?: $(cat "$IT_DIR/log/device.err")"
[ -n "$(store_rt dev)" ] || it_fail "device login stored no refresh token"
it_log "device grant: ok"
storms dev "$bob"

# --- status -----------------------------------------------------------
"$H" status >"$IT_DIR/status.txt" || it_fail "status failed"
grep -q "^work .*stored" "$IT_DIR/status.txt" || it_fail "status: work"
"$H" status --json | node -e '
	let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
	  const a = JSON.parse(s);
	  if (a.length !== 3 || !a[0].refresh_token || a[0].access_token_expires_in <= 0)
	    process.exit(1);
	});' || it_fail "status --json is wrong"

# --- a revoked refresh token: a clear "log in again", nothing lost ------
idp_revoke "$(store_rt work)"
out=$("$H" token --min-ttl 700 work 2>&1) && it_fail "token worked after revocation"
rc=$("$H" token --min-ttl 700 work >/dev/null 2>&1; echo $?)
[ "$rc" = 77 ] || it_fail "a revoked refresh token gave exit $rc, want 77"
case $out in
*"log in again"*"sasl-oauth2 login work"*) ;;
*) it_fail "unclear message: $out" ;;
esac
[ -f "$XDG_STATE_HOME/sasl-oauth2/work.json" ] || it_fail "the store was deleted"
it_log "revoked refresh token: exit 77, '$out'"

# --- logout --revoke ------------------------------------------------------
rt=$(store_rt dev)
"$H" logout --revoke dev 2>"$IT_DIR/log/logout.err" || it_fail "logout failed"
[ ! -e "$XDG_STATE_HOME/sasl-oauth2/dev.json" ] || it_fail "logout kept the store"
! oa2_key_present root "$bob" || it_fail "logout kept the cached token"
case $(idp_introspect "$rt") in
*'"active":false'*) ;;
*) it_fail "logout --revoke did not revoke the refresh token" ;;
esac
rc=$("$H" token dev >/dev/null 2>&1; echo $?)
[ "$rc" = 77 ] || it_fail "token after logout gave exit $rc, want 77"
it_log "logout --revoke: revoked at the IdP, forgotten here"

# No secret in anything we printed.
if grep -rqF -e "$rt1" -e "$rt2" -e "$t1" -e "$IDP_MUA_SECRET_SECRET" \
    "$IT_DIR/log"/login.err "$IT_DIR/log"/device.err "$IT_DIR/log"/logout.err \
    "$IT_DIR/status.txt"; then
	it_fail "a secret appears in the helper's output"
fi
oa2_key_clear root "$alice"
# --- the browser: the user's umask, and not waited for -----------------
# xdg-open's generic fallback runs $BROWSER in the foreground, so it may
# not end before the user closes the browser: the login must go on
# listening meanwhile.  The stand-in plays the browser, then stays open.
mkdir -p "$IT_DIR/fakebin"
cat >"$IT_DIR/fakebin/xdg-open" <<EOF
#!/bin/sh
umask >"$IT_DIR/xdg-open.umask"
echo \$\$ >"$IT_DIR/xdg-open.pid"
IDP_ISSUER=$IDP_ISSUER node "$IDP_BROWSER" "\$1" "web.$$@example.test" >"$IT_DIR/log/xdg-browser.log" 2>&1
exec sleep 60
EOF
chmod 755 "$IT_DIR/fakebin/xdg-open"
oa2_account web root "user=web.$$@example.test" "provider=generic" \
    "issuer=$IDP_ISSUER" "client_id=$IDP_MUA_ID" "scope=openid email offline_access"
rc=0
(umask 027 && PATH=$IT_DIR/fakebin:$PATH DISPLAY=:99 timeout 30 "$H" login --timeout 25 web \
    >/dev/null 2>"$IT_DIR/log/login-browser.err") || rc=$?
[ -s "$IT_DIR/xdg-open.pid" ] && kill "$(cat "$IT_DIR/xdg-open.pid")" 2>/dev/null
[ "$(cat "$IT_DIR/xdg-open.umask" 2>/dev/null)" = 0027 ] ||
    it_fail "xdg-open ran with umask '$(cat "$IT_DIR/xdg-open.umask" 2>/dev/null)', want the caller's 0027"
[ $rc = 0 ] || it_fail "login with a browser that stays open: exit $rc: $(cat "$IT_DIR/log/login-browser.err")"
grep -q "logged in as web.$$@example.test" "$IT_DIR/log/login-browser.err" ||
    it_fail "login with a browser that stays open: $(cat "$IT_DIR/log/login-browser.err")"
it_log "the browser is started with the caller's umask, and the login does not wait for it to close"

it_pass
