#!/bin/bash
# t-valgrind.sh: the plugin inside its hosts under valgrind memcheck: the
# libsasl2 driver of the unit tests (every helper failure mode, prompts,
# error challenges) and sasl-sample-client (a token from the keyring, then
# the helper path): no invalid access, no definite leak.
. "$(dirname "$0")/lib.sh"

# Valgrind cannot run a program with ASan's shadow memory, and the plugin
# of a sanitizer build needs libasan in its host.  The plain build of the
# same CI run (tests/run-all) runs this test; the sanitizers cover the
# same code here.
[ -z "$IT_SAN_LIB" ] ||
    it_skip_build "valgrind cannot run ASan-instrumented code; the plain build runs this test"
it_require valgrind sasl-sample-client keyctl
it_setup
it_install_products
VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9"

export abs_top_builddir=$IT_BUILDDIR abs_top_srcdir=$IT_SRCDIR
drv=$IT_BUILDDIR/tests/unit/test_plugin
[ -x "$drv" ] || it_skip "unit tests not built (no cmocka)"
# shellcheck disable=SC2086
$VG "$drv" >"$IT_DIR/log/vg-driver.log" 2>&1 ||
    it_fail "valgrind found errors in the libsasl2 driver run"
it_log "libsasl2 driver under valgrind: clean"

mb="vg.$$@example.test"
now=$(date +%s)
id=$(keyctl add user "sasl-oauth2:$mb" \
    "$(printf 'sasl-oauth2 1\n%s\n%s' $((now + 3600)) vg-token-123)" @u)
keyctl setperm "$id" 0x3f0b0000
it_on_cleanup "keyctl purge user 'sasl-oauth2:$mb' >/dev/null 2>&1"
export SASL_PATH=$IT_SASL_PATH
run_sample() # MECH: one initial response under valgrind
{
	printf 'S: %s\n' "$(printf %s "$1" | base64)" |
	    $VG sasl-sample-client -m "$1" -a "$mb" -u "$mb" -s imap \
	    -n mail.example.test >"$IT_DIR/log/vg-sample-$1.log" 2>&1
}
for mech in XOAUTH2 OAUTHBEARER; do
	rc=0
	run_sample $mech || rc=$?
	# sample-client exits 1 when stdin ends mid-exchange; 9 is valgrind.
	[ $rc -ne 9 ] || it_fail "valgrind found errors under sasl-sample-client ($mech)"
	grep -q "^C: " "$IT_DIR/log/vg-sample-$mech.log" ||
	    it_fail "sasl-sample-client sent nothing with $mech"
done
it_log "sasl-sample-client under valgrind: clean with both mechanisms"
it_pass
