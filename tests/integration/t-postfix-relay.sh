#!/bin/bash
# t-postfix-relay.sh: the vertical slice.  Postfix's smtp client relays mail
# to Dovecot submission, authenticating with our plugin: XOAUTH2 with a
# client_secret_basic account, OAUTHBEARER with a client_secret_post one.
# The token comes from the real helper, run by the plugin as user postfix,
# from the real identity provider (client credentials grant); Dovecot checks
# it by introspection; the message must arrive at the sink behind Dovecot.
# The second message of each round must reuse the keyring-cached token.
# Then the guide's pacing for Microsoft's sending limits (postfix.md): three
# messages queued at once leave one after the other, 2 s apart.
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

# The guide's pacing for Microsoft's limits: three messages queued at once
# go out one after the other, 2 s apart, each relayed.
oa2_config_init postfix
oa2_account relay postfix "user=$mb" "provider=generic" \
    "token_endpoint=$IDP_TOKEN_URL" "client_id=$IDP_RELAY_BASIC_ID" \
    "client_secret=$IDP_RELAY_BASIC_SECRET" "scope=$IDP_CC_SCOPE" \
    "flow=client_credentials"
oa2_env
mapfile -t limits < <(doc_postconf_args "$(doc_snippet postfix.md postfix-limits.cf)")
[ ${#limits[@]} = 2 ] || it_fail "postfix-limits.cf: ${#limits[@]} settings, want 2"
: >"$POSTFIX_LOG"
postfix_start "$SUBMISSION_PORT" mech=xoauth2 mailbox="$mb" "${limits[@]}"
[ "$(postconf -c "$POSTFIX_CONF" -h smtp_destination_rate_delay)" = 2s ] ||
    it_fail "the guide's rate delay did not reach main.cf"
n=$(sink_count)
for i in 1 2 3; do
	postfix_send "$mb" "rcpt@example.test" "paced $i"
done
sink_wait $((n + 3)) 40 || it_fail "the paced messages were not all relayed"
postfix_no_deferral "paced messages"
# seconds of the first and the last "status=sent" (syslog times, 1 s)
span=$(grep "status=sent" "$POSTFIX_LOG" | awk '{ split($3, t, ":");
	s = t[1] * 3600 + t[2] * 60 + t[3]; if (NR == 1) f = s; l = s }
	END { print l - f }')
[ "${span:-0}" -ge 3 ] ||
    it_fail "3 messages went out within $span s: the rate delay did not pace them"
it_log "the guide's limits: 3 messages relayed one after the other, over $span s"
postfix_stop

# No token or secret in any log.
tok=$(oa2_key_token postfix "$mb")
[ -n "$tok" ] || it_fail "no cached token to look for"
if grep -rqF -e "$tok" -e "$IDP_RELAY_BASIC_SECRET" -e "$IDP_RELAY_POST_SECRET" \
    "$IT_DIR/log"; then
	it_fail "a token or client secret appears in a log"
fi
oa2_key_clear postfix "$mb"
it_pass
