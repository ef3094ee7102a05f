/*
 * conf.h: the INI configuration of accounts.
 *
 *	# comment
 *	[account work]
 *	user = me@example.com
 *	provider = microsoft
 *	...
 *
 * Keys are those of DESIGN.md; an unknown key, a duplicate key or account,
 * or a line that is neither is an error naming the file and line.
 */
#ifndef OA2_CONF_H
#define OA2_CONF_H

#include <stddef.h>

#define OA2_CONFIG_MAX (1024 * 1024)
#define OA2_CONFIG_LINE_MAX 4096

enum oa2_key {
	OA2_K_USER,
	OA2_K_PROVIDER,
	OA2_K_TENANT,
	OA2_K_ISSUER,
	OA2_K_AUTHORIZATION_ENDPOINT,
	OA2_K_TOKEN_ENDPOINT,
	OA2_K_DEVICE_AUTHORIZATION_ENDPOINT,
	OA2_K_REVOCATION_ENDPOINT,
	OA2_K_CLIENT_ID,
	OA2_K_CLIENT_SECRET_FILE,
	OA2_K_CLIENT_AUTH,
	OA2_K_SCOPE,
	OA2_K_FLOW,
	OA2_K_STORE,
	OA2_K_CA_FILE,
	OA2_K_CLIENT_KEY_FILE,
	OA2_K_CLIENT_CERTIFICATE_FILE,
	OA2_K_NOTIFY_COMMAND,
	OA2_K_CLIENT_ASSERTION_FILE,
	OA2_K_CLIENT_SECRET_COMMAND,
	OA2_K_SERVICE_ACCOUNT_FILE,
	OA2_K_PROXY,
	OA2_K_NO_PROXY,
	OA2_K_COUNT
};

struct oa2_account {
	char *name;
	char *v[OA2_K_COUNT]; /* NULL when not set */
	int line;	      /* line of the [account] header */
};

struct oa2_config {
	struct oa2_account *accounts;
	size_t count;
};

const char *oa2_key_name(enum oa2_key k);

/* Parse text[0..len).  On error, err holds "FILE:LINE: what". */
int oa2_config_parse(const char *text, size_t len, const char *path,
    struct oa2_config *cfg, char *err, size_t errsz);
/* Read and parse a file (size-capped), refusing one that is not this
 * user's or root's, or that group or others may write. */
int oa2_config_load(
    const char *path, struct oa2_config *cfg, char *err, size_t errsz);
/* The same checks on an open file, and its bytes: *text (malloc'ed,
 * NUL-terminated, for the caller to free) and *len. */
int oa2_config_read_fd(int fd, const char *path, char **text, size_t *len,
    char *err, size_t errsz);
/* 1 if name may follow "[account " (letters, digits, - _ . @; 1 to 64). */
int oa2_config_name_ok(const char *name);
void oa2_config_free(struct oa2_config *cfg);

/* 0 if proxy is fit for the proxy key: http://, https:// or socks5h://,
 * a host, a port, no path, and no user name or password (those would sit
 * in a file that is not a secret file, and an http proxy would get the
 * password in the clear); else OA2_ERR_CONFIG with a sentence in err that
 * never repeats a password. */
int oa2_proxy_check(const char *proxy, char *err, size_t errsz);

const struct oa2_account *oa2_config_find(
    const struct oa2_config *cfg, const char *name);
/* The n-th (from 0) mailbox of a user list "a@x, b@x" into out: 0, or
 * OA2_ERR_NOTFOUND past the end, OA2_ERR_TOOBIG if one is over outsz. */
int oa2_user_nth(const char *list, size_t n, char *out, size_t outsz);

/* Case-insensitive match on any of the account's users (mailboxes); one
 * app-only account may serve several. */
const struct oa2_account *oa2_config_find_user(
    const struct oa2_config *cfg, const char *mailbox);

#endif
