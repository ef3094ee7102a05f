#!/bin/bash
# t-postfix-relay.sh: the vertical slice.  Postfix's smtp client relays mail
# to Dovecot submission, authenticating with our plugin: XOAUTH2 with a
# client_secret_basic account, OAUTHBEARER with a client_secret_post one.
# The token comes from the real helper, run by the plugin as user postfix,
# from the real identity provider (client credentials grant); Dovecot checks
# it by introspection; the message must arrive at the sink behind Dovecot.
# The second message of each round must reuse the keyring-cached token.
. "$(dirname "$0")/lib.sh"

it_require_root
it_require postfix sendmail keyctl runuser node dovecot
it_setup
idp_start
dovecot_start
it_install_products

mb=$IDP_RELAY_MAILBOX

relay_round()
{
	local mech=$1 client_id=$2 secret=$3 auth=$4 before after n
	oa2_config_init postfix
	oa2_account relay postfix \
	    "user=$mb" \
	    "provider=generic" \
	    "token_endpoint=$IDP_TOKEN_URL" \
	    "client_id=$client_id" \
	    "client_secret=$secret" \
	    "client_auth=$auth" \
	    "scope=$IDP_CC_SCOPE" \
	    "flow=client_credentials"
	oa2_env
	oa2_key_clear postfix "$mb"
	before=$(idp_stats client_credentials)

	[ -n "${POSTFIX_LOG:-}" ] && : >"$POSTFIX_LOG"
	postfix_start "$SUBMISSION_PORT" mech="$mech" mailbox="$mb"
	n=$(sink_count)
	postfix_send "$mb" "rcpt@example.test" "slice $mech 1"
	sink_wait $((n + 1)) 30 || {
		postfix_wait_log "sasl" 1 || true
		it_fail "$mech: the first message was not relayed"
	}
	sink_grep "slice $mech 1" >/dev/null || it_fail "$mech: wrong message"
	postfix_wait_log "status=sent" 10 || it_fail "$mech: no status=sent"
	postfix_no_deferral "$mech: the first message"
	oa2_key_present postfix "$mb" ||
	    it_fail "$mech: the helper did not cache the token in postfix's keyring"

	postfix_send "$mb" "rcpt@example.test" "slice $mech 2"
	sink_wait $((n + 2)) 30 || it_fail "$mech: the second message was not relayed"
	postfix_no_deferral "$mech: the second message"
	after=$(idp_stats client_credentials)
	[ $((after - before)) -eq 1 ] ||
	    it_fail "$mech: $((after - before)) token requests for 2 logins (want 1: the cache)"
	# Dovecot logged two logins of that mailbox with that mechanism.
	n=$(grep -ci "Login: user=<$mb>, method=$mech," "$IT_DIR/log/dovecot.log") || n=0
	[ "$n" -ge 2 ] || it_fail "$mech: dovecot logged $n $mech logins (want 2)"
	it_log "$mech ($auth client auth): 2 messages relayed, 1 token request"
	postfix_stop
}

relay_round xoauth2 "$IDP_RELAY_BASIC_ID" "$IDP_RELAY_BASIC_SECRET" basic
relay_round oauthbearer "$IDP_RELAY_POST_ID" "$IDP_RELAY_POST_SECRET" post

# No token or secret in any log.
tok=$(oa2_key_token postfix "$mb")
[ -n "$tok" ] || it_fail "no cached token to look for"
if grep -rqF -e "$tok" -e "$IDP_RELAY_BASIC_SECRET" -e "$IDP_RELAY_POST_SECRET" \
    "$IT_DIR/log"; then
	it_fail "a token or client secret appears in a log"
fi
oa2_key_clear postfix "$mb"
it_pass
