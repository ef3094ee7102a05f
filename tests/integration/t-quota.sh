#!/bin/bash
# t-quota.sh: a full kernel key quota.  The kernel limits the keys an
# ordinary user may own (kernel.keys.maxbytes, 20000 bytes by default;
# kernel.keys.maxkeys).  With that quota filled by other keys, the token
# cache cannot work, but nothing else may break:
#   - "sasl-oauth2 token" still prints a valid token and exits 0, and says
#     once, in one line, which sysctl raises the limit;
#   - the plugin, inside sasl-sample-client run as that user, still gets a
#     token through the exec path;
#   - the user's other keys are untouched.
# Runs as a temporary user made with useradd -M and removed at the end.
. "$(dirname "$0")/lib.sh"

it_require_root
it_require node keyctl setpriv useradd userdel sasl-sample-client base64
it_setup
idp_start
it_install_products

U="oa2q$$"
U=${U:0:30}
useradd -M -d /nonexistent -s /usr/sbin/nologin -U "$U" >/dev/null 2>&1 ||
    it_skip "cannot create a temporary user"
# shellcheck disable=SC2016
it_on_cleanup 'as_user keyctl clear @u >/dev/null 2>&1; userdel "$U" >/dev/null 2>&1'
UID_U=$(id -u "$U")
GID_U=$(id -g "$U")

# as_user CMD...: CMD as the temporary user, with a clean environment.
as_user()
{
	setpriv --reuid="$UID_U" --regid="$GID_U" --clear-groups \
	    env -i PATH=/usr/bin:/bin HOME=/nonexistent USER="$U" LOGNAME="$U" \
	    XDG_STATE_HOME="$IT_DIR/ustate" SASL_OAUTH2_CONFIG="$OA2_CONFIG" \
	    "$@"
}

mkdir -p "$IT_DIR/ustate"
chown "$U": "$IT_DIR/ustate"
chmod 0700 "$IT_DIR/ustate"
mb=$IDP_RELAY_MAILBOX
oa2_config_init "$U"
oa2_account app "$U" "user=$mb" "provider=generic" "token_endpoint=$IDP_TOKEN_URL" \
    "client_id=$IDP_RELAY_BASIC_ID" "client_secret=$IDP_RELAY_BASIC_SECRET" \
    "scope=$IDP_CC_SCOPE" "flow=client_credentials"

# Control: with room in the quota, the token is cached.
as_user "$IT_HELPER" token app >"$IT_DIR/t0.out" 2>"$IT_DIR/t0.err" ||
    it_fail "token as $U failed: $(cat "$IT_DIR/t0.err")"
[ ! -s "$IT_DIR/t0.err" ] || it_fail "token said something: $(cat "$IT_DIR/t0.err")"
as_user keyctl search @u user "sasl-oauth2:$mb" >/dev/null 2>&1 ||
    it_fail "control: the token was not cached"
as_user keyctl purge user "sasl-oauth2:$mb" >/dev/null 2>&1 || true

# Fill the quota with keys of our own, largest first, down to 1 byte.
i=0
for size in 4000 1000 200 50 10 1; do
	payload=$(head -c "$size" /dev/zero | tr '\0' x)
	while printf '%s' "$payload" |
	    as_user keyctl padd user "fill$i" @u >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 1000 ] || it_fail "the key quota never filled up"
	done
done
as_user keyctl padd user "one-more" @u </dev/null >/dev/null 2>&1 &&
    it_fail "the quota is not full"
quota=$(awk -v u="$UID_U:" '$1 == u {print $4, $5}' /proc/key-users)
it_log "user $U: quota filled with $i keys (/proc/key-users keys, bytes: $quota)"
keys_before=$(as_user keyctl rlist @u | wc -w)

# token: a valid token, exit 0, one line naming the sysctl.
n0=$(idp_stats client_credentials)
for run in 1 2; do
	rc=0
	as_user "$IT_HELPER" token app >"$IT_DIR/t$run.out" 2>"$IT_DIR/t$run.err" || rc=$?
	[ "$rc" = 0 ] || it_fail "token with a full quota: exit $rc: $(cat "$IT_DIR/t$run.err")"
	tok=$(cat "$IT_DIR/t$run.out")
	[ -n "$tok" ] || it_fail "token with a full quota printed nothing"
	case $(idp_introspect "$tok") in
	*'"active":true'*) ;;
	*) it_fail "the token printed with a full quota is not valid" ;;
	esac
	[ "$(grep -c '' "$IT_DIR/t$run.err")" = 1 ] ||
	    it_fail "want one line on stderr, got: $(cat "$IT_DIR/t$run.err")"
	grep -q 'sysctl kernel\.keys\.maxbytes' "$IT_DIR/t$run.err" ||
	    it_fail "does not name the sysctl: $(cat "$IT_DIR/t$run.err")"
done
it_log "token with a full quota: exit 0, valid token; said: $(cat "$IT_DIR/t1.err")"
[ $(($(idp_stats client_credentials) - n0)) = 2 ] ||
    it_fail "not one request per run without a cache"

# The plugin in sasl-sample-client, as the user: the exec path.
printf 'S: %s\n' "$(printf XOAUTH2 | base64 -w0)" >"$IT_DIR/sc.in"
as_user SASL_PATH="$IT_SASL_PATH" SASL_OAUTH2_HELPER="$IT_HELPER" \
    timeout 20 setsid -w env "${IT_HOST_ENV[@]}" \
    sasl-sample-client -m XOAUTH2 -a "$mb" -u "$mb" -s smtp \
    -n 127.0.0.1 -p "$IT_SASL_PATH" <"$IT_DIR/sc.in" >"$IT_DIR/sc.out" \
    2>"$IT_DIR/log/sample-client.err" || true
c1=$(grep -m1 '^C: ' "$IT_DIR/sc.out" | cut -c4-)
[ -n "$c1" ] || it_fail "sasl-sample-client sent nothing: $(cat "$IT_DIR/log/sample-client.err")"
tok=$(printf '%s' "$c1" | base64 -d | tr '\001' '\n' | sed -n 's/^auth=Bearer //p')
[ -n "$tok" ] || it_fail "no XOAUTH2 initial response from the plugin"
case $(idp_introspect "$tok") in
*'"active":true'*) ;;
*) it_fail "the plugin's token is not valid" ;;
esac
[ $(($(idp_stats client_credentials) - n0)) = 3 ] ||
    it_fail "the plugin did not get its token from the helper (exec path)"
it_log "plugin in sasl-sample-client as $U: a valid token through the exec path"

# Nothing of the user's was evicted, nothing of ours squeezed in.
[ "$(as_user keyctl rlist @u | wc -w)" = "$keys_before" ] ||
    it_fail "the user's keys changed"
! as_user keyctl search @u user "sasl-oauth2:$mb" >/dev/null 2>&1 ||
    it_fail "a token key appeared in a full quota"
it_pass
