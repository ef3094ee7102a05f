/*
 * plugin.c: the Cyrus SASL client mechanisms XOAUTH2 and OAUTHBEARER.
 *
 * The mailbox comes from the host: its authorization identity (SASL_CB_USER
 * callback or prompt), else its authentication name (SASL_CB_AUTHNAME).
 * Requiring the former is also what keeps libsasl2 from choosing these
 * mechanisms for a host that relays with a password (see required_prompts).
 * The token comes from, in order: the kernel keyring cache, the token
 * helper (executed), or, only in compatibility mode, the host's password.
 * After a server rejects a token (error challenge) the cached token is
 * invalidated, if it is still that token, so the next login fetches a new
 * one, and the challenge is answered as the mechanism requires so the host
 * gets a clean failure.
 *
 * The plugin never exits, aborts, prints, or touches the host's signals.
 *
 * TRUST: the server's challenge and the helper's output are untrusted and
 * size-capped; only printable excerpts of them reach the log.
 * SECRETS: the token, held in wiping buffers (the context's token and
 * output buffers, wiped on dispose); never logged.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "buf.h"
#include "err.h"
#include "exec.h"
#include "keyring.h"
#include "wire.h"

#ifndef OA2_HELPER_PATH
#define OA2_HELPER_PATH "/usr/bin/sasl-oauth2"
#endif
/* A cached token needs this much life left for the plugin to use it. */
#define OA2_PLUGIN_MIN_TTL 60

enum mech { MECH_XOAUTH2, MECH_OAUTHBEARER };

enum state { ST_START, ST_SENT, ST_ERROR_ANSWERED };

struct context {
	enum state state;
	char mailbox[OA2_MAILBOX_MAX + 1];
	struct oa2_buf token;
	struct oa2_buf out;
};

/* Said once per process: a keyring-less host falls back quietly. */
static int keyring_unavailable_logged;

/*
 * Where each mailbox's token was found in the keyring, so that the next
 * login reads that key in one system call instead of searching @u for it
 * first (docs/performance.md, P1).  A process logs in for one mailbox or a
 * few (a Postfix smtp process relays for a sender or two); more take turns
 * in the table.  Hosts may log in from several threads: whoever finds the
 * table taken (a try-lock, so nothing ever waits, not even a forked child
 * whose parent held it) just searches as before.
 */
#define KEY_MEMO_SLOTS 8
static struct {
	char mailbox[OA2_MAILBOX_MAX + 1]; /* as the host gave it; "" free */
	struct oa2_keyring_hit hit;
} key_memo[KEY_MEMO_SLOTS];
static unsigned key_memo_next;
static int key_memo_taken;

static int
key_memo_lock(void)
{
	return __atomic_exchange_n(&key_memo_taken, 1, __ATOMIC_ACQUIRE) == 0;
}

static void
key_memo_unlock(void)
{
	__atomic_store_n(&key_memo_taken, 0, __ATOMIC_RELEASE);
}

/* Exact comparison: two spellings of one mailbox just take two slots,
 * whereas a case-insensitive match that disagreed with the description's
 * lower-casing (a locale's strcasecmp) could pair a mailbox with another
 * mailbox's key. */
static void
key_memo_recall(const char *mailbox, struct oa2_keyring_hit *hit)
{
	size_t i;

	memset(hit, 0, sizeof(*hit));
	if (!key_memo_lock())
		return;
	for (i = 0; i < KEY_MEMO_SLOTS; i++)
		if (strcmp(key_memo[i].mailbox, mailbox) == 0) {
			*hit = key_memo[i].hit;
			break;
		}
	key_memo_unlock();
}

static void
key_memo_keep(const char *mailbox, const struct oa2_keyring_hit *hit)
{
	size_t i;

	if (!key_memo_lock())
		return;
	for (i = 0; i < KEY_MEMO_SLOTS; i++)
		if (strcmp(key_memo[i].mailbox, mailbox) == 0)
			break;
	if (i == KEY_MEMO_SLOTS && hit->serial != 0) {
		i = key_memo_next++ % KEY_MEMO_SLOTS;
		snprintf(key_memo[i].mailbox, sizeof(key_memo[i].mailbox), "%s",
		    mailbox);
	}
	if (i < KEY_MEMO_SLOTS)
		key_memo[i].hit = *hit;
	key_memo_unlock();
}

static int
env_true(const char *name)
{
	const char *v = secure_getenv(name);

	return v != NULL &&
	    (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 ||
		strcmp(v, "true") == 0);
}

static int
password_is_token(const sasl_utils_t *utils)
{
	const char *v = NULL;
	unsigned len = 0;

	if (env_true("SASL_OAUTH2_PASSWORD_IS_TOKEN"))
		return 1;
	if (utils->getopt != NULL &&
	    utils->getopt(utils->getopt_context, "OAUTH2",
		"oauth2_password_is_token", &v, &len) == SASL_OK &&
	    v != NULL)
		return strcmp(v, "yes") == 0 || strcmp(v, "1") == 0 ||
		    strcmp(v, "true") == 0;
	return 0;
}

static int
mech_new(void *glob_context, sasl_client_params_t *params, void **conn_context)
{
	struct context *ctx;

	if ((ctx = params->utils->malloc(sizeof(*ctx))) == NULL) {
		params->utils->seterror(
		    params->utils->conn, 0, "sasl-oauth2: out of memory");
		return SASL_NOMEM;
	}
	memset(ctx, 0, sizeof(*ctx));
	ctx->state = ST_START;
	oa2_buf_init(&ctx->token, OA2_TOKEN_MAX + 2);
	oa2_buf_init(&ctx->out, OA2_RESPONSE_MAX);
	*conn_context = ctx;
	return SASL_OK;
}

static void
mech_dispose(void *conn_context, const sasl_utils_t *utils)
{
	struct context *ctx = conn_context;

	if (ctx == NULL)
		return;
	oa2_buf_free(&ctx->token);
	oa2_buf_free(&ctx->out);
	explicit_bzero(ctx, sizeof(*ctx));
	utils->free(ctx);
}

static sasl_interact_t *
find_prompt(sasl_interact_t *p, unsigned long id)
{
	for (; p != NULL && p->id != SASL_CB_LIST_END; p++)
		if (p->id == id)
			return p;
	return NULL;
}

/*
 * One name from the host: the answer to our prompt if the host gave one,
 * else its callback.  *need says the host answers this one by prompt
 * (SASL_INTERACT: a callback registered without a procedure).  Any other
 * failure of the callback leaves *value NULL, as if the host had no name.
 */
static void
get_name(const sasl_utils_t *u, sasl_interact_t *answers, unsigned long id,
    const char **value, unsigned *len, int *need)
{
	sasl_interact_t *pr;
	sasl_getsimple_t *proc = NULL;
	void *cbctx = NULL;

	*value = NULL;
	*len = 0;
	*need = 0;
	if ((pr = find_prompt(answers, id)) != NULL && pr->result != NULL) {
		*value = pr->result;
		*len = pr->len;
	} else {
		int r = u->getcallback(
		    u->conn, id, (sasl_callback_ft *)&proc, &cbctx);
		if (r == SASL_OK && proc != NULL)
			r = proc(cbctx, (int)id, value, len);
		if (r != SASL_OK) {
			*need = r == SASL_INTERACT;
			*value = NULL;
			*len = 0;
		}
	}
	/* Some hosts leave the length 0 for a NUL-terminated answer. */
	if (*value != NULL && *len == 0)
		*len = (unsigned)strlen(*value);
}

/*
 * Ask the host for the mailbox (and, in compatibility mode, the password)
 * through callbacks, or else through prompts (SASL_INTERACT).  A prompt
 * answer wins over callbacks; both copy into the context.
 *
 * The mailbox is the identity to act as, the authorization identity
 * (SASL_CB_USER): OAUTHBEARER sends no other name than the GS2 header's
 * authzid (RFC 7628 section 3.1, RFC 5801 section 4), XOAUTH2's user= is
 * the same thing, and the token says who authenticates.  Where the host's
 * authzid is empty (imtest without -u), the client asks to act as its
 * authentication identity (RFC 4422 section 3.4.1), which for us names
 * the mailbox too: then the authentication name (SASL_CB_AUTHNAME) is the
 * mailbox.
 */
static int
get_credentials(struct context *ctx, sasl_client_params_t *params,
    sasl_interact_t **prompt_need, int want_pass)
{
	const sasl_utils_t *u = params->utils;
	sasl_interact_t *p = prompt_need != NULL ? *prompt_need : NULL;
	const char *name = NULL;
	int need_authzid = 0, need_name = 0, need_pass = 0;
	unsigned nlen = 0;

	get_name(u, p, SASL_CB_USER, &name, &nlen, &need_authzid);
	if (need_authzid || name == NULL || nlen == 0) {
		/* Asked along with the authzid, which may come back empty. */
		get_name(u, p, SASL_CB_AUTHNAME, &name, &nlen, &need_name);
		if (name == NULL)
			need_name = 1;
	}
	if (want_pass) {
		sasl_interact_t *pr = find_prompt(p, SASL_CB_PASS);
		sasl_secret_t *secret = NULL;

		if (pr != NULL && pr->result != NULL) {
			if (oa2_buf_append(&ctx->token, pr->result, pr->len) !=
			    0)
				return SASL_BADPARAM;
		} else {
			sasl_getsecret_t *proc = NULL;
			void *cbctx = NULL;
			int r = u->getcallback(u->conn, SASL_CB_PASS,
			    (sasl_callback_ft *)&proc, &cbctx);
			if (r == SASL_OK && proc != NULL)
				r = proc(u->conn, cbctx, SASL_CB_PASS, &secret);
			if (r == SASL_INTERACT || secret == NULL)
				need_pass = 1;
			else if (r != SASL_OK)
				return r;
			else if (oa2_buf_append(&ctx->token, secret->data,
				     secret->len) != 0)
				return SASL_BADPARAM;
		}
	}
	if (prompt_need != NULL && *prompt_need != NULL) {
		u->free(*prompt_need);
		*prompt_need = NULL;
	}
	if (need_authzid || need_name || need_pass) {
		size_t n = 0;
		sasl_interact_t *ask;

		oa2_buf_reset(&ctx->token);
		if (prompt_need == NULL)
			return SASL_BADPARAM;
		if ((ask = u->malloc(4 * sizeof(*ask))) == NULL)
			return SASL_NOMEM;
		memset(ask, 0, 4 * sizeof(*ask));
		if (need_authzid) {
			ask[n].id = SASL_CB_USER;
			ask[n].challenge = "Mailbox";
			ask[n].prompt = "Mailbox (OAuth2 user): ";
			n++;
		}
		if (need_name) {
			ask[n].id = SASL_CB_AUTHNAME;
			ask[n].challenge = "Authentication name";
			ask[n].prompt = "Authentication name: ";
			n++;
		}
		if (need_pass) {
			ask[n].id = SASL_CB_PASS;
			ask[n].challenge = "Access token";
			ask[n].prompt = "Access token: ";
			n++;
		}
		ask[n].id = SASL_CB_LIST_END;
		*prompt_need = ask;
		return SASL_INTERACT;
	}
	if (name == NULL || nlen == 0 || nlen > OA2_MAILBOX_MAX ||
	    memchr(name, '\0', nlen) != NULL) {
		u->seterror(u->conn, 0,
		    "sasl-oauth2: the client gave no usable mailbox "
		    "(SASL user name)");
		return SASL_BADPARAM;
	}
	memcpy(ctx->mailbox, name, nlen);
	ctx->mailbox[nlen] = '\0';
	if (oa2_mailbox_check(ctx->mailbox) != 0) {
		u->seterror(u->conn, 0,
		    "sasl-oauth2: the SASL user name is not a usable mailbox");
		return SASL_BADPARAM;
	}
	return SASL_OK;
}

/* SASL_OAUTH2_HELPER_TIMEOUT (seconds, 1 to 300) bounds a helper run. */
static int
helper_timeout_ms(void)
{
	const char *v = secure_getenv("SASL_OAUTH2_HELPER_TIMEOUT");
	char *end;
	long s;

	if (v == NULL || *v == '\0')
		return OA2_HELPER_TIMEOUT_MS;
	s = strtol(v, &end, 10);
	if (*end != '\0' || s < 1 || s > 300)
		return OA2_HELPER_TIMEOUT_MS;
	return (int)s * 1000;
}

/* The program to run: in a set-id host (AT_SECURE) the environment is
 * the unprivileged caller's, so only the compiled-in path counts there;
 * every variable is read with secure_getenv(), as libsasl2 reads
 * SASL_PATH. */
static const char *
helper_path(void)
{
	const char *h = secure_getenv("SASL_OAUTH2_HELPER");

	return h != NULL && *h == '/' ? h : OA2_HELPER_PATH;
}

/* Explain a failed helper run in one sentence, for the host's log and for
 * sasl_errdetail(). */
static void
report_helper_failure(const sasl_utils_t *u, const char *mailbox,
    const char *helper, int r, const struct helper_result *res)
{
	char msg[768];
	/* Where posix_spawn cannot report a failed exec (older C libraries,
	 * valgrind), the child exits 127 without a word. */
	int not_run = res->spawn_errno != 0 ||
	    (res->exit_status == 127 && res->err[0] == '\0');

	if (not_run)
		snprintf(msg, sizeof(msg),
		    "sasl-oauth2: no fresh token for %s in the kernel keyring, "
		    "and the helper %s cannot be run here (%s); inside a "
		    "chroot, keep the keyring fresh with 'sasl-oauth2 refresh "
		    "--all' run as this user outside it",
		    mailbox, helper,
		    res->spawn_errno != 0 ? strerror(res->spawn_errno)
					  : "exit 127");
	else if (res->timed_out)
		snprintf(msg, sizeof(msg),
		    "sasl-oauth2: '%s token' for %s gave no answer in %d s; "
		    "is the identity provider reachable?",
		    helper, mailbox, helper_timeout_ms() / 1000);
	else if (res->overflow || r == OA2_ERR_PARSE)
		snprintf(msg, sizeof(msg),
		    "sasl-oauth2: %s printed something that is not an "
		    "access token for %s",
		    helper, mailbox);
	else if (res->term_signal != 0)
		snprintf(msg, sizeof(msg),
		    "sasl-oauth2: %s was killed by signal %d while getting "
		    "a token for %s",
		    helper, res->term_signal, mailbox);
	else if (res->err[0] != '\0')
		/* The helper's own sentence, already "what; what to do". */
		snprintf(msg, sizeof(msg), "%s", res->err);
	else
		snprintf(msg, sizeof(msg),
		    "sasl-oauth2: %s failed (exit %d) getting a token for %s",
		    helper, res->exit_status, mailbox);
	u->seterror(u->conn, 0, "%s", msg);
	u->log(u->conn, SASL_LOG_ERR, "%s", msg);
}

static int
get_token(struct context *ctx, sasl_client_params_t *params)
{
	const sasl_utils_t *u = params->utils;
	struct oa2_keyring_hit hit, before;
	struct helper_result res;
	struct oa2_buf raw;
	const char *helper;
	time_t expiry;
	int r;

	key_memo_recall(ctx->mailbox, &hit);
	before = hit;
	r = oa2_keyring_get(ctx->mailbox, NULL, time(NULL), OA2_PLUGIN_MIN_TTL,
	    &ctx->token, &expiry, &hit);
	key_memo_keep(ctx->mailbox, &hit);
	if (r == 0) {
		/* Said for each token found, not at every login that reads
		 * it again: libsasl2 formats a log line even where nothing
		 * logs it, and that costs more than the read itself. */
		if (hit.serial != before.serial ||
		    hit.fingerprint != before.fingerprint)
			u->log(u->conn, SASL_LOG_DEBUG,
			    "sasl-oauth2: cached token for %s from the kernel "
			    "keyring",
			    ctx->mailbox);
		return SASL_OK;
	}
	if (r == OA2_ERR_UNAVAIL && !keyring_unavailable_logged) {
		keyring_unavailable_logged = 1;
		u->log(u->conn, SASL_LOG_DEBUG,
		    "sasl-oauth2: no kernel keyring here; using the helper");
	} else if (r != OA2_ERR_NOTFOUND && r != OA2_ERR_EXPIRED &&
	    r != OA2_ERR_UNAVAIL) {
		u->log(u->conn, SASL_LOG_DEBUG,
		    "sasl-oauth2: keyring lookup for %s: %s", ctx->mailbox,
		    oa2_strerror(r));
	}

	helper = helper_path();
	oa2_buf_init(&raw, OA2_TOKEN_MAX + 2);
	r = helper_run(helper, ctx->mailbox, helper_timeout_ms(), &raw, &res);
	/* A host that reaps its children itself took the exit status: a
	 * well-formed token and a silent stderr are the helper's success. */
	if (r == 0 && res.unreaped && res.err[0] == '\0' && raw.len > 0)
		res.exit_status = 0;
	if (r == 0 && res.exit_status == 0)
		r = oa2_helper_output_parse(
		    raw.data != NULL ? raw.data : "", raw.len, &ctx->token);
	else if (r == 0)
		r = OA2_ERR_AUTH;
	oa2_buf_free(&raw);
	if (r != 0) {
		report_helper_failure(u, ctx->mailbox, helper, r, &res);
		/* 75 (EX_TEMPFAIL): try later; anything else needs a human. */
		return res.exit_status == 75 || res.timed_out ? SASL_TRYAGAIN
							      : SASL_FAIL;
	}
	u->log(u->conn, SASL_LOG_DEBUG,
	    "sasl-oauth2: token for %s from %s (%u bytes)", ctx->mailbox,
	    helper, (unsigned)ctx->token.len);
	return SASL_OK;
}

static int
build_response(
    enum mech mech, struct context *ctx, sasl_client_params_t *params)
{
	const char *host = params->serverFQDN;
	char bare[256];
	unsigned port = 0;
	const char *rp = params->ipremoteport, *sep;

	if (mech == MECH_XOAUTH2)
		return oa2_xoauth2_build(
		    ctx->mailbox, ctx->token.data, ctx->token.len, &ctx->out);
	/* ipremoteport is "addr;port" (or the older "addr:port"). */
	if (rp != NULL &&
	    ((sep = strrchr(rp, ';')) != NULL ||
		(sep = strrchr(rp, ':')) != NULL)) {
		char *end;
		unsigned long v = strtoul(sep + 1, &end, 10);
		if (*end == '\0' && v > 0 && v <= 65535)
			port = (unsigned)v;
	}
	if (host != NULL && *host == '\0')
		host = NULL;
	/* sendmail names a bracketed smarthost "[192.0.2.1]" (or
	 * "[IPv6:2001:db8::1]"); host= wants the bare address (RFC 7628). */
	if (host != NULL && host[0] == '[') {
		size_t n = strlen(host);

		if (n > 2 && host[n - 1] == ']' && n - 2 < sizeof(bare)) {
			const char *b = host + 1;

			n -= 2;
			if (n > 5 && strncasecmp(b, "IPv6:", 5) == 0) {
				b += 5;
				n -= 5;
			}
			memcpy(bare, b, n);
			bare[n] = '\0';
			host = bare;
		}
	}
	return oa2_oauthbearer_build(ctx->mailbox, host, port, ctx->token.data,
	    ctx->token.len, &ctx->out);
}

static int
step_start(enum mech mech, struct context *ctx, sasl_client_params_t *params,
    sasl_interact_t **prompt_need, const char **clientout,
    unsigned *clientoutlen, sasl_out_params_t *oparams)
{
	const sasl_utils_t *u = params->utils;
	int compat = password_is_token(u);
	int r;

	if ((r = get_credentials(ctx, params, prompt_need, compat)) != SASL_OK)
		return r;
	if (compat) {
		if (oa2_token_check(ctx->token.data, ctx->token.len) != 0) {
			u->seterror(u->conn, 0,
			    "sasl-oauth2: compatibility mode is on but the "
			    "password is not an access token");
			return SASL_BADPARAM;
		}
	} else if ((r = get_token(ctx, params)) != SASL_OK) {
		return r;
	}
	if ((r = build_response(mech, ctx, params)) != 0) {
		u->seterror(u->conn, 0,
		    "sasl-oauth2: cannot build the %s message for %s: %s",
		    mech == MECH_XOAUTH2 ? "XOAUTH2" : "OAUTHBEARER",
		    ctx->mailbox, oa2_strerror(r));
		return SASL_FAIL;
	}
	r = params->canon_user(u->conn, ctx->mailbox, 0,
	    SASL_CU_AUTHID | SASL_CU_AUTHZID, oparams);
	if (r != SASL_OK)
		return r;
	*clientout = ctx->out.data;
	*clientoutlen = (unsigned)ctx->out.len;
	ctx->state = ST_SENT;
	return SASL_CONTINUE;
}

/*
 * The server sent a challenge after our message: that is its error report
 * (RFC 7628 section 3.2.2; Google's XOAUTH2 does the same).  Log it, drop
 * the cached token, and answer so the server ends the exchange.
 *
 * Only the rejected token is dropped: while the server took its time,
 * another process may have cached a fresh one (a refresh, a login), and
 * that one must survive.  One rule serves a token from the keyring and one
 * from the helper (which cached it under the mailbox's key) alike: the
 * mailbox's key is invalidated if it holds the very token the server
 * refused, and left alone otherwise.
 */
static int
step_error(enum mech mech, struct context *ctx, sasl_client_params_t *params,
    const char *serverin, unsigned serverinlen, const char **clientout,
    unsigned *clientoutlen)
{
	const sasl_utils_t *u = params->utils;
	struct oa2_challenge ch;
	int r;

	r = oa2_challenge_parse(serverin, serverinlen, &ch);
	if (r == 0)
		u->log(u->conn, SASL_LOG_FAIL,
		    "sasl-oauth2: server rejected the token for %s: "
		    "status=%s scope=%s",
		    ctx->mailbox, ch.status[0] ? ch.status : "(none)",
		    ch.scope[0] ? ch.scope : "(none)");
	else
		u->log(u->conn, SASL_LOG_FAIL,
		    "sasl-oauth2: server rejected the token for %s "
		    "(unreadable error challenge, %u bytes: %s)",
		    ctx->mailbox, serverinlen, oa2_strerror(r));
	if (!password_is_token(u) &&
	    (r = oa2_keyring_invalidate_token(
		 ctx->mailbox, ctx->token.data, ctx->token.len)) != 0 &&
	    r != OA2_ERR_UNAVAIL)
		u->log(u->conn, SASL_LOG_DEBUG,
		    "sasl-oauth2: could not drop the cached token for %s: %s",
		    ctx->mailbox, oa2_strerror(r));
	oa2_buf_reset(&ctx->out);
	if (mech == MECH_OAUTHBEARER && oa2_buf_appendc(&ctx->out, '\001') != 0)
		return SASL_NOMEM;
	*clientout = mech == MECH_OAUTHBEARER ? ctx->out.data : "";
	*clientoutlen = mech == MECH_OAUTHBEARER ? 1 : 0;
	ctx->state = ST_ERROR_ANSWERED;
	return SASL_CONTINUE;
}

static int
mech_step(enum mech mech, void *conn_context, sasl_client_params_t *params,
    const char *serverin, unsigned serverinlen, sasl_interact_t **prompt_need,
    const char **clientout, unsigned *clientoutlen, sasl_out_params_t *oparams)
{
	struct context *ctx = conn_context;
	const sasl_utils_t *u = params->utils;

	*clientout = NULL;
	*clientoutlen = 0;
	switch (ctx->state) {
	case ST_START:
		return step_start(mech, ctx, params, prompt_need, clientout,
		    clientoutlen, oparams);
	case ST_SENT:
		if (serverinlen > 0)
			return step_error(mech, ctx, params, serverin,
			    serverinlen, clientout, clientoutlen);
		/* Success without additional data. */
		oparams->doneflag = 1;
		oparams->mech_ssf = 0;
		oparams->maxoutbuf = 0;
		oparams->encode = NULL;
		oparams->decode = NULL;
		oparams->param_version = 0;
		return SASL_OK;
	case ST_ERROR_ANSWERED:
	default:
		u->seterror(u->conn, 0,
		    "sasl-oauth2: the server rejected the token for %s",
		    ctx->mailbox);
		return SASL_BADPROT;
	}
}

static int
xoauth2_step(void *c, sasl_client_params_t *p, const char *in, unsigned inlen,
    sasl_interact_t **pn, const char **out, unsigned *outlen,
    sasl_out_params_t *op)
{
	return mech_step(MECH_XOAUTH2, c, p, in, inlen, pn, out, outlen, op);
}

static int
oauthbearer_step(void *c, sasl_client_params_t *p, const char *in,
    unsigned inlen, sasl_interact_t **pn, const char **out, unsigned *outlen,
    sasl_out_params_t *op)
{
	return mech_step(
	    MECH_OAUTHBEARER, c, p, in, inlen, pn, out, outlen, op);
}

/*
 * What the mechanisms need from the host: the identity to act as, and no
 * password (libsasl2's default, for NULL, is AUTHNAME and PASS).
 *
 * This list also decides, honestly, when libsasl2 may choose them.  Given
 * the server's whole list, sasl_client_start() (libsasl2 2.1.28 as Debian
 * 12 ships it, lib/client.c:762-836) takes the first mechanism of its own
 * list that the server offers and whose required callbacks the host has
 * (have_prompts(), client.c:535, asking _sasl_getcallback(), common.c:1722).
 * Its own list is sorted as plugins load, by mech_compare() (client.c:144:
 * security flags, channel binding, max_ssf, hash strength), and equals stay
 * in load order (client.c:230-241): SASL_PATH order, then readdir() order
 * of each directory (dlopen.c:387), which differs between file systems.
 * XOAUTH2 and OAUTHBEARER equal PLAIN and LOGIN on every criterion: the
 * same flags, NOANONYMOUS | PASS_CREDENTIALS, which is all that is true of
 * a replayable bearer token; max_ssf 0; no channel binding.  Dropping a
 * flag would hide them from hosts that ask for noanonymous (Postfix);
 * claiming one more, or an SSF, would make them win everywhere.
 *
 * Requiring SASL_CB_USER breaks the tie without a false claim.  The only
 * name OAUTHBEARER sends is an authzid (RFC 7628 section 3.1), and
 * XOAUTH2's user= is the same; a host that registers no authzid callback
 * logs in as its authentication name with a password (Postfix's default,
 * send_cyrus_sasl_authzid = no: "send no SASL authoriZation ID"), which is
 * PLAIN's and LOGIN's business, and libsasl2 now skips both mechanisms
 * there whatever the load order.  A host that does register one (mbsync,
 * imtest, Postfix with send_cyrus_sasl_authzid = yes) still ties, and must
 * name the mechanism it wants (docs/postfix.md, docs/mbsync.md).
 * tests/t-mech-choice.sh checks both load orders.  libsasl2 always has an
 * AUTHNAME callback (its default, common.c:1799), so listing it excludes
 * no host; it is here because the mailbox falls back to it.
 */
static const unsigned long required_prompts[] = {
    SASL_CB_USER, SASL_CB_AUTHNAME, SASL_CB_LIST_END};

static sasl_client_plug_t plugins[] = {
    {
	.mech_name = "XOAUTH2",
	.max_ssf = 0,
	.security_flags = SASL_SEC_NOANONYMOUS | SASL_SEC_PASS_CREDENTIALS,
	.features = SASL_FEAT_WANT_CLIENT_FIRST,
	.required_prompts = required_prompts,
	.mech_new = mech_new,
	.mech_step = xoauth2_step,
	.mech_dispose = mech_dispose,
    },
    {
	.mech_name = "OAUTHBEARER",
	.max_ssf = 0,
	.security_flags = SASL_SEC_NOANONYMOUS | SASL_SEC_PASS_CREDENTIALS,
	.features = SASL_FEAT_WANT_CLIENT_FIRST,
	.required_prompts = required_prompts,
	.mech_new = mech_new,
	.mech_step = oauthbearer_step,
	.mech_dispose = mech_dispose,
    },
};

int sasl_client_plug_init(const sasl_utils_t *utils, int maxversion,
    int *out_version, sasl_client_plug_t **pluglist, int *plugcount);

int
sasl_client_plug_init(const sasl_utils_t *utils, int maxversion,
    int *out_version, sasl_client_plug_t **pluglist, int *plugcount)
{
	if (maxversion < SASL_CLIENT_PLUG_VERSION) {
		utils->log(NULL, SASL_LOG_ERR,
		    "sasl-oauth2: libsasl2 offers client plugin API %d, "
		    "need %d: XOAUTH2 and OAUTHBEARER are unavailable",
		    maxversion, SASL_CLIENT_PLUG_VERSION);
		return SASL_BADVERS;
	}
	*out_version = SASL_CLIENT_PLUG_VERSION;
	*pluglist = plugins;
	*plugcount = (int)(sizeof(plugins) / sizeof(plugins[0]));
	return SASL_OK;
}
