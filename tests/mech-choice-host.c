/*
 * mech-choice-host.c: which mechanism libsasl2 chooses for a host, given
 * the server's mechanism list, as Postfix's smtp, mbsync or imtest would
 * ask it (sasl_client_start with the whole list).  tests/t-mech-choice.sh
 * runs it with the plugins loaded in either order.
 *
 * usage: mech-choice-host PROFILE SECURITY LIST
 *   PROFILE   the callbacks the host registers:
 *             password  AUTHNAME and PASS: Postfix's default
 *                       (send_cyrus_sasl_authzid = no), sasl-sample-client
 *                       without -u
 *             authzid   USER, AUTHNAME and PASS: Postfix with
 *                       send_cyrus_sasl_authzid = yes
 *             prompts   USER, AUTHNAME and PASS without procedures, answered
 *                       by prompts: mbsync 1.4, imtest
 *   SECURITY  Postfix's smtp_sasl_security_options words, comma-separated
 *             (noanonymous, noplaintext, nodictionary, noactive,
 *             mutual_auth), or "" for none
 *   LIST      the server's mechanisms, e.g. "LOGIN PLAIN XOAUTH2"
 * prints the chosen mechanism, or "none" when libsasl2 finds no worthy
 * one; exit 0 either way, 2 on a usage or library error.
 *
 * Only the choice is made: sasl_client_start gets no output pointers, so
 * no mechanism runs a step (no prompt, no password, no token fetch).
 *
 * SECRETS: none; the password callback answers a fixed dummy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>

static int
get_name(void *ctx, int id, const char **result, unsigned *len)
{
	static const char name[] = "user@example.test";

	(void)ctx;
	(void)id;
	*result = name;
	if (len != NULL)
		*len = (unsigned)strlen(name);
	return SASL_OK;
}

/* Never called (no step runs), but a password host has one. */
static int
get_pass(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **psecret)
{
	(void)conn;
	(void)ctx;
	(void)id;
	*psecret = NULL;
	return SASL_FAIL;
}

/* libsasl2 stores every callback as int (*)(void). */
#define CB(f) ((int (*)(void))(void (*)(void))(f))

static sasl_callback_t password_cbs[] = {{SASL_CB_AUTHNAME, CB(get_name), NULL},
    {SASL_CB_PASS, CB(get_pass), NULL}, {SASL_CB_LIST_END, NULL, NULL}};
static sasl_callback_t authzid_cbs[] = {{SASL_CB_USER, CB(get_name), NULL},
    {SASL_CB_AUTHNAME, CB(get_name), NULL}, {SASL_CB_PASS, CB(get_pass), NULL},
    {SASL_CB_LIST_END, NULL, NULL}};
static sasl_callback_t prompt_cbs[] = {{SASL_CB_USER, NULL, NULL},
    {SASL_CB_AUTHNAME, NULL, NULL}, {SASL_CB_PASS, NULL, NULL},
    {SASL_CB_LIST_END, NULL, NULL}};

/* As Postfix's xsasl_cyrus_security_parse_opts() maps them. */
static int
parse_security(const char *s, unsigned *flags)
{
	static const struct {
		const char *word;
		unsigned flag;
	} words[] = {
	    {"noanonymous", SASL_SEC_NOANONYMOUS},
	    {"noplaintext", SASL_SEC_NOPLAINTEXT},
	    {"nodictionary", SASL_SEC_NODICTIONARY},
	    {"noactive", SASL_SEC_NOACTIVE},
	    {"mutual_auth", SASL_SEC_MUTUAL_AUTH},
	};
	size_t i;

	*flags = 0;
	while (*s != '\0') {
		size_t n = strcspn(s, ",");
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].word) == n &&
			    strncmp(s, words[i].word, n) == 0)
				break;
		if (i == sizeof(words) / sizeof(words[0]))
			return -1;
		*flags |= words[i].flag;
		s += n;
		s += *s == ',';
	}
	return 0;
}

int
main(int argc, char **argv)
{
	sasl_security_properties_t props;
	sasl_callback_t *cbs;
	sasl_interact_t *interact = NULL;
	sasl_conn_t *conn = NULL;
	const char *chosen = NULL;
	unsigned flags;
	int r;

	if (argc != 4 || parse_security(argv[2], &flags) != 0) {
		fprintf(stderr,
		    "usage: mech-choice-host password|authzid|"
		    "prompts SECURITY LIST\n");
		return 2;
	}
	if (strcmp(argv[1], "password") == 0)
		cbs = password_cbs;
	else if (strcmp(argv[1], "authzid") == 0)
		cbs = authzid_cbs;
	else if (strcmp(argv[1], "prompts") == 0)
		cbs = prompt_cbs;
	else {
		fprintf(
		    stderr, "mech-choice-host: unknown profile %s\n", argv[1]);
		return 2;
	}
	/* As Postfix's smtp: global callbacks none but logging, which
	 * libsasl2 supplies itself. */
	if ((r = sasl_client_init(NULL)) != SASL_OK) {
		fprintf(stderr, "mech-choice-host: sasl_client_init: %s\n",
		    sasl_errstring(r, NULL, NULL));
		return 2;
	}
	if ((r = sasl_client_new("smtp", "relay.example.test", NULL, NULL, cbs,
		 0, &conn)) != SASL_OK) {
		fprintf(stderr, "mech-choice-host: sasl_client_new: %s\n",
		    sasl_errstring(r, NULL, NULL));
		sasl_client_done();
		return 2;
	}
	memset(&props, 0, sizeof(props));
	props.security_flags = flags;
	if ((r = sasl_setprop(conn, SASL_SEC_PROPS, &props)) != SASL_OK) {
		fprintf(stderr, "mech-choice-host: sasl_setprop: %s\n",
		    sasl_errdetail(conn));
		sasl_dispose(&conn);
		sasl_client_done();
		return 2;
	}
	r = sasl_client_start(conn, argv[3], &interact, NULL, NULL, &chosen);
	if (r == SASL_CONTINUE && chosen != NULL)
		printf("%s\n", chosen);
	else if (r == SASL_NOMECH)
		printf("none\n");
	else
		fprintf(stderr, "mech-choice-host: sasl_client_start: %s\n",
		    sasl_errdetail(conn));
	sasl_dispose(&conn);
	sasl_client_done();
	return r == SASL_CONTINUE || r == SASL_NOMECH ? 0 : 2;
}
