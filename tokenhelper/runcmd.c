/*
 * runcmd.c: run a program the user configured (runcmd.h).  No shell: the
 * words of the configuration are the argv.  Standard input is a given
 * descriptor or /dev/null, standard error is ours, standard output is
 * captured into a capped buffer or sent to our standard error (our
 * standard output may carry a token to the plugin); no other descriptor
 * is inherited.  It runs for a bounded time, after which it (with
 * new_pgroup, its whole process group) is killed.
 *
 * TRUST: the command is the user's or the administrator's; its output is
 * untrusted, capped by the buffer it goes to.
 * SECRETS: the captured output may be one (client_secret_command): it
 * goes through a wiped stack chunk into the caller's wiping buffer and is
 * never logged here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "runcmd.h"
#include "sysutil.h"

int
runcmd_split(char *cmd, char **argv)
{
	int n = 0;
	char *p = cmd;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n == RUNCMD_ARGS_MAX)
			return -1;
		argv[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	argv[n] = NULL;
	return n;
}

/* fd moved to 3 or above (still close-on-exec), so that placing 0 and 1
 * cannot overwrite it. */
static int
above_stdio(int fd)
{
	return fd >= 0 && fd < 3 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : fd;
}

/* In the child: set up and exec; on failure, errno to errfd. */
static void __attribute__((noreturn))
child(const struct runcmd *rc, int outfd, int errfd)
{
	const struct runcmd_env *e;
	int in = rc->stdin_fd, err;
	sigset_t none;

	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (rc->new_pgroup)
		(void)setpgid(0, 0);
	if (in < 0)
		in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	in = above_stdio(in);
	outfd = above_stdio(outfd);
	errfd = above_stdio(errfd);
	if (in < 0 || errfd < 0 || dup2(in, STDIN_FILENO) < 0 ||
	    dup2(outfd >= 0 ? outfd : STDERR_FILENO, STDOUT_FILENO) < 0)
		goto fail;
	if (errfd != 3 && (errfd = dup3(errfd, 3, O_CLOEXEC)) < 0)
		goto fail;
	closefrom(4);
	for (e = rc->env; e != NULL && e->name != NULL; e++)
		if (e->value != NULL ? setenv(e->name, e->value, 1) != 0
				     : unsetenv(e->name) != 0)
			goto fail;
	if (rc->search_path)
		execvp(rc->argv[0], rc->argv);
	else
		execv(rc->argv[0], rc->argv);
fail:
	err = errno;
	if (errfd >= 0)
		(void)!write(errfd, &err, sizeof(err));
	_exit(127);
}

/* Kill it (with new_pgroup, its group) unless reaped, and reap it. */
static void
stop(const struct runcmd *rc, pid_t pid, int reaped, int *status)
{
	if (rc->new_pgroup)
		(void)kill(-pid, SIGKILL);
	if (reaped)
		return;
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

enum runcmd_outcome
runcmd_run(const struct runcmd *rc, struct runcmd_result *res)
{
	enum runcmd_outcome r = RUNCMD_DONE;
	char chunk[4096];
	int out[2] = {-1, -1}, ep[2] = {-1, -1}, status = 0, reaped = 0;
	int e = 0, lost = 0;
	struct sigaction dfl, old;
	long long deadline, left;
	struct pollfd pfd;
	ssize_t n;
	pid_t pid, w;

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	/* a SIGCHLD ignored by whoever started us would make the kernel reap
	 * the command before waitpid could see its status */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	(void)sigaction(SIGCHLD, &dfl, &old);
	if ((rc->out != NULL && pipe2(out, O_CLOEXEC) < 0) ||
	    pipe2(ep, O_CLOEXEC) < 0) {
		res->err = errno;
		r = RUNCMD_NOT_RUN;
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		res->err = errno;
		r = RUNCMD_NOT_RUN;
		goto out;
	}
	if (pid == 0)
		child(rc, out[1], ep[1]);
	close(ep[1]);
	ep[1] = -1;
	if (out[1] >= 0) {
		close(out[1]);
		out[1] = -1;
	}
	/* exec closes ep[1]: end of file; else the child's errno */
	while ((n = read(ep[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(e)) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		res->err = e;
		r = RUNCMD_NOT_RUN;
		goto out;
	}
	deadline = oa2_now_ms() + rc->timeout_ms;
	for (;;) {
		if (!reaped) {
			w = waitpid(pid, &status, WNOHANG);
			lost = w < 0 && errno != EINTR;
			reaped = w == pid || lost;
		}
		if (reaped && out[0] < 0)
			break;
		if ((left = deadline - oa2_now_ms()) <= 0) {
			r = RUNCMD_TIMEOUT;
			break;
		}
		if (out[0] < 0) {
			/* no output to wait for: look again shortly */
			(void)poll(NULL, 0, (int)(left > 20 ? 20 : left));
			continue;
		}
		/* Once it has ended, what it wrote is in the pipe: read that
		 * and stop, though a process it left behind may hold the
		 * pipe open for longer. */
		pfd.fd = out[0];
		pfd.events = POLLIN;
		n = poll(&pfd, 1, reaped ? 0 : (int)(left > 100 ? 100 : left));
		if (n == 0 && reaped)
			break;
		if (n <= 0)
			continue;
		n = read(out[0], chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			close(out[0]);
			out[0] = -1;
			continue;
		}
		if (oa2_buf_append(rc->out, chunk, (size_t)n) != 0) {
			r = RUNCMD_TOOBIG;
			break;
		}
	}
	if (r != RUNCMD_DONE)
		stop(rc, pid, reaped, &status);
	else if (lost)
		res->exit_code = -1; /* its status is gone: a failure */
	else if (WIFEXITED(status))
		res->exit_code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		res->signal = WTERMSIG(status);
out:
	explicit_bzero(chunk, sizeof(chunk));
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (ep[0] >= 0)
		close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
	(void)sigaction(SIGCHLD, &old, NULL);
	return r;
}
