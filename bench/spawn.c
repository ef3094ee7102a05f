/*
 * spawn.c: start N copies of a command at once and wait for all of them,
 * as N host processes (Postfix smtp, say) running the helper would; the
 * wall time from the first spawn to the last exit is the figure.
 *
 * posix_spawn from this small process costs far less than a fork of a
 * shell per copy, so the figure is the command's, not the launcher's.
 *
 * usage: spawn N OUTDIR CMD [ARG...]
 * stdout of copy i goes to OUTDIR/out.i, stderr to OUTDIR/err.i; prints
 * "wall_ms W failed F" (F copies exited non-zero or were killed).
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
start(const char *dir, long i, char **cmd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	char out[4096], err[4096];
	int r;

	snprintf(out, sizeof(out), "%s/out.%ld", dir, i);
	snprintf(err, sizeof(err), "%s/err.%ld", dir, i);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(
	    &fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(
	    &fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	r = posix_spawn(pid, cmd[0], &fa, NULL, cmd, environ);
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

int
main(int argc, char **argv)
{
	long n, i, failed = 0;
	pid_t *pids;
	double t0;
	int st;

	if (argc < 4 || (n = strtol(argv[1], NULL, 10)) < 1 || n > 10000) {
		fprintf(stderr, "usage: spawn N OUTDIR CMD [ARG...]\n");
		return 2;
	}
	if ((pids = calloc((size_t)n, sizeof(*pids))) == NULL)
		return 1;
	t0 = now_ms();
	for (i = 0; i < n; i++)
		if (start(argv[2], i, argv + 3, &pids[i]) != 0) {
			fprintf(stderr, "spawn: cannot run %s\n", argv[3]);
			pids[i] = -1;
			failed++;
		}
	for (i = 0; i < n; i++) {
		if (pids[i] < 0)
			continue;
		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			failed++;
	}
	printf("wall_ms %.1f failed %ld\n", now_ms() - t0, failed);
	free(pids);
	return failed == 0 ? 0 : 1;
}
