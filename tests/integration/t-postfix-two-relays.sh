#!/bin/bash
# t-postfix-two-relays.sh: one Postfix, two relays, configured with the
# snippets of docs/postfix.md section 5: a password relay (the relayhost,
# transport smtp) and an OAuth2 relay (transport oauth, chosen by the
# sender's domain), each behind its own Dovecot, and both Dovecots offer
# PLAIN and XOAUTH2.  The password relay must log in with PLAIN, the OAuth2
# relay with XOAUTH2 (each Dovecot's log says which).
#
# Then the bar of issue 18: the password transport without its mechanism
# filter (a host configured before the plugin was installed) must still
# use PLAIN, with the plugin loaded before the stock plugins and after
# them (SASL_PATH order; t-mech-choice.sh covers readdir order).  Before
# the plugin required an authzid callback, the first of these rounds
# chose XOAUTH2 for the password relay.
#
# smtp runs chrooted, as the guide's master.cf says: the OAuth2 relay reads
# its token from user postfix's keyring, filled beforehand as the guide's
# token check does.
. "$(dirname "$0")/lib.sh"

it_require_root
it_require postfix postmap sendmail keyctl runuser node dovecot
it_setup
idp_start
export DOVECOT_AUTH_MECHANISMS="plain xoauth2"
dovecot_start password
PW_PORT=$SUBMISSION_PORT PW_LOG=$DOVECOT_LOG
dovecot_start oauth
OA_PORT=$SUBMISSION_PORT OA_LOG=$DOVECOT_LOG
it_install_products

mb=$IDP_RELAY_MAILBOX	# @example.test: the OAuth2 relay's domain
pw_sender="sender.$$@password.test"
PF_STATE=$IT_DIR/var-lib-sasl-oauth2-postfix
install -d -o postfix -g postfix -m 0700 "$PF_STATE"

oa2_config_init postfix
oa2_account relay postfix \
    "user=$mb" \
    "provider=generic" \
    "token_endpoint=$IDP_TOKEN_URL" \
    "client_id=$IDP_RELAY_BASIC_ID" \
    "client_secret=$IDP_RELAY_BASIC_SECRET" \
    "scope=$IDP_CC_SCOPE" \
    "flow=client_credentials"
oa2_env

# --- the guide's maps -------------------------------------------------------
maps=$IT_DIR/postfix-maps
mkdir -p "$maps"
doc_snippet postfix.md postfix-two-relays-sasl_passwd \
    "[smtp.example.net]:587" "[127.0.0.1]:$PW_PORT" \
    "alice@example.net:alice-password" "$PLAIN_USER:$PLAIN_PASSWORD" \
    "[smtp.office365.com]:587" "[127.0.0.1]:$OA_PORT" \
    relay@contoso.com "$mb" >"$maps/sasl_passwd"
chmod 0600 "$maps/sasl_passwd"
doc_snippet postfix.md postfix-two-relays-sender_transport \
    "@contoso.com" "@${mb#*@}" \
    "[smtp.office365.com]:587" "[127.0.0.1]:$OA_PORT" >"$maps/sender_transport"
postfix_postmap "hash:$maps/sasl_passwd" "hash:$maps/sender_transport" ||
    it_fail "postmap failed"
doc_snippet postfix.md postfix-two-relays-master.cf >"$maps/master.cf"
# The same without the password transport's filter: a host set up before
# the plugin was installed.
grep -vxF "  -o smtp_sasl_mechanism_filter=plain,login" "$maps/master.cf" \
    >"$maps/master-nofilter.cf"
[ "$(wc -l <"$maps/master-nofilter.cf")" -eq $(($(wc -l <"$maps/master.cf") - 1)) ] ||
    it_fail "the guide's master.cf has no 'smtp_sasl_mechanism_filter=plain,login' line"

# main_settings SASL_PATH: section 2's main.cf without the two lines the
# guide deletes and the relayhost it replaces, then section 5's lines; one
# postconf argument each.
main_settings()
{
	local main
	main=$(doc_snippet postfix.md postfix-main.cf \
	    /etc/postfix/sasl_passwd "$maps/sasl_passwd" \
	    "SASL_OAUTH2_CONFIG=/etc/sasl-oauth2/sasl-oauth2.conf" \
	    "SASL_OAUTH2_CONFIG=$OA2_CONFIG SASL_PATH=$1 SASL_OAUTH2_HELPER=$IT_HELPER" \
	    /var/lib/sasl-oauth2/postfix "$PF_STATE")
	doc_postconf_args "$main" |
	    grep -v -e '^smtp_sasl_mechanism_filter =' \
	    -e '^send_cyrus_sasl_authzid =' -e '^relayhost ='
	doc_postconf_args "$(doc_snippet postfix.md postfix-two-relays-main.cf \
	    "[smtp.example.net]:587" "[127.0.0.1]:$PW_PORT" \
	    /etc/postfix/sender_transport "$maps/sender_transport")"
}

# logins LOG MECH: how many logins with MECH that Dovecot log holds.
logins()
{
	grep -ci "Login: user=<[^>]*>, method=$2," "$1" || true
}

# round LABEL MASTER_CF SASL_PATH: one message through each relay.
round()
{
	local label=$1 master=$2 path=$3 n pw0 oa0
	local -a settings
	mapfile -t settings < <(main_settings "$path")
	[ ${#settings[@]} -ge 8 ] || it_fail "too few main.cf settings from the guide"
	# the guide's token check, as postfix: smtp is jailed, the keyring
	# is where it finds the token
	runuser -u postfix -- env SASL_OAUTH2_CONFIG="$OA2_CONFIG" \
	    XDG_STATE_HOME="$PF_STATE" "$IT_HELPER" token relay >/dev/null \
	    2>>"$IT_DIR/log/helper.log" || it_fail "$label: token relay as postfix failed"
	[ -n "${POSTFIX_LOG:-}" ] && : >"$POSTFIX_LOG"
	postfix_start "$PW_PORT" mech= authzid=no chroot=y tls=encrypt \
	    master_cf="$master" "${settings[@]}"
	pw0=$(logins "$PW_LOG" PLAIN)
	oa0=$(logins "$OA_LOG" XOAUTH2)
	n=$(sink_count)
	postfix_send "$pw_sender" rcpt@example.test "$label via password"
	postfix_send "$mb" rcpt@example.test "$label via oauth"
	sink_wait $((n + 2)) 30 || {
		postfix_wait_log "sasl" 1 || true
		it_fail "$label: $(($(sink_count) - n)) of 2 messages relayed"
	}
	postfix_wait_log "status=sent" 10 2 || it_fail "$label: no two status=sent"
	grep -q "relay=127.0.0.1\[127.0.0.1\]:$PW_PORT, .*status=sent" "$POSTFIX_LOG" ||
	    it_fail "$label: nothing went out through the password relay"
	grep -q "relay=127.0.0.1\[127.0.0.1\]:$OA_PORT, .*status=sent" "$POSTFIX_LOG" ||
	    it_fail "$label: nothing went out through the OAuth2 relay"
	[ "$(logins "$PW_LOG" PLAIN)" -eq $((pw0 + 1)) ] ||
	    it_fail "$label: the password relay did not log in with PLAIN"
	[ "$(logins "$OA_LOG" XOAUTH2)" -eq $((oa0 + 1)) ] ||
	    it_fail "$label: the OAuth2 relay did not log in with XOAUTH2"
	! grep -qi "method=xoauth2" "$PW_LOG" ||
	    it_fail "$label: the password relay tried XOAUTH2: $(grep -i 'method=xoauth2' "$PW_LOG" | tail -n 1)"
	! grep -qi "method=plain" "$OA_LOG" ||
	    it_fail "$label: the OAuth2 relay tried PLAIN"
	it_log "$label: password relay PLAIN, OAuth2 relay XOAUTH2"
	postfix_stop
}

round "the guide's two relays" "$maps/master.cf" "$IT_SASL_PATH"
round "no filter on the password relay, plugin loaded first" \
    "$maps/master-nofilter.cf" "$IT_PLUGIN_DIR:$IT_SYS_SASLDIR"
round "no filter on the password relay, plugin loaded last" \
    "$maps/master-nofilter.cf" "$IT_SYS_SASLDIR:$IT_PLUGIN_DIR"

if grep -rqF -e "$IDP_RELAY_BASIC_SECRET" -e "$PLAIN_PASSWORD" "$IT_DIR/log"; then
	it_fail "a client secret or the password appears in a log"
fi
oa2_key_clear postfix "$mb"
it_pass
