/*
 * main.c: sasl-oauth2, the token helper: option parsing, process hardening
 * and command dispatch.  Each command lives in its own file.
 *
 * SECRETS: the process holds client secrets and tokens, so it makes itself
 * non-dumpable (no core files, no ptrace by other processes of the uid)
 * before anything else.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "helper.h"
#include "http.h"

struct options opt;

void
say(const char *fmt, ...)
{
	va_list ap;

	fputs("sasl-oauth2: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
verbose(const char *fmt, ...)
{
	va_list ap;

	if (!opt.verbose)
		return;
	fputs("sasl-oauth2: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
parse_seconds(const char *arg, const char *name, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < lo || v > hi) {
		say("%s takes seconds (%ld to %ld)", name, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

int
exit_code_for(int err)
{
	switch (err) {
	case 0:
		return EXIT_TOKEN;
	case OA2_ERR_AUTH:
		return EXIT_NOPERM;
	case OA2_ERR_PERM: /* a loose secret file: fix the file */
	case OA2_ERR_CONFIG:
	case OA2_ERR_CLIENT:
	case OA2_ERR_INVAL:
	case OA2_ERR_NOTFOUND:
		return EXIT_CONFIG;
	case OA2_ERR_IO: /* a full disk, a state dir gone: try later */
	case OA2_ERR_NETWORK:
	case OA2_ERR_TIMEOUT:
	case OA2_ERR_PROVIDER:
	case OA2_ERR_PARSE:
	case OA2_ERR_TOOBIG:
		return EXIT_TEMPFAIL;
	default:
		return EXIT_SOFTWARE;
	}
}

static int
exists(const char *p)
{
	return access(p, F_OK) == 0;
}

int
config_open(struct oa2_config *cfg, char *path, size_t pathsz)
{
	const char *env = getenv("SASL_OAUTH2_CONFIG");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char err[512];
	int r;

	if (opt.config_path != NULL)
		snprintf(path, pathsz, "%s", opt.config_path);
	else if (env != NULL && *env != '\0')
		snprintf(path, pathsz, "%s", env);
	else {
		path[0] = '\0';
		if (xdg != NULL && *xdg == '/')
			snprintf(path, pathsz, "%s/sasl-oauth2/config", xdg);
		else if (home != NULL && *home == '/')
			snprintf(path, pathsz, "%s/.config/sasl-oauth2/config",
			    home);
		if (path[0] == '\0' || !exists(path))
			snprintf(path, pathsz, "%s",
			    SYSCONFDIR "/sasl-oauth2/sasl-oauth2.conf");
	}
	if ((r = oa2_config_load(path, cfg, err, sizeof(err))) != 0) {
		if (r == OA2_ERR_NOTFOUND)
			say("no configuration: %s; create it with an [account "
			    "NAME] section (see README.md) or set "
			    "SASL_OAUTH2_CONFIG",
			    err);
		else
			say("%s", err);
		return OA2_ERR_CONFIG;
	}
	return 0;
}

static void
harden(void)
{
	struct rlimit rl = {0, 0};

	/* Tokens and secrets must never reach a core file or a debugger
	 * attached by another process of this uid. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &rl);
	umask(077);
}

static void
usage(FILE *f)
{
	fputs("usage: sasl-oauth2 [-v] [-c FILE] COMMAND [ARGS]\n"
	      "\n"
	      "Commands:\n"
	      "  login ACCOUNT      authorize once (browser, or --device)\n"
	      "  token ACCOUNT      print a fresh access token (also: --user "
	      "MAILBOX)\n"
	      "  status             what each account has (--json)\n"
	      "  refresh --all      keep cached tokens fresh (timers, "
	      "chroots)\n"
	      "  logout ACCOUNT     forget the tokens (--revoke at the "
	      "provider too)\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config FILE  configuration file (default: "
	      "$SASL_OAUTH2_CONFIG,\n"
	      "                     ~/.config/sasl-oauth2/config, " SYSCONFDIR
	      "/sasl-oauth2/sasl-oauth2.conf)\n"
	      "  -v, --verbose      explain each step on stderr (never "
	      "secrets)\n"
	      "  -h, --help         this text; 'sasl-oauth2 COMMAND --help' "
	      "for a command\n"
	      "  -V, --version      print the version\n"
	      "\n"
	      "Exit status: 0 token printed, 64 usage, 75 temporary failure,\n"
	      "77 log in again, 78 configuration error.\n",
	    f);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	const char *cmd;
	int c;

	harden();
	while ((c = getopt_long(argc, argv, "+c:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt.config_path = optarg;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 1;
	if (strcmp(cmd, "token") == 0)
		return cmd_token(argc, argv);
	if (strcmp(cmd, "login") == 0)
		return cmd_login(argc, argv);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(argc, argv);
	if (strcmp(cmd, "logout") == 0)
		return cmd_logout(argc, argv);
	if (strcmp(cmd, "refresh") == 0)
		return cmd_refresh(argc, argv);
	say("unknown command '%s'; see 'sasl-oauth2 --help'", cmd);
	return EXIT_USAGE;
}
