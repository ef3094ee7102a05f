/*
 * cmd_import.c: "sasl-oauth2 import": take an account over from
 * sasl-xoauth2 or mutt_oauth2.py, so that the next "token" refreshes with
 * the refresh token the old tool held and nobody logs in again.
 *
 *	sasl-oauth2 import sasl-xoauth2 --token-file FILE
 *	    [--xoauth2-config FILE] [options] ACCOUNT
 *	sasl-oauth2 import mutt_oauth2 --token-file FILE [options] ACCOUNT
 *	    [-- DECRYPT-COMMAND [ARG...]]
 *
 * The account section is appended to the configuration the other commands
 * read (confedit.c), with the preset its endpoint or registration names;
 * a client secret goes to a new 0600 file the section names; the refresh
 * token goes to the account's store.  Nothing is replaced: an account of
 * that name, a stored refresh token, a secret file already there are
 * refused with a sentence.  Order: everything is checked, then the secret
 * file, the refresh token and last the section are written; a failure
 * takes back what was written, so an account appears complete or not at
 * all.  The files formats are read in common/import.c.
 *
 * TRUST: the old tool's files are the user's, read with caps; the
 * decryption command is the user's, run without a shell (argv after
 * "--"), with the token file as its stdin and a deadline.
 * SECRETS: the refresh token and the client secret travel from the files
 * (or the decryption command's stdout) through wiping buffers to the store
 * and the secret file; never argv, the environment or a message.  The
 * access token in the old file is not taken over.  Files others can read
 * are named in a warning: they hold secrets the user may want to delete.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "helper.h"
#include "import.h"
#include "runcmd.h"
#include "secretfile.h"
#include "store.h"
#include "sysutil.h"
#include "wire.h"

#define XOAUTH2_CONFIG "/etc/sasl-xoauth2.conf"
#define DECRYPT_TIMEOUT_MS (120 * 1000)
/* sasl-xoauth2's helper asks Microsoft for this (scripts/
 * sasl-xoauth2-tool: "openid offline_access .../SMTP.Send"): a relay's
 * grant covers SMTP only, and a refresh asking for more is refused. */
#define MS_SCOPE_SMTP "https://outlook.office.com/SMTP.Send offline_access"
#define MS_MUTT_TENANT "common" /* mutt_oauth2.py's registration */

enum source_kind { SRC_XOAUTH2, SRC_MUTT };

struct import_args {
	enum source_kind kind;
	const char *source; /* its name in messages and the comment */
	const char *account;
	const char *token_file;
	const char *xoauth2_config;
	const char *user;
	const char *client_id;
	const char *client_secret_file;
	const char *tenant;
	const char *token_endpoint;
	const char *scope;
	const char *store;
	char **decrypt; /* argv, or NULL */
};

static void
import_usage(FILE *f)
{
	fputs("usage: sasl-oauth2 import sasl-xoauth2 --token-file FILE "
	      "[--xoauth2-config FILE]\n"
	      "                          [OPTIONS] ACCOUNT\n"
	      "       sasl-oauth2 import mutt_oauth2 --token-file FILE "
	      "[OPTIONS] ACCOUNT\n"
	      "                          [-- DECRYPT-COMMAND [ARG...]]\n"
	      "\n"
	      "Take an account over from sasl-xoauth2 or mutt_oauth2.py: add "
	      "the section\n[account ACCOUNT] to the configuration, with the "
	      "preset its token endpoint\nor registration names, and store "
	      "the refresh token, so that 'sasl-oauth2\ntoken ACCOUNT' needs "
	      "no login.  Nothing is overwritten.\n"
	      "\n"
	      "  --token-file FILE         the old tool's token file "
	      "(required)\n"
	      "  --xoauth2-config FILE     sasl-xoauth2's configuration "
	      "(default\n"
	      "                            " XOAUTH2_CONFIG ", if it "
	      "exists)\n"
	      "  --user MAILBOX            the mailbox, when the token file "
	      "names none\n"
	      "  --client-id ID            the application's client id, when "
	      "the files name\n"
	      "                            none (mutt's mutt_oauth2.py keeps "
	      "it in the script)\n"
	      "  --client-secret-file FILE where the imported client secret "
	      "is written (a new\n"
	      "                            file; default beside the "
	      "configuration), or the\n"
	      "                            existing secret file when the old "
	      "files hold none\n"
	      "  --tenant TENANT           mutt_oauth2 microsoft: the tenant "
	      "(default common)\n"
	      "  --token-endpoint URL      use this token endpoint instead of "
	      "the old one's\n"
	      "  --scope SCOPE             the account's scope (default: the "
	      "preset's)\n"
	      "  --store STORE             file (default), keyring or "
	      "secret-service\n"
	      "\n"
	      "A token file mutt_oauth2.py encrypted is decrypted by the "
	      "command after '--',\nrun without a shell with the file on its "
	      "stdin, as the script's DECRYPTION_PIPE.\n"
	      "\n"
	      "Examples:\n"
	      "  sasl-oauth2 import sasl-xoauth2 --token-file "
	      "/etc/tokens/relay@contoso.com \\\n"
	      "      --user relay@contoso.com relay\n"
	      "  sasl-oauth2 import mutt_oauth2 --token-file "
	      "~/.mutt/alice.tokens \\\n"
	      "      --client-id 00000000-0000-0000-0000-000000000000 work -- "
	      "gpg -d\n"
	      "\n"
	      "Exit status: 0 imported, 64 usage, 75 try again, 78 refused "
	      "(the sentence\nsays why and what to do).\n",
	    f);
}

/* A file of the old tool, open and checked: a regular file we may read,
 * within the cap.  Its mode, for the warning about loose files. */
struct source_file {
	const char *path;
	int fd;
	mode_t mode;
};

static int
source_open(const char *what, const char *path, struct source_file *sf)
{
	struct stat st;

	sf->path = path;
	sf->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (sf->fd < 0) {
		/* A path the user named: a mistake to fix, whatever errno. */
		say("cannot open %s %s: %s", what, path, strerror(errno));
		return OA2_ERR_CONFIG;
	}
	if (fstat(sf->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		say("%s %s is not a regular file", what, path);
		return OA2_ERR_CONFIG;
	}
	if (st.st_size > OA2_IMPORT_FILE_MAX) {
		say("%s %s is larger than %d bytes: not a token file", what,
		    path, OA2_IMPORT_FILE_MAX);
		return OA2_ERR_CONFIG;
	}
	sf->mode = st.st_mode;
	return 0;
}

static void
source_close(struct source_file *sf)
{
	if (sf->fd >= 0)
		close(sf->fd);
	sf->fd = -1;
}

static int
source_read(const struct source_file *sf, struct oa2_buf *out)
{
	char chunk[4096];
	ssize_t n;
	int r = 0;

	while ((n = read(sf->fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			say("cannot read %s: %s", sf->path, strerror(errno));
			r = OA2_ERR_IO;
			break;
		}
		if (oa2_buf_append(out, chunk, (size_t)n) != 0) {
			say("%s is larger than %d bytes: not a token file",
			    sf->path, OA2_IMPORT_FILE_MAX);
			r = OA2_ERR_CONFIG;
			break;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	return r;
}

/* The old tool's secrets stay where they were: say so when others can
 * read them there (the user's files, not ours to refuse: sasl-xoauth2's
 * configuration is world-readable by design). */
static void
source_warn(const char *account, const struct source_file *sf,
    const char *holds, const char *source)
{
	if (sf->path == NULL)
		return;
	if ((sf->mode & (S_IRGRP | S_IROTH)) != 0)
		say("account %s: %s can be read by others (mode %04o) and "
		    "holds "
		    "%s; delete it, or chmod 600 it, once %s no longer uses "
		    "it",
		    account, sf->path, (unsigned)(sf->mode & 07777), holds,
		    source);
}

/* Run the decryption command (argv, no shell) with the token file on its
 * stdin; its stdout, capped, into out.  Its stderr is the user's: gpg
 * may ask there for a pass phrase (so it stays in our process group,
 * the terminal's foreground one). */
static int
decrypt(char **argv, const struct source_file *sf, struct oa2_buf *out)
{
	struct runcmd rc = {0};
	struct runcmd_result res;

	rc.argv = argv;
	rc.search_path = 1;
	rc.stdin_fd = sf->fd;
	rc.out = out;
	rc.timeout_ms = DECRYPT_TIMEOUT_MS;
	verbose("decrypting %s with %s", sf->path, argv[0]);
	switch (runcmd_run(&rc, &res)) {
	case RUNCMD_NOT_RUN:
		say("cannot run the decryption command %s: %s", argv[0],
		    strerror(res.err));
		return OA2_ERR_CONFIG;
	case RUNCMD_TIMEOUT:
		say("the decryption command %s did not finish within "
		    "%d s; is it waiting for a pass phrase it cannot "
		    "ask for?",
		    argv[0], DECRYPT_TIMEOUT_MS / 1000);
		return OA2_ERR_TIMEOUT;
	case RUNCMD_TOOBIG:
		say("the decryption command %s wrote more than %d "
		    "bytes: not a token file",
		    argv[0], OA2_IMPORT_FILE_MAX);
		return OA2_ERR_CONFIG;
	case RUNCMD_DONE:
		break;
	}
	if (res.exit_code != 0) {
		say("the decryption command %s failed (exit %d) on %s; run it "
		    "yourself: %s < %s",
		    argv[0], res.exit_code, sf->path, argv[0], sf->path);
		return OA2_ERR_CONFIG;
	}
	return 0;
}

/* Does text start, after white space, as JSON does? */
static int
looks_like_json(const struct oa2_buf *text)
{
	size_t i;

	for (i = 0; i < text->len; i++)
		if (text->data[i] != ' ' && text->data[i] != '\n' &&
		    text->data[i] != '\r' && text->data[i] != '\t')
			return text->data[i] == '{';
	return 0;
}

static int
parse_failed(const struct import_args *ia, const char *path, const char *what,
    int r, const struct oa2_import *im)
{
	if (r == OA2_ERR_NOTFOUND)
		say("%s %s; nothing to import: log in with %s once more, or "
		    "set the account up and run 'sasl-oauth2 login %s'",
		    path, im->problem, ia->source, ia->account);
	else if (r == OA2_ERR_PARSE)
		say("%s %s; is it %s?", path, im->problem, what);
	else
		say("%s: %s", path, oa2_strerror(r));
	return r == OA2_ERR_NOMEM ? r : OA2_ERR_CONFIG;
}

/* Read the old tool's files into im; tok and conf are left closed, with
 * their paths and modes for the warnings. */
static int
read_sources(const struct import_args *ia, struct oa2_import *im,
    struct source_file *tok, struct source_file *conf, int *conf_secret)
{
	struct oa2_buf text;
	const char *conf_path = ia->xoauth2_config;
	int r = 0;

	oa2_buf_init(&text, OA2_IMPORT_FILE_MAX);
	if (ia->kind == SRC_XOAUTH2) {
		/* Its configuration is optional: a token file may name the
		 * client and endpoint itself. */
		if (conf_path == NULL && access(XOAUTH2_CONFIG, F_OK) == 0)
			conf_path = XOAUTH2_CONFIG;
		if (conf_path != NULL) {
			if ((r = source_open("the sasl-xoauth2 configuration",
				 conf_path, conf)) != 0 ||
			    (r = source_read(conf, &text)) != 0)
				goto out;
			if ((r = oa2_import_xoauth2_config(
				 oa2_buf_str(&text), text.len, im)) != 0) {
				r = parse_failed(ia, conf_path,
				    "sasl-xoauth2's configuration", r, im);
				goto out;
			}
			*conf_secret = im->client_secret.len > 0;
			oa2_buf_reset(&text);
		}
		if ((r = source_open("the token file", ia->token_file, tok)) !=
			0 ||
		    (r = source_read(tok, &text)) != 0)
			goto out;
		if ((r = oa2_import_xoauth2_token(
			 oa2_buf_str(&text), text.len, im)) != 0) {
			r = parse_failed(ia, ia->token_file,
			    "a sasl-xoauth2 token file", r, im);
			goto out;
		}
	} else {
		if ((r = source_open("the token file", ia->token_file, tok)) !=
		    0)
			goto out;
		r = ia->decrypt != NULL ? decrypt(ia->decrypt, tok, &text)
					: source_read(tok, &text);
		if (r != 0)
			goto out;
		if (ia->decrypt == NULL && !looks_like_json(&text)) {
			say("%s is not JSON: mutt_oauth2.py encrypts its token "
			    "files (ENCRYPTION_PIPE); give the command that "
			    "decrypts it after '--', as in: sasl-oauth2 import "
			    "mutt_oauth2 --token-file %s ... %s -- gpg "
			    "--decrypt",
			    ia->token_file, ia->token_file, ia->account);
			r = OA2_ERR_CONFIG;
			goto out;
		}
		if ((r = oa2_import_mutt(oa2_buf_str(&text), text.len, im)) !=
		    0) {
			r = parse_failed(ia, ia->token_file,
			    "a mutt_oauth2.py token file", r, im);
			goto out;
		}
	}
	verbose("%s: refresh token (%u bytes)%s%s", ia->token_file,
	    (unsigned)im->refresh_token.len,
	    im->client_id[0] ? ", client id" : "",
	    im->client_secret.len > 0 ? ", client secret" : "");
out:
	source_close(tok);
	source_close(conf);
	oa2_buf_free(&text);
	return r;
}

/* What the section says, decided from the files and the options. */
struct plan {
	const char *provider;
	char tenant[OA2_IMPORT_TENANT_MAX + 1];
	const char *token_endpoint; /* NULL: the preset's */
	const char *scope;
	const char *flow;
	char secret_path[PATH_MAX];
	int write_secret;   /* secret_path is to be created */
	int secret_named;   /* the section names secret_path */
	int secret_written; /* created by us: remove on failure */
	char proxy[OA2_IMPORT_URL_MAX + 8]; /* "" none */
};

static int
plan_endpoint(
    const struct import_args *ia, const struct oa2_import *im, struct plan *pl)
{
	const char *url = ia->token_endpoint;
	int is_preset;

	if (ia->kind == SRC_XOAUTH2) {
		if (url == NULL)
			url = im->token_endpoint[0]
			    ? im->token_endpoint
			    : OA2_IMPORT_XOAUTH2_DEFAULT_ENDPOINT;
		oa2_import_preset(url, &pl->provider, pl->tenant,
		    sizeof(pl->tenant), &is_preset);
		pl->token_endpoint = is_preset ? NULL : url;
		if (ia->tenant != NULL) {
			say("--tenant is for mutt_oauth2; sasl-xoauth2's token "
			    "endpoint names the tenant");
			return OA2_ERR_INVAL;
		}
		return 0;
	}
	/* mutt_oauth2.py: the registration names the provider, whose
	 * quirks the account needs (Microsoft wants scope on a refresh);
	 * --token-endpoint only moves the endpoint. */
	pl->token_endpoint = url;
	if (strcmp(im->registration, "microsoft") == 0) {
		pl->provider = "microsoft";
		snprintf(pl->tenant, sizeof(pl->tenant), "%s",
		    ia->tenant ? ia->tenant : MS_MUTT_TENANT);
	} else if (strcmp(im->registration, "google") == 0) {
		pl->provider = "google";
	} else if (url != NULL) {
		oa2_import_preset(url, &pl->provider, pl->tenant,
		    sizeof(pl->tenant), &is_preset);
		pl->token_endpoint = is_preset ? NULL : url;
	} else {
		say("%s: the registration '%s' is not one mutt_oauth2.py ships "
		    "(google, microsoft); give its token endpoint with "
		    "--token-endpoint URL",
		    ia->token_file, im->registration);
		return OA2_ERR_CONFIG;
	}
	if (ia->tenant != NULL && strcmp(pl->provider, "microsoft") != 0) {
		say("--tenant is for the microsoft registration");
		return OA2_ERR_INVAL;
	}
	return 0;
}

static int
plan_make(const struct import_args *ia, struct oa2_import *im,
    const char *config, struct plan *pl)
{
	char dirbuf[PATH_MAX], err[512];
	struct oa2_buf tmp;
	int r;

	memset(pl, 0, sizeof(*pl));
	if (im->external) {
		say("%s: sasl-xoauth2 leaves this token to another program "
		    "(manage_token_externally); there is no refresh token to "
		    "take over",
		    ia->token_file);
		return OA2_ERR_CONFIG;
	}
	if (im->client_credentials) {
		say("%s: sasl-xoauth2 uses client credentials here "
		    "(use_client_credentials), not a refresh token; set the "
		    "account up with flow = client_credentials instead (see "
		    "sasl-oauth2.conf(5))",
		    ia->token_file);
		return OA2_ERR_CONFIG;
	}
	if ((r = plan_endpoint(ia, im, pl)) != 0)
		return r;
	/* The options win over the files. */
	if (ia->user != NULL)
		snprintf(im->user, sizeof(im->user), "%s", ia->user);
	if (ia->client_id != NULL)
		snprintf(
		    im->client_id, sizeof(im->client_id), "%s", ia->client_id);
	if (im->user[0] == '\0') {
		say("%s names no mailbox; give it with --user MAILBOX (the "
		    "user in Postfix's sasl_passwd)",
		    ia->token_file);
		return OA2_ERR_CONFIG;
	}
	if (im->client_id[0] == '\0') {
		say("%s names no client id; give the application's with "
		    "--client-id ID%s",
		    ia->token_file,
		    ia->kind == SRC_MUTT ? " (the client_id of the script's "
					   "registrations table)"
					 : "");
		return OA2_ERR_CONFIG;
	}
	if (ia->scope != NULL)
		pl->scope = ia->scope;
	else if (im->scope[0] != '\0')
		pl->scope = im->scope;
	else if (ia->kind == SRC_XOAUTH2 &&
	    strcmp(pl->provider, "microsoft") == 0)
		pl->scope = MS_SCOPE_SMTP;
	if (im->device)
		pl->flow = "device_code";
	if (im->proxy[0] != '\0') {
		/* libcurl, which sasl-xoauth2 hands it to, reads a bare
		 * host:port as http. */
		snprintf(pl->proxy, sizeof(pl->proxy), "%s%s",
		    strstr(im->proxy, "://") != NULL ? "" : "http://",
		    im->proxy);
		if (oa2_proxy_has_userinfo(pl->proxy)) {
			explicit_bzero(pl->proxy, sizeof(pl->proxy));
			say("account %s: %s's proxy holds a user name or "
			    "password, which sasl-oauth2 does not send to "
			    "proxies; remove them (or the proxy) from its "
			    "files, then import again",
			    ia->account, ia->source);
			return OA2_ERR_CONFIG;
		}
		if (oa2_proxy_check(pl->proxy, err, sizeof(err)) != 0) {
			say("account %s: %s's proxy cannot be imported: %s; "
			    "fix it in its files, then import again",
			    ia->account, ia->source, err);
			return OA2_ERR_CONFIG;
		}
	}
	if (im->ca_dir)
		say("account %s: %s named ca_certs_dir, which sasl-oauth2 "
		    "does not have; set ca_file if the system's CA bundle "
		    "does not do",
		    ia->account, ia->source);

	/* The client secret: a new file of ours for one the old files
	 * hold; else an existing file the user names. */
	if (im->client_secret.len > 0) {
		if (ia->client_secret_file != NULL)
			snprintf(pl->secret_path, sizeof(pl->secret_path), "%s",
			    ia->client_secret_file);
		else {
			snprintf(dirbuf, sizeof(dirbuf), "%s", config);
			snprintf(pl->secret_path, sizeof(pl->secret_path),
			    "%s/%s.secret", dirname(dirbuf), ia->account);
		}
		if (pl->secret_path[0] != '/') {
			say("--client-secret-file needs an absolute path "
			    "(the configuration names it)");
			return OA2_ERR_INVAL;
		}
		if (access(pl->secret_path, F_OK) == 0) {
			say("account %s: %s already exists and is not "
			    "overwritten; name a new file with "
			    "--client-secret-file",
			    ia->account, pl->secret_path);
			return OA2_ERR_CONFIG;
		}
		pl->write_secret = pl->secret_named = 1;
	} else if (ia->client_secret_file != NULL) {
		oa2_buf_init(&tmp, OA2_SECRET_FILE_MAX);
		r = oa2_secretfile_read(
		    ia->client_secret_file, &tmp, err, sizeof(err));
		oa2_buf_free(&tmp);
		if (r != 0) {
			say("account %s: %s", ia->account, err);
			return OA2_ERR_CONFIG;
		}
		if (ia->client_secret_file[0] != '/') {
			say("--client-secret-file needs an absolute path "
			    "(the configuration names it)");
			return OA2_ERR_INVAL;
		}
		snprintf(pl->secret_path, sizeof(pl->secret_path), "%s",
		    ia->client_secret_file);
		pl->secret_named = 1;
	}
	return 0;
}

static int
build_section(const struct import_args *ia, const struct oa2_import *im,
    const struct plan *pl, struct oa2_buf *out)
{
	struct oa2_import_section s = {0};
	char date[16], from[PATH_MAX];
	const char *bad;
	time_t now = time(NULL);
	struct tm tm;
	int r;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%d", &tm) == 0)
		snprintf(date, sizeof(date), "today");
	s.account = ia->account;
	s.source = ia->source;
	s.from = realpath(ia->token_file, from) != NULL ? from : ia->token_file;
	s.date = date;
	s.user = im->user;
	s.provider = pl->provider;
	s.tenant = pl->tenant[0] ? pl->tenant : NULL;
	s.token_endpoint = pl->token_endpoint;
	s.client_id = im->client_id;
	s.client_secret_file = pl->secret_named ? pl->secret_path : NULL;
	/* Both tools send the secret in the form body; keep what worked. */
	s.client_auth = pl->secret_named ? "post" : NULL;
	s.scope = pl->scope;
	s.flow = pl->flow;
	s.store = ia->store != NULL && strcmp(ia->store, "file") != 0
	    ? ia->store
	    : NULL;
	s.ca_file = im->ca_file[0] ? im->ca_file : NULL;
	s.proxy = pl->proxy[0] ? pl->proxy : NULL;
	if ((r = oa2_import_section(&s, out, &bad)) == OA2_ERR_INVAL)
		say("account %s: the %s to import cannot be written in the "
		    "configuration (control characters, or too long)",
		    ia->account, bad);
	return r;
}

/* Refuse a name that is taken: a section, or a stored refresh token. */
static int
check_free(
    const struct import_args *ia, const char *config, enum store_kind kind)
{
	struct oa2_config cfg = {0};
	const struct oa2_account *a;
	struct oa2_store_entry e;
	char err[512], dir[768];
	int r;

	r = oa2_config_load(config, &cfg, err, sizeof(err));
	if (r != 0 && r != OA2_ERR_NOTFOUND) {
		say("%s", err);
		return OA2_ERR_CONFIG;
	}
	if (r == 0 && (a = oa2_config_find(&cfg, ia->account)) != NULL) {
		say("account %s is already defined in %s (line %d) and is not "
		    "overwritten; import under another name, or delete that "
		    "section first (after 'sasl-oauth2 logout %s' if its "
		    "tokens should go too)",
		    ia->account, config, a->line, ia->account);
		oa2_config_free(&cfg);
		return OA2_ERR_CONFIG;
	}
	oa2_config_free(&cfg);
	oa2_store_entry_init(&e);
	r = rt_load(ia->account, kind, &e, err, sizeof(err));
	oa2_store_entry_free(&e);
	if (r == 0) {
		if (kind == STORE_FILE && state_dir(dir, sizeof(dir)) == 0)
			say("account %s: a refresh token is already stored "
			    "under this name (%s/%s.json) and is not "
			    "overwritten; import under another name, or delete "
			    "that file if its login is no longer wanted",
			    ia->account, dir, ia->account);
		else
			say("account %s: a refresh token is already stored "
			    "under this name and is not overwritten; import "
			    "under another name",
			    ia->account);
		return OA2_ERR_CONFIG;
	}
	if (r != OA2_ERR_NOTFOUND) {
		say("account %s: %s", ia->account, err);
		return r;
	}
	return 0;
}

/* Another account of the mailbox: the plugin would not find ours. */
static void
warn_same_user(const char *account, const char *config, const char *user)
{
	struct oa2_config cfg = {0};
	const struct oa2_account *a;
	char err[512];

	if (oa2_config_load(config, &cfg, err, sizeof(err)) != 0)
		return;
	if ((a = oa2_config_find_user(&cfg, user)) != NULL)
		say("account %s: account %s in %s serves %s already; the "
		    "plugin uses the first account of a mailbox",
		    account, a->name, config, user);
	oa2_config_free(&cfg);
}

/* Write the secret file, the refresh token, the section; take back what
 * was written when a later step fails. */
static int
commit(const struct import_args *ia, struct oa2_import *im, struct plan *pl,
    const struct account *acct, const char *config,
    const struct oa2_buf *section)
{
	struct oa2_store_entry e;
	char err[768];
	int r, stored = 0;

	if (pl->write_secret) {
		r = oa2_secretfile_create(pl->secret_path,
		    im->client_secret.data, im->client_secret.len, err,
		    sizeof(err));
		if (r != 0) {
			say("account %s: %s; name a %s file with "
			    "--client-secret-file",
			    ia->account, err,
			    r == OA2_ERR_CONFIG ? "new" : "writable");
			return r;
		}
		pl->secret_written = 1;
		verbose("account %s: client secret (%u bytes) written to %s",
		    ia->account, (unsigned)im->client_secret.len,
		    pl->secret_path);
	}
	oa2_store_entry_init(&e);
	r = oa2_buf_append(
	    &e.refresh_token, im->refresh_token.data, im->refresh_token.len);
	snprintf(e.scope, sizeof(e.scope), "%s", im->scope);
	if (r == 0 &&
	    (r = rt_save(ia->account, acct->store, &e, err, sizeof(err))) != 0)
		say("account %s: could not store the refresh token: %s",
		    ia->account, err);
	oa2_store_entry_free(&e);
	if (r != 0)
		goto undo;
	stored = 1;
	verbose("account %s: refresh token stored", ia->account);
	/* It says why when it fails. */
	if ((r = config_add_section(config, ia->account, section)) != 0)
		goto undo;
	return 0;
undo:
	if (stored)
		(void)rt_delete(ia->account, acct->store, err, sizeof(err));
	if (pl->secret_written)
		(void)unlink(pl->secret_path);
	return r;
}

/* path, relative to the working directory, made absolute in place. */
static int
absolute(char *path, size_t pathsz)
{
	char cwd[PATH_MAX], rel[PATH_MAX];

	if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    (size_t)snprintf(rel, sizeof(rel), "%s", path) >= sizeof(rel) ||
	    (size_t)snprintf(path, pathsz, "%s/%s", cwd, rel) >= pathsz) {
		say("cannot make the path %s absolute", path);
		return OA2_ERR_INVAL;
	}
	return 0;
}

static int
parse_args(int argc, char **argv, struct import_args *ia)
{
	static const struct option longopts[] = {
	    {"token-file", required_argument, NULL, 'T'},
	    {"xoauth2-config", required_argument, NULL, 'X'},
	    {"user", required_argument, NULL, 'u'},
	    {"client-id", required_argument, NULL, 'i'},
	    {"client-secret-file", required_argument, NULL, 's'},
	    {"tenant", required_argument, NULL, 't'},
	    {"token-endpoint", required_argument, NULL, 'e'},
	    {"scope", required_argument, NULL, 'S'},
	    {"store", required_argument, NULL, 'k'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c, i, nopt = argc;

	memset(ia, 0, sizeof(*ia));
	/* The decryption command follows "--": it is no option of ours,
	 * and getopt would mix its words with our operands. */
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			nopt = i;
			if (i + 1 < argc)
				ia->decrypt = argv + i + 1;
			break;
		}
	while ((c = getopt_long(nopt, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'T':
			ia->token_file = optarg;
			break;
		case 'X':
			ia->xoauth2_config = optarg;
			break;
		case 'u':
			ia->user = optarg;
			break;
		case 'i':
			ia->client_id = optarg;
			break;
		case 's':
			ia->client_secret_file = optarg;
			break;
		case 't':
			ia->tenant = optarg;
			break;
		case 'e':
			ia->token_endpoint = optarg;
			break;
		case 'S':
			ia->scope = optarg;
			break;
		case 'k':
			ia->store = optarg;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'h':
			import_usage(stdout);
			return 1;
		default:
			import_usage(stderr);
			return -1;
		}
	}
	if (optind + 2 != nopt) {
		import_usage(stderr);
		return -1;
	}
	if (strcmp(argv[optind], "sasl-xoauth2") == 0) {
		ia->kind = SRC_XOAUTH2;
		ia->source = "sasl-xoauth2";
	} else if (strcmp(argv[optind], "mutt_oauth2") == 0 ||
	    strcmp(argv[optind], "mutt_oauth2.py") == 0) {
		ia->kind = SRC_MUTT;
		ia->source = "mutt_oauth2.py";
	} else {
		say("import: '%s' is not sasl-xoauth2 or mutt_oauth2",
		    argv[optind]);
		return -1;
	}
	ia->account = argv[optind + 1];
	if (ia->token_file == NULL) {
		say("import: --token-file FILE is required");
		return -1;
	}
	if (ia->kind == SRC_XOAUTH2 && ia->decrypt != NULL) {
		say("import: sasl-xoauth2's files are not encrypted; a "
		    "command after '--' is for mutt_oauth2");
		return -1;
	}
	if (ia->kind == SRC_MUTT && ia->xoauth2_config != NULL) {
		say("import: --xoauth2-config is for sasl-xoauth2");
		return -1;
	}
	if (nopt < argc && ia->decrypt == NULL) {
		say("import: '--' must be followed by the decryption command");
		return -1;
	}
	return 0;
}

/* The options' values, checked before anything is read. */
static int
check_args(const struct import_args *ia, enum store_kind *kind)
{
	if (!oa2_config_name_ok(ia->account) ||
	    oa2_store_account_check(ia->account) != 0) {
		say("import: the account name '%s' uses letters, digits and "
		    "- _ . @ (at most 64, not starting with '.')",
		    ia->account);
		return OA2_ERR_INVAL;
	}
	if (store_kind_parse(ia->store, kind) != 0) {
		say("import: --store is file, keyring or secret-service");
		return OA2_ERR_INVAL;
	}
	if (ia->user != NULL &&
	    (oa2_import_value_check(ia->user, OA2_MAILBOX_MAX) != 0 ||
		oa2_mailbox_check(ia->user) != 0 ||
		strpbrk(ia->user, ", \t") != NULL ||
		strchr(ia->user, '@') == NULL)) {
		say("import: --user takes one mailbox address");
		return OA2_ERR_INVAL;
	}
	if (ia->client_id != NULL &&
	    (strlen(ia->client_id) > OA2_IMPORT_ID_MAX ||
		oa2_opaque_check(ia->client_id, strlen(ia->client_id)) != 0)) {
		say("import: --client-id takes the application's client id");
		return OA2_ERR_INVAL;
	}
	if (ia->token_endpoint != NULL &&
	    oa2_import_url_check(ia->token_endpoint) != 0) {
		say("import: --token-endpoint takes an http(s) URL");
		return OA2_ERR_INVAL;
	}
	if (ia->scope != NULL && oa2_import_value_check(ia->scope, 1000) != 0) {
		say("import: --scope takes space-separated scopes");
		return OA2_ERR_INVAL;
	}
	if (ia->tenant != NULL &&
	    (strlen(ia->tenant) > OA2_IMPORT_TENANT_MAX ||
		strspn(ia->tenant,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789.-") != strlen(ia->tenant) ||
		ia->tenant[0] == '\0')) {
		say("import: --tenant takes a tenant id or domain");
		return OA2_ERR_INVAL;
	}
	return 0;
}

int
cmd_import(int argc, char **argv)
{
	struct import_args ia;
	struct oa2_import im;
	struct oa2_config sec = {0};
	struct account acct;
	struct oa2_buf section;
	struct plan pl;
	struct source_file tok = {NULL, -1, 0}, conf = {NULL, -1, 0};
	enum store_kind kind;
	char config[PATH_MAX], err[512];
	int r, lock = -1, conf_secret = 0;

	switch (parse_args(argc, argv, &ia)) {
	case 0:
		break;
	case 1:
		return 0;
	default:
		return EXIT_USAGE;
	}
	if (check_args(&ia, &kind) != 0)
		return EXIT_USAGE;
	memset(&acct, 0, sizeof(acct));
	oa2_import_init(&im);
	oa2_buf_init(&section, OA2_CONFIG_MAX);
	config_path(config, sizeof(config), 1);
	/* The section names files beside it: by absolute paths. */
	if (config[0] != '/' && absolute(config, sizeof(config)) != 0) {
		r = OA2_ERR_INVAL;
		goto out;
	}
	if ((r = check_free(&ia, config, kind)) != 0 ||
	    (r = read_sources(&ia, &im, &tok, &conf, &conf_secret)) != 0 ||
	    (r = plan_make(&ia, &im, config, &pl)) != 0 ||
	    (r = build_section(&ia, &im, &pl, &section)) != 0)
		goto out;
	/* What the section says must make an account the other commands
	 * accept: resolve it as they will. */
	if ((r = oa2_config_parse(section.data, section.len, config, &sec, err,
		 sizeof(err))) != 0) {
		say("account %s: %s", ia.account, err);
		goto out;
	}
	if ((r = account_resolve(&sec, &sec.accounts[0], NULL, &acct)) != 0)
		goto out;
	warn_same_user(ia.account, config, acct.user);
	/* As a login does, under the account's lock: a refresh of the
	 * same name must not run between our check and our save. */
	lock = account_lock(&acct, LOCK_TIMEOUT);
	if (lock == OA2_ERR_TIMEOUT) {
		lock = -1;
		account_lock_busy(ia.account);
		r = OA2_ERR_PROVIDER;
		goto out;
	}
	if ((r = check_free(&ia, config, kind)) != 0 ||
	    (r = commit(&ia, &im, &pl, &acct, config, &section)) != 0)
		goto out;
	account_unlock(lock);
	lock = -1;
	if (conf_secret)
		source_warn(ia.account, &conf, "a client secret", ia.source);
	/* An encrypted file others can read is no worry. */
	if (ia.decrypt == NULL)
		source_warn(ia.account, &tok, "a refresh token", ia.source);
	fprintf(stderr,
	    "sasl-oauth2: account %s: imported from %s: user %s, provider "
	    "%s%s%s; section added to %s%s%s, refresh token stored\n",
	    ia.account, ia.source, im.user, pl.provider,
	    pl.tenant[0] ? ", tenant " : "", pl.tenant, config,
	    pl.write_secret ? ", client secret written to " : "",
	    pl.write_secret ? pl.secret_path : "");
	fprintf(stderr,
	    "sasl-oauth2: account %s: stop %s from using %s: a provider that "
	    "rotates refresh tokens may revoke the grant when an old one is "
	    "used again.  Try it: sasl-oauth2 token %s\n",
	    ia.account, ia.source, ia.token_file, ia.account);
out:
	account_unlock(lock);
	oa2_config_free(&sec);
	oa2_buf_free(&section);
	oa2_import_free(&im);
	account_free(&acct);
	return exit_code_for(r);
}
