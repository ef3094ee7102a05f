/*
 * exec.c: execute the token helper from inside a host process.
 *
 * The host may be Postfix, mutt or anything else linking libsasl2, so this
 * file touches nothing global: no signal handlers, no waitpid() on anything
 * but its own child, every descriptor close-on-exec, the child's signal
 * dispositions and mask reset, its stdin /dev/null, no shell, and only a
 * short allow-list of environment variables (none of which carries a
 * secret: a proxy variable naming a user or password stays behind).  The
 * whole exchange has a deadline after which the child is killed and
 * reaped.
 *
 * TRUST: the helper's output is capped and validated by the caller.
 * SECRETS: the token arrives on the stdout pipe into a wiping buffer; the
 * read chunk on the stack is wiped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "sysutil.h"
#include "exec.h"
#include "wire.h"

/* Passed to the helper when set in the host: where to find the user's
 * configuration and state, and the host's way out to the identity provider
 * (libcurl's proxy variables: https_proxy, as the provider speaks https,
 * all_proxy, and no_proxy; never http_proxy, which libcurl uses for plain
 * http only, loopback here).  Never a credential. */
static const char *const env_allow[] = {"SASL_OAUTH2_CONFIG", "HOME", "USER",
    "LOGNAME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR",
    "DBUS_SESSION_BUS_ADDRESS", "LANG", "https_proxy", "HTTPS_PROXY",
    "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", NULL};

/* PATH, the timeout, the deadline, the allowed, the dropped proxy's name
 * and the NULL. */
#define ENV_MAX 24
_Static_assert(sizeof(env_allow) / sizeof(env_allow[0]) + 4 <= ENV_MAX,
    "ENV_MAX too small for env_allow");

/* A proxy variable that names a user or a password: its value is a
 * credential, so it stays behind, and the helper is told which one (its
 * name only) to say why it cannot use the host's proxy. */
static int
is_proxy_with_userinfo(const char *name, const char *value)
{
	size_t n = strlen(name);

	return n > 6 && strcasecmp(name + n - 6, "_proxy") == 0 &&
	    strcasecmp(name, "no_proxy") != 0 && oa2_proxy_has_userinfo(value);
}

static void
build_env(char **envp, char *path, char *http_timeout, char *deadline,
    char *dropped, size_t droppedsz)
{
	size_t i, n = 0;
	extern char **environ;
	const char *v;
	char **e;

	envp[n++] = path;
	envp[n++] = http_timeout;
	envp[n++] = deadline;
	for (i = 0; env_allow[i] != NULL; i++) {
		size_t kl = strlen(env_allow[i]);
		/* Nothing from the caller's environment in a set-id host. */
		if ((v = secure_getenv(env_allow[i])) == NULL)
			continue;
		if (is_proxy_with_userinfo(env_allow[i], v)) {
			if (dropped[0] == '\0') {
				snprintf(dropped, droppedsz,
				    "SASL_OAUTH2_PROXY_DROPPED=%s",
				    env_allow[i]);
				envp[n++] = dropped;
			}
			continue;
		}
		for (e = environ; e != NULL && *e != NULL; e++) {
			if (strncmp(*e, env_allow[i], kl) == 0 &&
			    (*e)[kl] == '=') {
				envp[n++] = *e;
				break;
			}
		}
	}
	envp[n] = NULL;
}

static int
spawn(const char *helper, const char *mailbox, int timeout_ms, int out_fd,
    int err_fd, pid_t *pid)
{
	char path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
	char http_timeout[64], deadline[64], dropped[64] = "";
	char *argv[] = {
	    (char *)helper, "token", "--user", (char *)mailbox, NULL};
	char *envp[ENV_MAX];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int r;

	/* Each of the helper's requests (discovery, then the token) ends
	 * well inside our deadline, so on a stalled identity provider the
	 * host logs the helper's sentence rather than "no answer". */
	snprintf(http_timeout, sizeof(http_timeout),
	    "SASL_OAUTH2_HTTP_TIMEOUT=%d",
	    timeout_ms / 1000 > 4 ? (timeout_ms / 1000 - 2) / 2 : 1);
	/* When we kill it (CLOCK_MONOTONIC, ms): time spent waiting for the
	 * account's lock is gone from the helper's budget, and a refresh it
	 * starts but cannot finish before then would lose a rotated refresh
	 * token, so it must know. */
	snprintf(deadline, sizeof(deadline), "SASL_OAUTH2_DEADLINE=%lld",
	    oa2_now_ms() + timeout_ms);
	build_env(envp, path, http_timeout, deadline, dropped, sizeof(dropped));
	sigemptyset(&none);
	sigfillset(&all);
	if ((r = posix_spawn_file_actions_init(&fa)) != 0)
		return r;
	if ((r = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return r;
	}
	if ((r = posix_spawn_file_actions_addopen(
		 &fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
	    (r = posix_spawn_file_actions_adddup2(&fa, out_fd, 1)) != 0 ||
	    (r = posix_spawn_file_actions_adddup2(&fa, err_fd, 2)) != 0 ||
	    (r = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
	    (r = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (r = posix_spawnattr_setsigdefault(&attr, &all)) != 0 ||
	    (r = posix_spawnattr_setflags(
		 &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0)
		goto out;
	r = posix_spawn(pid, helper, &fa, &attr, argv, envp);
out:
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

/* How often the helper's end is looked for while a pipe stays open. */
#define ENDED_CHECK_MS 100

/* Has the helper ended?  Looks without reaping (reap() does that): only
 * waitid() takes WNOWAIT (waitpid() fails with EINVAL).  si_pid stays 0
 * while the child runs (POSIX leaves that unspecified; Linux zeroes it).
 * A host that reaps its children itself leaves ECHILD, which means the
 * same; EINTR means not known yet. */
static int
helper_ended(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno == ECHILD;
	return si.si_pid != 0;
}

/* Wait until the helper ends or the deadline passes, without blocking
 * past it: a pidfd where the kernel has them, else short naps. */
static void
wait_exit(pid_t pid, long long deadline)
{
	struct timespec nap = {0, 5 * 1000 * 1000};
	struct pollfd p;
	long long left;
	int fd;

	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0) {
		p.fd = fd;
		p.events = POLLIN;
		while ((left = deadline - oa2_now_ms()) > 0 &&
		    poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left) < 0 &&
		    errno == EINTR)
			;
		close(fd);
		return;
	}
	if (errno == ESRCH)
		return; /* already gone (and reaped by the host) */
	while (deadline - oa2_now_ms() > 0 && !helper_ended(pid))
		nanosleep(&nap, NULL);
}

/* Reap our child only, by the deadline (then SIGKILL): a helper that
 * closed its output but lingers must not hang the host.  A host that
 * reaps children itself (a SIGCHLD handler, or SIGCHLD ignored) leaves us
 * ECHILD: the outcome is then unknown (res->unreaped). */
static void
reap(pid_t pid, int killed, long long deadline, struct helper_result *res)
{
	int status;
	pid_t r;

	if (!killed)
		wait_exit(pid, deadline);
	do
		r = waitpid(pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		kill(pid, SIGKILL);
		res->timed_out |= !killed;
		do
			r = waitpid(pid, &status, 0);
		while (r < 0 && errno == EINTR);
	}
	if (r != pid) {
		res->unreaped = 1;
		return;
	}
	if (WIFEXITED(status))
		res->exit_status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		res->term_signal = WTERMSIG(status);
}

static void
keep_first_line(
    struct helper_result *res, const char *p, size_t n, size_t *have)
{
	size_t i, room = sizeof(res->err) - 1 - *have;

	if (*have == (size_t)-1)
		return; /* line complete */
	for (i = 0; i < n && i < room; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\n') {
			res->err[*have] = '\0';
			*have = (size_t)-1;
			return;
		}
		res->err[(*have)++] = (c >= 0x20 && c <= 0x7e) ? (char)c : '?';
	}
	res->err[*have] = '\0';
}

int
helper_run(const char *helper, const char *mailbox, int timeout_ms,
    struct oa2_buf *out, struct helper_result *res)
{
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	struct pollfd pfd[2];
	char chunk[4096];
	long long deadline;
	size_t errhave = 0;
	pid_t pid = -1;
	ssize_t n;
	long long checked; /* when the helper's end was last looked for */
	int r, open_fds, ended;

	memset(res, 0, sizeof(*res));
	res->exit_status = -1;
	oa2_buf_reset(out);
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		res->spawn_errno = errno;
		r = OA2_ERR_IO;
		goto out;
	}
	if ((r = spawn(helper, mailbox, timeout_ms, outp[1], errp[1], &pid)) !=
	    0) {
		res->spawn_errno = r;
		pid = -1;
		r = OA2_ERR_IO;
		goto out;
	}
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;

	deadline = oa2_now_ms() + timeout_ms;
	pfd[0].fd = outp[0];
	pfd[1].fd = errp[0];
	pfd[0].events = pfd[1].events = POLLIN;
	open_fds = 2;
	ended = 0;
	checked = oa2_now_ms();
	r = 0;
	/* Once the helper has ended, what it wrote is in the pipes: read
	 * that, then stop.  A process it left behind (one a
	 * client_secret_command started) may hold a pipe open for longer,
	 * or keep writing to it, and must not make its answer a timeout. */
	while (open_fds > 0) {
		long long now = oa2_now_ms(), left = deadline - now;
		int i, pr;

		if (!ended && now - checked >= ENDED_CHECK_MS) {
			ended = helper_ended(pid);
			checked = now;
		}
		if (left <= 0) {
			if (!ended) {
				res->timed_out = 1;
				r = OA2_ERR_TIMEOUT;
			}
			break;
		}
		pr = poll(pfd, 2,
		    ended			? 0
			: left > ENDED_CHECK_MS ? ENDED_CHECK_MS
						: (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			r = OA2_ERR_IO;
			break;
		}
		if (pr == 0) {
			if (ended)
				break;
			continue;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, chunk, sizeof(chunk));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			if (i == 1) {
				keep_first_line(
				    res, chunk, (size_t)n, &errhave);
			} else if (oa2_buf_append(out, chunk, (size_t)n) != 0) {
				res->overflow = 1;
				r = OA2_ERR_TOOBIG;
			}
		}
		if (r != 0)
			break;
	}
	explicit_bzero(chunk, sizeof(chunk));
	if (r != 0)
		kill(pid, SIGKILL);
	reap(pid, r != 0, deadline, res);
out:
	if (outp[0] >= 0)
		close(outp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[0] >= 0)
		close(errp[0]);
	if (errp[1] >= 0)
		close(errp[1]);
	return r;
}
