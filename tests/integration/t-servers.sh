#!/bin/bash
# t-servers.sh: the integration harness tests itself.  Starts the test IdP
# (oidc-provider) and a private Dovecot + smtp-sink, then checks with curl,
# openssl and bash only (plus the harness's own browser.mjs for the device
# flow) that OAuth2 logins behave as the other tests assume:
#   client-credentials tokens (basic and post) introspect with the mailbox;
#   IMAP OAUTHBEARER (plain, STARTTLS, IMAPS) and XOAUTH2 (by hand) log in;
#   bad tokens fail fast (no auth penalty) with the RFC challenge; revoked
#   tokens fail; submission relays to the sink; PLAIN coexists; seeded mail
#   is visible; user tokens (device flow) work, refresh tokens rotate and
#   reuse revokes the grant; the counters count; no token reaches a log.
#
# SECRETS: throw-away test tokens and client secrets of the local IdP only;
# failures report token lengths, never tokens.

. "$(dirname "$0")/lib.sh"

it_require_root
it_require curl openssl base64 node
it_setup
idp_start
dovecot_start

RELAY=$IDP_RELAY_MAILBOX
TOKENS=""	# every token seen, to check the logs at the end

# ---- small helpers -------------------------------------------------------
now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

xoauth2_ir()	# USER TOKEN
{
	printf 'user=%s\001auth=Bearer %s\001\001' "$1" "$2" | base64 -w0
}

oauthbearer_ir()	# USER TOKEN PORT
{
	printf 'n,a=%s,\001host=127.0.0.1\001port=%s\001auth=Bearer %s\001\001' \
	    "$1" "$3" "$2" | base64 -w0
}

# _imap_auth_fds RFD WFD MECH IR ANSWER: one AUTHENTICATE on an open IMAP
# connection; a "+" challenge is printed and answered with ANSWER; prints
# the tagged reply last.
_imap_auth_fds()
{
	local r=$1 w=$2 mech=$3 ir=$4 answer=$5 line
	IFS= read -r -t 10 line <&"$r" || { echo "no greeting"; return 0; }
	printf 'a1 AUTHENTICATE %s %s\r\n' "$mech" "$ir" >&"$w"
	while IFS= read -r -t 10 line <&"$r"; do
		line=${line%$'\r'}
		case $line in
		"+"*)	printf '%s\n' "$line"
			printf '%s\r\n' "$answer" >&"$w" ;;
		"a1 "*)	printf '%s\n' "$line"
			{ printf 'a2 LOGOUT\r\n' >&"$w"; } 2>/dev/null || true
			return 0 ;;
		esac
	done
	echo "no tagged reply"
}

# imap_auth_tcp MECH IR [ANSWER]: over plaintext 127.0.0.1:$IMAP_PORT.
imap_auth_tcp()
{
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$IMAP_PORT"
	_imap_auth_fds "$fd" "$fd" "$1" "$2" "${3:-}"
	exec {fd}<&-
}

# imap_auth_tls MECH IR [ANSWER]: over IMAPS, certificate verified.
imap_auth_tls()
{
	local out
	coproc TLS { openssl s_client -quiet -verify_return_error \
	    -CAfile "$IT_CA_FILE" -verify_ip 127.0.0.1 \
	    -connect "127.0.0.1:$IMAPS_PORT" 2>>"$IT_DIR/log/s_client.log"; }
	out=$(_imap_auth_fds "${TLS[0]}" "${TLS[1]}" "$1" "$2" "${3:-}")
	kill "$TLS_PID" 2>/dev/null || true
	wait "$TLS_PID" 2>/dev/null || true
	printf '%s\n' "$out"
}

# curl_imap TOKEN [USER] [URL-suffix] [curl args...]: curl picks OAUTHBEARER.
curl_imap()
{
	local tok=$1 user=${2:-$RELAY} path=${3:-}
	shift 3 2>/dev/null || shift $#
	curl -sS --max-time 10 "$@" --user "$user" --oauth2-bearer "$tok" \
	    "imap://127.0.0.1:$IMAP_PORT/$path"
}

expect_ok()	# WHAT REPLY
{
	case $(printf '%s\n' "$2" | tail -n 1) in
	"a1 OK"*) it_log "ok: $1" ;;
	*) it_fail "$1: expected a1 OK, got: $(printf '%s' "$2" | tail -n 1)" ;;
	esac
}

expect_no()	# WHAT REPLY
{
	case $(printf '%s\n' "$2" | tail -n 1) in
	"a1 NO"*) it_log "ok: $1" ;;
	*) it_fail "$1: expected a1 NO, got: $(printf '%s' "$2" | tail -n 1)" ;;
	esac
}

# ---- client credentials at the IdP ---------------------------------------
idp_reset
TB=$(idp_cc_token "$IDP_RELAY_BASIC_ID" "$IDP_RELAY_BASIC_SECRET" basic) ||
    it_fail "no client-credentials token (client_secret_basic)"
TP=$(idp_cc_token "$IDP_RELAY_POST_ID" "$IDP_RELAY_POST_SECRET" post) ||
    it_fail "no client-credentials token (client_secret_post)"
TOKENS="$TB $TP"
[ "$TB" != "$TP" ] || it_fail "two token requests gave the same token"
it_log "ok: client-credentials tokens, basic (${#TB} chars) and post (${#TP} chars)"
idp_cc_token "$IDP_RELAY_BASIC_ID" wrong-secret basic >/dev/null 2>&1 &&
    it_fail "a wrong client secret got a token"

[ "$(idp_stats token_requests)" = 3 ] ||
    it_fail "token_requests: want 3, stats say $(idp_stats)"
[ "$(idp_stats client_credentials)" = 3 ] ||
    it_fail "by_grant.client_credentials: want 3, stats say $(idp_stats)"
it_log "ok: idp_stats counts token requests"

intro=$(idp_introspect "$TB")
case $intro in
*'"active":true'*'"email":"'"$IDP_RELAY_MAILBOX"'"'*) it_log "ok: introspection has active + email" ;;
*) it_fail "introspection lacks active/email: $intro" ;;
esac

# ---- IMAP OAUTHBEARER via curl --------------------------------------------
out=$(curl_imap "$TB") || it_fail "curl OAUTHBEARER login (plaintext) failed"
case $out in *INBOX*) ;; *) it_fail "no INBOX in LIST: $out" ;; esac
it_log "ok: IMAP OAUTHBEARER (plaintext) via curl"
curl_imap "$TP" "" "" --ssl-reqd --cacert "$IT_CA_FILE" >/dev/null ||
    it_fail "curl OAUTHBEARER login with STARTTLS failed"
it_log "ok: IMAP OAUTHBEARER with STARTTLS via curl"
curl -sS --max-time 10 --cacert "$IT_CA_FILE" --user "$RELAY" \
    --oauth2-bearer "$TP" "imaps://127.0.0.1:$IMAPS_PORT/" >/dev/null ||
    it_fail "curl OAUTHBEARER login over IMAPS failed"
it_log "ok: IMAPS OAUTHBEARER via curl (certificate verified)"

# ---- by hand: XOAUTH2 and OAUTHBEARER --------------------------------------
expect_ok "IMAP XOAUTH2 by hand (plaintext)" \
    "$(imap_auth_tcp XOAUTH2 "$(xoauth2_ir "$RELAY" "$TB")")"
expect_ok "IMAPS XOAUTH2 by hand (openssl s_client)" \
    "$(imap_auth_tls XOAUTH2 "$(xoauth2_ir "$RELAY" "$TP")")"
expect_ok "IMAP OAUTHBEARER by hand (n,a=user)" \
    "$(imap_auth_tcp OAUTHBEARER "$(oauthbearer_ir "$RELAY" "$TB" "$IMAP_PORT")")"
expect_no "XOAUTH2 with a user other than the token's email" \
    "$(imap_auth_tcp XOAUTH2 "$(xoauth2_ir other@example.test "$TB")")"

# ---- bad tokens fail, and fail fast -----------------------------------------
BOGUS=bogus-$RANDOM-not-a-token
for round in 1 2; do
	t0=$(now_ms)
	reply=$(imap_auth_tcp XOAUTH2 "$(xoauth2_ir "$RELAY" "$BOGUS")" "")
	t1=$(now_ms)
	expect_no "bogus XOAUTH2 token refused (round $round, $((t1 - t0)) ms)" "$reply"
	[ $((t1 - t0)) -lt 2000 ] ||
	    it_fail "bogus token took $((t1 - t0)) ms: auth penalty/failure delay not off"
	chal=$(printf '%s\n' "$reply" | sed -n 's/^+ //p' | head -n 1 | base64 -d 2>/dev/null)
	case $chal in
	*'"status"'*) ;;
	*) it_fail "XOAUTH2 failure without a JSON challenge: $(printf '%s\n' "$reply" | head -n 1)" ;;
	esac
done
it_log "ok: XOAUTH2 failure sends a JSON challenge, answered with an empty line"

reply=$(imap_auth_tcp OAUTHBEARER "$(oauthbearer_ir "$RELAY" "$BOGUS" "$IMAP_PORT")" AQ==)
expect_no "bogus OAUTHBEARER token refused (challenge answered with %x01)" "$reply"
t0=$(now_ms)
curl_imap "$BOGUS" >/dev/null 2>&1 && it_fail "curl logged in with a bogus token"
t1=$(now_ms)
[ $((t1 - t0)) -lt 2000 ] || it_fail "curl with a bogus token took $((t1 - t0)) ms"
it_log "ok: curl with a bogus token refused in $((t1 - t0)) ms"

# ---- revoked at the IdP -----------------------------------------------------
idp_revoke "$TB" || it_fail "idp_revoke failed"
case $(idp_introspect "$TB") in
*'"active":false'*) ;;
*) it_fail "revoked token still active at the IdP" ;;
esac
curl_imap "$TB" >/dev/null 2>&1 && it_fail "a revoked token still logs in"
curl_imap "$TP" >/dev/null || it_fail "revoking one token broke another"
it_log "ok: a revoked token is refused, others still work"

# ---- submission relays to the sink ----------------------------------------
SUBJECT="t-servers $$ $RANDOM"
printf '%s\r\n' "From: $RELAY" "To: rcpt@example.test" "Subject: $SUBJECT" \
    "" "hello from t-servers" >"$IT_DIR/msg.eml"
curl -sS --max-time 15 --ssl-reqd --cacert "$IT_CA_FILE" \
    --user "$RELAY" --oauth2-bearer "$TP" \
    --mail-from "$RELAY" --mail-rcpt rcpt@example.test \
    --upload-file "$IT_DIR/msg.eml" "smtp://127.0.0.1:$SUBMISSION_PORT" ||
    it_fail "submission with OAUTHBEARER (STARTTLS) failed"
sink_wait 1 10 || it_fail "the sink got no message"
sink_grep "^Subject: $SUBJECT" >/dev/null || it_fail "the sink's message lacks the subject"
curl -sS --max-time 10 --user "$RELAY" --oauth2-bearer "$BOGUS" \
    --mail-from "$RELAY" --mail-rcpt rcpt@example.test \
    --upload-file "$IT_DIR/msg.eml" "smtp://127.0.0.1:$SUBMISSION_PORT" 2>/dev/null &&
    it_fail "submission accepted a bogus token"
[ "$(sink_count)" = 1 ] || it_fail "the sink holds $(sink_count) messages, want 1"
it_log "ok: submission AUTH OAUTHBEARER delivers to the sink; a bogus token does not"

# ---- PLAIN coexists -----------------------------------------------------------
curl -sS --max-time 10 --login-options AUTH=PLAIN \
    --user "$PLAIN_USER:$PLAIN_PASSWORD" "imap://127.0.0.1:$IMAP_PORT/" >/dev/null ||
    it_fail "PLAIN login of $PLAIN_USER failed"
curl -sS --max-time 10 --login-options AUTH=PLAIN \
    --user "$PLAIN_USER:wrong" "imap://127.0.0.1:$IMAP_PORT/" >/dev/null 2>&1 &&
    it_fail "PLAIN login with a wrong password worked"
it_log "ok: PLAIN for $PLAIN_USER"

# ---- seeded mail is visible --------------------------------------------------
dovecot_seed_message "$RELAY" "seeded $$"
out=$(curl_imap "$TP" "" "INBOX;UID=1") || it_fail "cannot fetch the seeded message"
case $out in *"Subject: seeded $$"*) ;; *) it_fail "seeded message not in INBOX" ;; esac
it_log "ok: dovecot_seed_message + fetch"

# ---- a user token (device flow), refresh rotation, reuse detection ------------
idp_reset
dev=$(curl -sS --max-time 10 --data-urlencode "client_id=$IDP_MUA_ID" \
    --data-urlencode "scope=openid email offline_access https://outlook.office.com/IMAP.AccessAsUser.All" \
    "$IDP_DEVICE_URL") || it_fail "device authorization request failed"
device_code=$(idp_json_field "$dev" device_code)
user_code=$(idp_json_field "$dev" user_code)
[ -n "$device_code" ] || it_fail "no device code"
[ -n "$user_code" ] || it_fail "no user code"
poll()
{
	curl -sS --max-time 10 --data-urlencode "client_id=$IDP_MUA_ID" \
	    --data-urlencode "grant_type=urn:ietf:params:oauth:grant-type:device_code" \
	    --data-urlencode "device_code=$device_code" "$IDP_TOKEN_URL"
}
case $(poll) in *authorization_pending*) ;; *) it_fail "device poll before approval not pending" ;; esac
idp_browser --device "$user_code" alice@example.test >/dev/null ||
    it_fail "browser.mjs could not approve the device code"
tok=$(poll)
AT=$(idp_json_field "$tok" access_token)
RT=$(idp_json_field "$tok" refresh_token)
if [ -z "$AT" ] || [ -z "$RT" ]; then
	it_fail "device flow: no access+refresh token ($(idp_json_field "$tok" error))"
fi
TOKENS="$TOKENS $AT $RT"
curl_imap "$AT" alice@example.test >/dev/null || it_fail "alice's user token does not log in"
curl_imap "$AT" bob@example.test >/dev/null 2>&1 && it_fail "alice's token logs in as bob"
it_log "ok: device-flow user token logs in as alice@example.test (only)"

refresh()
{
	curl -sS --max-time 10 --data-urlencode "client_id=$IDP_MUA_ID" \
	    --data-urlencode grant_type=refresh_token \
	    --data-urlencode "refresh_token=$1" "$IDP_TOKEN_URL"
}
tok=$(refresh "$RT")
AT2=$(idp_json_field "$tok" access_token)
RT2=$(idp_json_field "$tok" refresh_token)
if [ -z "$AT2" ] || [ -z "$RT2" ]; then
	it_fail "refresh failed: $(idp_json_field "$tok" error)"
fi
[ "$RT2" != "$RT" ] || it_fail "the refresh token did not rotate"
TOKENS="$TOKENS $AT2 $RT2"
curl_imap "$AT2" alice@example.test >/dev/null || it_fail "the refreshed token does not log in"
case $(refresh "$RT") in *invalid_grant*) ;; *) it_fail "reusing a rotated refresh token did not fail" ;; esac
case $(refresh "$RT2") in *invalid_grant*) ;; *) it_fail "reuse detection did not revoke the grant" ;; esac
curl_imap "$AT2" alice@example.test >/dev/null 2>&1 &&
    it_fail "an access token of a revoked grant still logs in"
[ "$(idp_stats grants_revoked)" = 1 ] || it_fail "grants_revoked: want 1: $(idp_stats)"
[ "$(idp_stats refresh_token)" = 3 ] || it_fail "by_grant.refresh_token: want 3: $(idp_stats)"
it_log "ok: refresh tokens rotate; reuse revokes the grant and is counted"
idp_reset
[ "$(idp_stats token_requests)" = 0 ] || it_fail "idp_reset did not zero the counters"

# ---- no token in any log -----------------------------------------------------------
for t in $TOKENS $BOGUS; do
	for f in "$IT_DIR"/log/*; do
		grep -qF -- "$t" "$f" && it_fail "a token (${#t} chars) appears in $(basename "$f")"
	done
done
it_log "ok: no token in the logs"

it_pass
