#!/bin/bash
# t-device-poll.sh: the device login (RFC 8628) rides out polls that get no
# answer.  The account's token_endpoint is pollproxy.mjs in front of the
# real IdP's: it resets the first poll and closes the first poll after an
# authorization_pending unanswered.  Each poll must be judged on its own
# outcome (a stale authorization_pending or a blip on the first poll must
# not decide), a blip retried quietly at the interval, and the login must
# succeed once the code is approved, with no transport error sentence and
# the refresh token stored.  Against a token endpoint that never answers,
# the login says once, at its deadline, that the last poll got no answer.
. "$(dirname "$0")/lib.sh"

it_require_root
it_require node keyctl
it_setup
idp_start
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER

# --- the proxy --------------------------------------------------------------
it_node_server pollproxy pollproxy.mjs "$IDP_TOKEN_URL"
PROXY=$IT_SERVER_URL

proxy_stat() # FIELD
{
	curl -sS --max-time 5 "$PROXY/_stats" | grep -o "\"$1\":[0-9]*" | cut -d: -f2
}

bob="bob.$$@example.test"
carol="carol.$$@example.test"
oa2_config_init root
oa2_account flaky root "user=$bob" "provider=generic" "issuer=$IDP_ISSUER" \
    "token_endpoint=$PROXY/flaky/token" \
    "client_id=$IDP_MUA_SECRET_ID" "client_secret=$IDP_MUA_SECRET_SECRET" \
    "scope=openid email offline_access" "flow=device_code"
oa2_account down root "user=$carol" "provider=generic" "issuer=$IDP_ISSUER" \
    "token_endpoint=$PROXY/down/token" \
    "client_id=$IDP_MUA_SECRET_ID" "client_secret=$IDP_MUA_SECRET_SECRET" \
    "scope=openid email offline_access" "flow=device_code"
oa2_env
it_on_cleanup "oa2_key_clear root '$bob'; oa2_key_clear root '$carol'"

user_code() # ERRFILE: wait for the user code the login prints
{
	local code=
	for _ in $(seq 1 100); do
		code=$(sed -n 's/.*enter the code \([^ ]*\).*/\1/p' "$1")
		[ -n "$code" ] && break
		sleep 0.1
	done
	printf '%s\n' "$code"
}

# --- blips on the first poll and after authorization_pending ------------------
err=$IT_DIR/log/flaky.err
"$H" login --timeout 60 flaky 2>"$err" &
lpid=$!
code=$(user_code "$err")
[ -n "$code" ] || it_fail "device login printed no user code: $(cat "$err")"
# Approve only once both blips happened, so that both are ridden out.
for _ in $(seq 1 200); do
	[ "$(proxy_stat dropped)" = 2 ] && break
	it_alive $lpid || break
	sleep 0.1
done
it_alive $lpid || it_fail "the login gave up on a poll that got no answer: $(cat "$err")"
[ "$(proxy_stat dropped)" = 2 ] || it_fail "the proxy dropped $(proxy_stat dropped) polls, want 2"
[ "$(proxy_stat pending)" -ge 1 ] || it_fail "no poll was answered authorization_pending"
idp_browser --device "$code" "$bob" >"$IT_DIR/log/flaky-browser.log" 2>&1 ||
    it_fail "the scripted device approval failed"
rc=0
wait $lpid || rc=$?
[ $rc = 0 ] || it_fail "device login through blips: exit $rc: $(cat "$err")"
grep -q "logged in as $bob.*refresh token stored" "$err" ||
    it_fail "device login did not confirm: $(cat "$err")"
! grep -qi "cannot reach\|no answer\|try again" "$err" ||
    it_fail "a poll that got no answer was reported: $(cat "$err")"
[ "$(proxy_stat ok)" = 1 ] || it_fail "the proxy forwarded $(proxy_stat ok) token answers, want 1"
rt=$(sed -n 's/.*"refresh_token": *"\([^"]*\)".*/\1/p' "$XDG_STATE_HOME/sasl-oauth2/flaky.json")
[ -n "$rt" ] || it_fail "device login stored no refresh token"
it_log "device polling: a reset first poll and a dropped poll after authorization_pending ridden out"

# --- a token endpoint that never answers: one sentence at the deadline ------
err=$IT_DIR/log/down.err
d0=$(proxy_stat dropped)
rc=0
start=$SECONDS
"$H" login --timeout 5 down 2>"$err" || rc=$?
[ $rc = 75 ] || it_fail "device login against a dead token endpoint: exit $rc, want 75: $(cat "$err")"
[ $((SECONDS - start)) -ge 3 ] || it_fail "the login gave up before its deadline: $(cat "$err")"
[ $(($(proxy_stat dropped) - d0)) -ge 2 ] || it_fail "a poll that got no answer was not retried"
n=$(grep -c "^sasl-oauth2: account down: " "$err")
# the code line, then exactly one sentence of why
[ "$n" = 2 ] || it_fail "want the code and one sentence, got: $(cat "$err")"
grep -q "^sasl-oauth2: account down: no approval arrived in time, and the last poll of the token endpoint got no answer (cannot reach $PROXY/down/token.*); check the network and token_endpoint, then run login again$" "$err" ||
    it_fail "unclear deadline message: $(cat "$err")"
[ ! -e "$XDG_STATE_HOME/sasl-oauth2/down.json" ] || it_fail "a failed login stored a token"
if grep -qF -e "$rt" -e "$IDP_MUA_SECRET_SECRET" "$IT_DIR"/log/flaky.err "$err"; then
	it_fail "a secret appears in the helper's output"
fi
it_log "device polling: a dead token endpoint reported once, at the deadline: '$(tail -n 1 "$err")'"

it_pass
