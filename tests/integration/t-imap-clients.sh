#!/bin/bash
# t-imap-clients.sh: the plugin inside mbsync, imtest, smtptest and
# sasl-sample-client, with XOAUTH2 and OAUTHBEARER, against Dovecot (IMAPS
# and submission) checking tokens at the real identity provider.  No
# PassCmd, no password anywhere: the clients prompt for the mailbox only.
#
# Also: sasl-sample-client's initial responses byte for byte, and a token
# revoked at the IdP failing quickly in mbsync and imtest, the next login
# succeeding with a new token.
. "$(dirname "$0")/lib.sh"

it_require_root
it_require mbsync /usr/lib/cyrus/bin/imtest /usr/lib/cyrus/bin/smtptest \
    sasl-sample-client keyctl node dovecot base64
it_setup
idp_start
dovecot_start
it_install_products

mb=$IDP_RELAY_MAILBOX
oa2_config_init root
oa2_account relay root \
    "user=$mb" "provider=generic" "token_endpoint=$IDP_TOKEN_URL" \
    "client_id=$IDP_RELAY_BASIC_ID" "client_secret=$IDP_RELAY_BASIC_SECRET" \
    "scope=$IDP_CC_SCOPE" "flow=client_credentials"
oa2_env
dovecot_seed_message "$mb" "hello from the slice"
# mbsync checks the certificate's DNS name, never an IP address.
export MBSYNC_HOST=localhost

logins()
{
	grep -ci "Login: user=<$mb>, method=$1," "$IT_DIR/log/dovecot.log" ||
	    true
}

for mech in XOAUTH2 OAUTHBEARER; do
	oa2_key_clear root "$mb"
	before=$(logins $mech)
	mbsync_sync "$mb" $mech || it_fail "mbsync with $mech failed"
	[ "$(mbsync_count "$mb")" -ge 1 ] || it_fail "mbsync synced nothing"
	imtest_login "$mb" $mech || it_fail "imtest with $mech failed"
	smtptest_login "$mb" $mech || it_fail "smtptest with $mech failed"
	[ $(($(logins $mech) - before)) -eq 3 ] ||
	    it_fail "$mech: dovecot logged $(($(logins $mech) - before)) logins, want 3"
	it_log "$mech: mbsync, imtest and smtptest logged in"
done

# Byte for byte: what sasl-sample-client's libsasl2 got from the plugin.
tok=$(oa2_key_token root "$mb") || it_fail "no cached token"
want=$(printf 'XOAUTH2\0user=%s\001auth=Bearer %s\001\001' "$mb" "$tok" |
    base64 -w0)
got=$(sample_client_start "$mb" XOAUTH2 imap mail.example.test >/dev/null &&
    grep -m1 '^C: ' "$SAMPLE_CLIENT_OUT" | cut -c4-) || true
[ "$got" = "$want" ] || it_fail "XOAUTH2 initial response differs"
want=$(printf 'OAUTHBEARER\0n,a=%s,\001host=mail.example.test\001port=993\001auth=Bearer %s\001\001' \
    "$mb" "$tok" | base64 -w0)
got=$(SAMPLE_CLIENT_REMOTE="127.0.0.1;993" \
    sample_client_start "$mb" OAUTHBEARER imap mail.example.test \
    >/dev/null && grep -m1 '^C: ' "$SAMPLE_CLIENT_OUT" | cut -c4-) || true
[ "$got" = "$want" ] || it_fail "OAUTHBEARER initial response differs"
it_log "sasl-sample-client: both initial responses byte for byte"
# Without -u it registers no authzid callback, like Postfix's default: a
# password host, to which libsasl2 never offers our mechanisms.
for mech in XOAUTH2 OAUTHBEARER; do
	if SAMPLE_CLIENT_AUTHZID= sample_client_start "$mb" $mech >/dev/null; then
		it_fail "sasl-sample-client without -u got $mech"
	fi
done
it_log "sasl-sample-client without an authzid: no XOAUTH2, no OAUTHBEARER"

# Revoked while cached: a quick, clean failure, then a new token.
revoked_round()
{
	local client=$1 mech=$2 old new start
	oa2_key_clear root "$mb"
	"$client" "$mb" $mech || it_fail "$client $mech: first login failed"
	old=$(oa2_key_token root "$mb") || it_fail "$client: nothing cached"
	idp_revoke "$old"
	start=$SECONDS
	if "$client" "$mb" $mech; then
		it_fail "$client $mech: logged in with a revoked token"
	fi
	[ $((SECONDS - start)) -le 10 ] ||
	    it_fail "$client $mech: the failure took $((SECONDS - start)) s"
	! oa2_key_present root "$mb" ||
	    it_fail "$client $mech: the rejected token is still cached"
	"$client" "$mb" $mech || it_fail "$client $mech: the next login failed"
	new=$(oa2_key_token root "$mb") || it_fail "$client: nothing cached"
	[ "$new" != "$old" ] || it_fail "$client $mech: the revoked token came back"
	it_log "$client $mech: revoked token refused in $((SECONDS - start)) s or less, then a new token"
}
revoked_round mbsync_sync XOAUTH2
revoked_round mbsync_sync OAUTHBEARER
revoked_round imtest_login XOAUTH2
revoked_round imtest_login OAUTHBEARER

if grep -rqF -e "$IDP_RELAY_BASIC_SECRET" "$IT_DIR/log"; then
	it_fail "the client secret appears in a log"
fi
oa2_key_clear root "$mb"
it_pass
