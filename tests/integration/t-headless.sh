#!/bin/bash
# t-headless.sh: "login" on a server whose browser is on another machine
# (issue 16), against the real identity provider.  The browser is played
# by idp/browser.mjs "on another machine": with BROWSER_DELIVER=0 the final
# redirect is captured, never delivered, and the address it ended on is
# pasted (tmux paste-buffer) into the helper's terminal, a tmux pane:
#   - garbage, a foreign address, a wrong state and (where the provider
#     promises RFC 9207's iss) the code alone are refused with a sentence
#     each and the login goes on; the right address logs in; the pasted
#     code is shown nowhere (no echo); an address naming another issuer
#     ends the login as a redirect would;
#   - an error=access_denied address ends the login with the provider's
#     refusal (exit 77);
#   - a paste after the listener already got the code goes nowhere, not
#     even to whatever reads the terminal next (a shell); ^C while waiting
#     gives the terminal back in its modes, without what was typed;
#   - without a terminal only the listener counts;
#   - the ssh -L line, --port N, and a taken port refused with a sentence;
#   - Entra's redirect URI rules at the Microsoft-like client (the
#     registered http://localhost on any port; not 127.0.0.1, another path,
#     [::1] or https), a Microsoft login delivered to http://localhost:PORT
#     on a fixed port, one with the code alone pasted, and a Google one
#     with the address pasted: the guides' headless commands as written;
#   - provider = google with flow = device_code, or login --device,
#     refused before any request with a sentence that says what to use.
. "$(dirname "$0")/lib.sh"

it_require_root
it_require node keyctl tmux flock
it_setup
idp_start
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER

# The guides' account names: their snippets run as written.
far="far.$$@example.test"
ms="ms.$$@example.test"
g="g.$$@example.test"
oa2_config_init root
oa2_account far root "user=$far" "provider=generic" "issuer=$IDP_ISSUER" \
    "client_id=$IDP_MUA_ID" "scope=openid email offline_access"
oa2_account work root "user=$ms" "provider=microsoft" \
    "tenant=contoso.onmicrosoft.com" "authorization_endpoint=$IDP_AUTH_URL" \
    "token_endpoint=$IDP_TOKEN_URL" "client_id=$IDP_MUA_MS_ID"
oa2_account gmail root "user=$g" "provider=google" \
    "authorization_endpoint=$IDP_AUTH_URL" "token_endpoint=$IDP_TOKEN_URL" \
    "device_authorization_endpoint=$IDP_DEVICE_URL" \
    "client_id=$IDP_MUA_GOOGLE_ID" "client_secret=$IDP_MUA_GOOGLE_SECRET"
oa2_account gdev root "user=$g" "provider=google" \
    "authorization_endpoint=$IDP_AUTH_URL" "token_endpoint=$IDP_TOKEN_URL" \
    "device_authorization_endpoint=$IDP_DEVICE_URL" \
    "client_id=$IDP_MUA_GOOGLE_ID" "client_secret=$IDP_MUA_GOOGLE_SECRET" \
    "flow=device_code"
oa2_env

# guide_args DOC SNIPPET [FROM TO]...: the arguments of the guide's
# "sasl-oauth2 login ..." command, one per line.
guide_args()
{
	local doc=$1 name=$2
	shift 2
	doc_snippet "$doc" "$name" "sasl-oauth2 login " "" "$@" | tr ' ' '\n'
}

TMUX_SOCK=$IT_DIR/tmux.sock
# shellcheck disable=SC2016 # expanded at cleanup
it_on_cleanup 'tmux -S "$TMUX_SOCK" kill-server 2>/dev/null'

# pane_login NAME ARGS...: "sasl-oauth2 login ARGS" in a tmux pane, its
# stdin the pane's terminal and its stderr log/NAME.err.  When it exits,
# its status goes to NAME.rc, and the pane reads one more line from the
# terminal into NAME.left: what a shell would read next.
pane_login()
{
	local name=$1 spid
	shift
	rm -f "$IT_DIR/$name.rc" "$IT_DIR/$name.left"
	# shellcheck disable=SC2016 # for the pane's shell
	tmux -S "$TMUX_SOCK" new-session -d -s "$name" -x 200 -y 50 \
	    env PATH="$PATH" TERM=screen SASL_OAUTH2_CONFIG="$SASL_OAUTH2_CONFIG" \
	    XDG_STATE_HOME="$XDG_STATE_HOME" E="$IT_DIR/log/$name.err" \
	    R="$IT_DIR/$name.rc" L="$IT_DIR/$name.left" \
	    bash --norc --noprofile -c '"$0" login "$@" 2>"$E"; echo $? >"$R";
		IFS= read -r -t 60 l; printf "%s" "$l" >"$L"' "$H" "$@" ||
	    it_fail "$name: tmux could not start the login"
	spid=$(tmux -S "$TMUX_SOCK" display-message -p -t "$name" '#{pane_pid}')
	it_track "$spid"
}

# paste NAME FILE: paste FILE's text into NAME's terminal, as a user does.
paste()
{
	tmux -S "$TMUX_SOCK" load-buffer -b p "$2" &&
	    tmux -S "$TMUX_SOCK" paste-buffer -d -b p -t "$1" ||
	    it_fail "$1: tmux could not paste"
}

# paste_text NAME TEXT: paste TEXT and a line end.
paste_text()
{
	printf '%s\n' "$2" >"$IT_DIR/paste.txt"
	paste "$1" "$IT_DIR/paste.txt"
}

# wait_for FILE TEXT: until FILE holds TEXT (10 s at most).
wait_for()
{
	for _ in $(seq 1 100); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	it_fail "'$2' did not appear in ${1##*/}: $(cat "$1" 2>/dev/null)"
}

# wait_rc NAME: NAME's login exit status, once it has ended (30 s at most).
wait_rc()
{
	for _ in $(seq 1 300); do
		[ -s "$IT_DIR/$1.rc" ] && { cat "$IT_DIR/$1.rc"; return 0; }
		sleep 0.1
	done
	it_fail "$1: the login did not end: $(cat "$IT_DIR/log/$1.err")"
}

# leftover NAME: what the pane's shell read next from the terminal: END,
# pasted now, unless the login left something there.
leftover()
{
	[ -e "$IT_DIR/$1.left" ] || paste_text "$1" END
	for _ in $(seq 1 100); do
		[ -e "$IT_DIR/$1.left" ] && break
		sleep 0.1
	done
	cat "$IT_DIR/$1.left" 2>/dev/null
}

# elsewhere NAME URL LOGIN: the browser on another machine signs in and
# ends on the redirect, which it does not deliver; its address goes to
# NAME.url (0600).  Extra browser.mjs settings come from the environment.
elsewhere()
{
	local out
	out=$(BROWSER_DELIVER=0 BROWSER_SAVE="$IT_DIR/$1.url" \
	    idp_browser "$2" "$3" 2>"$IT_DIR/log/browser-$1.log") || true
	[ "$out" = captured ] ||
	    it_fail "$1: the browser did not end on the redirect: $(cat "$IT_DIR/log/browser-$1.log")"
}

# code_of FILE: the code in the address FILE holds.
code_of()
{
	sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' "$1"
}

# --- the address pasted; refusals first -----------------------------------
pane_login far1 --no-browser --timeout 60 far
err=$IT_DIR/log/far1.err
url=$(idp_auth_url "$err")
wait_for "$err" "copy the address it ends on (even an error page) and paste it here"
grep -Eq "^ssh -L ([0-9]+):127\.0\.0\.1:\1 [^ ]+@[^ ]+$" "$err" ||
    it_fail "no ssh -L line: $(cat "$err")"
c0=$(idp_stats authorization_code)
elsewhere far1 "$url" "$far"
redirect=$(sed -n 's/.*waiting up to [0-9]* s for the redirect to \([^ ]*\)$/\1/p' "$err")
case $(cat "$IT_DIR/far1.url") in
"$redirect?"*) ;;
*) it_fail "the browser ended elsewhere than $redirect" ;;
esac
paste_text far1 "this is not an address"
wait_for "$err" "that is neither the address the browser ended on nor an authorization code"
paste_text far1 "$IDP_ISSUER/interaction/abc?code=xyz"
wait_for "$err" "that address is not this login's redirect, which starts with $redirect"
sed 's/\([?&]state=\)[^&]*/\1forged-state/' "$IT_DIR/far1.url" >"$IT_DIR/far1.bad"
paste far1 "$IT_DIR/far1.bad"
wait_for "$err" "that address belongs to another login (its state is not this one's)"
# This IdP promises RFC 9207's iss, which a code alone cannot show.
printf '%s\n' "$(code_of "$IT_DIR/far1.url")" >"$IT_DIR/far1.code"
paste far1 "$IT_DIR/far1.code"
wait_for "$err" "the provider names itself in the address (RFC 9207), which a code alone does not show"
[ ! -e "$IT_DIR/far1.rc" ] || it_fail "a refused paste ended the login: $(cat "$err")"
paste far1 "$IT_DIR/far1.url"
rc=$(wait_rc far1)
[ "$rc" = 0 ] || it_fail "the pasted address: exit $rc: $(cat "$err")"
grep -q "logged in as $far; .*refresh token stored" "$err" ||
    it_fail "the pasted address: $(cat "$err")"
[ "$(idp_stats authorization_code)" = $((c0 + 1)) ] ||
    it_fail "not exactly one code redeemed"
[ -s "$XDG_STATE_HOME/sasl-oauth2/far.json" ] || it_fail "no refresh token stored"
# Not echoed: the code is on no screen and in no message.
tmux -S "$TMUX_SOCK" capture-pane -p -S - -t far1 >"$IT_DIR/log/far1.screen"
code=$(code_of "$IT_DIR/far1.url")
[ -n "$code" ] || it_fail "no code in the captured address"
! grep -qF -- "$code" "$IT_DIR/log/far1.screen" "$err" ||
    it_fail "the pasted code was shown"
[ "$(leftover far1)" = END ] || it_fail "the terminal kept something after the login"
it_log "pasted address: garbage, a foreign address, a wrong state and a bare code (iss promised) refused, the right one logged in, nothing echoed"

# --- error=access_denied pasted -------------------------------------------
pane_login deny --no-browser --timeout 60 far
err=$IT_DIR/log/deny.err
url=$(idp_auth_url "$err")
wait_for "$err" "paste it here"
out=$(BROWSER_DENY=1 BROWSER_DELIVER=0 BROWSER_SAVE="$IT_DIR/deny.url" \
    idp_browser "$url" "$far" 2>"$IT_DIR/log/browser-deny.log") && bc=0 || bc=$?
[ "$bc" = 3 ] && [ "$out" = captured ] ||
    it_fail "the cancelled sign-in: browser exit $bc: $(cat "$IT_DIR/log/browser-deny.log")"
grep -q "error=access_denied" "$IT_DIR/deny.url" || it_fail "no access_denied address"
paste deny "$IT_DIR/deny.url"
rc=$(wait_rc deny)
[ "$rc" = 77 ] || it_fail "a pasted access_denied: exit $rc, want 77: $(cat "$err")"
grep -q "the identity provider refused the login: access_denied" "$err" ||
    it_fail "a pasted access_denied: $(cat "$err")"
[ "$(leftover deny)" = END ] || it_fail "the terminal kept something after the login"
it_log "a pasted error=access_denied ends the login with the provider's refusal"

# --- RFC 9207: a pasted address naming another issuer ----------------------
# The same check as a delivered redirect: refused before the code is
# redeemed, and the login ends (a mix-up is no typo to retry).
pane_login mixup --no-browser --timeout 60 far
err=$IT_DIR/log/mixup.err
url=$(idp_auth_url "$err")
wait_for "$err" "paste it here"
c0=$(idp_stats authorization_code)
BROWSER_ISS=http://127.0.0.1:1/evil elsewhere mixup "$url" "$far"
paste mixup "$IT_DIR/mixup.url"
rc=$(wait_rc mixup)
[ "$rc" = 77 ] || it_fail "a pasted address from another issuer: exit $rc, want 77: $(cat "$err")"
grep -q "comes from issuer http://127.0.0.1:1/evil, not from $IDP_ISSUER (RFC 9207)" "$err" ||
    it_fail "a pasted address from another issuer: $(cat "$err")"
[ "$(idp_stats authorization_code)" = "$c0" ] || it_fail "a refused code was redeemed"
[ "$(leftover mixup)" = END ] || it_fail "the terminal kept something after the login"
it_log "a pasted address naming another issuer is refused (RFC 9207), as a redirect is"

# --- a paste after the listener got the code ------------------------------
# The login redeems the code under the account's lock: held here, the
# login waits there with the code in hand while the same address is pasted.
# That paste must go nowhere: not into the login, not to the shell.
pane_login late --no-browser --timeout 60 far
err=$IT_DIR/log/late.err
url=$(idp_auth_url "$err")
wait_for "$err" "paste it here"
exec 9>>"$XDG_STATE_HOME/sasl-oauth2/far.lock"
flock 9
c0=$(idp_stats authorization_code)
BROWSER_SAVE="$IT_DIR/late.url" idp_browser "$url" "$far" \
    >"$IT_DIR/log/browser-late.log" 2>&1 ||
    it_fail "the browser could not deliver the redirect"
paste late "$IT_DIR/late.url"
sleep 1
[ ! -e "$IT_DIR/late.rc" ] || it_fail "the login did not wait for the lock"
exec 9>&-
rc=$(wait_rc late)
[ "$rc" = 0 ] || it_fail "the delivered redirect: exit $rc: $(cat "$err")"
[ "$(idp_stats authorization_code)" = $((c0 + 1)) ] ||
    it_fail "not exactly one code redeemed"
! grep -q "that address\|that is neither" "$err" ||
    it_fail "the late paste was judged: $(cat "$err")"
left=$(leftover late)
[ "$left" = END ] || it_fail "the late paste reached the next reader of the terminal: '${left:0:40}...'"
it_log "a paste after the listener got the code goes nowhere, not to the shell either"

# --- ^C while waiting: the terminal comes back as it was -------------------
# The pane's shell handles SIGINT (a handler, not SIG_IGN, which the login
# would inherit) and so outlives the login to compare the terminal's modes.
rm -f "$IT_DIR/intr.rc" "$IT_DIR/intr.left"
# shellcheck disable=SC2016 # for the pane's shell
tmux -S "$TMUX_SOCK" new-session -d -s intr -x 200 -y 50 \
    env PATH="$PATH" TERM=screen SASL_OAUTH2_CONFIG="$SASL_OAUTH2_CONFIG" \
    XDG_STATE_HOME="$XDG_STATE_HOME" E="$IT_DIR/log/intr.err" \
    R="$IT_DIR/intr.rc" L="$IT_DIR/intr.left" D="$IT_DIR" \
    bash --norc --noprofile -c 'trap : INT; stty -g >"$D/intr.before"
	"$0" login --no-browser --timeout 60 far 2>"$E"; echo $? >"$R"
	stty -g >"$D/intr.after"; IFS= read -r -t 60 l; printf "%s" "$l" >"$L"' \
    "$H" || it_fail "intr: tmux could not start the login"
it_track "$(tmux -S "$TMUX_SOCK" display-message -p -t intr '#{pane_pid}')"
wait_for "$IT_DIR/log/intr.err" "paste it here"
tmux -S "$TMUX_SOCK" send-keys -t intr -l "half-typed-line"
sleep 0.3
tmux -S "$TMUX_SOCK" send-keys -t intr C-c
rc=$(wait_rc intr)
[ "$rc" = 130 ] || it_fail "^C: exit $rc, want 130 (SIGINT): $(cat "$IT_DIR/log/intr.err")"
cmp -s "$IT_DIR/intr.before" "$IT_DIR/intr.after" ||
    it_fail "^C left the terminal in other modes: $(cat "$IT_DIR/intr.before") -> $(cat "$IT_DIR/intr.after")"
[ "$(leftover intr)" = END ] || it_fail "^C left the half-typed line for the shell"
it_log "^C while waiting gives the terminal back as it was, and drops what was typed"

# --- no terminal: the listener alone --------------------------------------
# A valid address on a stdin that is not a terminal is not read.
mkfifo "$IT_DIR/stdin.fifo"
exec 8<>"$IT_DIR/stdin.fifo"
err=$IT_DIR/log/notty.err
"$H" login --no-browser --timeout 5 far <&8 2>"$err" &
lpid=$!
url=$(idp_auth_url "$err")
c0=$(idp_stats authorization_code)
elsewhere notty "$url" "$far"
cat "$IT_DIR/notty.url" >&8
rc=0
wait $lpid || rc=$?
exec 8>&-
[ "$rc" = 75 ] || it_fail "no terminal: exit $rc, want 75 (timeout): $(cat "$err")"
grep -q "no redirect arrived within 5 s" "$err" || it_fail "no terminal: $(cat "$err")"
! grep -q "paste it here" "$err" || it_fail "no terminal, yet told to paste"
grep -q "forward the port from there" "$err" || it_fail "no terminal: no ssh -L advice"
[ "$(idp_stats authorization_code)" = "$c0" ] || it_fail "no terminal: a code was redeemed"
it_log "without a terminal only the listener counts"

# --- Entra's redirect URI rules ---------------------------------------------
# The Microsoft-like client registers http://localhost, as
# docs/microsoft365.md tells admins to; Entra ignores the port of a
# localhost URI and nothing else (idp/server.mjs, PROVIDER MODELS).
entra_auth() # REDIRECT_URI: the status of an authorization request
{
	curl -sS -o "$IT_DIR/entra.html" -w '%{http_code}' -G "$IDP_AUTH_URL" \
	    --data-urlencode "client_id=$IDP_MUA_MS_ID" \
	    --data-urlencode "response_type=code" \
	    --data-urlencode "redirect_uri=$1" --data-urlencode "scope=openid" \
	    --data-urlencode "code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" \
	    --data-urlencode "code_challenge_method=S256" --data-urlencode "state=s"
}
for u in http://localhost:1234 http://localhost:50000 http://localhost; do
	st=$(entra_auth "$u")
	case $st in
	302|303) ;;
	*) it_fail "Entra model: $u refused ($st): $(cat "$IT_DIR/entra.html")" ;;
	esac
done
for u in http://127.0.0.1:1234/callback http://127.0.0.1:1234 \
    http://localhost:1234/callback "http://[::1]:1234" https://localhost:1234; do
	st=$(entra_auth "$u")
	[ "$st" = 400 ] && grep -qF "AADSTS50011: The redirect URI '$u'" "$IT_DIR/entra.html" ||
	    it_fail "Entra model: $u not refused with AADSTS50011 ($st)"
done
it_log "Entra model: http://localhost on any port; not 127.0.0.1, another path, [::1] or https"

# --- the guide's --port N (Microsoft, delivered), and a taken port ----------
port=$(it_free_port)
mapfile -t args < <(guide_args microsoft365.md ms-headless-port 8400 "$port")
err=$IT_DIR/log/port.err
"$H" login --timeout 30 "${args[@]}" 2>"$err" &
lpid=$!
url=$(idp_auth_url "$err")
case $url in
*"&redirect_uri=http%3A%2F%2Flocalhost%3A$port&"*) ;;
*) it_fail "--port $port: the redirect URI is not http://localhost:$port: $url" ;;
esac
grep -Eq "^ssh -L $port:127\.0\.0\.1:$port [^ ]+@[^ ]+$" "$err" ||
    it_fail "--port: the ssh -L line: $(cat "$err")"
# The browser resolves localhost itself; we listen on both addresses.
idp_browser "$url" "$ms" >"$IT_DIR/log/browser-port.log" 2>&1 ||
    it_fail "--port: the browser could not deliver: $(cat "$IT_DIR/log/browser-port.log")"
wait $lpid || it_fail "--port: exit $?: $(cat "$err")"
grep -q "logged in as $ms; .*refresh token stored" "$err" || it_fail "--port: $(cat "$err")"
rc=0
"$H" login --no-browser --port "$IDP_PORT" --timeout 5 far 2>"$err" || rc=$?
[ "$rc" = 75 ] || it_fail "a taken port: exit $rc, want 75: $(cat "$err")"
grep -q "cannot listen on port $IDP_PORT of 127.0.0.1 for the redirect (Address already in use): another program or another login holds it; choose another --port" "$err" ||
    it_fail "a taken port: $(cat "$err")"
! grep -q "$IDP_ISSUER/auth" "$err" || it_fail "a taken port: the URL was printed anyway"
for bad in 0 65536 x; do
	rc=0
	"$H" login --port "$bad" far 2>"$err" || rc=$?
	[ "$rc" = 64 ] && grep -q "port number (1 to 65535)" "$err" ||
	    it_fail "--port $bad: exit $rc: $(cat "$err")"
done
it_log "--port N: a Microsoft login delivered to http://localhost:N; a taken port refused with a sentence"

# --- the guides' headless logins: Microsoft with the code alone, Google ------
rm -f "$XDG_STATE_HOME/sasl-oauth2/work.json"
mapfile -t args < <(guide_args microsoft365.md ms-headless-login)
pane_login ms1 --timeout 60 "${args[@]}"
err=$IT_DIR/log/ms1.err
url=$(idp_auth_url "$err")
wait_for "$err" "paste it here"
elsewhere ms1 "$url" "$ms"
case $(cat "$IT_DIR/ms1.url") in
http://localhost:[0-9]*"/?code="*) ;;
*) it_fail "microsoft: the browser ended elsewhere than http://localhost:PORT/" ;;
esac
# Entra promises no RFC 9207 iss: the code alone will do.
printf '%s\n' "$(code_of "$IT_DIR/ms1.url")" >"$IT_DIR/ms1.code"
paste ms1 "$IT_DIR/ms1.code"
rc=$(wait_rc ms1)
[ "$rc" = 0 ] || it_fail "microsoft, the code alone: exit $rc: $(cat "$err")"
grep -q "logged in as $ms; .*refresh token stored" "$err" ||
    it_fail "microsoft, the code alone: $(cat "$err")"
[ "$(leftover ms1)" = END ] || it_fail "the terminal kept something after the login"
mapfile -t args < <(guide_args google.md google-headless-login)
pane_login g1 --timeout 60 "${args[@]}"
err=$IT_DIR/log/g1.err
url=$(idp_auth_url "$err")
wait_for "$err" "paste it here"
elsewhere g1 "$url" "$g"
paste g1 "$IT_DIR/g1.url"
rc=$(wait_rc g1)
[ "$rc" = 0 ] || it_fail "google, the pasted address: exit $rc: $(cat "$err")"
grep -q "logged in as $g; .*refresh token stored" "$err" ||
    it_fail "google, the pasted address: $(cat "$err")"
[ "$(leftover g1)" = END ] || it_fail "the terminal kept something after the login"
it_log "the guides' headless logins: Microsoft with the code alone, Google with the address"

# --- Google: no device flow, refused before any request ------------------
# Google's device flow does not allow https://mail.google.com/ (its
# mua-google client has no device grant either).
d0=$(idp_stats device_authorizations)
t0=$(idp_stats token_requests)
err=$IT_DIR/log/google-device.err
# google_refused FIX ARGS...: login ARGS is refused with exit 78 and FIX.
google_refused()
{
	local fix=$1 rc=0
	shift
	"$H" login --timeout 5 "$@" </dev/null 2>"$err" || rc=$?
	[ "$rc" = 78 ] || it_fail "google, login $*: exit $rc, want 78: $(cat "$err")"
	grep -qF "Google's device flow does not allow the Gmail scope (https://mail.google.com/), so a device code login (flow = device_code, or --device) cannot work for provider = google; use the browser login: $fix, which on a server without a browser lets you open the URL on another machine and paste the address it ends on" "$err" ||
	    it_fail "google, login $*: $(cat "$err")"
}
google_refused "remove flow = device_code and run 'sasl-oauth2 login gdev'" gdev
google_refused "run, without --device, 'sasl-oauth2 login gmail'" --device gmail
[ "$(idp_stats device_authorizations)" = "$d0" ] &&
    [ "$(idp_stats token_requests)" = "$t0" ] ||
    it_fail "google: a device login made a request before it was refused"
it_log "Google's device flow is refused before any request, with the way that works"

it_pass
