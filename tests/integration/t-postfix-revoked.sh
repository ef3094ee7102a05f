#!/bin/bash
# t-postfix-revoked.sh: a token revoked at the identity provider while it
# sits in the cache.  Postfix's next login must fail cleanly and quickly
# (Dovecot's error challenge answered, the message deferred, no crash, no
# hang), the plugin must drop the cached token, and the retry must log in
# with a new token from the helper.
. "$(dirname "$0")/lib.sh"

it_require_root
it_require postfix sendmail keyctl runuser node dovecot
it_setup
idp_start
dovecot_start
it_install_products

mb=$IDP_RELAY_MAILBOX
oa2_config_init postfix
oa2_account relay postfix \
    "user=$mb" "provider=generic" "token_endpoint=$IDP_TOKEN_URL" \
    "client_id=$IDP_RELAY_BASIC_ID" "client_secret=$IDP_RELAY_BASIC_SECRET" \
    "scope=$IDP_CC_SCOPE" "flow=client_credentials"
oa2_env
oa2_key_clear postfix "$mb"

for mech in xoauth2 oauthbearer; do
	postfix_start "$SUBMISSION_PORT" mech=$mech mailbox="$mb"
	n=$(sink_count)
	postfix_send "$mb" rcpt@example.test "before revocation $mech"
	sink_wait $((n + 1)) 30 || it_fail "$mech: first message not relayed"
	postfix_no_deferral "$mech: before revocation"
	failed0=$(grep -c "auth failed" "$IT_DIR/log/dovecot.log") || failed0=0
	old=$(oa2_key_token postfix "$mb") || it_fail "$mech: no cached token"
	idp_revoke "$old"

	start=$SECONDS
	postfix_send "$mb" rcpt@example.test "after revocation $mech"
	postfix_wait_log "status=deferred \(SASL authentication failed" 20 ||
	    it_fail "$mech: no clean SASL failure logged"
	[ $((SECONDS - start)) -le 10 ] ||
	    it_fail "$mech: the failure took $((SECONDS - start)) s"
	grep -qE "server rejected the token for $mb: status=(401|invalid_token) " \
	    "$POSTFIX_LOG" ||
	    it_fail "$mech: the plugin did not log the server's rejection"
	# Dovecot refused the revoked token: no login between the two sent.
	# (counted from before this round: the last round's does not count)
	failed1=$(grep -c "auth failed" "$IT_DIR/log/dovecot.log") || failed1=0
	[ "$failed1" -gt "$failed0" ] ||
	    it_fail "$mech: dovecot logged no failed login"
	# Postfix may already have retried; the retry needs a fresh token.
	postfix_flush
	sink_wait $((n + 2)) 30 || it_fail "$mech: the retry was not relayed"
	new=$(oa2_key_token postfix "$mb") || it_fail "$mech: nothing cached after retry"
	[ "$new" != "$old" ] || it_fail "$mech: the retry reused the revoked token"
	it_log "$mech: revoked token refused in $((SECONDS - start)) s or less; retry used a new token"
	postfix_stop
	: >"$POSTFIX_LOG"
done
left=$(_postfix_instance_pids)
[ -z "$left" ] || it_fail "postfix processes left behind: $left"
oa2_key_clear postfix "$mb"
it_pass
