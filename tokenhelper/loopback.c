/*
 * loopback.c: the listener the browser is redirected to at the end of an
 * authorization code login (RFC 8252 7.3), on libc sockets only.  See
 * common/redirect.c for why this is not a server library.
 *
 * One thread and poll(2): up to LOOPBACK_MAX_CONN connections are served at
 * once, each with its own deadline and a size cap.  Serving them strictly
 * one after another would let one idle connection stall the login for the
 * whole per-connection deadline, and browsers open such connections
 * (Chrome's preconnect) as a matter of course.
 *
 * TRUST: the port is bound to loopback only (RFC 8252 8.3), but any local
 * process, and any web page through the browser, can send it requests.
 * Nothing is accepted unless its state matches ours (constant-time
 * comparison), so a forged request can neither inject a code nor abort the
 * login with an error.  Error text shown back is printable and
 * HTML-escaped; the pages forbid scripts and referrers.
 * SECRETS: the authorization code passes through the per-connection
 * buffers, wiped when the connection closes, into out->code (wiping).  It
 * is never echoed in a page.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "sysutil.h"
#include "loopback.h"
#include "pkce.h"

#define LOOPBACK_BACKLOG 8
#define LOOPBACK_PATH "/callback"
#define PAGE_MAX 8192

struct conn {
	int fd; /* -1 when the slot is free */
	long long deadline;
	size_t len;
	char buf[OA2_REDIRECT_REQ_MAX];
};

static int
listen_on(int family, struct loopback *lb)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd, one = 1, r = OA2_ERR_IO;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return OA2_ERR_IO;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*sin);
	} else {
		if (setsockopt(
			fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
			goto out;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sl = sizeof(*sin6);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(fd, LOOPBACK_BACKLOG) != 0)
		goto out;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		goto out;
	lb->port = ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port);
	snprintf(lb->host, sizeof(lb->host), "%s",
	    family == AF_INET ? "127.0.0.1" : "[::1]");
	lb->fd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int
loopback_open(struct loopback *lb)
{
	lb->fd = -1;
	lb->port = 0;
	lb->host[0] = '\0';
	lb->conn_timeout_ms = LOOPBACK_CONN_TIMEOUT_MS;
	if (listen_on(AF_INET, lb) == 0)
		return 0;
	return listen_on(AF_INET6, lb);
}

int
loopback_redirect_uri(const struct loopback *lb, char *buf, size_t n)
{
	int w;

	if (n == 0)
		return OA2_ERR_TOOBIG;
	buf[0] = '\0';
	if (lb->fd < 0 || lb->port == 0)
		return OA2_ERR_INVAL;
	w = snprintf(buf, n, "http://%s:%u" LOOPBACK_PATH, lb->host, lb->port);
	if (w < 0 || (size_t)w >= n) {
		buf[0] = '\0';
		return OA2_ERR_TOOBIG;
	}
	return 0;
}

void
loopback_close(struct loopback *lb)
{
	if (lb->fd >= 0)
		close(lb->fd);
	lb->fd = -1;
}

static int
html_escape(struct oa2_buf *b, const char *s)
{
	int r = 0;

	for (; *s != '\0' && r == 0; s++) {
		switch (*s) {
		case '&':
			r = oa2_buf_appendz(b, "&amp;");
			break;
		case '<':
			r = oa2_buf_appendz(b, "&lt;");
			break;
		case '>':
			r = oa2_buf_appendz(b, "&gt;");
			break;
		case '"':
			r = oa2_buf_appendz(b, "&quot;");
			break;
		case '\'':
			r = oa2_buf_appendz(b, "&#39;");
			break;
		default:
			r = oa2_buf_appendc(b, *s);
		}
	}
	return r;
}

/* Write all of p[0..n) before the deadline; the socket is non-blocking. */
static int
send_all(int fd, const char *p, size_t n, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	long long left;
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return OA2_ERR_IO;
		if ((left = deadline - oa2_now_ms()) <= 0)
			return OA2_ERR_TIMEOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return OA2_ERR_IO;
	}
	return 0;
}

/* A complete, tiny HTML page; text is made safe here.  Failures to answer
 * are not errors of the login: the browser just shows less. */
static void
respond(int fd, long long deadline, const char *status, const char *text,
    const char *detail)
{
	struct oa2_buf body, resp;
	char hdr[512];
	int w;

	oa2_buf_init(&body, PAGE_MAX);
	oa2_buf_init(&resp, PAGE_MAX + sizeof(hdr));
	if (oa2_buf_appendz(&body,
		"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		"<title>sasl-oauth2</title></head>\n<body><p>") != 0 ||
	    html_escape(&body, text) != 0 ||
	    oa2_buf_appendz(&body, "</p>") != 0)
		goto out;
	if (detail != NULL && detail[0] != '\0' &&
	    (oa2_buf_appendz(&body, "<p>") != 0 ||
		html_escape(&body, detail) != 0 ||
		oa2_buf_appendz(&body, "</p>") != 0))
		goto out;
	if (oa2_buf_appendz(&body, "</body></html>\n") != 0)
		goto out;
	w = snprintf(hdr, sizeof(hdr),
	    "HTTP/1.1 %s\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Security-Policy: default-src 'none'\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Connection: close\r\n\r\n",
	    status, body.len);
	if (w < 0 || (size_t)w >= sizeof(hdr))
		goto out;
	if (oa2_buf_append(&resp, hdr, (size_t)w) != 0 ||
	    oa2_buf_append(&resp, body.data, body.len) != 0)
		goto out;
	send_all(fd, resp.data, resp.len, deadline);
out:
	oa2_buf_free(&body);
	oa2_buf_free(&resp);
}

/* Close without a reset where we can: a close with unread input sends RST,
 * which can make the browser drop the page it was just sent. */
static void
conn_close(struct conn *c)
{
	char sink[512];
	int i;

	if (c->fd < 0)
		return;
	shutdown(c->fd, SHUT_WR);
	/* Bounded: a client that keeps sending gets its reset. */
	for (i = 0; i < 16; i++)
		if (recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
			break;
	close(c->fd);
	c->fd = -1;
	explicit_bzero(c->buf, c->len);
	explicit_bzero(sink, sizeof(sink));
	c->len = 0;
}

/*
 * Read what is there and judge the request once it is complete.  Returns 1
 * when this was the redirect we wait for (req holds it), 0 otherwise; the
 * connection is closed unless more bytes are needed.
 */
static int
conn_serve(struct conn *c, const char *expected_state, struct oa2_redirect *req)
{
	char msg[256];
	ssize_t n;
	int r, done = 0;

	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0)
		goto out; /* gone before a whole request */
	c->len += (size_t)n;
	r = oa2_redirect_parse(c->buf, c->len, req);
	if (r == 1)
		return 0;
	if (r != 0) {
		respond(c->fd, c->deadline, "400 Bad Request",
		    "sasl-oauth2: bad request.", NULL);
	} else if (strcmp(req->path, LOOPBACK_PATH) != 0) {
		respond(c->fd, c->deadline, "404 Not Found",
		    "sasl-oauth2: not found.", NULL);
	} else if (!oa2_const_eq(req->state, strlen(req->state), expected_state,
		       strlen(expected_state))) {
		respond(c->fd, c->deadline, "400 Bad Request",
		    "sasl-oauth2: this answer does not belong to the login "
		    "in progress (state mismatch).",
		    NULL);
	} else if (req->error[0] != '\0') {
		oa2_buf_reset(&req->code); /* an error answer has no code */
		snprintf(msg, sizeof(msg), "sasl-oauth2: login failed: %s",
		    req->error);
		respond(
		    c->fd, c->deadline, "200 OK", msg, req->error_description);
		done = 1;
	} else if (req->code.len == 0) {
		respond(c->fd, c->deadline, "400 Bad Request",
		    "sasl-oauth2: the answer carries no authorization code.",
		    NULL);
	} else {
		respond(c->fd, c->deadline, "200 OK",
		    "sasl-oauth2: logged in, you can close this tab.", NULL);
		done = 1;
	}
out:
	conn_close(c);
	return done;
}

static int
accept_one(struct loopback *lb, struct conn *c)
{
	long long now = oa2_now_ms();
	int fd;

	fd = accept4(lb->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		    errno == ECONNABORTED || errno == EPROTO)
			return 0;
		return OA2_ERR_IO;
	}
	c->fd = fd;
	c->len = 0;
	c->deadline = now + lb->conn_timeout_ms;
	return 0;
}

int
loopback_wait(struct loopback *lb, const char *expected_state, int timeout_s,
    struct oa2_redirect *out)
{
	struct pollfd pfd[LOOPBACK_MAX_CONN + 1];
	int slot[LOOPBACK_MAX_CONN + 1];
	struct oa2_redirect req;
	struct conn *c = NULL;
	long long deadline, now, wait;
	int i, k, nfds, free_slot, r;

	oa2_redirect_free(out);
	oa2_redirect_init(out);
	oa2_redirect_init(&req);
	/* An empty state would match a request without one. */
	if (lb->fd < 0 || expected_state == NULL || expected_state[0] == '\0' ||
	    timeout_s <= 0) {
		r = OA2_ERR_INVAL;
		goto out;
	}
	if ((c = calloc(LOOPBACK_MAX_CONN, sizeof(*c))) == NULL) {
		r = OA2_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < LOOPBACK_MAX_CONN; i++)
		c[i].fd = -1;
	deadline = oa2_now_ms() + (long long)timeout_s * 1000;
	for (;;) {
		if ((now = oa2_now_ms()) >= deadline) {
			r = OA2_ERR_TIMEOUT;
			goto out;
		}
		wait = deadline - now;
		if (wait > 60000)
			wait = 60000; /* poll takes an int */
		nfds = 0;
		free_slot = -1;
		for (i = 0; i < LOOPBACK_MAX_CONN; i++) {
			if (c[i].fd >= 0 && c[i].deadline <= now)
				conn_close(&c[i]); /* too slow */
			if (c[i].fd < 0) {
				if (free_slot < 0)
					free_slot = i;
				continue;
			}
			if (c[i].deadline - now < wait)
				wait = c[i].deadline - now;
			pfd[nfds].fd = c[i].fd;
			pfd[nfds].events = POLLIN;
			slot[nfds++] = i;
		}
		/* With every slot busy, new connections wait in the backlog. */
		if (free_slot >= 0) {
			pfd[nfds].fd = lb->fd;
			pfd[nfds].events = POLLIN;
			slot[nfds++] = -1;
		}
		if ((k = poll(pfd, (nfds_t)nfds, (int)wait)) < 0) {
			if (errno == EINTR)
				continue;
			r = OA2_ERR_IO;
			goto out;
		}
		for (i = 0; i < nfds && k > 0; i++, k--) {
			if (pfd[i].revents == 0) {
				k++;
				continue;
			}
			if (slot[i] < 0) {
				if ((r = accept_one(lb, &c[free_slot])) != 0)
					goto out;
			} else if (conn_serve(
				       &c[slot[i]], expected_state, &req)) {
				/* Hand the parsed redirect over to out. */
				oa2_redirect_free(out);
				*out = req;
				oa2_redirect_init(&req);
				r = 0;
				goto out;
			}
		}
	}
out:
	if (c != NULL) {
		for (i = 0; i < LOOPBACK_MAX_CONN; i++)
			conn_close(&c[i]);
		free(c);
	}
	oa2_redirect_free(&req);
	loopback_close(lb);
	return r;
}
