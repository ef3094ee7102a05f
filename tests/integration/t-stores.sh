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
