/*
 * account.c: apply provider presets to a configured account, load its
 * client secret, and find the per-uid state directory and account locks.
 *
 * Presets supply endpoints and default scopes; every endpoint the account
 * sets itself wins (this is how tests point a preset at a local server).
 *
 * SECRETS: the client secret, read from client_secret_file (refused when
 * others can read it) into a wiping buffer, freed by account_free().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "discovery.h"
#include "err.h"
#include "helper.h"
#include "http.h"
#include "jwt.h"
#include "secretfile.h"
#include "wire.h"

#define MS_AUTHORITY "https://login.microsoftonline.com"
#define MS_SCOPE_DELEGATED                                                     \
	"https://outlook.office.com/IMAP.AccessAsUser.All "                    \
	"https://outlook.office.com/SMTP.Send offline_access"
#define MS_SCOPE_APP "https://outlook.office365.com/.default"
#define GOOGLE_SCOPE "https://mail.google.com/"

static int
parse_flow(const char *s, enum flow *f)
{
	if (s == NULL || strcmp(s, "authorization_code") == 0)
		*f = FLOW_AUTHORIZATION_CODE;
	else if (strcmp(s, "device_code") == 0)
		*f = FLOW_DEVICE_CODE;
	else if (strcmp(s, "client_credentials") == 0)
		*f = FLOW_CLIENT_CREDENTIALS;
	else if (strcmp(s, "password") == 0)
		*f = FLOW_PASSWORD;
	else
		return OA2_ERR_CONFIG;
	return 0;
}

/* dst = configured, else prefix + suffix (a preset), else "". */
static int
set_url(
    char *dst, const char *configured, const char *prefix, const char *suffix)
{
	size_t pl, sl;

	if (configured != NULL) {
		prefix = configured;
		suffix = "";
	} else if (prefix == NULL) {
		prefix = suffix = "";
	}
	pl = strlen(prefix);
	sl = strlen(suffix);
	if (pl + sl >= URL_MAX) {
		dst[0] = '\0';
		return 1;
	}
	memcpy(dst, prefix, pl);
	memcpy(dst + pl, suffix, sl + 1);
	return 0;
}

static int
is_generic_tenant(const char *t)
{
	return strcmp(t, "common") == 0 || strcmp(t, "organizations") == 0 ||
	    strcmp(t, "consumers") == 0;
}

int
account_resolve(
    const struct oa2_account *a, const char *mailbox, struct account *out)
{
	const char *const *v = (const char *const *)a->v;
	const char *provider =
	    v[OA2_K_PROVIDER] ? v[OA2_K_PROVIDER] : "generic";
	const char *tenant = v[OA2_K_TENANT];
	char err[512], base[URL_MAX];
	int r, toolong = 0;

	memset(out, 0, sizeof(*out));
	oa2_buf_init(&out->client_secret, OA2_SECRET_FILE_MAX);
	out->name = a->name;
	/* user may list several mailboxes (an app-only account serving
	 * them all); the account acts for the one asked for, else the
	 * first. */
	if (v[OA2_K_USER] == NULL ||
	    oa2_user_nth(
		v[OA2_K_USER], 0, out->user_buf, sizeof(out->user_buf)) != 0) {
		say("account %s: set 'user' to the mailbox address", a->name);
		return OA2_ERR_CONFIG;
	}
	if (mailbox != NULL)
		snprintf(out->user_buf, sizeof(out->user_buf), "%s", mailbox);
	out->user = out->user_buf;
	out->user_list = v[OA2_K_USER];
	out->several_users = oa2_user_nth(v[OA2_K_USER], 1, err, sizeof(err)) !=
	    OA2_ERR_NOTFOUND;
	out->provider = provider;
	out->client_id = v[OA2_K_CLIENT_ID];
	out->ca_file = v[OA2_K_CA_FILE];
	out->scope = v[OA2_K_SCOPE];
	out->issuer = v[OA2_K_ISSUER];

	if (out->user == NULL || oa2_mailbox_check(out->user) != 0) {
		say("account %s: set 'user' to the mailbox address", a->name);
		return OA2_ERR_CONFIG;
	}
	if (out->client_id == NULL) {
		say("account %s: set 'client_id' (the application ID of the "
		    "app registration)",
		    a->name);
		return OA2_ERR_CONFIG;
	}
	if (parse_flow(v[OA2_K_FLOW], &out->flow) != 0) {
		say("account %s: flow '%s' is not one of authorization_code, "
		    "device_code, client_credentials, password",
		    a->name, v[OA2_K_FLOW]);
		return OA2_ERR_CONFIG;
	}
	if (store_kind_parse(v[OA2_K_STORE], &out->store) != 0) {
		say("account %s: store must be file, keyring or secret-service",
		    a->name);
		return OA2_ERR_CONFIG;
	}
	if (out->several_users && out->flow != FLOW_CLIENT_CREDENTIALS) {
		say("account %s: only a client_credentials (app-only) account "
		    "may list several mailboxes in 'user'",
		    a->name);
		return OA2_ERR_CONFIG;
	}
	if (v[OA2_K_CLIENT_AUTH] == NULL ||
	    strcmp(v[OA2_K_CLIENT_AUTH], "basic") == 0)
		out->client_auth = CLIENT_AUTH_BASIC;
	else if (strcmp(v[OA2_K_CLIENT_AUTH], "post") == 0)
		out->client_auth = CLIENT_AUTH_POST;
	else if (strcmp(v[OA2_K_CLIENT_AUTH], "private_key_jwt") == 0)
		out->client_auth = CLIENT_AUTH_PRIVATE_KEY_JWT;
	else {
		say("account %s: client_auth must be basic, post or "
		    "private_key_jwt",
		    a->name);
		return OA2_ERR_CONFIG;
	}

	if (strcmp(provider, "microsoft") == 0) {
		if (tenant == NULL)
			tenant = "organizations";
		if (out->flow == FLOW_CLIENT_CREDENTIALS &&
		    is_generic_tenant(tenant)) {
			say("account %s: client credentials need your tenant: "
			    "set tenant = your tenant ID or domain "
			    "(AADSTS9001023)",
			    a->name);
			return OA2_ERR_CONFIG;
		}
		if (strlen(tenant) > 128 || strchr(tenant, '/') != NULL) {
			say("account %s: tenant '%s' is not a tenant ID or "
			    "domain",
			    a->name, tenant);
			return OA2_ERR_CONFIG;
		}
		snprintf(
		    base, sizeof(base), MS_AUTHORITY "/%s/oauth2/v2.0", tenant);
		toolong |= set_url(out->token_endpoint, v[OA2_K_TOKEN_ENDPOINT],
		    base, "/token");
		toolong |= set_url(out->authorization_endpoint,
		    v[OA2_K_AUTHORIZATION_ENDPOINT], base, "/authorize");
		toolong |= set_url(out->device_endpoint,
		    v[OA2_K_DEVICE_AUTHORIZATION_ENDPOINT], base,
		    "/devicecode");
		toolong |= set_url(out->revocation_endpoint,
		    v[OA2_K_REVOCATION_ENDPOINT], NULL, NULL);
		if (out->scope == NULL)
			out->scope = out->flow == FLOW_CLIENT_CREDENTIALS
			    ? MS_SCOPE_APP
			    : MS_SCOPE_DELEGATED;
	} else if (strcmp(provider, "google") == 0) {
		out->google = 1;
		toolong |= set_url(out->token_endpoint, v[OA2_K_TOKEN_ENDPOINT],
		    "https://oauth2.googleapis.com/token", "");
		toolong |= set_url(out->authorization_endpoint,
		    v[OA2_K_AUTHORIZATION_ENDPOINT],
		    "https://accounts.google.com/o/oauth2/v2/auth", "");
		toolong |= set_url(out->device_endpoint,
		    v[OA2_K_DEVICE_AUTHORIZATION_ENDPOINT],
		    "https://oauth2.googleapis.com/device/code", "");
		toolong |= set_url(out->revocation_endpoint,
		    v[OA2_K_REVOCATION_ENDPOINT],
		    "https://oauth2.googleapis.com/revoke", "");
		if (out->scope == NULL)
			out->scope = GOOGLE_SCOPE;
	} else if (strcmp(provider, "generic") == 0) {
		toolong |= set_url(
		    out->token_endpoint, v[OA2_K_TOKEN_ENDPOINT], NULL, NULL);
		toolong |= set_url(out->authorization_endpoint,
		    v[OA2_K_AUTHORIZATION_ENDPOINT], NULL, NULL);
		toolong |= set_url(out->device_endpoint,
		    v[OA2_K_DEVICE_AUTHORIZATION_ENDPOINT], NULL, NULL);
		toolong |= set_url(out->revocation_endpoint,
		    v[OA2_K_REVOCATION_ENDPOINT], NULL, NULL);
		if (out->issuer != NULL &&
		    (out->token_endpoint[0] == '\0' ||
			out->authorization_endpoint[0] == '\0' ||
			out->device_endpoint[0] == '\0' ||
			out->revocation_endpoint[0] == '\0'))
			out->need_discovery = 1;
		else if (out->token_endpoint[0] == '\0') {
			say("account %s: set issuer (for discovery) or "
			    "token_endpoint (provider generic)",
			    a->name);
			return OA2_ERR_CONFIG;
		}
	} else {
		say("account %s: provider '%s' is not one of microsoft, "
		    "google, generic",
		    a->name, provider);
		return OA2_ERR_CONFIG;
	}
	if (toolong) {
		say("account %s: an endpoint URL is longer than %d bytes",
		    a->name, URL_MAX - 1);
		return OA2_ERR_CONFIG;
	}
	if (out->token_endpoint[0] != '\0' &&
	    (r = oa2_url_allowed(out->token_endpoint, err, sizeof(err))) != 0) {
		say("account %s: token_endpoint: %s", a->name, err);
		return OA2_ERR_CONFIG;
	}
	/* The files themselves are read only when a request needs them
	 * (account_credentials): a cache hit touches no secret. */
	out->cfg = a;
	if (out->client_auth == CLIENT_AUTH_PRIVATE_KEY_JWT &&
	    v[OA2_K_CLIENT_KEY_FILE] == NULL) {
		say("account %s: client_auth = private_key_jwt needs "
		    "client_key_file (and client_certificate_file for Entra)",
		    a->name);
		return OA2_ERR_CONFIG;
	}
	if (out->client_auth != CLIENT_AUTH_PRIVATE_KEY_JWT &&
	    v[OA2_K_CLIENT_SECRET_FILE] == NULL &&
	    out->flow == FLOW_CLIENT_CREDENTIALS) {
		say("account %s: client credentials need a secret or a key: "
		    "set client_secret_file, or client_auth = private_key_jwt "
		    "with client_key_file",
		    a->name);
		return OA2_ERR_CONFIG;
	}
	return 0;
}

/* Load the client secret or key (refused when others can read it). */
static int
account_credentials(struct account *acct)
{
	const char *const *v = (const char *const *)acct->cfg->v;
	char err[512];
	int r = 0;

	if (acct->credentials_loaded)
		return 0;
	if (acct->client_auth == CLIENT_AUTH_PRIVATE_KEY_JWT) {
		r = oa2_jwt_load_key(v[OA2_K_CLIENT_KEY_FILE],
		    &acct->client_key, err, sizeof(err));
		if (r == 0 && v[OA2_K_CLIENT_CERTIFICATE_FILE] != NULL) {
			r = oa2_jwt_cert_thumbprint(
			    v[OA2_K_CLIENT_CERTIFICATE_FILE], acct->thumbprint,
			    err, sizeof(err));
			acct->have_thumbprint = r == 0;
		}
	} else if (v[OA2_K_CLIENT_SECRET_FILE] != NULL) {
		r = oa2_secretfile_read(v[OA2_K_CLIENT_SECRET_FILE],
		    &acct->client_secret, err, sizeof(err));
	}
	if (r != 0) {
		say("account %s: %s", acct->name, err);
		return r == OA2_ERR_PERM ? OA2_ERR_PERM : OA2_ERR_CONFIG;
	}
	acct->credentials_loaded = 1;
	return 0;
}

static void
fill(char *dst, const char *discovered)
{
	if (dst[0] == '\0')
		snprintf(dst, URL_MAX, "%s", discovered);
}

int
account_endpoints(struct account *acct)
{
	struct oa2_http h = {0};
	struct oa2_endpoints ep;
	struct oa2_buf body;
	char url[URL_MAX + 64], err[768];
	size_t n;
	long status = 0;
	int r;

	if ((r = account_credentials(acct)) != 0)
		return r;
	if (!acct->need_discovery)
		return 0;
	n = strlen(acct->issuer);
	while (n > 0 && acct->issuer[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s/.well-known/openid-configuration",
	    (int)n, acct->issuer);
	h.ca_file = acct->ca_file;
	oa2_buf_init(&body, OA2_HTTP_BODY_MAX);
	verbose("account %s: discovery from %s", acct->name, url);
	r = oa2_http_get(&h, url, &status, &body, err, sizeof(err));
	if (r != 0) {
		say("account %s: discovery failed: %s", acct->name, err);
		goto out;
	}
	if (status != 200) {
		say("account %s: discovery at %s answered HTTP %ld; check "
		    "issuer",
		    acct->name, url, status);
		r = status >= 500 ? OA2_ERR_PROVIDER : OA2_ERR_CONFIG;
		goto out;
	}
	r = oa2_discovery_parse(
	    oa2_buf_str(&body), body.len, acct->issuer, &ep, err, sizeof(err));
	if (r != 0) {
		say("account %s: discovery at %s: %s", acct->name, url, err);
		r = OA2_ERR_CONFIG;
		goto out;
	}
	fill(acct->token_endpoint, ep.token);
	fill(acct->authorization_endpoint, ep.authorization);
	fill(acct->device_endpoint, ep.device);
	fill(acct->revocation_endpoint, ep.revocation);
	if ((r = oa2_url_allowed(acct->token_endpoint, err, sizeof(err))) !=
	    0) {
		say("account %s: discovered token_endpoint: %s", acct->name,
		    err);
		r = OA2_ERR_CONFIG;
		goto out;
	}
	acct->need_discovery = 0;
out:
	oa2_buf_free(&body);
	return r;
}

void
account_free(struct account *acct)
{
	oa2_buf_free(&acct->client_secret);
	oa2_jwt_free_key(acct->client_key);
	acct->client_key = NULL;
}

/* mkdir -p with mode 0700 for the components we create. */
static int
make_dirs(char *path)
{
	char *p;

	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Our own directory: owned by us, no access for others. */
static int
dir_is_private(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid() && (st.st_mode & 077) == 0;
}

int
state_dir(char *out, size_t outsz)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (xdg != NULL && *xdg == '/')
		snprintf(out, outsz, "%s/sasl-oauth2", xdg);
	else {
		if (home == NULL || *home != '/') {
			pw = getpwuid(geteuid());
			home = pw != NULL ? pw->pw_dir : NULL;
		}
		if (home == NULL)
			return OA2_ERR_NOTFOUND;
		snprintf(out, outsz, "%s/.local/state/sasl-oauth2", home);
	}
	/* There but loose, or not ours: falling back to another directory
	 * would quietly lose the login stored here. */
	if (make_dirs(out) == 0)
		return dir_is_private(out) ? 0 : OA2_ERR_CONFIG;
	/* System users (postfix) have unwritable homes: use the system
	 * state dir, one 0700 subdirectory per uid. */
	snprintf(out, outsz, LOCALSTATEDIR "/lib/sasl-oauth2/%u",
	    (unsigned)geteuid());
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return OA2_ERR_IO;
	return dir_is_private(out) ? 0 : OA2_ERR_PERM;
}

int
account_lock(const char *account, int timeout_s)
{
	char dir[768], path[1024];
	struct timespec pause = {0, 20 * 1000 * 1000};
	time_t deadline = time(NULL) + timeout_s;
	int fd, r;

	if ((r = state_dir(dir, sizeof(dir))) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s.lock", dir, account);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return OA2_ERR_IO;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			close(fd);
			return OA2_ERR_IO;
		}
		if (time(NULL) >= deadline) {
			close(fd);
			return OA2_ERR_TIMEOUT;
		}
		nanosleep(&pause, NULL);
	}
	return fd;
}

void
account_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}
