# lib-postfix.sh: a private Postfix instance acting as a SASL *client*.
#
# postfix_start builds a complete instance under $IT_DIR/postfix (its own
# config_directory, queue_directory and data_directory), relays everything
# to [127.0.0.1]:RELAY_PORT with smtp_sasl_auth_enable = yes, and logs to
# $IT_DIR/log/postfix.log.  It never reads or changes /etc/postfix/main.cf
# and never touches the system's default instance.  Mail enters through
# "sendmail -C DIR"; there is no smtpd listener.
#
# Why this works without alternate_config_directories: Postfix only checks
# that list for a "-c DIR" / "-C DIR" / MAIL_CONFIG given to an *unsafe*
# (set-gid, non-root) process.  The super-user is trusted (util/unsafe.c),
# so as root "postfix -c DIR start|stop|reload", "postqueue -c DIR" and
# "sendmail -C DIR" (which passes MAIL_CONFIG on to the set-gid postdrop)
# all use DIR.  Hence every function here must run as root.
#
# SECRETS: the password map holds a throw-away test password (PLAIN tests)
# or a dummy one (OAuth mechanisms ignore it).  It lives in a 0600 file
# owned by root; smtp opens the map as root before it drops privileges.

# postfix_start RELAY_PORT [key=value ...]
#   Harness keys (not main.cf parameters):
#     mailbox=ADDR     SASL user name in the password map (user@example.test)
#     password=PW      SASL password in the map ("unused"; "" allowed)
#     mech=M           smtp_sasl_mechanism_filter (xoauth2)
#     authzid=yes|no   send_cyrus_sasl_authzid (yes when M names xoauth2 or
#                      oauthbearer, as docs/postfix.md does for an OAuth
#                      relay: the plugin is only offered to a host that
#                      names an authzid; else no, Postfix's default)
#     tls=none|may|encrypt  smtp_tls_security_level (none)
#     chroot=n|y       chroot column of the smtp and relay services (n)
#     master_cf=FILE   services in master.cf syntax (with "-o" lines): each
#                      replaces the harness's service of that name, the
#                      others are added
#   Any other key=value becomes a main.cf override (postconf -e), applied
#   last.  SASL_PATH ($IT_SASL_PATH, else the system plugin dir),
#   SASL_OAUTH2_HELPER and SASL_OAUTH2_CONFIG (when set in the caller's
#   environment) reach the smtp processes through import_environment; in a
#   sanitizer build, so do LD_PRELOAD of libasan and the sanitizer options
#   (_postfix_sanitizer_env).
#   Sets POSTFIX_CONF, POSTFIX_QUEUE, POSTFIX_LOG; tracks the master PID and
#   registers postfix_stop with it_on_cleanup.  Fails the test on error.
postfix_start()
{
	local port=$1 kv
	shift
	local mailbox=user@example.test password=unused mech=xoauth2
	local tls=none chroot=n authzid="" master_cf=""
	local -a overrides=()
	for kv in "$@"; do
		case $kv in
		mailbox=*) mailbox=${kv#*=} ;;
		password=*) password=${kv#*=} ;;
		mech=*) mech=${kv#*=} ;;
		authzid=*) authzid=${kv#*=} ;;
		tls=*) tls=${kv#*=} ;;
		chroot=*) chroot=${kv#*=} ;;
		master_cf=*) master_cf=${kv#*=} ;;
		*=*) overrides+=("$kv") ;;
		*) it_fail "postfix_start: not key=value: $kv" ;;
		esac
	done
	case $chroot in y|n) ;; *) it_fail "postfix_start: chroot=$chroot" ;; esac
	case $tls in none|may|encrypt) ;; *) it_fail "postfix_start: tls=$tls" ;; esac
	if [ -z "$authzid" ]; then
		case $mech in
		*xoauth2*|*oauthbearer*) authzid=yes ;;
		*) authzid=no ;;
		esac
	fi
	case $authzid in yes|no) ;; *) it_fail "postfix_start: authzid=$authzid" ;; esac

	if [ -n "${POSTFIX_CONF:-}" ]; then
		postfix_stop	# a restart with new settings
	fi
	POSTFIX_DIR=$IT_DIR/postfix
	POSTFIX_CONF=$POSTFIX_DIR/etc
	POSTFIX_QUEUE=$POSTFIX_DIR/queue
	POSTFIX_LOG=$IT_DIR/log/postfix.log
	export POSTFIX_DIR POSTFIX_CONF POSTFIX_QUEUE POSTFIX_LOG
	mkdir -p "$POSTFIX_CONF" "$POSTFIX_QUEUE" "$POSTFIX_DIR/data"
	chmod 0755 "$POSTFIX_DIR" "$POSTFIX_CONF" "$POSTFIX_QUEUE"
	chown postfix "$POSTFIX_DIR/data"
	chmod 0700 "$POSTFIX_DIR/data"
	touch "$POSTFIX_LOG"

	_postfix_write_master_cf "$chroot" "$master_cf"
	_postfix_write_passwd "$port" "$mailbox" "$password"
	: >"$POSTFIX_CONF/main.cf"
	_postfix_set \
	    "compatibility_level = 3.6" \
	    "queue_directory = $POSTFIX_QUEUE" \
	    "data_directory = $POSTFIX_DIR/data" \
	    "mail_owner = postfix" \
	    "setgid_group = postdrop" \
	    "myhostname = client.example.test" \
	    "mydomain = example.test" \
	    "myorigin = \$myhostname" \
	    "mydestination =" \
	    "relay_domains =" \
	    "local_transport = error:local delivery is disabled" \
	    "alias_maps =" \
	    "alias_database =" \
	    "inet_interfaces = loopback-only" \
	    "inet_protocols = all" \
	    "smtputf8_enable = no" \
	    "biff = no" \
	    "relayhost = [127.0.0.1]:$port" \
	    "smtp_sasl_auth_enable = yes" \
	    "smtp_sasl_password_maps = texthash:$POSTFIX_CONF/sasl_passwd" \
	    "smtp_sasl_mechanism_filter = $mech" \
	    "send_cyrus_sasl_authzid = $authzid" \
	    "smtp_sasl_security_options = noanonymous" \
	    "smtp_sasl_tls_security_options = noanonymous" \
	    "smtp_tls_security_level = $tls" \
	    "smtp_connect_timeout = 5s" \
	    "smtp_helo_timeout = 20s" \
	    "queue_run_delay = 1s" \
	    "minimal_backoff_time = 1s" \
	    "maximal_backoff_time = 2s" \
	    "maillog_file_prefixes = $IT_DIR/log" \
	    "maillog_file = $POSTFIX_LOG" \
	    "import_environment = $(_postfix_import_environment)"
	if [ -n "${IT_CA_FILE:-}" ]; then
		_postfix_set "smtp_tls_CAfile = $IT_CA_FILE"
	fi
	if [ ${#overrides[@]} -gt 0 ]; then
		_postfix_set "${overrides[@]}"
	fi
	_postfix_sanitizer_env

	if [ -z "${POSTFIX_CLEANUP_SET:-}" ]; then
		it_on_cleanup postfix_stop
		POSTFIX_CLEANUP_SET=1
	fi
	# "start" runs post-install create-missing (queue directories with
	# their owners and modes) and the integrity checks itself.
	postfix -c "$POSTFIX_CONF" start >>"$POSTFIX_LOG" 2>&1 ||
	    it_fail "postfix start failed (see $POSTFIX_LOG)"
	POSTFIX_MASTER_PID=$(_postfix_master_pid) ||
	    it_fail "postfix master did not start (see $POSTFIX_LOG)"
	it_track "$POSTFIX_MASTER_PID"
	it_log "postfix instance $POSTFIX_CONF up (master $POSTFIX_MASTER_PID)," \
	    "relay [127.0.0.1]:$port mech=$mech authzid=$authzid tls=$tls" \
	    "chroot=$chroot"
}

# import_environment: Postfix's default list plus our variables, as
# name=value (the master runs with a cleaned environment, so values must be
# spelled out).  Values must not contain white space or commas.
_postfix_import_environment()
{
	local env sasl_path
	env=$(postconf -d -h import_environment)
	sasl_path=${IT_SASL_PATH:-$(pkg-config --variable=libdir libsasl2 2>/dev/null)/sasl2}
	env="$env SASL_PATH=$sasl_path"
	if [ -n "${SASL_OAUTH2_HELPER:-}" ]; then
		env="$env SASL_OAUTH2_HELPER=$SASL_OAUTH2_HELPER"
	fi
	if [ -n "${SASL_OAUTH2_CONFIG:-}" ]; then
		env="$env SASL_OAUTH2_CONFIG=$SASL_OAUTH2_CONFIG"
	fi
	printf '%s\n' "$env"
}

# _postfix_sanitizer_env: in a sanitizer build (lib.sh), preload libasan
# into the daemons, whatever import_environment a test or guide set: smtp
# loads our plugin.  The master passes import_environment to every daemon
# it starts; the dynamic loader reads LD_PRELOAD at exec, before smtp
# chroots.  (The master, already running when it reads the list, and the
# set-gid postdrop that sendmail runs stay uninstrumented: neither loads
# the plugin, and postdrop would ignore LD_PRELOAD.)  Daemons have
# /dev/null as stderr, so ASan writes its reports to san/asan.PID relative
# to the working directory, which is the queue directory both inside the
# jail (its root) and outside; a UBSan report is lost there, but the
# master logs the daemon's abnormal exit, which it_cleanup looks for.
_postfix_sanitizer_env()
{
	local env
	[ -n "$IT_SAN_LIB" ] || return 0
	install -d -o postfix -g postfix -m 0755 "$POSTFIX_QUEUE/san"
	env=$(postconf -c "$POSTFIX_CONF" -h import_environment)
	env="$env LD_PRELOAD=$IT_SAN_LIB"
	env="$env ASAN_OPTIONS=halt_on_error=1:detect_leaks=0:log_path=san/asan"
	env="$env UBSAN_OPTIONS=$UBSAN_OPTIONS"
	_postfix_set "import_environment = $env"
}

_postfix_set()
{
	postconf -c "$POSTFIX_CONF" -e "$@" ||
	    it_fail "postconf -e failed: $*"
}

# postfix_postmap MAP...: postmap with a private, empty configuration
# directory: a plain "postmap" reads /etc/postfix/main.cf, which a machine
# where Postfix is installed but not configured does not have.
postfix_postmap()
{
	local etc=$IT_DIR/postmap-etc
	mkdir -p "$etc" && : >>"$etc/main.cf" || return 1
	postmap -c "$etc" "$@"
}

# The password map: keyed by the exact relayhost form "[127.0.0.1]:PORT".
# A value without ":" would give an empty password; Postfix accepts that
# (the PASS callback then returns a zero-length secret).
_postfix_write_passwd()
{
	local port=$1 mailbox=$2 password=$3
	(
		umask 077
		printf '[127.0.0.1]:%s %s:%s\n' "$port" "$mailbox" "$password" \
		    >"$POSTFIX_CONF/sasl_passwd"
	)
}

# Only the services a relay-only instance needs; everything runs
# unchrooted except smtp/relay, whose chroot column is the first parameter.
# The second, if not empty, is a file of services that replace or join
# these (master_cf= of postfix_start).
_postfix_write_master_cf()
{
	local c=$1 extra=${2:-} names
	cat >"$POSTFIX_CONF/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
tlsmgr     unix  -       -       n       1000?   1       tlsmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
proxywrite unix  -       -       n       -       1       proxymap
smtp       unix  -       -       $c       -       -       smtp
relay      unix  -       -       $c       -       -       smtp
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
EOF
	[ -n "$extra" ] || return 0
	[ -f "$extra" ] || it_fail "postfix_start: no master_cf file $extra"
	names=$(awk '/^[^ \t#]/ { print $1 }' "$extra")
	awk -v names="$names" '
		BEGIN { n = split(names, a, "\n"); for (i = 1; i <= n; i++) drop[a[i]] = 1 }
		!($1 in drop)
	' "$POSTFIX_CONF/master.cf" >"$POSTFIX_CONF/master.cf.new" &&
	    cat "$extra" >>"$POSTFIX_CONF/master.cf.new" &&
	    mv "$POSTFIX_CONF/master.cf.new" "$POSTFIX_CONF/master.cf" ||
	    it_fail "postfix_start: cannot merge $extra into master.cf"
}

# _postfix_master_pid: wait (5 s) for pid/master.pid and a live master.
_postfix_master_pid()
{
	local pid
	for _ in $(seq 1 50); do
		if [ -s "$POSTFIX_QUEUE/pid/master.pid" ]; then
			pid=$(tr -dc 0-9 <"$POSTFIX_QUEUE/pid/master.pid")
			if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
				echo "$pid"
				return 0
			fi
		fi
		sleep 0.1
	done
	return 1
}

# postfix_set key=value...: change main.cf of the running instance and
# reload it (new smtp processes see the change).
postfix_set()
{
	_postfix_set "$@"
	postfix -c "$POSTFIX_CONF" reload >>"$POSTFIX_LOG" 2>&1 ||
	    it_fail "postfix reload failed"
}

# postfix_send FROM TO SUBJECT: submit a short message with sendmail -C.
postfix_send()
{
	local from=$1 to=$2 subject=$3
	printf '%s\n' \
	    "From: <$from>" \
	    "To: <$to>" \
	    "Subject: $subject" \
	    "Message-ID: <$(date +%s).$$.$RANDOM@client.example.test>" \
	    "" \
	    "Test message from the sasl-oauth2 integration harness." \
	    "Subject repeated for grep: $subject" |
	    sendmail -C "$POSTFIX_CONF" -f "$from" -i -- "$to" ||
	    it_fail "sendmail -C $POSTFIX_CONF failed"
}

# postfix_no_deferral WHAT: fail the test if this instance has deferred a
# message so far.  The instance retries every 1 to 2 s, so a first try
# that failed would otherwise pass for a slow success; call this where the
# first try must succeed.
postfix_no_deferral()
{
	local line
	line=$(grep -m 1 -F "status=deferred" "$POSTFIX_LOG" 2>/dev/null) ||
	    return 0
	it_fail "$1: deferred where the first try must succeed: $line"
}

# postfix_flush: attempt delivery of every queued message now.
postfix_flush()
{
	postqueue -c "$POSTFIX_CONF" -f
}

# postfix_wait_log REGEX SECONDS [COUNT]: poll the mail log until at least
# COUNT (default 1) lines match the extended REGEX; 1 on timeout.
postfix_wait_log()
{
	local re=$1 secs=$2 want=${3:-1} n deadline
	deadline=$((SECONDS + secs))
	while :; do
		n=$(grep -Ec -- "$re" "$POSTFIX_LOG" 2>/dev/null) || n=0
		[ "$n" -ge "$want" ] && return 0
		[ $SECONDS -ge $deadline ] && break
		sleep 0.2
	done
	it_log "postfix log: no $want line(s) matching /$re/ after ${secs}s"
	return 1
}

# postfix_smtp_environ: print the environment (VAR=value, one a line) of
# a live smtp process of this instance (they idle for max_idle after a
# delivery); 1 if none runs.  Shows what import_environment delivered.
postfix_smtp_environ()
{
	local pid
	for pid in $(_postfix_instance_pids); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = smtp ] || continue
		tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" && return 0
	done
	return 1
}

# postfix_queue_count: messages in this instance's queue (any state,
# including maildrop files not yet picked up).
postfix_queue_count()
{
	local d n=0 c
	for d in maildrop incoming active deferred hold; do
		[ -d "$POSTFIX_QUEUE/$d" ] || continue
		c=$(find "$POSTFIX_QUEUE/$d" -type f | wc -l)
		n=$((n + c))
	done
	echo "$n"
}

# _postfix_instance_pids: every live process of this instance: Postfix
# daemons inherit MAIL_CONFIG=<our config dir> from the master.
_postfix_instance_pids()
{
	local f
	# shellcheck disable=SC2013  # /proc paths have no blanks
	for f in $(grep -lzxF "MAIL_CONFIG=$POSTFIX_CONF" \
	    /proc/[0-9]*/environ 2>/dev/null); do
		f=${f#/proc/}
		echo "${f%/environ}"
	done
}

# postfix_stop: stop the instance and wait (10 s) until all of its
# processes are gone (then SIGKILL what is left); idempotent.  PID 1 of
# this VM reaps orphans lazily, so an exited daemon lingers as a zombie
# for a moment: we wait for the /proc entries themselves to disappear, so
# that "pgrep master" right after a test shows nothing of ours.
postfix_stop()
{
	local pids pid left
	[ -n "${POSTFIX_CONF:-}" ] && [ -f "$POSTFIX_CONF/main.cf" ] || return 0
	pids=$(_postfix_instance_pids)
	if [ -s "$POSTFIX_QUEUE/pid/master.pid" ]; then
		pids="$pids $(tr -dc 0-9 <"$POSTFIX_QUEUE/pid/master.pid")"
	fi
	if postfix -c "$POSTFIX_CONF" status >/dev/null 2>&1; then
		postfix -c "$POSTFIX_CONF" stop >>"$POSTFIX_LOG" 2>&1 || true
	fi
	for _ in $(seq 1 100); do
		pids="$pids $(_postfix_instance_pids)"
		left=""
		for pid in $pids; do
			[ -e "/proc/$pid" ] && left="$left $pid"
		done
		[ -z "$left" ] && return 0
		pids=$left
		sleep 0.1
	done
	it_log "postfix_stop: killing leftover processes:$left"
	for pid in $left; do
		kill -KILL "$pid" 2>/dev/null || true
	done
}
