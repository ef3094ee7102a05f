#!/bin/bash
# t-secrets.sh: no secret leaks.
#
# Every command of the helper runs with --verbose against the real IdP --
# login by authorization code + PKCE and by device code, token (cached and
# refreshed), refresh, status, client credentials (basic and post client
# authentication), logout --revoke -- and the plugin runs inside
# sasl-sample-client and imtest (against Dovecot).  The token endpoint, the
# device authorization endpoint and the revocation endpoint are reached
# through a capturing proxy of the test's own (faultserver.mjs), so the test
# learns every secret that crossed the wire: client secrets (and the Basic
# header made of them), authorization codes, PKCE verifiers, device codes,
# access, refresh and ID tokens.  Add the tokens the token command printed,
# every refresh token the store held and the keyring's tokens.  Then:
#   - none of them appears in any captured stdout/stderr, client log or
#     server log, except the token command's own stdout (its job);
#   - none appears in the argv or environment of any helper process, sampled
#     from /proc during a storm of helpers run directly and by the plugin;
#   - the helper is not dumpable: run as an ordinary user, its /proc files
#     belong to root, the user cannot read its environ, its core limit is 0;
#   - the state dir is 0700 and every file in it 0600;
#   - a secret file (or store file) others can read is refused: exit 77 or
#     78 and a "chmod 600" hint.
. "$(dirname "$0")/lib.sh"

it_require_root
it_require node keyctl dovecot sasl-sample-client /usr/lib/cyrus/bin/imtest \
    setpriv pgrep base64
it_setup
idp_start IDP_AT_TTL=600
dovecot_start
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER
# lib-idp.sh exports the IdP's client secrets; the helpers this test runs
# must not inherit them, or the environ check would find the test's own.
export -n IDP_MUA_SECRET_SECRET IDP_RELAY_BASIC_SECRET IDP_RELAY_POST_SECRET \
    IDP_DOVECOT_SECRET
OUT=$IT_DIR/out # every stdout/stderr of the commands, scanned at the end
mkdir -p "$OUT"
CAPTURE=$IT_DIR/capture.jsonl # what crossed the wire: secrets, NOT scanned
: >"$CAPTURE"

# --- the capturing proxy in front of the IdP ----------------------------------
FS_UPSTREAM=$IDP_ISSUER FS_CAPTURE=$CAPTURE it_node_server proxy faultserver.mjs
P=$IT_SERVER_URL/proxy
FAULT_BASE=${P%/proxy}

alice="alice.$$@example.test"
bob="bob.$$@example.test"
app=$IDP_RELAY_MAILBOX
apppost="post.$$@example.test"
oa2_config_init root
oa2_account web root "user=$alice" "provider=generic" "issuer=$IDP_ISSUER" \
    "token_endpoint=$P/token" "revocation_endpoint=$P/token/revocation" \
    "client_id=$IDP_MUA_ID" \
    "scope=openid email offline_access https://outlook.office.com/IMAP.AccessAsUser.All"
oa2_account dev root "user=$bob" "provider=generic" "issuer=$IDP_ISSUER" \
    "token_endpoint=$P/token" "revocation_endpoint=$P/token/revocation" \
    "device_authorization_endpoint=$P/device/auth" \
    "client_id=$IDP_MUA_SECRET_ID" "client_secret=$IDP_MUA_SECRET_SECRET" \
    "scope=openid email offline_access" "flow=device_code"
oa2_account app root "user=$app" "provider=generic" "token_endpoint=$P/token" \
    "client_id=$IDP_RELAY_BASIC_ID" "client_secret=$IDP_RELAY_BASIC_SECRET" \
    "scope=$IDP_CC_SCOPE" "flow=client_credentials"
oa2_account apppost root "user=$apppost" "provider=generic" \
    "token_endpoint=$P/token" "client_id=$IDP_RELAY_POST_ID" \
    "client_secret=$IDP_RELAY_POST_SECRET" "client_auth=post" \
    "scope=$IDP_CC_SCOPE" "flow=client_credentials"
oa2_account hang root "user=hang.$$@example.test" "provider=generic" \
    "token_endpoint=$FAULT_BASE/hang/token" "client_id=x" \
    "client_secret=hang-secret-$$" "flow=client_credentials"
oa2_env
it_on_cleanup "for m in '$alice' '$bob' '$app' '$apppost'; do oa2_key_clear root \"\$m\"; done"
store=$XDG_STATE_HOME/sasl-oauth2
n=0

# run NAME CMD...: run CMD, stdout to $OUT/NAME.stdout (or NAME.token for
# the token command, the one output allowed to hold a token), stderr to
# $OUT/NAME.stderr; keep a copy of the store files (refresh tokens).
run()
{
	local name=$1 ext=stdout rc=0
	shift
	[ "$2" = token ] || [ "$3" = token ] && ext=token
	"$@" >"$OUT/$name.$ext" 2>"$OUT/$name.stderr" || rc=$?
	snap_store
	return $rc
}

snap_store()
{
	local f
	for f in "$store"/*.json; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		cp "$f" "$IT_DIR/store-seen.$n"
	done
}

# login_web: authorization code + PKCE, loopback redirect, verbose.
"$H" -v login --no-browser --timeout 60 web >"$OUT/login-web.stdout" \
    2>"$OUT/login-web.stderr" &
lpid=$!
url=""
for _ in $(seq 1 100); do
	url=$(grep -m1 -o "$IDP_ISSUER/auth?[^ ]*" "$OUT/login-web.stderr") && break
	sleep 0.1
done
[ -n "$url" ] || it_fail "login printed no URL"
idp_browser "$url" "$alice" >"$OUT/browser.stdout" 2>"$OUT/browser.stderr" ||
    it_fail "the scripted browser failed"
wait $lpid || it_fail "login web failed: $(cat "$OUT/login-web.stderr")"
snap_store
it_log "login (authorization code, verbose): ok"

run token-web-cached "$H" -v token web || it_fail "token web failed"
run token-web-refresh "$H" -v token --min-ttl 700 web || it_fail "token web (refresh) failed"
run token-web-xoauth2 "$H" -v token --format xoauth2 web || it_fail "token --format xoauth2 failed"
run token-web-json "$H" -v token --format json web || it_fail "token --format json failed"
run refresh-web "$H" -v refresh --min-ttl 700 web || it_fail "refresh web failed"

# device grant, verbose
"$H" -v login dev >"$OUT/login-dev.stdout" 2>"$OUT/login-dev.stderr" &
dpid=$!
code=""
for _ in $(seq 1 100); do
	code=$(sed -n 's/.*enter the code \([^ ]*\).*/\1/p' "$OUT/login-dev.stderr")
	[ -n "$code" ] && break
	sleep 0.1
done
[ -n "$code" ] || it_fail "device login printed no user code"
idp_browser --device "$code" "$bob" >"$OUT/device.stdout" 2>"$OUT/device.stderr" ||
    it_fail "the scripted device approval failed"
wait $dpid || it_fail "login dev failed: $(cat "$OUT/login-dev.stderr")"
snap_store
run token-dev-refresh "$H" -v token --min-ttl 700 dev || it_fail "token dev failed"
it_log "login (device code, verbose), token, refresh: ok"

run token-app "$H" -v token app || it_fail "token app failed"
run login-app "$H" -v login app || it_fail "login app failed"
run token-apppost "$H" -v token apppost || it_fail "token apppost failed"
run status "$H" -v status || it_fail "status failed"
run status-json "$H" -v status --json || it_fail "status --json failed"
it_log "client credentials (basic, post), status: ok"

# --- the plugin: sasl-sample-client (client credentials via the helper) and
# imtest against Dovecot (refresh via the helper) --------------------------
for mech in XOAUTH2 OAUTHBEARER; do
	oa2_key_clear root "$app"
	sample_client_start "$app" $mech >/dev/null ||
	    it_fail "sasl-sample-client $mech produced no response"
	oa2_key_clear root "$alice"
	imtest_login "$alice" $mech || it_fail "imtest $mech failed"
done
it_log "plugin in sasl-sample-client and imtest (exec path): ok"

# --- storm: sample argv and environment of every helper process -------------
: >"$IT_DIR/argv.samples"
: >"$IT_DIR/environ.samples"
touch "$IT_DIR/sampling"
node -e '
	const fs = require("fs");
	const [flag, argvOut, envOut, helper] = process.argv.slice(1);
	const read = (f) => { try { return fs.readFileSync(f); } catch { return null; } };
	const exe = (pid) => { try { return fs.readlinkSync(`/proc/${pid}/exe`); } catch { return ""; } };
	while (fs.existsSync(flag)) {
		for (const pid of fs.readdirSync("/proc")) {
			if (!/^[0-9]+$/.test(pid)) continue;
			const comm = read(`/proc/${pid}/comm`);
			if (!comm || comm.toString().trim() !== "sasl-oauth2") continue;
			// ours only: other tests run helpers of their own meanwhile
			if (exe(pid) !== helper) continue;
			const argv = read(`/proc/${pid}/cmdline`);
			const env = read(`/proc/${pid}/environ`);
			if (argv && argv.length)
				fs.appendFileSync(argvOut, argv.toString().split("\0").join(" ") + "\n");
			if (env && env.length)
				fs.appendFileSync(envOut, env.toString().split("\0").join("\n") + "\n");
		}
	}
' "$IT_DIR/sampling" "$IT_DIR/argv.samples" "$IT_DIR/environ.samples" "$H" &
sampler=$!
it_track $sampler
for round in 1 2 3; do
	oa2_key_clear root "$alice"
	oa2_key_clear root "$app"
	pids=""
	for i in $(seq 1 20); do
		"$H" token web >"$OUT/storm-$round-$i.token" 2>"$OUT/storm-$round-$i.stderr" &
		pids="$pids $!"
		"$H" token --user "$app" >"$OUT/storm-app-$round-$i.token" \
		    2>"$OUT/storm-app-$round-$i.stderr" &
		pids="$pids $!"
	done
	for i in 1 2 3; do
		sample_client_start "$app" XOAUTH2 >/dev/null || true
	done
	# shellcheck disable=SC2086
	wait $pids
done
rm -f "$IT_DIR/sampling"
wait $sampler 2>/dev/null || true
if grep -h . "$OUT"/storm-*.stderr | head -n 3 | grep .; then
	it_fail "some helpers of the storm failed (above)"
fi
snap_store
ns=$(grep -c ' token ' "$IT_DIR/argv.samples" || true)
[ "$ns" -ge 1 ] || it_fail "the sampler saw no helper process"
it_log "storm: $ns helper command lines sampled from /proc"

# --- logout --revoke ------------------------------------------------------------
run logout-dev "$H" -v logout --revoke dev || it_fail "logout dev failed"
run logout-web "$H" -v logout --revoke web || it_fail "logout web failed"

# --- the helper is not dumpable -------------------------------------------------
# As root every /proc file is root's anyway: run it as nobody, blocked on
# a token endpoint that never answers.
nobody_state=$IT_DIR/nobody-state
mkdir -p "$nobody_state"
chown nobody: "$nobody_state"
chmod 0700 "$nobody_state"
chown nobody: "$IT_DIR/etc/hang.secret"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
    env -i PATH=/usr/bin:/bin XDG_STATE_HOME="$nobody_state" \
    SASL_OAUTH2_CONFIG="$OA2_CONFIG" "$H" token hang \
    >"$OUT/hang.stdout" 2>"$OUT/hang.stderr" &
hpid=$!
it_track $hpid
setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 30 &
spid=$!
it_track $spid
for _ in $(seq 1 50); do
	grep -q '"hang"' <(curl -sS --max-time 5 "$FAULT_BASE/_stats") && break
	sleep 0.1
done
nobody_uid=$(id -u nobody)
[ "$(awk '/^Uid:/ {print $3}' "/proc/$hpid/status")" = "$nobody_uid" ] ||
    it_fail "the helper does not run as nobody"
[ "$(stat -c %u "/proc/$spid/status")" = "$nobody_uid" ] ||
    it_fail "control: /proc of a dumpable process of nobody is not nobody's"
[ "$(stat -c %u "/proc/$hpid/status")" = 0 ] ||
    it_fail "the helper is dumpable (its /proc files belong to uid $(stat -c %u "/proc/$hpid/status"))"
if setpriv --reuid=nobody --regid=nogroup --clear-groups \
    cat "/proc/$hpid/environ" >/dev/null 2>&1; then
	it_fail "the helper's own user can read its environment (dumpable)"
fi
grep -q '^Max core file size *0 ' "/proc/$hpid/limits" ||
    it_fail "the helper's core file limit is not 0"
kill "$hpid" "$spid" 2>/dev/null || true
wait "$hpid" "$spid" 2>/dev/null || true
it_log "the helper is not dumpable (root-owned /proc files, core limit 0)"

# --- files and modes ----------------------------------------------------------
[ "$(stat -c %a "$store")" = 700 ] || it_fail "the state dir is not 0700"
for f in "$store"/* "$store"/.[!.]*; do
	[ -e "$f" ] || continue
	[ "$(stat -c %a "$f")" = 600 ] || it_fail "$f is mode $(stat -c %a "$f"), not 0600"
done
it_log "state dir 0700, its files 0600"

# A secret file others can read is refused with a chmod hint.
secret=$IT_DIR/etc/app.secret
chmod 0644 "$secret"
oa2_key_clear root "$app"
rc1=0
"$H" token app >"$OUT/loose-secret.token" 2>"$OUT/loose-secret.stderr" || rc1=$?
chmod 0600 "$secret"
case $rc1 in 77 | 78) ;; *) it_fail "a 0644 secret file gave exit $rc1, want 77 or 78" ;; esac
grep -q "chmod 600 $secret" "$OUT/loose-secret.stderr" ||
    it_fail "no chmod hint: $(cat "$OUT/loose-secret.stderr")"
[ ! -s "$OUT/loose-secret.token" ] || it_fail "a token was printed with a loose secret file"
# A FIFO in its place is refused at once, not waited on for a writer.
mv "$secret" "$secret.real"
mkfifo -m 0600 "$secret"
rc3=0
timeout 10 "$H" token app >/dev/null 2>"$OUT/fifo-secret.stderr" || rc3=$?
rm -f "$secret"
mv "$secret.real" "$secret"
[ "$rc3" = 77 ] || [ "$rc3" = 78 ] ||
    it_fail "a FIFO as secret file gave exit $rc3, want 77 or 78 at once: $(cat "$OUT/fifo-secret.stderr")"
grep -q "$secret is not a regular file" "$OUT/fifo-secret.stderr" ||
    it_fail "a FIFO as secret file: $(cat "$OUT/fifo-secret.stderr")"
# ... and so is a loose store file.
(umask 077 && printf '{"version":1,"account":"web","refresh_token":"loose-%s"}\n' "$$" \
    >"$store/web.json")
chmod 0644 "$store/web.json"
oa2_key_clear root "$alice"
rc=0
"$H" token web >"$OUT/loose-store.token" 2>"$OUT/loose-store.stderr" || rc=$?
case $rc in 77 | 78) ;; *) it_fail "a 0644 store file gave exit $rc, want 77 or 78" ;; esac
grep -q "chmod 600 $store/web.json" "$OUT/loose-store.stderr" ||
    it_fail "no chmod hint: $(cat "$OUT/loose-store.stderr")"
rm -f "$store/web.json"
# ... and so is a loose state directory (not quietly replaced by another).
(umask 077 && printf '{"version":1,"account":"web","refresh_token":"loose-%s"}\n' "$$" \
    >"$store/web.json")
chmod 0755 "$store"
rc2=0
"$H" token web >"$OUT/loose-dir.token" 2>"$OUT/loose-dir.stderr" || rc2=$?
chmod 0700 "$store"
rm -f "$store/web.json"
case $rc2 in 77 | 78) ;; *) it_fail "a 0755 state dir gave exit $rc2, want 77 or 78: $(cat "$OUT/loose-dir.stderr")" ;; esac
grep -q "chmod 700 $store" "$OUT/loose-dir.stderr" ||
    it_fail "no chmod hint for the state dir: $(cat "$OUT/loose-dir.stderr")"
it_log "loose secret file (exit $rc1), store file (exit $rc), state dir (exit $rc2): refused with a chmod hint"

# --- collect every secret we can know -------------------------------------------
node -e '
	const fs = require("fs");
	const out = new Set();
	const add = (v) => { if (typeof v === "string" && v.length >= 8) out.add(v); };
	for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
		if (!line) continue;
		const x = JSON.parse(line);
		const form = new URLSearchParams(x.request);
		for (const k of ["code", "code_verifier", "refresh_token", "client_secret",
		    "device_code", "token"])
			add(form.get(k));
		const m = /^Basic (.*)$/i.exec(x.authorization);
		if (m) {
			add(m[1]);
			const dec = Buffer.from(m[1], "base64").toString();
			add(decodeURIComponent(dec.slice(dec.indexOf(":") + 1).replace(/\+/g, " ")));
		}
		let r;
		try { r = JSON.parse(x.response); } catch { continue; }
		for (const k of ["access_token", "refresh_token", "id_token", "device_code"])
			add(r[k]);
	}
	process.stdout.write([...out].join("\n") + "\n");
' "$CAPTURE" >"$IT_DIR/secrets.list"
{
	for s in "$IDP_MUA_SECRET_SECRET" "$IDP_RELAY_BASIC_SECRET" "$IDP_RELAY_POST_SECRET"; do
		echo "$s"
		printf '%s' "$s" | base64 -w0
		echo
	done
	printf '%s:%s' "$IDP_RELAY_BASIC_ID" "$IDP_RELAY_BASIC_SECRET" | base64 -w0
	echo
	printf '%s:%s' "$IDP_MUA_SECRET_ID" "$IDP_MUA_SECRET_SECRET" | base64 -w0
	echo
	# what the token command printed: raw, json or base64 SASL responses
	cat "$OUT"/*.token | while read -r line; do
		case $line in
		'{'*) sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' <<<"$line" ;;
		*) if dec=$(base64 -d <<<"$line" 2>/dev/null | tr '\001' '\n') &&
			grep -q '^auth=Bearer ' <<<"$dec"; then
			sed -n 's/^auth=Bearer //p' <<<"$dec"
		   else
			echo "$line"
		   fi ;;
		esac
	done
	sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p' "$IT_DIR"/store-seen.*
} >>"$IT_DIR/secrets.list"
sort -u "$IT_DIR/secrets.list" | awk 'length($0) >= 8' >"$IT_DIR/secrets"
nsec=$(wc -l <"$IT_DIR/secrets")
kinds=$(node -e '
	const fs = require("fs"); const seen = {};
	for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
		if (!line) continue;
		const x = JSON.parse(line); const f = new URLSearchParams(x.request);
		for (const k of ["code", "code_verifier", "device_code", "refresh_token", "client_secret"])
			if (f.get(k)) seen[k] = (seen[k] || 0) + 1;
		try { const r = JSON.parse(x.response);
			for (const k of ["access_token", "refresh_token", "id_token"])
				if (r[k]) seen["got " + k] = (seen["got " + k] || 0) + 1; } catch {}
		if (/^Basic /i.test(x.authorization)) seen.basic = (seen.basic || 0) + 1;
	}
	process.stdout.write(JSON.stringify(seen));
' "$CAPTURE")
it_log "$nsec distinct secrets known; on the wire: $kinds"
for k in code code_verifier device_code client_secret basic '"got refresh_token"' '"got id_token"'; do
	grep -q "\"${k//\"/}\"" <<<"$kinds" || it_fail "the capture saw no $k: the test would prove nothing"
done

# --- scan ------------------------------------------------------------------------
# The scanner itself must see a secret where there is one.
tail -n 1 "$IT_DIR/secrets" | sed 's/^/noise /' >"$IT_DIR/canary"
grep -qF -f "$IT_DIR/secrets" "$IT_DIR/canary" || it_fail "the scanner misses a planted secret"
rm -f "$IT_DIR/canary"
scan=()
for f in "$OUT"/* "$IT_DIR"/log/* "$IT_DIR/argv.samples" "$IT_DIR/environ.samples" \
    "$IT_DIR/sample-client.out"; do
	[ -f "$f" ] || continue
	case $f in *.token) continue ;; esac
	scan+=("$f")
done
if hits=$(grep -lF -f "$IT_DIR/secrets" "${scan[@]}"); then
	for f in $hits; do
		it_log "secret in $f:"
		grep -nF -f "$IT_DIR/secrets" "$f" | head -n 3 |
		    sed 's/\([A-Za-z0-9_-]\{6\}\)[A-Za-z0-9_.~+/=-]\{10,\}/\1[...]/g' >&2
	done
	it_fail "a secret leaked into the output above"
fi
it_log "no secret in ${#scan[@]} outputs, logs and /proc samples"
it_pass
