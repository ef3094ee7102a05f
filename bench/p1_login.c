/*
 * p1_login.c: benchmark P1, complete XOAUTH2 client exchanges inside a host
 * process, through real libsasl2 and the plugin loaded from SASL_PATH.
 *
 * Two loops alternate in one process, round after round (ABBA order, so
 * that drift and a busy machine hit both alike):
 *   keyring   the plugin takes the token from the kernel keyring cache
 *   password  compatibility mode (SASL_OAUTH2_PASSWORD_IS_TOKEN=yes): the
 *             host's password (SASL_CB_PASS) is the token; no keyring
 * An exchange is what a host does per login: sasl_client_new,
 * sasl_client_start (the initial response), sasl_client_step with the
 * server's empty success step, sasl_dispose.  Every initial response is
 * compared with the expected one, so a miss (say, a helper run) cannot
 * pass for a fast login.
 *
 * usage: p1_login MAILBOX TOKEN EXCHANGES ROUNDS [keyring|password]
 * prints one line per round: "round N keyring_us K password_us P"
 * (microseconds per exchange; -1 for a mode not run).  With a mode, only
 * that loop runs: bench/run counts its instructions with callgrind
 * (--toggle-collect=loop), a figure a busy machine cannot blur.  The keyring
 * must hold a fresh record for MAILBOX whose token is TOKEN; bench/run puts it
 * there.
 *
 * SECRETS: none; the token is a throw-away string made up by bench/run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sasl/sasl.h>

static const char *mailbox;
static sasl_secret_t *secret;
static char *want;
static size_t wantlen;

/* The mailbox as both names, as Postfix with send_cyrus_sasl_authzid. */
static int
get_name(void *ctx, int id, const char **result, unsigned *len)
{
	(void)ctx;
	if (id != SASL_CB_USER && id != SASL_CB_AUTHNAME)
		return SASL_FAIL;
	*result = mailbox;
	if (len != NULL)
		*len = (unsigned)strlen(mailbox);
	return SASL_OK;
}

/* A host keeps its password ready: no allocation per call. */
static int
get_pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
	(void)conn;
	(void)ctx;
	if (id != SASL_CB_PASS)
		return SASL_FAIL;
	*psecret = secret;
	return SASL_OK;
}

/* libsasl2 stores every callback as int (*)(void). */
#define CB(f) ((int (*)(void))(void (*)(void))(f))

static sasl_callback_t callbacks[] = {{SASL_CB_USER, CB(get_name), NULL},
    {SASL_CB_AUTHNAME, CB(get_name), NULL}, {SASL_CB_PASS, CB(get_pass), NULL},
    {SASL_CB_LIST_END, NULL, NULL}};

static int
exchange(void)
{
	sasl_conn_t *conn = NULL;
	const char *out = NULL, *chosen = NULL;
	unsigned outlen = 0;
	int r;

	r = sasl_client_new("smtp", "mail.example.test", "127.0.0.1;40000",
	    "127.0.0.1;587", callbacks, 0, &conn);
	if (r != SASL_OK) {
		fprintf(stderr, "p1_login: sasl_client_new: %s\n",
		    sasl_errstring(r, NULL, NULL));
		return -1;
	}
	r = sasl_client_start(conn, "XOAUTH2", NULL, &out, &outlen, &chosen);
	if (r == SASL_CONTINUE &&
	    (outlen != wantlen || memcmp(out, want, wantlen) != 0)) {
		fprintf(stderr, "p1_login: unexpected initial response\n");
		r = SASL_FAIL;
	} else if (r == SASL_CONTINUE) {
		r = sasl_client_step(conn, NULL, 0, NULL, &out, &outlen);
	}
	if (r != SASL_OK)
		fprintf(stderr, "p1_login: exchange failed: %s\n",
		    sasl_errdetail(conn));
	sasl_dispose(&conn);
	return r == SASL_OK ? 0 : -1;
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Microseconds per exchange over n exchanges, or -1 on a failure.  Not
 * inlined: callgrind counts the instructions in here. */
static __attribute__((noinline)) double
loop(int compat, long n)
{
	double t0;
	long i;

	if (compat)
		setenv("SASL_OAUTH2_PASSWORD_IS_TOKEN", "yes", 1);
	else
		unsetenv("SASL_OAUTH2_PASSWORD_IS_TOKEN");
	t0 = now_us();
	for (i = 0; i < n; i++)
		if (exchange() != 0)
			return -1;
	return (now_us() - t0) / (double)n;
}

int
main(int argc, char **argv)
{
	const char *token;
	long n, rounds, r;
	double k, p;
	int keyring = 1, password = 1;
	size_t tlen;

	if (argc == 6 && strcmp(argv[5], "keyring") == 0)
		password = 0;
	else if (argc == 6 && strcmp(argv[5], "password") == 0)
		keyring = 0;
	else if (argc != 5) {
		fprintf(stderr,
		    "usage: p1_login MAILBOX TOKEN EXCHANGES "
		    "ROUNDS [keyring|password]\n");
		return 2;
	}
	mailbox = argv[1];
	token = argv[2];
	n = strtol(argv[3], NULL, 10);
	rounds = strtol(argv[4], NULL, 10);
	if (n < 1 || rounds < 1) {
		fprintf(stderr, "p1_login: EXCHANGES and ROUNDS must be > 0\n");
		return 2;
	}
	tlen = strlen(token);
	if ((secret = malloc(sizeof(*secret) + tlen)) == NULL)
		return 1;
	secret->len = tlen;
	memcpy(secret->data, token, tlen + 1);
	wantlen =
	    strlen(mailbox) + tlen + sizeof("user=\001auth=Bearer \001\001");
	if ((want = malloc(wantlen)) == NULL)
		return 1;
	wantlen = (size_t)snprintf(
	    want, wantlen, "user=%s\001auth=Bearer %s\001\001", mailbox, token);
	if (sasl_client_init(NULL) != SASL_OK) {
		fprintf(stderr, "p1_login: sasl_client_init failed\n");
		return 1;
	}
	/* Warm-up: the plugin is loaded, caches and the allocator settle. */
	if ((keyring && loop(0, n / 10 + 1) < 0) ||
	    (password && loop(1, n / 10 + 1) < 0))
		return 1;
	for (r = 1; r <= rounds; r++) {
		if (r % 2) {
			k = keyring ? loop(0, n) : -1;
			p = password ? loop(1, n) : -1;
		} else {
			p = password ? loop(1, n) : -1;
			k = keyring ? loop(0, n) : -1;
		}
		if ((keyring && k < 0) || (password && p < 0))
			return 1;
		printf("round %ld keyring_us %.3f password_us %.3f\n", r, k, p);
		fflush(stdout);
	}
	sasl_client_done();
	free(want);
	free(secret);
	return 0;
}
