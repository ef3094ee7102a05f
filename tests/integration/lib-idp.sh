# lib-idp.sh: start and drive the local OAuth2/OIDC identity provider
# (tests/integration/idp/server.mjs, npm oidc-provider) for the integration
# tests.  Sourced by lib.sh.
#
#   idp_start [ENV=VALUE...]   start it (e.g. IDP_AT_TTL=5 IDP_RT_TTL=60)
#   idp_cc_token ID SECRET [basic|post] [SCOPE]   print a client-credentials token
#   idp_revoke TOKEN           revoke at /token/revocation (as its own client)
#   idp_introspect TOKEN       print the introspection JSON (as the dovecot client)
#   idp_stats [FIELD]          print /_test/stats, or one counter:
#                              token_requests, grants_revoked,
#                              device_authorizations, or a grant type
#                              of by_grant (client_credentials, refresh_token, ...)
#   idp_reset                  zero the counters
#   idp_browser ARGS...        run idp/browser.mjs (see there)
#   idp_auth_url FILE          the authorization URL a login printed to FILE
#   idp_json_field JSON NAME   a top-level string/number field of a JSON reply
#
# SECRETS: only the throw-away client secrets of idp/clients.env (exported as
# IDP_*_SECRET) and tokens of the local IdP.  Tokens are never logged.

IDP_SRCDIR="$IT_LIBDIR/idp"
IDP_BROWSER="$IDP_SRCDIR/browser.mjs"
export IDP_BROWSER

# The client constants: one place, shared with server.mjs.
set -a
. "$IDP_SRCDIR/clients.env"
set +a

# _idp_pinned_version: the oidc-provider version package.json pins.
_idp_pinned_version()
{
	sed -n 's/^[[:space:]]*"oidc-provider":[[:space:]]*"\([^"]*\)".*/\1/p' \
	    "$IDP_SRCDIR/package.json"
}

# _idp_installed DIR: is the pinned oidc-provider in DIR/node_modules?
_idp_installed()
{
	local pj="$1/node_modules/oidc-provider/package.json"
	[ -f "$pj" ] && grep -q "\"version\": *\"$(_idp_pinned_version)\"" "$pj"
}

IDP_CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/sasl-oauth2-idp"

# _idp_npm_ci DIR: npm ci in DIR, serialised between parallel tests (the
# lock file lives in the cache root, never in the source tree).
_idp_npm_ci()
{
	local dir=$1
	mkdir -p "$IDP_CACHE_ROOT" || return 1
	(
		flock -w 300 9 || exit 1
		_idp_installed "$dir" && exit 0
		if [ "$dir" != "$IDP_SRCDIR" ]; then
			cp -f "$IDP_SRCDIR/package.json" \
			    "$IDP_SRCDIR/package-lock.json" "$dir/" || exit 1
		fi
		cd "$dir" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error \
		    >>"$IT_DIR/log/idp-npm.log" 2>&1
	) 9>>"$IDP_CACHE_ROOT/install.lock"
}

# _idp_prepare: print the directory to run server.mjs from (it has the
# pinned node_modules): the source dir when it has them or can get them,
# else a cache dir keyed on the lock file (read-only source, make distcheck).
_idp_prepare()
{
	local hash cache tmp f
	if _idp_installed "$IDP_SRCDIR"; then
		echo "$IDP_SRCDIR"
		return 0
	fi
	if [ -w "$IDP_SRCDIR" ] && [ ! -e "$IDP_SRCDIR/node_modules" ] ||
	   [ -w "$IDP_SRCDIR/node_modules" ]; then
		if _idp_npm_ci "$IDP_SRCDIR" && _idp_installed "$IDP_SRCDIR"; then
			echo "$IDP_SRCDIR"
			return 0
		fi
	fi
	hash=$(sha256sum "$IDP_SRCDIR/package-lock.json" | cut -c1-16)
	cache="$IDP_CACHE_ROOT/$hash"
	mkdir -p "$cache" || return 1
	_idp_npm_ci "$cache" && _idp_installed "$cache" || return 1
	# fresh copies of our own files, each replaced atomically
	for f in server.mjs clients.env; do
		tmp=$(mktemp "$cache/.$f.XXXXXX") || return 1
		cat "$IDP_SRCDIR/$f" >"$tmp" && chmod 0644 "$tmp" &&
		    mv -f "$tmp" "$cache/$f" || return 1
	done
	echo "$cache"
}

# idp_json_field JSON NAME: the value of a top-level string or number field
# (flat JSON such as token responses; good enough for the tests).
idp_json_field()
{
	printf '%s' "$1" | tr -d '\n' |
	    sed -n 's/.*"'"$2"'":[[:space:]]*"\{0,1\}\([^",}]*\)"\{0,1\}.*/\1/p'
}

# idp_start [ENV=VALUE...]: start the IdP on a free port, wait until ready.
idp_start()
{
	local dir pid log="$IT_DIR/log/idp.log"
	it_require node npm curl flock sha256sum
	node -e 'process.exit(Number(process.versions.node.split(".")[0])>=18?0:1)' ||
	    it_skip "oidc-provider 8 needs Node >= 18 (have $(node --version))"
	dir=$(_idp_prepare) ||
	    it_skip "cannot install npm oidc-provider (see $IT_DIR/log/idp-npm.log)"
	# One app-only mailbox per test: parallel tests share the keyrings
	# of root and postfix, where tokens are cached by mailbox.
	IDP_RELAY_MAILBOX="relay.$IT_NAME.$$@example.test"
	export IDP_RELAY_MAILBOX
	# A free port can be taken by a parallel test before node binds it:
	# on EADDRINUSE, try another one.
	for attempt in 1 2 3 4 5; do
		IDP_PORT=$(it_free_port)
		(cd "$dir" && exec env IDP_PORT="$IDP_PORT" \
		    IDP_RELAY_MAILBOX="$IDP_RELAY_MAILBOX" "$@" node server.mjs) \
		    >"$log" 2>&1 </dev/null &
		pid=$!
		it_track "$pid"
		IDP_PID=$pid
		for _ in $(seq 1 300); do
			grep -q '^ready ' "$log" 2>/dev/null && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		grep -q '^ready ' "$log" && break
		if ! kill -0 "$pid" 2>/dev/null && grep -q EADDRINUSE "$log" &&
		    [ "$attempt" -lt 5 ]; then
			it_log "port $IDP_PORT was taken meanwhile; trying another"
			continue
		fi
		kill -0 "$pid" 2>/dev/null ||
		    it_fail "the IdP exited at start (see $log)"
		break
	done
	grep -q '^ready ' "$log" || it_fail "the IdP did not become ready in 30 s"
	IDP_ISSUER=$(sed -n 's/^ready //p' "$log" | head -n 1)
	IDP_DISCOVERY_URL="$IDP_ISSUER/.well-known/openid-configuration"
	IDP_TOKEN_URL="$IDP_ISSUER/token"
	IDP_INTROSPECT_URL="$IDP_ISSUER/token/introspection"
	IDP_REVOKE_URL="$IDP_ISSUER/token/revocation"
	IDP_DEVICE_URL="$IDP_ISSUER/device/auth"
	IDP_AUTH_URL="$IDP_ISSUER/auth"
	export IDP_PID IDP_PORT IDP_ISSUER IDP_DISCOVERY_URL IDP_TOKEN_URL \
	    IDP_INTROSPECT_URL IDP_REVOKE_URL IDP_DEVICE_URL IDP_AUTH_URL
	it_log "IdP ready at $IDP_ISSUER (pid $pid)"
}

# idp_cc_token CLIENT_ID SECRET [basic|post] [SCOPE]: print an access token.
idp_cc_token()
{
	local id=$1 secret=$2 how=${3:-basic} scope=${4:-$IDP_CC_SCOPE} out tok
	local -a auth
	case $how in
	basic) auth=(-u "$id:$secret") ;;
	post) auth=(--data-urlencode "client_id=$id" --data-urlencode "client_secret=$secret") ;;
	*) it_fail "idp_cc_token: basic or post, not $how" ;;
	esac
	out=$(curl -sS --max-time 10 "${auth[@]}" -d grant_type=client_credentials \
	    --data-urlencode "scope=$scope" "$IDP_TOKEN_URL") ||
	    { it_log "idp_cc_token: token request failed"; return 1; }
	tok=$(idp_json_field "$out" access_token)
	if [ -z "$tok" ]; then
		it_log "idp_cc_token: no token: $(idp_json_field "$out" error)" \
		    "$(idp_json_field "$out" error_description)"
		return 1
	fi
	printf '%s\n' "$tok"
}

# idp_revoke TOKEN: revoke it at /token/revocation as the client it was
# issued to (upstream's rule: a client revokes its own tokens; the dovecot
# client's introspection tells which).  An access token dies alone; a
# refresh token takes its grant with it.
idp_revoke()
{
	local cid code
	local -a auth
	cid=$(idp_json_field "$(idp_introspect "$1")" client_id)
	case $cid in
	"") it_log "idp_revoke: the token is not active"; return 0 ;;
	"$IDP_RELAY_BASIC_ID") auth=(-u "$cid:$IDP_RELAY_BASIC_SECRET") ;;
	"$IDP_MUA_SECRET_ID") auth=(-u "$cid:$IDP_MUA_SECRET_SECRET") ;;
	"$IDP_RELAY_POST_ID") auth=(--data-urlencode "client_id=$cid"
	    --data-urlencode "client_secret=$IDP_RELAY_POST_SECRET") ;;
	"$IDP_MUA_POST_ID") auth=(--data-urlencode "client_id=$cid"
	    --data-urlencode "client_secret=$IDP_MUA_POST_SECRET") ;;
	*) auth=(--data-urlencode "client_id=$cid") ;; # public clients
	esac
	code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
	    "${auth[@]}" --data-urlencode "token=$1" "$IDP_REVOKE_URL") ||
	    return 1
	[ "$code" = 200 ] || { it_log "idp_revoke: HTTP $code"; return 1; }
}

# idp_introspect TOKEN: print the introspection response (JSON).
idp_introspect()
{
	curl -sS --max-time 10 -u "$IDP_DOVECOT_ID:$IDP_DOVECOT_SECRET" \
	    --data-urlencode "token=$1" "$IDP_INTROSPECT_URL"
}

# idp_stats [FIELD]: the whole stats JSON, or one counter (0 if absent).
idp_stats()
{
	local out v
	out=$(curl -sS --max-time 10 "$IDP_ISSUER/_test/stats") || return 1
	if [ $# -eq 0 ]; then
		printf '%s\n' "$out"
		return 0
	fi
	v=$(printf '%s' "$out" | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2)
	printf '%s\n' "${v:-0}"
}

# idp_reset: zero the counters.
idp_reset()
{
	curl -sS --max-time 10 -o /dev/null -X POST "$IDP_ISSUER/_test/reset"
}

# idp_auth_url FILE: the authorization URL a "login" prints to FILE (its
# stderr), once it is there (30 s at most: a sanitizer build on a loaded
# machine); fails the test without one.
idp_auth_url()
{
	local u
	for _ in $(seq 1 300); do
		u=$(grep -m1 -o "$IDP_ISSUER/auth?[^ ]*" "$1" 2>/dev/null) &&
		    { printf '%s\n' "$u"; return 0; }
		sleep 0.1
	done
	it_fail "login printed no authorization URL: $(cat "$1" 2>/dev/null)"
}

# idp_browser ARGS...: node browser.mjs with IDP_ISSUER set (see browser.mjs).
idp_browser()
{
	IDP_ISSUER="$IDP_ISSUER" node "$IDP_BROWSER" "$@"
}
