#!/bin/bash
# t-mech-choice.sh: installing the plugin beside libsasl2's stock plugins
# changes no password login, whatever order libsasl2 loads them in.
#
# libsasl2 2.1.28 ranks XOAUTH2/OAUTHBEARER equal to PLAIN/LOGIN and keeps
# load order among equals; load order is SASL_PATH order, then readdir()
# order within a directory.  For every layout below, mech-choice-host (the
# choice sasl_client_start makes for a host that passes the server's whole
# list) must give a password host (no authzid callback: Postfix's default)
# exactly what it got from the stock plugins alone, while a host that
# names an authzid and filters the list down to XOAUTH2 or OAUTHBEARER
# (the docs' OAuth relay) gets that mechanism.  Layouts:
#   - two directories, ours:stock and stock:ours (both orders, on any file
#     system);
#   - one directory, as a package installs it, created in both orders and
#     with our file under several names, until readdir() has put ours both
#     before and after libplain.so (checked with ls -U).
# What a host with an authzid callback and no filter gets is printed, not
# checked: there the choice still follows load order (docs/postfix.md).
# Run by make check from the build directory; needs the stock PLAIN and
# LOGIN plugins (libsasl2-modules).
set -eu
name="t-mech-choice"
host=./tests/mech-choice-host
plugin=./plugin/.libs/libsasloauth2.so
skip()
{
	if [ "${SASL_OAUTH2_REQUIRE_INTEGRATION:-}" = 1 ]; then
		echo "$name: FAIL: $*"
		exit 1
	fi
	echo "$name: SKIP: $*"
	exit 77
}
[ -x "$host" ] || { echo "$name: FAIL: $host is not built"; exit 1; }
[ -f "$plugin" ] || { echo "$name: FAIL: $plugin is not built"; exit 1; }
sysdir=$(pkg-config --variable=libdir libsasl2 2>/dev/null)/sasl2
if [ ! -f "$sysdir/libplain.so" ] || [ ! -f "$sysdir/liblogin.so" ]; then
	skip "no stock PLAIN and LOGIN plugins in $sysdir (libsasl2-modules)"
fi

t=$(mktemp -d "${TMPDIR:-/tmp}/t-mech-choice.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail=0
bad()
{
	echo "$name: FAIL: $*"
	fail=$((fail + 1))
}

# The stock plugins, as copies (the symlinks resolved), and ours.
mkdir "$t/stock" "$t/ours"
for f in "$sysdir"/lib*.so; do
	cp -L "$f" "$t/stock/"
done
cp "$plugin" "$t/ours/libsasloauth2.so"

choose()
{
	SASL_PATH=$1 "$host" "$2" "$3" "$4" ||
	    { echo "host-error"; return 0; }
}

# Server lists of a password relay's host: Gmail's, and shorter ones.
LISTS=("LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH"
    "PLAIN XOAUTH2" "XOAUTH2 PLAIN" "LOGIN XOAUTH2" "OAUTHBEARER LOGIN"
    "XOAUTH2" "OAUTHBEARER")
SECOPTS=("noanonymous" "")

# Before the install: the stock plugins alone.
declare -A before
for sec in "${SECOPTS[@]}"; do
	for list in "${LISTS[@]}"; do
		before["$sec/$list"]=$(choose "$t/stock" password "$sec" "$list")
		[ "${before["$sec/$list"]}" != host-error ] ||
		    bad "mech-choice-host failed with the stock plugins alone ([$list], '$sec')"
	done
done
[ "${before[noanonymous/PLAIN XOAUTH2]}" = PLAIN ] ||
    bad "the stock plugins alone chose ${before[noanonymous/PLAIN XOAUTH2]} for PLAIN XOAUTH2"

# check_layout LABEL SASL_PATH: the bar, for one load order.
check_layout()
{
	local label=$1 path=$2 sec list got mech residual=""
	for sec in "${SECOPTS[@]}"; do
		for list in "${LISTS[@]}"; do
			got=$(choose "$path" password "$sec" "$list")
			[ "$got" = "${before["$sec/$list"]}" ] ||
			    bad "$label: password host, [$list] security '$sec': $got, before the install ${before["$sec/$list"]}"
		done
	done
	for mech in XOAUTH2 OAUTHBEARER; do
		for profile in authzid prompts; do
			got=$(choose "$path" $profile noanonymous "$mech")
			[ "$got" = "$mech" ] ||
			    bad "$label: $profile host filtered to $mech got $got"
		done
	done
	for profile in authzid prompts; do
		residual="$residual $profile=$(choose "$path" $profile noanonymous "${LISTS[0]}")"
	done
	echo "$name: $label: password host as before; OAuth filter works; unfiltered Gmail list:$residual"
}

check_layout "SASL_PATH ours:stock" "$t/ours:$t/stock"
check_layout "SASL_PATH stock:ours" "$t/stock:$t/ours"

# One directory, as installed.  Where readdir() puts our file depends on
# the file system (creation order on tmpfs and btrfs, a name hash on ext4),
# so vary both until each relative order has come up.
seen_first=0 seen_after=0 n=0
for ours_name in libsasloauth2.so liba-oauth2.so libz-oauth2.so \
    libmoauth2.so libq-oauth2.so libsasl-oauth2.so; do
	for created in ours-first stock-first; do
		n=$((n + 1))
		d=$t/same$n
		mkdir "$d"
		if [ $created = ours-first ]; then
			cp "$t/ours/libsasloauth2.so" "$d/$ours_name"
			cp "$t/stock"/*.so "$d/"
		else
			cp "$t/stock"/*.so "$d/"
			cp "$t/ours/libsasloauth2.so" "$d/$ours_name"
		fi
		# ls -U lists in readdir() order, as libsasl2 reads the directory.
		# shellcheck disable=SC2010 # plain names, and the order matters
		order=$(ls -U "$d" | grep -Fx -e "$ours_name" -e libplain.so | tr '\n' ' ')
		if [ "$order" = "$ours_name libplain.so " ]; then
			[ $seen_first = 0 ] || continue
			seen_first=1
		else
			[ $seen_after = 0 ] || continue
			seen_after=1
		fi
		check_layout "one directory, readdir: $order(created $created)" "$d"
	done
	[ $seen_first = 1 ] && [ $seen_after = 1 ] && break
done
if [ $seen_first = 0 ] || [ $seen_after = 0 ]; then
	echo "$name: NOTE: in one directory, readdir() here put our plugin only" \
	    "$([ $seen_first = 1 ] && echo before || echo after) libplain.so;" \
	    "the two-directory layouts covered both orders"
fi

[ $fail -eq 0 ] || exit 1
echo "$name: PASS"
