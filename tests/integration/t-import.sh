#!/bin/bash
# t-import.sh: "sasl-oauth2 import" takes accounts over from the tools
# people leave, against the real identity provider, and the next "token"
# refreshes over the network with no login:
#
#   sasl-xoauth2    its JSON configuration and a token file as its plugin
#                   writes them, holding a refresh token the IdP issued to
#                   the confidential client mua-post (the secret in the form
#                   body, as sasl-xoauth2 sends it);
#   mutt_oauth2.py  Debian's script itself (mutt's examples), run against
#                   the IdP: a copy in the work dir in which only the
#                   microsoft entry of its registrations table (endpoints,
#                   loopback redirect, client mua-ms, scopes the IdP knows)
#                   and ENCRYPTION_PIPE/DECRYPTION_PIPE are changed, to a
#                   throw-away GnuPG home (the script's default is gpg) or
#                   to plain cat; its token file then has the format the
#                   script really writes.  NeoMutt's copy adds client_id
#                   and client_secret to that file: made here with jq.
#
# Also the refusals (an existing account, an existing refresh token, a
# secret file already there, malformed files, no refresh token, an
# encrypted file without a decryption command, a failing one), each
# leaving the configuration as it was; the files written (0600 in 0700
# directories); and that no secret reaches the decryption command's argv
# or ours, our messages, or the configuration.  The commands of
# docs/migrate.md are the ones run.
. "$(dirname "$0")/lib.sh"

MUTT_OAUTH2=/usr/share/doc/mutt/examples/mutt_oauth2.py
doc_check_markers migrate.md
it_require node python3 gpg gpgconf jq keyctl sha256sum
[ -f "$MUTT_OAUTH2" ] ||
    it_skip "missing prerequisite: $MUTT_OAUTH2 (Debian's mutt package)"
it_setup
idp_start
it_install_products
export PATH="$IT_DIR/bin:$PATH" # the guide calls "sasl-oauth2"
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER
STORE=$XDG_STATE_HOME/sasl-oauth2
oa2_config_init root
export SASL_OAUTH2_CONFIG=$OA2_CONFIG

conf_sum() { sha256sum "$OA2_CONFIG" | cut -d' ' -f1; }
# section ACCOUNT: the account's lines of the configuration
section()
{
	awk -v h="[account $1]" '$0 == h { p = 1; next } /^\[/ { p = 0 } p' \
	    "$OA2_CONFIG"
}
has_line() # ACCOUNT LINE
{
	section "$1" | grep -qxF -- "$2" ||
	    it_fail "account $1 lacks '$2': $(section "$1")"
}

# --- refresh tokens from the IdP for sasl-xoauth2's files --------------
# seed_rt MAILBOX: log in through our own helper (scripted browser) for a
# scratch account of the confidential client mua-post, print the refresh
# token stored and forget it here.
(umask 077 && echo "$IDP_MUA_POST_SECRET" >"$IT_DIR/seed.secret")
seed_rt()
{
	local lpid url rt
	cat >"$IT_DIR/seed.conf" <<EOF
[account seed]
user = $1
issuer = $IDP_ISSUER
client_id = $IDP_MUA_POST_ID
client_secret_file = $IT_DIR/seed.secret
client_auth = post
scope = openid email offline_access
EOF
	: >"$IT_DIR/log/seed-login.err" # not the last call's URL (a race)
	"$H" -c "$IT_DIR/seed.conf" login --no-browser --timeout 60 seed \
	    2>"$IT_DIR/log/seed-login.err" &
	lpid=$!
	url=$(idp_auth_url "$IT_DIR/log/seed-login.err")
	idp_browser "$url" "$1" >"$IT_DIR/log/browser-seed.log" 2>&1 ||
	    it_fail "browser failed (seed login)"
	wait $lpid || it_fail "seed login failed: $(cat "$IT_DIR/log/seed-login.err")"
	rt=$(jq -r .refresh_token "$STORE/seed.json")
	[ -n "$rt" ] && [ "$rt" != null ] || it_fail "no refresh token from the seed login"
	rm -f "$STORE/seed.json" "$STORE/seed.lock"
	oa2_key_clear root "$1"
	printf '%s\n' "$rt"
}
carol="carol.$$@example.test"
rt_xo=$(seed_rt "$carol")

# sasl-xoauth2's files, as its README and plugin make them: the
# configuration world-readable (its documented default), the token file
# written by the plugin (jsoncpp's layout, expiry a string).
mkdir -p "$IT_DIR/xo/tokens"
cat >"$IT_DIR/xo/sasl-xoauth2.conf" <<EOF
{
  "client_id": "$IDP_MUA_POST_ID",
  "client_secret": "$IDP_MUA_POST_SECRET",
  "token_endpoint": "$IDP_TOKEN_URL",
  "log_to_syslog_on_failure": "yes",
  "log_full_trace_on_failure": "no"
}
EOF
chmod 644 "$IT_DIR/xo/sasl-xoauth2.conf"
xoauth2_token_file() # FILE REFRESH_TOKEN
{
	(umask 077 && cat >"$1" <<EOF
{
   "access_token" : "expired-access-token",
   "expiry" : "0",
   "refresh_token" : "$2"
}
EOF
	)
}
xoauth2_token_file "$IT_DIR/xo/tokens/$carol" "$rt_xo"

# --- import sasl-xoauth2 (the guide's command) --------------------------
cmd=$(doc_snippet migrate.md import-sasl-xoauth2 \
    /etc/tokens/relay@contoso.com "$IT_DIR/xo/tokens/$carol" \
    /etc/sasl-xoauth2.conf "$IT_DIR/xo/sasl-xoauth2.conf" \
    relay@contoso.com "$carol")
sum0=$(conf_sum)
bash -c "set -e; $cmd -v" 2>"$IT_DIR/log/import-xo.err" ||
    it_fail "import sasl-xoauth2 failed: $(cat "$IT_DIR/log/import-xo.err")"
grep -q "sasl-xoauth2.conf can be read by others (mode 0644) and holds a client secret" \
    "$IT_DIR/log/import-xo.err" ||
    it_fail "no warning about the world-readable configuration: $(cat "$IT_DIR/log/import-xo.err")"
has_line relay "user = $carol"
has_line relay "provider = generic"
has_line relay "token_endpoint = $IDP_TOKEN_URL"
has_line relay "client_id = $IDP_MUA_POST_ID"
has_line relay "client_secret_file = $IT_DIR/etc/relay.secret"
has_line relay "client_auth = post"
[ "$(cat "$IT_DIR/etc/relay.secret")" = "$IDP_MUA_POST_SECRET" ] ||
    it_fail "the client secret file does not hold the secret"
[ "$(stat -c %a "$IT_DIR/etc/relay.secret")" = 600 ] || it_fail "secret file not 0600"
[ "$(stat -c %a "$STORE")" = 700 ] || it_fail "store dir not 0700"
[ "$(stat -c %a "$STORE/relay.json")" = 600 ] || it_fail "store file not 0600"
[ "$(jq -r .refresh_token "$STORE/relay.json")" = "$rt_xo" ] ||
    it_fail "the store does not hold the imported refresh token"
[ "$(stat -c %a "$OA2_CONFIG")" = 644 ] || it_fail "the configuration's mode changed"
[ "$(conf_sum)" != "$sum0" ] || it_fail "the configuration did not change"
"$H" status >/dev/null 2>"$IT_DIR/log/status.err" ||
    it_fail "the configuration after the import is refused: $(cat "$IT_DIR/log/status.err")"

r0=$(idp_stats refresh_token)
tok=$("$H" token relay 2>"$IT_DIR/log/token-xo.err") ||
    it_fail "token after the sasl-xoauth2 import failed: $(cat "$IT_DIR/log/token-xo.err")"
[ $(($(idp_stats refresh_token) - r0)) = 1 ] || it_fail "sasl-xoauth2 import: not one refresh"
case $(idp_introspect "$tok") in
*'"active":true'*) ;;
*) it_fail "the IdP does not know the token after the import" ;;
esac
[ "$(jq -r .refresh_token "$STORE/relay.json")" != "$rt_xo" ] ||
    it_fail "the rotated refresh token was not saved"
oa2_key_clear root "$carol"
it_log "sasl-xoauth2: imported (generic, client_secret_post), token refreshed without a login"

# --- refusals: nothing is overwritten, nothing half-written -------------
sum0=$(conf_sum)
ls -A "$STORE" "$IT_DIR/etc" | sort >"$IT_DIR/files.before"
oa2_expect 78 "account relay is already defined in $OA2_CONFIG (line" \
    "$H" import sasl-xoauth2 --token-file "$IT_DIR/xo/tokens/$carol" \
    --xoauth2-config "$IT_DIR/xo/sasl-xoauth2.conf" --user "$carol" relay
jq '.account = "orphan"' "$STORE/relay.json" >"$STORE/orphan.json"
chmod 600 "$STORE/orphan.json"
oa2_expect 78 "a refresh token is already stored under this name ($STORE/orphan.json)" \
    "$H" import sasl-xoauth2 --token-file "$IT_DIR/xo/tokens/$carol" \
    --xoauth2-config "$IT_DIR/xo/sasl-xoauth2.conf" --user "$carol" orphan
rm "$STORE/orphan.json"
: >"$IT_DIR/etc/taken.secret"
oa2_expect 78 "$IT_DIR/etc/taken.secret already exists and is not overwritten" \
    "$H" import sasl-xoauth2 --token-file "$IT_DIR/xo/tokens/$carol" \
    --xoauth2-config "$IT_DIR/xo/sasl-xoauth2.conf" --user "$carol" \
    --client-secret-file "$IT_DIR/etc/taken.secret" taken
rm "$IT_DIR/etc/taken.secret"
echo 'not json' >"$IT_DIR/xo/tokens/bad"
oa2_expect 78 "is not a JSON object; is it a sasl-xoauth2 token file?" \
    "$H" import sasl-xoauth2 --token-file "$IT_DIR/xo/tokens/bad" \
    --xoauth2-config "$IT_DIR/xo/sasl-xoauth2.conf" --user "$carol" bad
echo '{"access_token": "x", "expiry": "0"}' >"$IT_DIR/xo/tokens/nort"
oa2_expect 78 "has no refresh_token; nothing to import" \
    "$H" import sasl-xoauth2 --token-file "$IT_DIR/xo/tokens/nort" \
    --xoauth2-config "$IT_DIR/xo/sasl-xoauth2.conf" --user "$carol" nort
oa2_expect 78 "names no mailbox; give it with --user MAILBOX" \
    "$H" import sasl-xoauth2 --token-file "$IT_DIR/xo/tokens/$carol" \
    --xoauth2-config "$IT_DIR/xo/sasl-xoauth2.conf" nouser
oa2_expect 64 "--token-file FILE is required" "$H" import sasl-xoauth2 --user "$carol" x
# sasl-xoauth2's proxy (libcurl's CURLOPT_PROXY there) with a password:
# refused, and the password not repeated.
proxy_pw="proxy-password-$$"
jq --arg p "http://relayuser:$proxy_pw@proxy.example.test:3128" '.proxy = $p' \
    "$IT_DIR/xo/tokens/$carol" >"$IT_DIR/xo/tokens/pxpw"
oa2_expect 78 "account pxpw: sasl-xoauth2's proxy holds a user name or password, which sasl-oauth2 does not send to proxies" \
    "$H" import sasl-xoauth2 --token-file "$IT_DIR/xo/tokens/pxpw" \
    --xoauth2-config "$IT_DIR/xo/sasl-xoauth2.conf" --user "$carol" pxpw
grep -qF -- "$proxy_pw" "$IT_DIR/log/expect.err" &&
    it_fail "the import printed sasl-xoauth2's proxy password"
[ "$(conf_sum)" = "$sum0" ] || it_fail "a refused import changed the configuration"
ls -A "$STORE" "$IT_DIR/etc" | sort >"$IT_DIR/files.after"
cmp -s "$IT_DIR/files.before" "$IT_DIR/files.after" ||
    it_fail "a refused import left files: $(diff "$IT_DIR/files.before" "$IT_DIR/files.after")"
# A place the import cannot write (a directory it cannot create).
oa2_expect 78 "cannot create the directory /proc/nonexistent: No such file or directory; name a writable file with --client-secret-file" \
    "$H" -c /proc/nonexistent/config import sasl-xoauth2 \
    --token-file "$IT_DIR/xo/tokens/$carol" \
    --xoauth2-config "$IT_DIR/xo/sasl-xoauth2.conf" --user "$carol" ro
[ ! -e "$STORE/ro.json" ] || it_fail "a failed import stored its refresh token"
it_log "refusals: existing account, stored token, secret file, bad files; nothing changed"

# sasl-xoauth2's proxy, a bare host:port as libcurl takes it: carried into
# the account's proxy key.
jq '.proxy = "proxy.example.test:3128"' "$IT_DIR/xo/sasl-xoauth2.conf" \
    >"$IT_DIR/xo/proxy.conf"
"$H" import sasl-xoauth2 --token-file "$IT_DIR/xo/tokens/$carol" \
    --xoauth2-config "$IT_DIR/xo/proxy.conf" --user "$carol" viaproxy \
    2>>"$IT_DIR/log/helper.err" ||
    it_fail "import of a sasl-xoauth2 configuration with a proxy failed"
has_line viaproxy "proxy = http://proxy.example.test:3128"
"$H" status >/dev/null 2>"$IT_DIR/log/status.err" ||
    it_fail "the imported proxy key is refused: $(cat "$IT_DIR/log/status.err")"
it_log "sasl-xoauth2's proxy: imported into the proxy key; with a password: refused"

# --- a Postfix relay: the guide's import as user postfix ----------------
# The refresh token must be postfix's, in the XDG_STATE_HOME Postfix's
# import_environment names; postfix cannot write the system configuration,
# so the guide gives it a file of its own.
if id postfix >/dev/null 2>&1; then
	dave="dave.$$@example.test"
	rt_pf=$(seed_rt "$dave")
	pf=$IT_DIR/pf
	mkdir -p "$IT_DIR/pftokens"
	xoauth2_token_file "$IT_DIR/pftokens/$dave" "$rt_pf"
	chown -R postfix: "$IT_DIR/pftokens"
	cmd=$(doc_snippet migrate.md import-postfix \
	    /var/spool/postfix/etc/tokens/relay@contoso.com "$IT_DIR/pftokens/$dave" \
	    /etc/sasl-oauth2/postfix "$pf" \
	    /var/lib/sasl-oauth2/postfix "$pf/state" \
	    /etc/sasl-xoauth2.conf "$IT_DIR/xo/sasl-xoauth2.conf" \
	    relay@contoso.com "$dave")
	bash -c "set -e; $cmd" 2>"$IT_DIR/log/import-postfix.err" ||
	    it_fail "import as postfix failed: $(cat "$IT_DIR/log/import-postfix.err")"
	[ "$(stat -c %U "$pf/sasl-oauth2.conf" "$pf/relay.secret" "$pf/state/sasl-oauth2/relay.json" | sort -u)" = postfix ] ||
	    it_fail "the files of postfix's import do not all belong to postfix"
	r0=$(idp_stats refresh_token)
	runuser -u postfix -- env XDG_STATE_HOME="$pf/state" \
	    SASL_OAUTH2_CONFIG="$pf/sasl-oauth2.conf" "$H" token relay \
	    >/dev/null 2>"$IT_DIR/log/token-postfix.err" ||
	    it_fail "token as postfix failed: $(cat "$IT_DIR/log/token-postfix.err")"
	[ $(($(idp_stats refresh_token) - r0)) = 1 ] || it_fail "postfix import: not one refresh"
	oa2_key_clear postfix "$dave"
	it_log "sasl-xoauth2 for Postfix: imported as user postfix, token refreshed as postfix"
else
	it_log "no user postfix: the Postfix import is not run"
fi

# --- mutt_oauth2.py, run against the IdP --------------------------------
GNUPGHOME=$IT_DIR/gnupg
mkdir -m 700 "$GNUPGHOME"
it_on_cleanup "gpgconf --homedir '$GNUPGHOME' --kill all >/dev/null 2>&1"
gpg --homedir "$GNUPGHOME" --batch --passphrase '' --quick-gen-key \
    "mutt test <mutt-test@example.test>" future-default default never \
    >"$IT_DIR/log/gpg.log" 2>&1 || it_fail "gpg key generation failed"

# mutt_script OUT PORT PIPES: a copy of Debian's script whose microsoft
# registration is the IdP's Microsoft-like client, redirecting to
# http://localhost:PORT (what that client, like Entra, accepts for a
# registered http://localhost), and whose pipes are gpg (the throw-away
# home) or cat.
mutt_script()
{
	python3 - "$MUTT_OAUTH2" "$1" "$2" "$3" "$GNUPGHOME" <<'EOF'
import sys, os
src, out, port, pipes, home = sys.argv[1:6]
text = open(src).read()
issuer = os.environ['IDP_ISSUER']
if pipes == 'gpg':
    enc = ("['gpg', '--homedir', %r, '--batch', '--yes', '--trust-model', "
           "'always', '--encrypt', '--recipient', 'mutt-test@example.test']" % home)
    dec = "['gpg', '--homedir', %r, '--batch', '--quiet', '--decrypt']" % home
else:
    enc = dec = "['cat']"
edits = [
    ("ENCRYPTION_PIPE = ['gpg', '--encrypt', '--recipient', 'YOUR_GPG_IDENTITY']",
     "ENCRYPTION_PIPE = " + enc),
    ("DECRYPTION_PIPE = ['gpg', '--decrypt']", "DECRYPTION_PIPE = " + dec),
    ("'authorize_endpoint': 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',",
     "'authorize_endpoint': '%s/auth'," % issuer),
    ("'devicecode_endpoint': 'https://login.microsoftonline.com/common/oauth2/v2.0/devicecode',",
     "'devicecode_endpoint': '%s/device/auth'," % issuer),
    ("'token_endpoint': 'https://login.microsoftonline.com/common/oauth2/v2.0/token',",
     "'token_endpoint': '%s/token'," % issuer),
    ("'redirect_uri': 'https://login.microsoftonline.com/common/oauth2/nativeclient',",
     "'redirect_uri': 'http://localhost:%s'," % port),
    # the IdP knows no POP scope
    ("'https://outlook.office.com/POP.AccessAsUser.All '", "''"),
]
for old, new in edits:
    if text.count(old) != 1:
        sys.exit('mutt_oauth2.py changed: %r is not there once' % old)
    text = text.replace(old, new)
# client_id of the microsoft entry (the google one stays empty)
ms = text.index("'microsoft': {")
cid = text.index("'client_id': '',", ms)
text = text[:cid] + "'client_id': '%s'," % os.environ['IDP_MUA_MS_ID'] + \
    text[cid + len("'client_id': '',"):]
open(out, 'w').write(text)
EOF
}

# mutt_authorize PIPES TOKENFILE EMAIL: run the patched script's first
# authorization (flow "authcode": it reads the code from stdin, which a
# one-shot listener on its redirect URI hands over).
mutt_authorize()
{
	local pipes=$1 tokfile=$2 email=$3 port code script spid
	port=$(it_free_port)
	code=$IT_DIR/code.$pipes
	script=$IT_DIR/mutt_oauth2.$pipes.py
	mutt_script "$script" "$port" "$pipes" || it_fail "cannot patch $MUTT_OAUTH2"
	python3 - "$port" "$code" <<'EOF' >"$IT_DIR/log/listener.$pipes.log" 2>&1 &
import http.server, os, select, socket, sys, time, urllib.parse
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        if 'code' not in q:
            self.send_response(404)
            self.end_headers()
            return
        fd = os.open(out + '.tmp', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, q.get('code', [''])[0].encode())
        os.close(fd)
        os.rename(out + '.tmp', out)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'done')
    def log_message(self, *a):
        pass
class H6(http.server.HTTPServer):
    address_family = socket.AF_INET6
# localhost may resolve to either loopback address: listen on both
srvs = [http.server.HTTPServer(('127.0.0.1', port), H)]
try:
    srvs.append(H6(('::1', port), H))
except OSError:
    pass
deadline = time.time() + 120
# until the redirect came (a port probe is a request without a code)
while not os.path.exists(out) and time.time() < deadline:
    ready, _, _ = select.select(srvs, [], [], 1)
    for srv in ready:
        srv.handle_request()
EOF
	it_track $!
	it_wait_port "$port"
	{
		printf 'microsoft\nauthcode\n%s\n' "$email"
		for _ in $(seq 1 300); do
			[ -s "$code" ] && break
			sleep 0.1
		done
		cat "$code"
		echo
	} | python3 -u "$script" "$tokfile" --authorize >"$IT_DIR/mutt.$pipes.out" 2>&1 &
	spid=$!
	it_track "$spid"
	for _ in $(seq 1 100); do
		url=$(grep -m1 -o "$IDP_ISSUER/auth?[^ ]*" "$IT_DIR/mutt.$pipes.out") && break
		sleep 0.1
	done
	[ -n "${url:-}" ] || it_fail "mutt_oauth2.py printed no URL: $(cat "$IT_DIR/mutt.$pipes.out")"
	idp_browser "$url" "$email" >"$IT_DIR/log/browser-mutt.$pipes.log" 2>&1 ||
	    it_fail "browser failed (mutt_oauth2.py, $pipes)"
	wait "$spid" ||
	    it_fail "mutt_oauth2.py --authorize failed: $(grep -v '^ey' "$IT_DIR/mutt.$pipes.out")"
	[ "$(stat -c %a "$tokfile")" = 600 ] || it_fail "mutt_oauth2.py's file is not 0600"
}

alice="alice.$$@example.test"
mkdir -p "$IT_DIR/mutt"
mutt_authorize gpg "$IT_DIR/mutt/alice.tokens" "$alice"
[ "$(head -c 1 "$IT_DIR/mutt/alice.tokens")" != "{" ] ||
    it_fail "mutt_oauth2.py's file is not encrypted"
rt_mutt=$(gpg --homedir "$GNUPGHOME" --batch --quiet --decrypt "$IT_DIR/mutt/alice.tokens" |
    jq -r .refresh_token)
[ -n "$rt_mutt" ] && [ "$rt_mutt" != null ] || it_fail "mutt_oauth2.py stored no refresh token"
oa2_key_clear root "$alice"

# The decryption command: gpg, through a spy that records its argv and
# ours (no secret may be there) and its stdin's kind.
cat >"$IT_DIR/bin/decrypt-spy" <<EOF
#!/bin/sh
tr '\0' ' ' </proc/\$PPID/cmdline >"$IT_DIR/argv.parent"
echo "\$0 \$*" >"$IT_DIR/argv.child"
exec "\$@"
EOF
chmod 755 "$IT_DIR/bin/decrypt-spy"
cmd=$(doc_snippet migrate.md import-mutt-oauth2 \
    "~/.mutt/alice.tokens" "$IT_DIR/mutt/alice.tokens" \
    00000000-0000-0000-0000-000000000000 "$IDP_MUA_MS_ID" \
    "gpg --decrypt" "decrypt-spy gpg --homedir $GNUPGHOME --batch --quiet --decrypt")
# The registration names Microsoft; its endpoint is the IdP's here.
bash -c "set -e; ${cmd/ work -- / --token-endpoint $IDP_TOKEN_URL -v work -- }" \
    2>"$IT_DIR/log/import-mutt.err" ||
    it_fail "import mutt_oauth2 failed: $(cat "$IT_DIR/log/import-mutt.err")"
has_line work "user = $alice"
has_line work "provider = microsoft"
has_line work "tenant = common"
has_line work "token_endpoint = $IDP_TOKEN_URL"
has_line work "client_id = $IDP_MUA_MS_ID"
section work | grep -q '^client_secret_file' && it_fail "work: a secret file for a public client"
grep -qF -- "$rt_mutt" "$IT_DIR/argv.parent" "$IT_DIR/argv.child" &&
    it_fail "a refresh token in argv"
grep -q "decrypt-spy gpg --homedir" "$IT_DIR/argv.child" ||
    it_fail "the decryption command did not run as given: $(cat "$IT_DIR/argv.child")"
[ "$(jq -r .refresh_token "$STORE/work.json")" = "$rt_mutt" ] ||
    it_fail "the store does not hold mutt_oauth2.py's refresh token"

r0=$(idp_stats refresh_token)
"$H" token work >/dev/null 2>"$IT_DIR/log/token-mutt.err" ||
    it_fail "token after the mutt_oauth2 import failed: $(cat "$IT_DIR/log/token-mutt.err")"
[ $(($(idp_stats refresh_token) - r0)) = 1 ] || it_fail "mutt_oauth2 import: not one refresh"
oa2_key_clear root "$alice"
it_log "mutt_oauth2.py (gpg): imported (microsoft preset), token refreshed without a login"

# The same script with its pipes set to cat: a plain file, no command.
bob="bob.$$@example.test"
mutt_authorize plain "$IT_DIR/mutt/bob.tokens" "$bob"
jq -e '.registration == "microsoft" and .authflow == "authcode" and
    (.access_token_expiration | length) > 0 and (.refresh_token | length) > 0' \
    "$IT_DIR/mutt/bob.tokens" >/dev/null ||
    it_fail "mutt_oauth2.py's plain file is not as expected"
oa2_expect 78 "give the command that decrypts it after '--'" \
    "$H" import mutt_oauth2 --token-file "$IT_DIR/mutt/alice.tokens" \
    --client-id "$IDP_MUA_MS_ID" encrypted
oa2_expect 78 "the decryption command false failed (exit 1)" \
    "$H" import mutt_oauth2 --token-file "$IT_DIR/mutt/alice.tokens" \
    --client-id "$IDP_MUA_MS_ID" encrypted -- false
jq '.refresh_token = ""' "$IT_DIR/mutt/bob.tokens" >"$IT_DIR/mutt/empty.tokens"
oa2_expect 78 "has no refresh token (the script writes one at its first authorization)" \
    "$H" import mutt_oauth2 --token-file "$IT_DIR/mutt/empty.tokens" \
    --client-id "$IDP_MUA_MS_ID" empty
oa2_expect 78 "names no client id; give the application's with --client-id ID" \
    "$H" import mutt_oauth2 --token-file "$IT_DIR/mutt/bob.tokens" noid
# A configuration it cannot write: the refresh token it stored first is
# taken back.
oa2_expect 78 "account ro: cannot create /proc/nonexistent: No such file or directory" \
    "$H" -c /proc/nonexistent/config import mutt_oauth2 \
    --token-file "$IT_DIR/mutt/bob.tokens" --client-id "$IDP_MUA_MS_ID" ro
[ ! -e "$STORE/ro.json" ] || it_fail "a failed import kept its refresh token"
chmod 644 "$IT_DIR/mutt/bob.tokens"
"$H" import mutt_oauth2 --token-file "$IT_DIR/mutt/bob.tokens" \
    --client-id "$IDP_MUA_MS_ID" --token-endpoint "$IDP_TOKEN_URL" bob \
    2>"$IT_DIR/log/import-plain.err" ||
    it_fail "import of a plain mutt_oauth2.py file failed: $(cat "$IT_DIR/log/import-plain.err")"
grep -q "bob.tokens can be read by others (mode 0644) and holds a refresh token" \
    "$IT_DIR/log/import-plain.err" || it_fail "no warning about a loose token file"
r0=$(idp_stats refresh_token)
"$H" token bob >/dev/null 2>"$IT_DIR/log/token-plain.err" ||
    it_fail "token after the plain mutt_oauth2 import failed: $(cat "$IT_DIR/log/token-plain.err")"
[ $(($(idp_stats refresh_token) - r0)) = 1 ] || it_fail "plain mutt_oauth2 import: not one refresh"
oa2_key_clear root "$bob"
it_log "mutt_oauth2.py (cat): imported, token refreshed; refusals said"

# NeoMutt's copy keeps client_id and client_secret in the file.
jq --arg id "$IDP_MUA_POST_ID" --arg s "$IDP_MUA_POST_SECRET" \
    '.client_id = $id | .client_secret = $s | .email = "neo@example.test"' \
    "$IT_DIR/mutt/empty.tokens" | jq '.refresh_token = "unused-token"' \
    >"$IT_DIR/mutt/neo.tokens"
chmod 600 "$IT_DIR/mutt/neo.tokens"
"$H" import mutt_oauth2 --token-file "$IT_DIR/mutt/neo.tokens" \
    --token-endpoint "$IDP_TOKEN_URL" --tenant contoso.onmicrosoft.com neo \
    2>"$IT_DIR/log/import-neo.err" ||
    it_fail "import of NeoMutt's file failed: $(cat "$IT_DIR/log/import-neo.err")"
has_line neo "client_id = $IDP_MUA_POST_ID"
has_line neo "client_secret_file = $IT_DIR/etc/neo.secret"
has_line neo "tenant = contoso.onmicrosoft.com"
[ "$(cat "$IT_DIR/etc/neo.secret")" = "$IDP_MUA_POST_SECRET" ] ||
    it_fail "NeoMutt's client secret was not written"
it_log "NeoMutt's mutt_oauth2.py file: client id and secret taken from it"

# --- no secret in our messages or the configuration ---------------------
for s in "$rt_xo" "$rt_mutt" "$IDP_MUA_POST_SECRET" ${rt_pf:+"$rt_pf"} \
    "$(jq -r .refresh_token "$IT_DIR/mutt/bob.tokens")"; do
	[ ${#s} -ge 16 ] || it_fail "a secret to look for is too short: ${#s} bytes"
	grep -rlF -- "$s" "$IT_DIR"/log/*.err "$OA2_CONFIG" &&
	    it_fail "a secret in the files listed above"
done
it_log "no secret in argv, stderr (also with -v) or the configuration"
it_pass
