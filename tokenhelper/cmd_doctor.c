/*
 * cmd_doctor.c: "sasl-oauth2 doctor ACCOUNT": check an account the way the
 * plugin will use it, one line per step, and stop at the first failure
 * with what to do.  Every step goes through the code the other commands
 * use (configuration loading, secret-file checks, discovery, token_obtain),
 * so doctor finds what they would meet; the sentences they say become the
 * checklist's FAIL lines.
 *
 * TRUST: the token's claims are the provider's (claims.c parses them).
 * SECRETS: the client secret, the key and the token are read into wiping
 * buffers and never printed; only lengths, file modes and the token's
 * non-secret claims are.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "claims.h"
#include "err.h"
#include "helper.h"
#include "http.h"
#include "jwt.h"
#include "probe.h"
#include "replies.h"
#include "secretfile.h"
#include "store.h"

/* A client certificate this close to its end is worth a warning. */
#define CERT_WARN_DAYS 14
/* Microsoft ends refresh tokens unused for 90 days. */
#define MS_RT_IDLE_DAYS 90

static const char *const flow_names[] = {"authorization_code", "device_code",
    "client_credentials", "password", "service_account"};

struct report {
	int json;
	int rc;		      /* exit status: the first failure's */
	int warned;	      /* any warn line */
	struct oa2_buf steps; /* JSON array members */
	char config[1024];    /* the file, for the plugin's helper */
};

static const char *const verdict_names[] = {"ok", "warn", "FAIL"};

static void
json_str(struct oa2_buf *b, const char *name, const char *value)
{
	oa2_buf_appendc(b, '"');
	oa2_buf_appendz(b, name);
	oa2_buf_appendz(b, "\":\"");
	oa2_json_escape(b, value, strlen(value));
	oa2_buf_appendc(b, '"');
}

/* One line of the checklist; a FAIL sets the exit status rc. */
static void __attribute__((format(printf, 5, 6))) step(struct report *rp,
    enum oa2_verdict v, int rc, const char *name, const char *fmt, ...)
{
	char what[2048], clean[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	oa2_printable(clean, sizeof(clean), what, strlen(what));
	if (v == OA2_FAIL_V && rp->rc == 0)
		rp->rc = rc;
	if (v == OA2_WARN_V)
		rp->warned = 1;
	if (!rp->json) {
		printf("%-4s %s: %s\n", verdict_names[v], name, clean);
		fflush(stdout);
		return;
	}
	if (rp->steps.len > 0)
		oa2_buf_appendc(&rp->steps, ',');
	oa2_buf_appendc(&rp->steps, '{');
	json_str(&rp->steps, "step", name);
	oa2_buf_appendc(&rp->steps, ',');
	json_str(&rp->steps, "result", verdict_names[v]);
	oa2_buf_appendc(&rp->steps, ',');
	json_str(&rp->steps, "what", clean);
	oa2_buf_appendc(&rp->steps, '}');
}

/* The sentence the code under test said, without its "account X: ". */
static const char *
said_why(const char *account)
{
	const char *s = said_last();
	size_t n = strlen("account ");

	if (strncmp(s, "account ", n) == 0 &&
	    strncmp(s + n, account, strlen(account)) == 0 &&
	    strncmp(s + n + strlen(account), ": ", 2) == 0)
		return s + n + strlen(account) + 2;
	return s[0] != '\0' ? s : "failed (no reason given)";
}

static int
check_config(struct report *rp, const char *name, struct oa2_config *cfg,
    struct account *acct)
{
	const struct oa2_account *a;
	char *path = rp->config;
	struct stat st;
	int r;

	if (config_open(cfg, path, sizeof(rp->config)) != 0) {
		step(rp, OA2_FAIL_V, EXIT_CONFIG, "config", "%s",
		    said_why(name));
		return OA2_ERR_CONFIG;
	}
	if ((a = config_account(cfg, path, name, 0)) == NULL) {
		step(rp, OA2_FAIL_V, EXIT_CONFIG, "config", "%s",
		    said_why(name));
		return OA2_ERR_CONFIG;
	}
	if ((r = account_resolve(cfg, a, NULL, acct)) != 0) {
		step(rp, OA2_FAIL_V, exit_code_for(r), "config", "%s",
		    said_why(name));
		return r;
	}
	if (stat(path, &st) != 0)
		st.st_mode = 0;
	step(rp, OA2_OK_V, 0, "config",
	    "%s (mode %04o), account %s: provider %s, flow %s, user %s", path,
	    (unsigned)(st.st_mode & 07777), name, acct->provider,
	    flow_names[acct->flow], acct->user);
	return 0;
}

static int
check_certificate(struct report *rp, const struct account *acct)
{
	const char *path = acct->cfg->v[OA2_K_CLIENT_CERTIFICATE_FILE];
	char err[512], day[32];
	time_t not_after, now = time(NULL);
	struct tm tm;
	long long days;
	int r;

	if (path == NULL) {
		if (acct->microsoft)
			step(rp, OA2_WARN_V, 0, "certificate",
			    "no client_certificate_file: Entra finds the key's "
			    "certificate by its thumbprint; set it to the "
			    "certificate you uploaded to the app registration");
		return 0;
	}
	if ((r = oa2_jwt_cert_not_after(path, &not_after, err, sizeof(err))) !=
	    0) {
		step(rp, OA2_FAIL_V, EXIT_CONFIG, "certificate", "%s", err);
		return r;
	}
	gmtime_r(&not_after, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d %H:%M UTC", &tm);
	days = ((long long)not_after - (long long)now) / 86400;
	if (not_after <= now) {
		step(rp, OA2_FAIL_V, EXIT_CONFIG, "certificate",
		    "%s expired on %s: make a new key and certificate, upload "
		    "the certificate to the app registration, and set "
		    "client_key_file and client_certificate_file to them",
		    path, day);
		return OA2_ERR_CONFIG;
	}
	step(rp, days < CERT_WARN_DAYS ? OA2_WARN_V : OA2_OK_V, 0,
	    "certificate", "%s expires on %s (in %lld days)%s", path, day, days,
	    days < CERT_WARN_DAYS
		? ": upload a new certificate to the app registration soon"
		: "");
	return 0;
}

/* The secret or key: read through the same checks the token path makes
 * (refused when others may read it), then wiped. */
static int
check_credentials(struct report *rp, struct account *acct)
{
	const char *const *v = (const char *const *)acct->cfg->v;
	struct oa2_buf secret;
	struct stat st;
	char err[512], prog[OA2_CONFIG_LINE_MAX];
	void *key = NULL;
	int r;

	if (acct->flow == FLOW_SERVICE_ACCOUNT) {
		/* as the token request loads it, with its checks (a user that
		 * is the service account itself); names the file and the
		 * account, never the key */
		said_forget();
		if ((r = account_credentials(acct)) != 0) {
			step(rp, OA2_FAIL_V, exit_code_for(r), "secret", "%s",
			    said_why(acct->name));
			return r;
		}
		step(rp, OA2_OK_V, 0, "secret",
		    "service_account_file %s: service account %s (client ID "
		    "%s), an RSA key private to this user",
		    v[OA2_K_SERVICE_ACCOUNT_FILE], acct->sa_email,
		    acct->sa_client_id);
		return 0;
	}
	if (acct->client_auth == CLIENT_AUTH_PRIVATE_KEY_JWT) {
		r = oa2_jwt_load_key(
		    v[OA2_K_CLIENT_KEY_FILE], &key, err, sizeof(err));
		oa2_jwt_free_key(key);
		if (r != 0) {
			step(rp, OA2_FAIL_V, exit_code_for(r), "secret", "%s",
			    err);
			return r;
		}
		step(rp, OA2_OK_V, 0, "secret",
		    "client_key_file %s: an RSA key, private to this user",
		    v[OA2_K_CLIENT_KEY_FILE]);
		return check_certificate(rp, acct);
	}
	if (v[OA2_K_CLIENT_SECRET_COMMAND] != NULL) {
		/* run once, as the token request would; the secret stays
		 * loaded for the steps after this one */
		said_forget();
		if ((r = account_credentials(acct)) != 0) {
			step(rp, OA2_FAIL_V, exit_code_for(r), "secret", "%s",
			    said_why(acct->name));
			return r;
		}
		/* the program, not its arguments (as its messages do) */
		snprintf(prog, sizeof(prog), "%.*s",
		    (int)strcspn(v[OA2_K_CLIENT_SECRET_COMMAND], " \t"),
		    v[OA2_K_CLIENT_SECRET_COMMAND]);
		if (stat(prog, &st) != 0)
			st.st_mode = 0;
		step(rp, OA2_OK_V, 0, "secret",
		    "client_secret_command %s (mode %04o; it printed %zu "
		    "bytes)",
		    prog, (unsigned)(st.st_mode & 07777),
		    acct->client_secret.len);
		return 0;
	}
	if (v[OA2_K_CLIENT_SECRET_FILE] == NULL) {
		step(rp, OA2_OK_V, 0, "secret",
		    "none: a public client (no client_secret_file)");
		return 0;
	}
	oa2_buf_init(&secret, OA2_SECRET_FILE_MAX);
	r = oa2_secretfile_read(
	    v[OA2_K_CLIENT_SECRET_FILE], &secret, err, sizeof(err));
	if (r == 0 && secret.len == 0) {
		snprintf(err, sizeof(err),
		    "%s is empty: put the client secret's value in it",
		    v[OA2_K_CLIENT_SECRET_FILE]);
		r = OA2_ERR_CONFIG;
	}
	oa2_buf_free(&secret);
	if (r != 0) {
		step(rp, OA2_FAIL_V, exit_code_for(r), "secret", "%s", err);
		return r;
	}
	if (stat(v[OA2_K_CLIENT_SECRET_FILE], &st) != 0)
		st.st_mode = 0;
	step(rp, OA2_OK_V, 0, "secret", "client_secret_file %s (mode %04o)",
	    v[OA2_K_CLIENT_SECRET_FILE], (unsigned)(st.st_mode & 07777));
	return 0;
}

static int
check_endpoints(struct report *rp, struct account *acct)
{
	struct oa2_http h = {0};
	char via[OA2_PROXY_DESC_MAX], through[OA2_PROXY_DESC_MAX + 32];
	int discovered = acct->need_discovery, r;

	said_forget();
	if ((r = account_endpoints(acct)) != 0) {
		step(rp, OA2_FAIL_V, exit_code_for(r), "endpoints", "%s",
		    said_why(acct->name));
		return r;
	}
	h.proxy = acct->proxy;
	h.no_proxy = acct->no_proxy;
	through[0] = '\0';
	if (oa2_http_proxy_for(&h, acct->token_endpoint, via, sizeof(via)) ==
		0 &&
	    via[0] != '\0')
		snprintf(
		    through, sizeof(through), " through the proxy %s", via);
	if (discovered)
		step(rp, OA2_OK_V, 0, "endpoints",
		    "token endpoint %s (discovered from %s)%s",
		    acct->token_endpoint, acct->issuer, through);
	else
		step(rp, OA2_OK_V, 0, "endpoints", "token endpoint %s%s",
		    acct->token_endpoint, through);
	return 0;
}

static int
check_refresh_token(struct report *rp, const struct account *acct)
{
	static const char *const store_names[] = {
	    "file", "keyring", "secret-service"};
	struct oa2_store_entry e;
	char err[512];
	long long days;
	int r;

	if (account_app_only(acct))
		return 0;
	oa2_store_entry_init(&e);
	r = rt_load(acct->name, acct->store, &e, err, sizeof(err));
	days =
	    r == 0 ? ((long long)time(NULL) - (long long)e.updated) / 86400 : 0;
	oa2_store_entry_free(&e);
	if (r == OA2_ERR_NOTFOUND) {
		step(rp, OA2_FAIL_V, EXIT_NOPERM, "refresh token",
		    "none stored: not logged in; run: sasl-oauth2 login %s",
		    acct->name);
		return OA2_ERR_AUTH;
	}
	if (r != 0) {
		step(rp, OA2_FAIL_V, exit_code_for(r), "refresh token", "%s",
		    err);
		return r;
	}
	if (acct->microsoft && days >= MS_RT_IDLE_DAYS - 10)
		step(rp, OA2_WARN_V, 0, "refresh token",
		    "stored (%s), last used %lld days ago: Microsoft ends "
		    "refresh tokens unused for %d days",
		    store_names[acct->store], days, MS_RT_IDLE_DAYS);
	else
		step(rp, OA2_OK_V, 0, "refresh token",
		    "stored (%s), last used %lld days ago",
		    store_names[acct->store], days);
	return 0;
}

static int
check_token(struct report *rp, struct account *acct, int smtp, int imap)
{
	struct oa2_finding f[OA2_CLAIMS_FINDINGS_MAX];
	struct oa2_claims_need need;
	struct oa2_claims c;
	struct oa2_buf tok;
	time_t expiry = 0, now;
	size_t i, n;
	int cached, r;

	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	said_forget();
	cached = token_cached(acct, TOKEN_MIN_TTL, &tok, &expiry) == 0;
	if (!cached)
		r = token_obtain(acct, TOKEN_MIN_TTL, 0, &tok, &expiry);
	else
		r = 0;
	if (r != 0) {
		step(rp, OA2_FAIL_V, exit_code_for(r), "token", "%s",
		    said_why(acct->name));
		goto out;
	}
	now = time(NULL);
	step(rp, OA2_OK_V, 0, "token", "%s, %zu bytes, expires in %lld min",
	    cached ? "cached" : "obtained", tok.len,
	    ((long long)expiry - (long long)now) / 60);
	if (oa2_claims_parse(tok.data, tok.len, &c) != 0) {
		step(rp, OA2_OK_V, 0, "claims",
		    "an opaque token (not a JWT): only the server can judge "
		    "it");
		goto out;
	}
	memset(&need, 0, sizeof(need));
	need.mailbox = acct->user;
	need.microsoft = acct->microsoft;
	need.app_only = account_app_only(acct);
	need.smtp = smtp;
	need.imap = imap;
	need.now = now;
	n = oa2_claims_check(&c, &need, f, OA2_CLAIMS_FINDINGS_MAX);
	for (i = 0; i < n; i++) {
		/* An expired token is for later; the rest is configuration. */
		int rc = strcmp(f[i].step, "expiry") == 0 ? EXIT_TEMPFAIL
							  : EXIT_CONFIG;
		step(rp, f[i].verdict, rc, f[i].step, "%s", f[i].what);
		if (f[i].verdict == OA2_FAIL_V) {
			r = OA2_ERR_CONFIG;
			break;
		}
	}
out:
	oa2_buf_free(&tok);
	return r;
}

/* A real login through libsasl2 and the installed plugin, which gets its
 * token from the keyring doctor just filled, or from the helper it runs
 * with the same configuration file. */
static int
check_login(struct report *rp, const struct account *acct, int imap,
    const char *hostport)
{
	const char *name = imap ? "imap" : "smtp";
	const struct oa2_diagnosis *d;
	struct probe_result pr;
	char step_name[32];

	const struct oa2_account *first;

	/* The plugin knows only the mailbox: it acts for the first account
	 * whose user lists it, which may not be this one. */
	first = oa2_config_find_user(acct->config, acct->user);
	if (first != NULL && first != acct->cfg)
		step(rp, OA2_WARN_V, 0, name,
		    "the plugin logs in to %s with account %s, the first whose "
		    "user lists it, not with %s: the login below tests %s",
		    acct->user, first->name, acct->name, first->name);
	setenv("SASL_OAUTH2_CONFIG", rp->config, 1);
	if (probe_login(imap, hostport, acct->ca_file, acct->user, &pr) != 0) {
		step(rp, OA2_FAIL_V, pr.tempfail ? EXIT_TEMPFAIL : EXIT_CONFIG,
		    name, "%s: %s", pr.where[0] ? pr.where : hostport,
		    pr.error);
		return pr.tempfail ? OA2_ERR_NETWORK : OA2_ERR_CONFIG;
	}
	step(rp, OA2_OK_V, 0, name, "%s, %s", pr.where, pr.tls);
	/* libsasl2 2.1.28 ranks XOAUTH2 and OAUTHBEARER level with PLAIN
	 * and LOGIN and breaks the tie by plugin load order: a host that
	 * passes the server's whole list and an authorization id may take
	 * either (docs/postfix.md, section 5). */
	snprintf(step_name, sizeof(step_name), "%s mechanisms", name);
	if (pr.others[0] != '\0')
		step(rp, OA2_WARN_V, 0, step_name,
		    "the server also offers %s: a mail program that passes "
		    "the whole list with an authorization id (mbsync, imtest, "
		    "Postfix with send_cyrus_sasl_authzid = yes) may choose "
		    "one of those instead; name the mechanism (Postfix: "
		    "smtp_sasl_mechanism_filter = xoauth2, mbsync: AuthMechs "
		    "XOAUTH2)",
		    pr.others);
	snprintf(step_name, sizeof(step_name), "%s challenge", name);
	if (pr.have_challenge)
		step(rp, OA2_WARN_V, 0, step_name,
		    "status %s, schemes %s, scope %s",
		    pr.challenge.status[0] ? pr.challenge.status : "-",
		    pr.challenge.schemes[0] ? pr.challenge.schemes : "-",
		    pr.challenge.scope[0] ? pr.challenge.scope : "-");
	snprintf(step_name, sizeof(step_name), "%s login", name);
	if (pr.ok) {
		step(rp, OA2_OK_V, 0, step_name, "%s accepted: %s", pr.mech,
		    pr.reply);
		return 0;
	}
	d = oa2_reply_diagnose(
	    imap, pr.reply, pr.have_challenge ? &pr.challenge : NULL);
	step(rp, OA2_FAIL_V, d->exit, step_name, "%s refused: %s: %s%s",
	    pr.mech, pr.reply, d->what,
	    d->exit == EXIT_NOPERM && account_app_only(acct)
		? " (app-only: no login; the refused token is dropped and the "
		  "next attempt gets a new one: if that is refused too, the "
		  "server does not take this app's tokens for this mailbox)"
		: "");
	return d->exit == EXIT_TEMPFAIL ? OA2_ERR_PROVIDER : OA2_ERR_AUTH;
}

static void
doctor_usage(FILE *f)
{
	fputs("usage: sasl-oauth2 doctor [--smtp HOST[:PORT]] [--imap "
	      "HOST[:PORT]] [--json] ACCOUNT\n"
	      "\n"
	      "Check ACCOUNT step by step: configuration and file "
	      "permissions, endpoints,\nsecret or certificate, refresh "
	      "token, a token (cached or obtained) and its\nclaims, then a "
	      "real login through libsasl2 and the installed plugin;\none line "
	      "per step (ok, warn, FAIL), stopping at the first failure\nwith "
	      "what to do.  Never prints a token or a secret.\n"
	      "\n"
	      "  --smtp HOST[:PORT]  log in to this SMTP server (587 "
	      "STARTTLS, 465 TLS;\n"
	      "                      smtps://HOST:PORT for TLS on another "
	      "port)\n"
	      "  --imap HOST[:PORT]  log in to this IMAP server (143 "
	      "STARTTLS, 993 TLS;\n"
	      "                      imaps://HOST:PORT for TLS on another "
	      "port)\n"
	      "  --json              one JSON object instead of lines\n"
	      "\n"
	      "Exit status: 0 all ok (or warnings), 75 try later, 77 log in "
	      "again,\n78 configuration (here or at the provider).\n",
	    f);
}

int
cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"smtp", required_argument, NULL, 's'},
	    {"imap", required_argument, NULL, 'i'},
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct oa2_config cfg = {0};
	struct account acct;
	struct report rp;
	const char *smtp = NULL, *imap = NULL, *name;
	int c, r;

	memset(&rp, 0, sizeof(rp));
	memset(&acct, 0, sizeof(acct));
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			smtp = optarg;
			break;
		case 'i':
			imap = optarg;
			break;
		case 'j':
			rp.json = 1;
			break;
		case 'h':
			doctor_usage(stdout);
			return 0;
		default:
			doctor_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		doctor_usage(stderr);
		return EXIT_USAGE;
	}
	name = argv[optind];
	oa2_buf_init(&rp.steps, 1024 * 1024);
	opt.hush = 1; /* the sentences go into the checklist */
	if ((r = check_config(&rp, name, &cfg, &acct)) == 0 &&
	    (r = check_credentials(&rp, &acct)) == 0 &&
	    (r = check_endpoints(&rp, &acct)) == 0 &&
	    (r = check_refresh_token(&rp, &acct)) == 0 &&
	    (r = check_token(&rp, &acct, smtp != NULL, imap != NULL)) == 0) {
		if (smtp != NULL)
			r = check_login(&rp, &acct, 0, smtp);
		if (r == 0 && imap != NULL)
			r = check_login(&rp, &acct, 1, imap);
	}
	opt.hush = 0;
	if (rp.rc == 0 && r != 0)
		rp.rc = exit_code_for(r);
	if (rp.json) {
		struct oa2_buf out;
		char tail[96];
		oa2_buf_init(&out, 2 * 1024 * 1024);
		oa2_buf_appendc(&out, '{');
		json_str(&out, "account", name);
		snprintf(tail, sizeof(tail), ",\"result\":\"%s\",\"exit\":%d,",
		    rp.rc != 0	    ? "FAIL"
			: rp.warned ? "warn"
				    : "ok",
		    rp.rc);
		oa2_buf_appendz(&out, tail);
		oa2_buf_appendz(&out, "\"steps\":[");
		oa2_buf_append(&out, oa2_buf_str(&rp.steps), rp.steps.len);
		oa2_buf_appendz(&out, "]}\n");
		fwrite(oa2_buf_str(&out), 1, out.len, stdout);
		oa2_buf_free(&out);
	}
	oa2_buf_free(&rp.steps);
	account_free(&acct);
	oa2_config_free(&cfg);
	return rp.rc;
}
