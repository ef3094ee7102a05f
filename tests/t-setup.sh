#!/bin/bash
# t-setup.sh: "sasl-oauth2 setup microsoft", no network needed.
#
#   - What it prints and the account it writes match tests/golden/ byte
#     for byte: app-only with mailbox permissions (setup-app-only), app-only
#     with RBAC for Applications (setup-rbac), delegated (setup-delegated).
#     The work directory reads @TMP@ there.
#   - The file it adds to keeps every byte, its mode and owner; a linked
#     file stays linked; a new file and directory follow the umask but are
#     never writable by group or others; parallel setups lose no account.
#   - An existing account, a file the commands refuse, and each invalid
#     value are refused with a sentence, and nothing is written.
#
# To accept a change of the text: SASL_OAUTH2_GOLDEN_UPDATE=1 make check
# TESTS=tests/t-setup.sh rewrites tests/golden/setup-* from this build;
# read the diff before committing it.  Run by make check from the build
# directory.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
helper=$PWD/tokenhelper/sasl-oauth2-full
golden=$src/tests/golden
[ -x "$helper" ] || { echo "t-setup: FAIL: $helper not built"; exit 1; }
t=$(cd "$(mktemp -d "${TMPDIR:-/tmp}/t-setup.XXXXXX")" && pwd -P)
trap 'rm -rf "$t"' EXIT
fail=0
bad() { echo "t-setup: FAIL: $*"; fail=$((fail + 1)); }
# setup ARGS...: the helper with an empty environment but for HOME.
setup() { env -i HOME="$t/home" PATH=/usr/bin:/bin "$helper" "$@"; }

TENANT=contoso.onmicrosoft.com
TENANT_ID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
APP=11111111-2222-3333-4444-555555555555
DELEG=66666666-7777-8888-9999-000000000000

# golden NAME: compare $t/NAME.out and $t/NAME/config (the work directory
# written as @TMP@) with tests/golden/NAME.{out,conf}, or update those.
golden()
{
	local name=$1 ext file tre
	tre=$(printf '%s' "$t" | sed 's/[][\.*^$|]/\\&/g')
	for ext in out conf; do
		file=$t/$name.$ext
		[ $ext = conf ] && file=$t/$name/config
		sed "s|$tre|@TMP@|g" "$file" >"$t/$name.$ext.scrubbed"
		if [ "${SASL_OAUTH2_GOLDEN_UPDATE:-}" = 1 ]; then
			mkdir -p "$golden"
			cp "$t/$name.$ext.scrubbed" "$golden/$name.$ext"
			echo "t-setup: updated tests/golden/$name.$ext"
		elif ! cmp -s "$golden/$name.$ext" "$t/$name.$ext.scrubbed"; then
			bad "$name.$ext differs from tests/golden/$name.$ext:"
			diff -u "$golden/$name.$ext" "$t/$name.$ext.scrubbed" | head -40 || true
		fi
	done
}

# --- the golden texts ------------------------------------------------------
setup -c "$t/setup-app-only/config" setup microsoft --app-only \
    --tenant $TENANT --client-id $APP --mailbox relay@contoso.com relay \
    >"$t/setup-app-only.out" 2>"$t/err" || bad "app-only: $(cat "$t/err")"
grep -qx "sasl-oauth2: account relay: added to $t/setup-app-only/config" "$t/err" ||
    bad "app-only: no 'added to' line: $(cat "$t/err")"
golden setup-app-only

setup -c "$t/setup-rbac/config" setup microsoft --rbac \
    --tenant $TENANT_ID --client-id $APP --mailbox relay@contoso.com \
    --client-secret-file /etc/sasl-oauth2/relay.secret relay \
    >"$t/setup-rbac.out" 2>"$t/err" || bad "rbac: $(cat "$t/err")"
golden setup-rbac

setup -c "$t/setup-delegated/config" setup microsoft --delegated \
    --tenant $TENANT --client-id $DELEG --mailbox alice@contoso.com work \
    >"$t/setup-delegated.out" 2>"$t/err" || bad "delegated: $(cat "$t/err")"
golden setup-delegated

# Every account written parses and resolves (status reads them all).
for name in setup-app-only setup-rbac setup-delegated; do
	setup -c "$t/$name/config" status >/dev/null 2>"$t/err" ||
	    bad "$name: status refuses the written file: $(cat "$t/err")"
done
# The certificate variant, to the config keys the helper knows.
setup -c "$t/cert/config" setup microsoft --app-only --tenant $TENANT \
    --client-id $APP --mailbox relay@contoso.com \
    --client-key-file "$t/key.pem" --client-certificate-file "$t/cert.pem" \
    relay >/dev/null 2>"$t/err" || bad "certificate: $(cat "$t/err")"
grep -q "does not exist yet" "$t/err" || bad "certificate: no word on the missing key file"
for l in "client_auth = private_key_jwt" "client_key_file = $t/key.pem" \
    "client_certificate_file = $t/cert.pem"; do
	grep -qxF "$l" "$t/cert/config" || bad "certificate: no line '$l'"
done
setup -c "$t/cert/config" status >/dev/null 2>&1 || bad "certificate: status refuses the file"

# --- new files and directories: the umask, never group/other-writable ------
for case in "002 755 644" "077 700 600" "022 755 644"; do
	set -- $case
	d=$t/umask$1/sub
	(umask "$1" && setup -c "$d/config" setup microsoft --tenant $TENANT \
	    --client-id $DELEG --mailbox a@contoso.com work >/dev/null 2>&1) ||
	    bad "umask $1: setup failed"
	[ "$(stat -c %a "$d")" = "$2" ] || bad "umask $1: directory mode $(stat -c %a "$d"), want $2"
	[ "$(stat -c %a "$d/config")" = "$3" ] || bad "umask $1: file mode $(stat -c %a "$d/config"), want $3"
done
# Without -c: the user's file, when there is no system file (as --help
# names it; a test build's sysconfdir usually has none).
sysfile=$("$helper" --help | grep -o '/[^ ]*/sasl-oauth2/sasl-oauth2\.conf' || true)
if [ -n "$sysfile" ] && [ ! -e "$sysfile" ]; then
	env -i HOME="$t/home" PATH=/usr/bin:/bin "$helper" setup microsoft \
	    --tenant $TENANT --client-id $DELEG --mailbox a@contoso.com work \
	    >/dev/null 2>"$t/err" || bad "default path: $(cat "$t/err")"
	[ -f "$t/home/.config/sasl-oauth2/config" ] ||
	    bad "default path: not ~/.config/sasl-oauth2/config: $(cat "$t/err")"
	env -i HOME="$t/home" XDG_CONFIG_HOME="$t/xdg" PATH=/usr/bin:/bin "$helper" \
	    setup microsoft --tenant $TENANT --client-id $DELEG \
	    --mailbox a@contoso.com work >/dev/null 2>&1 || bad "XDG path: setup failed"
	[ -f "$t/xdg/sasl-oauth2/config" ] || bad "XDG path: not \$XDG_CONFIG_HOME/sasl-oauth2/config"
fi

# --- adding to a file: old bytes, mode and owner kept ---------------------
mkdir -p "$t/ex"
printf '# mine\r\n[account old]\nuser = old@example.test\nprovider = generic\ntoken_endpoint = https://idp.example.test/token\nclient_id = x' >"$t/ex/config"
chmod 640 "$t/ex/config"
cp -p "$t/ex/config" "$t/ex.orig"
size=$(stat -c %s "$t/ex.orig")
setup -c "$t/ex/config" setup microsoft --tenant $TENANT --client-id $DELEG \
    --mailbox a@contoso.com work >/dev/null 2>"$t/err" || bad "append: $(cat "$t/err")"
cmp -s -n "$size" "$t/ex.orig" "$t/ex/config" || bad "append: the old bytes changed"
[ "$(tail -c +$((size + 1)) "$t/ex/config" | head -c 16)" = $'\n\n[account work]' ] ||
    bad "append: the section does not follow a newline and a blank line"
[ "$(stat -c %a "$t/ex/config")" = 640 ] || bad "append: mode $(stat -c %a "$t/ex/config"), want 640"
[ "$(setup -c "$t/ex/config" status --json | grep -o '"account":"[a-z]*"' | tr '\n' ' ')" = \
    '"account":"old" "account":"work" ' ] || bad "append: status does not list old and work"
[ -z "$(find "$t/ex" -name '.config.*')" ] || bad "append: a temporary file was left behind"

# An existing account: refused, nothing written.
cp -p "$t/ex/config" "$t/ex.before"
rc=0
setup -c "$t/ex/config" setup microsoft --app-only --tenant $TENANT --client-id $APP \
    --mailbox b@contoso.com work >"$t/out" 2>"$t/err" || rc=$?
[ $rc = 78 ] || bad "existing account: exit $rc, want 78"
grep -q "account work: $t/ex/config already has it (line 8); choose another name" "$t/err" ||
    bad "existing account: $(cat "$t/err")"
cmp -s "$t/ex.before" "$t/ex/config" || bad "existing account: the file changed"
[ ! -s "$t/out" ] || bad "existing account: instructions printed anyway"

# A linked file (dotfile managers): the target gets the account, the
# link stays.
mkdir -p "$t/real" "$t/linked"
printf '[account one]\nuser = one@example.test\nclient_id = x\nissuer = https://idp.example.test\n' >"$t/real/config"
ln -s "$t/real/config" "$t/linked/config"
setup -c "$t/linked/config" setup microsoft --tenant $TENANT --client-id $DELEG \
    --mailbox a@contoso.com two >/dev/null 2>"$t/err" || bad "link: $(cat "$t/err")"
[ -L "$t/linked/config" ] || bad "link: the link was replaced by a file"
grep -q '^\[account two\]$' "$t/real/config" || bad "link: the target lacks the account"

# Files the commands refuse are refused here too, untouched.
cp "$t/ex.orig" "$t/loose"
chmod 664 "$t/loose"
rc=0
setup -c "$t/loose" setup microsoft --tenant $TENANT --client-id $DELEG \
    --mailbox a@contoso.com work2 >/dev/null 2>"$t/err" || rc=$?
[ $rc = 78 ] && grep -q "can be written by others.*chmod go-w" "$t/err" ||
    bad "group-writable file: exit $rc: $(cat "$t/err")"
cmp -s "$t/ex.orig" "$t/loose" || bad "group-writable file: changed"
printf '[account a]\nbogus = 1\n' >"$t/broken"
cp "$t/broken" "$t/broken.orig"
rc=0
setup -c "$t/broken" setup microsoft --tenant $TENANT --client-id $DELEG \
    --mailbox a@contoso.com work >/dev/null 2>"$t/err" || rc=$?
[ $rc = 78 ] && grep -q "broken:2: unknown key 'bogus'; fix the file first, nothing was written" "$t/err" ||
    bad "unparseable file: exit $rc: $(cat "$t/err")"
cmp -s "$t/broken.orig" "$t/broken" || bad "unparseable file: changed"

# Parallel setups on one file: each account is there once.
mkdir -p "$t/par"
pids=""
for i in 1 2 3 4 5 6; do
	setup -c "$t/par/config" setup microsoft --tenant $TENANT --client-id $DELEG \
	    --mailbox "u$i@contoso.com" "acct$i" >/dev/null 2>"$t/par.$i.err" &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p" || bad "parallel: a setup failed: $(cat "$t"/par.*.err)"
done
[ "$(grep -c '^\[account acct[1-6]\]$' "$t/par/config")" = 6 ] ||
    bad "parallel: $(grep -c '^\[account' "$t/par/config") accounts, want 6"
setup -c "$t/par/config" status >/dev/null 2>&1 || bad "parallel: the file no longer parses"

# --- invalid values: exit 64, one sentence, nothing written ---------------
# refused WANT ARGS...: setup ARGS (account last) must fail with WANT.
refused()
{
	local want=$1 rc=0
	shift
	setup -c "$t/refused/config" setup "$@" >"$t/out" 2>"$t/err" || rc=$?
	[ $rc = 64 ] || bad "'$*': exit $rc, want 64"
	grep -qF -- "$want" "$t/err" || bad "'$*': said '$(cat "$t/err")', lacking '$want'"
	[ ! -s "$t/out" ] || bad "'$*': printed instructions"
	[ ! -e "$t/refused" ] || bad "'$*': wrote $t/refused"
}
ok=(--client-id $APP --mailbox relay@contoso.com)
refused "needs --tenant" microsoft "${ok[@]}" relay
refused "--tenant common names no tenant" microsoft --tenant common "${ok[@]}" relay
refused "neither a tenant ID" microsoft --tenant "contoso.com'; Remove-Mailbox x" "${ok[@]}" relay
refused "neither a tenant ID" microsoft --tenant contoso "${ok[@]}" relay
refused "needs --client-id" microsoft --tenant $TENANT --mailbox relay@contoso.com relay
refused "--client-id '1234' is not a GUID" microsoft --tenant $TENANT --client-id 1234 \
    --mailbox relay@contoso.com relay
refused "needs --mailbox" microsoft --tenant $TENANT --client-id $APP relay
refused "is not an address setup can write" microsoft --tenant $TENANT --client-id $APP \
    --mailbox "o'brien@contoso.com" relay
refused "is not an address setup can write" microsoft --tenant $TENANT --client-id $APP \
    --mailbox 'a$(whoami)@contoso.com' relay
refused "account names use letters" microsoft --tenant $TENANT "${ok[@]}" "re lay"
refused "not both" microsoft --tenant $TENANT "${ok[@]}" --app-only --delegated relay
refused "does not go with --delegated" microsoft --tenant $TENANT "${ok[@]}" --delegated --rbac relay
refused "are for --app-only" microsoft --tenant $TENANT "${ok[@]}" --client-secret-file /x relay
refused "not both" microsoft --tenant $TENANT "${ok[@]}" --app-only --client-secret-file /x \
    --client-key-file /k --client-certificate-file /c relay
refused "go together" microsoft --tenant $TENANT "${ok[@]}" --app-only --client-key-file /k relay
refused "absolute path" microsoft --tenant $TENANT "${ok[@]}" --app-only --client-secret-file x.secret relay
refused "absolute path" microsoft --tenant $TENANT "${ok[@]}" --app-only \
    --client-secret-file $'/x\nclient_id = evil' relay
refused "setup knows the provider microsoft" google "${ok[@]}" relay
refused "usage:" microsoft --tenant $TENANT "${ok[@]}"
setup setup --help | grep -q -- "--rbac" || bad "setup --help lacks --rbac"

[ $fail = 0 ] || exit 1
echo "t-setup: PASS: 3 golden texts and accounts, appends, refusals"
