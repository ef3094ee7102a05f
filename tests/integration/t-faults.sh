#!/bin/bash
# t-faults.sh: the fault matrix.  "sasl-oauth2 token" against a token
# endpoint that misbehaves in every way we could think of (faultserver.mjs,
# ours, on 127.0.0.1, plain http and https with an untrusted certificate),
# for a client credentials account and for a refresh-token account whose
# store file the test writes.  For each fault: exactly one sentence on
# stderr, in the "sasl-oauth2: account X: ..." form, that carries the
# expected keyword and no secret; the right exit code (75 try later for
# network trouble, 5xx, 429 and garbage; 77 for invalid_grant, but 78 and
# a sentence about the app's credentials for client credentials, which
# have nobody to log in; 78 for invalid_client); the wait a 429 or 503 asks for (Retry-After, seconds or
# an HTTP-date) quoted, and an unusable one left out; nothing on stdout;
# nothing cached in the keyring; one
# request per run (no retry storm); a bounded time; and the stored refresh
# token byte-identical afterwards.  All cases run at once, so the two that
# wait out the helper's 30 s total timeout (hang, slow) cost 30 s, not 2 min.
# Alongside, two device logins (RFC 8628) against faultserver's provider
# models (Entra's answer with its "message", and one with no "interval"),
# whose polls get authorization_pending, slow_down, then a token: the
# message shown, the schedule kept (5 s, 5 s, then 10 s), the grant stored.
. "$(dirname "$0")/lib.sh"

it_require node keyctl openssl flock
it_setup
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER

# The helper's libcurl limits (common/http.c): 10 s to connect, 30 s total.
# A quick failure must not have waited for the 30 s limit (QUICK_MAX is
# under it), and a hang must end at the limit, far from timeout(1)'s 120
# s; the slack is for the sanitizer build on a loaded 2-core machine,
# where some 50 helpers start at once beside other tests.
QUICK_MAX=25
TIMEOUT_MAX=60

# --- the fault servers ------------------------------------------------------
# fs_start NAME [CERT KEY]: start faultserver.mjs; its base URL in FS_URL.
fs_start()
{
	local name=$1
	shift
	it_node_server "faultserver-$name" faultserver.mjs "$@"
	FS_URL=$IT_SERVER_URL
}

mkdir -p "$IT_DIR/tls"
(
	umask 077
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -days 2 -subj "/CN=sasl-oauth2 untrusted test server" \
	    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	    -keyout "$IT_DIR/tls/key.pem" -out "$IT_DIR/tls/cert.pem"
) >"$IT_DIR/log/openssl.log" 2>&1 || it_fail "openssl could not make a certificate"
chmod 0644 "$IT_DIR/tls/cert.pem"

fs_start plain
FS_URL_plain=$FS_URL
fs_start tls "$IT_DIR/tls/cert.pem" "$IT_DIR/tls/key.pem"
FS_URL_tls=$FS_URL
closed_port=$(it_free_port)
it_log "fault servers: $FS_URL_plain, $FS_URL_tls; refused: 127.0.0.1:$closed_port"

# --- the matrix -------------------------------------------------------------
# case;endpoint base;exit;keyword (grep -i -E);max seconds[;exit;keyword of
# the client credentials account, where it differs]
CASES=$(cat <<EOF
refused;http://127.0.0.1:$closed_port/refused;75;cannot reach.*(connect|refused);$QUICK_MAX
hang;$FS_URL_plain/hang;75;no answer.*in time;$TIMEOUT_MAX
slow;$FS_URL_plain/slow;75;no answer.*in time;$TIMEOUT_MAX
e500;$FS_URL_plain/e500;75;try again later;$QUICK_MAX
e500json;$FS_URL_plain/e500json;75;try again later;$QUICK_MAX
e503json;$FS_URL_plain/e503json;75;try again later;$QUICK_MAX
e429;$FS_URL_plain/e429;75;try again later. the provider asks to wait 120 s;$QUICK_MAX
e429json;$FS_URL_plain/e429json;75;try again later. the provider asks to wait 120 s;$QUICK_MAX
e429junk;$FS_URL_plain/e429junk;75;try again later \(provider said: http_429\);$QUICK_MAX
e503date;$FS_URL_plain/e503date;75;try again later. the provider asks to wait until [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT \(;$QUICK_MAX
badjson;$FS_URL_plain/badjson;75;not a JSON object;$QUICK_MAX
truncated;$FS_URL_plain/truncated;75;not a JSON object;$QUICK_MAX
empty;$FS_URL_plain/empty;75;not a JSON object;$QUICK_MAX
cut;$FS_URL_plain/cut;75;(transfer closed|partial);$QUICK_MAX
huge;$FS_URL_plain/huge;75;larger than;$QUICK_MAX
hugechunked;$FS_URL_plain/hugechunked;75;larger than;$QUICK_MAX
noat;$FS_URL_plain/noat;75;no access_token;$QUICK_MAX
notype;$FS_URL_plain/notype;75;token_type.*missing.*Bearer;$QUICK_MAX
wrongtype;$FS_URL_plain/wrongtype;75;token_type.*mac.*not Bearer;$QUICK_MAX
badtoken;$FS_URL_plain/badtoken;75;not a valid bearer token;$QUICK_MAX
invalid_grant;$FS_URL_plain/invalid_grant;77;log in again;$QUICK_MAX;78;refused the app's credentials. check the app registration, its client secret .client_secret_file or client_secret_command. or certificate
invalid_client;$FS_URL_plain/invalid_client;78;check.*client_id;$QUICK_MAX;78;did not accept the app. check client_id and tenant, the client secret
tls_untrusted;$FS_URL_tls/ok;75;certificate;$QUICK_MAX
EOF
)

client_secret="faults-client-secret-$$-$RANDOM$RANDOM"
oa2_config_init root
export SASL_OAUTH2_CONFIG=$OA2_CONFIG
store=$XDG_STATE_HOME/sasl-oauth2
(umask 077 && mkdir -p "$store")

# --- device logins polled as providers answer (started now, checked last) -
# faultserver's device models answer each code's polls with
# authorization_pending, slow_down, then a token: Entra's shape (interval
# 5, its own "message") and RFC 8628's minimum (no interval: 5 s).
dev_pids=""
for m in entra nointerval; do
	oa2_account "dev-$m" root "user=dev.$m.$$@example.test" "provider=generic" \
	    "token_endpoint=$FS_URL_plain/$m/token" \
	    "device_authorization_endpoint=$FS_URL_plain/$m/devicecode" \
	    "client_id=faults-device" "scope=openid offline_access" \
	    "flow=device_code"
	"$H" login --timeout 120 "dev-$m" >"$IT_DIR/dev-$m.out" \
	    2>"$IT_DIR/dev-$m.err" </dev/null &
	dev_pids="$dev_pids $!"
done

# write_store ACCOUNT TOKEN: the store file, as "sasl-oauth2 login" writes
# it (common/store.h).
write_store()
{
	(umask 077 && printf '{"version":1,"account":"%s","refresh_token":"%s","scope":"openid offline_access","updated":%s,"refresh_expires":0}\n' \
	    "$1" "$2" "$(date +%s)" >"$store/$1.json")
}

# add_accounts CASE BASE [KEY=VALUE...]: a client credentials account cc-CASE
# and a refresh-token account rt-CASE (public client, stored refresh token)
# against BASE/token.
add_accounts()
{
	local c=$1 base=$2
	shift 2
	oa2_account "cc-$c" root "user=cc.$c.$$@example.test" \
	    "provider=generic" "token_endpoint=$base/token" \
	    "client_id=faults-app" "client_secret=$client_secret" \
	    "scope=https://outlook.office365.com/.default" \
	    "flow=client_credentials" "$@"
	oa2_account "rt-$c" root "user=rt.$c.$$@example.test" \
	    "provider=generic" "token_endpoint=$base/token" \
	    "client_id=faults-mua" "scope=openid offline_access" "$@"
	write_store "rt-$c" "rt-$c-$$-$RANDOM$RANDOM-stored"
	cp -p "$store/rt-$c.json" "$IT_DIR/before.rt-$c.json"
}

while IFS=";" read -r c base _; do
	add_accounts "$c" "$base"
done <<<"$CASES"
# controls: the good endpoint, and the TLS server once its certificate is
# trusted through ca_file (proves the TLS case fails for the right reason)
add_accounts ok "$FS_URL_plain/ok"
add_accounts tls_trusted "$FS_URL_tls/ok" "ca_file=$IT_DIR/tls/cert.pem"

mailboxes_to_clear=""
it_on_cleanup 'for m in $mailboxes_to_clear; do oa2_key_clear root "$m"; done'
for c in $(cut -d';' -f1 <<<"$CASES") ok tls_trusted; do
	mailboxes_to_clear="$mailboxes_to_clear cc.$c.$$@example.test rt.$c.$$@example.test"
done
for m in $mailboxes_to_clear; do
	oa2_key_clear root "$m"
done

# run ACCOUNT: sasl-oauth2 token ACCOUNT in the background; the results go
# to $IT_DIR/run.ACCOUNT.{out,err,rc,ms}.
run()
{
	local a=$1 t0 t1 rc
	(
		t0=$(date +%s%N)
		rc=0
		timeout 120 "$H" token "$a" >"$IT_DIR/run.$a.out" \
		    2>"$IT_DIR/run.$a.err" || rc=$?
		t1=$(date +%s%N)
		echo "$rc" >"$IT_DIR/run.$a.rc"
		echo $(((t1 - t0) / 1000000)) >"$IT_DIR/run.$a.ms"
	) &
	pids="$pids $!"
}

pids=""
for c in $(cut -d';' -f1 <<<"$CASES") ok tls_trusted; do
	run "cc-$c"
	run "rt-$c"
done
it_log "running $(wc -w <<<"$pids") token commands at once"
# shellcheck disable=SC2086
wait $pids

# --- the checks ---------------------------------------------------------
fails=0
bad()
{
	it_log "  $*"
	fails=$((fails + 1))
}

# check_one ACCOUNT EXIT KEYWORD MAXS
check_one()
{
	local a=$1 want=$2 kw=$3 max=$4 rc ms err lines
	rc=$(cat "$IT_DIR/run.$a.rc")
	ms=$(cat "$IT_DIR/run.$a.ms")
	err=$(cat "$IT_DIR/run.$a.err")
	lines=$(grep -c '' "$IT_DIR/run.$a.err" || true)
	[ "$rc" = "$want" ] || bad "$a: exit $rc, want $want ($err)"
	[ "$ms" -le $((max * 1000)) ] || bad "$a: took $ms ms, more than $max s"
	[ ! -s "$IT_DIR/run.$a.out" ] || bad "$a: printed something on stdout"
	[ "$lines" = 1 ] || bad "$a: $lines lines on stderr, want one sentence: $err"
	case $err in
	"sasl-oauth2: account $a: "*) ;;
	*) bad "$a: not in the 'sasl-oauth2: account $a: ...' form: $err" ;;
	esac
	grep -qiE -- "$kw" <<<"$err" || bad "$a: no /$kw/ in: $err"
	# an app-only account has nobody who could log in
	case $a in
	cc-*) ! grep -qiE 'log in|sasl-oauth2 login' <<<"$err" ||
	    bad "$a: an app-only account is told to log in: $err" ;;
	esac
	local -a secrets=(-e "$client_secret")
	[ -z "$(store_rt "$a")" ] || secrets+=(-e "$(store_rt "$a")")
	! grep -qF "${secrets[@]}" <<<"$err" || bad "$a: a secret is in the message"
	printf '%-22s exit %-3s %6s ms  %s\n' "$a" "$rc" "$ms" "$err" \
	    >>"$IT_DIR/matrix.txt"
}

store_rt() # ACCOUNT: the refresh token in the saved copy of its store file
{
	[ -f "$IT_DIR/before.$1.json" ] || return 0
	sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p' "$IT_DIR/before.$1.json"
}

: >"$IT_DIR/matrix.txt"
while IFS=";" read -r c _ want kw max ccwant cckw; do
	check_one "cc-$c" "${ccwant:-$want}" "${cckw:-$kw}" "$max"
	check_one "rt-$c" "$want" "$kw" "$max"
	cmp -s "$IT_DIR/before.rt-$c.json" "$store/rt-$c.json" ||
	    bad "rt-$c: the stored refresh token changed after a failure"
	[ ! -e "$store/cc-$c.json" ] || bad "cc-$c: a store file appeared"
	! oa2_key_present root "cc.$c.$$@example.test" ||
	    bad "cc-$c: something was cached after a failure"
	! oa2_key_present root "rt.$c.$$@example.test" ||
	    bad "rt-$c: something was cached after a failure"
done <<<"$CASES"

# One request per run, no retries: every case that reaches a server.
stats=$(curl -sS --max-time 10 "$FS_URL_plain/_stats")
while IFS=";" read -r c base _; do
	case $base in "$FS_URL_plain"/*) ;; *) continue ;; esac
	n=$(grep -o "\"$c\":[0-9]*" <<<"$stats" | cut -d: -f2)
	[ "${n:-0}" = 2 ] || bad "$c: ${n:-0} requests for 2 runs (want 1 each)"
done <<<"$CASES"

# The controls succeed, the rotated refresh token is saved.
for c in ok tls_trusted; do
	for a in "cc-$c" "rt-$c"; do
		rc=$(cat "$IT_DIR/run.$a.rc")
		[ "$rc" = 0 ] || bad "$a (control): exit $rc: $(cat "$IT_DIR/run.$a.err")"
		grep -q '^fault-ok-access-' "$IT_DIR/run.$a.out" ||
		    bad "$a (control): no token printed"
	done
	! cmp -s "$IT_DIR/before.rt-$c.json" "$store/rt-$c.json" ||
	    bad "rt-$c (control): the rotated refresh token was not saved"
	grep -q '"refresh_token":"fault-ok-refresh-' "$store/rt-$c.json" ||
	    bad "rt-$c (control): the store does not hold the new refresh token"
done

# --- a failure storm: one request, and every caller told ---------------
# 50 callers wait for the account's lock (held here, so that all of them
# are waiting), then the first one's refresh fails.  The others report that
# failure, in the sentence of the caller that tried, instead of repeating
# the request: with a refresh token the provider just refused, each repeat
# is one more use of a spent token, which reuse detection punishes; with a
# 503, it is a retry storm.  They share one stderr (one open file, as
# under one Postfix): every line must arrive whole.
fs_count() # FAULT: requests the plain fault server has seen for it
{
	local n
	n=$(curl -sS --max-time 10 "$FS_URL_plain/_stats" | grep -o "\"$1\":[0-9]*" | cut -d: -f2)
	echo "${n:-0}"
}
storm_fault() # FAULT WANT_EXIT KEYWORD
{
	local c=$1 want=$2 kw=$3 a=storm-$1 n0 i rc spids="" shared
	oa2_account "$a" root "user=storm.$c.$$@example.test" "provider=generic" \
	    "token_endpoint=$FS_URL_plain/$c/token" "client_id=faults-mua" \
	    "scope=openid offline_access"
	mailboxes_to_clear="$mailboxes_to_clear storm.$c.$$@example.test"
	write_store "$a" "storm-$c-$$-$RANDOM$RANDOM-stored"
	cp -p "$store/$a.json" "$IT_DIR/before.$a.json"
	n0=$(fs_count "$c")
	shared=$IT_DIR/$a.shared.err
	exec 7>>"$store/$a.lock" 8>"$shared"
	flock 7
	for i in $(seq 1 50); do
		(
			exec 7>&- # the lock stays with the test shell only
			rc=0
			timeout 60 "$H" token "$a" >"$IT_DIR/$a.$i.out" 2>&8 ||
			    rc=$?
			echo "$rc" >"$IT_DIR/$a.$i.rc"
		) &
		spids="$spids $!"
	done
	sleep 3 # every caller waiting for the lock
	exec 7>&-
	# shellcheck disable=SC2086
	wait $spids
	exec 8>&-
	[ $(($(fs_count "$c") - n0)) = 1 ] ||
	    bad "$a: $(($(fs_count "$c") - n0)) requests for 50 callers, want 1"
	for i in $(seq 1 50); do
		rc=$(cat "$IT_DIR/$a.$i.rc")
		[ "$rc" = "$want" ] || bad "$a caller $i: exit $rc, want $want"
		[ ! -s "$IT_DIR/$a.$i.out" ] || bad "$a caller $i: printed something"
	done
	# 50 whole lines, each "sasl-oauth2: account NAME: ...", and one
	# sentence: the waiters repeat the words of the caller that tried.
	[ "$(grep -c '' "$shared")" = 50 ] ||
	    bad "$a: $(grep -c '' "$shared") stderr lines from 50 callers, want 50"
	[ "$(grep -c "^sasl-oauth2: account $a: [^:]" "$shared")" = 50 ] ||
	    bad "$a: broken stderr lines: $(grep -v -m 3 "^sasl-oauth2: account $a: [^:]" "$shared")"
	[ "$(sort -u "$shared" | wc -l)" = 1 ] ||
	    bad "$a: the callers gave different reasons: $(sort "$shared" | uniq -c)"
	grep -qiE -- "$kw" "$shared" || bad "$a: no /$kw/ in: $(head -n 1 "$shared")"
	cmp -s "$IT_DIR/before.$a.json" "$store/$a.json" ||
	    bad "$a: the stored refresh token changed"
	printf '%-22s 50 callers, %s request: %s\n' "$a" \
	    "$(($(fs_count "$c") - n0))" "$(sort "$shared" | uniq -c | head -n 2 | tr '\n' ' ')" \
	    >>"$IT_DIR/matrix.txt"
}
storm_fault e503json 75 "try again later"
storm_fault invalid_grant 77 "log in again"

# The device logins: each succeeded, said what the provider said to say
# (or, with no message, where to go and the code), and kept the RFC 8628
# schedule: the first poll and the next after authorization_pending one
# interval apart (5 s: Entra's, and the default when none is given), the
# one after slow_down 5 s more (section 3.5).
for pid in $dev_pids; do
	wait "$pid" || bad "a device login exited $?"
done
grep -qF "sasl-oauth2: account dev-entra: To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code WDJB-" \
    "$IT_DIR/dev-entra.err" || bad "Entra's message not shown: $(cat "$IT_DIR/dev-entra.err")"
grep -qE "open $FS_URL_plain/device and enter the code WDJB-" "$IT_DIR/dev-nointerval.err" ||
    bad "no instructions without a message: $(cat "$IT_DIR/dev-nointerval.err")"
curl -sS --max-time 5 "$FS_URL_plain/_polls" >"$IT_DIR/polls.json"
sched=$(node -e '
	const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const out = [];
	for (const m of ["entra", "nointerval"]) {
		const t = p[m] || [];
		const gaps = t.map((v, i) => v - (i ? t[i - 1] : 0));
		const ok = t.length === 3 && gaps[0] >= 4900 && gaps[1] >= 4900 &&
		    gaps[2] >= 9900 && gaps[2] < 30000;
		out.push(`${ok ? "ok" : "BAD"} ${m}: polls at ${t.join(", ")} ms`);
	}
	console.log(out.join("; "));
' "$IT_DIR/polls.json")
case $sched in
*BAD*) bad "device polling schedule: $sched" ;;
esac
for m in entra nointerval; do
	grep -q '"refresh_token":"fault-ok-refresh-' "$store/dev-$m.json" 2>/dev/null ||
	    bad "dev-$m: no refresh token stored after the device login"
done
echo "    device logins: $sched" >>"$IT_DIR/matrix.txt"

sed 's/^/    /' "$IT_DIR/matrix.txt" >&2
[ "$fails" = 0 ] || it_fail "$fails fault check(s) failed (see above)"
it_log "$(wc -l <<<"$CASES") faults x 2 accounts: right exit, one sentence, bounded time, store intact"
it_pass
