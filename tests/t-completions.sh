#!/bin/bash
# t-completions.sh: the bash and zsh completions (packaging/completions/)
# offer the commands, each command's options as its --help names them, and
# the account names of the configuration the command would read (-c FILE,
# else $SASL_OAUTH2_CONFIG).  bash is run; zsh, where installed, parses the
# file.  Run by make check from the build directory.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
bashc=$src/packaging/completions/bash/sasl-oauth2
zshc=$src/packaging/completions/zsh/_sasl-oauth2
helper=./tokenhelper/sasl-oauth2-full
[ -x "$helper" ] || { echo "t-completions: FAIL: $helper not built"; exit 1; }
t=$(mktemp -d "${TMPDIR:-/tmp}/t-completions.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail=0
bad() { echo "t-completions: FAIL: $*"; fail=$((fail + 1)); }
printf '[account work]\nuser = a@example.test\n\n[account relay]\nuser = b@example.test\n' >"$t/a.conf"
printf '[account other]\nuser = c@example.test\n' >"$t/b.conf"

# complete WORDS...: what bash offers for the last word.
complete_bash()
{
	env -u SASL_OAUTH2_CONFIG ${CONF:+SASL_OAUTH2_CONFIG=$CONF} HOME="$t" \
	    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
	    _sasl_oauth2; [ ${#COMPREPLY[@]} = 0 ] ||
	    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
	    complete "$bashc" "$@"
}
expect() # WANT WORDS...
{
	local want=$1 got
	shift
	got=$(complete_bash "$@")
	[ "$got" = "$want" ] || bad "'$*': offered '$got', want '$want'"
}
CONF=$t/a.conf expect "login logout " sasl-oauth2 lo
CONF=$t/a.conf expect "relay work " sasl-oauth2 token ""
CONF=$t/a.conf expect "work " sasl-oauth2 -v login w
CONF=$t/a.conf expect "other " sasl-oauth2 -c "$t/b.conf" logout ""
CONF=$t/a.conf expect "--json " sasl-oauth2 status --j
CONF=$t/a.conf expect "json oauthbearer raw xoauth2 " sasl-oauth2 token --format ""
CONF=$t/a.conf expect "setup " sasl-oauth2 se
CONF=$t/a.conf expect "doctor " sasl-oauth2 do
CONF=$t/a.conf expect "relay work " sasl-oauth2 doctor ""
CONF=$t/a.conf expect "" sasl-oauth2 doctor --smtp ""
CONF=$t/a.conf expect "microsoft " sasl-oauth2 setup ""
CONF=$t/a.conf expect "--rbac " sasl-oauth2 setup microsoft --r
CONF=$t/a.conf expect "" sasl-oauth2 setup microsoft --tenant ""
CONF=$t/a.conf expect "" sasl-oauth2 setup microsoft --app-only ""

# Every option each command's --help names is offered, in both files.
for cmd in login token status refresh logout setup import doctor; do
	for o in $("$helper" "$cmd" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		got=$(CONF= complete_bash sasl-oauth2 "$cmd" "$o")
		case " $got" in
		*" $o "*) ;;
		*) bad "bash: $cmd $o not offered" ;;
		esac
		grep -qF -- "$o" "$zshc" || bad "zsh: $cmd $o missing"
	done
done
if command -v zsh >/dev/null; then
	zsh -n "$zshc" || bad "zsh cannot parse $zshc"
fi
[ $fail = 0 ] || exit 1
echo "t-completions: PASS"
