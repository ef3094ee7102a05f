#!/bin/bash
# t-front.sh: the light front (tokenhelper/front.c).  sasl-oauth2 answers
# "token" from the keyring by itself, linked with nothing but libc and
# libkeyutils, and hands everything else to sasl-oauth2-full: a miss (with
# the account's lock, which the full helper adopts), the other commands,
# --help and every error, whose sentences and exit codes stay the full
# helper's.  Against the real IdP, with a client-credentials account.
. "$(dirname "$0")/lib.sh"

it_require node keyctl readelf timeout flock perl
it_setup
idp_start
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER
FULL=$IT_DIR/bin/sasl-oauth2-full
mb=$IDP_RELAY_MAILBOX

oa2_config_init root
oa2_account app root "user=$mb" "provider=generic" \
    "token_endpoint=$IDP_TOKEN_URL" "client_id=$IDP_RELAY_BASIC_ID" \
    "client_secret=$IDP_RELAY_BASIC_SECRET" "flow=client_credentials"
export SASL_OAUTH2_CONFIG=$OA2_CONFIG

# run NAME CMD...: stdout to $IT_DIR/NAME.out, stderr to NAME.err; sets rc.
run()
{
	local name=$1
	shift
	rc=0
	"$@" >"$IT_DIR/$name.out" 2>"$IT_DIR/$name.err" || rc=$?
}

# --- linked light ---------------------------------------------------------
# Sanitizer builds add their runtimes; nothing else may creep in.
needed=$(readelf -d "$H" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
    grep -v -e '^libc\.so' -e '^libkeyutils\.so' -e '^libasan\.so' \
	-e '^libubsan\.so' -e '^libm\.so' -e '^libdl\.so' -e '^libpthread\.so' \
	-e '^librt\.so' || true)
[ -z "$needed" ] || it_fail "the front links more than libc and libkeyutils: $needed"
readelf -d "$FULL" | grep -q 'libcurl' || it_fail "the full helper lacks libcurl?"
# libsecret (glib, gio, gcrypt) is loaded only by store = secret-service.
! readelf -d "$FULL" | grep -q 'libsecret' || it_fail "the full helper links libsecret"
it_log "the front links libc and libkeyutils only"

# --- a miss goes to the full helper, a hit stays in the front -------------
oa2_key_clear root "$mb"
n0=$(idp_stats token_requests)
run miss "$H" token app
[ $rc = 0 ] || it_fail "token on an empty cache exited $rc: $(cat "$IT_DIR/miss.err")"
[ -s "$IT_DIR/miss.out" ] || it_fail "no token printed"
[ "$(idp_stats token_requests)" = $((n0 + 1)) ] || it_fail "a miss did not cost exactly one request"
tok=$(cat "$IT_DIR/miss.out")

# The front alone, without a full helper anywhere: a hit still works.
mkdir -p "$IT_DIR/alone"
install -m 0755 "$H" "$IT_DIR/alone/sasl-oauth2"
n0=$(idp_stats token_requests)
run hit "$IT_DIR/alone/sasl-oauth2" token app
[ $rc = 0 ] || it_fail "the front alone exited $rc on a hit: $(cat "$IT_DIR/hit.err")"
[ "$(cat "$IT_DIR/hit.out")" = "$tok" ] || it_fail "the front printed another token"
[ ! -s "$IT_DIR/hit.err" ] || it_fail "a hit wrote to stderr: $(cat "$IT_DIR/hit.err")"
[ "$(idp_stats token_requests)" = "$n0" ] || it_fail "a hit cost a request"
it_log "a hit is answered by the front alone; a miss costs one request"

# Every output format and --user give what the full helper gives.
for args in "--format raw app" "--format json app" "--format xoauth2 app" \
    "--format oauthbearer app" "--user $mb" "-t 5 app"; do
	# shellcheck disable=SC2086
	a=$("$IT_DIR/alone/sasl-oauth2" token $args) || it_fail "front: token $args"
	# shellcheck disable=SC2086
	b=$("$FULL" token $args) || it_fail "full: token $args"
	[ "$a" = "$b" ] || it_fail "front and full differ for token $args"
done
# Options after the account name, in both programs.
a=$("$IT_DIR/alone/sasl-oauth2" token app --format json) || it_fail "front: token app --format json"
b=$("$FULL" token app --format json) || it_fail "full: token app --format json"
[ "$a" = "$b" ] && [ "${a#\{}" != "$a" ] || it_fail "token app --format json: '$a' / '$b'"
a=$("$IT_DIR/alone/sasl-oauth2" -c "$OA2_CONFIG" token app) || it_fail "front: -c"
[ "$a" = "$tok" ] || it_fail "front: -c gave another token"
run verbose "$IT_DIR/alone/sasl-oauth2" -v token app
[ "$(grep -c 'cached token' "$IT_DIR/verbose.err")" = 1 ] ||
    it_fail "-v on a hit: $(cat "$IT_DIR/verbose.err")"
it_log "formats, --user, -c and -v: as the full helper"

# Without the full helper, a miss says what is wrong.  Whatever this
# machine has installed at the compiled-in place is hidden under an empty
# tmpfs in a mount namespace of its own, so the check runs everywhere.
oa2_key_clear root "$mb"
full=$(grep -aoE -m 1 '/[[:graph:]]*/sasl-oauth2-full' "$IT_DIR/alone/sasl-oauth2") ||
    it_fail "the front names no full helper"
if [ -d "${full%/*}" ]; then
	run alone unshare -m sh -c 'mount -t tmpfs none "$1" && shift && exec "$@"' \
	    sh "${full%/*}" "$IT_DIR/alone/sasl-oauth2" token app
else
	run alone "$IT_DIR/alone/sasl-oauth2" token app
fi
[ $rc = 70 ] || it_fail "a missing full helper exited $rc, want 70: $(cat "$IT_DIR/alone.err")"
grep -qF "cannot run $full" "$IT_DIR/alone.err" &&
    grep -q "reinstall sasl-oauth2" "$IT_DIR/alone.err" ||
    it_fail "missing full helper: $(cat "$IT_DIR/alone.err")"
[ ! -s "$IT_DIR/alone.out" ] || it_fail "a failed miss printed something"

# --- the full helper's sentences and exit codes pass through -------------
expect() # WANT_RC NEEDLE CMD...
{
	local want=$1 needle=$2
	shift 2
	run expect "$@"
	[ "$rc" = "$want" ] || it_fail "'$*' exited $rc, want $want: $(cat "$IT_DIR/expect.err")"
	grep -qF -- "$needle" "$IT_DIR/expect.err" "$IT_DIR/expect.out" ||
	    it_fail "'$*' lacks '$needle': $(cat "$IT_DIR/expect.err")"
}
expect 78 "no account 'nosuch'" "$H" token nosuch
expect 78 "user = nobody@example.test" "$H" token --user nobody@example.test
expect 64 "--format is raw" "$H" token --format bogus app
expect 64 "usage: sasl-oauth2 token" "$H" token
expect 64 "takes seconds" "$H" token --min-ttl x app
expect 0 "usage: sasl-oauth2 token" "$H" token --help
expect 0 "usage: sasl-oauth2 [-v]" "$H" --help
expect 64 "unknown command 'bogus'" "$H" bogus
expect 78 "no configuration" "$H" -c "$IT_DIR/none.conf" token app
expect 0 "app" "$H" status
run version "$H" --version
grep -q "^sasl-oauth2 " "$IT_DIR/version.out" || it_fail "--version: $(cat "$IT_DIR/version.out")"
it_log "errors, --help, status and --version: the full helper's"

# --- the lock -----------------------------------------------------------
# The full helper adopts a lock handed over on an fd: with this shell
# holding the account's lock on fd 9, a miss completes only by adopting it
# (otherwise it would wait for us for 60 s).
lockfile=$XDG_STATE_HOME/sasl-oauth2/app.lock
oa2_key_clear root "$mb"
exec 9>>"$lockfile"
flock 9
run adopt timeout 20 env SASL_OAUTH2_LOCK_FD=9 "$FULL" token app
[ $rc = 0 ] || it_fail "the full helper did not adopt the lock on fd 9 (exit $rc): $(cat "$IT_DIR/adopt.err")"
# Without the variable it waits for the holder.
oa2_key_clear root "$mb"
run wait timeout 3 "$H" token app
[ $rc = 124 ] || it_fail "token did not wait for the account's lock (exit $rc)"
# The caller's deadline (the plugin's) bounds the wait, also for a caller
# that left SIGALRM blocked (the mask survives exec): a sentence and 75,
# a second before the caller would kill us.
now=$(node -e 'console.log(String(process.hrtime.bigint() / 1000000n))')
run deadline timeout 20 env SASL_OAUTH2_DEADLINE=$((now + 3000)) \
    perl -MPOSIX -e 'sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGALRM)); exec @ARGV or die' \
    "$H" token app
[ $rc = 75 ] || it_fail "a wait past the caller's deadline exited $rc, want 75: $(cat "$IT_DIR/deadline.err")"
grep -q "held the lock" "$IT_DIR/deadline.err" || it_fail "deadline: $(cat "$IT_DIR/deadline.err")"
exec 9>&-
# A variable naming something else is ignored: another file, stdout.
exec 8</dev/null
run other env SASL_OAUTH2_LOCK_FD=8 "$FULL" token app
[ $rc = 0 ] || it_fail "SASL_OAUTH2_LOCK_FD=8 (not a lock): exit $rc: $(cat "$IT_DIR/other.err")"
exec 8<&-
oa2_key_clear root "$mb"
run stdout env SASL_OAUTH2_LOCK_FD=1 "$FULL" token app
[ $rc = 0 ] && [ -s "$IT_DIR/stdout.out" ] || it_fail "SASL_OAUTH2_LOCK_FD=1: exit $rc, stdout $(wc -c <"$IT_DIR/stdout.out") bytes"
it_log "a handed-over lock is adopted, anything else ignored"

# A caller with stdin and stderr closed: the lock must not take fd 0 or 2
# (the full helper only adopts fds above 2, so it would wait for itself).
oa2_key_clear root "$mb"
rc=0
timeout 20 "$H" token app >"$IT_DIR/closed.out" <&- 2>&- || rc=$?
[ $rc = 0 ] && [ -s "$IT_DIR/closed.out" ] ||
    it_fail "token with stdin and stderr closed: exit $rc"
it_log "closed stdin and stderr: handled"

# --- a storm through the front: one request, one token --------------------
oa2_key_clear root "$mb"
n0=$(idp_stats token_requests)
rm -f "$IT_DIR"/storm.*
pids=""
for i in $(seq 1 30); do
	("$H" token app >"$IT_DIR/storm.$i" 2>&1 || echo "exit $?" >>"$IT_DIR/storm.$i") &
	pids="$pids $!"
done
# shellcheck disable=SC2086
wait $pids
grep -l "exit\|sasl-oauth2:" "$IT_DIR"/storm.* >/dev/null 2>&1 &&
    it_fail "storm: some callers failed: $(grep -h -m3 . "$IT_DIR"/storm.* | grep -v '^[A-Za-z0-9._-]*$' | head -3)"
[ "$(sort -u "$IT_DIR"/storm.* | wc -l)" = 1 ] || it_fail "storm: callers got different tokens"
[ "$(idp_stats token_requests)" = $((n0 + 1)) ] ||
    it_fail "storm: $(($(idp_stats token_requests) - n0)) requests for 30 callers"
it_log "30 concurrent callers: one request"

it_pass
