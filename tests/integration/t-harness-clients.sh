#!/bin/bash
# t-harness-clients.sh: proves the client-side harness (lib-postfix.sh,
# lib-clients.sh) before the plugin exists, with the stock PLAIN mechanism.
#
# A scratch server lives in this file only (the real server libs belong to
# the server side): a Dovecot instance with a passwd-file passdb (IMAP,
# IMAPS with a throw-away self-signed certificate, submission relaying to
# /usr/sbin/smtp-sink).  The test shows that Postfix relays through it with
# PLAIN (unchrooted and chrooted smtp), that mbsync syncs a seeded message,
# that imtest/smtptest log in (and that a wrong password is reported as a
# failure), that sasl-sample-client yields the exact PLAIN initial
# response, and that mbsync needs no password when the mechanism asks for
# none (ANONYMOUS).
#
# SECRETS: plain@example.test / plain-password and a self-signed key, all
# created for this run and removed with the work dir.

. "$(dirname "$0")/lib.sh"

SCRATCH_USER=plain@example.test
SCRATCH_PASS=plain-password
SCRATCH_ANON=anon@example.test

it_require_root
it_require postfix postconf sendmail postqueue dovecot mbsync openssl \
    smtp-sink sasl-sample-client stdbuf setsid timeout base64 \
    /usr/lib/cyrus/bin/imtest /usr/lib/cyrus/bin/smtptest
it_setup

# --- scratch server (this test only) ------------------------------------

# scratch_cert: self-signed certificate for 127.0.0.1; exports IT_CA_FILE.
# mbsync 1.4 checks the host name even for a certificate it trusts through
# CertificateFile, and matches only DNS names and the CN, never an IP SAN:
# "127.0.0.1" must appear as CN or as a DNS subjectAltName.
scratch_cert()
{
	local d=$IT_DIR/scratch
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -days 2 -subj /CN=127.0.0.1 \
	    -addext "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1,DNS:localhost" \
	    -keyout "$d/key.pem" -out "$d/cert.pem" \
	    >>"$IT_DIR/log/openssl.log" 2>&1 || it_fail "openssl req failed"
	chmod 0644 "$d/cert.pem"
	chmod 0600 "$d/key.pem"
	IT_CA_FILE=$d/cert.pem
	export IT_CA_FILE
}

# scratch_sink_start: smtp-sink on SINK_PORT, one file per message in
# SINK_DIR.
scratch_sink_start()
{
	SINK_PORT=$(it_free_port)
	SINK_DIR=$IT_DIR/scratch/sink
	mkdir -p "$SINK_DIR"
	chown nobody "$SINK_DIR"
	smtp-sink -u nobody -R / -d "$SINK_DIR/%Y%m%d%H%M%S." \
	    "127.0.0.1:$SINK_PORT" 10 >>"$IT_DIR/log/smtp-sink.log" 2>&1 &
	it_track $!
	it_wait_port "$SINK_PORT"
	export SINK_PORT SINK_DIR
}

# scratch_dovecot_start: Dovecot in the foreground as its own session
# leader, so cleanup can end exactly its process group.
scratch_dovecot_start()
{
	local attempt rc
	# A free port can be taken by a parallel test before Dovecot binds
	# it: then pick others and start again.
	for attempt in 1 2 3 4 5; do
		rc=0
		_scratch_dovecot_try || rc=$?
		[ $rc = 2 ] || return $rc
		it_log "a port was taken (attempt $attempt); trying others"
	done
	it_fail "scratch Dovecot found no free ports in 5 attempts"
}

_scratch_dovecot_try()
{
	local d=$IT_DIR/scratch/dovecot home from
	IMAP_PORT=$(it_free_port)
	IMAPS_PORT=$(it_free_port)
	SUBMISSION_PORT=$(it_free_port)
	[ "$(printf '%s\n' "$IMAP_PORT" "$IMAPS_PORT" "$SUBMISSION_PORT" \
	    "$SINK_PORT" | sort -u | wc -l)" = 4 ] || return 2
	export IMAP_PORT IMAPS_PORT SUBMISSION_PORT
	mkdir -p "$d/run" "$d/state"
	for home in "$d/home/$SCRATCH_USER" "$d/home/$SCRATCH_ANON"; do
		mkdir -p "$home/Maildir/cur" "$home/Maildir/new" \
		    "$home/Maildir/tmp"
	done
	chown -R nobody:nogroup "$d/home"
	chmod 0755 "$d"
	printf '%s:{PLAIN}%s::::\n' "$SCRATCH_USER" "$SCRATCH_PASS" >"$d/passwd"
	chgrp dovecot "$d/passwd"
	chmod 0640 "$d/passwd"
	cat >"$d/dovecot.conf" <<EOF
base_dir = $d/run
state_dir = $d/state
instance_name = it-scratch-$$
log_path = $IT_DIR/log/dovecot.log
protocols = imap submission
listen = 127.0.0.1
hostname = scratch.example.test
postmaster_address = postmaster@example.test
ssl = yes
ssl_cert = <$IT_DIR/scratch/cert.pem
ssl_key = <$IT_DIR/scratch/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain anonymous
auth_anonymous_username = $SCRATCH_ANON
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN $d/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$d/home/%u
}
mail_location = maildir:~/Maildir
default_login_user = dovenull
default_internal_user = dovecot
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service submission-login {
  inet_listener submission {
    address = 127.0.0.1
    port = $SUBMISSION_PORT
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
submission_relay_host = 127.0.0.1
submission_relay_port = $SINK_PORT
submission_relay_ssl = no
EOF
	from=$(wc -l <"$IT_DIR/log/dovecot.log" 2>/dev/null || echo 0)
	setsid dovecot -F -c "$d/dovecot.conf" >>"$IT_DIR/log/dovecot.log" 2>&1 &
	SCRATCH_DOVECOT_PID=$!
	# Not it_track'ed: Dovecot needs more than it_cleanup's 1 s grace to
	# stop its children; the hook signals the whole group and waits 5 s.
	it_on_cleanup scratch_dovecot_stop
	for _ in $(seq 1 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$IMAP_PORT") 2>/dev/null && break
		if ! it_alive "$SCRATCH_DOVECOT_PID"; then
			tail -n +"$((from + 1))" "$IT_DIR/log/dovecot.log" |
			    grep -q "Address already in use" && return 2
			it_fail "scratch Dovecot exited at start-up"
		fi
		sleep 0.1
	done
	it_wait_port "$IMAP_PORT"
	it_wait_port "$IMAPS_PORT"
	it_wait_port "$SUBMISSION_PORT"
	# The ports may answer for another test's server while ours failed.
	sleep 0.2
	if ! it_alive "$SCRATCH_DOVECOT_PID" ||
	    tail -n +"$((from + 1))" "$IT_DIR/log/dovecot.log" |
	    grep -q "Address already in use"; then
		scratch_dovecot_stop
		return 2
	fi
}

# scratch_dovecot_stop: end Dovecot's process group (it leads it).
# shellcheck disable=SC2317  # called from the it_on_cleanup hook
scratch_dovecot_stop()
{
	local pg=$SCRATCH_DOVECOT_PID
	kill -TERM -- "-$pg" 2>/dev/null || return 0
	for _ in $(seq 1 50); do
		kill -0 -- "-$pg" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$pg" 2>/dev/null || true
}

# scratch_seed USER SUBJECT: drop one message into USER's INBOX.
scratch_seed()
{
	local f
	f=$IT_DIR/scratch/dovecot/home/$1/Maildir/new/$(date +%s).$RANDOM.seed
	printf '%s\n' "From: <seed@example.test>" "To: <$1>" \
	    "Subject: $2" "" "seeded" >"$f"
	chown nobody:nogroup "$f"
}

# sink_has SUBJECT SECONDS: wait until a sink file holds SUBJECT.
sink_has()
{
	local deadline=$((SECONDS + $2))
	while [ $SECONDS -lt "$deadline" ]; do
		grep -qs -- "Subject: $1" "$SINK_DIR"/* && return 0
		sleep 0.2
	done
	return 1
}

# dovecot_count REGEX: lines of Dovecot's log matching REGEX.
dovecot_count()
{
	grep -Ec -- "$1" "$IT_DIR/log/dovecot.log" || true
}

# dovecot_logged REGEX [COUNT]: Dovecot's log holds COUNT matching lines.
dovecot_logged()
{
	[ "$(dovecot_count "$1")" -ge "${2:-1}" ]
}

mkdir -p "$IT_DIR/scratch"
chmod 0755 "$IT_DIR/scratch"
scratch_cert
scratch_sink_start
scratch_dovecot_start

# --- sasl-sample-client: exact PLAIN initial response --------------------
# PLAIN = authzid NUL authcid NUL password; no -u means an empty authzid.
expected=$(printf '\0%s\0%s' "$SCRATCH_USER" "$SCRATCH_PASS" | base64 -w0)
got=$(CLIENT_PASS=$SCRATCH_PASS \
    sample_client_initial_response "$SCRATCH_USER" PLAIN) ||
    it_fail "sasl-sample-client produced no PLAIN initial response"
[ "$got" = "$expected" ] ||
    it_fail "PLAIN initial response: got '$got', want '$expected'"
expected=$(printf 'authz\0%s\0%s' "$SCRATCH_USER" "$SCRATCH_PASS" | base64 -w0)
got=$(CLIENT_PASS=$SCRATCH_PASS SAMPLE_CLIENT_AUTHZID=authz \
    sample_client_initial_response "$SCRATCH_USER" PLAIN imap localhost) ||
    it_fail "sasl-sample-client produced no PLAIN initial response (-u)"
[ "$got" = "$expected" ] ||
    it_fail "PLAIN initial response with authzid: got '$got', want '$expected'"
it_log "sasl-sample-client PLAIN initial response ok"

# --- imtest / smtptest ---------------------------------------------------
CLIENT_PASS=$SCRATCH_PASS imtest_login "$SCRATCH_USER" PLAIN ||
    it_fail "imtest PLAIN over IMAPS failed"
CLIENT_PASS=$SCRATCH_PASS imtest_login "$SCRATCH_USER" PLAIN "$IMAP_PORT" ||
    it_fail "imtest PLAIN over IMAP+STARTTLS failed"
if CLIENT_PASS=wrong-password imtest_login "$SCRATCH_USER" PLAIN; then
	it_fail "imtest with a wrong password reported success"
fi
CLIENT_PASS=$SCRATCH_PASS smtptest_login "$SCRATCH_USER" PLAIN ||
    it_fail "smtptest PLAIN over submission+STARTTLS failed"
dovecot_logged "imap-login: Info: Login: user=<$SCRATCH_USER>, method=PLAIN" 2 ||
    it_fail "Dovecot did not log the imtest logins"
it_log "imtest/smtptest ok"

# --- mbsync --------------------------------------------------------------
scratch_seed "$SCRATCH_USER" seeded-1
CLIENT_PASS=$SCRATCH_PASS mbsync_sync "$SCRATCH_USER" PLAIN ||
    it_fail "mbsync PLAIN over IMAPS failed"
[ "$(mbsync_count "$SCRATCH_USER")" = 1 ] ||
    it_fail "mbsync synced $(mbsync_count "$SCRATCH_USER") messages, want 1"
grep -qs "Subject: seeded-1" "$IT_DIR/maildir-$SCRATCH_USER"/INBOX/*/* ||
    it_fail "synced message lacks its subject"
if CLIENT_PASS=wrong-password mbsync_sync "$SCRATCH_USER" PLAIN; then
	it_fail "mbsync with a wrong password reported success"
fi
# No Pass at all: mbsync only asks for a password when the mechanism does,
# so a password-less mechanism (ANONYMOUS here, XOAUTH2 later) works.
scratch_seed "$SCRATCH_ANON" seeded-anon
mbsync_sync "$SCRATCH_ANON" ANONYMOUS ||
    it_fail "mbsync with ANONYMOUS and no Pass failed"
[ "$(mbsync_count "$SCRATCH_ANON")" = 1 ] ||
    it_fail "mbsync (ANONYMOUS) synced $(mbsync_count "$SCRATCH_ANON"), want 1"
it_log "mbsync ok"

# --- Postfix relay with PLAIN ----------------------------------------------
# Dummy values: PLAIN ignores them; the test checks that they reach smtp.
export SASL_OAUTH2_HELPER=$IT_DIR/bin/no-such-helper
export SASL_OAUTH2_CONFIG=$IT_DIR/no-such-config
sys_sasl_dir=$(pkg-config --variable=libdir libsasl2)/sasl2

# smtp_env_ok: a live smtp process got our variables via import_environment.
smtp_env_ok()
{
	local env
	env=$(postfix_smtp_environ) || it_fail "no live smtp process"
	local want
	for want in "SASL_PATH=$sys_sasl_dir" \
	    "SASL_OAUTH2_HELPER=$SASL_OAUTH2_HELPER" \
	    "SASL_OAUTH2_CONFIG=$SASL_OAUTH2_CONFIG"; do
		printf '%s\n' "$env" | grep -qxF "$want" ||
		    it_fail "smtp environment lacks $want: ${env//$'\n'/ }"
	done
}

sub_login="submission-login: Info: Login: user=<$SCRATCH_USER>, method=PLAIN"
logins=$(dovecot_count "$sub_login")		# smtptest's so far
postfix_start "$SUBMISSION_PORT" mech=plain mailbox="$SCRATCH_USER" \
    password="$SCRATCH_PASS"
postfix_send sender@example.test rcpt@example.test "relay-plain-1"
postfix_wait_log 'status=sent' 30 || it_fail "Postfix did not relay (chroot=n)"
sink_has relay-plain-1 10 || it_fail "message 1 did not reach the sink"
dovecot_logged "$sub_login" $((logins + 1)) ||
    it_fail "Dovecot did not log Postfix's PLAIN login"
[ "$(postfix_queue_count)" = 0 ] || it_fail "Postfix queue not empty"
smtp_env_ok
postfix_stop

logins=$(dovecot_count "$sub_login, .*TLS")
postfix_start "$SUBMISSION_PORT" mech=plain mailbox="$SCRATCH_USER" \
    password="$SCRATCH_PASS" chroot=y tls=may smtp_tls_loglevel=1
postfix_send sender@example.test rcpt@example.test "relay-plain-2"
postfix_wait_log 'status=sent' 30 2 || it_fail "Postfix did not relay (chroot=y)"
sink_has relay-plain-2 10 || it_fail "message 2 did not reach the sink"
dovecot_logged "$sub_login, .*TLS" $((logins + 1)) ||
    it_fail "Dovecot did not log Postfix's PLAIN login over TLS"
grep -q 'TLS connection established to 127.0.0.1' "$POSTFIX_LOG" ||
    it_fail "Postfix did not log its TLS session (tls=may, loglevel 1)"
smtp_env_ok
it_log "Postfix relay ok"

it_pass
