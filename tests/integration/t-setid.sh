#!/bin/bash
# t-setid.sh: the plugin in a set-gid host (sendmail is one) trusts
# nothing from the environment: the caller who runs such a host owns it,
# and SASL_OAUTH2_HELPER names the program the plugin executes with the
# host's group.  A set-gid copy of a small libsasl2 host (setid-host.c),
# run as nobody with SASL_OAUTH2_HELPER pointing at a program of the
# caller's, must not run that program; the same host without the set-gid
# bit must (so the test can tell the two apart).
. "$(dirname "$0")/lib.sh"

it_require_root
it_require runuser
it_setup
it_install_products

mkvar()
{
	sed -n "s/^$1 = //p" "$IT_BUILDDIR/Makefile"
}
cc=$(mkvar CC)
# shellcheck disable=SC2207 # flags are words
cflags=($(mkvar SAN_CFLAGS) $(mkvar SASL_CFLAGS))
# shellcheck disable=SC2207
libs=($(mkvar SASL_LIBS))
[ -n "$cc" ] || it_fail "no CC in $IT_BUILDDIR/Makefile"
S=$IT_DIR/setid
mkdir -p "$S/out"
chmod 0755 "$S"
chmod 1777 "$S/out"
"$cc" "${cflags[@]}" -o "$S/host" "$IT_LIBDIR/setid-host.c" "${libs[@]}" \
    >"$IT_DIR/log/build.log" 2>&1 || it_fail "cannot build the host: $(cat "$IT_DIR/log/build.log")"
cp -p "$S/host" "$S/host-plain"
chgrp mail "$S/host"
chmod 2755 "$S/host"
chmod 0755 "$S/host-plain"
cat >"$S/callers-helper" <<HELPER
#!/bin/sh
touch "$S/out/ran-\$PPID"
echo callers-token
HELPER
chmod 0755 "$S/callers-helper"

# run HOST: as nobody, with the caller's helper named in the environment.
run()
{
	rm -f "$S"/out/ran-*
	runuser -u nobody -- env "${IT_HOST_ENV[@]}" \
	    SASL_OAUTH2_HELPER="$S/callers-helper" \
	    SASL_OAUTH2_HELPER_TIMEOUT=5 "$1" "$IT_PLUGIN_DIR" \
	    "setid.$$@example.test" 2>>"$IT_DIR/log/host.err"
}
out=$(run "$S/host-plain")
case $out in
"secure=0 start="*) ;;
*) it_fail "the plain host: $out ($(cat "$IT_DIR/log/host.err"))" ;;
esac
ls "$S"/out/ran-* >/dev/null 2>&1 ||
    it_fail "the control failed: a plain host did not run SASL_OAUTH2_HELPER ($out)"
out=$(run "$S/host")
case $out in
"secure=1 start="*) ;;
"secure=0 "*) it_skip "the kernel did not run the host set-gid here (nosuid mount?)" ;;
*) it_fail "the set-gid host: $out ($(cat "$IT_DIR/log/host.err"))" ;;
esac
! ls "$S"/out/ran-* >/dev/null 2>&1 ||
    it_fail "a set-gid host ran the program SASL_OAUTH2_HELPER named"
it_log "set-gid host: SASL_OAUTH2_HELPER ignored ($out); a plain host follows it"
it_pass
