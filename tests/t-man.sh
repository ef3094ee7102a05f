#!/bin/bash
# t-man.sh: the man pages (man/, mdoc) are clean under mandoc -Tlint and
# complete: every command and long option the helper's --help texts name is
# in sasl-oauth2(1), every configuration key (common/conf.c) and preset in
# sasl-oauth2.conf(5), every variable the plugin reads in
# sasl-oauth2-plugin(8).  Run by make check from the build directory.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
helper=./tokenhelper/sasl-oauth2-full
fail=0
bad() { echo "t-man: FAIL: $*"; fail=$((fail + 1)); }

if ! command -v mandoc >/dev/null; then
	[ "${SASL_OAUTH2_REQUIRE_INTEGRATION:-}" = 1 ] &&
	    { echo "t-man: FAIL: mandoc is missing (tests/install-deps installs it)"; exit 1; }
	echo "t-man: SKIP: mandoc is missing"
	exit 77
fi
[ -x "$helper" ] || { echo "t-man: FAIL: $helper not built"; exit 1; }
for page in "$src"/man/*.[158]; do
	out=$(mandoc -Tlint -W warning "$page" 2>&1) || bad "mandoc -Tlint: $out"
	[ -z "$out" ] || bad "mandoc -Tlint: $out"
done

# mdoc writes "--x" as "\-x" behind Fl; compare in that form.
man1=$src/man/sasl-oauth2.1
for cmd in login token status refresh logout setup import doctor; do
	grep -q "^\.It Cm $cmd\b" "$man1" || bad "sasl-oauth2(1) lacks the command $cmd"
	for o in $("$helper" "$cmd" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		grep -qF -- "Fl \\${o#-}" "$man1" ||
		    bad "sasl-oauth2(1) lacks $cmd's option $o"
	done
done
for o in $("$helper" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
	grep -qF -- "Fl \\${o#-}" "$man1" || bad "sasl-oauth2(1) lacks the option $o"
done
for rc in 0 64 75 77 78; do
	grep -q "^\.It $rc\$" "$man1" || bad "sasl-oauth2(1) lacks exit status $rc"
done

man5=$src/man/sasl-oauth2.conf.5
keys=$(sed -n '/^static const char \*const key_names\[\] = {/,/^};/p' \
    "$src/common/conf.c" | grep -o '"[a-z_]*"' | tr -d '"')
[ "$(echo "$keys" | wc -w)" -ge 15 ] || bad "cannot read the keys from common/conf.c"
for k in $keys; do
	grep -qE "^\.It Cm .*\b$k\b" "$man5" || bad "sasl-oauth2.conf(5) lacks the key $k"
done
for p in microsoft google generic; do
	grep -q "^\.Ss $p\$" "$man5" || bad "sasl-oauth2.conf(5) lacks the preset $p"
done

man8=$src/man/sasl-oauth2-plugin.8
for v in $(grep -ho 'getenv("SASL_[A-Z_]*")' "$src"/plugin/*.c | grep -o 'SASL_[A-Z_]*' | sort -u); do
	grep -q "^\.It Ev $v\$" "$man8" || bad "sasl-oauth2-plugin(8) lacks $v"
done

[ $fail = 0 ] || exit 1
echo "t-man: PASS: 3 pages lint-clean and complete"
