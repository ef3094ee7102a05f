/*
 * util.c: what both programs of sasl-oauth2 share: messages, option
 * values, exit codes, finding the configuration, process hardening.
 * Linked into the light front (front.c) too, so nothing here may need
 * libcurl, OpenSSL or json-c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "helper.h"
#include "sysutil.h"
#include "wire.h"

struct options opt;

const struct option global_longopts[] = {
    {"config", required_argument, NULL, 'c'},
    {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};

/* The last sentence say() wrote, for the account's lock record: a caller
 * that waited for another's attempt repeats that attempt's sentence. */
static char said[SAID_MAX];

/* One line, "sasl-oauth2: <text>\n", in one write(2): callers that share a
 * stderr (a storm of helpers under one Postfix or a timer's log) must not
 * interleave their lines. */
static void vsay(const char *fmt, va_list ap, int keep)
    __attribute__((format(printf, 1, 0)));
static void
vsay(const char *fmt, va_list ap, int keep)
{
	static const char prefix[] = "sasl-oauth2: ";
	char text[SAID_MAX], line[sizeof(prefix) + SAID_MAX];
	size_t len = sizeof(prefix) - 1, off;
	ssize_t w;
	int n;

	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		return;
	/* One line of printable text (oa2_printable); cut when too long. */
	memcpy(line, prefix, len);
	oa2_printable(line + len, sizeof(line) - len - 1, text,
	    (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
	len += strlen(line + len);
	if (keep) /* with its NUL: at most SAID_MAX bytes */
		memcpy(said, line + sizeof(prefix) - 1,
		    len - (sizeof(prefix) - 1) + 1);
	if (keep && opt.hush) /* doctor prints it in its checklist */
		return;
	line[len++] = '\n';
	for (off = 0; off < len; off += (size_t)w) {
		w = write(STDERR_FILENO, line + off, len - off);
		if (w < 0 && errno == EINTR)
			w = 0;
		else if (w <= 0)
			return;
	}
}

void
say(const char *fmt, ...)
{
	va_list ap;

	if (opt.quiet)
		return;
	va_start(ap, fmt);
	vsay(fmt, ap, 1);
	va_end(ap);
}

void
verbose(const char *fmt, ...)
{
	va_list ap;

	if (!opt.verbose)
		return;
	va_start(ap, fmt);
	vsay(fmt, ap, 0);
	va_end(ap);
}

const char *
said_last(void)
{
	return said;
}

void
said_forget(void)
{
	said[0] = '\0';
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
	case OA2_ERR_UNAVAIL: /* a keyring daemon not running or locked */
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

void
config_path(char *path, size_t pathsz, int create)
{
	const char *env = getenv("SASL_OAUTH2_CONFIG");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	const char *sys = SYSCONFDIR "/sasl-oauth2/sasl-oauth2.conf";

	if (opt.config_path != NULL) {
		snprintf(path, pathsz, "%s", opt.config_path);
		return;
	}
	if (env != NULL && *env != '\0') {
		snprintf(path, pathsz, "%s", env);
		return;
	}
	path[0] = '\0';
	if (xdg != NULL && *xdg == '/')
		snprintf(path, pathsz, "%s/sasl-oauth2/config", xdg);
	else if (home != NULL && *home == '/')
		snprintf(path, pathsz, "%s/.config/sasl-oauth2/config", home);
	/* A new user file would hide the system's from this user: only
	 * when there is no system file either. */
	if (path[0] == '\0' || (!exists(path) && (!create || exists(sys))))
		snprintf(path, pathsz, "%s", sys);
}

int
config_open(struct oa2_config *cfg, char *path, size_t pathsz)
{
	char err[512];
	int r;

	config_path(path, pathsz, 0);
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

long long
deadline_left_ms(void)
{
	const char *v = getenv(DEADLINE_ENV);
	long long d;
	char *end;

	if (v == NULL || *v == '\0')
		return LLONG_MAX;
	errno = 0;
	d = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || d <= 0)
		return LLONG_MAX;
	return d - oa2_now_ms();
}

/* The caller's umask, for a program we start on the user's behalf. */
static mode_t caller_umask = 022;

mode_t
harden_caller_umask(void)
{
	return caller_umask;
}

void
harden(void)
{
	struct rlimit rl;
	int fd;

	/* Tokens and secrets must never reach a core file or a debugger
	 * attached by another process of this uid. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* The soft limit only: the browser login may start may raise it
	 * again for itself (a non-dumpable process writes no core anyway). */
	if (getrlimit(RLIMIT_CORE, &rl) == 0) {
		rl.rlim_cur = 0;
		(void)setrlimit(RLIMIT_CORE, &rl);
	}
	caller_umask = umask(077);
	/* A caller that closed stdin, stdout or stderr would have the next
	 * file we open (a lock, a store) stand in for it. */
	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", O_RDWR) != fd)
			_exit(EXIT_SOFTWARE);
}

const struct oa2_account *
config_account(const struct oa2_config *cfg, const char *path, const char *key,
    int by_user)
{
	const struct oa2_account *a;

	a = by_user ? oa2_config_find_user(cfg, key)
		    : oa2_config_find(cfg, key);
	if (a != NULL)
		return a;
	if (by_user)
		say("no account in %s has user = %s; add an [account NAME] "
		    "section for it",
		    path, key);
	else
		say("no account '%s' in %s", key, path);
	return NULL;
}

const char *
config_key_qualifier(const struct oa2_config *cfg, const struct oa2_account *a,
    const char *mailbox)
{
	return oa2_config_find_user(cfg, mailbox) == a ? NULL : a->name;
}

const char *
account_key_qualifier(const struct account *acct, const char *mailbox)
{
	return config_key_qualifier(acct->config, acct->cfg, mailbox);
}
