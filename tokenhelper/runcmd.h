/*
 * runcmd.h: run a program the user configured, as argv without a shell,
 * for a bounded time: notify_command, client_secret_command and import's
 * decryption command share it.
 */
#ifndef OA2_RUNCMD_H
#define OA2_RUNCMD_H

#include "buf.h"

#define RUNCMD_ARGS_MAX 32

/* Split cmd in place into argv (room for RUNCMD_ARGS_MAX + 1): blanks
 * separate words, no quoting, no shell.  The number of words, or -1 when
 * there are more than RUNCMD_ARGS_MAX. */
int runcmd_split(char *cmd, char **argv);

/* A variable for the command: value NULL removes it. */
struct runcmd_env {
	const char *name;
	const char *value;
};

struct runcmd {
	char *const *argv;
	int search_path; /* argv[0] may be a name looked up in PATH */
	int new_pgroup;	 /* its own process group: a timeout kills it all */
	int stdin_fd;	 /* its standard input; -1: /dev/null */
	/* Its standard output, captured here (the buffer's max is the cap:
	 * past it the command is killed); NULL: it writes to our stderr,
	 * since our stdout may be the caller's data. */
	struct oa2_buf *out;
	const struct runcmd_env *env; /* ends with a NULL name; or NULL */
	long long timeout_ms;
};

enum runcmd_outcome {
	RUNCMD_DONE = 0, /* it ended: see exit_code, signal */
	RUNCMD_NOT_RUN,	 /* fork or exec failed: see err */
	RUNCMD_TIMEOUT,	 /* killed at timeout_ms */
	RUNCMD_TOOBIG	 /* killed for writing more than out's cap */
};

struct runcmd_result {
	int exit_code; /* RUNCMD_DONE: its exit status, -1 if signalled */
	int signal;    /* the signal that ended it, or 0 */
	int err;       /* RUNCMD_NOT_RUN: errno */
};

/* Run rc->argv and wait for it (at most timeout_ms); its standard error
 * is ours, it inherits no other descriptor. */
enum runcmd_outcome runcmd_run(
    const struct runcmd *rc, struct runcmd_result *res);

#endif
