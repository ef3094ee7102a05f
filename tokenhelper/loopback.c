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
 * The same loop reads the login's terminal, when it has one: a browser on
 * another machine ends on our redirect address there, never here, and the
 * user pastes that address (or the code alone).  A pasted line is parsed
 * by the same parser and judged by the same function (judge) as a request:
 * path, state, error, code.
 *
 * TRUST: the port is bound to loopback only (RFC 8252 8.3), but any local
 * process, and any web page through the browser, can send it requests.
 * Nothing is accepted unless its state matches ours (constant-time
 * comparison), so a forged request can neither inject a code nor abort the
 * login with an error.  Error text shown back is printable and
 * HTML-escaped; the pages forbid scripts and referrers.  Pasted lines come
 * from the user, but are what a web page put in a URL: the same caps and
 * checks, and refusals say why without echoing the line.
 * SECRETS: the authorization code passes through the per-connection
 * buffers, wiped when the connection closes, and through the pasted-line
 * buffer (wiping) and read chunk (wiped), into out->code (wiping).  It is
 * never echoed in a page or a message.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
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

/* Bind family's loopback address on port (0: any), listen; the socket in
 * *fdp and its port in *portp.  Returns 0 or an errno value. */
static int
listen_on(int family, unsigned port, int *fdp, unsigned *portp)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd, one = 1, e;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errno;
	memset(&ss, 0, sizeof(ss));
	/* A fixed port may be in TIME_WAIT from our own last run (we close
	 * first); Linux still refuses it while another socket listens. */
	if (port != 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto fail;
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons((uint16_t)port);
		sl = sizeof(*sin);
	} else {
		if (setsockopt(
			fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
			goto fail;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*sin6);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(fd, LOOPBACK_BACKLOG) != 0)
		goto fail;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		goto fail;
	*portp = ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port);
	*fdp = fd;
	return 0;
fail:
	e = errno;
	close(fd);
	return e;
}

/* Taken, or not ours to take: no reason to try the other family. */
static int
port_refused(int e)
{
	return e == EADDRINUSE || e == EACCES;
}

static int
open_ip(struct loopback *lb, unsigned port)
{
	int e;

	lb->path = LOOPBACK_PATH;
	if ((e = listen_on(AF_INET, port, &lb->fd, &lb->port)) == 0) {
		snprintf(lb->addr, sizeof(lb->addr), "127.0.0.1");
	} else if (port_refused(e) ||
	    listen_on(AF_INET6, port, &lb->fd, &lb->port) != 0) {
		lb->bind_errno = e;
		return OA2_ERR_IO;
	} else {
		snprintf(lb->addr, sizeof(lb->addr), "[::1]");
	}
	snprintf(lb->host, sizeof(lb->host), "%s", lb->addr);
	return 0;
}

static int
open_localhost(struct loopback *lb, unsigned port)
{
	unsigned p6;
	int e, attempt;

	lb->path = "/";
	snprintf(lb->host, sizeof(lb->host), "localhost");
	for (attempt = 0; attempt < 16; attempt++) {
		e = listen_on(AF_INET, port, &lb->fd, &lb->port);
		if (e != 0) {
			/* No IPv4 loopback here: ::1 alone. */
			if (port_refused(e) ||
			    listen_on(AF_INET6, port, &lb->fd, &lb->port) != 0)
				break;
			snprintf(lb->addr, sizeof(lb->addr), "[::1]");
			return 0;
		}
		snprintf(lb->addr, sizeof(lb->addr), "127.0.0.1");
		e = listen_on(AF_INET6, lb->port, &lb->fd6, &p6);
		if (e != EADDRINUSE)
			return 0; /* both, or a machine without ::1 */
		/* Someone else listens on [::1]:PORT. */
		close(lb->fd);
		lb->fd = -1;
		if (port != 0)
			break;
	}
	lb->bind_errno = e;
	lb->port = 0;
	lb->addr[0] = lb->host[0] = '\0';
	return OA2_ERR_IO;
}

int
loopback_open(struct loopback *lb, enum loopback_kind kind, unsigned port)
{
	memset(lb, 0, sizeof(*lb));
	lb->fd = lb->fd6 = lb->paste_fd = -1;
	lb->conn_timeout_ms = LOOPBACK_CONN_TIMEOUT_MS;
	lb->path = LOOPBACK_PATH;
	if (port > 65535) {
		lb->bind_errno = EINVAL;
		return OA2_ERR_INVAL;
	}
	return kind == LOOPBACK_LOCALHOST ? open_localhost(lb, port)
					  : open_ip(lb, port);
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
	w = snprintf(buf, n, "http://%s:%u%s", lb->host, lb->port,
	    strcmp(lb->path, "/") == 0 ? "" : lb->path);
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
	if (lb->fd6 >= 0)
		close(lb->fd6);
	lb->fd = lb->fd6 = -1;
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

enum verdict {
	V_OTHER_PATH,  /* not our redirect */
	V_OTHER_STATE, /* not our login's answer */
	V_NO_CODE,     /* ours, but neither code nor error */
	V_ERROR,       /* ours: the provider refused */
	V_CODE	       /* ours: the code */
};

/* The one judgement of an answer, delivered or pasted.  state NULL: not
 * compared (a code pasted alone has none; see loopback_wait). */
static enum verdict
judge(const struct loopback *lb, const struct oa2_redirect *req,
    const char *state)
{
	if (strcmp(req->path, lb->path) != 0)
		return V_OTHER_PATH;
	if (state != NULL &&
	    !oa2_const_eq(req->state, strlen(req->state), state, strlen(state)))
		return V_OTHER_STATE;
	if (req->error[0] != '\0')
		return V_ERROR;
	if (req->code.len == 0)
		return V_NO_CODE;
	return V_CODE;
}

/*
 * Read what is there and judge the request once it is complete.  Returns 1
 * when this was the redirect we wait for (req holds it), 0 otherwise; the
 * connection is closed unless more bytes are needed.
 */
static int
conn_serve(struct loopback *lb, struct conn *c, const char *expected_state,
    struct oa2_redirect *req)
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
		goto out;
	}
	switch (judge(lb, req, expected_state)) {
	case V_OTHER_PATH:
		respond(c->fd, c->deadline, "404 Not Found",
		    "sasl-oauth2: not found.", NULL);
		break;
	case V_OTHER_STATE:
		respond(c->fd, c->deadline, "400 Bad Request",
		    "sasl-oauth2: this answer does not belong to the login "
		    "in progress (state mismatch).",
		    NULL);
		break;
	case V_NO_CODE:
		respond(c->fd, c->deadline, "400 Bad Request",
		    "sasl-oauth2: the answer carries no authorization code.",
		    NULL);
		break;
	case V_ERROR:
		oa2_buf_reset(&req->code); /* an error answer has no code */
		snprintf(msg, sizeof(msg), "sasl-oauth2: login failed: %s",
		    req->error);
		respond(
		    c->fd, c->deadline, "200 OK", msg, req->error_description);
		done = 1;
		break;
	case V_CODE:
		respond(c->fd, c->deadline, "200 OK",
		    "sasl-oauth2: logged in, you can close this tab.", NULL);
		done = 1;
		break;
	}
out:
	conn_close(c);
	return done;
}

/* A pasted line being read: wiping, capped like a request. */
struct paste {
	struct oa2_buf line;
	int overflow; /* went over the cap: refused when it ends */
};

static void tell(const struct loopback *lb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One sentence about a pasted line, on stderr (the line itself is never
 * shown: it may hold a code). */
static void
tell(const struct loopback *lb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sasl-oauth2: %s: ", lb->label ? lb->label : "login");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Judge one complete line; 1 if it is the answer (req holds it). */
static int
paste_line(const struct loopback *lb, const char *uri, const char *state,
    struct paste *p, struct oa2_redirect *req)
{
	int r, bare = 0, done = 0;

	if (p->overflow) {
		tell(lb,
		    "that line is longer than %d bytes, which no redirect "
		    "address is; paste the address the browser ends on",
		    OA2_REDIRECT_REQ_MAX);
		goto out;
	}
	r = oa2_redirect_parse_pasted(
	    oa2_buf_str(&p->line), p->line.len, uri, req, &bare);
	if (r == 1)
		goto out; /* a blank line */
	if (r == OA2_ERR_NOTFOUND) {
		tell(lb,
		    "that address is not this login's redirect, which starts "
		    "with %s; if the browser shows a page of the provider "
		    "instead, the login did not get that far: finish it there, "
		    "or read what the page says",
		    uri);
		goto out;
	}
	if (r != 0) {
		tell(lb,
		    "that is neither the address the browser ended on nor an "
		    "authorization code; paste the whole address, which starts "
		    "with %s",
		    uri);
		goto out;
	}
	if (bare && !lb->bare_code_ok) {
		tell(lb,
		    "the provider names itself in the address (RFC 9207), "
		    "which a code alone does not show; paste the whole "
		    "address, which starts with %s",
		    uri);
		goto out;
	}
	switch (judge(lb, req, bare ? NULL : state)) {
	case V_OTHER_PATH:
		tell(lb,
		    "that address is not this login's redirect, which starts "
		    "with %s; paste the address the browser ends on",
		    uri);
		break;
	case V_OTHER_STATE:
		tell(lb,
		    "that address belongs to another login (its state is not "
		    "this one's); paste the address from the browser window "
		    "of this login, or run login again");
		break;
	case V_NO_CODE:
		tell(lb,
		    "that address carries neither a code nor an error; paste "
		    "the address the browser ends on after you sign in");
		break;
	case V_ERROR:
		oa2_buf_reset(&req->code); /* an error answer has no code */
		done = 1;
		break;
	case V_CODE:
		done = 1;
		break;
	}
out:
	if (!done)
		oa2_buf_reset(&req->code);
	oa2_buf_reset(&p->line);
	p->overflow = 0;
	return done;
}

/*
 * Read what the terminal has and judge each complete line.  Returns 1 when
 * a line was the answer (req holds it), -1 when the terminal is gone or the
 * user ended the reading (^D on an empty line), 0 otherwise.  What follows
 * the answer in the same read is dropped.
 */
static int
paste_read(const struct loopback *lb, int fd, const char *uri,
    const char *state, struct paste *p, struct oa2_redirect *req)
{
	char chunk[512];
	ssize_t n, i;
	int r = 0;

	n = read(fd, chunk, sizeof(chunk));
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1; /* end of file, hang-up, EIO in the background */
	for (i = 0; i < n && r == 0; i++) {
		switch (chunk[i]) {
		case '\r':
		case '\n':
			r = paste_line(lb, uri, state, p, req);
			break;
		case 0x7f: /* erase, as the terminal would in canonical mode */
		case '\b':
			if (p->line.len > 0)
				p->line.data[--p->line.len] = '\0';
			break;
		case 0x15: /* ^U: kill the line */
			oa2_buf_reset(&p->line);
			p->overflow = 0;
			break;
		case 0x04: /* ^D */
			if (p->line.len == 0 && !p->overflow) {
				tell(lb,
				    "no longer reading the terminal; "
				    "still waiting for the redirect");
				r = -1;
			}
			break;
		default:
			if (!p->overflow &&
			    oa2_buf_appendc(&p->line, chunk[i]) != 0) {
				oa2_buf_reset(&p->line);
				p->overflow = 1;
			}
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	return r;
}

static int
accept_one(const struct loopback *lb, int lfd, struct conn *c)
{
	long long now = oa2_now_ms();
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
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
	enum { SLOT_LISTEN = -1, SLOT_LISTEN6 = -2, SLOT_PASTE = -3 };
	struct pollfd pfd[LOOPBACK_MAX_CONN + 3];
	int slot[LOOPBACK_MAX_CONN + 3];
	struct oa2_redirect req;
	struct paste paste;
	struct conn *c = NULL;
	char uri[128];
	long long deadline, now, wait;
	int i, k, nfds, free_slot, r, paste_fd = lb->paste_fd, got;

	oa2_redirect_free(out);
	oa2_redirect_init(out);
	oa2_redirect_init(&req);
	oa2_buf_init(&paste.line, OA2_REDIRECT_REQ_MAX);
	paste.overflow = 0;
	lb->pasted = 0;
	/* An empty state would match a request without one. */
	if (lb->fd < 0 || expected_state == NULL || expected_state[0] == '\0' ||
	    timeout_s <= 0 ||
	    loopback_redirect_uri(lb, uri, sizeof(uri)) != 0) {
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
			slot[nfds++] = SLOT_LISTEN;
			if (lb->fd6 >= 0) {
				pfd[nfds].fd = lb->fd6;
				pfd[nfds].events = POLLIN;
				slot[nfds++] = SLOT_LISTEN6;
			}
		}
		if (paste_fd >= 0) {
			pfd[nfds].fd = paste_fd;
			pfd[nfds].events = POLLIN;
			slot[nfds++] = SLOT_PASTE;
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
			got = 0;
			if (slot[i] == SLOT_LISTEN || slot[i] == SLOT_LISTEN6) {
				if (c[free_slot].fd >= 0)
					continue; /* the other one took it */
				if ((r = accept_one(
					 lb, pfd[i].fd, &c[free_slot])) != 0)
					goto out;
			} else if (slot[i] == SLOT_PASTE) {
				got = paste_read(lb, paste_fd, uri,
				    expected_state, &paste, &req);
				if (got < 0)
					paste_fd =
					    -1; /* the listener goes on */
				lb->pasted = got > 0;
			} else {
				got = conn_serve(
				    lb, &c[slot[i]], expected_state, &req);
			}
			if (got > 0) {
				/* Hand the parsed answer over to out. */
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
	oa2_buf_free(&paste.line);
	loopback_close(lb);
	return r;
}
