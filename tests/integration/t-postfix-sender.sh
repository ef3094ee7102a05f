#!/bin/bash
# t-postfix-sender.sh: one Postfix, two OAuth2 mailboxes, chosen by the
# envelope sender (smtp_sender_dependent_authentication with
# sender_dependent_relayhost_maps and a sender-keyed smtp_sasl_password_maps),
# configured with the very snippets of docs/postfix.md:
#
#   relay@  app-only (client credentials), as in docs/microsoft365.md;
#   alice@  a user's delegated account, logged in once as user postfix with
#           the device grant (headless), its refresh token in postfix's
#           state dir, which the plugin's helper finds through
#           import_environment's XDG_STATE_HOME;
#   other senders fall back to the relayhost's entry (relay@).
#
# Each message must log in to Dovecot as its own sender's mailbox.
. "$(dirname "$0")/lib.sh"

it_require_root
it_require postfix postmap sendmail keyctl runuser node dovecot
it_setup
idp_start
dovecot_start
it_install_products

relay=$IDP_RELAY_MAILBOX
alice="alice.$$@example.test"
other="other.$$@example.test"
PF_STATE=$IT_DIR/var-lib-sasl-oauth2-postfix
relayhost="[127.0.0.1]:$SUBMISSION_PORT"

# --- the accounts: the guides' snippets, pointed at the local IdP ----------
oa2_config_init postfix
(umask 077 && printf '%s\n' "$IDP_RELAY_BASIC_SECRET" >"$IT_DIR/etc/relay.secret")
chown postfix: "$IT_DIR/etc/relay.secret"
{
	doc_snippet microsoft365.md ms-app-only \
	    relay@contoso.com "$relay" \
	    11111111-2222-3333-4444-555555555555 "$IDP_RELAY_BASIC_ID" \
	    /etc/sasl-oauth2/relay.secret "$IT_DIR/etc/relay.secret"
	echo "token_endpoint = $IDP_TOKEN_URL"
	echo
	doc_snippet postfix.md postfix-device-account \
	    alice@contoso.com "$alice" \
	    66666666-7777-8888-9999-000000000000 "$IDP_MUA_ID"
	echo "token_endpoint = $IDP_TOKEN_URL"
	echo "device_authorization_endpoint = $IDP_DEVICE_URL"
} >>"$OA2_CONFIG"
oa2_env

# --- log in alice@ once, as postfix, with the device grant ----------------
# (the guide's commands, with the test's config and helper where the guide
# names them)
login_cmds=$(doc_snippet postfix.md postfix-device-login \
    /var/lib/sasl-oauth2/postfix "$PF_STATE" \
    /etc/sasl-oauth2/sasl-oauth2.conf "$OA2_CONFIG" \
    "runuser" "env -u SASL_OAUTH2_CONFIG runuser" \
    "sasl-oauth2 login" "$IT_HELPER login --timeout 60")
[ "$(printf '%s\n' "$login_cmds" | wc -l)" = 2 ] ||
    it_fail "postfix-device-login: want two commands"
eval "$(printf '%s\n' "$login_cmds" | sed -n 1p)" || it_fail "creating the state dir failed"
[ "$(stat -c '%U %a' "$PF_STATE")" = "postfix 700" ] || it_fail "state dir not postfix 0700"
: >"$IT_DIR/log/device.err"
eval "$(printf '%s\n' "$login_cmds" | sed -n 2p)" 2>>"$IT_DIR/log/device.err" &
lpid=$!
code=""
for _ in $(seq 1 100); do
	code=$(sed -n 's/.*enter the code \([^ ]*\).*/\1/p' "$IT_DIR/log/device.err")
	[ -n "$code" ] && break
	sleep 0.1
done
[ -n "$code" ] || it_fail "device login printed no user code: $(cat "$IT_DIR/log/device.err")"
idp_browser --device "$code" "$alice" >"$IT_DIR/log/device-browser.log" 2>&1 ||
    it_fail "the scripted device approval failed"
wait $lpid || it_fail "device login as postfix exited $?: $(cat "$IT_DIR/log/device.err")"
[ -f "$PF_STATE/sasl-oauth2/alice.json" ] || it_fail "no refresh token in postfix's state dir"
[ "$(stat -c %U "$PF_STATE/sasl-oauth2/alice.json")" = postfix ] ||
    it_fail "the store does not belong to postfix"
it_log "alice@ logged in as postfix (device grant), refresh token in $PF_STATE"

# --- Postfix: the guide's main.cf and maps --------------------------------
maps=$IT_DIR/postfix-maps
mkdir -p "$maps"
doc_snippet postfix.md postfix-sender-sasl_passwd \
    alice@contoso.com "$alice" relay@contoso.com "$relay" \
    "[smtp.office365.com]:587" "$relayhost" >"$maps/sasl_passwd"
doc_snippet postfix.md postfix-sender_relay \
    alice@contoso.com "$alice" relay@contoso.com "$relay" \
    "[smtp.office365.com]:587" "$relayhost" >"$maps/sender_relay"
chmod 0600 "$maps/sasl_passwd"
postfix_postmap "hash:$maps/sasl_passwd" "hash:$maps/sender_relay" ||
    it_fail "postmap failed"

# The test's plugin and helper are not in the system paths: add them.
main=$(doc_snippet postfix.md postfix-main.cf \
    "[smtp.office365.com]:587" "$relayhost" \
    /etc/postfix/sasl_passwd "$maps/sasl_passwd" \
    "SASL_OAUTH2_CONFIG=/etc/sasl-oauth2/sasl-oauth2.conf" \
    "SASL_OAUTH2_CONFIG=$OA2_CONFIG SASL_PATH=$IT_SASL_PATH SASL_OAUTH2_HELPER=$IT_HELPER" \
    /var/lib/sasl-oauth2/postfix "$PF_STATE")
sender=$(doc_snippet postfix.md postfix-sender.cf \
    /etc/postfix/sender_relay "$maps/sender_relay")
# Local senders rewritten to the relay mailbox (the guide's generic map).
doc_snippet postfix.md postfix-generic relay@contoso.com "$relay" >"$maps/generic"
postfix_postmap "hash:$maps/generic" || it_fail "postmap of the generic map failed"
generic=$(doc_snippet postfix.md postfix-generic.cf /etc/postfix/generic "$maps/generic")
mapfile -t settings < <(doc_postconf_args "$main"; doc_postconf_args "$sender"
    doc_postconf_args "$generic")
[ ${#settings[@]} -ge 10 ] || it_fail "too few main.cf settings in the guide's snippets"
# authzid=no: the guide's send_cyrus_sasl_authzid must do it.
postfix_start "$SUBMISSION_PORT" authzid=no tls=encrypt "${settings[@]}"
[ "$(postconf -c "$POSTFIX_CONF" -h smtp_sender_dependent_authentication)" = yes ] ||
    it_fail "the sender-dependent settings did not reach main.cf"

logins() # MAILBOX: Dovecot's XOAUTH2 logins of MAILBOX so far
{
	grep -ci "Login: user=<$1>, method=xoauth2," "$IT_DIR/log/dovecot.log" || true
}

# send_as FROM SUBJECT WANT_MAILBOX: relay one message and prove Dovecot
# saw exactly one new login, by WANT_MAILBOX.
send_as()
{
	local from=$1 subject=$2 want=$3 n a0 r0
	n=$(sink_count)
	a0=$(logins "$alice")
	r0=$(logins "$relay")
	postfix_send "$from" rcpt@example.test "$subject"
	sink_wait $((n + 1)) 30 || it_fail "$subject: not relayed"
	postfix_no_deferral "$subject"
	sink_grep "Subject: $subject" >/dev/null || it_fail "$subject: wrong message"
	local da=$(($(logins "$alice") - a0)) dr=$(($(logins "$relay") - r0))
	case $want in
	"$alice") [ $da = 1 ] && [ $dr = 0 ] ;;
	"$relay") [ $da = 0 ] && [ $dr = 1 ] ;;
	esac || it_fail "$subject: logins alice +$da relay +$dr, want one as $want"
	it_log "mail from $from logged in as $want"
}

send_as "$alice" "from alice" "$alice"
send_as "$relay" "from relay" "$relay"
send_as "$other" "from other" "$relay"
# root of this host (the guide's host.contoso.com): logs in as the relay
# mailbox, and leaves as it (smtp-sink records the MAIL FROM it got).
send_as "root@host.contoso.com" "from root" "$relay"
find "$SINK_DIR" -type f -exec grep -l "Subject: from root" {} + |
    xargs grep -qiE "^X-Mail-Args: *<$relay>" ||
    it_fail "mail from root did not leave as $relay: $(sink_grep '^X-Mail-Args' | tail -n 1)"

# alice@'s cached token gone: the plugin's helper (run by smtp as postfix)
# must refresh from the store in $PF_STATE, found through XDG_STATE_HOME.
oa2_key_clear postfix "$alice"
r0=$(idp_stats refresh_token)
send_as "$alice" "from alice again" "$alice"
[ $(($(idp_stats refresh_token) - r0)) = 1 ] ||
    it_fail "the helper under smtp did not refresh alice's token from the store"
oa2_key_present postfix "$alice" || it_fail "the refreshed token was not cached"
[ "$(idp_stats grants_revoked)" = 0 ] || it_fail "a refresh token was reused"

if grep -rqF -e "$IDP_RELAY_BASIC_SECRET" "$IT_DIR/log"; then
	it_fail "the client secret appears in a log"
fi
oa2_key_clear postfix "$alice"
oa2_key_clear postfix "$relay"
it_pass
