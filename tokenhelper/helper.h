/*
 * helper.h: what the commands of sasl-oauth2 share.
 */
#ifndef OA2_HELPER_H
#define OA2_HELPER_H

#include <getopt.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "conf.h"
#include "sakey.h"
#include "wire.h"

/* sysexits(3) codes of the plugin <-> helper contract (DESIGN.md). */
#define EXIT_TOKEN 0
#define EXIT_USAGE 64
#define EXIT_SOFTWARE 70
#define EXIT_TEMPFAIL 75
#define EXIT_NOPERM 77
#define EXIT_CONFIG 78

#define URL_MAX 1024

enum flow {
	FLOW_AUTHORIZATION_CODE,
	FLOW_DEVICE_CODE,
	FLOW_CLIENT_CREDENTIALS,
	FLOW_PASSWORD,
	/* a Google service account with domain-wide delegation: the RFC
	 * 7523 JWT bearer grant, one token per mailbox (sub) */
	FLOW_SERVICE_ACCOUNT
};

enum store_kind { STORE_FILE, STORE_KEYRING, STORE_SECRET };

enum client_auth {
	CLIENT_AUTH_BASIC,
	CLIENT_AUTH_POST,
	CLIENT_AUTH_PRIVATE_KEY_JWT,
	/* a signed assertion the platform writes and renews (workload
	 * identity): client_assertion_file, read for every request */
	CLIENT_AUTH_ASSERTION_FILE
};

/* An account with presets applied and its secret loaded. */
struct account {
	const char *name;
	const char *user; /* the mailbox acted for */
	char user_buf[OA2_MAILBOX_MAX + 1];
	int several_users;     /* user lists more than one mailbox */
	const char *user_list; /* the configured list */
	const char *provider;
	const char *client_id;
	const char *scope;
	const char *ca_file;
	const char *proxy;    /* NULL: the environment's (http.h) */
	const char *no_proxy; /* with proxy: the hosts that bypass it */
	const char *issuer;   /* generic: discovery source */
	int need_discovery;   /* endpoints still to be discovered */
	int google;	      /* provider quirks */
	int microsoft;
	int refresh_scope; /* the provider wants scope on refresh */
	int iss_supported; /* discovery: RFC 9207 iss is always sent */
	enum flow flow;
	enum store_kind store;
	enum client_auth client_auth;
	char token_endpoint[URL_MAX];
	char authorization_endpoint[URL_MAX];
	char device_endpoint[URL_MAX];
	char revocation_endpoint[URL_MAX];
	struct oa2_buf client_secret; /* empty for public clients */
	void *client_key; /* private_key_jwt, service account: EVP_PKEY * */
	unsigned char thumbprint[32]; /* of client_certificate_file */
	int have_thumbprint;
	int credentials_loaded; /* secret or key read (account_endpoints) */
	/* flow = service_account: the JSON key file's client_email,
	 * client_id, private_key_id; the key is client_key */
	char sa_email[OA2_SAKEY_FIELD_MAX];
	char sa_client_id[OA2_SAKEY_FIELD_MAX];
	char sa_key_id[OA2_SAKEY_FIELD_MAX];
	const struct oa2_account *cfg;
	const struct oa2_config *config; /* all of them (key qualifiers) */
	char scope_buf[512];
};

struct options {
	int verbose;
	int quiet; /* say() says nothing: the front, before handing over */
	int hush;  /* say() only keeps its sentence (said_last): doctor */
	const char *config_path;
};

extern struct options opt;

/* The options before the command, for both programs' getopt_long. */
#define GLOBAL_SHORTOPTS "+c:vhV"
extern const struct option global_longopts[];

/* Messages: "sasl-oauth2: <text>" on stderr, one line in one write(2);
 * verbose() only with -v. */
#define SAID_MAX 1024 /* bytes of text in a line; longer ones are cut */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The text of the last say() ("" after said_forget()). */
const char *said_last(void);
void said_forget(void);

/* The caller's deadline: the plugin kills the helper at the
 * CLOCK_MONOTONIC millisecond in this variable (plugin/exec.c). */
#define DEADLINE_ENV "SASL_OAUTH2_DEADLINE"
/* Milliseconds until then (negative once passed), LLONG_MAX without one. */
long long deadline_left_ms(void);

/* No core files, no ptrace by other processes of the uid, umask 077. */
void harden(void);
/* The umask harden() replaced, for programs started for the user. */
mode_t harden_caller_umask(void);

/* The configuration file: -c FILE, else $SASL_OAUTH2_CONFIG, else the
 * user's ($XDG_CONFIG_HOME/sasl-oauth2/config) if it exists, else the
 * system's.  With create: where a new file goes when neither the user's
 * nor the system's exists (the user's). */
void config_path(char *path, size_t pathsz, int create);
/* Load the configuration (options, environment, XDG, /etc). */
int config_open(struct oa2_config *cfg, char *path, size_t pathsz);

/* a: an account of cfg, which must outlive out; mailbox: the one asked for
 * (token --user), or NULL for the first. */
int account_resolve(const struct oa2_config *cfg, const struct oa2_account *a,
    const char *mailbox, struct account *out);

void account_free(struct account *acct);

/*
 * Which key caches a's token for mailbox (one its user lists): NULL for the
 * mailbox's own key, else the name that qualifies the key (keyring.h).  The
 * plugin knows only the mailbox and reads its key; "token --user MAILBOX",
 * which it runs, acts for the first account whose user lists the mailbox
 * (oa2_config_find_user).  So that account's token, and only its, goes
 * under the mailbox's key; another account with the same user (another
 * scope, another provider) keeps its own token under a key that names it
 * too, and neither ever hands out the other's.
 */
const char *config_key_qualifier(const struct oa2_config *cfg,
    const struct oa2_account *a, const char *mailbox);
const char *account_key_qualifier(
    const struct account *acct, const char *mailbox);

/* A whole number of seconds in [lo, hi] for option name; says why not. */
int parse_seconds(
    const char *arg, const char *name, long lo, long hi, long *out);

/* Map an OA2 error class to an exit code. */
int exit_code_for(int err);

/* The per-uid state dir (created 0700), for locks and the refresh store. */
/* OA2_ERR_CONFIG: the dir (left in out) exists but others may enter it,
 * or it is not ours. */
int state_dir(char *out, size_t outsz);

/* Where the account's lock lives: beside the store file for store =
 * file, else in the uid's state dir found without the environment. */
int account_lock_dir(const struct account *acct, char *out, size_t outsz);

/* After a refresh of acct with result err (an OA2_ERR_*, 0 on success):
 * run the account's notify_command for what needs a human (notify.c). */
void notify_after_refresh(const struct account *acct, int err);
/* Exclusive per-account lock; returns an fd (>= 0) or a negative error.
 * Waits at most timeout_s. */
int account_lock(const struct account *acct, int timeout_s);
void account_unlock(int fd);
/* The account's lock if it is free (*exclusive = 1); else wait until the
 * holder lets go and share it with the other waiters (*exclusive = 0), who
 * then all look at the cache at once rather than one after another. */
int account_lock_or_wait(
    const struct account *acct, int timeout_s, int *exclusive);
/* From shared to exclusive: the holder left no token, so a waiter takes
 * over.  Not atomic (flock(2)): look at the cache again afterwards. */
int account_lock_upgrade(int fd, int timeout_s);
/* The front hands the account's lock to the full helper on an inherited
 * fd named in this variable; main() of the full helper adopts it, and
 * account_lock() uses it when it is that account's lock. */
#define LOCK_FD_ENV "SASL_OAUTH2_LOCK_FD"
#define LOCK_TIMEOUT 60
void account_lock_inherit(void);
/* The outcome of the last attempt under the account's lock: its
 * generation (0 if none) before waiting; after the wait, whether an
 * attempt since then failed (*err its error, why[] the sentence it said);
 * and, by the holder of the exclusive lock, the outcome of its own attempt
 * with the sentence it said last (said_last()). */
unsigned long account_lock_generation(const struct account *acct);
int account_lock_failed_since(
    int fd, unsigned long gen0, int *err, char *why, size_t whysz);
void account_lock_record(int fd, int err);
/* Say why the attempt another process made a moment ago failed. */
void account_lock_failed_say(const char *account, int err, const char *why);
/* Say that another process holds the account's lock for too long. */
void account_lock_busy(const char *account);

/* Flows: fill *tr; 0 on success or an OA2 error with the message said. */
struct oa2_token_response;
int flow_client_credentials(
    const struct account *acct, struct oa2_token_response *tr);
/* The JWT bearer grant (RFC 7523 2.1) of a service account for acct->user,
 * the mailbox it acts for (sub). */
int flow_service_account(
    const struct account *acct, struct oa2_token_response *tr);
/* No login: the account's own credential gets every token (client
 * credentials, service accounts). */
int account_app_only(const struct account *acct);
/* The sentence for a service account asked to act for itself, or for no
 * mailbox (client_id may be NULL before the key file is read). */
void account_sa_mistake(const struct account *acct, const char *client_id);
/* mb is a service account's address (...gserviceaccount.com). */
int account_is_service_account_email(const char *mb);

/* Add the account's client authentication (RFC 6749 2.3: basic, post,
 * none; RFC 7523 private_key_jwt for audience) to form or h. */
struct oa2_http;
int client_auth(const struct account *acct, const char *audience,
    struct oa2_buf *form, struct oa2_http *h);

/* Send a form to the token endpoint and parse the answer; on failure say
 * one sentence and return the class. */
int token_request(const struct account *acct, struct oa2_buf *form,
    struct oa2_token_response *tr);

/* The same, leaving an OAuth error in tr->error unexplained (device
 * polling: authorization_pending is no failure), and a transport error
 * (OA2_ERR_NETWORK, OA2_ERR_TIMEOUT) in neterr unsaid: a poll that got no
 * answer is retried, and only the last one matters to the user. */
int token_request_quiet(const struct account *acct, struct oa2_buf *form,
    struct oa2_token_response *tr, char *neterr, size_t neterrsz);

/* secretcmd.c: run command (the account's client_secret_command) and put
 * the secret it prints in out; 0, or an OA2 error with its sentence said
 * (OA2_ERR_TIMEOUT when it was killed for taking too long). */
int secret_command_read(
    const struct account *acct, const char *command, struct oa2_buf *out);

/* Load the client secret or key, once per process: the secret file or
 * command (refused when others can read or write it), or the key.  0, or
 * an OA2 error with its sentence said. */
int account_credentials(struct account *acct);

/* Before any request: load the client secret or key, and fetch the
 * discovery metadata if the account needs it (network). */
int account_endpoints(struct account *acct);

int flow_refresh(const struct account *acct, const char *refresh_token,
    struct oa2_token_response *tr);
int flow_code_exchange(const struct account *acct, const char *code,
    const char *redirect_uri, const char *verifier,
    struct oa2_token_response *tr);

/* tokens.c: the one path to a usable access token. */
#define TOKEN_MIN_TTL 120
/* Cached: at least min_ttl s left; else, under the account lock, cached
 * again (another process just refreshed) or obtained (client credentials
 * or the stored refresh token), the rotated refresh token saved first.
 * force skips the cache.  tok gets the token, *expiry its expiry. */
int token_obtain(struct account *acct, long min_ttl, int force,
    struct oa2_buf *tok, time_t *expiry);
/* Keep what a grant returned: refresh token durably, then the access token
 * in the cache.  *expiry gets the access token's expiry. */
int token_accept(
    struct account *acct, const struct oa2_token_response *tr, time_t *expiry);
/* cache.c (front too).  Cached access token of the account: 0, or an
 * OA2 error (not said). */
int token_cached(const struct account *acct, long min_ttl, struct oa2_buf *tok,
    time_t *expiry);
/* After a miss: wait for the account's lock, shared while someone else
 * obtains a token, and look again.  0 with the token (the lock released);
 * TOKEN_YOUR_TURN with *lock held exclusively, or *lock the error if the
 * lock cannot be had (not said): the caller obtains one itself; else an error
 * already said (the lock held too long, the attempt waited for failed). */
#define TOKEN_YOUR_TURN 1
int token_wait_turn(const struct account *acct, long min_ttl, int force,
    int *lock, struct oa2_buf *tok, time_t *expiry);

/* tokenout.c (front too): the token command's options and output. */
enum token_format { TOKEN_RAW, TOKEN_XOAUTH2, TOKEN_OAUTHBEARER, TOKEN_JSON };
struct token_args {
	const char *user; /* --user MAILBOX, or NULL */
	const char *key;  /* the account name or the mailbox */
	enum token_format fmt;
	long min_ttl;
};
#define TOKEN_ARGS_HELP 1
#define TOKEN_ARGS_USAGE 2 /* print the usage */
#define TOKEN_ARGS_BAD 3   /* said why */
int token_args_parse(int argc, char **argv, struct token_args *ta);
/* Print tok as fmt; an exit code. */
int token_emit(enum token_format fmt, const struct account *acct,
    const struct oa2_buf *tok, time_t expiry);

/* Find an account by name or, with by_user, by mailbox; says why not. */
const struct oa2_account *config_account(const struct oa2_config *cfg,
    const char *path, const char *key, int by_user);

/* rtstore.c: the account's refresh-token store (file, keyring,
 * secret-service); contracts as oa2_store_load/save/delete. */
struct oa2_store_entry;
int store_kind_parse(const char *value, enum store_kind *kind);
int rt_load(const char *account, enum store_kind kind,
    struct oa2_store_entry *e, char *err, size_t errsz);
int rt_save(const char *account, enum store_kind kind,
    const struct oa2_store_entry *e, char *err, size_t errsz);
int rt_delete(
    const char *account, enum store_kind kind, char *err, size_t errsz);

/* confedit.c: append section (the text of [account NAME], ending in a
 * newline) to the configuration file at path, atomically, keeping every
 * byte already there, its mode and owner; a new file and its directory
 * get the caller's umask, never writable by group or others.  Refused
 * when the file holds the account already, fails the checks the commands
 * make, or does not parse.  0, or an error already said. */
int config_add_section(
    const char *path, const char *account, const struct oa2_buf *section);

int cmd_token(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_refresh(int argc, char **argv);
int cmd_setup(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

#endif
