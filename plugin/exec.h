/*
 * exec.h: run the token helper and collect its answer.
 */
#ifndef OA2_PLUGIN_EXEC_H
#define OA2_PLUGIN_EXEC_H

#include "buf.h"

#define OA2_HELPER_TIMEOUT_MS 30000
#define OA2_HELPER_STDERR_MAX 512

struct helper_result {
	int spawn_errno; /* errno when the helper could not be started */
	int exit_status; /* exit code, or -1 */
	int term_signal; /* the signal that ended it, or 0 */
	int timed_out;	 /* 1 when we killed it at the deadline */
	int overflow;	 /* 1 when stdout exceeded its cap */
	int unreaped;	 /* 1 when the host reaped it: exit status unknown */
	char err[OA2_HELPER_STDERR_MAX]; /* first stderr line, printable */
};

/* Runs "HELPER token --user MAILBOX" and leaves its stdout in out (capped
 * at out->max).  Returns 0 when the helper ran to completion (whatever its
 * exit code), else a negative OA2 error; details in *res either way. */
int helper_run(const char *helper, const char *mailbox, int timeout_ms,
    struct oa2_buf *out, struct helper_result *res);

#endif
