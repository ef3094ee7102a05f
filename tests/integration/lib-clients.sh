# lib-clients.sh: drivers for the real Cyrus SASL client programs.
#
# mbsync (isync), imtest/smtptest (cyrus-clients) and sasl-sample-client
# (sasl2-bin), each run non-interactively with SASL_PATH=$IT_SASL_PATH (else
# the system plugin dir) and SASL_OAUTH2_HELPER / SASL_OAUTH2_CONFIG passed
# through when set, with libasan preloaded in a sanitizer build
# (IT_HOST_ENV, lib.sh), under "timeout 20" in a new session (setsid: no
# controlling terminal, so no client can block on a /dev/tty prompt), with
# output appended to $IT_DIR/log/<client>.log.  Each returns the client's
# success (0) or failure (non-zero).
#
# Knobs (environment, all optional):
#   CLIENT_PASS   a password for mechanisms that ask for one (PLAIN tests);
#                 leave unset for XOAUTH2/OAUTHBEARER, which need none.
#   CLIENT_TLS    ssl | starttls | none.  Default: ssl when the port is
#                 $IMAPS_PORT, else starttls.  (imtest/smtptest and the
#                 Postfix smtp client do not verify certificates; mbsync
#                 does, against $IT_CA_FILE.)
#   MBSYNC_HOST   Host for mbsync (127.0.0.1).  mbsync 1.4 checks the server
#                 certificate's name even when CertificateFile trusts it,
#                 and matches only DNS subjectAltNames and the CN, never an
#                 IP subjectAltName: with a certificate naming only
#                 "localhost" (+ IP:127.0.0.1) use MBSYNC_HOST=localhost
#                 (mbsync then tries ::1 and 127.0.0.1 in turn).
#
# SASL interaction each client offers (read from their sources; Debian 12):
#   mbsync 1.4     callbacks USER, AUTHNAME, PASS with NULL procs, i.e.
#                  SASL_INTERACT prompts.  USER and AUTHNAME are both
#                  answered with the configured User (so authzid = authcid);
#                  PASS is answered (Pass/PassCmd, else a tty prompt) only
#                  when the mechanism asks for it.  sasl_client_new("imap",
#                  Host, no IP addresses): the plugin learns no port.
#                  Initial response only if the server has SASL-IR.
#   imtest         USER, AUTHNAME, PASS, GETREALM, ECHOPROMPT, NOECHOPROMPT
#                  as SASL_INTERACT prompts, plus a GETOPT callback.
#                  AUTHNAME = -a (else the login name of the uid), USER =
#                  -u or "" (an EMPTY string, not absent), PASS = -w else a
#                  tty prompt.  sasl_client_new gets local and remote
#                  "ip;port".  Its base64 buffer is 4096 bytes: a larger
#                  response fails with SASL_BUFOVER.
#   sasl-sample-client  real callbacks: AUTHNAME only with -a, USER only
#                  with -u, GETREALM only with -r, GETPATH only with -p,
#                  PASS always (getpass: /dev/tty, else stdin), ECHO/
#                  NOECHOPROMPT.  Without -a libsasl's default AUTHNAME
#                  callback answers $USER (else $USERNAME), else fails.
#                  Buffers are 2048 bytes: initial response plus mechanism
#                  name must stay below that, as must each server line.
#   Postfix smtp   callbacks AUTHNAME and PASS (USER too only with
#                  send_cyrus_sasl_authzid = yes), no interaction (prompt_need
#                  NULL: a mechanism returning SASL_INTERACT just fails),
#                  global LOG callback only.  sasl_client_new("smtp", nexthop
#                  host, no IP addresses).
# The plugin requires a USER callback (plugin.c, required_prompts): without
# -u, sasl-sample-client is never offered XOAUTH2/OAUTHBEARER, and neither
# is Postfix without send_cyrus_sasl_authzid = yes.
#
# SECRETS: only throw-away test passwords (CLIENT_PASS) and test tokens of
# the local identity provider ever appear in the logs written here.

# _clients_sasl_path: plugin search path for the clients.
_clients_sasl_path()
{
	if [ -n "${IT_SASL_PATH:-}" ]; then
		printf '%s\n' "$IT_SASL_PATH"
	else
		printf '%s/sasl2\n' \
		    "$(pkg-config --variable=libdir libsasl2 2>/dev/null)"
	fi
}

# _clients_run LOGNAME CMD...: run CMD with the SASL environment, in a new
# session, under timeout 20; stdout+stderr appended to log/LOGNAME.log.
_clients_run()
{
	local name=$1 rc=0
	shift
	local -a envv=("SASL_PATH=$(_clients_sasl_path)")
	[ -n "${SASL_OAUTH2_HELPER:-}" ] &&
	    envv+=("SASL_OAUTH2_HELPER=$SASL_OAUTH2_HELPER")
	[ -n "${SASL_OAUTH2_CONFIG:-}" ] &&
	    envv+=("SASL_OAUTH2_CONFIG=$SASL_OAUTH2_CONFIG")
	printf '=== %s: %s\n' "$(date +%T)" "$*" >>"$IT_DIR/log/$name.log"
	setsid -w timeout 20 env "${envv[@]}" "${IT_HOST_ENV[@]}" "$@" \
	    >>"$IT_DIR/log/$name.log" 2>&1 </dev/null || rc=$?
	printf '=== exit %s\n' "$rc" >>"$IT_DIR/log/$name.log"
	return $rc
}

# _clients_tls PORT: ssl|starttls|none for PORT (see CLIENT_TLS above).
_clients_tls()
{
	if [ -n "${CLIENT_TLS:-}" ]; then
		echo "$CLIENT_TLS"
	elif [ "$1" = "${IMAPS_PORT:-}" ]; then
		echo ssl
	else
		echo starttls
	fi
}

# --- mbsync -------------------------------------------------------------

# mbsync_sync USER MECH [PORT]: pull INBOX of USER from 127.0.0.1:PORT
# (default $IMAPS_PORT) into the Maildir $IT_DIR/maildir-USER with
# "AuthMechs MECH"; no Pass unless CLIENT_PASS is set.  0 iff mbsync
# succeeded.
mbsync_sync()
{
	local user=$1 mech=$2 port=${3:-${IMAPS_PORT:-}}
	local dir=$IT_DIR/mbsync-$user maildir=$IT_DIR/maildir-$user ssltype
	[ -n "$port" ] || it_fail "mbsync_sync: no port and no IMAPS_PORT"
	case $(_clients_tls "$port") in
	ssl) ssltype=IMAPS ;;
	starttls) ssltype=STARTTLS ;;
	*) ssltype=None ;;
	esac
	mkdir -p "$dir" "$maildir"
	{
		printf '%s\n' \
		    "IMAPAccount acct" \
		    "Host ${MBSYNC_HOST:-127.0.0.1}" \
		    "Port $port" \
		    "User \"$user\"" \
		    "AuthMechs $mech" \
		    "SSLType $ssltype"
		[ -n "${IT_CA_FILE:-}" ] &&
		    printf 'CertificateFile "%s"\n' "$IT_CA_FILE"
		[ -n "${CLIENT_PASS:-}" ] &&
		    printf 'Pass "%s"\n' "$CLIENT_PASS"
		printf '%s\n' \
		    "" \
		    "IMAPStore far" \
		    "Account acct" \
		    "" \
		    "MaildirStore near" \
		    "Path \"$maildir/\"" \
		    "Inbox \"$maildir/INBOX\"" \
		    "" \
		    "Channel inbox" \
		    "Far :far:" \
		    "Near :near:" \
		    "Patterns INBOX" \
		    "Create Near" \
		    "Sync Pull" \
		    "Expunge None" \
		    "SyncState *"
	} >"$dir/mbsyncrc"
	chmod 0600 "$dir/mbsyncrc"
	HOME=$dir _clients_run mbsync mbsync -V -c "$dir/mbsyncrc" inbox
}

# mbsync_count USER: number of messages synced into $IT_DIR/maildir-USER.
mbsync_count()
{
	local inbox=$IT_DIR/maildir-$1/INBOX
	if [ -d "$inbox" ]; then
		find "$inbox/cur" "$inbox/new" -type f 2>/dev/null | wc -l
	else
		echo 0
	fi
}

# --- imtest / smtptest ----------------------------------------------------

# _cyrus_test LOGNAME PROGRAM USER MECH PORT: one AUTHENTICATE, then logout
# (stdin is /dev/null, so the interactive phase logs out at once).  Success
# iff the output has "Authenticated." (the exit status is 0 either way).
_cyrus_test()
{
	local name=$1 prog=$2 user=$3 mech=$4 port=$5 out
	local -a args=(-a "$user" -m "$mech" -p "$port")
	case $(_clients_tls "$port") in
	ssl) args+=(-s) ;;
	starttls) args+=(-t "") ;;
	esac
	[ -n "${CLIENT_PASS:-}" ] && args+=(-w "$CLIENT_PASS")
	out=0
	[ -f "$IT_DIR/log/$name.log" ] && out=$(wc -l <"$IT_DIR/log/$name.log")
	_clients_run "$name" "$prog" "${args[@]}" 127.0.0.1 || true
	tail -n +"$((out + 1))" "$IT_DIR/log/$name.log" |
	    grep -q '^Authenticated\.'
}

# imtest_login USER MECH [PORT]: IMAP AUTHENTICATE as USER with MECH on
# 127.0.0.1:PORT (default $IMAPS_PORT).  0 iff authenticated.
imtest_login()
{
	local port=${3:-${IMAPS_PORT:-}}
	[ -n "$port" ] || it_fail "imtest_login: no port and no IMAPS_PORT"
	_cyrus_test imtest /usr/lib/cyrus/bin/imtest "$1" "$2" "$port"
}

# smtptest_login USER MECH [PORT]: SMTP AUTH as USER with MECH on
# 127.0.0.1:PORT (default $SUBMISSION_PORT, STARTTLS).  0 iff authenticated.
smtptest_login()
{
	local port=${3:-${SUBMISSION_PORT:-}}
	[ -n "$port" ] || it_fail "smtptest_login: no port and no SUBMISSION_PORT"
	_cyrus_test smtptest /usr/lib/cyrus/bin/smtptest "$1" "$2" "$port"
}

# --- sasl-sample-client ----------------------------------------------------
#
# sasl-sample-client speaks a line protocol on stdin/stdout (cyrus-sasl
# 2.1.28 sample/sample-client.c):
#   stdin  "S: <base64>\n"  first the server's mechanism list (ignored when
#          -m is given, but must be valid base64), then one line per server
#          challenge.  getpass() reads the password as a plain line from
#          stdin when there is no controlling terminal.
#   stdout "C: <base64>\n"  every client message.  The FIRST one is
#          base64("<chosen mech>\0<initial response>"), or base64("<chosen
#          mech>") alone when the mechanism produced no initial response.
#          Later ones are plain base64(response); an empty response is
#          "C: " with nothing after it.
#          Chatter around them: "service=NAME" (with -s), "Waiting for
#          mechanism list from server...", "recieved N byte message",
#          "Forcing use of mechanism M", "Choosing best mechanism from: M",
#          "returning OK: VALUE" (each -a/-u callback), "Using mechanism M",
#          "Preparing initial.", "Sending initial response...", "Waiting
#          for server reply...", "Sending response...", "Negotiation
#          complete", "Username: U", "SSF: N", "Waiting for encoded
#          message...".  Errors go to stderr.
#   Options: -m MECH, -a AUTHID (AUTHNAME callback), -u AUTHZID (USER
#   callback), -s SERVICE (default "rcmd"), -n SERVER_FQDN (default ""),
#   -p PLUGIN_PATH (GETPATH callback), -r REALM, -i local=IP;PORT,
#   remote=IP;PORT (passed to sasl_client_new), -b min=N,max=N, -e ssf=N,
#   -f noplain,..., -d (no client-first), -l (server-send-last), -v.
#   The exit status is 1 whenever stdin ends before the whole exchange and
#   the security-layer test message are done, i.e. always here: judge by
#   the "C:" lines.
#
# SAMPLE_CLIENT_AUTHZID (-u) and SAMPLE_CLIENT_REMOTE ("IP;PORT" for
# -i remote=) are optional extras from the environment.  Unset, the
# authzid is USER for XOAUTH2 and OAUTHBEARER (the plugin needs one) and
# none for other mechanisms; set but empty, there is no -u at all.

# sample_client_start USER MECH [SERVICE] [HOST] [SERVER_B64...]: run the
# client once with -a USER -m MECH -s SERVICE (smtp) -n HOST (127.0.0.1),
# feeding the mechanism list, CLIENT_PASS (if set) and then each SERVER_B64
# as a server line ("S: ..."); an argument "raw:TEXT" is fed as the bare
# line TEXT instead.  The password line is read when the mechanism asks for
# it: CLIENT_PASS fits mechanisms that ask in sasl_client_start (PLAIN);
# for one that asks later (LOGIN, CRAM-MD5) leave CLIENT_PASS unset and put
# "raw:PASSWORD" after the server line that triggers the question.  A
# mechanism that needs no password (ours) must get no password line.
# Its stdout goes to $SAMPLE_CLIENT_OUT (overwritten) and to
# log/sample-client.log.  0 iff it printed at least one "C:" line.
sample_client_start()
{
	local user=$1 mech=$2 service=${3:-smtp} host=${4:-127.0.0.1} s
	shift $(($# < 4 ? $# : 4))
	local log=$IT_DIR/log/sample-client.log
	SAMPLE_CLIENT_OUT=$IT_DIR/sample-client.out
	local -a args=(-m "$mech" -a "$user" -s "$service" -n "$host"
	    -p "$(_clients_sasl_path)")
	if [ -n "${SAMPLE_CLIENT_AUTHZID:-}" ]; then
		args+=(-u "$SAMPLE_CLIENT_AUTHZID")
	elif [ -z "${SAMPLE_CLIENT_AUTHZID+set}" ]; then
		case $mech in
		XOAUTH2|OAUTHBEARER) args+=(-u "$user") ;;
		esac
	fi
	[ -n "${SAMPLE_CLIENT_REMOTE:-}" ] &&
	    args+=(-i "remote=$SAMPLE_CLIENT_REMOTE")
	{
		printf 'S: %s\n' "$(printf %s "$mech" | base64 -w0)"
		[ -n "${CLIENT_PASS:-}" ] && printf '%s\n' "$CLIENT_PASS"
		for s in "$@"; do
			case $s in
			raw:*) printf '%s\n' "${s#raw:}" ;;
			*) printf 'S: %s\n' "$s" ;;
			esac
		done
	} >"$IT_DIR/sample-client.in"
	printf '=== %s: sasl-sample-client %s\n' "$(date +%T)" "${args[*]}" \
	    >>"$log"
	local -a envv=("SASL_PATH=$(_clients_sasl_path)")
	[ -n "${SASL_OAUTH2_HELPER:-}" ] &&
	    envv+=("SASL_OAUTH2_HELPER=$SASL_OAUTH2_HELPER")
	[ -n "${SASL_OAUTH2_CONFIG:-}" ] &&
	    envv+=("SASL_OAUTH2_CONFIG=$SASL_OAUTH2_CONFIG")
	# stdbuf preloads its own library after those already in LD_PRELOAD:
	# libasan (IT_HOST_ENV) stays first.
	setsid -w timeout 20 env "${envv[@]}" "${IT_HOST_ENV[@]}" \
	    stdbuf -o0 sasl-sample-client "${args[@]}" \
	    <"$IT_DIR/sample-client.in" >"$SAMPLE_CLIENT_OUT" 2>>"$log" || true
	cat "$SAMPLE_CLIENT_OUT" >>"$log"
	grep -q '^C: ' "$SAMPLE_CLIENT_OUT"
}

# sample_client_responses USER MECH [SERVICE] [HOST] [SERVER_B64...]:
# print every client message as base64, one per line, exactly as the
# mechanism produced it.  Line 1 is the initial response with the
# "<mech>\0" framing removed (an empty line if it was empty, the word NONE
# if the mechanism produced none); line N+1 answers SERVER_B64 number N.
sample_client_responses()
{
	local chosen first n total
	sample_client_start "$@" || return 1
	chosen=$(sed -n 's/^Using mechanism //p' "$SAMPLE_CLIENT_OUT" | head -n 1)
	first=$(grep -m 1 '^C: ' "$SAMPLE_CLIENT_OUT" | cut -c 4-)
	n=${#chosen}
	total=$(printf %s "$first" | base64 -d | wc -c)
	if [ "$total" -le "$n" ]; then
		echo NONE
	else
		printf %s "$first" | base64 -d | tail -c +"$((n + 2))" |
		    base64 -w0
		echo
	fi
	grep '^C: ' "$SAMPLE_CLIENT_OUT" | tail -n +2 | cut -c 4-
}

# sample_client_initial_response USER MECH [SERVICE] [HOST]: print the
# base64 initial response of MECH (empty line for an empty one); 1 if the
# client failed or the mechanism produced no initial response.
sample_client_initial_response()
{
	local all
	all=$(sample_client_responses "$@") || return 1
	[ "${all%%$'\n'*}" != NONE ] || return 1
	printf '%s\n' "${all%%$'\n'*}"
}
