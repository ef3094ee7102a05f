/*
 * cmd_setup.c: "sasl-oauth2 setup microsoft ... ACCOUNT": check what the
 * user knows of the app registration, add the account to the
 * configuration file, and print what the tenant's administrator does in
 * Entra and Exchange Online (msadmin.c) and the command to run next.
 *
 * Nothing goes to the network: setup writes the account and explains;
 * "login" or "token" then show whether the tenant agrees.
 *
 * TRUST: the command line, checked before anything is written or printed.
 * SECRETS: none; a client secret stays in its file, whose path alone is
 * written.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "helper.h"
#include "msadmin.h"

static void
setup_usage(FILE *f)
{
	fputs(
	    "usage: sasl-oauth2 setup microsoft --tenant TENANT --client-id "
	    "ID\n"
	    "           --mailbox MAILBOX [--delegated | --app-only [--rbac]]\n"
	    "           [--client-secret-file FILE | --client-key-file FILE\n"
	    "            --client-certificate-file FILE] ACCOUNT\n"
	    "\n"
	    "Add ACCOUNT for a Microsoft 365 mailbox to the configuration "
	    "file, and\nprint what the tenant's administrator does in Entra "
	    "and Exchange Online\n(the consent URL, the PowerShell) and the "
	    "command to run next.\n"
	    "\n"
	    "  --tenant TENANT    the Directory (tenant) ID, or a verified "
	    "domain\n"
	    "  --client-id ID     the app registration's Application "
	    "(client) ID\n"
	    "  --mailbox MAILBOX  the mailbox to log in to or send as\n"
	    "  --delegated        a user signs in (login); the default\n"
	    "  --app-only         no user: client credentials "
	    "(SMTP.SendAsApp)\n"
	    "  --rbac             app-only through RBAC for Applications, "
	    "scoped to\n"
	    "                     the mailbox, instead of mailbox "
	    "permissions\n"
	    "  --client-secret-file FILE       app-only: the file that "
	    "holds the secret\n"
	    "  --client-key-file FILE          app-only: a certificate's "
	    "private key,\n"
	    "  --client-certificate-file FILE  and the certificate uploaded "
	    "to Entra\n"
	    "\n"
	    "Without a secret or key the account gets a commented "
	    "client_secret_file\nline to complete. An existing account of "
	    "the same name is never replaced.\n"
	    "\n"
	    "Example:\n"
	    "  sasl-oauth2 setup microsoft --app-only --tenant "
	    "contoso.onmicrosoft.com \\\n"
	    "      --client-id 11111111-2222-3333-4444-555555555555 \\\n"
	    "      --mailbox relay@contoso.com relay\n",
	    f);
}

struct setup_args {
	struct ms_setup ms;
	int app_only, delegated, rbac;
};

/* 0, or -1 after one sentence on the first value refused. */
static int
check_args(struct setup_args *a)
{
	struct ms_setup *s = &a->ms;

	if (!oa2_config_name_ok(s->account)) {
		say("account names use letters, digits and - _ . @ (at most "
		    "64 characters): '%s'",
		    s->account);
		return -1;
	}
	if (s->tenant == NULL) {
		say("setup microsoft needs --tenant: the Directory (tenant) "
		    "ID on the app registration's Overview page, or a "
		    "verified domain such as contoso.onmicrosoft.com");
		return -1;
	}
	if (strcmp(s->tenant, "common") == 0 ||
	    strcmp(s->tenant, "organizations") == 0 ||
	    strcmp(s->tenant, "consumers") == 0) {
		say("--tenant %s names no tenant; an administrator's consent "
		    "and Exchange need yours: its Directory (tenant) ID or a "
		    "verified domain",
		    s->tenant);
		return -1;
	}
	if (ms_tenant_check(s->tenant) != 0) {
		say("--tenant '%s' is neither a tenant ID (a GUID) nor a "
		    "domain name; use the Directory (tenant) ID on the app "
		    "registration's Overview page, or a verified domain such "
		    "as contoso.onmicrosoft.com",
		    s->tenant);
		return -1;
	}
	if (s->client_id == NULL) {
		say("setup microsoft needs --client-id: the Application "
		    "(client) ID on the app registration's Overview page");
		return -1;
	}
	if (ms_guid_check(s->client_id) != 0) {
		say("--client-id '%s' is not a GUID; use the Application "
		    "(client) ID on the app registration's Overview page",
		    s->client_id);
		return -1;
	}
	if (s->mailbox == NULL) {
		say("setup microsoft needs --mailbox: the address to log in "
		    "to or to send as");
		return -1;
	}
	if (ms_mailbox_check(s->mailbox) != 0) {
		say("--mailbox '%s' is not an address setup can write: ASCII "
		    "letters, digits and . _ %% + - ! # & * / = ? ^ { | } ~ "
		    "before the @, a domain name after it (quotes and $ mean "
		    "something to PowerShell); write such an account by hand",
		    s->mailbox);
		return -1;
	}
	if (a->app_only && a->delegated) {
		say("choose --app-only or --delegated, not both");
		return -1;
	}
	if (a->rbac && a->delegated) {
		say("--rbac grants app-only access; it does not go with "
		    "--delegated");
		return -1;
	}
	s->mode = a->rbac ? MS_APP_RBAC
	    : a->app_only ? MS_APP_ONLY
			  : MS_DELEGATED;
	if (s->mode == MS_DELEGATED &&
	    (s->secret_file || s->key_file || s->cert_file)) {
		say("--client-secret-file and --client-key-file are for "
		    "--app-only: the delegated app is a public client, with no "
		    "secret");
		return -1;
	}
	if (s->secret_file != NULL && (s->key_file || s->cert_file)) {
		say("use --client-secret-file or --client-key-file, not both");
		return -1;
	}
	if ((s->key_file == NULL) != (s->cert_file == NULL)) {
		say("--client-key-file and --client-certificate-file go "
		    "together: Entra knows the key by its certificate");
		return -1;
	}
	if ((s->secret_file && ms_path_check(s->secret_file) != 0) ||
	    (s->key_file && ms_path_check(s->key_file) != 0) ||
	    (s->cert_file && ms_path_check(s->cert_file) != 0)) {
		say("--client-secret-file, --client-key-file and "
		    "--client-certificate-file take an absolute path of "
		    "printable ASCII: the helper runs from other directories "
		    "(Postfix, timers)");
		return -1;
	}
	return 0;
}

/* Where a client secret could go: beside the configuration file, by an
 * absolute path (the helper runs from other directories). */
static void
secret_hint(const char *config, const char *account, char *out, size_t outsz)
{
	char dir[PATH_MAX], real[PATH_MAX], cwd[PATH_MAX], *slash;
	const char *d = NULL;
	size_t n = outsz;

	snprintf(dir, sizeof(dir), "%s", config);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (realpath(dir, real) != NULL)
		d = real;
	else if (dir[0] == '/')
		d = dir;
	if (d != NULL)
		n = (size_t)snprintf(out, outsz, "%s%s%s.secret", d,
		    strcmp(d, "/") == 0 ? "" : "/", account);
	else if (getcwd(cwd, sizeof(cwd)) != NULL)
		n = (size_t)snprintf(
		    out, outsz, "%s/%s/%s.secret", cwd, dir, account);
	if (n < outsz && ms_path_check(out) == 0)
		return;
	snprintf(out, outsz, "%s/sasl-oauth2/%s.secret", SYSCONFDIR, account);
}

/* A word on a credential file that is not ready; setup goes on. */
static void
note_file(const char *account, const char *path, int secret)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			fprintf(stderr,
			    "sasl-oauth2: account %s: %s does not exist yet; "
			    "create it before the first token\n",
			    account, path);
		return;
	}
	if (secret && (st.st_mode & 077) != 0)
		fprintf(stderr,
		    "sasl-oauth2: account %s: %s may be read by others "
		    "(mode %04o), and will be refused; run: chmod 600 %s\n",
		    account, path, (unsigned)(st.st_mode & 07777), path);
}

int
cmd_setup(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"tenant", required_argument, NULL, 't'},
	    {"client-id", required_argument, NULL, 'i'},
	    {"mailbox", required_argument, NULL, 'm'},
	    {"app-only", no_argument, NULL, 'a'},
	    {"delegated", no_argument, NULL, 'd'},
	    {"rbac", no_argument, NULL, 'r'},
	    {"client-secret-file", required_argument, NULL, 's'},
	    {"client-key-file", required_argument, NULL, 'k'},
	    {"client-certificate-file", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct setup_args a;
	struct oa2_buf section, text;
	char path[1024], hint[PATH_MAX];
	int c, r;

	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			a.ms.tenant = optarg;
			break;
		case 'i':
			a.ms.client_id = optarg;
			break;
		case 'm':
			a.ms.mailbox = optarg;
			break;
		case 'a':
			a.app_only = 1;
			break;
		case 'd':
			a.delegated = 1;
			break;
		case 'r':
			a.rbac = 1;
			break;
		case 's':
			a.ms.secret_file = optarg;
			break;
		case 'k':
			a.ms.key_file = optarg;
			break;
		case 'C':
			a.ms.cert_file = optarg;
			break;
		case 'h':
			setup_usage(stdout);
			return 0;
		default:
			setup_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		setup_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "microsoft") != 0) {
		say("setup knows the provider microsoft; for '%s' write the "
		    "account by hand (sasl-oauth2.conf(5))",
		    argv[optind]);
		return EXIT_USAGE;
	}
	if (optind + 2 != argc) {
		setup_usage(stderr);
		return EXIT_USAGE;
	}
	a.ms.account = argv[optind + 1];
	if (check_args(&a) != 0)
		return EXIT_USAGE;

	config_path(path, sizeof(path), 1);
	a.ms.config = opt.config_path;
	if (a.ms.mode != MS_DELEGATED && a.ms.secret_file == NULL &&
	    a.ms.key_file == NULL) {
		secret_hint(path, a.ms.account, hint, sizeof(hint));
		a.ms.secret_hint = hint;
	}
	oa2_buf_init(&section, MS_TEXT_MAX);
	oa2_buf_init(&text, MS_TEXT_MAX);
	if ((r = ms_setup_section(&a.ms, &section)) != 0 ||
	    (r = ms_setup_text(&a.ms, &text)) != 0) {
		say("account %s: cannot compose the setup: %s", a.ms.account,
		    oa2_strerror(r));
		goto out;
	}
	if ((r = config_add_section(path, a.ms.account, &section)) != 0)
		goto out;
	fprintf(stderr, "sasl-oauth2: account %s: added to %s\n", a.ms.account,
	    path);
	if (a.ms.secret_file != NULL)
		note_file(a.ms.account, a.ms.secret_file, 1);
	if (a.ms.key_file != NULL) {
		note_file(a.ms.account, a.ms.key_file, 1);
		note_file(a.ms.account, a.ms.cert_file, 0);
	}
	if (fwrite(text.data, 1, text.len, stdout) != text.len ||
	    fflush(stdout) == EOF)
		r = OA2_ERR_IO;
out:
	oa2_buf_free(&section);
	oa2_buf_free(&text);
	return exit_code_for(r);
}
