/*
 * account.c: apply provider presets to a configured account, and find the
 * per-uid state directory and account locks.  Part of the light front too:
 * nothing here touches the network or a secret (endpoints.c does).
 *
 * Presets supply endpoints and default scopes; every endpoint the account
 * sets itself wins (this is how tests point a preset at a local server).
 *
 * SECRETS: none read here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "sysutil.h"
#include "helper.h"
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
	else if (strcmp(s, "service_account") == 0)
		*f = FLOW_SERVICE_ACCOUNT;
	else
		return OA2_ERR_CONFIG;
	return 0;
}

int
store_kind_parse(const char *value, enum store_kind *kind)
{
	if (value == NULL || strcmp(value, "file") == 0)
		*kind = STORE_FILE;
	else if (strcmp(value, "keyring") == 0)
		*kind = STORE_KEYRING;
	else if (strcmp(value, "secret-service") == 0)
		*kind = STORE_SECRET;
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

int
account_app_only(const struct account *acct)
{
	return acct->flow == FLOW_CLIENT_CREDENTIALS ||
	    acct->flow == FLOW_SERVICE_ACCOUNT;
}

/* The common mistake with Google service accounts: Gmail's XOAUTH2 logs in
 * the mailbox named in the token's sub (domain-wide delegation), never the
 * service account itself, which has no mailbox. */
void
account_sa_mistake(const struct account *acct, const char *client_id)
{
	char id[300];

	if (client_id != NULL && client_id[0] != '\0')
		snprintf(id, sizeof(id), "client ID %s", client_id);
	else
		snprintf(id, sizeof(id),
		    "the service account's client ID (client_id in the JSON "
		    "key file)");
	say("account %s: Gmail logs in the mailbox, not the service account: "
	    "set user to the Workspace mailbox(es) the service account acts "
	    "for, and grant domain-wide delegation for %s with scope "
	    "https://mail.google.com/ in the Admin console",
	    acct->name, id);
}

/* A service account's address, not a mailbox. */
int
account_is_service_account_email(const char *mb)
{
	static const char suffix[] = ".gserviceaccount.com";
	size_t n = strlen(mb), k = sizeof(suffix) - 1;

	return n > k && strcasecmp(mb + n - k, suffix) == 0;
}

static int
is_generic_tenant(const char *t)
{
	return strcmp(t, "common") == 0 || strcmp(t, "organizations") == 0 ||
	    strcmp(t, "consumers") == 0;
}

int
account_resolve(const struct oa2_config *cfg, const struct oa2_account *a,
    const char *mailbox, struct account *out)
{
	const char *const *v = (const char *const *)a->v;
	const char *provider =
	    v[OA2_K_PROVIDER] ? v[OA2_K_PROVIDER] : "generic";
	const char *tenant = v[OA2_K_TENANT];
	char err[512], base[URL_MAX];
	int toolong = 0;

	memset(out, 0, sizeof(*out));
	oa2_buf_init(&out->client_secret, OA2_SECRET_FILE_MAX);
	out->name = a->name;
	out->config = cfg;
	/* user may list several mailboxes (an app-only account serving
	 * them all); the account acts for the one asked for, else the
	 * first. */
	if (v[OA2_K_USER] == NULL ||
	    oa2_user_nth(
		v[OA2_K_USER], 0, out->user_buf, sizeof(out->user_buf)) != 0) {
		if (v[OA2_K_FLOW] != NULL &&
		    strcmp(v[OA2_K_FLOW], "service_account") == 0)
			account_sa_mistake(out, NULL);
		else
			say("account %s: set 'user' to the mailbox address",
			    a->name);
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
	out->proxy = v[OA2_K_PROXY];
	out->no_proxy = v[OA2_K_NO_PROXY];
	out->scope = v[OA2_K_SCOPE];
	out->issuer = v[OA2_K_ISSUER];

	if (out->user == NULL || oa2_mailbox_check(out->user) != 0) {
		say("account %s: set 'user' to the mailbox address", a->name);
		return OA2_ERR_CONFIG;
	}
	if (parse_flow(v[OA2_K_FLOW], &out->flow) != 0) {
		say("account %s: flow '%s' is not one of authorization_code, "
		    "device_code, client_credentials, password, "
		    "service_account",
		    a->name, v[OA2_K_FLOW]);
		return OA2_ERR_CONFIG;
	}
	/* A service account's client ID is in its JSON key file. */
	if (out->client_id == NULL && out->flow != FLOW_SERVICE_ACCOUNT) {
		say("account %s: set 'client_id' (the application ID of the "
		    "app registration)",
		    a->name);
		return OA2_ERR_CONFIG;
	}
	if (out->flow == FLOW_SERVICE_ACCOUNT) {
		if (v[OA2_K_SERVICE_ACCOUNT_FILE] == NULL) {
			say("account %s: flow = service_account needs "
			    "service_account_file, the service account's JSON "
			    "key file (mode 0600)",
			    a->name);
			return OA2_ERR_CONFIG;
		}
		if (v[OA2_K_CLIENT_SECRET_FILE] != NULL ||
		    v[OA2_K_CLIENT_SECRET_COMMAND] != NULL ||
		    v[OA2_K_CLIENT_KEY_FILE] != NULL ||
		    v[OA2_K_CLIENT_ASSERTION_FILE] != NULL ||
		    v[OA2_K_CLIENT_AUTH] != NULL ||
		    v[OA2_K_CLIENT_CERTIFICATE_FILE] != NULL) {
			say("account %s: the JSON key file (service_account_"
			    "file) is a service account's only credential: "
			    "remove client_secret_file, client_secret_command, "
			    "client_key_file, client_certificate_file, "
			    "client_assertion_file and client_auth",
			    a->name);
			return OA2_ERR_CONFIG;
		}
	} else if (v[OA2_K_SERVICE_ACCOUNT_FILE] != NULL) {
		say("account %s: service_account_file is for flow = "
		    "service_account (a Google service account with "
		    "domain-wide delegation); set that flow or remove it",
		    a->name);
		return OA2_ERR_CONFIG;
	}
	if (store_kind_parse(v[OA2_K_STORE], &out->store) != 0) {
		say("account %s: store must be file, keyring or secret-service",
		    a->name);
		return OA2_ERR_CONFIG;
	}
	if (out->several_users && !account_app_only(out)) {
		say("account %s: only a client_credentials or service_account "
		    "(app-only) account may list several mailboxes in 'user'",
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

	if (strcmp(provider, "microsoft") == 0 &&
	    out->flow == FLOW_SERVICE_ACCOUNT) {
		say("account %s: service accounts are Google's; Microsoft 365 "
		    "app-only access is flow = client_credentials",
		    a->name);
		return OA2_ERR_CONFIG;
	}
	if (out->proxy != NULL &&
	    oa2_proxy_check(out->proxy, err, sizeof(err)) != 0) {
		say("account %s: %s", a->name, err);
		return OA2_ERR_CONFIG;
	}
	if (out->no_proxy != NULL && out->proxy == NULL) {
		say("account %s: no_proxy only lists exceptions to the proxy "
		    "key; set proxy, or remove no_proxy (without proxy the "
		    "environment's no_proxy applies)",
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
		out->microsoft = 1;
		out->refresh_scope = 1;
	} else if (strcmp(provider, "google") == 0) {
		out->google = 1;
		/* A service account's token endpoint is its key file's
		 * token_uri (endpoints.c) unless the account sets one. */
		toolong |= set_url(out->token_endpoint, v[OA2_K_TOKEN_ENDPOINT],
		    out->flow == FLOW_SERVICE_ACCOUNT
			? NULL
			: "https://oauth2.googleapis.com/token",
		    "");
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
		/* A service account needs only the token endpoint, which
		 * its key file names (token_uri). */
		if (out->issuer != NULL && out->flow != FLOW_SERVICE_ACCOUNT &&
		    (out->token_endpoint[0] == '\0' ||
			out->authorization_endpoint[0] == '\0' ||
			out->device_endpoint[0] == '\0' ||
			out->revocation_endpoint[0] == '\0'))
			out->need_discovery = 1;
		else if (out->token_endpoint[0] == '\0' &&
		    out->flow != FLOW_SERVICE_ACCOUNT) {
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
	if (out->flow == FLOW_SERVICE_ACCOUNT && out->scope == NULL) {
		say("account %s: a service account names its scope: set scope "
		    "(or provider = google, for https://mail.google.com/)",
		    a->name);
		return OA2_ERR_CONFIG;
	}
	if (toolong) {
		say("account %s: an endpoint URL is longer than %d bytes",
		    a->name, URL_MAX - 1);
		return OA2_ERR_CONFIG;
	}
	/* The files themselves are read only when a request needs them
	 * (account_credentials): a cache hit touches no secret. */
	out->cfg = a;
	if (out->flow == FLOW_SERVICE_ACCOUNT)
		return 0;
	if (v[OA2_K_CLIENT_SECRET_FILE] != NULL &&
	    v[OA2_K_CLIENT_SECRET_COMMAND] != NULL) {
		say("account %s: client_secret_file and client_secret_command "
		    "are two sources of one secret: keep one of them",
		    a->name);
		return OA2_ERR_CONFIG;
	}
	/* A federated credential (RFC 7521/7523 client assertion from the
	 * platform): the only client authentication of such an account. */
	if (v[OA2_K_CLIENT_ASSERTION_FILE] != NULL) {
		if (v[OA2_K_CLIENT_SECRET_FILE] != NULL ||
		    v[OA2_K_CLIENT_SECRET_COMMAND] != NULL ||
		    v[OA2_K_CLIENT_KEY_FILE] != NULL ||
		    (v[OA2_K_CLIENT_AUTH] != NULL &&
			strcmp(v[OA2_K_CLIENT_AUTH], "private_key_jwt") != 0)) {
			say("account %s: client_assertion_file is the "
			    "account's client authentication: remove "
			    "client_secret_file, client_secret_command, "
			    "client_key_file and client_auth",
			    a->name);
			return OA2_ERR_CONFIG;
		}
		out->client_auth = CLIENT_AUTH_ASSERTION_FILE;
		return 0;
	}
	if (out->client_auth == CLIENT_AUTH_PRIVATE_KEY_JWT &&
	    v[OA2_K_CLIENT_KEY_FILE] == NULL) {
		say("account %s: client_auth = private_key_jwt needs "
		    "client_key_file (and client_certificate_file for Entra)",
		    a->name);
		return OA2_ERR_CONFIG;
	}
	if (out->client_auth != CLIENT_AUTH_PRIVATE_KEY_JWT &&
	    v[OA2_K_CLIENT_SECRET_FILE] == NULL &&
	    v[OA2_K_CLIENT_SECRET_COMMAND] == NULL &&
	    out->flow == FLOW_CLIENT_CREDENTIALS) {
		say("account %s: client credentials need a secret or a key: "
		    "set client_secret_file or client_secret_command, or "
		    "client_auth = private_key_jwt with client_key_file",
		    a->name);
		return OA2_ERR_CONFIG;
	}
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

/* The state directory under home, else the system's one for this uid. */
static int
state_dir_under(const char *xdg, const char *home, char *out, size_t outsz)
{
	if (xdg != NULL && *xdg == '/')
		snprintf(out, outsz, "%s/sasl-oauth2", xdg);
	else if (home != NULL && *home == '/')
		snprintf(out, outsz, "%s/.local/state/sasl-oauth2", home);
	else
		return OA2_ERR_NOTFOUND;
	/* There but loose, or not ours: falling back to another directory
	 * would quietly lose the login stored here. */
	if (oa2_mkdirs(out) == 0)
		return dir_is_private(out) ? 0 : OA2_ERR_CONFIG;
	/* System users (postfix) have unwritable homes: use the system
	 * state dir, one 0700 subdirectory per uid. */
	snprintf(out, outsz, LOCALSTATEDIR "/lib/sasl-oauth2/%u",
	    (unsigned)geteuid());
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return OA2_ERR_IO;
	return dir_is_private(out) ? 0 : OA2_ERR_PERM;
}

static const char *
passwd_home(void)
{
	struct passwd *pw = getpwuid(geteuid());

	return pw != NULL ? pw->pw_dir : NULL;
}

int
state_dir(char *out, size_t outsz)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if ((xdg == NULL || *xdg != '/') && (home == NULL || *home != '/'))
		home = passwd_home();
	return state_dir_under(xdg, home, out, outsz);
}

int
account_lock_dir(const struct account *acct, char *out, size_t outsz)
{
	/* With store = file the lock lives beside the store file: callers
	 * that share the file share the lock, wherever their environment
	 * points.  The kernel keyring and the Secret Service do not follow
	 * XDG_STATE_HOME or HOME, so neither may their lock: callers whose
	 * environments differ (Postfix's import_environment, an admin's
	 * runuser) would lock different files while spending one refresh
	 * token.  It goes to the uid's home from the password database, as
	 * OpenSSH finds ~/.ssh. */
	if (acct->store == STORE_FILE)
		return state_dir(out, outsz);
	return state_dir_under(NULL, passwd_home(), out, outsz);
}

/* The lock the front took and handed over across exec (front.c). */
static int inherited_lock = -1;

void
account_lock_inherit(void)
{
	const char *s = getenv(LOCK_FD_ENV);
	char *end;
	long fd;

	if (s == NULL)
		return;
	errno = 0;
	fd = strtol(s, &end, 10);
	if (errno == 0 && end != s && *end == '\0' && fd > 2 && fd < 65536 &&
	    fcntl((int)fd, F_SETFD, FD_CLOEXEC) == 0)
		inherited_lock = (int)fd;
	/* Not for our children, should we run any. */
	unsetenv(LOCK_FD_ENV);
}

/* fd is the lock file at path, and we hold its lock. */
static int
holds_lock(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 &&
	    S_ISREG(a.st_mode) && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino && flock(fd, LOCK_EX | LOCK_NB) == 0;
}

static volatile sig_atomic_t lock_timed_out;

static void
on_lock_alarm(int sig)
{
	(void)sig;
	lock_timed_out = 1;
}

/* Block on the lock rather than poll it: a waiter then sees the token the
 * holder cached the moment the holder lets go, which is what a storm of
 * callers waits for (docs/performance.md).  SIGALRM, installed without
 * SA_RESTART, ends the wait; it repeats every second after the deadline,
 * so a signal landing just before flock() is entered is not the last. */
static int
lock_wait(int fd, int op, int timeout_s)
{
	struct itimerval t = {{1, 0}, {0, 0}}, off = {{0, 0}, {0, 0}};
	long long left = deadline_left_ms();
	struct sigaction sa, old;
	sigset_t alrm, mask;
	int r = 0;

	if (flock(fd, op | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return OA2_ERR_IO;
	/* Give up a second before the caller kills us, so that its log
	 * gets our sentence rather than a killed helper. */
	if (left < LLONG_MAX && (left - 1000) / 1000 < timeout_s)
		timeout_s = (int)((left - 1000) / 1000);
	if (timeout_s <= 0)
		return OA2_ERR_TIMEOUT;
	t.it_value.tv_sec = timeout_s;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_lock_alarm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, &old) < 0)
		return OA2_ERR_IO;
	/* A caller may have left SIGALRM blocked (the mask survives exec). */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	(void)sigprocmask(SIG_UNBLOCK, &alrm, &mask);
	lock_timed_out = 0; /* a pending one just ran */
	if (setitimer(ITIMER_REAL, &t, NULL) < 0)
		r = OA2_ERR_IO;
	while (r == 0 && flock(fd, op) < 0) {
		if (errno != EINTR)
			r = OA2_ERR_IO;
		else if (lock_timed_out)
			r = OA2_ERR_TIMEOUT;
	}
	(void)setitimer(ITIMER_REAL, &off, NULL);
	(void)sigprocmask(SIG_SETMASK, &mask, NULL);
	(void)sigaction(SIGALRM, &old, NULL);
	return r;
}

static int lock_open(const struct account *acct, int op, int timeout_s);

int
account_lock(const struct account *acct, int timeout_s)
{
	return lock_open(acct, LOCK_EX, timeout_s);
}

int
account_lock_or_wait(const struct account *acct, int timeout_s, int *exclusive)
{
	int fd;

	*exclusive = 1;
	fd = lock_open(acct, LOCK_EX, 0);
	if (fd != OA2_ERR_TIMEOUT)
		return fd;
	*exclusive = 0;
	return lock_open(acct, LOCK_SH, timeout_s);
}

int
account_lock_upgrade(int fd, int timeout_s)
{
	return lock_wait(fd, LOCK_EX, timeout_s);
}

static int
lock_open(const struct account *acct, int op, int timeout_s)
{
	char dir[768], path[1024];
	int fd, r;

	if ((r = account_lock_dir(acct, dir, sizeof(dir))) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s.lock", dir, acct->name);
	if (inherited_lock >= 0) {
		fd = inherited_lock;
		inherited_lock = -1;
		if (holds_lock(fd, path))
			return fd;
		close(fd); /* another account's: not ours to keep */
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return OA2_ERR_IO;
	if ((r = lock_wait(fd, op, timeout_s)) != 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* The lock file's content: "<generation> <error> <sentence>\n", the
 * outcome of the last attempt to obtain a token under the lock (error 0
 * for success) and the sentence it said last.  A waiter that finds the
 * generation moved and an error knows that the attempt it waited for
 * failed, and says that attempt's own sentence instead of repeating the
 * same request: with a refresh token the provider just refused, a repeat
 * is one more use of a spent token, which reuse detection punishes.  The
 * file is 0600 in the private state directory; sentences hold no secret. */
#define OUTCOME_MAX (64 + SAID_MAX)

static int
outcome_parse(const char *b, ssize_t n, unsigned long *gen, int *err, char *why,
    size_t whysz)
{
	char buf[OUTCOME_MAX], *end;
	size_t wn;
	long e;

	*gen = 0;
	*err = 0;
	if (whysz > 0)
		why[0] = '\0';
	if (n <= 0)
		return 0;
	if ((size_t)n >= sizeof(buf))
		return OA2_ERR_PARSE;
	memcpy(buf, b, (size_t)n);
	buf[n] = '\0';
	errno = 0;
	*gen = strtoul(buf, &end, 10);
	if (errno != 0 || end == buf || *end != ' ')
		return OA2_ERR_PARSE;
	e = strtol(end + 1, &end, 10);
	if ((*end != ' ' && *end != '\n') || e > 0 || e < OA2_ERR_LAST)
		return OA2_ERR_PARSE;
	*err = (int)e;
	if (*end == ' ' && whysz > 0) {
		wn = strcspn(end + 1, "\n");
		if (wn >= whysz)
			wn = whysz - 1;
		memcpy(why, end + 1, wn);
		why[wn] = '\0';
	}
	return 0;
}

static int
outcome_read(int fd, unsigned long *gen, int *err, char *why, size_t whysz)
{
	char b[OUTCOME_MAX];

	return outcome_parse(
	    b, pread(fd, b, sizeof(b), 0), gen, err, why, whysz);
}

unsigned long
account_lock_generation(const struct account *acct)
{
	char dir[768], path[1024];
	unsigned long gen = 0;
	int fd, err;

	if (account_lock_dir(acct, dir, sizeof(dir)) != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s.lock", dir, acct->name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
	(void)outcome_read(fd, &gen, &err, NULL, 0);
	close(fd);
	return gen;
}

void
account_lock_record(int fd, int err)
{
	unsigned long gen;
	char b[OUTCOME_MAX];
	int old, n;

	if (fd < 0)
		return;
	if (outcome_read(fd, &gen, &old, NULL, 0) != 0)
		gen = 0;
	n = snprintf(b, sizeof(b), "%lu %d %s\n", gen + 1, err,
	    err != 0 ? said_last() : "");
	if (n < 0 || (size_t)n >= sizeof(b))
		n = snprintf(b, sizeof(b), "%lu %d\n", gen + 1, err);
	/* A failed truncate leaves the tail of a longer old record after
	 * ours, which the parser never reads past our newline. */
	if (pwrite(fd, b, (size_t)n, 0) == n && ftruncate(fd, n) != 0)
		return;
}

int
account_lock_failed_since(
    int fd, unsigned long gen0, int *err, char *why, size_t whysz)
{
	unsigned long gen;

	return fd >= 0 && outcome_read(fd, &gen, err, why, whysz) == 0 &&
	    gen != gen0 && *err != 0;
}

void
account_lock_failed_say(const char *account, int err, const char *why)
{
	if (why[0] != '\0')
		say("%s", why);
	else if (err == OA2_ERR_AUTH)
		say("account %s: the refresh token was refused a moment ago "
		    "(another sasl-oauth2 tried it); log in again: sasl-oauth2 "
		    "login %s",
		    account, account);
	else
		say("account %s: another sasl-oauth2 tried a moment ago and "
		    "failed (%s); not repeating it at once: run 'sasl-oauth2 "
		    "token %s' to see why",
		    account, oa2_strerror(err), account);
}

void
account_lock_busy(const char *account)
{
	say("account %s: another sasl-oauth2 has held the lock for %d s; try "
	    "again",
	    account, LOCK_TIMEOUT);
}

void
account_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}
