# lib-dovecot.sh: a private Dovecot 2.3 (IMAP, IMAPS, submission) whose
# XOAUTH2/OAUTHBEARER logins are checked by introspection at the test IdP,
# and an smtp-sink that catches what submission relays.  Sourced by lib.sh.
#
#   dovecot_start [NAME]     needs root and idp_start first; starts the sink too.
#                            NAME: a further instance, in dovecot-NAME/, logging
#                            to log/dovecot-NAME.log (the ports and variables
#                            below then describe it; save the first's before)
#   dovecot_seed_message USER SUBJECT   put one message into USER's INBOX
#   sink_start               smtp-sink on 127.0.0.1:$SINK_PORT, one file per mail
#   sink_count               number of messages caught so far
#   sink_wait COUNT SECONDS  wait until at least COUNT messages arrived
#   sink_grep REGEX          grep -E the caught messages (grep's exit status)
#
# Exports IMAP_PORT IMAPS_PORT SUBMISSION_PORT SINK_PORT SINK_DIR IT_CA_FILE
# DOVECOT_CONF DOVECOT_LOG DOVECOT_PID SINK_PID, and PLAIN_USER /
# PLAIN_PASSWORD.  DOVECOT_AUTH_MECHANISMS (environment) replaces the
# mechanisms offered, "xoauth2 oauthbearer plain".
#
# Everything lives under $IT_DIR (config, base_dir, state_dir, mail, certs);
# only 127.0.0.1 is listened on; processes are stopped by PID at exit.
#
# SECRETS: the dovecot client secret of the test IdP (in the oauth2 passdb
# file, mode 0600), the throw-away PLAIN password below and a throw-away TLS
# key.  auth_debug / auth_debug_passwords stay off: they would log tokens.

PLAIN_USER=plain@example.test
PLAIN_PASSWORD=plain-password
export PLAIN_USER PLAIN_PASSWORD

# The unprivileged system user that owns the mail and runs the sink, and
# Dovecot's default_internal_user (Debian: dovecot).
DOVECOT_MAIL_USER=mail
DOVECOT_INTERNAL_USER=dovecot

# _dovecot_distinct_port USED...: a free port that is not among USED.
_dovecot_distinct_port()
{
	local p u again
	while :; do
		p=$(it_free_port)
		again=0
		for u in "$@"; do
			[ "$p" = "$u" ] && again=1
		done
		[ $again = 0 ] && { echo "$p"; return 0; }
	done
}

# _dovecot_make_certs DIR: a throw-away CA and a server certificate for
# 127.0.0.1 / localhost signed by it.  IT_CA_FILE is the CA certificate.
_dovecot_make_certs()
{
	local d=$1
	(
		umask 077
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -days 2 -subj "/CN=sasl-oauth2 test CA" \
		    -addext "basicConstraints=critical,CA:TRUE" \
		    -addext "keyUsage=critical,keyCertSign,cRLSign" \
		    -keyout "$d/ca.key" -out "$d/ca.pem" &&
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -subj "/CN=localhost" \
		    -keyout "$d/server.key" -out "$d/server.csr" &&
		printf '%s\n' \
		    "basicConstraints=critical,CA:FALSE" \
		    "keyUsage=critical,digitalSignature" \
		    "extendedKeyUsage=serverAuth" \
		    "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$d/server.ext" &&
		openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" \
		    -CAkey "$d/ca.key" -CAcreateserial -days 2 \
		    -extfile "$d/server.ext" -out "$d/server.pem"
	) >"$IT_DIR/log/openssl.log" 2>&1 || it_fail "openssl could not make the test certificates"
	chmod 0644 "$d/ca.pem" "$d/server.pem"
	IT_CA_FILE="$d/ca.pem"
	export IT_CA_FILE
}

# sink_start: smtp-sink on 127.0.0.1:$SINK_PORT (picked if unset), one file
# per mail transaction under $SINK_DIR.
sink_start()
{
	local pid picked=0 attempt
	it_require /usr/sbin/smtp-sink
	[ -n "${SINK_PORT:-}" ] || picked=1
	local -a sink_user=()
	SINK_DIR="$IT_DIR/sink"
	mkdir -p "$SINK_DIR"
	if [ "$(id -u)" = 0 ]; then
		# smtp-sink insists on dropping root (-u)
		chown "$DOVECOT_MAIL_USER:" "$SINK_DIR"
		sink_user=(-u "$DOVECOT_MAIL_USER")
	fi
	# A free port can be taken by a parallel test before the sink binds
	# it (and then the port answers, but not for us): smtp-sink exits at
	# once when bind fails, so pick another port and start again.
	for attempt in 1 2 3 4 5; do
		[ $picked = 0 ] ||
		    SINK_PORT=$(_dovecot_distinct_port "${IMAP_PORT:-}" \
			"${IMAPS_PORT:-}" "${SUBMISSION_PORT:-}" "${IDP_PORT:-}")
		# one file per mail transaction, named <time>.<random hex>
		/usr/sbin/smtp-sink "${sink_user[@]}" -a -h sink.example.test \
		    -d "$SINK_DIR/%Y%m%d%H%M%S." \
		    "127.0.0.1:$SINK_PORT" 64 >"$IT_DIR/log/sink.log" 2>&1 </dev/null &
		pid=$!
		it_track "$pid"
		# until it listens, or says it cannot (a port taken by another
		# socket, even one that does not listen: then another port)
		for _ in $(seq 1 100); do
			(exec 3<>"/dev/tcp/127.0.0.1/$SINK_PORT") 2>/dev/null && break
			grep -q "fatal" "$IT_DIR/log/sink.log" && break
			sleep 0.1
		done
		# (a fatal smtp-sink lingers a moment: ask its log too)
		sleep 0.2
		if it_alive "$pid" && ! grep -q "fatal" "$IT_DIR/log/sink.log" &&
		    (exec 3<>"/dev/tcp/127.0.0.1/$SINK_PORT") 2>/dev/null; then
			SINK_PID=$pid
			export SINK_PORT SINK_DIR SINK_PID
			return 0
		fi
		grep -q "in use" "$IT_DIR/log/sink.log" && [ $picked = 1 ] ||
		    it_fail "smtp-sink exited at start or does not listen on $SINK_PORT: $(tail -n 3 "$IT_DIR/log/sink.log")"
		kill "$pid" 2>/dev/null || true
		it_log "sink port $SINK_PORT was taken (attempt $attempt); another"
	done
	it_fail "smtp-sink found no free port in 5 attempts"
}

# sink_count: how many messages the sink holds.
sink_count()
{
	find "$SINK_DIR" -type f | wc -l
}

# sink_wait COUNT SECONDS: wait until the sink holds at least COUNT messages.
sink_wait()
{
	local want=$1 secs=${2:-10}
	for _ in $(seq 1 $((secs * 10))); do
		[ "$(sink_count)" -ge "$want" ] && return 0
		sleep 0.1
	done
	it_log "sink_wait: $(sink_count) of $want messages after ${secs}s"
	return 1
}

# sink_grep REGEX: grep -E in every caught message.
sink_grep()
{
	find "$SINK_DIR" -type f -exec cat {} + | grep -E -- "$1"
}

# _dovecot_write_config DIR NAME
_dovecot_write_config()
{
	local d=$1 name=$2 uid gid
	uid=$(id -u "$DOVECOT_MAIL_USER")
	gid=$(id -g "$DOVECOT_MAIL_USER")

	# The oauth2 passdb: introspection at the IdP as the dovecot client.
	# max_idle_time_msecs: Dovecot's HTTP client keeps an idle connection
	# to the IdP, whose Node server closes idle ones after 5 s (its
	# default keepAliveTimeout); a request sent on one it had closed got
	# "Connection reset by peer" and a temporary failure (seen in CI).
	# Closing ours after 1 s is the client's side of that contract.
	(
		umask 077
		cat >"$d/oauth2.conf" <<-EOF
		introspection_mode = post
		introspection_url = http://$IDP_DOVECOT_ID:$IDP_DOVECOT_SECRET@127.0.0.1:$IDP_PORT/token/introspection
		force_introspection = yes
		username_attribute = email
		active_attribute = active
		active_value = true
		timeout_msecs = 10000
		max_idle_time_msecs = 1000
		EOF
		printf '%s:{PLAIN}%s::::::\n' "$PLAIN_USER" "$PLAIN_PASSWORD" >"$d/passwd"
	)
	# the auth process reads them as default_internal_user (dovecot)
	chgrp "$DOVECOT_INTERNAL_USER" "$d/oauth2.conf" "$d/passwd"
	chmod 0640 "$d/oauth2.conf" "$d/passwd"

	cat >"$d/dovecot.conf" <<-EOF
	# sasl-oauth2 integration test instance (generated; see lib-dovecot.sh)
	instance_name = sasl-oauth2-it-$$$name
	base_dir = $d/run
	state_dir = $d/state
	listen = 127.0.0.1
	protocols = imap submission
	hostname = localhost
	log_path = $DOVECOT_LOG
	info_log_path = $DOVECOT_LOG
	debug_log_path = $DOVECOT_LOG
	log_timestamp = "%Y-%m-%d %H:%M:%S "

	ssl = yes
	ssl_cert = <$d/server.pem
	ssl_key = <$d/server.key
	ssl_dh = </usr/share/dovecot/dh.pem

	disable_plaintext_auth = no
	auth_mechanisms = ${DOVECOT_AUTH_MECHANISMS:-xoauth2 oauthbearer plain}
	auth_failure_delay = 0
	auth_verbose = yes
	auth_verbose_passwords = no
	auth_debug = no
	auth_debug_passwords = no
	auth_cache_size = 0

	# PLAIN baseline account; oauth users never reach this passdb, and a
	# wrong PLAIN password does not go on to the IdP as a "token"
	passdb {
	  driver = passwd-file
	  args = $d/passwd
	  username_filter = $PLAIN_USER
	  result_failure = return-fail
	}
	passdb {
	  driver = oauth2
	  args = $d/oauth2.conf
	}
	userdb {
	  driver = static
	  args = uid=$uid gid=$gid home=$IT_DIR/mail/%Lu allow_all_users=yes
	}
	first_valid_uid = $uid
	first_valid_gid = $gid
	mail_location = maildir:~/Maildir
	namespace inbox {
	  inbox = yes
	}

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
	  inet_listener pop3s {
	    port = 0
	  }
	}
	submission_relay_host = 127.0.0.1
	submission_relay_port = $SINK_PORT
	submission_relay_ssl = no
	submission_relay_trusted = no

	# no auth penalty: a failed login must not slow down the next test step
	service anvil {
	  unix_listener anvil-auth-penalty {
	    mode = 0
	  }
	}
	EOF
}

# _dovecot_wait_ready PID SECONDS: until all three listeners answer; fail
# at once if the master dies (bad config, port taken).
_dovecot_wait_ready()
{
	local pid=$1 secs=$2 from=${3:-0} p up
	for _ in $(seq 1 $((secs * 10))); do
		if ! it_alive "$pid"; then
			# A parallel test took one of our free ports first.
			tail -n +"$((from + 1))" "$DOVECOT_LOG" |
			    grep -q "Address already in use" && return 2
			it_fail "dovecot exited at start (see $DOVECOT_LOG)"
		fi
		up=0
		for p in "$IMAP_PORT" "$IMAPS_PORT" "$SUBMISSION_PORT"; do
			(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && up=$((up + 1))
		done
		[ $up = 3 ] && return 0
		sleep 0.1
	done
	it_fail "dovecot did not listen on its ports within ${secs}s"
}

# dovecot_start [NAME]: IMAP/IMAPS/submission on free 127.0.0.1 ports (needs
# root and a running IdP); starts the sink unless SINK_PORT is already set.
# With NAME, one more instance beside the first (see the top).
dovecot_start()
{
	local name=${1:+-$1} pid from rc attempt
	local d="$IT_DIR/dovecot$name"
	it_require_root
	it_require dovecot doveconf doveadm openssl
	[ -n "${IDP_PORT:-}" ] || it_fail "dovecot_start: call idp_start first"
	id "$DOVECOT_MAIL_USER" >/dev/null 2>&1 ||
	    it_skip "no system user $DOVECOT_MAIL_USER for the test mailboxes"
	id "$DOVECOT_INTERNAL_USER" >/dev/null 2>&1 ||
	    it_skip "no system user $DOVECOT_INTERNAL_USER (dovecot-core)"

	mkdir -p "$d/run" "$d/state" "$IT_DIR/mail"
	chmod 0755 "$d" "$d/run"
	chown "$DOVECOT_MAIL_USER:" "$IT_DIR/mail"
	chmod 0700 "$IT_DIR/mail"

	[ -n "${SINK_PID:-}" ] || sink_start
	_dovecot_make_certs "$d"
	DOVECOT_CONF="$d/dovecot.conf"
	DOVECOT_LOG="$IT_DIR/log/dovecot$name.log"
	export DOVECOT_CONF DOVECOT_LOG
	: >>"$DOVECOT_LOG"
	# Free ports can be taken by a parallel test before dovecot binds
	# them: on "Address already in use", pick others and start again.
	for attempt in 1 2 3 4 5; do
		IMAP_PORT=$(_dovecot_distinct_port "$IDP_PORT" "$SINK_PORT")
		IMAPS_PORT=$(_dovecot_distinct_port "$IDP_PORT" "$SINK_PORT" \
		    "$IMAP_PORT")
		SUBMISSION_PORT=$(_dovecot_distinct_port "$IDP_PORT" \
		    "$SINK_PORT" "$IMAP_PORT" "$IMAPS_PORT")
		export IMAP_PORT IMAPS_PORT SUBMISSION_PORT
		_dovecot_write_config "$d" "$name"
		doveconf -c "$DOVECOT_CONF" -n >"$IT_DIR/log/doveconf.log" 2>&1 ||
		    it_fail "doveconf rejects the test configuration (see $IT_DIR/log/doveconf.log)"
		from=$(wc -l <"$DOVECOT_LOG" 2>/dev/null || echo 0)
		# -F: foreground, so the PID we track is the master's
		dovecot -F -c "$DOVECOT_CONF" >>"$DOVECOT_LOG" 2>&1 </dev/null &
		pid=$!
		it_track "$pid"
		DOVECOT_PID=$pid
		export DOVECOT_PID
		rc=0
		_dovecot_wait_ready "$pid" 15 "$from" || rc=$?
		[ $rc = 0 ] && break
		[ "$attempt" -lt 5 ] || it_fail "dovecot found no free ports"
		it_log "a port was taken meanwhile; trying others"
	done
	it_log "dovecot ready: imap $IMAP_PORT imaps $IMAPS_PORT submission $SUBMISSION_PORT sink $SINK_PORT"
}

# dovecot_seed_message USER SUBJECT: deliver one small message to USER's INBOX.
dovecot_seed_message()
{
	local user=$1 subject=$2
	printf '%s\r\n' \
	    "From: seed@example.test" \
	    "To: $user" \
	    "Subject: $subject" \
	    "Date: $(LC_ALL=C date -R)" \
	    "Message-ID: <seed.$$.$RANDOM.$(date +%s%N)@example.test>" \
	    "" \
	    "Seeded by the sasl-oauth2 integration tests." |
	    doveadm -c "$DOVECOT_CONF" save -u "$user" -m INBOX ||
	    it_fail "dovecot_seed_message: doveadm save for $user failed"
}
