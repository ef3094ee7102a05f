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
	[ "${IT_KEEP:-0}" = 1 ] && it_log "work dir $IT_DIR (kept)"
	return 0
}

# it_free_port: print a TCP port on 127.0.0.1 that nobody listens on now.
it_free_port()
{
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	it_fail "no free port found"
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

for _f in "$IT_LIBDIR"/lib-*.sh; do
	[ -f "$_f" ] && . "$_f"
done
unset _f
