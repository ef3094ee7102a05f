#!/bin/bash
# t-sanitizers.sh: in a sanitizer build, the harness proves that a sanitizer
# report fails a test wherever the bug is, with canaries that have one bug
# each (canary-plugin.c, canary-helper.c), built here with the build's
# compiler and sanitizer flags:
#
#   1. a heap overflow in a plugin inside sasl-sample-client (libasan
#      preloaded by IT_HOST_ENV): ASan's report file in $IT_DIR/san;
#   2. a signed overflow there: UBSan's report in the client's log;
#   3. a heap overflow, a signed overflow and a leak in a helper run by our
#      plugin (with the plugin's allow-listed environment, so with the
#      runtimes' defaults): the plugin's sentence in the client's log;
#   4. a helper run directly with its stderr thrown away: ASan's report
#      file;
#   5. a heap overflow in a plugin inside Postfix's chrooted smtp, whose
#      stderr is /dev/null: ASan's report in the queue directory (the
#      jail), and the master's log of the abnormal exit;
#   6. a signed overflow there: the master's log of the abnormal exit.
#
# After each, the harness's scan (lib.sh) must find the report; the
# evidence is then removed, and at the end the scan must find nothing.
. "$(dirname "$0")/lib.sh"

[ -n "$IT_SAN_LIB" ] ||
    it_skip_build "not a sanitizer build (configure --enable-sanitizers): no report to find"
it_require_root
it_require postfix sendmail postqueue smtp-sink sasl-sample-client stdbuf \
    setsid timeout base64
it_setup
it_install_products

# --- the canaries ---------------------------------------------------------
mkvar()
{
	sed -n "s/^$1 = //p" "$IT_BUILDDIR/Makefile"
}
cc=$(mkvar CC)
# shellcheck disable=SC2207 # flags are words
cflags=($(mkvar SAN_CFLAGS) $(mkvar SASL_CFLAGS) -g)
if [ -z "$cc" ] || [ ${#cflags[@]} -lt 2 ]; then
	it_fail "no CC or SAN_CFLAGS in $IT_BUILDDIR/Makefile"
fi
C=$IT_DIR/canary
mkdir -p "$C/asan" "$C/ubsan"
chmod -R 0755 "$C"
build()
{
	"$cc" "${cflags[@]}" "$@" >>"$IT_DIR/canary/build.log" 2>&1 ||
	    it_fail "cannot build a canary: $(cat "$IT_DIR/canary/build.log")"
}
build -shared -fPIC -o "$C/asan/libcanary.so" "$IT_LIBDIR/canary-plugin.c"
build -DCANARY_UB -shared -fPIC -o "$C/ubsan/libcanary.so" \
    "$IT_LIBDIR/canary-plugin.c"
for bug in OOB UB LEAK; do
	build -DCANARY_$bug -o "$C/helper-$bug" "$IT_LIBDIR/canary-helper.c"
done

# expect_report WHAT: the scan must find a report; then the evidence goes.
expect_report()
{
	local out
	if out=$(_it_san_scan 2>&1); then
		it_fail "$1: the scan found no sanitizer report"
	fi
	out=$(printf '%s\n' "$out" | grep -m 1 -E \
	    'ERROR: |runtime error|exit status|failed \(exit') || true
	it_log "$1: found: ${out:0:150}"
	grep -rlIEZ -D skip -- "$IT_SAN_PATTERNS" "$IT_DIR" | xargs -0 -r rm -f
}

# --- 1, 2: a plugin bug inside a SASL client -------------------------------
IT_SASL_PATH=$C/asan sample_client_start u@example.test PLAIN >/dev/null &&
    it_fail "sasl-sample-client survived the canary plugin"
ls "$IT_DIR"/san/asan.* >/dev/null 2>&1 ||
    it_fail "no ASan report file from sasl-sample-client in $IT_DIR/san"
expect_report "plugin heap overflow in sasl-sample-client"
IT_SASL_PATH=$C/ubsan sample_client_start u@example.test PLAIN >/dev/null &&
    it_fail "sasl-sample-client survived the UB canary plugin"
expect_report "plugin signed overflow in sasl-sample-client"

# --- 3: a helper bug, the helper run by our plugin -------------------------
for bug in OOB UB LEAK; do
	SASL_OAUTH2_HELPER=$C/helper-$bug sample_client_start \
	    "canary.$$@example.test" XOAUTH2 >/dev/null &&
	    it_fail "the plugin took a token from a helper that failed ($bug)"
	expect_report "helper ($bug) run by the plugin in sasl-sample-client"
done

# --- 4: a helper bug, the helper run directly ------------------------------
"$C/helper-OOB" >/dev/null 2>&1 && it_fail "the OOB canary exited 0"
expect_report "helper (OOB) run directly, stderr discarded"

# --- 5, 6: a plugin bug inside Postfix's chrooted smtp ----------------------
SINK_PORT=$(it_free_port)
mkdir -p "$IT_DIR/sink"
chown nobody "$IT_DIR/sink"
smtp-sink -u nobody -R / -d "$IT_DIR/sink/%Y%m%d%H%M%S." \
    "127.0.0.1:$SINK_PORT" 10 >>"$IT_DIR/log/smtp-sink.log" 2>&1 &
it_track $!
it_wait_port "$SINK_PORT"
died='warning: process [^ ]*/smtp pid [0-9]+ exit status'
for v in asan ubsan; do
	IT_SASL_PATH=$C/$v postfix_start "$SINK_PORT" mech=plain chroot=y
	postfix_send u@example.test rcpt@example.test "canary $v"
	postfix_flush
	postfix_wait_log "$died" 30 ||
	    it_fail "Postfix's smtp survived the $v canary plugin"
	postfix_stop
	if [ $v = asan ]; then
		ls "$POSTFIX_QUEUE"/san/asan.* >/dev/null 2>&1 ||
		    it_fail "no ASan report from the jailed smtp in $POSTFIX_QUEUE/san"
	fi
	expect_report "plugin ($v canary) in Postfix's chrooted smtp"
	rm -rf "$POSTFIX_QUEUE"
done

_it_san_scan || it_fail "evidence left behind"
it_pass
