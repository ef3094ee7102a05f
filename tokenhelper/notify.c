/*
 * notify.c: tell the user before it breaks.  An account's notify_command
 * (words separated by blanks, the first an absolute path: no shell) runs
 * after a "refresh" when the account needs an interactive login again, when
 * its refreshes have failed twice in a row, or when its client certificate
 * expires within 14 days.  Each event runs the command at most once per 15
 * minutes per account (a stamp file beside the account's lock), for at
 * most 30 s (then its process group is killed).
 *
 * The command learns the event from its environment:
 *	SASL_OAUTH2_EVENT	login_required, refresh_failing or
 *				certificate_expiring
 *	SASL_OAUTH2_ACCOUNT	the account's name
 *	SASL_OAUTH2_USER	its mailbox (the first, if several)
 *	SASL_OAUTH2_MESSAGE	the sentence the helper said (what to do)
 *	SASL_OAUTH2_CERT_NOT_AFTER  certificate_expiring: unix time
 *
 * SECRETS: none of these carries one (the helper's sentences never do);
 * the command gets no descriptor of ours but standard error, and standard
 * input from /dev/null.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "helper.h"
#include "jwt.h"
#include "runcmd.h"

#define NOTIFY_TIMEOUT_MS 30000
#define NOTIFY_EVERY 900	       /* seconds between two of one event */
#define NOTIFY_CERT_WARN (14L * 86400) /* certificate expiry warning */
#define NOTIFY_FAILURES 2	       /* failed refreshes in a row */

/* dir/<account>.<what> into out. */
static int
state_path(
    const struct account *acct, const char *what, char *out, size_t outsz)
{
	char dir[1024];

	if (account_lock_dir(acct, dir, sizeof(dir)) != 0)
		return -1;
	if ((size_t)snprintf(out, outsz, "%s/%s.%s", dir, acct->name, what) >=
	    outsz)
		return -1;
	return 0;
}

/* Failed refreshes in a row, after this one (0 after a success). */
static int
count_failures(const struct account *acct, int failed)
{
	char path[1200], buf[16];
	ssize_t n;
	int fd, count = 0;

	if (state_path(acct, "failures", path, sizeof(path)) != 0)
		return 0;
	if (!failed) {
		(void)unlink(path);
		return 0;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		if ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
			char *end;
			long v;

			buf[n] = '\0';
			errno = 0;
			v = strtol(buf, &end, 10);
			/* anything but a small count is a file not ours */
			if (errno == 0 && end != buf &&
			    (*end == '\n' || *end == '\0') && v >= 0 &&
			    v <= 1000000)
				count = (int)v;
		}
		close(fd);
	}
	count++;
	if ((fd = open(path,
		 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		 0600)) >= 0) {
		n = snprintf(buf, sizeof(buf), "%d\n", count);
		if (write(fd, buf, (size_t)n) != n)
			verbose("account %s: cannot record failures in %s",
			    acct->name, path);
		close(fd);
	}
	return count;
}

/* 1 when the event was last announced less than NOTIFY_EVERY ago;
 * otherwise records now as its time and returns 0. */
static int
recently(const struct account *acct, const char *event, time_t now)
{
	char path[1200], what[64];
	struct stat st;
	int fd;

	snprintf(what, sizeof(what), "notified-%s", event);
	if (state_path(acct, what, path, sizeof(path)) != 0)
		return 0;
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    now - st.st_mtime < NOTIFY_EVERY && st.st_mtime <= now)
		return 1;
	(void)unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >=
	    0)
		close(fd);
	return 0;
}

static void
run(const struct account *acct, const char *command, const char *event,
    const char *message, time_t not_after)
{
	char cmd[OA2_CONFIG_LINE_MAX], *argv[RUNCMD_ARGS_MAX + 1], num[32];
	struct runcmd_env env[] = {{"SASL_OAUTH2_EVENT", event},
	    {"SASL_OAUTH2_ACCOUNT", acct->name},
	    {"SASL_OAUTH2_USER", acct->user ? acct->user : ""},
	    {"SASL_OAUTH2_MESSAGE", message},
	    {"SASL_OAUTH2_CERT_NOT_AFTER", NULL}, {NULL, NULL}};
	struct runcmd rc = {0};
	struct runcmd_result res;

	snprintf(cmd, sizeof(cmd), "%s", command);
	if (runcmd_split(cmd, argv) <= 0 || argv[0][0] != '/') {
		say("account %s: notify_command must start with an absolute "
		    "path (no shell is used): %s",
		    acct->name, command);
		return;
	}
	if (not_after != 0) {
		snprintf(num, sizeof(num), "%lld", (long long)not_after);
		env[4].value = num;
	}
	rc.argv = argv;
	rc.new_pgroup = 1;
	rc.stdin_fd = -1;
	rc.env = env;
	rc.timeout_ms = NOTIFY_TIMEOUT_MS;
	switch (runcmd_run(&rc, &res)) {
	case RUNCMD_NOT_RUN:
		say("account %s: cannot run notify_command %s: %s", acct->name,
		    argv[0], strerror(res.err));
		return;
	case RUNCMD_TIMEOUT:
	case RUNCMD_TOOBIG: /* no output is captured */
		say("account %s: notify_command took more than %d s and was "
		    "killed",
		    acct->name, NOTIFY_TIMEOUT_MS / 1000);
		return;
	case RUNCMD_DONE:
		break;
	}
	if (res.exit_code != 0)
		say("account %s: notify_command failed (%s %d)", acct->name,
		    res.signal != 0 ? "signal" : "exit",
		    res.signal != 0 ? res.signal : res.exit_code);
	else
		verbose(
		    "account %s: notify_command told of %s", acct->name, event);
}

void
notify_after_refresh(const struct account *acct, int err)
{
	const char *command =
	    acct->cfg != NULL ? acct->cfg->v[OA2_K_NOTIFY_COMMAND] : NULL;
	const char *cert = acct->cfg != NULL
	    ? acct->cfg->v[OA2_K_CLIENT_CERTIFICATE_FILE]
	    : NULL;
	char message[1024], date[64];
	time_t now = time(NULL), not_after = 0;
	struct tm tm;
	int failures;

	if (command == NULL)
		return;
	snprintf(message, sizeof(message), "%s", err != 0 ? said_last() : "");
	failures = count_failures(acct, err != 0);
	if (err != 0 && exit_code_for(err) == EXIT_NOPERM) {
		if (!recently(acct, "login_required", now))
			run(acct, command, "login_required", message, 0);
	} else if (failures >= NOTIFY_FAILURES) {
		if (!recently(acct, "refresh_failing", now))
			run(acct, command, "refresh_failing", message, 0);
	}
	if (cert != NULL &&
	    oa2_jwt_cert_not_after(cert, &not_after, date, sizeof(date)) == 0 &&
	    not_after - now < NOTIFY_CERT_WARN &&
	    !recently(acct, "certificate_expiring", now)) {
		gmtime_r(&not_after, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
		snprintf(message, sizeof(message),
		    "account %s: the client certificate %s %s %s; register a "
		    "new one with the app and update client_certificate_file "
		    "and client_key_file",
		    acct->name, cert,
		    not_after <= now ? "expired on" : "expires on", date);
		run(acct, command, "certificate_expiring", message, not_after);
	}
}
