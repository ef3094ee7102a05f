#!/bin/bash
# t-sendmail.sh: the real sendmail (Debian 12's sendmail-bin, which
# tests/install-deps downloads with apt-get download into
# /var/cache/sasl-oauth2-tests/sendmail; unpacked into the work dir, so it
# never replaces this machine's Postfix, and the test needs no network)
# relays one message per mechanism to
# Dovecot submission through our plugin, with the sendmail.mc lines and
# the authinfo entry of docs/sendmail.md.  No daemon: each message is
# delivered by a foreground sendmail (-odi) with a private queue and cf.
# The token comes from the real helper (client credentials at the test
# IdP); Dovecot must log the login with the mechanism.
. "$(dirname "$0")/lib.sh"

# In the sanitizer build, sendmail with libasan preloaded delivers the
# message, then hangs in exit(): libp11-kit's destructor (loaded through
# sendmail's TLS libraries) waits in freelocale() on glibc's setlocale
# lock (gdb: __run_exit_handlers, _dl_fini, libp11-kit, __freelocale,
# pthread_rwlock_wrlock on __libc_setlocale_lock), whose reader count
# gdb shows below zero: something released it more often than it took
# it.  Sanitizer runtimes and p11-kit are known to clash on that lock;
# nothing of ours is on the stack, but where the count went wrong is not
# found yet.  The plain build of the same run (tests/run-all) runs this
# test, and the plugin's memory safety is covered in this build by the
# other hosts.
[ -z "$IT_SAN_LIB" ] ||
    it_skip_build "sendmail with libasan preloaded hangs in exit() (libp11-kit's destructor waits on glibc's setlocale lock); the plain build runs this test"
it_require_root
it_require dpkg-deb m4 unshare keyctl node dovecot
it_setup
# sendmail runs in a UTS namespace of its own (see sendmail_round).
unshare -u true 2>/dev/null ||
    it_skip "unshare -u is not permitted here (a container without CAP_SYS_ADMIN?)"

SM=$IT_DIR/sendmail
mkdir -p "$SM/debs" "$SM/root"
# liblockfile1: sendmail-bin needs it and Postfix's machine lacks it.
debs=/var/cache/sasl-oauth2-tests/sendmail
for p in sendmail-bin sendmail-base sendmail-cf liblockfile1; do
	ls "$debs/${p}_"*.deb >/dev/null 2>&1 ||
	    it_skip "no $p package in $debs (tests/install-deps downloads it)"
	cp "$debs/${p}_"*.deb "$SM/debs/"
done
for deb in "$SM"/debs/*.deb; do
	dpkg-deb -x "$deb" "$SM/root" || it_fail "dpkg-deb -x $deb"
done
R=$SM/root
SENDMAIL=$R/usr/libexec/sendmail/sendmail
[ -x "$SENDMAIL" ] || it_fail "no $SENDMAIL in the packages"
# The packaged binary is set-group-id mail (dpkg-deb keeps the bit when
# root unpacks it).  Set-id, it would make ld.so ignore LD_LIBRARY_PATH
# (liblockfile is only here), libsasl2 SASL_PATH and the plugin every
# SASL_OAUTH2_* variable; installed, that is why docs/sendmail.md puts
# the plugin and its configuration in the system paths.  This test may
# not touch those, so it runs its copy without the bit, and then the E
# lines of the cf reach libsasl2 and the plugin.
chmod g-s "$SENDMAIL"
export LD_LIBRARY_PATH=$R/usr/lib/x86_64-linux-gnu

idp_start
dovecot_start
it_install_products
mb=$IDP_RELAY_MAILBOX

# The cf: a minimal mc around the guide's lines, built with sendmail-cf's
# m4 files.  OSTYPE(linux), not Debian's, which reads the installed
# package's files.
cat >"$SM/sendmail.mc" <<MC
divert(-1)
include(\`$R/usr/share/sendmail/cf/m4/cf.m4')
divert(0)dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`sendmail.test')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM/service.switch')dnl
dnl The work dir is under /tmp: world-writable, but sticky.  Nothing else
dnl of sendmail's file checks is relaxed (the plugin's included).
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
define(\`STATUS_FILE', \`$SM/statistics')dnl
define(\`QUEUE_DIR', \`$SM/queue')dnl
define(\`confLOG_LEVEL', \`14')dnl
$(doc_snippet sendmail.md sendmail.mc \
    "smtp.office365.com" "127.0.0.1" \
    " 587" " $SUBMISSION_PORT" \
    "/etc/mail/authinfo" "$SM/authinfo" \
    "\`access_db')" "\`access_db', \`hash -o $SM/access')" \
    "/etc/sasl-oauth2/sasl-oauth2.conf" "$IT_DIR/etc/sasl-oauth2.conf")
ESASL_PATH=$IT_SASL_PATH
ESASL_OAUTH2_HELPER=$IT_HELPER
MAILER(\`smtp')dnl
MC
m4 -D_CF_DIR_="$R/usr/share/sendmail/cf/" "$SM/sendmail.mc" \
    >"$SM/sendmail.cf" 2>"$IT_DIR/log/m4.log" ||
    it_fail "m4 cannot build the cf (see $IT_DIR/log/m4.log)"
printf 'hosts files\n' >"$SM/service.switch"
# The guide's TLS_Srv line: no relaying (and no token) without TLS.
doc_snippet sendmail.md sendmail-access "smtp.office365.com" "127.0.0.1" \
    >"$SM/access"
"$R/usr/libexec/sendmail/makemap" -C "$SM/sendmail.cf" hash "$SM/access" \
    <"$SM/access" || it_fail "makemap access"
mkdir -p "$SM/queue"
chmod 0700 "$SM/queue"

# sendmail_send TEXT LOG: one message (subject and body TEXT) to
# rcpt@example.test through the smarthost, by a foreground sendmail (-odi)
# with its SMTP dialogue (-v) in LOG.  In a UTS namespace with a qualified
# host name: with this machine's short one sendmail sleeps a minute
# ("unable to qualify my own domain").
sendmail_send()
{
	printf 'Subject: %s\n\n%s\n' "$1" "$1" |
	    env -u SASL_PATH -u SASL_OAUTH2_CONFIG -u SASL_OAUTH2_HELPER \
	    timeout 60 unshare -u sh -c 'hostname sendmail.test && exec "$@"' \
	    sh env "${IT_HOST_ENV[@]}" "$SENDMAIL" -C "$SM/sendmail.cf" \
	    -odi -oem -v -f "$mb" "rcpt@example.test" >"$2" 2>&1
}

sendmail_round()
{
	local mech=$1 client_id=$2 secret=$3 auth=$4 n log
	log=$IT_DIR/log/sendmail-$mech.log
	oa2_config_init root
	oa2_account relay root \
	    "user=$mb" \
	    "provider=generic" \
	    "token_endpoint=$IDP_TOKEN_URL" \
	    "client_id=$client_id" \
	    "client_secret=$secret" \
	    "client_auth=$auth" \
	    "scope=$IDP_CC_SCOPE" \
	    "flow=client_credentials"
	oa2_key_clear root "$mb"
	doc_snippet sendmail.md sendmail-authinfo \
	    "smtp.office365.com" "127.0.0.1" \
	    "relay@example.com" "$mb" \
	    "M:XOAUTH2" "M:${mech^^}" >"$SM/authinfo"
	chmod 0600 "$SM/authinfo"
	"$R/usr/libexec/sendmail/makemap" -C "$SM/sendmail.cf" hash \
	    "$SM/authinfo" <"$SM/authinfo" ||
	    it_fail "makemap authinfo"
	n=$(sink_count)
	sendmail_send "sendmail $mech" "$log" ||
	    it_fail "$mech: sendmail failed (see $log)"
	sink_wait $((n + 1)) 30 || it_fail "$mech: the message was not relayed (see $log)"
	sink_grep "sendmail $mech" >/dev/null || it_fail "$mech: wrong message"
	grep -ci "Login: user=<$mb>, method=$mech," "$DOVECOT_LOG" >/dev/null ||
	    it_fail "$mech: dovecot logged no $mech login of $mb"
	oa2_key_present root "$mb" ||
	    it_fail "$mech: the helper did not cache the token in root's keyring"
	# sendmail names the smarthost "[127.0.0.1]": host= is bare.
	if [ "$mech" = oauthbearer ]; then
		sed -n 's/^>>> AUTH OAUTHBEARER //p' "$log" | base64 -d |
		    grep -aq $'\001host=127.0.0.1\001' ||
		    it_fail "oauthbearer: host= is not the bare 127.0.0.1 (see $log)"
	fi
	it_log "$mech: relayed by sendmail, dovecot logged the login"
}

sendmail_round xoauth2 "$IDP_RELAY_BASIC_ID" "$IDP_RELAY_BASIC_SECRET" basic
sendmail_round oauthbearer "$IDP_RELAY_POST_ID" "$IDP_RELAY_POST_SECRET" post

# sendmail's safefile() check (SASL_CB_VERIFYFILE): a plugin in a
# directory others can write is skipped without a word; no AUTH is sent
# and the message stays in the queue (the server wants a login).
chmod 0777 "$IT_PLUGIN_DIR"
log=$IT_DIR/log/sendmail-unsafe.log
sendmail_send unsafe "$log" || true
chmod 0755 "$IT_PLUGIN_DIR"
grep -q '^>>> EHLO' "$log" || it_fail "unsafe: sendmail did not connect (see $log)"
if grep -q '^>>> AUTH' "$log"; then
	it_fail "unsafe: sendmail loaded a plugin from a world-writable directory"
fi
grep -q 'Deferred: Temporary AUTH failure' "$log" ||
    it_fail "unsafe: not the deferral docs/sendmail.md shows (see $log)"
it_log "a plugin in a world-writable directory: skipped, no AUTH"

# The guide's TLS_Srv key is the one sendmail looks up: asking for more
# than the connection has must stop it before AUTH.
sed 's/ENCR:128/ENCR:4096/' "$SM/access" >"$SM/access.strict"
mv "$SM/access.strict" "$SM/access"
"$R/usr/libexec/sendmail/makemap" -C "$SM/sendmail.cf" hash "$SM/access" \
    <"$SM/access" || it_fail "makemap access"
log=$IT_DIR/log/sendmail-tls.log
sendmail_send tls "$log" || true
grep -q '^>>> STARTTLS' "$log" || it_fail "tls: no STARTTLS (see $log)"
if grep -q '^>>> AUTH' "$log"; then
	it_fail "tls: TLS_Srv:127.0.0.1 ENCR:4096 did not stop the login (see $log)"
fi
it_log "TLS_Srv: the guide's key is used (ENCR:4096 stops it before AUTH)"
oa2_key_clear root "$mb"
it_pass
