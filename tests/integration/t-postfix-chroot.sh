#!/bin/bash
# t-postfix-chroot.sh: Postfix's smtp client in its chroot jail, with nothing
# of ours copied into the jail (no helper, no library, no configuration, no
# CA file).  The plugin is loaded before chroot() (libsasl2 dlopens it in
# sasl_client_init, as root); at authentication time it reads user
# postfix's kernel keyring (a system call), which "sasl-oauth2 refresh
# --all", run as postfix outside the jail, keeps fresh.
#
#   1. a fresh keyring token: the relay works, with no request at the IdP;
#      the smtp process is chrooted and has our plugin mapped from a path
#      that does not exist inside its jail;
#   2. the keyring emptied: the exec of the helper fails inside the jail,
#      the mail is deferred, and the mail log has the plugin's sentence
#      (no fresh token in the keyring, run 'sasl-oauth2 refresh --all');
#   3. refresh --all as postfix, flush: the deferred mail goes out;
#   4. the systemd units of packaging/ pass "systemd-analyze verify" (when
#      systemd-analyze exists), and the refresher's command line there is
#      the one step 3 ran, with the helper where "make install" puts it
#      (the service is built from its .in with the configured bindir).
. "$(dirname "$0")/lib.sh"

it_require_root
it_require postfix sendmail postqueue keyctl runuser node dovecot
it_setup
idp_start
dovecot_start
it_install_products

mb=$IDP_RELAY_MAILBOX
relayhost="[127.0.0.1]:$SUBMISSION_PORT"
# The refresher's state dir (lock files), owned by postfix, as the guide's
# /var/lib/sasl-oauth2/postfix.
PF_STATE=$IT_DIR/var-lib-sasl-oauth2-postfix
install -d -o postfix -g postfix -m 0700 "$PF_STATE"

# The app-only account of docs/microsoft365.md, pointed at the local IdP,
# its secret file made by the guide's commands (the value on stdin, as if
# pasted).
SECDIR=$IT_DIR/etc-sasl-oauth2
printf '%s\n' "$IDP_RELAY_BASIC_SECRET" |
    bash -c "$(doc_snippet microsoft365.md ms-secret-file /etc/sasl-oauth2 "$SECDIR")" ||
    it_fail "the guide's secret file commands failed"
[ "$(stat -c '%U %a' "$SECDIR/relay.secret")" = "postfix 600" ] ||
    it_fail "the guide's secret file is $(stat -c '%U %a' "$SECDIR/relay.secret"), want postfix 600"
[ "$(cat "$SECDIR/relay.secret")" = "$IDP_RELAY_BASIC_SECRET" ] ||
    it_fail "the guide's secret file does not hold the value given"
oa2_config_init postfix
{
	doc_snippet microsoft365.md ms-app-only \
	    relay@contoso.com "$mb" \
	    11111111-2222-3333-4444-555555555555 "$IDP_RELAY_BASIC_ID" \
	    /etc/sasl-oauth2/relay.secret "$SECDIR/relay.secret"
	echo "token_endpoint = $IDP_TOKEN_URL"
} >>"$OA2_CONFIG"
oa2_env

# guide_cmd SNIPPET: a command of docs/postfix.md with the test's state
# dir, configuration and helper put where the guide names them (the guide
# must name the configuration itself: the refresher's user may have a
# ~/.config of its own, and nothing else tells the helper where /etc is).
guide_cmd()
{
	# The test's own SASL_OAUTH2_CONFIG (oa2_env) must not stand in.
	printf 'env -u SASL_OAUTH2_CONFIG '
	doc_snippet postfix.md "$1" \
	    /var/lib/sasl-oauth2/postfix "$PF_STATE" \
	    /etc/sasl-oauth2/sasl-oauth2.conf "$OA2_CONFIG" \
	    "sasl-oauth2 " "$IT_HELPER "
}

# refresh_all: the guide's refresher (what the timer of packaging/ runs),
# as postfix, outside the jail.
refresh_all()
{
	eval "$(guide_cmd postfix-refresh)" >>"$IT_DIR/log/refresh.log" 2>&1
}

# The guide's check of the account, as postfix.
oa2_key_clear postfix "$mb"
[ "$(eval "$(guide_cmd postfix-token-check)" 2>>"$IT_DIR/log/refresh.log")" = ok ] ||
    it_fail "the guide's token check as postfix failed (see log/refresh.log)"
oa2_key_present postfix "$mb" || it_fail "token cached no token for postfix"

# The guide's --watch loop fills the keyring at once.
oa2_key_clear postfix "$mb"
watch=$(guide_cmd postfix-refresh-watch)
watch=${watch/--watch 300/--watch 10}
# runuser passes SIGTERM on to the helper it runs
(eval "exec $watch") >>"$IT_DIR/log/refresh.log" 2>&1 &
wpid=$!
it_track "$wpid"
for _ in $(seq 1 100); do
	oa2_key_present postfix "$mb" && break
	sleep 0.1
done
oa2_key_present postfix "$mb" || it_fail "refresh --all --watch cached no token for postfix"
kill -TERM "$wpid"
wait "$wpid" 2>/dev/null || true
kill -0 "$wpid" 2>/dev/null && it_fail "the --watch loop did not stop"

oa2_key_clear postfix "$mb"
refresh_all || it_fail "refresh --all as postfix failed (see log/refresh.log)"
oa2_key_present postfix "$mb" || it_fail "refresh --all cached no token for postfix"
grep -q "^relay: token valid for" "$IT_DIR/log/refresh.log" ||
    it_fail "refresh --all did not report the account"

# Postfix: the guide's main.cf, password map and master.cf chroot column.
maps=$IT_DIR/postfix-maps
mkdir -p "$maps"
doc_snippet postfix.md postfix-sasl_passwd \
    "[smtp.office365.com]:587" "$relayhost" relay@contoso.com "$mb" \
    >"$maps/sasl_passwd"
chmod 0600 "$maps/sasl_passwd"
postfix_postmap "hash:$maps/sasl_passwd" || it_fail "postmap failed"
main=$(doc_snippet postfix.md postfix-main.cf \
    "[smtp.office365.com]:587" "$relayhost" \
    /etc/postfix/sasl_passwd "$maps/sasl_passwd" \
    "SASL_OAUTH2_CONFIG=/etc/sasl-oauth2/sasl-oauth2.conf" \
    "SASL_OAUTH2_CONFIG=$OA2_CONFIG SASL_PATH=$IT_SASL_PATH SASL_OAUTH2_HELPER=$IT_HELPER" \
    /var/lib/sasl-oauth2/postfix "$PF_STATE")
mapfile -t settings < <(doc_postconf_args "$main")
[ ${#settings[@]} -ge 8 ] || it_fail "too few main.cf settings in the guide's snippet"

# --- 1. a fresh keyring token: relay through the jail ---------------------
# authzid=no: the guide's send_cyrus_sasl_authzid must do it.
postfix_start "$SUBMISSION_PORT" authzid=no chroot=y tls=encrypt "${settings[@]}"
jail=$POSTFIX_QUEUE
want=$(doc_snippet postfix.md postfix-master.cf | tr -s ' \t' ' ')
tr -s ' \t' ' ' <"$POSTFIX_CONF/master.cf" | grep -qxF "$want" ||
    it_fail "master.cf has no line '$want'"
cc0=$(idp_stats client_credentials)
n=$(sink_count)
postfix_send "$mb" rcpt@example.test "chroot fresh"
sink_wait $((n + 1)) 30 || it_fail "relay with a fresh keyring token failed"
postfix_wait_log "status=sent" 10 || it_fail "no status=sent"
postfix_no_deferral "relay with a fresh keyring token"
[ "$(idp_stats client_credentials)" = "$cc0" ] ||
    it_fail "the jailed smtp got its token elsewhere than from the keyring"
grep -qi "Login: user=<$mb>, method=xoauth2," "$IT_DIR/log/dovecot.log" ||
    it_fail "dovecot logged no XOAUTH2 login for $mb"

# The smtp process idles after the delivery: it must be jailed, as user
# postfix, with our plugin mapped from outside the jail (dlopen happened
# before chroot, as root).
smtp_pid=""
for pid in $(_postfix_instance_pids); do
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = smtp ] && smtp_pid=$pid
done
[ -n "$smtp_pid" ] || it_fail "no idle smtp process to inspect"
[ "$(readlink "/proc/$smtp_pid/root")" = "$jail" ] ||
    it_fail "smtp $smtp_pid is not chrooted in $jail (root $(readlink "/proc/$smtp_pid/root"))"
[ "$(stat -c %U "/proc/$smtp_pid")" = postfix ] || it_fail "smtp does not run as postfix"
grep -qF "$IT_PLUGIN_DIR/libsasloauth2.so" "/proc/$smtp_pid/maps" ||
    it_fail "the jailed smtp has not mapped $IT_PLUGIN_DIR/libsasloauth2.so"
# Nothing of ours inside the jail.
[ ! -e "$jail$IT_DIR" ] || it_fail "the jail holds a copy of $IT_DIR"
found=$(find "$jail" \( -name 'sasl-oauth2*' -o -name 'libsasloauth2*' \
    -o -name "$(basename "$IT_CA_FILE")" -o -name '*.secret' \) -print)
[ -z "$found" ] || it_fail "files of ours inside the jail: $found"
for f in /usr/bin/sasl-oauth2 /usr/local/bin/sasl-oauth2 /bin/sh; do
	[ ! -e "$jail$f" ] || it_fail "the jail has $f"
done
it_log "fresh keyring token: relayed from the jail (smtp $smtp_pid, root $jail), no IdP request"

# --- 2. keyring empty: a clean, explained failure ---------------------------
oa2_key_clear postfix "$mb"
cc0=$(idp_stats client_credentials)
postfix_send "$mb" rcpt@example.test "chroot deferred"
postfix_wait_log "status=deferred \(SASL authentication failed" 20 ||
    it_fail "no clean SASL failure with the keyring empty"
grep -qF "no fresh token for $mb in the kernel keyring" "$POSTFIX_LOG" ||
    it_fail "the plugin's sentence is not in the mail log"
line=$(grep -F "no fresh token for $mb in the kernel keyring" "$POSTFIX_LOG" | head -n 1)
case $line in
*"No such file or directory"*"sasl-oauth2 refresh --all"*) ;;
*) it_fail "the sentence lacks the reason or what to run: $line" ;;
esac
grep -qE "fatal|panic|signal [0-9]" "$POSTFIX_LOG" &&
    it_fail "smtp crashed: $(grep -E 'fatal|panic|signal [0-9]' "$POSTFIX_LOG" | head -n 1)"
[ "$(idp_stats client_credentials)" = "$cc0" ] ||
    it_fail "something asked the IdP for a token from inside the jail"
[ "$(postfix_queue_count)" -ge 1 ] || it_fail "the message is not queued"
sink_grep "chroot deferred" >/dev/null && it_fail "the message went out without a token"
it_log "keyring empty: deferred; log says: ${line#*sasl-oauth2: }"

# --- 3. refresh --all, flush: the deferred mail goes out --------------------
refresh_all || it_fail "refresh --all (second run) failed"
postfix_flush
sink_wait $((n + 2)) 30 || it_fail "the deferred message did not go out after refresh --all"
sink_grep "chroot deferred" >/dev/null || it_fail "wrong message relayed"
[ "$(postfix_queue_count)" = 0 ] || it_fail "the queue is not empty"
it_log "refresh --all as postfix outside the jail: the deferred mail went out"
postfix_stop

# --- 4. the systemd units ------------------------------------------------------
# The service is made by "make" from its .in, with the configured bindir
# (make check passes it as $bindir); the timer is as written.
units=$IT_SRCDIR/packaging
service=$IT_BUILDDIR/packaging/sasl-oauth2-refresh@.service
[ -f "$service" ] || it_fail "packaging/sasl-oauth2-refresh@.service was not built"
[ -f "$units/sasl-oauth2-refresh@.timer" ] || it_fail "packaging/sasl-oauth2-refresh@.timer is missing"
grep -q '^ExecStart=.*sasl-oauth2 refresh --all$' "$service" ||
    it_fail "the service does not run 'sasl-oauth2 refresh --all'"
! grep -n '@[a-z_]*@' "$service" || it_fail "the service still has a placeholder"
if [ -n "${bindir:-}" ]; then
	grep -qxF "ExecStart=$bindir/sasl-oauth2 refresh --all" "$service" ||
	    it_fail "the service does not run the helper from bindir $bindir: $(grep '^ExecStart=' "$service")"
	it_log "the service runs $bindir/sasl-oauth2"
fi
if command -v systemd-analyze >/dev/null 2>&1; then
	# verify needs the ExecStart binary: point it at the built helper,
	# and instantiate the template for postfix.
	vd=$IT_DIR/units
	mkdir -p "$vd"
	sed "s|^ExecStart=[^ ]*sasl-oauth2 |ExecStart=$IT_HELPER |" \
	    "$service" >"$vd/sasl-oauth2-refresh@.service"
	cp "$units/sasl-oauth2-refresh@.timer" "$vd/"
	ln -sf sasl-oauth2-refresh@.service "$vd/sasl-oauth2-refresh@postfix.service"
	ln -sf sasl-oauth2-refresh@.timer "$vd/sasl-oauth2-refresh@postfix.timer"
	(cd "$vd" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
	    "$vd/sasl-oauth2-refresh@postfix.service" \
	    "$vd/sasl-oauth2-refresh@postfix.timer") >"$IT_DIR/log/systemd-analyze.log" 2>&1 ||
	    it_fail "systemd-analyze verify rejects the units: $(head -n 3 "$IT_DIR/log/systemd-analyze.log")"
	if grep -E "packaging|sasl-oauth2-refresh" "$IT_DIR/log/systemd-analyze.log" |
	    grep -qiE "unknown|invalid|fail|error"; then
		it_fail "systemd-analyze complains: $(cat "$IT_DIR/log/systemd-analyze.log")"
	fi
	it_log "systemd-analyze verify accepts the units"
else
	units_unverified="no systemd-analyze (Debian: systemd): units not verified"
fi

if grep -rqF -e "$IDP_RELAY_BASIC_SECRET" "$IT_DIR/log"; then
	it_fail "the client secret appears in a log"
fi
oa2_key_clear postfix "$mb"
# --- the guide's secret rotation (microsoft365.md) ---------------------------
# rotate VALUE: the guide's commands with VALUE pasted; their exit code (the
# last one's: the check with a refresh).
rotate()
{
	printf '%s\n' "$1" | bash -c "$(doc_snippet microsoft365.md ms-secret-rotate \
	    /etc/sasl-oauth2/sasl-oauth2.conf "$OA2_CONFIG" \
	    /etc/sasl-oauth2/relay.secret "$SECDIR/relay.secret" \
	    /var/lib/sasl-oauth2/postfix "$PF_STATE" \
	    "runuser" "env -u SASL_OAUTH2_CONFIG runuser" \
	    "sasl-oauth2 refresh" "$IT_HELPER refresh")" >>"$IT_DIR/log/rotate.log" 2>&1
}
# A wrong new value is caught by the guide's check (and read at once: no
# restart), the right one then works, each through a request to the IdP.
cc0=$(idp_stats client_credentials)
rc=0
rotate "not-the-secret-$$" || rc=$?
[ "$rc" = 78 ] || it_fail "rotating to a wrong secret: the guide's check exited $rc, want 78"
grep -q "did not accept the app" "$IT_DIR/log/rotate.log" ||
    it_fail "rotating to a wrong secret: $(cat "$IT_DIR/log/rotate.log")"
rotate "$IDP_RELAY_BASIC_SECRET" || it_fail "rotating the secret: the guide's check failed (see log/rotate.log)"
[ "$(stat -c '%U %a' "$SECDIR/relay.secret")" = "postfix 600" ] ||
    it_fail "the rotated secret file is $(stat -c '%U %a' "$SECDIR/relay.secret")"
[ ! -e "$SECDIR/relay.secret.new" ] || it_fail "the rotation left relay.secret.new"
[ $(($(idp_stats client_credentials) - cc0)) = 2 ] ||
    it_fail "the rotation checks made $(($(idp_stats client_credentials) - cc0)) token requests, want 2"
it_log "the guide's secret file and rotation: postfix 0600, a wrong secret caught (78), the right one works"

# Everything else was checked; a missing tool is still a skip (an error
# in CI, where tests/install-deps installs it).
[ -z "${units_unverified:-}" ] || it_skip "$units_unverified"
it_pass
