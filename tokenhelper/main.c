/*
 * main.c: sasl-oauth2-full, the token helper with every command: option
 * parsing, process hardening and command dispatch.  Each command lives in
 * its own file.  Users run it through the light front (front.c), which
 * answers cache hits by itself.
 *
 * SECRETS: the process holds client secrets and tokens, so it makes itself
 * non-dumpable (no core files, no ptrace by other processes of the uid)
 * before anything else.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

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
	      "  setup microsoft ACCOUNT  add a Microsoft 365 account; print "
	      "the tenant\n"
	      "                     administrator's steps (see 'setup "
	      "--help')\n"
	      "  import TOOL ACCOUNT  take an account over from sasl-xoauth2 "
	      "or\n"
	      "                     mutt_oauth2, refresh token and all (see "
	      "'import --help')\n"
	      "  doctor ACCOUNT     check an account step by step and say "
	      "what to fix\n"
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
	const char *cmd;
	int c;

	harden();
	account_lock_inherit();
	while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS, global_longopts,
		    NULL)) != -1) {
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
	optind = 0; /* reset, so the command may permute its own options */
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
	if (strcmp(cmd, "import") == 0)
		return cmd_import(argc, argv);
	if (strcmp(cmd, "setup") == 0)
		return cmd_setup(argc, argv);
	if (strcmp(cmd, "doctor") == 0)
		return cmd_doctor(argc, argv);
	say("unknown command '%s'; see 'sasl-oauth2 --help'", cmd);
	return EXIT_USAGE;
}
