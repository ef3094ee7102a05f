/*
 * setid-host.c: a minimal libsasl2 client host for t-setid.sh, meant to be
 * installed set-gid, as sendmail and some MUAs are.  It loads plugins from
 * the directory named by argv[1] through SASL_CB_GETPATH (libsasl2 itself
 * ignores SASL_PATH in a set-id process), starts XOAUTH2 for the mailbox
 * argv[2], and prints "secure=N start=RC": N is getauxval(AT_SECURE), so
 * the test can tell whether the kernel really ran it set-id.
 */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#include <sasl/sasl.h>

static const char *plugin_dir, *mailbox;

#ifdef __SANITIZE_ADDRESS__
/* Built for a sanitizer build (the plugin needs the ASan runtime first).
 * A set-id process reads no ASAN_OPTIONS, and LeakSanitizer cannot run in
 * one: leaks are the other tests' business. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

static int
get_path(void *context, const char **path)
{
	(void)context;
	*path = plugin_dir;
	return SASL_OK;
}

static int
get_name(void *context, int id, const char **result, unsigned *len)
{
	(void)context;
	(void)id;
	*result = mailbox;
	if (len != NULL)
		*len = (unsigned)strlen(mailbox);
	return SASL_OK;
}

int
main(int argc, char **argv)
{
	sasl_callback_t cbs[] = {
	    {SASL_CB_GETPATH, (int (*)(void))get_path, NULL},
	    {SASL_CB_USER, (int (*)(void))get_name, NULL},
	    {SASL_CB_AUTHNAME, (int (*)(void))get_name, NULL},
	    {SASL_CB_LIST_END, NULL, NULL}};
	const char *out = NULL, *mech = NULL;
	sasl_conn_t *conn = NULL;
	unsigned outlen = 0;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: setid-host PLUGIN_DIR MAILBOX\n");
		return 64;
	}
	plugin_dir = argv[1];
	mailbox = argv[2];
	if ((r = sasl_client_init(cbs)) == SASL_OK &&
	    (r = sasl_client_new("smtp", "mail.example.test", NULL, NULL, NULL,
		 0, &conn)) == SASL_OK)
		r = sasl_client_start(
		    conn, "XOAUTH2", NULL, &out, &outlen, &mech);
	printf("secure=%lu start=%d\n", getauxval(AT_SECURE), r);
	fflush(stdout);
	if (conn != NULL)
		sasl_dispose(&conn);
	sasl_client_done();
	return 0;
}
