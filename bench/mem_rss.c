/*
 * mem_rss.c: what a host's resident memory grows by when libsasl2 loads
 * its plugins and does one client exchange with MECH.
 *
 * VmRSS (from /proc/self/status) is read before sasl_client_init and after
 * one complete exchange (start, the server's empty success step when the
 * mechanism asks for one, dispose).  bench/run runs it twice: XOAUTH2 with
 * our plugin and the stock plugins in SASL_PATH (token from the keyring),
 * and PLAIN with only the stock plugins; the difference is the plugin's.
 *
 * usage: mem_rss MECH MAILBOX PASSWORD
 * prints "rss_before_kb B rss_after_kb A plugin_maps_kb P", where P is the
 * resident part of the mappings of libsasloauth2.so and libkeyutils.so
 * (the libraries only the plugin brings) from /proc/self/smaps.
 *
 * SECRETS: none; throw-away values made up by bench/run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>

static const char *user;
static sasl_secret_t *secret;

static int
get_name(void *ctx, int id, const char **result, unsigned *len)
{
	(void)ctx;
	if (id != SASL_CB_AUTHNAME && id != SASL_CB_USER)
		return SASL_FAIL;
	*result = user;
	if (len != NULL)
		*len = (unsigned)strlen(user);
	return SASL_OK;
}

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

#define CB(f) ((int (*)(void))(void (*)(void))(f))

static sasl_callback_t callbacks[] = {{SASL_CB_AUTHNAME, CB(get_name), NULL},
    {SASL_CB_USER, CB(get_name), NULL}, {SASL_CB_PASS, CB(get_pass), NULL},
    {SASL_CB_LIST_END, NULL, NULL}};

static const char *const plugin_libs[] = {
    "/libsasloauth2.so", "/libkeyutils.so", NULL};

static long
vmrss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* Resident kB of the mappings whose path contains one of the names. */
static long
maps_rss_kb(const char *const *names)
{
	char line[4096];
	long kb = 0;
	int ours = 0;
	size_t i;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* A mapping's header line starts with its address range. */
		if (strchr(line, '-') != NULL && strchr(line, ':') != NULL &&
		    line[0] != ' ' && strncmp(line, "Rss:", 4) != 0 &&
		    strstr(line, " kB") == NULL) {
			ours = 0;
			for (i = 0; names[i] != NULL; i++)
				if (strstr(line, names[i]) != NULL)
					ours = 1;
		} else if (ours && strncmp(line, "Rss:", 4) == 0) {
			kb += strtol(line + 4, NULL, 10);
		}
	}
	fclose(f);
	return kb;
}

int
main(int argc, char **argv)
{
	sasl_conn_t *conn = NULL;
	const char *out, *chosen;
	unsigned outlen;
	long before, after;
	size_t plen;
	int r;

	if (argc != 4) {
		fprintf(stderr, "usage: mem_rss MECH MAILBOX PASSWORD\n");
		return 2;
	}
	user = argv[2];
	plen = strlen(argv[3]);
	if ((secret = malloc(sizeof(*secret) + plen)) == NULL)
		return 1;
	secret->len = plen;
	memcpy(secret->data, argv[3], plen + 1);
	before = vmrss_kb();

	if (sasl_client_init(NULL) != SASL_OK ||
	    sasl_client_new("smtp", "mail.example.test", "127.0.0.1;40000",
		"127.0.0.1;587", callbacks, 0, &conn) != SASL_OK) {
		fprintf(stderr, "mem_rss: cannot set up libsasl2\n");
		return 1;
	}
	r = sasl_client_start(conn, argv[1], NULL, &out, &outlen, &chosen);
	if (r == SASL_CONTINUE)
		r = sasl_client_step(conn, NULL, 0, NULL, &out, &outlen);
	if (r != SASL_OK) {
		fprintf(stderr, "mem_rss: %s exchange failed: %s\n", argv[1],
		    sasl_errdetail(conn));
		return 1;
	}
	sasl_dispose(&conn);
	after = vmrss_kb();
	printf("rss_before_kb %ld rss_after_kb %ld plugin_maps_kb %ld\n",
	    before, after, maps_rss_kb(plugin_libs));
	sasl_client_done();
	free(secret);
	return 0;
}
