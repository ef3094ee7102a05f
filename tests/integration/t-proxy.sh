#!/bin/bash
# t-proxy.sh: the identity provider through a real HTTP proxy (Debian's
# tinyproxy, run by the test on loopback with its own configuration file:
# Debian's shipped settings, plus only what a test admin must set).
#
# Proves: the account's proxy key sends every request through the proxy as
# a CONNECT (tinyproxy logs it), and no_proxy exempts a host; without the
# key the environment's all_proxy/https_proxy is used only when no_proxy
# is set to something that does not exempt loopback (the default exempts
# it), and a real plugin run inside libsasl2 (sasl-sample-client) hands
# https_proxy and no_proxy to the helper; a proxy that refuses the CONNECT
# (ConnectPort 443 and 563 only, the restriction Debian's file suggests,
# commented out), one that asks for a login (407) and a dead proxy port
# each get their sentence and exit code,
# quickly; a proxy password in the key or in the environment is refused
# and never printed, and the plugin does not pass such a variable on; the
# proxy never sees a secret or a token (it sees only CONNECT).
. "$(dirname "$0")/lib.sh"

it_require node tinyproxy keyctl openssl
it_require_root
it_setup
# The machine's own proxy settings must not leak into the cases.
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY \
    http_proxy SASL_OAUTH2_PROXY_DROPPED
idp_start
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER
QUICK_MAX=10

# An https token endpoint (faultserver's "ok"): https_proxy applies to
# https only, and the IdP speaks plain http on loopback.
mkdir -p "$IT_DIR/tls"
(
	umask 077
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -days 2 -subj "/CN=sasl-oauth2 proxy test server" \
	    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	    -keyout "$IT_DIR/tls/key.pem" -out "$IT_DIR/tls/cert.pem"
) >"$IT_DIR/log/openssl.log" 2>&1 || it_fail "openssl could not make a certificate"
chmod 0644 "$IT_DIR/tls/cert.pem"
it_node_server faultserver-tls faultserver.mjs "$IT_DIR/tls/cert.pem" \
    "$IT_DIR/tls/key.pem"
FS_TLS=$IT_SERVER_URL
FS_PORT=${FS_TLS##*:}

# proxy_start NAME [LINE...]: a tinyproxy with the settings of Debian's
# /etc/tinyproxy/tinyproxy.conf (package tinyproxy 1.11.1, comments left
# out) except Port, LogFile, PidFile (none: foreground), User/Group (the
# tinyproxy user comes with Debian's service package, not the program's)
# and Listen (loopback only; unset there: every address), then LINE...;
# its port in PROXY_PORT, its log in IT_DIR/log/NAME.log.  No ConnectPort
# line, as there: CONNECT to any port (tinyproxy.conf(5)).
proxy_start()
{
	local name=$1 log=$IT_DIR/log/$1.log conf=$IT_DIR/$1.conf line pid
	shift
	PROXY_PORT=$(it_free_port)
	: >"$log"
	chown nobody: "$log" # it opens the log after dropping root
	{
		cat <<EOF
User nobody
Group nogroup
Port $PROXY_PORT
Listen 127.0.0.1
Timeout 600
DefaultErrorFile "/usr/share/tinyproxy/default.html"
StatFile "/usr/share/tinyproxy/stats.html"
LogFile "$log"
LogLevel Info
MaxClients 100
Allow 127.0.0.1
Allow ::1
ViaProxyName "tinyproxy"
EOF
		for line in "$@"; do
			printf '%s\n' "$line"
		done
	} >"$conf"
	tinyproxy -d -c "$conf" >"$IT_DIR/log/$name.out" 2>&1 </dev/null &
	pid=$!
	it_track "$pid"
	it_wait_port "$PROXY_PORT"
	it_log "$name: tinyproxy on 127.0.0.1:$PROXY_PORT (pid $pid)"
}

# Debian's settings: CONNECT to any port, the test IdP's among them.
proxy_start good
P_GOOD=http://127.0.0.1:$PROXY_PORT
# The two ConnectPort lines Debian's file has commented out (https and
# snews only): the IdP's port is refused (403).
proxy_start strict "ConnectPort 443" "ConnectPort 563"
P_STRICT=http://127.0.0.1:$PROXY_PORT
# A proxy that wants a login (tinyproxy's BasicAuth: 407 without one).
proxy_start login "BasicAuth proxyuser proxypass-$$"
P_LOGIN=http://127.0.0.1:$PROXY_PORT
P_DEAD=http://127.0.0.1:$(it_free_port)

oa2_config_init root
export SASL_OAUTH2_CONFIG=$OA2_CONFIG
MAILBOXES=""
it_on_cleanup 'for m in $MAILBOXES; do oa2_key_clear root "$m"; done'
# idp_account NAME [KEY=VALUE...]: an app-only account at the IdP.
idp_account()
{
	local name=$1
	shift
	MAILBOXES="$MAILBOXES px-$name.$$@example.test"
	oa2_account "$name" root "user=px-$name.$$@example.test" \
	    "provider=generic" "token_endpoint=$IDP_TOKEN_URL" \
	    "client_id=$IDP_RELAY_BASIC_ID" \
	    "client_secret=$IDP_RELAY_BASIC_SECRET" \
	    "scope=$IDP_CC_SCOPE" "flow=client_credentials" "$@"
}
# docs/postfix.md's line, pointed at the test's proxy.
idp_account via-good
doc_snippet postfix.md postfix-proxy http://proxy.contoso.com:3128 "$P_GOOD" \
    >>"$OA2_CONFIG"
grep -qxF "proxy = $P_GOOD" "$OA2_CONFIG" || it_fail "postfix.md's proxy line changed"
idp_account via-good-exempt "proxy=$P_GOOD" "no_proxy=example.test, 127.0.0.1"
idp_account via-strict "proxy=$P_STRICT"
idp_account via-login "proxy=$P_LOGIN"
idp_account via-dead "proxy=$P_DEAD"
idp_account direct
MAILBOXES="$MAILBOXES px-tls.$$@example.test"
oa2_account tls root "user=px-tls.$$@example.test" "provider=generic" \
    "token_endpoint=$FS_TLS/ok/token" "client_id=faults-app" \
    "client_secret=proxy-test-secret-$$" "ca_file=$IT_DIR/tls/cert.pem" \
    "scope=https://outlook.office365.com/.default" "flow=client_credentials"

# connects LOG PORT: how many CONNECTs to 127.0.0.1:PORT the proxy logged.
connects()
{
	grep -c "Request (file descriptor [0-9]*): CONNECT 127.0.0.1:$2 " \
	    "$IT_DIR/log/$1.log" || true
}

# run ACCOUNT [ENV=VALUE...]: a fresh token request (the cached one gone);
# RC, ERR (stderr) and MS (duration) for the checks.
run()
{
	local a=$1 t0 t1
	shift
	for m in $MAILBOXES; do oa2_key_clear root "$m"; done
	t0=$(date +%s%N)
	RC=0
	env "$@" timeout 60 "$H" token "$a" >"$IT_DIR/run.out" \
	    2>"$IT_DIR/run.err" || RC=$?
	t1=$(date +%s%N)
	MS=$(((t1 - t0) / 1000000))
	ERR=$(cat "$IT_DIR/run.err")
	# the variables' names only: a value may hold a password
	printf '=== token %s %s: exit %s, %s ms\n%s\n' "$a" \
	    "$(printf '%s ' "${@%%=*}")" "$RC" "$MS" "$ERR" \
	    >>"$IT_DIR/log/runs.log"
}

# expect_ok ACCOUNT PROXYLOG PORT DELTA [ENV=VALUE...]: a token, and DELTA
# more CONNECTs to PORT in PROXYLOG (1: through the proxy, 0: around it).
expect_ok()
{
	local a=$1 log=$2 port=$3 delta=$4 before after
	shift 4
	before=$(connects "$log" "$port")
	run "$a" "$@"
	[ "$RC" = 0 ] && [ -s "$IT_DIR/run.out" ] ||
	    it_fail "token $a $*: exit $RC: $ERR"
	after=$(connects "$log" "$port")
	[ $((after - before)) = "$delta" ] ||
	    it_fail "token $a $*: $((after - before)) CONNECTs in $log, want $delta"
}

# expect_fail ACCOUNT RC NEEDLE... [-- ENV=VALUE...]: exit RC, quickly, and
# stderr holding every NEEDLE.
expect_fail()
{
	local a=$1 want=$2 n
	local -a needles=() envv=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		needles+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift && envv=("$@")
	run "$a" "${envv[@]}"
	[ "$RC" = "$want" ] || it_fail "token $a: exit $RC, want $want: $ERR"
	for n in "${needles[@]}"; do
		case $ERR in
		*"$n"*) ;;
		*) it_fail "token $a: '$ERR' lacks '$n'" ;;
		esac
	done
	[ "$MS" -le $((QUICK_MAX * 1000)) ] ||
	    it_fail "token $a: took $MS ms, want at most $QUICK_MAX s"
}

# --- the proxy key -------------------------------------------------------
idp_reset
expect_ok via-good good "$IDP_PORT" 1
[ "$(idp_stats token_requests)" = 1 ] ||
    it_fail "the IdP saw $(idp_stats token_requests) token requests, want 1"
it_log "proxy key: the token request went through the proxy (CONNECT logged)"
# The key wins over the environment: a proxy there is not used.
expect_ok via-good good "$IDP_PORT" 1 "all_proxy=$P_STRICT" no_proxy=
expect_ok via-good-exempt good "$IDP_PORT" 0
it_log "no_proxy key: 127.0.0.1 bypasses the account's proxy"

# doctor names the proxy in its endpoints line, and a refusing one fails
# the token step with the proxy's sentence.
for m in $MAILBOXES; do oa2_key_clear root "$m"; done
"$H" doctor via-good >"$IT_DIR/doctor.out" 2>>"$IT_DIR/log/doctor.err" ||
    it_fail "doctor via-good failed: $(cat "$IT_DIR/doctor.out")"
grep -qxF "ok   endpoints: token endpoint $IDP_TOKEN_URL through the proxy $P_GOOD (the account's proxy key)" \
    "$IT_DIR/doctor.out" || it_fail "doctor does not name the proxy: $(cat "$IT_DIR/doctor.out")"
env all_proxy="$P_GOOD" no_proxy=example.test "$H" doctor direct \
    >"$IT_DIR/doctor.out" 2>>"$IT_DIR/log/doctor.err" ||
    it_fail "doctor direct failed: $(cat "$IT_DIR/doctor.out")"
grep -qxF "ok   endpoints: token endpoint $IDP_TOKEN_URL through the proxy $P_GOOD (all_proxy)" \
    "$IT_DIR/doctor.out" || it_fail "doctor does not name all_proxy: $(cat "$IT_DIR/doctor.out")"
"$H" doctor direct >"$IT_DIR/doctor.out" 2>>"$IT_DIR/log/doctor.err" ||
    it_fail "doctor direct failed: $(cat "$IT_DIR/doctor.out")"
grep -qxF "ok   endpoints: token endpoint $IDP_TOKEN_URL" "$IT_DIR/doctor.out" ||
    it_fail "doctor names a proxy where none is used: $(cat "$IT_DIR/doctor.out")"
rc=0
"$H" doctor via-strict >"$IT_DIR/doctor.out" 2>>"$IT_DIR/log/doctor.err" || rc=$?
[ "$rc" = 78 ] && grep -q "refused to connect to .*HTTP 403 to CONNECT" "$IT_DIR/doctor.out" ||
    it_fail "doctor via-strict: exit $rc: $(cat "$IT_DIR/doctor.out")"
it_log "doctor: the proxy named in the endpoints line; a refusing one fails with its sentence"

# --- the environment -----------------------------------------------------
# Loopback is exempt by default, as before proxies were supported.
expect_ok direct good "$IDP_PORT" 0 "all_proxy=$P_GOOD"
expect_ok direct good "$IDP_PORT" 1 "all_proxy=$P_GOOD" no_proxy=example.test
expect_ok direct good "$IDP_PORT" 0 "ALL_PROXY=$P_GOOD" NO_PROXY=127.0.0.1
expect_ok tls good "$FS_PORT" 1 "https_proxy=$P_GOOD" no_proxy=example.test
expect_ok tls good "$FS_PORT" 1 "HTTPS_PROXY=$P_GOOD" NO_PROXY=
it_log "environment: all_proxy and https_proxy used, no_proxy honoured, loopback exempt by default"

# --- proxies that fail ---------------------------------------------------
expect_fail via-strict 78 "the proxy $P_STRICT (the account's proxy key)" \
    "refused to connect to $IDP_TOKEN_URL (HTTP 403 to CONNECT)" \
    "ask its administrator to allow"
expect_fail direct 78 "the proxy $P_STRICT (all_proxy)" "HTTP 403 to CONNECT" \
    -- "all_proxy=$P_STRICT" no_proxy=
expect_fail via-login 78 "the proxy $P_LOGIN" "asks for a login (HTTP 407)"
expect_fail via-dead 75 "through the proxy $P_DEAD (the account's proxy key)" \
    "check that the proxy runs"
it_log "a refused CONNECT (403), a login asked for (407), a dead proxy: each its sentence"

# --- proxy passwords -----------------------------------------------------
# "/" and "#" in it: a password need not be URL-escaped to be one
pw="proxy/pass#word-$$-$RANDOM"
expect_fail direct 78 "all_proxy holds a proxy user name or password" \
    "set the account's proxy key" -- \
    "all_proxy=http://proxyuser:$pw@127.0.0.1:${P_LOGIN##*:}" no_proxy=
expect_fail tls 78 "https_proxy holds a proxy user name or password" -- \
    "https_proxy=http://proxyuser:$pw@127.0.0.1:${P_LOGIN##*:}"
bad=$IT_DIR/etc/bad.conf
sed "s|^proxy = $P_GOOD\$|proxy = http://proxyuser:$pw@127.0.0.1:${P_LOGIN##*:}|" \
    "$OA2_CONFIG" >"$bad"
grep -q "$pw" "$bad" || it_fail "no proxy password in $bad"
expect_fail via-good 78 "the proxy key holds a user name or password" \
    -- "SASL_OAUTH2_CONFIG=$bad"
it_log "a proxy password in the environment or the key: refused"
sed "s|^proxy = $P_GOOD\$|proxy = 127.0.0.1:${P_GOOD##*:}|" "$OA2_CONFIG" >"$bad"
expect_fail via-good 78 "must start with http://, https:// or socks5h://" \
    -- "SASL_OAUTH2_CONFIG=$bad"
sed "s|^proxy = $P_GOOD\$|proxy = http://127.0.0.1|" "$OA2_CONFIG" >"$bad"
expect_fail via-good 78 "needs a host and a port" -- "SASL_OAUTH2_CONFIG=$bad"
sed "/^proxy = /d" "$OA2_CONFIG" >"$bad"
expect_fail via-good-exempt 78 "no_proxy only lists exceptions to the proxy key" \
    -- "SASL_OAUTH2_CONFIG=$bad"

# --- a real plugin run inside libsasl2 -----------------------------------
oa2_env
# sample_token MAILBOX: the token the plugin sent (base64 of XOAUTH2's
# initial response decoded), the cached one cleared first.
sample_ok()
{
	local mb=$1 got
	for m in $MAILBOXES; do oa2_key_clear root "$m"; done
	sample_client_start "$mb" XOAUTH2 >/dev/null ||
	    it_fail "sasl-sample-client got no XOAUTH2 response for $mb"
	got=$(grep -m1 '^C: ' "$SAMPLE_CLIENT_OUT" | cut -c4- | base64 -d |
	    tr '\001' '\n' | grep -c '^auth=Bearer .')
	[ "$got" = 1 ] || it_fail "no bearer token in the XOAUTH2 response"
}
before=$(connects good "$FS_PORT")
https_proxy=$P_GOOD no_proxy=example.test sample_ok "px-tls.$$@example.test"
[ $(($(connects good "$FS_PORT") - before)) = 1 ] ||
    it_fail "the plugin's helper did not go through https_proxy"
before=$(connects good "$IDP_PORT")
ALL_PROXY=$P_GOOD NO_PROXY=example.test sample_ok "px-direct.$$@example.test"
[ $(($(connects good "$IDP_PORT") - before)) = 1 ] ||
    it_fail "the plugin's helper did not go through ALL_PROXY"
before=$(connects good "$IDP_PORT")
all_proxy=$P_GOOD no_proxy=127.0.0.1 sample_ok "px-direct.$$@example.test"
[ $(($(connects good "$IDP_PORT") - before)) = 0 ] ||
    it_fail "the plugin's helper went through the proxy despite no_proxy"
it_log "plugin: https_proxy, ALL_PROXY and no_proxy reach the helper"
# A password in the host's variable: not passed on; the helper says why.
for m in $MAILBOXES; do oa2_key_clear root "$m"; done
before=$(connects login "$FS_PORT")
if https_proxy="http://proxyuser:$pw@127.0.0.1:${P_LOGIN##*:}" \
    sample_client_start "px-tls.$$@example.test" XOAUTH2 >/dev/null; then
	it_fail "the plugin answered although https_proxy held a password"
fi
grep -q "https_proxy holds a proxy user name or password, which is not passed to the helper" \
    "$IT_DIR/log/sample-client.log" ||
    it_fail "the plugin's failure lacks the helper's sentence (log/sample-client.log)"
it_log "plugin: an https_proxy with a password is not passed on, and the user is told"

# --- what the proxies saw --------------------------------------------------
basic=$(printf '%s:%s' "$IDP_RELAY_BASIC_ID" "$IDP_RELAY_BASIC_SECRET" | base64 -w0)
for s in "$IDP_RELAY_BASIC_SECRET" "$basic" "proxy-test-secret-$$" "$pw" \
    Bearer access_token client_secret grant_type; do
	if grep -rlF -- "$s" "$IT_DIR/log"/good.log "$IT_DIR/log"/strict.log \
	    "$IT_DIR/log"/login.log; then
		it_fail "a proxy's log holds '$s' (a secret, a token or a form)"
	fi
done
grep -rlF -- "$pw" "$IT_DIR/log" "$IT_DIR/run.err" &&
    it_fail "the proxy password was printed (files above)"
grep -h "Request (file descriptor" "$IT_DIR/log"/good.log |
    grep -v ": CONNECT 127.0.0.1:" && it_fail "the proxy saw more than CONNECT (above)"
it_log "the proxies saw CONNECTs only: no secret, token or password in their logs"

it_pass
