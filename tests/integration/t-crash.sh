#!/bin/bash
# t-crash.sh: crash safety of the refresh-token store.
#
# 1. kill -9 at random points of a refresh, 100 times (CRASH_ROUNDS), for
#    a refresh-token account of the real IdP, which rotates refresh tokens
#    and revokes the whole grant when a consumed one is used again.  After
#    each kill the store file must parse and hold either the old refresh
#    token or the new one; a token cached in the keyring implies the new one
#    was saved first; leftover temp files are 0600.  Then a forced refresh
#    must work, except in the one window where no program can help it: the
#    IdP has rotated (consumed the old token) and the process died before
#    the new one reached the disk.  The test recognises that window by the
#    IdP's own counter of refresh requests, checks that the loss is then
#    reported as "log in again" (exit 77), logs in again and goes on; the
#    IdP's count of revoked grants must equal the losses so explained.
# 2. ENOSPC: the state directory on a full 64 KiB tmpfs.  A refresh must
#    fail with one clear sentence and exit 75, leave the store file
#    byte-identical, leave no temp file, print no token -- and must not have
#    spent the refresh token at the IdP: after space is freed, the stored
#    token still works and no grant was revoked.
. "$(dirname "$0")/lib.sh"

it_require_root
it_require node keyctl mount umount
it_setup
idp_start IDP_AT_TTL=3600
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER
ROUNDS=${CRASH_ROUNDS:-100}

user="crash.$$@example.test"
user2="nospc.$$@example.test"
oa2_config_init root
for a in crash nospc; do
	u=$user
	[ $a = nospc ] && u=$user2
	oa2_account $a root "user=$u" "provider=generic" \
	    "issuer=$IDP_ISSUER" "client_id=$IDP_MUA_ID" \
	    "scope=openid offline_access"
done
oa2_env
it_on_cleanup "oa2_key_clear root '$user'; oa2_key_clear root '$user2'"

# login ACCOUNT MAILBOX: authorization code + PKCE through the loopback
# listener, the browser played by browser.mjs.
login()
{
	local a=$1 u=$2 url lpid err=$IT_DIR/log/login-$1.err
	: >"$err" # not the last call's URL (a race)
	"$H" login --no-browser --timeout 60 "$a" 2>"$err" &
	lpid=$!
	url=""
	for _ in $(seq 1 100); do
		url=$(grep -m1 -o "$IDP_ISSUER/auth?[^ ]*" "$err") && break
		sleep 0.1
	done
	[ -n "$url" ] || it_fail "login $a printed no URL: $(cat "$err")"
	idp_browser "$url" "$u" >>"$IT_DIR/log/browser.log" 2>&1 ||
	    it_fail "the scripted browser failed for $a"
	wait $lpid || it_fail "login $a exited $?: $(cat "$err")"
}

# store_rt FILE ACCOUNT: the refresh token of a store file, or "" (and
# status 1) unless the file is one complete JSON object on one line with
# "version":1 and the account's name.  (Checked in bash: a node or jq per
# round would cost more than the round.  The product's own parser reads the
# file in every round's verification run, and node checks the last one.)
store_rt()
{
	local text
	text=$(cat "$1" 2>/dev/null) || return 1
	[ "$(wc -l <"$1")" = 1 ] || return 1
	[[ $text == '{'*'}' ]] || return 1
	[[ $text == *'"version":1,'* ]] || return 1
	[[ $text == *"\"account\":\"$2\""* ]] || return 1
	[[ $text =~ \"refresh_token\":\"([A-Za-z0-9._~+/=-]+)\" ]] || return 1
	printf '%s' "${BASH_REMATCH[1]}"
}

now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

# --- 1. kill -9 during refreshes -------------------------------------------
store=$XDG_STATE_HOME/sasl-oauth2
login crash "$user"
[ "$(stat -c %a "$store")" = 700 ] || it_fail "state dir not 0700"

# How long a forced refresh takes here: the kills are spread over that.
# (--min-ttl 86400, the most it takes, exceeds the 3600 s lifetime of the
# IdP's tokens, so every run refreshes.)
# The kills are spread over 0..span ms; span starts at 1.2 times the
# quickest of a few runs (a kill much later finds the run over and teaches
# nothing) and then follows the machine's load (below).
span=999999
for _ in 1 2 3 4 5 6; do
	t0=$(now_ms)
	"$H" token --min-ttl 86400 crash >/dev/null 2>>"$IT_DIR/log/warmup.err" ||
	    it_fail "a forced refresh failed: $(cat "$IT_DIR/log/warmup.err")"
	t=$(($(now_ms) - t0))
	[ $t -ge $span ] || span=$t
done
span=$((span * 6 / 5))
[ $span -ge 20 ] || span=20
[ $span -le 999 ] || span=999
it_log "a forced refresh takes at least $((span * 5 / 6)) ms; killing at 0..$span ms (adapting), $ROUNDS times"

before_req=0 window=0 lost=0 saved=0 finished=0 temps=0 killed=0 i=0
revoked0=$(idp_stats grants_revoked)
# ROUNDS kills that found the helper running (a kill that comes after the
# run ended is checked all the same, but not counted); at most 4 x ROUNDS.
while [ $killed -lt "$ROUNDS" ] && [ $i -lt $((ROUNDS * 4)) ]; do
	i=$((i + 1))
	old=$(store_rt "$store/crash.json" crash) ||
	    it_fail "round $i: the store does not parse before the kill"
	oa2_key_clear root "$user"
	n0=$(idp_stats refresh_token)
	delay=$((RANDOM % span))
	"$H" token --min-ttl 86400 crash >"$IT_DIR/crash.out" 2>"$IT_DIR/crash.err" &
	pid=$!
	sleep "$(printf '0.%03d' "$delay")"
	kill -KILL "$pid" 2>/dev/null || true
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	# let the IdP finish a request the dead client left behind
	sleep 0.2
	n1=$(idp_stats refresh_token)
	new=$(store_rt "$store/crash.json" crash) ||
	    it_fail "round $i (kill at $delay ms): the store file does not parse"
	for f in "$store"/.crash.json.*; do
		[ -e "$f" ] || continue
		[ "$(stat -c %a "$f")" = 600 ] || it_fail "round $i: temp file $f is not 0600"
		temps=$((temps + 1))
		rm -f "$f" # keep the count per round honest
	done
	for f in "$store"/*; do
		case ${f##*/} in
		crash.json | crash.lock | nospc.json | nospc.lock) ;;
		*) it_fail "round $i: unexpected file in the store: $f" ;;
		esac
	done
	if oa2_key_present root "$user" && [ "$new" = "$old" ]; then
		it_fail "round $i: a new access token was cached but its refresh token not saved"
	fi
	# Keep the kills inside the run as the machine's load changes: a run
	# that ended before its kill shrinks the span, a kill grows it.
	if [ "$rc" = 0 ]; then
		finished=$((finished + 1))
		span=$((span * 3 / 4))
		[ $span -ge 5 ] || span=5
	else
		killed=$((killed + 1))
		span=$((span * 21 / 20 + 1))
		[ $span -le 2000 ] || span=2000
	fi
	if [ "$new" != "$old" ]; then
		[ $((n1 - n0)) = 1 ] || it_fail "round $i: the store changed after $((n1 - n0)) refreshes"
		saved=$((saved + 1))
		expect=ok
	elif [ $((n1 - n0)) = 0 ]; then
		# A run that ended by itself printed a token it cannot have
		# had: the cache was cleared and the token must live a day.
		[ "$rc" != 0 ] ||
		    it_fail "round $i: exit 0 without a refresh request"
		before_req=$((before_req + 1))
		expect=ok
	elif [ $((n1 - n0)) = 1 ]; then
		# rotated at the IdP, not saved here: the inherent window, but
		# only for a run the kill cut short
		[ "$rc" != 0 ] ||
		    it_fail "round $i: the run ended well (exit 0) after a refresh, yet the store still holds the old refresh token"
		window=$((window + 1))
		expect=maybe
	else
		it_fail "round $i: $((n1 - n0)) refresh requests from one run"
	fi
	# The stored refresh token must still be accepted (forced refresh).
	vrc=0
	"$H" token --min-ttl 86400 crash >"$IT_DIR/verify.out" 2>"$IT_DIR/verify.err" ||
	    vrc=$?
	if [ "$vrc" != 0 ]; then
		[ "$expect" = maybe ] ||
		    it_fail "round $i (kill at $delay ms, exit $rc): the stored refresh token was refused (exit $vrc: $(cat "$IT_DIR/verify.err"))"
		[ "$vrc" = 77 ] && grep -q "log in again" "$IT_DIR/verify.err" ||
		    it_fail "round $i: a lost grant gave exit $vrc: $(cat "$IT_DIR/verify.err")"
		lost=$((lost + 1))
		login crash "$user"
	fi
done
revoked=$(($(idp_stats grants_revoked) - revoked0))
[ $killed -ge "$ROUNDS" ] || it_fail "only $killed of $i kills found the helper running"
it_log "$i rounds, $killed killed mid-run: $before_req before the request reached the IdP," \
    "$window after the IdP rotated but before the save ($lost grants lost)," \
    "$((saved - finished)) after the save, $finished ran to the end (span now $span ms);" \
    "$temps temp files left behind (0600)"
[ "$revoked" = "$lost" ] ||
    it_fail "the IdP revoked $revoked grants, but only $lost losses are explained by the kill window"
"$H" token --min-ttl 86400 crash >/dev/null 2>"$IT_DIR/verify.err" ||
    it_fail "the final refresh failed: $(cat "$IT_DIR/verify.err")"
node -e '
	const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	if (o.version !== 1 || o.account !== "crash" || !o.refresh_token)
		process.exit(1);
' "$store/crash.json" || it_fail "the final store file is not valid JSON of version 1"
# A crashed save's temp file goes at the next save once 10 minutes old:
# age one and see it removed.
(umask 077 && echo '{"stale":1}' >"$store/.crash.json.Zz9Yx8")
touch -d '-11 minutes' "$store/.crash.json.Zz9Yx8"
"$H" token --min-ttl 86400 crash >/dev/null 2>"$IT_DIR/verify.err" ||
    it_fail "a refresh failed: $(cat "$IT_DIR/verify.err")"
[ ! -e "$store/.crash.json.Zz9Yx8" ] || it_fail "a stale temp file was not removed"

# --- 2. ENOSPC on the state directory ----------------------------------------
full=$IT_DIR/full
mkdir -p "$full"
mount -t tmpfs -o size=64k,mode=0700 sasl-oauth2-test "$full" ||
    it_skip "cannot mount a tmpfs here"
it_on_cleanup "umount '$full' 2>/dev/null || umount -l '$full' 2>/dev/null"
export XDG_STATE_HOME=$full
login nospc "$user2"
nstore=$full/sasl-oauth2
cp -p "$nstore/nospc.json" "$IT_DIR/nospc.before"
oa2_key_clear root "$user2"
dd if=/dev/zero of="$full/filler" bs=4096 >/dev/null 2>&1 || true
[ "$(df --output=avail -k "$full" | tail -n 1 | tr -d ' ')" = 0 ] ||
    it_fail "could not fill the tmpfs"
n0=$(idp_stats refresh_token)
r0=$(idp_stats grants_revoked)
rc=0
t0=$(now_ms)
"$H" token --min-ttl 86400 nospc >"$IT_DIR/nospc.out" 2>"$IT_DIR/nospc.err" || rc=$?
ms=$(($(now_ms) - t0))
err=$(cat "$IT_DIR/nospc.err")
it_log "full disk: exit $rc in $ms ms: $err"
fails=""
[ "$rc" = 75 ] || fails="$fails; exit $rc, want 75 (try later)"
[ "$(grep -c '' "$IT_DIR/nospc.err")" = 1 ] || fails="$fails; not one line on stderr"
grep -qi "no space left" "$IT_DIR/nospc.err" || fails="$fails; does not say 'no space left'"
[ ! -s "$IT_DIR/nospc.out" ] || fails="$fails; printed a token although nothing was saved"
cmp -s "$IT_DIR/nospc.before" "$nstore/nospc.json" || fails="$fails; the store file changed"
compgen -G "$nstore/.nospc.json.*" >/dev/null && fails="$fails; a temp file was left"
! oa2_key_present root "$user2" || fails="$fails; a token was cached although not saved"
# Free the space: the stored refresh token must still be good.
rm -f "$full/filler"
if [ "$(idp_stats refresh_token)" != "$n0" ]; then
	fails="$fails; the refresh token was spent at the IdP before the disk was known to be full"
fi
vrc=0
"$H" token --min-ttl 86400 nospc >/dev/null 2>"$IT_DIR/nospc2.err" || vrc=$?
[ "$vrc" = 0 ] || fails="$fails; after freeing space the stored token failed (exit $vrc: $(cat "$IT_DIR/nospc2.err"))"
[ "$(idp_stats grants_revoked)" = "$r0" ] || fails="$fails; the IdP revoked the grant"
[ -z "$fails" ] || it_fail "ENOSPC${fails}"
it_log "ENOSPC: clear sentence, exit 75, store intact, refresh token not spent"
export XDG_STATE_HOME=$IT_DIR/state
it_pass
