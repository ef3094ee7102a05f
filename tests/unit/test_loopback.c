/*
 * test_loopback.c: the loopback redirect listener against a forked client
 * on 127.0.0.1: garbage, other paths, wrong state, slow and idle
 * connections are answered or dropped and never accepted; the one right
 * request ends the wait; afterwards the port refuses connections.  The
 * same for lines pasted on the terminal (a pipe here), judged alike; the
 * localhost form on both loopback addresses; a fixed port, taken or free.
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
#include <stdlib.h>
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

/* A connected socket to the listener's address (v6: to ::1), or -1 with
 * errno set. */
static int
dial_family(const struct loopback *lb, int v6)
{
	struct sockaddr_in sin = {0};
	struct sockaddr_in6 sin6 = {0};
	struct timeval tv = {.tv_sec = 5};
	int fd, r;

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

static int
dial(const struct loopback *lb)
{
	return dial_family(lb, lb->addr[0] == '[');
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

	assert_int_equal(loopback_open(&lb, LOOPBACK_IP, 0), 0);
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
	assert_int_equal(loopback_open(&lb, LOOPBACK_IP, 0), 0);
	t0 = now_ms();
	assert_int_equal(loopback_wait(&lb, STATE, 1, &out), OA2_ERR_TIMEOUT);
	assert_true(now_ms() - t0 >= 990);
	assert_true(now_ms() - t0 < 3000);
	assert_int_equal(lb.fd, -1);
	assert_int_equal(out.code.len, 0);
	/* Closed: nothing more to wait on. */
	assert_int_equal(loopback_wait(&lb, STATE, 1, &out), OA2_ERR_INVAL);
	/* An empty state would match a request that carries none. */
	assert_int_equal(loopback_open(&lb, LOOPBACK_IP, 0), 0);
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

	assert_int_equal(loopback_open(&lb, LOOPBACK_IP, 0), 0);
	assert_true(lb.port > 0 && lb.port < 65536);
	assert_int_equal(lb.fd6, -1);
	assert_int_equal(lb.paste_fd, -1);
	assert_string_equal(lb.path, "/callback");
	assert_int_equal(lb.conn_timeout_ms, LOOPBACK_CONN_TIMEOUT_MS);
	/* Bound to loopback only (RFC 8252 8.3), never the wildcard. */
	assert_int_equal(getsockname(lb.fd, (struct sockaddr *)&ss, &sl), 0);
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
		assert_int_equal(ntohs(sin->sin_port), lb.port);
		assert_string_equal(lb.host, "127.0.0.1");
		assert_string_equal(lb.addr, "127.0.0.1");
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

static void
put(int fd, const char *s)
{
	CHECK(write(fd, s, strlen(s)) == (ssize_t)strlen(s));
}

/* stderr into a file while f runs; the file's text into buf. */
struct captured {
	int saved, fd;
	char path[64];
};

static void
capture_begin(struct captured *c)
{
	snprintf(c->path, sizeof(c->path), "/tmp/test_loopback.XXXXXX");
	fflush(stderr);
	assert_true((c->fd = mkstemp(c->path)) >= 0);
	assert_true((c->saved = dup(STDERR_FILENO)) >= 0);
	assert_int_equal(dup2(c->fd, STDERR_FILENO), STDERR_FILENO);
}

static void
capture_end(struct captured *c, char *buf, size_t n)
{
	ssize_t got;

	fflush(stderr);
	assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
	close(c->saved);
	assert_int_equal(lseek(c->fd, 0, SEEK_SET), 0);
	got = read(c->fd, buf, n - 1);
	assert_true(got >= 0);
	buf[got] = '\0';
	close(c->fd);
	unlink(c->path);
	fputs(buf, stderr);
}

/* Fork child(lb, write end of the paste pipe, uri); the parent waits with
 * the pipe's read end as paste_fd and returns loopback_wait's result. */
static int
run_paste(enum loopback_kind kind, int bare_ok,
    void (*child)(struct loopback *, int, const char *),
    struct oa2_redirect *out, struct loopback *lbp, char *said, size_t n)
{
	struct captured cap;
	char uri[64];
	int p[2], status, r;
	pid_t pid;

	assert_int_equal(loopback_open(lbp, kind, 0), 0);
	lbp->conn_timeout_ms = CONN_MS;
	assert_int_equal(loopback_redirect_uri(lbp, uri, sizeof(uri)), 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		close(lbp->fd);
		if (lbp->fd6 >= 0)
			close(lbp->fd6);
		child(lbp, p[1], uri);
		_exit(0);
	}
	close(p[1]);
	lbp->paste_fd = p[0];
	lbp->bare_code_ok = bare_ok;
	lbp->label = "account test";
	capture_begin(&cap);
	r = loopback_wait(lbp, STATE, 20, out);
	capture_end(&cap, said, n);
	assert_int_equal(lbp->fd, -1);
	assert_int_equal(lbp->fd6, -1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(p[0]);
	return r;
}

static void
child_paste(struct loopback *lb, int w, const char *uri)
{
	static const char wrong_state[] =
	    GET("/callback?code=WRONGCODE&state=not-the-state");
	static char resp[16384];
	char line[512];

	put(w, "this is not an address\n");
	put(w, "https://login.example.com/error?code=WRONGCODE\n");
	snprintf(
	    line, sizeof(line), "%s?code=WRONGCODE&state=not-the-state\n", uri);
	put(w, line);
	snprintf(line, sizeof(line), "%s?state=" STATE "\n", uri);
	put(w, line);
	snprintf(line, sizeof(line), "%s?code=WRONGCODE&stat%%zz\r", uri);
	put(w, line);
	put(w, "WRONGCODE-alone\n"); /* no bare codes here */
	put(w, "x\x7f\x7fy\x15\n");  /* erased: a blank line */
	/* The listener serves meanwhile, by the same rules. */
	usleep(100000);
	exchange(lb, wrong_state, sizeof(wrong_state) - 1, resp, sizeof(resp));
	CHECK(starts(resp, "HTTP/1.1 400 "));
	/* The right address, in two pieces, spaces around it. */
	snprintf(
	    line, sizeof(line), "  %s?code=" CODE "&state=" STATE " \n", uri);
	CHECK(write(w, line, 20) == 20);
	usleep(100000);
	put(w, line + 20);
	put(w, "after the answer: dropped\n");
}

static void
test_paste(void **state)
{
	struct oa2_redirect out;
	struct loopback lb;
	char said[8192];

	oa2_redirect_init(&out);
	assert_int_equal(run_paste(LOOPBACK_IP, 0, child_paste, &out, &lb, said,
			     sizeof(said)),
	    0);
	assert_int_equal(lb.pasted, 1);
	assert_string_equal(oa2_buf_str(&out.code), CODE);
	assert_string_equal(out.state, STATE);
	assert_string_equal(out.path, "/callback");
	/* Each refusal said why, in one line each, without the line. */
	assert_non_null(strstr(said,
	    "sasl-oauth2: account test: that is neither the address the "
	    "browser ended on nor an authorization code"));
	assert_non_null(strstr(said, "is not this login's redirect"));
	assert_non_null(strstr(said, "belongs to another login"));
	assert_non_null(strstr(said, "carries neither a code nor an error"));
	assert_non_null(strstr(said, "(RFC 9207)"));
	assert_null(strstr(said, "WRONGCODE"));
	assert_null(strstr(said, CODE));
	assert_null(strstr(said, "dropped"));
	oa2_redirect_free(&out);
}

static void
child_paste_error(struct loopback *lb, int w, const char *uri)
{
	char line[512];

	/* An error needs the state too, pasted or not. */
	snprintf(
	    line, sizeof(line), "%s?error=access_denied&state=forged\n", uri);
	put(w, line);
	snprintf(line, sizeof(line),
	    "%s?error=access_denied&error_description=End-User+aborted"
	    "&state=" STATE "&iss=http%%3A%%2F%%2Fidp\n",
	    uri);
	put(w, line);
}

static void
test_paste_error(void **state)
{
	struct oa2_redirect out;
	struct loopback lb;
	char said[8192];

	oa2_redirect_init(&out);
	assert_int_equal(run_paste(LOOPBACK_IP, 1, child_paste_error, &out, &lb,
			     said, sizeof(said)),
	    0);
	assert_int_equal(lb.pasted, 1);
	assert_int_equal(out.code.len, 0);
	assert_string_equal(out.error, "access_denied");
	assert_string_equal(out.error_description, "End-User aborted");
	assert_string_equal(out.iss, "http://idp");
	assert_non_null(strstr(said, "belongs to another login"));
	oa2_redirect_free(&out);
}

static void
child_paste_bare(struct loopback *lb, int w, const char *uri)
{
	put(w, "short\n");
	put(w, "\t" CODE "\r\n");
}

static void
test_paste_bare(void **state)
{
	struct oa2_redirect out;
	struct loopback lb;
	char said[8192];

	oa2_redirect_init(&out);
	assert_int_equal(run_paste(LOOPBACK_IP, 1, child_paste_bare, &out, &lb,
			     said, sizeof(said)),
	    0);
	assert_int_equal(lb.pasted, 1);
	assert_string_equal(oa2_buf_str(&out.code), CODE);
	assert_string_equal(out.state, "");
	assert_non_null(strstr(said, "neither the address"));
	oa2_redirect_free(&out);
}

/* ^D ends the reading; what is pasted after it is not taken, and the
 * listener goes on. */
static void
child_paste_eof(struct loopback *lb, int w, const char *uri)
{
	static const char right[] =
	    GET("/callback?code=" CODE "-http&state=" STATE);
	static char resp[16384];
	char line[512];

	put(w, "\x04");
	snprintf(line, sizeof(line), "%s?code=" CODE "&state=" STATE "\n", uri);
	put(w, line);
	usleep(200000);
	exchange(lb, right, sizeof(right) - 1, resp, sizeof(resp));
	CHECK(starts(resp, "HTTP/1.1 200 "));
}

/* A terminal that goes away (end of file) leaves the listener. */
static void
child_paste_gone(struct loopback *lb, int w, const char *uri)
{
	static const char right[] =
	    GET("/callback?code=" CODE "-http&state=" STATE);
	static char resp[16384];

	close(w);
	usleep(200000);
	exchange(lb, right, sizeof(right) - 1, resp, sizeof(resp));
	CHECK(starts(resp, "HTTP/1.1 200 "));
}

static void
test_paste_eof(void **state)
{
	struct oa2_redirect out;
	struct loopback lb;
	char said[8192];

	oa2_redirect_init(&out);
	assert_int_equal(run_paste(LOOPBACK_IP, 1, child_paste_eof, &out, &lb,
			     said, sizeof(said)),
	    0);
	assert_int_equal(lb.pasted, 0);
	assert_string_equal(oa2_buf_str(&out.code), CODE "-http");
	assert_non_null(strstr(said, "no longer reading the terminal"));
	assert_int_equal(run_paste(LOOPBACK_IP, 1, child_paste_gone, &out, &lb,
			     said, sizeof(said)),
	    0);
	assert_int_equal(lb.pasted, 0);
	assert_string_equal(oa2_buf_str(&out.code), CODE "-http");
	oa2_redirect_free(&out);
}

/* http://localhost:PORT: both loopback addresses answer, the path is "/";
 * a pasted "http://localhost:PORT?..." is the same. */
static void
child_localhost(struct loopback *lb, int w, const char *uri)
{
	static const char old_path[] =
	    GET("/callback?code=WRONGCODE&state=" STATE);
	static const char right[] = GET("/?code=" CODE "&state=" STATE);
	static char resp[16384];
	int fd;

	CHECK(strncmp(uri, "http://localhost:", 17) == 0);
	CHECK(strchr(uri + 17, '/') == NULL);
	if (lb->fd6 >= 0) {
		CHECK((fd = dial_family(lb, 1)) >= 0);
		CHECK(send(fd, old_path, sizeof(old_path) - 1, MSG_NOSIGNAL) ==
		    (ssize_t)sizeof(old_path) - 1);
		read_all(fd, resp, sizeof(resp));
		close(fd);
		CHECK(starts(resp, "HTTP/1.1 404 "));
	}
	if (lb->addr[0] != '[') {
		CHECK((fd = dial_family(lb, 0)) >= 0);
		CHECK(send(fd, right, sizeof(right) - 1, MSG_NOSIGNAL) ==
		    (ssize_t)sizeof(right) - 1);
		read_all(fd, resp, sizeof(resp));
		close(fd);
		CHECK(starts(resp, "HTTP/1.1 200 "));
	} else {
		exchange(lb, right, sizeof(right) - 1, resp, sizeof(resp));
		CHECK(starts(resp, "HTTP/1.1 200 "));
	}
}

static void
child_localhost_paste(struct loopback *lb, int w, const char *uri)
{
	char line[512];

	snprintf(line, sizeof(line), "%s?code=" CODE "&state=" STATE "\n", uri);
	put(w, line);
}

static void
test_localhost(void **state)
{
	struct oa2_redirect out;
	struct loopback lb;
	char said[8192];

	oa2_redirect_init(&out);
	assert_int_equal(run_paste(LOOPBACK_LOCALHOST, 0, child_localhost, &out,
			     &lb, said, sizeof(said)),
	    0);
	assert_int_equal(lb.pasted, 0);
	assert_string_equal(lb.host, "localhost");
	assert_string_equal(lb.path, "/");
	assert_string_equal(oa2_buf_str(&out.code), CODE);
	assert_int_equal(run_paste(LOOPBACK_LOCALHOST, 0, child_localhost_paste,
			     &out, &lb, said, sizeof(said)),
	    0);
	assert_int_equal(lb.pasted, 1);
	assert_string_equal(out.path, "/");
	assert_string_equal(oa2_buf_str(&out.code), CODE);
	oa2_redirect_free(&out);
}

/* --port: a port another socket listens on is refused (EADDRINUSE), on
 * either loopback address for localhost; a free one is used. */
static void
test_fixed_port(void **state)
{
	struct loopback a, b;
	struct sockaddr_in6 sin6 = {0};
	socklen_t sl = sizeof(sin6);
	char uri[64], want[64];
	unsigned port;
	int fd6;

	assert_int_equal(loopback_open(&a, LOOPBACK_IP, 0), 0);
	port = a.port;
	assert_int_equal(loopback_open(&b, LOOPBACK_IP, port), OA2_ERR_IO);
	assert_int_equal(b.bind_errno, EADDRINUSE);
	assert_int_equal(b.fd, -1);
	assert_int_equal(
	    loopback_open(&b, LOOPBACK_LOCALHOST, port), OA2_ERR_IO);
	assert_int_equal(b.bind_errno, EADDRINUSE);
	loopback_close(&a);
	assert_int_equal(loopback_open(&b, LOOPBACK_IP, port), 0);
	assert_int_equal(b.port, port);
	assert_int_equal(loopback_redirect_uri(&b, uri, sizeof(uri)), 0);
	snprintf(want, sizeof(want), "http://127.0.0.1:%u/callback", port);
	assert_string_equal(uri, want);
	loopback_close(&b);
	assert_int_equal(loopback_open(&b, LOOPBACK_IP, 65536), OA2_ERR_INVAL);

	/* Someone on [::1]:PORT alone: localhost there is taken too. */
	fd6 = socket(AF_INET6, SOCK_STREAM, 0);
	assert_true(fd6 >= 0);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	if (bind(fd6, (struct sockaddr *)&sin6, sizeof(sin6)) != 0) {
		close(fd6); /* no IPv6 loopback here */
		return;
	}
	assert_int_equal(listen(fd6, 1), 0);
	assert_int_equal(getsockname(fd6, (struct sockaddr *)&sin6, &sl), 0);
	port = ntohs(sin6.sin6_port);
	assert_int_equal(
	    loopback_open(&b, LOOPBACK_LOCALHOST, port), OA2_ERR_IO);
	assert_int_equal(b.bind_errno, EADDRINUSE);
	assert_int_equal(b.fd, -1);
	/* RFC 8252's form does not use ::1 while 127.0.0.1 is there. */
	assert_int_equal(loopback_open(&b, LOOPBACK_IP, port), 0);
	loopback_close(&b);
	close(fd6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open),
	    cmocka_unit_test(test_flow),
	    cmocka_unit_test(test_error),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_paste),
	    cmocka_unit_test(test_paste_error),
	    cmocka_unit_test(test_paste_bare),
	    cmocka_unit_test(test_paste_eof),
	    cmocka_unit_test(test_localhost),
	    cmocka_unit_test(test_fixed_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
