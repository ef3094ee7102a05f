#!/bin/bash
# t-mua-clients.sh: the mail programs of docs/, each with the exact
# configuration snippet of its guide, logging in to the local Dovecot over
# TLS (certificates checked against the test CA) with a token from
# "sasl-oauth2 token":
#
#   mutt      XOAUTH2 (Microsoft 365 guide): the index of INBOX on screen
#             (run in tmux), and a message sent in batch mode;
#   neomutt   OAUTHBEARER (Gmail guide): the same;
#   msmtp     XOAUTH2 and OAUTHBEARER accounts (passwordeval);
#   fetchmail IMAP through packaging/sasl-oauth2-imap-preauth (fetchmail 6.4
#             has no OAuth2 of its own);
#   mbsync    XOAUTH2 through the Cyrus SASL plugin (no password command).
#
# The accounts are the guides' delegated Microsoft and Google accounts,
# logged in once with the authorization code flow (browser scripted).
# Dovecot's log must show each login as the right user with the right
# mechanism.  First of all, every code block of the guides must carry a
# marker, and every snippet must be used by the test it names.
. "$(dirname "$0")/lib.sh"

GUIDES="postfix.md sendmail.md mbsync.md mutt.md neomutt.md fetchmail.md msmtp.md
microsoft365.md google.md troubleshooting.md"
# shellcheck disable=SC2086
doc_check_markers $GUIDES

it_require_root
it_require node dovecot mutt neomutt msmtp fetchmail mbsync tmux openssl
it_setup
idp_start
dovecot_start
it_install_products
install -m 0755 "$IT_SRCDIR/packaging/sasl-oauth2-imap-preauth" "$IT_DIR/bin/"
# The guides call "sasl-oauth2" and "sasl-oauth2-imap-preauth" by name.
export PATH="$IT_DIR/bin:$PATH"
export XDG_STATE_HOME=$IT_DIR/state

alice="alice.$$@example.test"
bob="bob.$$@example.test"
oa2_config_init root
# Each preset against the IdP's client that behaves as its provider does
# (idp/server.mjs, PROVIDER MODELS).
(umask 077 && printf '%s\n' "$IDP_MUA_GOOGLE_SECRET" >"$IT_DIR/etc/gmail.secret")
{
	doc_snippet microsoft365.md ms-delegated \
	    alice@contoso.com "$alice" \
	    66666666-7777-8888-9999-000000000000 "$IDP_MUA_MS_ID"
	echo "authorization_endpoint = $IDP_AUTH_URL"
	echo "token_endpoint = $IDP_TOKEN_URL"
	echo
	doc_snippet google.md google-account \
	    bob@gmail.com "$bob" \
	    123456789012-abcdefghijklmnopqrstuvwxyz0123456.apps.googleusercontent.com \
	    "$IDP_MUA_GOOGLE_ID" \
	    /home/bob/.config/sasl-oauth2/gmail.secret "$IT_DIR/etc/gmail.secret"
	echo "authorization_endpoint = $IDP_AUTH_URL"
	echo "token_endpoint = $IDP_TOKEN_URL"
} >>"$OA2_CONFIG"
oa2_env

# guide_login DOC SNIPPET MAILBOX: the guide's login command, the browser scripted.
guide_login()
{
	local cmd url pid err=$IT_DIR/log/login-$2.err
	cmd=$(doc_snippet "$1" "$2" "sasl-oauth2 login" \
	    "sasl-oauth2 login --no-browser --timeout 60")
	: >"$err"
	eval "$cmd" 2>>"$err" &
	pid=$!
	url=""
	for _ in $(seq 1 100); do
		url=$(grep -m1 -o "$IDP_ISSUER/auth?[^ ]*" "$err") && break
		sleep 0.1
	done
	[ -n "$url" ] || it_fail "$2: no authorization URL: $(cat "$err")"
	idp_browser "$url" "$3" >>"$IT_DIR/log/browser.log" 2>&1 ||
	    it_fail "$2: the scripted browser failed"
	wait "$pid" || it_fail "$2: login exited $?: $(cat "$err")"
}
guide_login microsoft365.md ms-login "$alice"
guide_login google.md google-login "$bob"
for a in work gmail; do
	grep -q '"refresh_token": *"[^"]' "$XDG_STATE_HOME/sasl-oauth2/$a.json" 2>/dev/null ||
	    it_fail "$a: the guide's login stored no refresh token"
done
it_log "logged in: work ($alice, microsoft preset), gmail ($bob, google preset), refresh tokens stored"

dovecot_seed_message "$alice" "inbox of alice for mutt"
dovecot_seed_message "$bob" "inbox of bob for neomutt"

# logins SERVICE USER MECH: Dovecot's successful logins so far.
logins()
{
	grep -c "$1: Info: Login: user=<$2>, method=$3," "$IT_DIR/log/dovecot.log" || true
}

# expect_login SERVICE USER MECH BEFORE WHAT: one more login than BEFORE.
expect_login()
{
	local now
	now=$(logins "$1" "$2" "$3")
	[ "$now" -gt "$4" ] || it_fail "$5: Dovecot logged no $1 $3 login for $2"
}

TMUX_SOCK=$IT_DIR/tmux.sock
# shellcheck disable=SC2016 # expanded at cleanup
it_on_cleanup 'tmux -S "$TMUX_SOCK" kill-server 2>/dev/null'

# tui_index NAME DIR TEXT CMD...: run the mail reader CMD in a tmux pane
# (HOME=DIR), wait until TEXT is on screen, quit with "q".
tui_index()
{
	local name=$1 dir=$2 text=$3 screen=$IT_DIR/log/$1.screen spid
	shift 3
	tmux -S "$TMUX_SOCK" new-session -d -s "$name" -x 160 -y 40 \
	    env HOME="$dir" PATH="$PATH" XDG_STATE_HOME="$XDG_STATE_HOME" \
	    SASL_OAUTH2_CONFIG="$SASL_OAUTH2_CONFIG" TERM=screen "$@" ||
	    it_fail "$name: tmux could not start it"
	spid=$(tmux -S "$TMUX_SOCK" display-message -p -t "$name" '#{pid}')
	it_track "$spid"
	for _ in $(seq 1 150); do
		tmux -S "$TMUX_SOCK" capture-pane -p -t "$name" >"$screen" 2>/dev/null ||
		    break
		grep -qF "$text" "$screen" && break
		sleep 0.1
	done
	grep -qF "$text" "$screen" ||
	    it_fail "$name: '$text' not on screen: $(grep -v '^$' "$screen" | head -n 5)"
	tmux -S "$TMUX_SOCK" send-keys -t "$name" q
	for _ in $(seq 1 50); do
		tmux -S "$TMUX_SOCK" has-session -t "$name" 2>/dev/null || return 0
		sleep 0.1
	done
	it_fail "$name: did not quit"
}

# batch_send NAME DIR SUBJECT CMD...: send a message non-interactively.
batch_send()
{
	local name=$1 dir=$2 subject=$3 n
	shift 3
	n=$(sink_count)
	printf 'Sent by %s in the sasl-oauth2 tests.\n' "$name" |
	    HOME=$dir setsid -w timeout 30 "$@" >>"$IT_DIR/log/$name.log" 2>&1 ||
	    it_fail "$name: sending failed (see log/$name.log)"
	sink_wait $((n + 1)) 20 || it_fail "$name: the message did not arrive"
	sink_grep "Subject: $subject" >/dev/null || it_fail "$name: wrong message"
}

# --- mutt: Microsoft 365, XOAUTH2 ----------------------------------------
d=$IT_DIR/mutt
mkdir -p "$d"
{
	doc_snippet mutt.md muttrc \
	    alice%40contoso.com "${alice/@/%40}" \
	    alice@contoso.com "$alice" \
	    outlook.office365.com:993 "127.0.0.1:$IMAPS_PORT" \
	    smtp.office365.com:587 "127.0.0.1:$SUBMISSION_PORT"
	# the test's CA instead of the system's
	echo "set ssl_ca_certificates_file = \"$IT_CA_FILE\""
	echo "set certificate_file = \"$d/certificates\""
} >"$d/muttrc"
i0=$(logins imap-login "$alice" XOAUTH2)
s0=$(logins submission-login "$alice" XOAUTH2)
tui_index mutt "$d" "inbox of alice for mutt" mutt -n -F "$d/muttrc"
expect_login imap-login "$alice" XOAUTH2 "$i0" mutt
batch_send mutt-send "$d" "sent by mutt" \
    mutt -n -F "$d/muttrc" -s "sent by mutt" rcpt@example.test
expect_login submission-login "$alice" XOAUTH2 "$s0" "mutt (smtp)"
it_log "mutt: INBOX read over IMAPS and a message sent, both XOAUTH2"

# --- neomutt: Gmail, OAUTHBEARER -------------------------------------------
d=$IT_DIR/neomutt
mkdir -p "$d"
{
	doc_snippet neomutt.md neomuttrc \
	    bob%40gmail.com "${bob/@/%40}" \
	    bob@gmail.com "$bob" \
	    imap.gmail.com:993 "127.0.0.1:$IMAPS_PORT" \
	    smtp.gmail.com:587 "127.0.0.1:$SUBMISSION_PORT"
	echo "set ssl_ca_certificates_file = \"$IT_CA_FILE\""
	echo "set certificate_file = \"$d/certificates\""
} >"$d/neomuttrc"
i0=$(logins imap-login "$bob" OAUTHBEARER)
s0=$(logins submission-login "$bob" OAUTHBEARER)
tui_index neomutt "$d" "inbox of bob for neomutt" neomutt -n -F "$d/neomuttrc"
expect_login imap-login "$bob" OAUTHBEARER "$i0" neomutt
batch_send neomutt-send "$d" "sent by neomutt" \
    neomutt -n -F "$d/neomuttrc" -s "sent by neomutt" rcpt@example.test
expect_login submission-login "$bob" OAUTHBEARER "$s0" "neomutt (smtp)"
it_log "neomutt: INBOX read over IMAPS and a message sent, both OAUTHBEARER"

# --- msmtp: both accounts ----------------------------------------------------
d=$IT_DIR/msmtp
mkdir -p "$d"
# shellcheck disable=SC2088 # the guide's literal ~
doc_snippet msmtp.md msmtprc \
    alice@contoso.com "$alice" bob@gmail.com "$bob" \
    "host smtp.office365.com" "host 127.0.0.1" \
    "host smtp.gmail.com" "host 127.0.0.1" \
    "port 587" "port $SUBMISSION_PORT" \
    /etc/ssl/certs/ca-certificates.crt "$IT_CA_FILE" \
    "~/.msmtp.log" "$d/msmtp.log" >"$d/msmtprc"
chmod 0600 "$d/msmtprc"
s0=$(logins submission-login "$alice" XOAUTH2)
s1=$(logins submission-login "$bob" OAUTHBEARER)
batch_send msmtp "$d" "msmtp work" \
    sh -c "{ printf 'Subject: msmtp work\n\n'; cat; } | msmtp -C '$d/msmtprc' rcpt@example.test"
expect_login submission-login "$alice" XOAUTH2 "$s0" "msmtp (work)"
batch_send msmtp "$d" "msmtp gmail" \
    sh -c "{ printf 'Subject: msmtp gmail\n\n'; cat; } | msmtp -C '$d/msmtprc' -a gmail rcpt@example.test"
expect_login submission-login "$bob" OAUTHBEARER "$s1" "msmtp (gmail)"
grep -q "user=$alice .*exitcode=EX_OK" "$d/msmtp.log" || it_fail "msmtp's log has no success for $alice"
it_log "msmtp: XOAUTH2 (work) and OAUTHBEARER (gmail) through passwordeval"

# --- fetchmail: through sasl-oauth2-imap-preauth ----------------------------
d=$IT_DIR/fetchmail
mkdir -p "$d"
dovecot_seed_message "$alice" "inbox of alice for fetchmail"
doc_snippet fetchmail.md fetchmailrc \
    "poll outlook.office365.com" "poll 127.0.0.1" \
    "sasl-oauth2-imap-preauth work outlook.office365.com 993" \
    "sasl-oauth2-imap-preauth -c $IT_CA_FILE work 127.0.0.1 $IMAPS_PORT" \
    alice@contoso.com "$alice" \
    "/usr/bin/procmail -d %T" "cat >> $d/fetched.mbox" >"$d/fetchmailrc"
chmod 0600 "$d/fetchmailrc"
i0=$(logins imap-login "$alice" XOAUTH2)
FETCHMAILHOME=$d HOME=$d setsid -w timeout 30 fetchmail -f "$d/fetchmailrc" \
    -v --nosyslog --pidfile "$d/fetchmail.pid" >"$IT_DIR/log/fetchmail.log" 2>&1 </dev/null ||
    it_fail "fetchmail failed (exit $?; see log/fetchmail.log)"
grep -q "^Subject: inbox of alice for fetchmail" "$d/fetched.mbox" ||
    it_fail "fetchmail did not fetch the message"
expect_login imap-login "$alice" XOAUTH2 "$i0" fetchmail
it_log "fetchmail: fetched over IMAPS via sasl-oauth2-imap-preauth, XOAUTH2"

# --- mbsync: the Cyrus SASL plugin --------------------------------------------
d=$IT_DIR/mbsync
mkdir -p "$d"
# mbsync checks the certificate's DNS name (localhost), never the IP.
# shellcheck disable=SC2088 # the guide's literal ~
doc_snippet mbsync.md mbsyncrc \
    alice@contoso.com "$alice" \
    "Host outlook.office365.com" "Host localhost" \
    "Port 993" "Port $IMAPS_PORT" \
    "SSLType IMAPS" "SSLType IMAPS
CertificateFile $IT_CA_FILE" \
    "~/Mail/" "$d/Mail/" >"$d/mbsyncrc"
mkdir -p "$d/Mail/work"
i0=$(logins imap-login "$alice" XOAUTH2)
HOME=$d SASL_PATH=$IT_SASL_PATH setsid -w timeout 30 \
    env "${IT_HOST_ENV[@]}" mbsync -c "$d/mbsyncrc" work \
    >"$IT_DIR/log/mbsync.log" 2>&1 </dev/null ||
    it_fail "mbsync failed (exit $?; see log/mbsync.log)"
grep -rlq "^Subject: inbox of alice for mutt" "$d/Mail/work/INBOX" ||
    it_fail "mbsync synced nothing"
expect_login imap-login "$alice" XOAUTH2 "$i0" mbsync
it_log "mbsync: synced through the plugin, XOAUTH2"

# No token, refresh token or secret in anything the clients logged.
tok=$(oa2_key_token root "$alice") || it_fail "no cached token for $alice"
for f in "$XDG_STATE_HOME"/sasl-oauth2/*.json; do
	rt=$(sed -n 's/.*"refresh_token": *"\([^"]*\)".*/\1/p' "$f")
	[ -z "$rt" ] || ! grep -rqF -e "$rt" "$IT_DIR/log" ||
	    it_fail "a refresh token appears in a log"
done
if grep -rqF -e "$tok" -e "$IDP_MUA_GOOGLE_SECRET" "$IT_DIR/log"; then
	it_fail "a token or client secret appears in a log"
fi
oa2_key_clear root "$alice"
oa2_key_clear root "$bob"
it_pass
