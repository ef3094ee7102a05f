/*
 * import.h: the token files of the tools people leave for sasl-oauth2
 * ("sasl-oauth2 import"), read into what an account needs.
 *
 * sasl-xoauth2 (github.com/tarickb/sasl-xoauth2): a JSON configuration,
 * /etc/sasl-xoauth2.conf,
 *
 *	{"client_id": "...", "client_secret": "...",
 *	 "token_endpoint": "...", "proxy": "...", "ca_bundle_file": "...",
 *	 "log_to_syslog_on_failure": "yes", ...}
 *
 * (client_id and client_secret required, client_secret "" for a public
 * client; token_endpoint defaults to Google's), and one JSON token file
 * per mailbox, named in Postfix's sasl_passwd:
 *
 *	{"access_token": "...", "refresh_token": "...", "expiry": "0",
 *	 "user": "...", "client_id": "...", "client_secret": "...",
 *	 "token_endpoint": "...", ...}
 *
 * where refresh_token is required and every other member of the
 * configuration may appear too, overriding it.  Its helper script dumps a
 * whole token endpoint answer there (with expires_in, scope, token_type),
 * so members we do not use are ignored.  Values are JSON strings; the tool
 * reads numbers and booleans as their text, and so do we where it matters.
 *
 * mutt_oauth2.py (mutt's contrib/, Debian: /usr/share/doc/mutt/examples):
 * one JSON token file, usually encrypted through its ENCRYPTION_PIPE
 * (decrypting is the caller's business):
 *
 *	{"registration": "microsoft", "authflow": "authcode",
 *	 "email": "...", "access_token": "...",
 *	 "access_token_expiration": "2024-01-01T10:00:00.000000",
 *	 "refresh_token": "...", "client_id": "...", "client_secret": "..."}
 *
 * registration names an entry of the script's own table (google and
 * microsoft as shipped); client_id and client_secret are in NeoMutt's copy
 * of the script only, mutt's keeps them in that table.
 *
 * Access tokens are never taken over: the first "token" refreshes.
 *
 * TRUST: the files are the user's, but a stale or hand-edited one must
 * become a sentence, not a half-imported account: size and depth capped,
 * every member used is type-checked, tokens and ids are syntax-checked
 * before anything is written.
 * SECRETS: the refresh token and the client secret, in wiping buffers.
 */
#ifndef OA2_IMPORT_H
#define OA2_IMPORT_H

#include <stddef.h>

#include "buf.h"
#include "wire.h"

#define OA2_IMPORT_FILE_MAX 65536 /* bytes of a file read */
#define OA2_IMPORT_URL_MAX 1024	  /* bytes of an endpoint, with its NUL */
#define OA2_IMPORT_ID_MAX 256	  /* bytes of a client id */
#define OA2_IMPORT_TENANT_MAX 128

/* sasl-xoauth2's default token endpoint (Google's, old name). */
#define OA2_IMPORT_XOAUTH2_DEFAULT_ENDPOINT                                    \
	"https://accounts.google.com/o/oauth2/token"

struct oa2_import {
	char user[OA2_MAILBOX_MAX + 1];		 /* "" when the file has none */
	char client_id[OA2_IMPORT_ID_MAX + 1];	 /* "" when none */
	int have_client_secret;			 /* named, maybe "" */
	struct oa2_buf client_secret;		 /* wiping; "" public client */
	struct oa2_buf refresh_token;		 /* wiping */
	char token_endpoint[OA2_IMPORT_URL_MAX]; /* "" when none */
	char registration[64];			 /* mutt_oauth2.py */
	char scope[1024];			 /* "" when not recorded */
	char ca_file[1024];			 /* ca_bundle_file */
	int device;			/* mutt_oauth2.py authflow devicecode */
	char proxy[OA2_IMPORT_URL_MAX]; /* sasl-xoauth2's; "" none */
	int ca_dir;			/* sasl-xoauth2 named ca_certs_dir */
	int client_credentials; /* sasl-xoauth2 use_client_credentials */
	int external;		/* sasl-xoauth2 manage_token_externally */
	char problem[192];	/* why a file was refused */
};

void oa2_import_init(struct oa2_import *im);
void oa2_import_free(struct oa2_import *im);

/*
 * Each returns 0, or OA2_ERR_PARSE with problem[] saying what is wrong
 * (never a value of the file); OA2_ERR_NOMEM, OA2_ERR_TOOBIG.  Members
 * found replace what an earlier call set (the token file overrides the
 * configuration), so call them in that order.
 */
int oa2_import_xoauth2_config(
    const char *text, size_t len, struct oa2_import *im);
/* Also OA2_ERR_NOTFOUND (problem set) without a refresh_token. */
int oa2_import_xoauth2_token(
    const char *text, size_t len, struct oa2_import *im);
/* Also OA2_ERR_NOTFOUND without a refresh token (it is "" until the
 * script's first authorization). */
int oa2_import_mutt(const char *text, size_t len, struct oa2_import *im);

/* The preset of a token endpoint: provider "microsoft" (tenant from the
 * path of a v2.0 endpoint), "google" (any of Google's token endpoint
 * names), else "generic".  *is_preset is 1 when the preset's endpoint
 * serves this URL, so the account need not name it. */
void oa2_import_preset(const char *url, const char **provider, char *tenant,
    size_t tenantsz, int *is_preset);

/* 0 if s can be a value in the configuration file: one line of visible
 * ASCII and inner spaces, no leading or trailing space, at most max
 * bytes; else OA2_ERR_INVAL. */
int oa2_import_value_check(const char *s, size_t max);

/* An endpoint we write: http(s), a value_check'ed URL shorter than
 * OA2_IMPORT_URL_MAX, no space.  0 or OA2_ERR_INVAL. */
int oa2_import_url_check(const char *url);

/* The account section the import appends; NULL members are not written. */
struct oa2_import_section {
	const char *account;
	const char *source; /* "sasl-xoauth2", "mutt_oauth2.py" */
	const char *from;   /* the file imported (made printable) */
	const char *date;   /* YYYY-MM-DD */
	const char *user;
	const char *provider;
	const char *tenant;
	const char *token_endpoint;
	const char *client_id;
	const char *client_secret_file;
	const char *client_auth;
	const char *scope;
	const char *flow;
	const char *store;
	const char *ca_file;
	const char *proxy;
};

/* Append the section (a blank line, a comment, "[account NAME]", one
 * "key = value" line each) to out.  OA2_ERR_INVAL, with *bad the key,
 * when a value cannot be written (value_check). */
int oa2_import_section(
    const struct oa2_import_section *s, struct oa2_buf *out, const char **bad);

#endif
