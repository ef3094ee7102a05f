# lib-oa2.sh: configure sasl-oauth2 itself for an integration test.
#
#   oa2_account NAME OWNER KEY=VALUE...
#       append an [account NAME] section to $OA2_CONFIG; a key
#       client_secret=VALUE is written to a secret file owned by OWNER,
#       mode 0600, and becomes client_secret_file.
#   oa2_env   export what a host process needs to load our plugin:
#             SASL_PATH, SASL_OAUTH2_HELPER, SASL_OAUTH2_CONFIG
#   oa2_as USER CMD...   run CMD as USER with a login-like environment
#   oa2_key_clear USER MAILBOX   drop USER's cached tokens for MAILBOX
#   oa2_key_present USER MAILBOX  succeed iff USER's keyring caches MAILBOX
#   oa2_expect RC NEEDLE CMD...   CMD exits RC and says NEEDLE on stderr
#
# SECRETS: the test IdP's throw-away client secrets, written 0600.

# oa2_config_init [OWNER]: a fresh, empty configuration file readable by
# OWNER (the helper runs as the host's user: postfix for Postfix).
oa2_config_init()
{
	local owner=${1:-root}
	mkdir -p "$IT_DIR/etc"
	chmod 0755 "$IT_DIR/etc"
	OA2_CONFIG="$IT_DIR/etc/sasl-oauth2.conf"
	: >"$OA2_CONFIG"
	chown "$owner": "$OA2_CONFIG"
	chmod 0644 "$OA2_CONFIG"
	export OA2_CONFIG
}

oa2_account()
{
	local name=$1 owner=$2 kv key val secret
	shift 2
	[ -n "${OA2_CONFIG:-}" ] || oa2_config_init "$owner"
	{
		echo
		echo "[account $name]"
	} >>"$OA2_CONFIG"
	for kv in "$@"; do
		key=${kv%%=*}
		val=${kv#*=}
		if [ "$key" = client_secret ]; then
			secret="$IT_DIR/etc/$name.secret"
			(umask 077 && printf '%s\n' "$val" >"$secret")
			chown "$owner": "$secret"
			chmod 0600 "$secret"
			echo "client_secret_file = $secret" >>"$OA2_CONFIG"
		else
			echo "$key = $val" >>"$OA2_CONFIG"
		fi
	done
}

oa2_env()
{
	[ -n "${IT_HELPER:-}" ] || it_install_products
	SASL_PATH=$IT_SASL_PATH
	SASL_OAUTH2_HELPER=$IT_HELPER
	SASL_OAUTH2_CONFIG=$OA2_CONFIG
	export SASL_PATH SASL_OAUTH2_HELPER SASL_OAUTH2_CONFIG
}

# oa2_as USER CMD...: run CMD as USER.  Its own user keyring is the one the
# plugin and helper use when running as USER.
oa2_as()
{
	local user=$1
	shift
	if [ "$user" = "$(id -un)" ]; then
		"$@"
	else
		runuser -u "$user" -- env HOME=/nonexistent "$@"
	fi
}

# Also the keys of other accounts' tokens for MAILBOX ("MAILBOX account=
# NAME", common/keyring.h); oa2_key_present USER "MAILBOX account=NAME"
# looks for one of them.
oa2_key_clear()
{
	oa2_as "$1" keyctl purge user "sasl-oauth2:$2" >/dev/null 2>&1 || true
	oa2_as "$1" keyctl purge -p user "sasl-oauth2:$2 account=" \
	    >/dev/null 2>&1 || true
}

oa2_key_present()
{
	oa2_as "$1" keyctl search @u user "sasl-oauth2:$2" >/dev/null 2>&1
}

# oa2_key_token USER MAILBOX: print the cached token (tests compare it).
oa2_key_token()
{
	local id
	id=$(oa2_as "$1" keyctl search @u user "sasl-oauth2:$2") || return 1
	oa2_as "$1" keyctl pipe "$id" | sed -n '3p'
}

# oa2_expect WANT_RC NEEDLE CMD...: run CMD (its stdout dropped), fail
# unless it exits WANT_RC and its stderr holds NEEDLE; the stderr is
# appended to $IT_DIR/log/expect.err, for the test to grep.
oa2_expect()
{
	local want=$1 needle=$2 rc=0 out
	shift 2
	out=$("$@" 2>&1 >/dev/null) || rc=$?
	printf '%s\n' "$out" >>"$IT_DIR/log/expect.err"
	[ "$rc" = "$want" ] || it_fail "'$*' exited $rc, want $want: $out"
	case $out in
	*"$needle"*) ;;
	*) it_fail "'$*' said '$out', lacking '$needle'" ;;
	esac
}
