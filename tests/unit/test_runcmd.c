/*
 * test_runcmd.c: the process runner the helper's three commands share
 * (notify_command, client_secret_command, import's decryption command):
 * splitting a command into words (table of cases), and running real
 * programs through /bin/sh: exit status and signal, captured output and
 * its cap, the bound on time killing the whole process group, a missing
 * program, the environment given, standard input from a descriptor or
 * /dev/null, and no descriptor of ours leaking into the command.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "runcmd.h"
#include "sysutil.h"

static const struct {
	const char *cmd;
	int n;		      /* words, or -1 */
	const char *words[4]; /* the first ones */
} split_cases[] = {
    {"", 0, {NULL}},
    {"  \t ", 0, {NULL}},
    {"/bin/true", 1, {"/bin/true"}},
    {"/usr/bin/pass show mail/relay", 3,
	{"/usr/bin/pass", "show", "mail/relay"}},
    {" \t/a  b\tc ", 3, {"/a", "b", "c"}},
    /* no quoting: quotes are characters of the words */
    {"/a 'b c'", 3, {"/a", "'b", "c'"}},
    {"/bin/x 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 "
     "24 25 26 27 28 29 30 31",
	32, {"/bin/x", "1", "2", "3"}},
    {"/bin/x 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 "
     "24 25 26 27 28 29 30 31 32",
	-1, {NULL}},
};

static void
test_split(void **state)
{
	char buf[512], *argv[RUNCMD_ARGS_MAX + 1];
	size_t i;
	int n, j;

	(void)state;
	for (i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", split_cases[i].cmd);
		n = runcmd_split(buf, argv);
		assert_int_equal(n, split_cases[i].n);
		if (n < 0)
			continue;
		assert_null(argv[n]);
		for (j = 0; j < n && j < 4; j++)
			assert_string_equal(argv[j], split_cases[i].words[j]);
	}
}

/* Run sh -c script, stdout into out (or NULL), for timeout_ms. */
static enum runcmd_outcome
sh(const char *script, struct oa2_buf *out, long long timeout_ms,
    struct runcmd_result *res)
{
	char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
	struct runcmd rc = {0};

	rc.argv = argv;
	rc.new_pgroup = 1;
	rc.stdin_fd = -1;
	rc.out = out;
	rc.timeout_ms = timeout_ms;
	return runcmd_run(&rc, res);
}

static void
test_exit_and_output(void **state)
{
	struct runcmd_result res;
	struct oa2_buf out;
	pid_t left;

	(void)state;
	oa2_buf_init(&out, 4096);
	assert_int_equal(
	    sh("printf 'secret\\n'", &out, 5000, &res), RUNCMD_DONE);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(oa2_buf_str(&out), "secret\n");
	oa2_buf_reset(&out);
	assert_int_equal(sh("echo x; exit 7", &out, 5000, &res), RUNCMD_DONE);
	assert_int_equal(res.exit_code, 7);
	assert_int_equal(sh("kill -TERM $$", &out, 5000, &res), RUNCMD_DONE);
	assert_int_equal(res.exit_code, -1);
	assert_int_equal(res.signal, SIGTERM);
	/* it ends, leaving a process that holds its output: what it wrote
	 * counts at once, not at the timeout */
	oa2_buf_reset(&out);
	assert_int_equal(
	    sh("exec 2>&-; sleep 30 </dev/null & echo $!", &out, 3000, &res),
	    RUNCMD_DONE);
	assert_int_equal(res.exit_code, 0);
	left = (pid_t)strtol(oa2_buf_str(&out), NULL, 10);
	assert_true(left > 1);
	assert_int_equal(kill(left, SIGKILL), 0);
	/* standard input: /dev/null */
	oa2_buf_reset(&out);
	assert_int_equal(sh("wc -c", &out, 5000, &res), RUNCMD_DONE);
	assert_int_equal(strtol(oa2_buf_str(&out), NULL, 10), 0);
	oa2_buf_free(&out);
}

static void
test_cap(void **state)
{
	struct runcmd_result res;
	struct oa2_buf out;

	(void)state;
	oa2_buf_init(&out, 100);
	assert_int_equal(
	    sh("head -c 100 /dev/zero", &out, 5000, &res), RUNCMD_DONE);
	assert_int_equal(out.len, 100);
	oa2_buf_reset(&out);
	/* past the cap: killed, also when it would never end */
	assert_int_equal(
	    sh("exec cat /dev/zero", &out, 5000, &res), RUNCMD_TOOBIG);
	oa2_buf_free(&out);
}

/* 1 while pid runs: not gone, no zombie (its parent killed with it, no
 * one may reap it here). */
static int
running(pid_t pid)
{
	char path[64], stat[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	stat[n] = '\0';
	p = strrchr(stat, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static void
test_timeout_kills_group(void **state)
{
	struct runcmd_result res;
	struct oa2_buf out;
	char path[] = "/tmp/test_runcmd.XXXXXX", script[256], pid[32];
	long long t0 = oa2_now_ms(), ms;
	int fd, i;
	ssize_t n;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	snprintf(script, sizeof(script), "sleep 60 & echo $! >%s; wait", path);
	oa2_buf_init(&out, 100);
	assert_int_equal(sh(script, &out, 300, &res), RUNCMD_TIMEOUT);
	ms = oa2_now_ms() - t0;
	assert_true(ms >= 300 && ms < 5000);
	n = read(fd, pid, sizeof(pid) - 1);
	assert_true(n > 0);
	pid[n] = '\0';
	/* the background sleep went with the group (SIGKILL may take a
	 * moment to land) */
	for (i = 0; i < 50 && running((pid_t)strtol(pid, NULL, 10)); i++)
		usleep(20000);
	assert_false(running((pid_t)strtol(pid, NULL, 10)));
	close(fd);
	unlink(path);
	/* without captured output, the same bound */
	t0 = oa2_now_ms();
	assert_int_equal(sh("exec sleep 60", NULL, 200, &res), RUNCMD_TIMEOUT);
	assert_true(oa2_now_ms() - t0 < 5000);
	oa2_buf_free(&out);
}

static void
test_not_run(void **state)
{
	char *argv[] = {"/nonexistent/secret-tool", NULL};
	struct runcmd rc = {0};
	struct runcmd_result res;

	(void)state;
	rc.argv = argv;
	rc.stdin_fd = -1;
	rc.timeout_ms = 5000;
	assert_int_equal(runcmd_run(&rc, &res), RUNCMD_NOT_RUN);
	assert_int_equal(res.err, ENOENT);
	/* a bare name only with search_path */
	argv[0] = "sh";
	assert_int_equal(runcmd_run(&rc, &res), RUNCMD_NOT_RUN);
	rc.search_path = 1;
	assert_int_equal(runcmd_run(&rc, &res), RUNCMD_DONE);
	assert_int_equal(res.exit_code, 0);
}

static void
test_env_stdin_fds(void **state)
{
	char *argv[] = {"/bin/sh", "-c",
	    "printf '%s|%s|' \"$RUNCMD_A\" \"${RUNCMD_B-unset}\"; cat; "
	    "ls /proc/self/fd | wc -l",
	    NULL};
	const struct runcmd_env env[] = {
	    {"RUNCMD_A", "a value"}, {"RUNCMD_B", NULL}, {NULL, NULL}};
	struct runcmd rc = {0};
	struct runcmd_result res;
	struct oa2_buf out;
	char path[] = "/tmp/test_runcmd.XXXXXX";
	int fd, leak;

	(void)state;
	setenv("RUNCMD_B", "ours", 1);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "input", 5), 5);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	/* a descriptor of ours, not close-on-exec, must not leak */
	leak = open("/dev/null", O_RDONLY);
	assert_true(leak >= 0);
	oa2_buf_init(&out, 4096);
	rc.argv = argv;
	rc.stdin_fd = fd;
	rc.out = &out;
	rc.env = env;
	rc.timeout_ms = 5000;
	assert_int_equal(runcmd_run(&rc, &res), RUNCMD_DONE);
	assert_int_equal(res.exit_code, 0);
	/* 0, 1, 2 and the one ls opens to read the directory */
	assert_string_equal(oa2_buf_str(&out), "a value|unset|input4\n");
	assert_string_equal(getenv("RUNCMD_B"), "ours");
	close(leak);
	close(fd);
	unlink(path);
	oa2_buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_exit_and_output),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_timeout_kills_group),
	    cmocka_unit_test(test_not_run),
	    cmocka_unit_test(test_env_stdin_fds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
