/*
 * helper.h: what the commands of sasl-oauth2 share.
 */
#ifndef OA2_HELPER_H
#define OA2_HELPER_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "conf.h"

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
	FLOW_PASSWORD
};

enum client_auth { CLIENT_AUTH_BASIC, CLIENT_AUTH_POST };

/* An account with presets applied and its secret loaded. */
struct account {
	const char *name;
	const char *user; /* mailbox */
	const char *provider;
	const char *client_id;
	const char *scope;
	const char *ca_file;
	enum flow flow;
	enum client_auth client_auth;
	char token_endpoint[URL_MAX];
	char authorization_endpoint[URL_MAX];
	char device_endpoint[URL_MAX];
	char revocation_endpoint[URL_MAX];
	struct oa2_buf client_secret; /* empty for public clients */
	char scope_buf[512];
};

struct options {
	int verbose;
	const char *config_path;
};

extern struct options opt;

/* Messages: "sasl-oauth2: <text>" on stderr; verbose() only with -v. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Load the configuration (options, environment, XDG, /etc). */
int config_open(struct oa2_config *cfg, char *path, size_t pathsz);

int account_resolve(const struct oa2_account *a, struct account *out);
void account_free(struct account *acct);

/* Map an OA2 error class to an exit code. */
int exit_code_for(int err);

/* The per-uid state dir (created 0700), for locks and the refresh store. */
int state_dir(char *out, size_t outsz);

/* Exclusive per-account lock; returns an fd (>= 0) or a negative error.
 * Waits at most timeout_s. */
int account_lock(const char *account, int timeout_s);
void account_unlock(int fd);

/* Flows: fill *tr; 0 on success or an OA2 error with the message said. */
struct oa2_token_response;
int flow_client_credentials(
    const struct account *acct, struct oa2_token_response *tr);

/* Send a form to the token endpoint and parse the answer; on failure say
 * one sentence and return the class. */
int token_request(const struct account *acct, struct oa2_buf *form,
    struct oa2_token_response *tr);

int cmd_token(int argc, char **argv);

#endif
