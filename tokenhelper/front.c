/*
 * front.c: the sasl-oauth2 command that make install puts in $bindir: a
 * light front that answers "token" from the kernel keyring cache and hands
 * everything else to the full helper, $pkglibexecdir/sasl-oauth2-full.
 *
 * Why two programs: "sasl-oauth2 token" runs at every login where it is a
 * password command (mbsync PassCmd, msmtp passwordeval), and whenever the
 * plugin misses its own cache.  Linked with libcurl, OpenSSL, json-c and
 * libsecret, a program loads 46 shared libraries before main(): 20 M
 * instructions and 13 MiB to read one key.  The front links libc and
 * libkeyutils only (docs/performance.md has the figures).
 *
 * On a miss the front takes the account's lock and looks again: in a storm
 * of callers one refreshes and the others find its token there.  Only a
 * caller that still misses starts the full helper, and hands it the lock
 * on an inherited descriptor (LOCK_FD_ENV), so that no other caller slips
 * in between.  Everything the front does not answer cleanly (the other
 * commands, --help, any error at all) goes to the full helper with the
 * command line unchanged, and the full helper says what is wrong: the
 * front itself prints nothing but a token.
 *
 * SECRETS: the cached token, in a wiping buffer, freed before any exec.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "helper.h"

#define FULL_NAME "sasl-oauth2-full"

/* The full helper: beside this program if it is there (a build tree, a
 * test's copy), else where make install put it. */
static void
full_path(char *out, size_t outsz)
{
	char self[PATH_MAX];
	char *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(
				out, outsz, "%s/%s", self, FULL_NAME) < outsz &&
			    access(out, X_OK) == 0)
				return;
		}
	}
	snprintf(out, outsz, "%s", PKGLIBEXECDIR "/" FULL_NAME);
}

/* exec the full helper with the command line as given; lock (or -1) stays
 * open and held across the exec. */
static int
hand_over(char **argv, int lock)
{
	char path[PATH_MAX], fd[16];

	unsetenv(LOCK_FD_ENV);
	if (lock >= 0 && fcntl(lock, F_SETFD, 0) == 0) {
		snprintf(fd, sizeof(fd), "%d", lock);
		(void)setenv(LOCK_FD_ENV, fd, 1);
	}
	full_path(path, sizeof(path));
	/* The full helper hardens itself, and must see the caller's umask
	 * for what it starts on the user's behalf (login's browser). */
	umask(harden_caller_umask());
	execv(path, argv);
	opt.quiet = 0;
	say("cannot run %s: %s; reinstall sasl-oauth2", path, strerror(errno));
	return EXIT_SOFTWARE;
}

/* "token": 1 when answered (*rc the exit code), else 0 with *lock the
 * account's lock (or < 0) to hand over. */
static int
token_from_cache(int argc, char **argv, int *rc, int *lock)
{
	const struct oa2_account *a;
	struct oa2_config cfg = {0};
	struct token_args ta;
	struct account acct;
	struct oa2_buf tok;
	char path[1024];
	time_t expiry = 0;
	int verbose_asked, r = OA2_ERR_NOTFOUND;

	*lock = -1;
	optind = 0; /* reset: main's getopt_long stopped at the command */
	if (token_args_parse(argc, argv, &ta) != 0)
		return 0;
	verbose_asked = opt.verbose;
	opt.verbose = 0; /* the full helper explains a miss */
	if (config_open(&cfg, path, sizeof(path)) != 0)
		return 0;
	a = ta.user != NULL ? oa2_config_find_user(&cfg, ta.key)
			    : oa2_config_find(&cfg, ta.key);
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	memset(&acct, 0, sizeof(acct));
	if (a == NULL || account_resolve(&cfg, a, ta.user, &acct) != 0)
		goto out;
	r = token_cached(&acct, ta.min_ttl, &tok, &expiry);
	if (r != 0 && r != OA2_ERR_UNAVAIL) {
		opt.quiet = 0; /* what token_wait_turn says is final */
		r = token_wait_turn(&acct, ta.min_ttl, 0, lock, &tok, &expiry);
		opt.quiet = 1;
		if (r == TOKEN_YOUR_TURN)
			goto out; /* the full helper's, with the lock */
		if (r != 0) {
			*rc = exit_code_for(r);
			r = 0;
			goto out;
		}
	}
	if (r == 0) {
		opt.quiet = 0;
		opt.verbose = verbose_asked;
		verbose("account %s: cached token, %lld s left", acct.name,
		    (long long)(expiry - time(NULL)));
		*rc = token_emit(ta.fmt, &acct, &tok, expiry);
	}
out:
	oa2_buf_free(&tok);
	oa2_buf_free(&acct.client_secret);
	oa2_config_free(&cfg);
	return r == 0;
}

int
main(int argc, char **argv)
{
	char **args;
	int c, lock = -1, rc = 0;

	harden();
	opt.quiet = 1;
	opterr = 0;
	/* getopt_long permutes what it parses: parse a copy, so that the
	 * full helper gets the command line exactly as given. */
	if (argc < 1 ||
	    (args = calloc((size_t)argc + 1, sizeof(*args))) == NULL)
		return hand_over(argv, -1);
	memcpy(args, argv, (size_t)argc * sizeof(*args));
	while ((c = getopt_long(argc, args, GLOBAL_SHORTOPTS, global_longopts,
		    NULL)) != -1) {
		switch (c) {
		case 'c':
			opt.config_path = optarg;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		default: /* help, version, mistakes: the full helper's job */
			free(args);
			return hand_over(argv, -1);
		}
	}
	if (optind < argc && strcmp(args[optind], "token") == 0 &&
	    token_from_cache(argc - optind, args + optind, &rc, &lock)) {
		free(args);
		return rc;
	}
	free(args);
	return hand_over(argv, lock);
}
