# lib.sh: shared shell harness for the integration tests.
#
# Every test script sources this file, calls it_setup, starts the real
# servers it needs (all bound to 127.0.0.1 on free high ports) and ends with
# it_pass.  Processes are recorded by PID and killed on exit; nothing else on
# the machine is touched.  Exit codes follow the automake test protocol:
# 0 pass, 1 fail, 77 skip, 99 hard error.  With SASL_OAUTH2_REQUIRE_INTEGRATION=1
# (CI) a missing prerequisite is a hard error rather than a skip, so a CI run
# can never pass by skipping.
#
# SECRETS: the tests use throw-away client secrets and tokens of the local
# identity provider only.

set -eu

IT_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_SRCDIR=$(cd "$IT_LIBDIR/../.." && pwd)
: "${top_builddir:=$IT_SRCDIR}"
IT_BUILDDIR=$(cd "$top_builddir" && pwd)
IT_NAME=$(basename "$0" .sh)
IT_PIDS=""

it_log()
{
	printf '%s: %s\n' "$IT_NAME" "$*" >&2
}

it_fail()
{
	it_log "FAIL: $*"
	exit 1
}

it_skip()
{
	if [ "${SASL_OAUTH2_REQUIRE_INTEGRATION:-0}" = 1 ]; then
		it_log "ERROR (required in this run): $*"
		exit 99
	fi
	it_log "SKIP: $*"
	exit 77
}

it_pass()
{
	it_log "PASS"
	exit 0
}

# it_skip_build REASON: this test cannot work in this kind of build (not a
# missing prerequisite: another build of the same CI run covers it), so it
# is a skip even with SASL_OAUTH2_REQUIRE_INTEGRATION=1.
it_skip_build()
{
	it_log "SKIP (not in this build): $*"
	exit 77
}

# it_require CMD...: skip (or hard-fail in CI) unless every command exists.
it_require()
{
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] ||
		    it_skip "missing prerequisite: $c"
	done
}

it_require_root()
{
	[ "$(id -u)" = 0 ] || it_skip "needs root (real Postfix/Dovecot instances)"
}

# it_track PID: kill PID (and its process group where it leads one) on exit.
it_track()
{
	IT_PIDS="$IT_PIDS $1"
}

it_cleanup()
{
	local rc=$? pid
	for pid in $IT_PIDS; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $IT_PIDS; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	if [ -n "${IT_CLEANUP_HOOKS:-}" ]; then
		eval "$IT_CLEANUP_HOOKS" || true
	fi
	# Last, once every daemon is down and has written what it had to.
	if [ -n "$IT_SAN_LIB" ] && [ -n "${IT_DIR:-}" ] && ! _it_san_scan &&
	    { [ $rc -eq 0 ] || [ $rc -eq 77 ]; }; then
		rc=1
	fi
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -n "${IT_DIR:-}" ]; then
		it_log "logs kept in $IT_DIR"
		for f in "$IT_DIR"/log/*; do
			[ -f "$f" ] || continue
			printf -- '--- %s (last 40 lines)\n' "$f" >&2
			tail -n 40 "$f" >&2 || true
		done
	elif [ -n "${IT_DIR:-}" ] && [ "${IT_KEEP:-0}" != 1 ]; then
		rm -rf "$IT_DIR"
	fi
	exit $rc
}

# it_on_cleanup 'shell code': run at exit, before the work dir goes.
it_on_cleanup()
{
	IT_CLEANUP_HOOKS="${IT_CLEANUP_HOOKS:-}$1;"
}

# it_setup: a private work dir, world-traversable so that daemons running
# as other users (postfix, dovenull) can reach their own subdirectories.
it_setup()
{
	IT_DIR=$(mktemp -d /tmp/sasl-oauth2-it.XXXXXX)
	chmod 0755 "$IT_DIR"
	mkdir -p "$IT_DIR/log" "$IT_DIR/bin" "$IT_DIR/sasl2"
	chmod 0755 "$IT_DIR/bin" "$IT_DIR/sasl2"
	trap it_cleanup EXIT
	trap 'exit 1' INT TERM
	_it_san_setup
	[ "${IT_KEEP:-0}" = 1 ] && it_log "work dir $IT_DIR (kept)"
	return 0
}

# it_free_port: print a TCP port on 127.0.0.1 that nobody listens on now,
# below Linux's ephemeral range (32768 up): a port there may be the local
# end of a connection, which no listen test sees but which makes bind fail.
it_free_port()
{
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 12768))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	it_fail "no free port found"
}

# it_node_server NAME SCRIPT [ARG...]: start one of our Node servers
# (IT_LIBDIR/SCRIPT PORT ARG..., on a free port, environment passed on),
# tracked for cleanup, and wait (30 s) for its "ready URL" line; the URL
# goes to IT_SERVER_URL.  Output: IT_DIR/NAME.out, log: IT_DIR/log/NAME.log.
it_node_server()
{
	local name=$1 script=$2 port pid
	shift 2
	port=$(it_free_port)
	node "$IT_LIBDIR/$script" "$port" "$@" >"$IT_DIR/$name.out" \
	    2>"$IT_DIR/log/$name.log" </dev/null &
	pid=$!
	it_track "$pid"
	IT_SERVER_URL=
	for _ in $(seq 1 300); do
		IT_SERVER_URL=$(sed -n 's/^ready //p' "$IT_DIR/$name.out" 2>/dev/null)
		[ -z "$IT_SERVER_URL" ] || return 0
		kill -0 "$pid" 2>/dev/null ||
		    it_fail "$script ($name) exited: $(tail -n 3 "$IT_DIR/log/$name.log")"
		sleep 0.1
	done
	it_fail "$script ($name) did not become ready (see log/$name.log)"
}

# it_alive PID: PID runs (kill -0 also succeeds for a child that exited
# and is not reaped yet, which is how a daemon that failed to bind looks).
it_alive()
{
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# it_wait_port PORT [SECONDS]: wait until something listens on 127.0.0.1:PORT.
it_wait_port()
{
	local port=$1 secs=${2:-10} i
	for i in $(seq 1 $((secs * 10))); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	it_fail "nothing listens on 127.0.0.1:$port after ${secs}s"
}

# it_install_products: copy the built plugin and helper where daemons running
# as other users can load and execute them; exports IT_PLUGIN_DIR, IT_HELPER,
# IT_SASL_PATH (our dir first, then the system plugins).
it_install_products()
{
	local so="$IT_BUILDDIR/plugin/.libs/libsasloauth2.so"
	local helper="$IT_BUILDDIR/tokenhelper/sasl-oauth2"
	[ -f "$so" ] || it_fail "plugin not built: $so"
	[ -x "$helper" ] || it_fail "helper not built: $helper"
	[ -x "$helper-full" ] || it_fail "helper not built: $helper-full"
	install -m 0755 "$so" "$IT_DIR/sasl2/libsasloauth2.so"
	# The front finds the full helper beside itself (front.c).
	install -m 0755 "$helper" "$IT_DIR/bin/sasl-oauth2"
	install -m 0755 "$helper-full" "$IT_DIR/bin/sasl-oauth2-full"
	IT_PLUGIN_DIR="$IT_DIR/sasl2"
	IT_HELPER="$IT_DIR/bin/sasl-oauth2"
	IT_SYS_SASLDIR=$(pkg-config --variable=libdir libsasl2 2>/dev/null)/sasl2
	IT_SASL_PATH="$IT_PLUGIN_DIR:$IT_SYS_SASLDIR"
	export IT_PLUGIN_DIR IT_HELPER IT_SASL_PATH
}

# --- sanitizer builds --------------------------------------------------
#
# With configure --enable-sanitizers the plugin and the helper are built
# with ASan and UBSan (-fno-sanitize-recover=all), and the plugin needs
# libasan.  The ASan runtime must be the first library of a process, so a
# program of others that loads our plugin (mbsync, imtest, smtptest,
# sasl-sample-client, Postfix's smtp) dies at dlopen ("ASan runtime does
# not come first") unless libasan is preloaded into it.  The helper is our
# own program: it just runs.
#
#   IT_SAN_LIB    the libasan the built plugin is linked with (its path, as
#                 ldd resolves it); empty in a plain build.
#   IT_HOST_ENV   env(1) arguments for such a host program, empty in a
#                 plain build: run it as "env "${IT_HOST_ENV[@]}" PROGRAM",
#                 right before the program, so that setsid, timeout and
#                 the like stay uninstrumented.  It preloads IT_SAN_LIB and
#                 turns leak detection off: the host's own leaks are not
#                 ours (the plugin's are the unit test driver's business).
#
# it_setup exports, for our own programs (the helper, run by the tests):
#   ASAN_OPTIONS   halt on the first error, detect leaks, and write reports
#                  to $IT_DIR/san/asan.PID, whoever runs the program and
#                  wherever its stderr goes;
#   UBSAN_OPTIONS  halt, with a stack trace.  (UBSan beside ASan ignores
#                  log_path: its reports go to stderr.)
# The helper that the plugin runs gets neither (the plugin passes an
# allow-list of variables, plugin/exec.c): it runs with the runtimes'
# defaults, which also halt on the first error and detect leaks, and exit
# 1, a status the helper never uses.  Its report goes to the plugin, which
# makes its first line (or "failed (exit 1)") the failure sentence that
# the host logs.
#
# At exit, it_cleanup fails a passing test if any file under $IT_DIR
# (client and daemon logs, captured stderr, report files) holds a
# sanitizer report, or such a sentence, or the mail log an abnormal exit of
# a Postfix daemon (their stderr is /dev/null; see lib-postfix.sh).
IT_SAN_LIB=$(ldd "$IT_BUILDDIR/plugin/.libs/libsasloauth2.so" 2>/dev/null |
    awk '$1 ~ /^libasan\.so/ && $3 ~ /^\// { print $3; exit }')
IT_HOST_ENV=()
IT_SAN_PATTERNS='ERROR: (AddressSanitizer|LeakSanitizer)|Sanitizer:DEADLYSIGNAL|runtime error: |ASan runtime does not come first|={65}|failed \(exit 1\) getting a token|warning: process [^ ]+ pid [0-9]+ (exit status|killed by signal)'

_it_san_setup()
{
	[ -n "$IT_SAN_LIB" ] || return 0
	[ -r "$IT_SAN_LIB" ] || it_fail "the plugin needs $IT_SAN_LIB, which is not readable"
	# Anyone may write here: the helper also runs as postfix, nobody and
	# temporary users.
	mkdir -p "$IT_DIR/san"
	chmod 1777 "$IT_DIR/san"
	local asan="halt_on_error=1:log_path=$IT_DIR/san/asan"
	ASAN_OPTIONS="$asan:detect_leaks=1"
	UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
	export ASAN_OPTIONS UBSAN_OPTIONS
	# shellcheck disable=SC2034 # for lib-clients.sh, lib-postfix.sh, tests
	IT_HOST_ENV=("LD_PRELOAD=$IT_SAN_LIB" "ASAN_OPTIONS=$asan:detect_leaks=0")
	it_log "sanitizer build: hosts of the plugin run with $IT_SAN_LIB preloaded"
}

# _it_san_scan: 1 (and the evidence on stderr) if a sanitizer spoke.
_it_san_scan()
{
	local files f
	files=$(grep -rlIE -D skip -- "$IT_SAN_PATTERNS" "$IT_DIR" 2>/dev/null) ||
	    return 0
	it_log "FAIL: sanitizer reports (or what a host logged of one):"
	for f in $files; do
		printf -- '--- %s\n' "$f" >&2
		case $f in
		*/san/asan.*) head -n 60 "$f" >&2 ;;
		*) grep -E -m 10 -- "$IT_SAN_PATTERNS" "$f" >&2 ;;
		esac
	done
	return 1
}

for _f in "$IT_LIBDIR"/lib-*.sh; do
	[ -f "$_f" ] && . "$_f"
done
unset _f
