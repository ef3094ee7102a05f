#!/bin/bash
# t-secret-command.sh: client_secret_command against the real identity
# provider.  A client-credentials account whose secret a command prints
# (argv, no shell) gets a token, and the secret appears in no output or
# log; the command runs again for each token request, so a rotated secret
# is picked up; doctor names the command and not the secret; the
# guide's systemd-creds account works (with a stand-in for systemd-creds).  A command
# that fails, hangs (its process group killed at 30 s, or before the
# caller's deadline), prints nothing, prints too much, is missing, is not
# executable, is writable by others or belongs to another user, and
# client_secret_file with client_secret_command: each a sentence naming
# argv[0] and exit 78, or 75 for the timeouts.
. "$(dirname "$0")/lib.sh"

it_require node keyctl
it_setup
idp_start
it_install_products
export XDG_STATE_HOME=$IT_DIR/state
H=$IT_HELPER
S=$IT_DIR/cmd
mkdir -p "$S"
chmod 755 "$S"
# alive PIDFILE: the process is there and no zombie (nobody may reap it
# here, its parent killed with it)
alive()
{
	local st
	for _ in $(seq 1 20); do
		st=$(sed 's/.*) //' "/proc/$(cat "$1")/stat" 2>/dev/null | cut -c1)
		case $st in "" | Z | X) return 1 ;; esac
		sleep 0.1
	done
	return 0
}
monotonic_ms() { node -e 'console.log(String(process.hrtime.bigint() / 1000000n))'; }

# The command: counts its runs, says something on stderr (passed
# through), prints the secret held in a file (what the test rotates).
(umask 077 && printf '%s\n' "$IDP_RELAY_BASIC_SECRET" >"$S/current")
cat >"$S/secret.sh" <<SH
#!/bin/sh
echo run >>"$S/runs"
echo "secret.sh: handing over the secret" >&2
[ "\$1" = relay ] || exit 3
exec cat "$S/current"
SH
printf '#!/bin/sh\necho "vault: access denied" >&2\nexit 5\n' >"$S/fail.sh"
# The hang leaves a child of its own behind: the whole group must go.
cat >"$S/hang.sh" <<SH
#!/bin/sh
sleep 120 &
echo \$! >"\$1"
wait
SH
printf '#!/bin/sh\nexit 0\n' >"$S/empty.sh"
cat >"$S/big.sh" <<'SH'
#!/bin/sh
head -c 10000 /dev/zero | tr '\0' x
SH
cat >"$S/twolines.sh" <<'SH'
#!/bin/sh
printf 'one\ntwo\n'
SH
cp "$S/empty.sh" "$S/loose.sh"
cp "$S/empty.sh" "$S/theirs.sh"
cp "$S/empty.sh" "$S/noexec.sh"
chmod 755 "$S"/*.sh
chmod 775 "$S/loose.sh"
chmod 644 "$S/noexec.sh"
chown nobody "$S/theirs.sh"
(umask 077 && printf '%s\n' "$IDP_RELAY_BASIC_SECRET" >"$IT_DIR/file.secret")

oa2_config_init root
account() # NAME COMMAND [EXTRA LINE]
{
	cat >>"$OA2_CONFIG" <<CONF

[account $1]
user = $1.$$@example.test
provider = generic
token_endpoint = $IDP_TOKEN_URL
client_id = $IDP_RELAY_BASIC_ID
client_secret_command = $2
scope = $IDP_CC_SCOPE
flow = client_credentials
${3:-}
CONF
}
account relay "$S/secret.sh   relay"
account fail "$S/fail.sh"
account hang "$S/hang.sh $IT_DIR/hang.pid"
account hang2 "$S/hang.sh $IT_DIR/hang2.pid"
account empty "$S/empty.sh"
account big "$S/big.sh"
account twolines "$S/twolines.sh"
account missing "$S/missing.sh"
account noexec "$S/noexec.sh"
account loose "$S/loose.sh"
account theirs "$S/theirs.sh"
account relative "secret.sh relay"
account both "$S/secret.sh relay" "client_secret_file = $IT_DIR/file.secret"
# The guide's account (docs/microsoft365.md), its systemd-creds played by
# a stand-in (the test machine has no credential key): it takes the same
# arguments, checks the name the guide relies on, and prints the file.
cat >"$S/systemd-creds" <<'SH'
#!/bin/sh
[ "$1" = decrypt ] && [ "$3" = - ] && [ $# = 3 ] || { echo "usage" >&2; exit 1; }
[ "${2##*/}" = relay.cred ] || { echo "credential name mismatch" >&2; exit 1; }
exec cat "$2"
SH
chmod 755 "$S/systemd-creds"
(umask 077 && printf '%s' "$IDP_RELAY_BASIC_SECRET" >"$S/relay.cred")
doc_snippet microsoft365.md ms-secret-command \
    "[account relay]" "[account docs]" \
    relay@contoso.com "docs.$$@example.test" \
    11111111-2222-3333-4444-555555555555 "$IDP_RELAY_BASIC_ID" \
    /usr/bin/systemd-creds "$S/systemd-creds" \
    /etc/sasl-oauth2/relay.cred "$S/relay.cred" \
    "flow = client_credentials" "flow = client_credentials
token_endpoint = $IDP_TOKEN_URL" >>"$OA2_CONFIG"
export SASL_OAUTH2_CONFIG=$OA2_CONFIG

# --- the 30 s bound, in the background while the rest runs ---------------
t0=$(monotonic_ms)
(
	rc=0
	"$H" token hang >"$IT_DIR/log/hang.out" 2>"$IT_DIR/log/hang.err" || rc=$?
	echo "$rc $(($(monotonic_ms) - t0))" >"$IT_DIR/hang.done"
) &
hang_job=$!
it_track "$hang_job"

# --- a token; the secret nowhere but where it belongs ---------------------
tok=$("$H" -v token relay 2>"$IT_DIR/log/relay.err") ||
    it_fail "token with client_secret_command failed: $(cat "$IT_DIR/log/relay.err")"
printf '%s\n' "$tok" >"$IT_DIR/log/relay.out"
case $(idp_introspect "$tok") in
*'"active":true'*) ;;
*) it_fail "the IdP does not know the token got with client_secret_command" ;;
esac
grep -q "secret.sh: handing over the secret" "$IT_DIR/log/relay.err" ||
    it_fail "the command's stderr was not passed through: $(cat "$IT_DIR/log/relay.err")"
grep -q "client secret from client_secret_command $S/secret.sh (${#IDP_RELAY_BASIC_SECRET} bytes)" \
    "$IT_DIR/log/relay.err" || it_fail "-v does not tell the secret's length"
[ "$(wc -l <"$S/runs")" = 1 ] || it_fail "the command ran $(wc -l <"$S/runs") times, want 1"
it_log "client_secret_command: a token; stderr passed through; -v tells the length only"

tok=$("$H" token docs 2>"$IT_DIR/log/docs.err") ||
    it_fail "the guide's client_secret_command account failed: $(cat "$IT_DIR/log/docs.err")"
case $(idp_introspect "$tok") in
*'"active":true'*) ;;
*) it_fail "the IdP does not know the token of the guide's account" ;;
esac
it_log "the guide's systemd-creds account (with a stand-in) gets a token"

# A cached token needs no secret: the command does not run.
"$H" token relay >/dev/null 2>>"$IT_DIR/log/relay.err" || it_fail "cached token failed"
[ "$(wc -l <"$S/runs")" = 1 ] || it_fail "a cache hit ran the command"

# --- rotation: the command runs for each token request --------------------
old="rotated-away-$$-$RANDOM$RANDOM"
printf '%s\n' "$old" >"$S/current"
oa2_expect 78 "did not accept the app" "$H" token --min-ttl 86400 relay
[ "$(wc -l <"$S/runs")" = 2 ] || it_fail "a new token request did not run the command again"
printf '%s\n' "$IDP_RELAY_BASIC_SECRET" >"$S/current"
tok2=$("$H" token --min-ttl 86400 relay 2>>"$IT_DIR/log/relay.err") ||
    it_fail "the secret put back was not picked up"
[ "$tok2" != "$tok" ] || it_fail "no new token after the secret changed"
[ "$(wc -l <"$S/runs")" = 3 ] || it_fail "the command ran $(wc -l <"$S/runs") times, want 3"
it_log "each token request runs the command: a changed secret is picked up at once"

# --- doctor names the command, not the secret -----------------------------
"$H" doctor relay >"$IT_DIR/log/doctor.out" 2>&1 ||
    it_fail "doctor relay failed: $(cat "$IT_DIR/log/doctor.out")"
grep -q "^ok   secret: client_secret_command $S/secret.sh (mode 0755; it printed ${#IDP_RELAY_BASIC_SECRET} bytes)\$" \
    "$IT_DIR/log/doctor.out" || it_fail "doctor: no secret step: $(cat "$IT_DIR/log/doctor.out")"
[ "$(wc -l <"$S/runs")" = 4 ] || it_fail "doctor ran the command $(($(wc -l <"$S/runs") - 3)) times, want once"
rc=0
"$H" doctor fail >"$IT_DIR/log/doctor-fail.out" 2>&1 || rc=$?
[ $rc = 78 ] || it_fail "doctor fail exited $rc, want 78"
grep -q "^FAIL secret: client_secret_command $S/fail.sh failed (exit 5)" "$IT_DIR/log/doctor-fail.out" ||
    it_fail "doctor fail: $(cat "$IT_DIR/log/doctor-fail.out")"
it_log "doctor: the command named, run once, its output not shown"

# --- what goes wrong, each with its sentence ------------------------------
oa2_expect 78 "client_secret_command $S/fail.sh failed (exit 5); run it yourself" "$H" token fail
oa2_expect 78 "client_secret_command $S/empty.sh printed nothing" "$H" token empty
oa2_expect 78 "client_secret_command $S/big.sh wrote more than 4096 bytes" "$H" token big
oa2_expect 78 "client_secret_command $S/twolines.sh printed more than one line" "$H" token twolines
oa2_expect 78 "client_secret_command $S/missing.sh: No such file or directory" "$H" token missing
oa2_expect 78 "client_secret_command $S/noexec.sh is not executable; run: chmod u+x" "$H" token noexec
oa2_expect 78 "client_secret_command $S/loose.sh can be written by others (mode 0775)" "$H" token loose
oa2_expect 78 "client_secret_command $S/theirs.sh belongs to uid $(id -u nobody)" "$H" token theirs
oa2_expect 78 "client_secret_command must start with an absolute path" "$H" token relative
oa2_expect 78 "client_secret_file and client_secret_command are two sources of one secret" \
    "$H" token both
it_log "failing, empty, oversized, two-line, missing, non-executable, loose, foreign, relative and doubled setups refused"

# --- the caller's deadline bounds the command ----------------------------
t1=$(monotonic_ms)
rc=0
SASL_OAUTH2_DEADLINE=$((t1 + 4000)) "$H" token hang2 >"$IT_DIR/log/hang2.out" \
    2>"$IT_DIR/log/hang2.err" || rc=$?
ms=$(($(monotonic_ms) - t1))
[ $rc = 75 ] || it_fail "a command past the caller's deadline: exit $rc, want 75: $(cat "$IT_DIR/log/hang2.err")"
grep -q "client_secret_command $S/hang.sh did not finish within [23]\.[0-9] s and was killed" \
    "$IT_DIR/log/hang2.err" || it_fail "deadline: $(cat "$IT_DIR/log/hang2.err")"
[ "$ms" -lt 4000 ] || it_fail "the helper took $ms ms, past the caller's deadline"
! alive "$IT_DIR/hang2.pid" ||
    it_fail "the command's child outlived it: its process group was not killed"
it_log "a hanging command is killed before the caller's deadline ($ms ms), with its children"

# --- the 30 s bound ------------------------------------------------------
for _ in $(seq 1 600); do
	[ -s "$IT_DIR/hang.done" ] && break
	sleep 0.1
done
[ -s "$IT_DIR/hang.done" ] || it_fail "the hanging command was not killed within 60 s"
read -r rc ms <"$IT_DIR/hang.done"
[ "$rc" = 75 ] || it_fail "a hanging command: exit $rc, want 75: $(cat "$IT_DIR/log/hang.err")"
grep -q "client_secret_command $S/hang.sh did not finish within 30.0 s and was killed; is it waiting" \
    "$IT_DIR/log/hang.err" || it_fail "hang: $(cat "$IT_DIR/log/hang.err")"
[ "$ms" -ge 29000 ] && [ "$ms" -lt 40000 ] ||
    it_fail "the hanging command ended after $ms ms, want about 30 s (it sleeps 120)"
! alive "$IT_DIR/hang.pid" ||
    it_fail "the command's child outlived it: its process group was not killed"
wait "$hang_job" 2>/dev/null || true
it_log "a hanging command is killed at 30 s ($ms ms), with its children"

# --- the secret in no output and no log ----------------------------------
[ ! -s "$IT_DIR/log/hang.out" ] && [ ! -s "$IT_DIR/log/hang2.out" ] ||
    it_fail "a failing token command wrote to stdout"
if grep -rlF -e "$IDP_RELAY_BASIC_SECRET" -e "$old" "$IT_DIR/log"; then
	it_fail "the client secret is in a log or output file (above)"
fi
grep -q "handing over" "$IT_DIR/log/relay.err" || it_fail "the secret grep read nothing"
it_log "the secret is in none of $(find "$IT_DIR/log" -type f | wc -l) output and log files"

it_pass
