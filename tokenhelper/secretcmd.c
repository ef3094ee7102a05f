/*
 * secretcmd.c: the client secret from a command: client_secret_command
 * (words separated by blanks, the first an absolute path; no shell), for
 * a vault's client, pass(1) or systemd-creds(1).  It runs each time the
 * helper needs the secret, so a rotated secret is picked up by the next
 * request.  Standard input is /dev/null, standard error is ours, standard
 * output is the secret: one line (one trailing newline is dropped), at
 * most SECRET_OUTPUT_MAX bytes.  It has SECRET_TIMEOUT_MS, and never more
 * than the caller's deadline leaves (deadline_left_ms()), after which its
 * process group is killed.
 *
 * TRUST: the command is trusted with the secret, so it must be as
 * trustworthy as the configuration file: this user's or root's and
 * writable by no one else (common/conf.c makes the same checks); whoever
 * could write it could send the secret anywhere.  Its output is capped.
 * SECRETS: its output, the client secret, goes straight into the
 * account's wiping buffer (runcmd.c wipes its chunk); it is never logged,
 * only its length.  Messages name argv[0] only.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "helper.h"
#include "runcmd.h"

#define SECRET_TIMEOUT_MS 30000
#define SECRET_OUTPUT_MAX 4096
/* Kept from the caller's deadline: to kill the command, say why, and
 * still be the one to answer the plugin. */
#define SECRET_DEADLINE_MARGIN_MS 1000

/* The command file may be trusted with the secret; says why not. */
static int
command_trusted(const struct account *acct, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		say("account %s: client_secret_command %s: %s; install it or "
		    "correct the path",
		    acct->name, path, strerror(errno));
		return OA2_ERR_CONFIG;
	}
	if (!S_ISREG(st.st_mode)) {
		say("account %s: client_secret_command %s is not a regular "
		    "file; name the program that prints the client secret",
		    acct->name, path);
		return OA2_ERR_CONFIG;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		say("account %s: client_secret_command %s belongs to uid %u, "
		    "neither this user (uid %u) nor root, so it cannot be "
		    "trusted with the client secret; run: chown %u %s",
		    acct->name, path, (unsigned)st.st_uid, (unsigned)geteuid(),
		    (unsigned)geteuid(), path);
		return OA2_ERR_PERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		say("account %s: client_secret_command %s can be written by "
		    "others (mode %04o), who could make it send the client "
		    "secret elsewhere; run: chmod go-w %s",
		    acct->name, path, (unsigned)(st.st_mode & 07777), path);
		return OA2_ERR_PERM;
	}
	if (access(path, X_OK) != 0) {
		say("account %s: client_secret_command %s is not executable; "
		    "run: chmod u+x %s",
		    acct->name, path, path);
		return OA2_ERR_CONFIG;
	}
	return 0;
}

/* The output as the secret: one trailing newline dropped, then one
 * non-empty line without NUL bytes. */
static int
output_checked(
    const struct account *acct, const char *path, struct oa2_buf *out)
{
	if (out->len > 0 && out->data[out->len - 1] == '\n')
		out->data[--out->len] = '\0';
	if (out->len > 0 && out->data[out->len - 1] == '\r')
		out->data[--out->len] = '\0';
	if (out->len == 0) {
		say("account %s: client_secret_command %s printed nothing; "
		    "it must print the client secret on its standard output",
		    acct->name, path);
		return OA2_ERR_CONFIG;
	}
	if (memchr(out->data, '\n', out->len) != NULL ||
	    memchr(out->data, '\0', out->len) != NULL) {
		say("account %s: client_secret_command %s printed more than "
		    "one line; it must print the client secret alone (for "
		    "pass, keep the secret alone in its entry)",
		    acct->name, path);
		return OA2_ERR_CONFIG;
	}
	return 0;
}

int
secret_command_read(
    const struct account *acct, const char *command, struct oa2_buf *out)
{
	char cmd[OA2_CONFIG_LINE_MAX], *argv[RUNCMD_ARGS_MAX + 1];
	struct runcmd rc = {0};
	struct runcmd_result res;
	struct oa2_buf text;
	long long left = deadline_left_ms(), timeout = SECRET_TIMEOUT_MS;
	int r;

	oa2_buf_init(&text, SECRET_OUTPUT_MAX);
	snprintf(cmd, sizeof(cmd), "%s", command);
	if (runcmd_split(cmd, argv) <= 0 || argv[0][0] != '/') {
		say("account %s: client_secret_command must start with an "
		    "absolute path and have at most %d words (no shell is "
		    "used)",
		    acct->name, RUNCMD_ARGS_MAX);
		r = OA2_ERR_CONFIG;
		goto out;
	}
	if ((r = command_trusted(acct, argv[0])) != 0)
		goto out;
	if (left != LLONG_MAX && left - SECRET_DEADLINE_MARGIN_MS < timeout)
		timeout = left - SECRET_DEADLINE_MARGIN_MS;
	if (timeout <= 0) {
		say("account %s: no time was left to run client_secret_command "
		    "%s before the caller's deadline; try again",
		    acct->name, argv[0]);
		r = OA2_ERR_TIMEOUT;
		goto out;
	}
	rc.argv = argv;
	rc.new_pgroup = 1;
	rc.stdin_fd = -1;
	rc.out = &text;
	rc.timeout_ms = timeout;
	verbose("account %s: running client_secret_command %s (at most %lld "
		"ms)",
	    acct->name, argv[0], timeout);
	switch (runcmd_run(&rc, &res)) {
	case RUNCMD_NOT_RUN:
		say("account %s: cannot run client_secret_command %s: %s",
		    acct->name, argv[0], strerror(res.err));
		r = OA2_ERR_CONFIG;
		goto out;
	case RUNCMD_TIMEOUT:
		say("account %s: client_secret_command %s did not finish "
		    "within %lld.%lld s and was killed; is it waiting for a "
		    "pass phrase or a vault it cannot reach?",
		    acct->name, argv[0], timeout / 1000, timeout % 1000 / 100);
		r = OA2_ERR_TIMEOUT;
		goto out;
	case RUNCMD_TOOBIG:
		say("account %s: client_secret_command %s wrote more than %d "
		    "bytes; it must print the client secret alone",
		    acct->name, argv[0], SECRET_OUTPUT_MAX);
		r = OA2_ERR_CONFIG;
		goto out;
	case RUNCMD_DONE:
		break;
	}
	if (res.exit_code != 0) {
		say("account %s: client_secret_command %s failed (%s %d); run "
		    "it yourself to see why",
		    acct->name, argv[0], res.signal != 0 ? "signal" : "exit",
		    res.signal != 0 ? res.signal : res.exit_code);
		r = OA2_ERR_CONFIG;
		goto out;
	}
	if ((r = output_checked(acct, argv[0], &text)) != 0)
		goto out;
	oa2_buf_reset(out);
	if ((r = oa2_buf_append(out, text.data, text.len)) != 0) {
		say("account %s: the client secret client_secret_command %s "
		    "printed is too long",
		    acct->name, argv[0]);
		goto out;
	}
	verbose("account %s: client secret from client_secret_command %s (%zu "
		"bytes)",
	    acct->name, argv[0], text.len);
out:
	oa2_buf_free(&text);
	explicit_bzero(cmd, sizeof(cmd));
	return r;
}
