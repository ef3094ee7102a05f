#!/bin/bash
# t-stores.sh: the refresh-token stores other than the file: store =
# keyring (the kernel persistent keyring; no file anywhere) and store =
# secret-service (libsecret, against a real gnome-keyring-daemon inside
# its own D-Bus session).  Each: log in through the scripted browser,
# nothing written to the state dir, a refresh from the stored token after
# the cache is dropped, logout removing it.
. "$(dirname "$0")/lib.sh"

it_require node keyctl
it_setup
idp_start
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER

login() # ACCOUNT LOGIN
{
	local url lpid
	: >"$IT_DIR/log/login-$1.err" # not the last call's URL (a race)
	"$H" login --no-browser --timeout 60 "$1" 2>"$IT_DIR/log/login-$1.err" &
	lpid=$!
	for _ in $(seq 1 100); do
		url=$(grep -m1 -o "$IDP_ISSUER/auth?[^ ]*" \
		    "$IT_DIR/log/login-$1.err") && break
		sleep 0.1
	done
	[ -n "${url:-}" ] || it_fail "$1: no login URL"
	idp_browser "$url" "$2" >>"$IT_DIR/log/browser.log" 2>&1 ||
	    it_fail "$1: browser failed"
	wait $lpid || it_fail "$1: login failed: $(cat "$IT_DIR/log/login-$1.err")"
}

round() # ACCOUNT LOGIN: login, refresh from the store, logout
{
	local acct=$1 user=$2 r0
	login "$acct" "$user"
	[ ! -e "$XDG_STATE_HOME/sasl-oauth2/$acct.json" ] ||
	    it_fail "$acct: a refresh-token file was written"
	oa2_key_clear "$(id -un)" "$user"
	r0=$(idp_stats refresh_token)
	"$H" token "$acct" >/dev/null || it_fail "$acct: refresh from the store failed"
	[ $(($(idp_stats refresh_token) - r0)) -eq 1 ] || it_fail "$acct: no refresh"
	"$H" status | grep -q "^$acct .*stored" || it_fail "$acct: status"
	"$H" logout "$acct" 2>/dev/null || it_fail "$acct: logout failed"
	oa2_key_clear "$(id -un)" "$user"
	rc=$("$H" token "$acct" >/dev/null 2>&1; echo $?)
	[ "$rc" = 77 ] || it_fail "$acct: token after logout exited $rc"
}

u1="kr.$$@example.test"
oa2_config_init "$(id -un)"
oa2_account kr "$(id -un)" "user=$u1" "issuer=$IDP_ISSUER" \
    "client_id=$IDP_MUA_ID" "scope=openid email offline_access" "store=keyring"
oa2_env
keyctl get_persistent @s >/dev/null 2>&1 ||
    it_skip "this kernel has no persistent keyrings"
round kr "$u1"
it_log "store = keyring: login, refresh, logout; no file written"

# The lock of a store that no environment variable moves must not move
# with the environment either: 20 callers, half with another
# XDG_STATE_HOME (as Postfix's import_environment and an admin's runuser
# differ), spend the stored refresh token once.  Two locks would mean two
# refreshes of one rotating token, and the IdP revokes the grant on reuse.
login kr "$u1"
mkdir -p "$IT_DIR/state-a" "$IT_DIR/state-b"
chmod 0700 "$IT_DIR/state-a" "$IT_DIR/state-b"
oa2_key_clear "$(id -un)" "$u1"
r0=$(idp_stats refresh_token)
g0=$(idp_stats grants_revoked)
pids=""
for i in $(seq 1 20); do
	if [ $((i % 2)) = 0 ]; then st=$IT_DIR/state-a; else st=$IT_DIR/state-b; fi
	(XDG_STATE_HOME=$st "$H" token kr >"$IT_DIR/kr-storm.$i" 2>&1 ||
	    echo "exit $?" >>"$IT_DIR/kr-storm.$i") &
	pids="$pids $!"
done
# shellcheck disable=SC2086
wait $pids
! grep -l "exit\|sasl-oauth2:" "$IT_DIR"/kr-storm.* >/dev/null 2>&1 ||
    it_fail "keyring store, two environments: callers failed: $(grep -h -m 2 . "$IT_DIR"/kr-storm.* | grep -v '^[A-Za-z0-9._~+/=-]*$' | head -n 3)"
[ $(($(idp_stats refresh_token) - r0)) = 1 ] ||
    it_fail "keyring store, two environments: $(($(idp_stats refresh_token) - r0)) refreshes for 20 callers, want 1"
[ "$(idp_stats grants_revoked)" = "$g0" ] ||
    it_fail "keyring store, two environments: the grant was revoked (a refresh token reused)"
"$H" logout kr 2>/dev/null || it_fail "kr: logout failed"
oa2_key_clear "$(id -un)" "$u1"
it_log "store = keyring: callers with different XDG_STATE_HOME share one lock (1 refresh for 20)"

# libsecret is loaded when an account uses it (common/stores.c): ask the
# build, not the program's links.
if ! grep -q '^#define HAVE_LIBSECRET 1' "$IT_BUILDDIR/config.h"; then
	it_skip "built without libsecret: store = secret-service not tested"
fi
it_require dbus-run-session gnome-keyring-daemon
u2="ss.$$@example.test"
oa2_account ss "$(id -un)" "user=$u2" "issuer=$IDP_ISSUER" \
    "client_id=$IDP_MUA_ID" "scope=openid email offline_access" \
    "store=secret-service"
# A private session bus and keyring daemon, tracked by PID like the rest.
HOME=$IT_DIR/home
mkdir -p "$HOME"
export HOME
dbus-daemon --session --fork --print-address=3 --print-pid=4 \
    3>"$IT_DIR/dbus.addr" 4>"$IT_DIR/dbus.pid" 2>"$IT_DIR/log/dbus.log" ||
    it_fail "cannot start a D-Bus session bus"
it_track "$(cat "$IT_DIR/dbus.pid")"
DBUS_SESSION_BUS_ADDRESS=$(head -n 1 "$IT_DIR/dbus.addr")
export DBUS_SESSION_BUS_ADDRESS
printf "test-keyring-password" |
    gnome-keyring-daemon --foreground --unlock --components=secrets \
    >"$IT_DIR/log/gkd.out" 2>"$IT_DIR/log/gkd.log" &
it_track $!
for _ in $(seq 1 50); do
	dbus-send --session --print-reply --dest=org.freedesktop.DBus \
	    /org/freedesktop/DBus org.freedesktop.DBus.ListNames 2>/dev/null |
	    grep -q org.freedesktop.secrets && break
	sleep 0.1
done
round ss "$u2"
it_log "store = secret-service: login, refresh, logout against gnome-keyring"
it_pass
