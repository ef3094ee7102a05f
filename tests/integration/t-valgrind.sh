#!/bin/bash
# t-valgrind.sh: the plugin inside its hosts under valgrind memcheck: the
# libsasl2 driver of the unit tests (every helper failure mode, prompts,
# error challenges) and sasl-sample-client (a token from the keyring, then
# from the helper): no invalid access, no definite leak.
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
# Under valgrind, on a loaded machine, starting even the fake helper can
# take longer than the driver's 2 s helper timeout: give it 20.  Valgrind
# 3.19 does not know pidfd_open, so the plugin's other way of waiting for
# the helper runs here (test_no_pidfd runs it in every build).
# shellcheck disable=SC2086
TEST_PLUGIN_HELPER_TIMEOUT=20 $VG "$drv" >"$IT_DIR/log/vg-driver.log" 2>&1 ||
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
# sample_sent MECH: what sasl-sample-client sent (its "C: " line, decoded).
sample_sent()
{
	sed -n 's/^C: //p' "$IT_DIR/log/vg-sample-$1.log" | base64 -d 2>/dev/null |
	    tr '\001\000' '\n\n'
}
# sample_ok MECH TOKEN WHAT: valgrind clean (9 is its error exit), the
# exchange ran to the point where the server must answer (sasl-sample-client
# exits 1 when its stdin then ends), and TOKEN went out.
sample_ok()
{
	local rc=0
	run_sample "$1" || rc=$?
	[ $rc -ne 9 ] || it_fail "valgrind found errors under sasl-sample-client ($1, $3)"
	[ $rc = 1 ] ||
	    it_fail "sasl-sample-client ($1, $3) exited $rc, want 1: $(tail -n 3 "$IT_DIR/log/vg-sample-$1.log")"
	sample_sent "$1" | grep -qxF "auth=Bearer $2" ||
	    it_fail "sasl-sample-client ($1, $3) did not send the token: $(tail -n 3 "$IT_DIR/log/vg-sample-$1.log")"
}
for mech in XOAUTH2 OAUTHBEARER; do
	sample_ok $mech vg-token-123 "keyring"
done
it_log "sasl-sample-client under valgrind, token from the keyring: clean with both mechanisms"

# The helper path: no key, so the plugin runs its helper (the unit tests'
# fake one, whose first config line picks its answer), reads its output,
# reaps it.
keyctl purge user "sasl-oauth2:$mb" >/dev/null 2>&1
printf 'token\n\n' >"$IT_DIR/fake-helper.conf"
export SASL_OAUTH2_HELPER=$IT_SRCDIR/tests/unit/fake-helper
export SASL_OAUTH2_CONFIG=$IT_DIR/fake-helper.conf
for mech in XOAUTH2 OAUTHBEARER; do
	sample_ok $mech "helper-token-for-${mb//@/.}" "helper"
done
it_log "sasl-sample-client under valgrind, token from the helper: clean with both mechanisms"
it_pass
