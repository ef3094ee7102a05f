/*
 * test_plugin.c: the built plugin inside real libsasl2, as a host program
 * would use it: loaded from SASL_PATH, driven with sasl_client_start/step.
 *
 * Covers the exported symbols, the exact initial responses, callbacks and
 * prompts, the error-challenge answers and cache invalidation (of the
 * rejected token only), the keyring path (and the key it reads again),
 * compatibility mode, and every way the helper can fail (through
 * tests/unit/fake-helper; the real helper is tested by the integration
 * suite).
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cmocka.h>
#include <sasl/sasl.h>

#include "buf.h"
#include "err.h"
#include "keyring.h"

static char plugin_dir[1024];
static char helper[1024];
static int helper_timeout = 2; /* seconds, SASL_OAUTH2_HELPER_TIMEOUT */
static char modefile[] = "/tmp/oa2-plugin-test-XXXXXX";
static char recordfile[1100];
static const char *cb_user;    /* the authentication name (AUTHNAME) */
static const char *cb_authzid; /* USER; NULL: the same as cb_user */
static const char *cb_pass;

static int
get_name(void *ctx, int id, const char **result, unsigned *len)
{
	const char *v =
	    id == SASL_CB_USER && cb_authzid != NULL ? cb_authzid : cb_user;

	if ((id != SASL_CB_AUTHNAME && id != SASL_CB_USER) || v == NULL)
		return SASL_FAIL;
	*result = v;
	if (len != NULL)
		*len = (unsigned)strlen(v);
	return SASL_OK;
}

static int
get_pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
	static sasl_secret_t *s;
	size_t n = strlen(cb_pass);

	free(s);
	s = malloc(sizeof(*s) + n);
	s->len = n;
	memcpy(s->data, cb_pass, n + 1);
	*psecret = s;
	return SASL_OK;
}

/* libsasl2 stores every callback as int (*)(void). */
#define CB(f) ((int (*)(void))(void (*)(void))(f))

/* A host that names an authzid: Postfix with send_cyrus_sasl_authzid. */
static sasl_callback_t callbacks[] = {{SASL_CB_USER, CB(get_name), NULL},
    {SASL_CB_AUTHNAME, CB(get_name), NULL}, {SASL_CB_PASS, CB(get_pass), NULL},
    {SASL_CB_LIST_END, NULL, NULL}};

/* A password host: Postfix's default, an authentication name and a
 * password, no authzid. */
static sasl_callback_t password_callbacks[] = {
    {SASL_CB_AUTHNAME, CB(get_name), NULL}, {SASL_CB_PASS, CB(get_pass), NULL},
    {SASL_CB_LIST_END, NULL, NULL}};

/* Callbacks without procedures: the host answers prompts (mbsync,
 * imtest). */
static sasl_callback_t prompt_callbacks[] = {{SASL_CB_USER, NULL, NULL},
    {SASL_CB_AUTHNAME, NULL, NULL}, {SASL_CB_PASS, NULL, NULL},
    {SASL_CB_LIST_END, NULL, NULL}};

static void
set_mode(const char *mode)
{
	FILE *f = fopen(modefile, "w");

	assert_non_null(f);
	fprintf(f, "%s\n%s\n", mode, recordfile);
	fclose(f);
}

static int
setup(void **state)
{
	const char *b = getenv("abs_top_builddir");
	const char *s = getenv("abs_top_srcdir");
	const char *t;
	char num[16], *end;
	long v;
	int fd;

	if (b == NULL || s == NULL)
		return -1;
	snprintf(plugin_dir, sizeof(plugin_dir), "%s/plugin/.libs", b);
	snprintf(helper, sizeof(helper), "%s/tests/unit/fake-helper", s);
	if ((fd = mkstemp(modefile)) < 0)
		return -1;
	close(fd);
	snprintf(recordfile, sizeof(recordfile), "%s.record", modefile);
	setenv("SASL_PATH", plugin_dir, 1);
	setenv("SASL_OAUTH2_HELPER", helper, 1);
	setenv("SASL_OAUTH2_CONFIG", modefile, 1);
	/* 2 s, or more where the host is slow on purpose: t-valgrind runs
	 * this test under valgrind (TEST_PLUGIN_HELPER_TIMEOUT), where a
	 * fork and exec alone can take seconds on a loaded machine. */
	helper_timeout = 2;
	if ((t = getenv("TEST_PLUGIN_HELPER_TIMEOUT")) != NULL) {
		errno = 0;
		v = strtol(t, &end, 10);
		if (errno == 0 && end != t && *end == '\0' && v >= 2 && v <= 60)
			helper_timeout = (int)v;
	}
	snprintf(num, sizeof(num), "%d", helper_timeout);
	setenv("SASL_OAUTH2_HELPER_TIMEOUT", num, 1);
	/* Must not reach the helper. */
	setenv("SASL_OAUTH2_TEST_SECRET", "do-not-pass-me", 1);
	unsetenv("SASL_OAUTH2_PASSWORD_IS_TOKEN");
	return sasl_client_init(NULL) == SASL_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	sasl_client_done();
	unlink(modefile);
	unlink(recordfile);
	return 0;
}

/* A mailbox unique to this run so the real keyring holds nothing stale. */
static const char *
mailbox(const char *tag)
{
	static char mb[128];

	snprintf(mb, sizeof(mb), "%s-%ld-%ld@plugin.test", tag, (long)getpid(),
	    (long)time(NULL));
	return mb;
}

/* The token fake-helper prints for mb (a b64token: "@" becomes "."). */
static const char *
token_for(const char *mb)
{
	static char tok[160];
	char *at;

	snprintf(tok, sizeof(tok), "helper-token-for-%s", mb);
	if ((at = strchr(tok, '@')) != NULL)
		*at = '.';
	return tok;
}

static sasl_conn_t *
new_conn(sasl_callback_t *cbs)
{
	sasl_conn_t *conn = NULL;

	assert_int_equal(sasl_client_new("imap", "mail.example.test",
			     "127.0.0.1;40000", "127.0.0.1;993", cbs, 0, &conn),
	    SASL_OK);
	return conn;
}

static void
test_exports(void **state)
{
	char path[1200];
	void *h;

	snprintf(path, sizeof(path), "%s/libsasloauth2.so", plugin_dir);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	assert_non_null(dlsym(h, "sasl_client_plug_init"));
	/* Internals, shared code included, stay hidden. */
	assert_null(dlsym(h, "helper_run"));
	assert_null(dlsym(h, "oa2_xoauth2_build"));
	assert_null(dlsym(h, "oa2_keyring_get"));
	assert_null(dlsym(h, "oa2_buf_append"));
	dlclose(h);
}

static void
test_mechs_listed(void **state)
{
	sasl_conn_t *conn = new_conn(callbacks);
	const char *list = NULL;

	assert_int_equal(
	    sasl_listmech(conn, NULL, "", " ", "", &list, NULL, NULL), SASL_OK);
	assert_non_null(strstr(list, "XOAUTH2"));
	assert_non_null(strstr(list, "OAUTHBEARER"));
	sasl_dispose(&conn);
}

static void
expect_start(
    sasl_conn_t *conn, const char *mech, const char *want, size_t wantlen)
{
	const char *out = NULL, *chosen = NULL;
	unsigned outlen = 0;
	sasl_interact_t *interact = NULL;

	assert_int_equal(
	    sasl_client_start(conn, mech, &interact, &out, &outlen, &chosen),
	    SASL_CONTINUE);
	assert_string_equal(chosen, mech);
	assert_int_equal(outlen, wantlen);
	assert_memory_equal(out, want, wantlen);
}

static void
test_helper_token_xoauth2(void **state)
{
	const char *mb = mailbox("xo");
	char want[512];
	sasl_conn_t *conn;
	FILE *f;
	char line[4096];
	int saw_argv = 0;

	set_mode("token");
	unlink(recordfile);
	cb_user = mb;
	conn = new_conn(callbacks);
	snprintf(want, sizeof(want), "user=%s\001auth=Bearer %s\001\001", mb,
	    token_for(mb));
	expect_start(conn, "XOAUTH2", want, strlen(want));
	/* The server's success: one more step with nothing completes it. */
	{
		const char *out;
		unsigned outlen;
		assert_int_equal(
		    sasl_client_step(conn, NULL, 0, NULL, &out, &outlen),
		    SASL_OK);
	}
	sasl_dispose(&conn);
	/* argv holds no secret; the environment only allow-listed names. */
	f = fopen(recordfile, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "argv: ", 6) == 0) {
			char wantargv[300];
			snprintf(wantargv, sizeof(wantargv),
			    "argv: token --user %s\n", mb);
			assert_string_equal(line, wantargv);
			saw_argv = 1;
		} else {
			assert_null(strstr(line, "SASL_OAUTH2_TEST_SECRET"));
			assert_null(strstr(line, "SASL_OAUTH2_HELPER"));
			assert_non_null(strstr(line, "SASL_OAUTH2_CONFIG"));
			/* Set by the plugin below its own deadline. */
			assert_non_null(
			    strstr(line, "SASL_OAUTH2_HTTP_TIMEOUT"));
			/* ...and when it will kill the helper. */
			assert_non_null(strstr(line, "SASL_OAUTH2_DEADLINE"));
		}
	}
	fclose(f);
	assert_true(saw_argv);
}

/* Is word one of the space-separated names of a record line? */
static int
has_name(const char *line, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = line; (p = strstr(p, word)) != NULL; p += n)
		if ((p == line || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

/* The host's proxy variables reach the helper, except http_proxy (plain
 * http is loopback only) and one that holds a password: that one stays
 * behind, and the helper learns its name to say why. */
static void
test_proxy_env(void **state)
{
	const char *mb = mailbox("px");
	char want[512], line[4096];
	sasl_conn_t *conn;
	FILE *f;
	int saw_env = 0;

	set_mode("token");
	unlink(recordfile);
	setenv("https_proxy", "http://proxy.example.test:3128", 1);
	setenv("NO_PROXY", "example.test", 1);
	setenv("all_proxy", "socks5h://proxy.example.test:1080", 1);
	setenv("HTTPS_PROXY", "http://alice:s3cret@proxy.example.test:3128", 1);
	setenv("http_proxy", "http://proxy.example.test:3128", 1);
	cb_user = mb;
	conn = new_conn(callbacks);
	snprintf(want, sizeof(want), "user=%s\001auth=Bearer %s\001\001", mb,
	    token_for(mb));
	expect_start(conn, "XOAUTH2", want, strlen(want));
	sasl_dispose(&conn);
	unsetenv("https_proxy");
	unsetenv("NO_PROXY");
	unsetenv("all_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("http_proxy");
	f = fopen(recordfile, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "argv: ", 6) == 0)
			continue;
		saw_env = 1;
		assert_true(has_name(line, "https_proxy"));
		assert_true(has_name(line, "NO_PROXY"));
		assert_true(has_name(line, "all_proxy"));
		assert_false(has_name(line, "HTTPS_PROXY"));
		assert_false(has_name(line, "http_proxy"));
		assert_true(has_name(line, "SASL_OAUTH2_PROXY_DROPPED"));
	}
	fclose(f);
	assert_true(saw_env);
}

static void
test_oauthbearer_host_port(void **state)
{
	const char *mb = mailbox("ob");
	char want[512];
	sasl_conn_t *conn;

	set_mode("token");
	cb_user = mb;
	conn = new_conn(callbacks);
	snprintf(want, sizeof(want),
	    "n,a=%s,\001host=mail.example.test\001port=993\001auth=Bearer "
	    "%s\001\001",
	    mb, token_for(mb));
	expect_start(conn, "OAUTHBEARER", want, strlen(want));
	sasl_dispose(&conn);
}

/* sendmail passes a bracketed smarthost as "[127.0.0.1]": host= is bare. */
static void
test_oauthbearer_bracketed_host(void **state)
{
	static const struct {
		const char *fqdn, *host;
	} cases[] = {
	    {"[127.0.0.1]", "127.0.0.1"},
	    {"[IPv6:::1]", "::1"},
	    {"[mail.example.test]", "mail.example.test"},
	};
	size_t i;

	set_mode("token");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *mb = mailbox("br");
		char want[512];
		sasl_conn_t *conn = NULL;

		cb_user = mb;
		assert_int_equal(
		    sasl_client_new("smtp", cases[i].fqdn, "127.0.0.1;40000",
			"127.0.0.1;587", callbacks, 0, &conn),
		    SASL_OK);
		snprintf(want, sizeof(want),
		    "n,a=%s,\001host=%s\001port=587\001auth=Bearer "
		    "%s\001\001",
		    mb, cases[i].host, token_for(mb));
		expect_start(conn, "OAUTHBEARER", want, strlen(want));
		sasl_dispose(&conn);
	}
}

static void
test_keyring_first(void **state)
{
	const char *mb = mailbox("kr");
	char want[512];
	time_t now = time(NULL);
	sasl_conn_t *conn;

	/* The helper would fail: the token must come from the keyring. */
	set_mode("relogin");
	assert_int_equal(
	    oa2_keyring_put(mb, NULL, "cached-token", 12, now + 3600, now), 0);
	cb_user = mb;
	conn = new_conn(callbacks);
	snprintf(want, sizeof(want),
	    "user=%s\001auth=Bearer cached-token\001\001", mb);
	expect_start(conn, "XOAUTH2", want, strlen(want));
	sasl_dispose(&conn);
	oa2_keyring_invalidate(mb, NULL);
}

static void
test_error_challenge(void **state)
{
	static const struct {
		const char *mech;
		const char *challenge;
		const char *answer;
		unsigned answerlen;
	} cases[] = {
	    {"XOAUTH2",
		"{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":"
		"\"https://mail.google.com/\"}",
		"", 0},
	    {"OAUTHBEARER", "{\"status\":\"invalid_token\",\"scope\":\"x\"}",
		"\001", 1},
	    /* Garbage still gets the proper answer. */
	    {"XOAUTH2", "\377\376garbage", "", 0},
	    {"OAUTHBEARER", "{{{{", "\001", 1},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *mb = mailbox(cases[i].mech);
		time_t now = time(NULL), exp;
		const char *out, *chosen;
		unsigned outlen;
		struct oa2_buf tok;
		sasl_conn_t *conn;

		set_mode("token");
		assert_int_equal(
		    oa2_keyring_put(mb, NULL, "stale", 5, now + 3600, now), 0);
		cb_user = mb;
		conn = new_conn(callbacks);
		assert_int_equal(sasl_client_start(conn, cases[i].mech, NULL,
				     &out, &outlen, &chosen),
		    SASL_CONTINUE);
		assert_int_equal(sasl_client_step(conn, cases[i].challenge,
				     (unsigned)strlen(cases[i].challenge), NULL,
				     &out, &outlen),
		    SASL_CONTINUE);
		assert_int_equal(outlen, cases[i].answerlen);
		assert_memory_equal(out, cases[i].answer, outlen);
		/* The rejected token is gone from the cache. */
		oa2_buf_init(&tok, 64);
		assert_int_equal(
		    oa2_keyring_get(mb, NULL, now, 60, &tok, &exp, NULL),
		    OA2_ERR_NOTFOUND);
		oa2_buf_free(&tok);
		/* A further challenge is a protocol error, not a hang. */
		assert_int_not_equal(
		    sasl_client_step(conn, "x", 1, NULL, &out, &outlen),
		    SASL_CONTINUE);
		sasl_dispose(&conn);
	}
}

/* Start XOAUTH2 for mb and return its token as sent. */
static sasl_conn_t *
start_xoauth2(const char *mb, char *tok, size_t toksz)
{
	const char *out, *chosen, *p;
	unsigned outlen;
	sasl_conn_t *conn;

	cb_user = mb;
	conn = new_conn(callbacks);
	assert_int_equal(
	    sasl_client_start(conn, "XOAUTH2", NULL, &out, &outlen, &chosen),
	    SASL_CONTINUE);
	p = memmem(out, outlen, "auth=Bearer ", 12);
	assert_non_null(p);
	p += 12;
	assert_true(outlen >= 2 && (size_t)(out + outlen - 2 - p) < toksz);
	memcpy(tok, p, (size_t)(out + outlen - 2 - p));
	tok[out + outlen - 2 - p] = '\0';
	return conn;
}

static void
reject(sasl_conn_t *conn)
{
	static const char ch[] = "{\"status\":\"401\",\"schemes\":\"bearer\"}";
	const char *out;
	unsigned outlen;

	assert_int_equal(sasl_client_step(conn, ch, (unsigned)strlen(ch), NULL,
			     &out, &outlen),
	    SASL_CONTINUE);
}

static void
expect_cached(const char *mb, const char *want)
{
	struct oa2_buf tok;
	time_t exp;

	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	if (want == NULL) {
		assert_int_equal(
		    oa2_keyring_get(mb, NULL, time(NULL), 60, &tok, &exp, NULL),
		    OA2_ERR_NOTFOUND);
	} else {
		assert_int_equal(
		    oa2_keyring_get(mb, NULL, time(NULL), 60, &tok, &exp, NULL),
		    0);
		assert_string_equal(oa2_buf_str(&tok), want);
	}
	oa2_buf_free(&tok);
}

/*
 * A server rejects a token after another process cached a fresh one: the
 * fresh one stays.  Whether the rejected token came from the keyring (the
 * fresh one then replaced it in place, or in a new key) or from the helper;
 * and the rejected token itself, where the helper cached it, goes.
 */
static void
test_error_spares_newer(void **state)
{
	time_t now = time(NULL);
	char sent[256];
	sasl_conn_t *conn;
	const char *mb;
	int i;

	for (i = 0; i < 2; i++) {
		mb = mailbox(i == 0 ? "newer-inplace" : "newer-newkey");
		set_mode("relogin"); /* from the keyring, or fail */
		assert_int_equal(
		    oa2_keyring_put(mb, NULL, "kr-old", 6, now + 3600, now), 0);
		conn = start_xoauth2(mb, sent, sizeof(sent));
		assert_string_equal(sent, "kr-old");
		if (i == 1)
			assert_int_equal(oa2_keyring_invalidate(mb, NULL), 0);
		assert_int_equal(
		    oa2_keyring_put(mb, NULL, "kr-new", 6, now + 3600, now), 0);
		reject(conn);
		sasl_dispose(&conn);
		expect_cached(mb, "kr-new");
		oa2_keyring_invalidate(mb, NULL);
	}

	/* From the helper, and another token cached since. */
	mb = mailbox("newer-helper");
	set_mode("token");
	conn = start_xoauth2(mb, sent, sizeof(sent));
	assert_string_equal(sent, token_for(mb));
	assert_int_equal(
	    oa2_keyring_put(mb, NULL, "other-proc", 10, now + 3600, now), 0);
	reject(conn);
	sasl_dispose(&conn);
	expect_cached(mb, "other-proc");
	oa2_keyring_invalidate(mb, NULL);

	/* From the helper, which cached it (as the real one does). */
	mb = mailbox("helper-cached");
	conn = start_xoauth2(mb, sent, sizeof(sent));
	assert_int_equal(
	    oa2_keyring_put(mb, NULL, sent, strlen(sent), now + 3600, now), 0);
	reject(conn);
	sasl_dispose(&conn);
	expect_cached(mb, NULL);
}

/* The plugin reads the key it found before directly: it must still see
 * every change another process makes. */
static void
test_keyring_followed(void **state)
{
	const char *mb = mailbox("follow");
	time_t now = time(NULL);
	char sent[256];
	sasl_conn_t *conn;
	int i;
	static const char *const seq[] = {"tok-one", "tok-two", "tok-three"};

	set_mode("token");
	for (i = 0; i < 3; i++) {
		/* 0: first key; 1: updated in place; 2: a new key. */
		if (i == 2)
			assert_int_equal(oa2_keyring_invalidate(mb, NULL), 0);
		assert_int_equal(oa2_keyring_put(mb, NULL, seq[i],
				     strlen(seq[i]), now + 3600 - i, now),
		    0);
		conn = start_xoauth2(mb, sent, sizeof(sent));
		assert_string_equal(sent, seq[i]);
		sasl_dispose(&conn);
		conn = start_xoauth2(mb, sent, sizeof(sent));
		assert_string_equal(sent, seq[i]);
		sasl_dispose(&conn);
	}
	/* Gone: the helper's token. */
	assert_int_equal(oa2_keyring_invalidate(mb, NULL), 0);
	conn = start_xoauth2(mb, sent, sizeof(sent));
	assert_string_equal(sent, token_for(mb));
	sasl_dispose(&conn);
}

/*
 * A host that answers prompts gets asked for the authzid and the
 * authentication name at once (never for a password); the authzid is the
 * mailbox, and where it is empty (imtest without -u) the authentication
 * name is.
 */
static void
test_prompts(void **state)
{
	static const struct {
		const char *authzid;
		const char *authname;
	} cases[] = {
	    {"@", "someone-else@plugin.test"}, /* mbsync: both the User */
	    {"", "@"},			       /* imtest without -u */
	};
	size_t i;

	set_mode("token");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *mb = mailbox("pr");
		sasl_interact_t *interact = NULL, *p;
		const char *out = NULL, *chosen = NULL, *v;
		unsigned outlen = 0;
		char want[512];
		sasl_conn_t *conn;
		int seen = 0;

		conn = new_conn(prompt_callbacks);
		assert_int_equal(sasl_client_start(conn, "XOAUTH2", &interact,
				     &out, &outlen, &chosen),
		    SASL_INTERACT);
		assert_non_null(interact);
		for (p = interact; p->id != SASL_CB_LIST_END; p++) {
			/* No password is asked for. */
			assert_true(
			    p->id == SASL_CB_USER || p->id == SASL_CB_AUTHNAME);
			v = p->id == SASL_CB_USER ? cases[i].authzid
						  : cases[i].authname;
			v = strcmp(v, "@") == 0 ? mb : v;
			p->result = v;
			p->len = (unsigned)strlen(v);
			seen |= p->id == SASL_CB_USER ? 1 : 2;
		}
		assert_int_equal(seen, 3);
		assert_int_equal(sasl_client_start(conn, "XOAUTH2", &interact,
				     &out, &outlen, &chosen),
		    SASL_CONTINUE);
		snprintf(want, sizeof(want),
		    "user=%s\001auth=Bearer %s\001\001", mb, token_for(mb));
		assert_int_equal(outlen, strlen(want));
		assert_memory_equal(out, want, outlen);
		sasl_dispose(&conn);
	}
}

/* With callbacks too: the authzid wins; empty, the authentication name. */
static void
test_authzid_is_mailbox(void **state)
{
	const char *mb = mailbox("az");
	char want[512];
	sasl_conn_t *conn;

	set_mode("token");
	cb_user = "someone-else@plugin.test";
	cb_authzid = mb;
	conn = new_conn(callbacks);
	snprintf(want, sizeof(want),
	    "n,a=%s,\001host=mail.example.test\001"
	    "port=993\001auth=Bearer %s\001\001",
	    mb, token_for(mb));
	expect_start(conn, "OAUTHBEARER", want, strlen(want));
	sasl_dispose(&conn);

	cb_user = mb;
	cb_authzid = "";
	conn = new_conn(callbacks);
	snprintf(want, sizeof(want), "user=%s\001auth=Bearer %s\001\001", mb,
	    token_for(mb));
	expect_start(conn, "XOAUTH2", want, strlen(want));
	sasl_dispose(&conn);
	cb_authzid = NULL;
}

/*
 * A host that sends a password and no authzid (Postfix's default) never
 * gets these mechanisms from libsasl2: not listed, not chosen, not even
 * when named alone.  So installing the plugin cannot move its password
 * relays off PLAIN or LOGIN (tests/t-mech-choice.sh: both load orders).
 */
static void
test_password_host_excluded(void **state)
{
	static const char *const mechs[] = {"XOAUTH2", "OAUTHBEARER"};
	const char *list = NULL, *out, *chosen;
	unsigned outlen;
	sasl_conn_t *conn;
	size_t i;

	set_mode("token");
	cb_user = mailbox("pw");
	cb_pass = "a password";
	conn = new_conn(password_callbacks);
	assert_int_equal(
	    sasl_listmech(conn, NULL, "", " ", "", &list, NULL, NULL), SASL_OK);
	assert_null(strstr(list, "XOAUTH2"));
	assert_null(strstr(list, "OAUTHBEARER"));
	sasl_dispose(&conn);
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		conn = new_conn(password_callbacks);
		assert_int_equal(sasl_client_start(conn, mechs[i], NULL, &out,
				     &outlen, &chosen),
		    SASL_NOMECH);
		sasl_dispose(&conn);
	}
}

static void
test_compat_password_is_token(void **state)
{
	const char *mb = mailbox("co");
	char want[512];
	sasl_conn_t *conn;

	set_mode("relogin"); /* the helper must not be used */
	setenv("SASL_OAUTH2_PASSWORD_IS_TOKEN", "yes", 1);
	cb_user = mb;
	cb_pass = "token-from-the-host";
	conn = new_conn(callbacks);
	snprintf(want, sizeof(want),
	    "user=%s\001auth=Bearer token-from-the-host\001\001", mb);
	expect_start(conn, "XOAUTH2", want, strlen(want));
	sasl_dispose(&conn);
	cb_pass = "not a token";
	conn = new_conn(callbacks);
	{
		const char *out, *chosen;
		unsigned outlen;
		assert_int_equal(sasl_client_start(conn, "XOAUTH2", NULL, &out,
				     &outlen, &chosen),
		    SASL_BADPARAM);
	}
	sasl_dispose(&conn);
	unsetenv("SASL_OAUTH2_PASSWORD_IS_TOKEN");
}

static void
test_helper_failures(void **state)
{
	static const struct {
		const char *mode;
		int rc;
		const char *needle;
	} cases[] = {
	    {"garbage", SASL_FAIL, "not an access token"},
	    {"huge", SASL_FAIL, "not an access token"},
	    {"hang", SASL_TRYAGAIN, "gave no answer in "},
	    {"linger", SASL_TRYAGAIN, "gave no answer in "},
	    {"signal", SASL_FAIL, "killed by signal 9"},
	    {"relogin", SASL_FAIL, "log in again"},
	    {"tempfail", SASL_TRYAGAIN, "cannot reach the IdP"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *out, *chosen;
		unsigned outlen;
		sasl_conn_t *conn;
		char want[64];
		time_t t0 = time(NULL);

		set_mode(cases[i].mode);
		cb_user = mailbox(cases[i].mode);
		conn = new_conn(callbacks);
		assert_int_equal(sasl_client_start(conn, "XOAUTH2", NULL, &out,
				     &outlen, &chosen),
		    cases[i].rc);
		if (strstr(sasl_errdetail(conn), cases[i].needle) == NULL)
			fail_msg("%s: '%s' lacks '%s'", cases[i].mode,
			    sasl_errdetail(conn), cases[i].needle);
		/* a hang is cut at the timeout, and says which */
		snprintf(want, sizeof(want), "gave no answer in %d s",
		    helper_timeout);
		if ((strcmp(cases[i].mode, "hang") == 0 ||
			strcmp(cases[i].mode, "linger") == 0) &&
		    strstr(sasl_errdetail(conn), want) == NULL)
			fail_msg("hang: '%s' lacks '%s'", sasl_errdetail(conn),
			    want);
		/* Bounded: the helper timeout plus slack, never the 30 s
		 * sleep. */
		assert_true(time(NULL) - t0 < helper_timeout + 8);
		sasl_dispose(&conn);
	}
}

/* A helper that answers and exits but leaves a process holding its
 * standard error: the answer counts at once, not at the timeout. */
static void
test_helper_leaves_process(void **state)
{
	/* one that holds standard error, one that keeps writing to it */
	static const char *const modes[] = {"orphan", "chatter"};
	char want[512], orphan[1200], pid[32];
	const char *mb;
	sasl_conn_t *conn;
	time_t t0;
	FILE *f;
	size_t i;

	(void)state;
	snprintf(orphan, sizeof(orphan), "%s.orphan", recordfile);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		t0 = time(NULL);
		set_mode(modes[i]);
		mb = mailbox(modes[i]);
		cb_user = mb;
		conn = new_conn(callbacks);
		snprintf(want, sizeof(want),
		    "user=%s\001auth=Bearer %s\001\001", mb, token_for(mb));
		expect_start(conn, "XOAUTH2", want, strlen(want));
		sasl_dispose(&conn);
		assert_true(time(NULL) - t0 < helper_timeout);
		if ((f = fopen(orphan, "r")) != NULL) {
			long v = fgets(pid, sizeof(pid), f) != NULL
			    ? strtol(pid, NULL, 10)
			    : 0;
			if (v > 1)
				kill((pid_t)v, SIGKILL);
			fclose(f);
			unlink(orphan);
		}
	}
}

static void
on_sigchld(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

/* Hosts that reap children themselves: the plugin's waitpid then finds
 * nothing (ECHILD), and a well-formed token must still count. */
static void
test_host_reaps(void **state)
{
	struct sigaction sa[2], old;
	const char *mb;
	char want[512];
	sasl_conn_t *conn;
	int i;

	(void)state;
	memset(sa, 0, sizeof(sa));
	sa[0].sa_handler = SIG_IGN;
	sa[1].sa_handler = on_sigchld;
	sa[1].sa_flags = SA_RESTART;
	for (i = 0; i < 2; i++) {
		print_message("SIGCHLD %s\n", i == 0 ? "ignored" : "reaped");
		assert_int_equal(sigaction(SIGCHLD, &sa[i], &old), 0);
		set_mode("token");
		mb = mailbox(i == 0 ? "ign" : "reap");
		cb_user = mb;
		conn = new_conn(callbacks);
		snprintf(want, sizeof(want),
		    "user=%s\001auth=Bearer %s\001\001", mb, token_for(mb));
		expect_start(conn, "XOAUTH2", want, strlen(want));
		sasl_dispose(&conn);
		assert_int_equal(sigaction(SIGCHLD, &old, NULL), 0);
	}
}

/* The run of one XOAUTH2 start in a child, for checks that change the
 * process: 0 when it ends with rc and a detail holding needle. */
static int
start_gives(const char *mode, int rc, const char *needle)
{
	const char *out, *chosen;
	unsigned outlen;
	sasl_conn_t *conn = NULL;
	int got;

	set_mode(mode);
	if (sasl_client_new("imap", "mail.example.test", "127.0.0.1;40000",
		"127.0.0.1;993", callbacks, 0, &conn) != SASL_OK)
		return 1;
	cb_user = mailbox(mode);
	got = sasl_client_start(conn, "XOAUTH2", NULL, &out, &outlen, &chosen);
	if (got != rc || strstr(sasl_errdetail(conn), needle) == NULL) {
		fprintf(stderr, "%s: %d '%s', want %d '%s'\n", mode, got,
		    sasl_errdetail(conn), rc, needle);
		got = -1000;
	}
	sasl_dispose(&conn);
	return got == -1000;
}

/* Without pidfd_open (kernels before 5.3, a seccomp policy that denies
 * it, valgrind), the plugin waits for the helper's exit by polling: a
 * helper that closes its output and exits a moment later is waited for,
 * not killed and called a timeout.  The child process gets a seccomp
 * filter that answers pidfd_open with ENOSYS. */
static void
test_no_pidfd(void **state)
{
	struct sock_filter f[] = {
	    BPF_STMT(
		BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_open, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
	int status;
	pid_t pid;

	(void)state;
	if ((pid = fork()) == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
			_exit(77);
		if (syscall(SYS_pidfd_open, getpid(), 0) >= 0 ||
		    errno != ENOSYS)
			_exit(2);
		_exit(start_gives("slowexit", SASL_FAIL, "log in again") ||
		    start_gives("relogin", SASL_FAIL, "log in again") ||
		    start_gives("token", SASL_CONTINUE, ""));
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip(); /* no seccomp here (valgrind) */
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_helper_missing(void **state)
{
	const char *out, *chosen;
	unsigned outlen;
	sasl_conn_t *conn;

	setenv("SASL_OAUTH2_HELPER", "/nonexistent/sasl-oauth2", 1);
	cb_user = mailbox("missing");
	conn = new_conn(callbacks);
	assert_int_equal(
	    sasl_client_start(conn, "XOAUTH2", NULL, &out, &outlen, &chosen),
	    SASL_FAIL);
	assert_non_null(strstr(sasl_errdetail(conn), "cannot be run here"));
	assert_non_null(strstr(sasl_errdetail(conn), "refresh --all"));
	sasl_dispose(&conn);
	setenv("SASL_OAUTH2_HELPER", helper, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exports),
	    cmocka_unit_test(test_mechs_listed),
	    cmocka_unit_test(test_helper_token_xoauth2),
	    cmocka_unit_test(test_proxy_env),
	    cmocka_unit_test(test_oauthbearer_host_port),
	    cmocka_unit_test(test_oauthbearer_bracketed_host),
	    cmocka_unit_test(test_keyring_first),
	    cmocka_unit_test(test_error_challenge),
	    cmocka_unit_test(test_error_spares_newer),
	    cmocka_unit_test(test_keyring_followed),
	    cmocka_unit_test(test_prompts),
	    cmocka_unit_test(test_authzid_is_mailbox),
	    cmocka_unit_test(test_password_host_excluded),
	    cmocka_unit_test(test_compat_password_is_token),
	    cmocka_unit_test(test_helper_failures),
	    cmocka_unit_test(test_helper_leaves_process),
	    cmocka_unit_test(test_host_reaps),
	    cmocka_unit_test(test_no_pidfd),
	    cmocka_unit_test(test_helper_missing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
