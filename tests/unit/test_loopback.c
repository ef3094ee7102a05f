/*
 * test_loopback.c: the loopback redirect listener against a forked client
 * on 127.0.0.1: garbage, other paths, wrong state, slow and idle
 * connections are answered or dropped and never accepted; the one right
 * request ends the wait; afterwards the port refuses connections.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "loopback.h"
#include "redirect.h"

#define STATE "Zm9vYmFyLXN0YXRlLXZhbHVlLTAxMjM0NTY3ODkwMTI"
#define CODE "SplxlOBeZQQYbYS6WxSbIA-right"
#define CONN_MS 1000 /* per-connection deadline in these tests */

/* The child cannot use cmocka: it reports the failing line and exits. */
#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "child: %s:%d: %s\n", __FILE__,        \
			    __LINE__, #c);                                     \
			_exit(1);                                              \
		}                                                              \
	} while (0)

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connected socket, or -1 with errno set. */
static int
dial(const struct loopback *lb)
{
	struct sockaddr_in sin = {0};
	struct sockaddr_in6 sin6 = {0};
	struct timeval tv = {.tv_sec = 5};
	int fd, r, v6 = lb->host[0] == '[';

	if ((fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (v6) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = in6addr_loopback;
		sin6.sin6_port = htons((uint16_t)lb->port);
		r = connect(fd, (struct sockaddr *)&sin6, sizeof(sin6));
	} else {
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)lb->port);
		r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	}
	if (r != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Everything the server sends until it closes; returns the length. */
static size_t
read_all(int fd, char *buf, size_t n)
{
	size_t len = 0;
	ssize_t got;

	while (len + 1 < n && (got = recv(fd, buf + len, n - 1 - len, 0)) > 0)
		len += (size_t)got;
	buf[len] = '\0';
	return len;
}

/* Send req on a fresh connection and return the whole answer. */
static void
exchange(const struct loopback *lb, const char *req, size_t len, char *resp,
    size_t n)
{
	int fd = dial(lb);

	CHECK(fd >= 0);
	CHECK(send(fd, req, len, MSG_NOSIGNAL) == (ssize_t)len);
	read_all(fd, resp, n);
	close(fd);
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Wait for the parent to say the listener is gone. */
static void
wait_parent(int rfd)
{
	struct pollfd p = {.fd = rfd, .events = POLLIN};
	char c;

	CHECK(poll(&p, 1, 10000) == 1);
	CHECK(read(rfd, &c, 1) == 1);
}

#define GET(target) "GET " target " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

static void
child_main(struct loopback *lb, int rfd)
{
	static const char garbage[] = "hello\r\n\r\n";
	static const char favicon[] = GET("/favicon.ico");
	static const char other_path[] =
	    GET("/favicon.ico?code=" CODE "-x&state=" STATE);
	static const char wrong_state[] =
	    GET("/callback?code=WRONGCODE&state=not-the-state");
	static const char no_state[] = GET("/callback?code=WRONGCODE");
	static const char no_code[] = GET("/callback?state=" STATE);
	static const char dup_state[] =
	    GET("/callback?code=WRONGCODE&state=" STATE "&state=" STATE);
	static const char right[] = GET(
	    "/callback?code=" CODE "&state=" STATE "&iss=https%3A%2F%2Fidp");
	static char big[OA2_REDIRECT_REQ_MAX + 100];
	static char resp[16384];
	long long t0;
	int slow, idle, fd;

	close(lb->fd); /* the parent's listener, or it never closes */

	exchange(lb, garbage, sizeof(garbage) - 1, resp, sizeof(resp));
	CHECK(starts(resp, "HTTP/1.1 400 "));
	CHECK(strstr(resp, "Connection: close\r\n") != NULL);

	exchange(lb, favicon, sizeof(favicon) - 1, resp, sizeof(resp));
	CHECK(starts(resp, "HTTP/1.1 404 "));
	exchange(lb, other_path, sizeof(other_path) - 1, resp, sizeof(resp));
	CHECK(starts(resp, "HTTP/1.1 404 "));

	exchange(lb, wrong_state, sizeof(wrong_state) - 1, resp, sizeof(resp));
	CHECK(starts(resp, "HTTP/1.1 400 "));
	CHECK(strstr(resp, "state mismatch") != NULL);
	CHECK(strstr(resp, "WRONGCODE") == NULL);
	exchange(lb, no_state, sizeof(no_state) - 1, resp, sizeof(resp));
	CHECK(starts(resp, "HTTP/1.1 400 "));
	exchange(lb, no_code, sizeof(no_code) - 1, resp, sizeof(resp));
	CHECK(starts(resp, "HTTP/1.1 400 "));
	exchange(lb, dup_state, sizeof(dup_state) - 1, resp, sizeof(resp));
	CHECK(starts(resp, "HTTP/1.1 400 "));

	/* Over the cap without a blank line. */
	memcpy(big, "GET /", 5);
	memset(big + 5, 'a', sizeof(big) - 5);
	exchange(lb, big, sizeof(big), resp, sizeof(resp));
	CHECK(starts(resp, "HTTP/1.1 400 "));

	/* A slow client is dropped, unanswered, after its deadline. */
	CHECK((slow = dial(lb)) >= 0);
	CHECK(send(slow, "GET /callback?co", 16, MSG_NOSIGNAL) == 16);
	t0 = now_ms();
	CHECK(read_all(slow, resp, sizeof(resp)) == 0);
	CHECK(now_ms() - t0 >= CONN_MS - 50);
	CHECK(now_ms() - t0 < CONN_MS + 2000);
	close(slow);

	/* An idle connection (a browser's preconnect) does not hold up the
	 * real request, and the right request is answered without its code. */
	CHECK((idle = dial(lb)) >= 0);
	usleep(50000);
	t0 = now_ms();
	exchange(lb, right, sizeof(right) - 1, resp, sizeof(resp));
	CHECK(now_ms() - t0 < CONN_MS / 2);
	CHECK(starts(resp, "HTTP/1.1 200 "));
	CHECK(strstr(resp, "logged in, you can close this tab") != NULL);
	CHECK(strstr(resp, CODE) == NULL);
	CHECK(strstr(resp, "Cache-Control: no-store\r\n") != NULL);

	/* The wait is over: the idle connection is closed, and once the
	 * parent says the listener is gone the port refuses. */
	CHECK(read_all(idle, resp, sizeof(resp)) == 0);
	close(idle);
	wait_parent(rfd);
	fd = dial(lb);
	CHECK(fd < 0 && errno == ECONNREFUSED);
	_exit(0);
}

static void
child_error(struct loopback *lb, int rfd)
{
	static const char forged[] =
	    GET("/callback?error=access_denied&state=forged");
	static const char denied[] =
	    GET("/callback?error=access_denied&error_description=a+%3Cb%3E+"
		"%26+%22c%22&state=" STATE);
	static char resp[16384];
	int fd;

	close(lb->fd);
	/* An error needs the state too, or any page could abort a login. */
	exchange(lb, forged, sizeof(forged) - 1, resp, sizeof(resp));
	CHECK(starts(resp, "HTTP/1.1 400 "));
	exchange(lb, denied, sizeof(denied) - 1, resp, sizeof(resp));
	CHECK(starts(resp, "HTTP/1.1 200 "));
	CHECK(strstr(resp, "login failed: access_denied") != NULL);
	CHECK(strstr(resp, "a &lt;b&gt; &amp; &quot;c&quot;") != NULL);
	CHECK(strstr(resp, "<b>") == NULL);
	wait_parent(rfd);
	fd = dial(lb);
	CHECK(fd < 0 && errno == ECONNREFUSED);
	_exit(0);
}

/* Run child in a fork against a fresh listener; parent waits. */
static int
run(void (*child)(struct loopback *, int), struct oa2_redirect *out)
{
	struct loopback lb;
	int p[2], status, r;
	pid_t pid;

	assert_int_equal(loopback_open(&lb), 0);
	lb.conn_timeout_ms = CONN_MS;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		child(&lb, p[0]);
	}
	close(p[0]);
	r = loopback_wait(&lb, STATE, 20, out);
	assert_int_equal(lb.fd, -1);
	assert_int_equal(write(p[1], "x", 1), 1);
	close(p[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return r;
}

static void
test_flow(void **state)
{
	struct oa2_redirect out;

	oa2_redirect_init(&out);
	assert_int_equal(run(child_main, &out), 0);
	assert_string_equal(oa2_buf_str(&out.code), CODE);
	assert_string_equal(out.state, STATE);
	assert_string_equal(out.error, "");
	assert_string_equal(out.path, "/callback");
	oa2_redirect_free(&out);
}

static void
test_error(void **state)
{
	struct oa2_redirect out;

	oa2_redirect_init(&out);
	assert_int_equal(run(child_error, &out), 0);
	assert_int_equal(out.code.len, 0);
	assert_string_equal(out.error, "access_denied");
	assert_string_equal(out.error_description, "a <b> & \"c\"");
	oa2_redirect_free(&out);
}

static void
test_timeout(void **state)
{
	struct loopback lb;
	struct oa2_redirect out;
	long long t0;

	oa2_redirect_init(&out);
	assert_int_equal(loopback_open(&lb), 0);
	t0 = now_ms();
	assert_int_equal(loopback_wait(&lb, STATE, 1, &out), OA2_ERR_TIMEOUT);
	assert_true(now_ms() - t0 >= 990);
	assert_true(now_ms() - t0 < 3000);
	assert_int_equal(lb.fd, -1);
	assert_int_equal(out.code.len, 0);
	/* Closed: nothing more to wait on. */
	assert_int_equal(loopback_wait(&lb, STATE, 1, &out), OA2_ERR_INVAL);
	/* An empty state would match a request that carries none. */
	assert_int_equal(loopback_open(&lb), 0);
	assert_int_equal(loopback_wait(&lb, "", 1, &out), OA2_ERR_INVAL);
	assert_int_equal(lb.fd, -1);
	oa2_redirect_free(&out);
}

static void
test_open(void **state)
{
	struct loopback lb;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char uri[64], want[64];

	assert_int_equal(loopback_open(&lb), 0);
	assert_true(lb.port > 0 && lb.port < 65536);
	assert_int_equal(lb.conn_timeout_ms, LOOPBACK_CONN_TIMEOUT_MS);
	/* Bound to loopback only (RFC 8252 8.3), never the wildcard. */
	assert_int_equal(getsockname(lb.fd, (struct sockaddr *)&ss, &sl), 0);
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
		assert_int_equal(ntohs(sin->sin_port), lb.port);
		assert_string_equal(lb.host, "127.0.0.1");
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		assert_int_equal(ss.ss_family, AF_INET6);
		assert_memory_equal(&sin6->sin6_addr, &in6addr_loopback,
		    sizeof(in6addr_loopback));
		assert_string_equal(lb.host, "[::1]");
	}
	/* Close-on-exec: the browser we start must not inherit it. */
	assert_true(fcntl(lb.fd, F_GETFD) & FD_CLOEXEC);

	assert_int_equal(loopback_redirect_uri(&lb, uri, sizeof(uri)), 0);
	snprintf(want, sizeof(want), "http://%s:%u/callback", lb.host, lb.port);
	assert_string_equal(uri, want);
	assert_int_equal(
	    loopback_redirect_uri(&lb, uri, strlen(want)), OA2_ERR_TOOBIG);
	assert_string_equal(uri, "");
	assert_int_equal(loopback_redirect_uri(&lb, uri, strlen(want) + 1), 0);

	loopback_close(&lb);
	loopback_close(&lb);
	assert_int_equal(
	    loopback_redirect_uri(&lb, uri, sizeof(uri)), OA2_ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open),
	    cmocka_unit_test(test_flow),
	    cmocka_unit_test(test_error),
	    cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
