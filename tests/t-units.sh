#!/bin/bash
# t-units.sh: the refresher's systemd units.  configure
# --with-systemdsystemunitdir / --with-systemduserunitdir install them with
# the helper's installed path in ExecStart=, and systemd-analyze verify
# finds nothing to say about any of them (an unknown key is only a warning
# there, so any output fails the test).  Run by make check from the build
# directory, in a configure of its own under a temporary prefix.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v systemd-analyze >/dev/null; then
	[ "${SASL_OAUTH2_REQUIRE_INTEGRATION:-}" = 1 ] &&
	    { echo "t-units: FAIL: systemd-analyze is missing (install-deps installs systemd)"; exit 1; }
	echo "t-units: SKIP: systemd-analyze is missing"
	exit 77
fi
[ -x ./tokenhelper/sasl-oauth2 ] || { echo "t-units: FAIL: the helper is not built"; exit 1; }
if [ -f "$src/config.status" ]; then
	echo "t-units: SKIP: the source tree is configured in place; a second configure needs an out-of-tree build"
	exit 77
fi
t=$(mktemp -d "${TMPDIR:-/tmp}/t-units.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail=0
bad() { echo "t-units: FAIL: $*"; fail=$((fail + 1)); }

mkdir -p "$t/build" "$t/rt" && chmod 700 "$t/rt"
(cd "$t/build" && "$src/configure" -q --prefix="$t/inst" \
    --with-systemdsystemunitdir="$t/inst/system" \
    --with-systemduserunitdir="$t/inst/user" >"$t/configure.log" 2>&1 &&
    make -s install-systemdsystemunitDATA install-systemduserunitDATA \
    >"$t/install.log" 2>&1) ||
    { cat "$t/configure.log" "$t/install.log" 2>/dev/null | tail -20; exit 1; }
for f in system/sasl-oauth2-refresh@.service system/sasl-oauth2-refresh@.timer \
    user/sasl-oauth2-refresh.service user/sasl-oauth2-refresh.timer; do
	[ -f "$t/inst/$f" ] || bad "not installed: $f"
done
for f in system/sasl-oauth2-refresh@.service user/sasl-oauth2-refresh.service; do
	grep -qx "ExecStart=$t/inst/bin/sasl-oauth2 refresh --all" "$t/inst/$f" ||
	    bad "$f: ExecStart is not the installed helper: $(grep ExecStart= "$t/inst/$f")"
done
# The system service names the system configuration of this install, not
# whatever ~/.config of its user might hold.
grep -qx "Environment=SASL_OAUTH2_CONFIG=$t/inst/etc/sasl-oauth2/sasl-oauth2.conf" \
    "$t/inst/system/sasl-oauth2-refresh@.service" ||
    bad "the system service does not name the configured sysconfdir's file: $(grep SASL_OAUTH2_CONFIG "$t/inst/system/sasl-oauth2-refresh@.service")"
# verify wants the command to exist, and a template an instance name.
mkdir -p "$t/inst/bin" "$t/v"
cp ./tokenhelper/sasl-oauth2 "$t/inst/bin/"
cp "$t/inst/system/sasl-oauth2-refresh@.service" "$t/v/sasl-oauth2-refresh@postfix.service"
cp "$t/inst/system/sasl-oauth2-refresh@.timer" "$t/v/sasl-oauth2-refresh@postfix.timer"
out=$(systemd-analyze verify "$t/v/sasl-oauth2-refresh@postfix.service" \
    "$t/v/sasl-oauth2-refresh@postfix.timer" 2>&1) || bad "system units: $out"
[ -z "$out" ] || bad "system units: $out"
out=$(XDG_RUNTIME_DIR=$t/rt systemd-analyze --user verify \
    "$t/inst/user/sasl-oauth2-refresh.service" \
    "$t/inst/user/sasl-oauth2-refresh.timer" 2>&1) || bad "user units: $out"
[ -z "$out" ] || bad "user units: $out"
[ $fail = 0 ] || exit 1
echo "t-units: PASS: system and user units installed and verified"
