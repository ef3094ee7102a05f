/*
 * probe.c: doctor's real login: connect to an SMTP or IMAP server, TLS
 * (implicit on 465/993, else STARTTLS) with the certificate verified
 * against the system store or the account's ca_file and the host name,
 * then AUTH/AUTHENTICATE through libsasl2, which loads the installed
 * plugin (SASL_PATH) as any mail client does; the plugin runs the helper
 * for the token.  Only XOAUTH2 and OAUTHBEARER are tried.
 *
 * TRUST: everything the server sends: lines capped (PROBE_LINE_MAX),
 * challenges capped (OA2_CHALLENGE_MAX) and made printable before they
 * are shown.
 * SECRETS: the SASL messages carry the token: they are built by the
 * plugin, base64-encoded into a wiping buffer here, sent, and never
 * shown; only the server's side is.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include "err.h"
#include "probe.h"

#define PROBE_LINE_MAX 4096
#define PROBE_TIMEOUT_S 20   /* one read or write */
#define PROBE_DEADLINE_S 60  /* the whole conversation */
#define PROBE_LINES_MAX 2000 /* a server that never stops talking */

struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char in[PROBE_LINE_MAX * 2];
	size_t inlen;
	unsigned lines;	 /* read so far */
	time_t deadline; /* of the conversation */
};

static void fail(struct probe_result *out, int tempfail, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct probe_result *out, int tempfail, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
	out->tempfail = tempfail;
}

static int
conn_open(struct conn *c, const char *host, const char *port,
    struct probe_result *out)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = {PROBE_TIMEOUT_S, 0};
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		fail(out, 1, "cannot resolve %s: %s", host, gai_strerror(r));
		return -1;
	}
	c->fd = -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (c->fd < 0)
			continue;
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		r = errno;
		close(c->fd);
		c->fd = -1;
		errno = r;
	}
	freeaddrinfo(res);
	if (c->fd < 0) {
		fail(out, 1, "cannot connect to %s port %s: %s", host, port,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
conn_tls(struct conn *c, const char *host, const char *ca_file,
    struct probe_result *out)
{
	X509_VERIFY_PARAM *param;
	X509 *peer;
	char name[256];
	long v;

	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto sslerr;
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file != NULL
		? SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1
		: SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		fail(out, 0, "cannot load the CA certificates%s%s",
		    ca_file ? " of ca_file " : "", ca_file ? ca_file : "");
		return -1;
	}
	if ((c->ssl = SSL_new(c->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1)
		goto sslerr;
	param = SSL_get0_param(c->ssl);
	if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1) {
		SSL_set_tlsext_host_name(c->ssl, host);
		if (SSL_set1_host(c->ssl, host) != 1)
			goto sslerr;
	}
	if (SSL_connect(c->ssl) != 1) {
		v = SSL_get_verify_result(c->ssl);
		if (v != X509_V_OK)
			fail(out, 0,
			    "the server's certificate does not verify: %s (%s "
			    "the issuing CA: set ca_file, or install it in the "
			    "system store)",
			    X509_verify_cert_error_string(v),
			    ca_file ? "ca_file lacks"
				    : "the system store lacks");
		else
			fail(out, 1, "TLS handshake failed: %s",
			    ERR_reason_error_string(ERR_peek_last_error())
				? ERR_reason_error_string(ERR_peek_last_error())
				: "connection closed");
		return -1;
	}
	name[0] = '\0';
	if ((peer = SSL_get1_peer_certificate(c->ssl)) != NULL) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
		    NID_commonName, name, sizeof(name));
		X509_free(peer);
	}
	snprintf(out->tls, sizeof(out->tls), "%s, certificate of '%s' verified",
	    SSL_get_version(c->ssl), name);
	return 0;
sslerr:
	fail(out, 0, "TLS setup failed");
	return -1;
}

static int
conn_write(struct conn *c, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = c->ssl ? SSL_write(c->ssl, p, (int)n) : write(c->fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One line without its CRLF into line (printable), 0; -1 on EOF/error. */
static int
conn_line(struct conn *c, char *line, size_t linesz)
{
	char *nl;
	ssize_t r;

	line[0] = '\0';
	if (++c->lines > PROBE_LINES_MAX || time(NULL) > c->deadline)
		return -1;
	for (;;) {
		if ((nl = memchr(c->in, '\n', c->inlen)) != NULL) {
			size_t n = (size_t)(nl - c->in);
			oa2_printable(line, linesz, c->in,
			    n > 0 && c->in[n - 1] == '\r' ? n - 1 : n);
			memmove(c->in, nl + 1, c->inlen - n - 1);
			c->inlen -= n + 1;
			return 0;
		}
		if (c->inlen == sizeof(c->in))
			return -1; /* a line over the cap */
		r = c->ssl
		    ? SSL_read(c->ssl, c->in + c->inlen,
			  (int)(sizeof(c->in) - c->inlen))
		    : read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (r <= 0)
			return -1;
		c->inlen += (size_t)r;
	}
}

static void
conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->ctx = NULL;
	c->fd = -1;
}

/* An SMTP reply (multi-line: until "ddd "), its last line into line. */
static int
smtp_reply(struct conn *c, char *line, size_t linesz, char *auth, size_t authsz)
{
	for (;;) {
		if (conn_line(c, line, linesz) != 0)
			return -1;
		if (auth != NULL && strlen(line) > 9 &&
		    strncasecmp(line + 4, "AUTH ", 5) == 0)
			snprintf(auth, authsz, "%s", line + 9);
		if (strlen(line) < 4 || line[3] != '-')
			return strspn(line, "0123456789") == 3 ? 0 : -1;
	}
}

static int
sasl_simple(void *ctx, int id, const char **result, unsigned *len)
{
	const char *user = ctx;

	if (id != SASL_CB_AUTHNAME && id != SASL_CB_USER)
		return SASL_BADPARAM;
	*result = user;
	if (len != NULL)
		*len = (unsigned)strlen(user);
	return SASL_OK;
}

/* The server's mechanisms other than XOAUTH2 and OAUTHBEARER. */
static void
other_mechs(const char *offered, char *out, size_t outsz)
{
	const char *p = offered;
	size_t n, len = 0;

	out[0] = '\0';
	while (*p != '\0') {
		p += strspn(p, " ");
		n = strcspn(p, " ");
		if (n == 0)
			break;
		if (!(n == 7 && strncasecmp(p, "XOAUTH2", n) == 0) &&
		    !(n == 11 && strncasecmp(p, "OAUTHBEARER", n) == 0) &&
		    len + n + 2 < outsz) {
			len += (size_t)snprintf(out + len, outsz - len,
			    "%s%.*s", len ? " " : "", (int)n, p);
		}
		p += n;
	}
}

/* Keep only XOAUTH2 and OAUTHBEARER of the server's list. */
static void
oauth_mechs(const char *offered, char *out, size_t outsz)
{
	const char *p = offered;
	size_t n;

	out[0] = '\0';
	while (*p != '\0') {
		p += strspn(p, " ");
		n = strcspn(p, " ");
		if ((n == 7 && strncasecmp(p, "XOAUTH2", n) == 0) ||
		    (n == 11 && strncasecmp(p, "OAUTHBEARER", n) == 0))
			snprintf(out + strlen(out), outsz - strlen(out),
			    "%s%.*s", out[0] ? " " : "", (int)n, p);
		p += n;
	}
}

/* base64 of p[0..n) into b (a wiping buffer). */
static int
b64(struct oa2_buf *b, const char *p, unsigned n)
{
	unsigned len = 0, cap = ((n + 2) / 3) * 4 + 1;
	char *tmp;
	int r;

	oa2_buf_reset(b);
	if ((tmp = malloc(cap)) == NULL)
		return -1;
	r = sasl_encode64(p, n, tmp, cap, &len) == SASL_OK
	    ? oa2_buf_append(b, tmp, len)
	    : -1;
	explicit_bzero(tmp, cap);
	free(tmp);
	return r;
}

/* A server challenge: base64 text -> raw (for the plugin) and the parsed
 * error object (for the user). */
static int
challenge(const char *text, char *raw, unsigned rawsz, unsigned *rawlen,
    struct probe_result *out)
{
	if (sasl_decode64(text, (unsigned)strlen(text), raw, rawsz, rawlen) !=
	    SASL_OK)
		return -1;
	if (*rawlen > 0 &&
	    oa2_challenge_parse(raw, *rawlen, &out->challenge) == 0)
		out->have_challenge = 1;
	return 0;
}

struct proto {
	int imap;
	int tag;
};

/* Send a SASL response: "AUTH MECH IR" or a line of base64 (an empty
 * line for an empty response). */
static int
send_sasl(struct conn *c, const char *prefix, const char *data, unsigned n)
{
	struct oa2_buf b;
	int r = -1;

	oa2_buf_init(&b, OA2_RESPONSE_MAX * 2);
	if ((n == 0 || b64(&b, data, n) == 0) &&
	    (prefix == NULL || conn_write(c, prefix, strlen(prefix)) == 0) &&
	    conn_write(c, oa2_buf_str(&b), b.len) == 0 &&
	    conn_write(c, "\r\n", 2) == 0)
		r = 0;
	oa2_buf_free(&b);
	return r;
}

static int
do_sasl(struct conn *c, int imap, const char *service, const char *host,
    const char *mailbox, const char *mechs, int sasl_ir,
    struct probe_result *out)
{
	sasl_callback_t cbs[] = {
	    {SASL_CB_AUTHNAME, (int (*)(void))(void (*)(void))sasl_simple,
		(void *)mailbox},
	    {SASL_CB_USER, (int (*)(void))(void (*)(void))sasl_simple,
		(void *)mailbox},
	    {SASL_CB_LIST_END, NULL, NULL}};
	sasl_security_properties_t sp = {
	    0, 0, 0, SASL_SEC_NOANONYMOUS, NULL, NULL};
	sasl_interact_t *interact = NULL;
	sasl_conn_t *sc = NULL;
	sasl_ssf_t ext = 256;
	const char *clientout = NULL, *mech = NULL;
	unsigned clientoutlen = 0, rawlen;
	char line[PROBE_LINE_MAX], prefix[128], raw[OA2_CHALLENGE_MAX];
	int r, rc = -1;

	if ((r = sasl_client_new(service, host, NULL, NULL, cbs, 0, &sc)) !=
		SASL_OK ||
	    (r = sasl_setprop(sc, SASL_SEC_PROPS, &sp)) != SASL_OK ||
	    (r = sasl_setprop(sc, SASL_SSF_EXTERNAL, &ext)) != SASL_OK) {
		fail(out, 0, "libsasl2: %s", sasl_errstring(r, NULL, NULL));
		goto out;
	}
	r = sasl_client_start(
	    sc, mechs, &interact, &clientout, &clientoutlen, &mech);
	if (r != SASL_OK && r != SASL_CONTINUE) {
		fail(out, r == SASL_TRYAGAIN || r == SASL_UNAVAIL,
		    "libsasl2 could not start %s: %s (is the plugin where "
		    "SASL_PATH or the system plugin directory points?)",
		    mechs, sasl_errdetail(sc));
		goto out;
	}
	snprintf(out->mech, sizeof(out->mech), "%s", mech);
	if (imap)
		snprintf(prefix, sizeof(prefix), "a4 AUTHENTICATE %s%s", mech,
		    sasl_ir && clientoutlen > 0 ? " " : "");
	else
		snprintf(prefix, sizeof(prefix), "AUTH %s%s", mech,
		    clientoutlen > 0 ? " " : "");
	if (imap && !sasl_ir) {
		if (conn_write(c, prefix, strlen(prefix)) != 0 ||
		    conn_write(c, "\r\n", 2) != 0 ||
		    conn_line(c, line, sizeof(line)) != 0 || line[0] != '+') {
			fail(out, 1, "the server broke off");
			goto out;
		}
		if (send_sasl(c, NULL, clientout, clientoutlen) != 0)
			goto io;
	} else if (send_sasl(c, prefix, clientout, clientoutlen) != 0) {
		goto io;
	}
	for (;;) {
		if (imap) {
			if (conn_line(c, line, sizeof(line)) != 0)
				goto io;
			if (line[0] == '*')
				continue;
		} else if (smtp_reply(c, line, sizeof(line), NULL, 0) != 0) {
			goto io;
		}
		if ((imap && line[0] == '+') ||
		    (!imap && strncmp(line, "334", 3) == 0)) {
			const char *t = line + (imap ? 1 : 3);
			while (*t == ' ')
				t++;
			if (challenge(t, raw, sizeof(raw), &rawlen, out) != 0) {
				rawlen = 0;
			}
			clientout = NULL;
			clientoutlen = 0;
			r = sasl_client_step(sc, raw, rawlen, &interact,
			    &clientout, &clientoutlen);
			if (r != SASL_OK && r != SASL_CONTINUE) {
				/* the plugin gave up (the error challenge):
				 * answer as the mechanism wants */
				clientout = strcasecmp(mech, "OAUTHBEARER") == 0
				    ? "\x01"
				    : "";
				clientoutlen = (unsigned)strlen(clientout);
			}
			if (send_sasl(c, NULL, clientout, clientoutlen) != 0)
				goto io;
			continue;
		}
		oa2_printable(
		    out->reply, sizeof(out->reply), line, strlen(line));
		out->ok = imap ? strncmp(line, "a4 OK", 5) == 0
			       : strncmp(line, "235", 3) == 0;
		rc = 0;
		goto out;
	}
io:
	fail(out, 1,
	    "the server broke off, or talked too long (%d lines, %d s), "
	    "during AUTH",
	    PROBE_LINES_MAX, PROBE_DEADLINE_S);
out:
	sasl_dispose(&sc);
	return rc;
}

static int
smtp_probe(struct conn *c, const char *host, int implicit, const char *ca_file,
    const char *mailbox, struct probe_result *out)
{
	char line[PROBE_LINE_MAX], auth[1024] = "", mechs[256];
	static const char ehlo[] = "EHLO sasl-oauth2.doctor\r\n";

	if (implicit && conn_tls(c, host, ca_file, out) != 0)
		return -1;
	if (smtp_reply(c, line, sizeof(line), NULL, 0) != 0 ||
	    strncmp(line, "220", 3) != 0) {
		fail(out, 1, "no SMTP greeting: %s", line);
		return -1;
	}
	if (conn_write(c, ehlo, sizeof(ehlo) - 1) != 0 ||
	    smtp_reply(c, line, sizeof(line), auth, sizeof(auth)) != 0)
		goto io;
	if (!implicit) {
		if (conn_write(c, "STARTTLS\r\n", 10) != 0 ||
		    smtp_reply(c, line, sizeof(line), NULL, 0) != 0)
			goto io;
		if (strncmp(line, "220", 3) != 0) {
			fail(out, 0, "STARTTLS refused: %s", line);
			return -1;
		}
		if (conn_tls(c, host, ca_file, out) != 0)
			return -1;
		auth[0] = '\0';
		if (conn_write(c, ehlo, sizeof(ehlo) - 1) != 0 ||
		    smtp_reply(c, line, sizeof(line), auth, sizeof(auth)) != 0)
			goto io;
	}
	oauth_mechs(auth, mechs, sizeof(mechs));
	other_mechs(auth, out->others, sizeof(out->others));
	if (mechs[0] == '\0') {
		fail(out, 0,
		    "the server offers no XOAUTH2 or OAUTHBEARER (AUTH %s)",
		    auth[0] ? auth : "not offered");
		return -1;
	}
	if (do_sasl(c, 0, "smtp", host, mailbox, mechs, 0, out) != 0)
		return -1;
	conn_write(c, "QUIT\r\n", 6);
	return 0;
io:
	fail(out, 1, "the server closed the connection");
	return -1;
}

/* Capabilities from "* CAPABILITY ..." or "* OK [CAPABILITY ...]". */
static void
imap_caps(const char *line, char *caps, size_t capsz)
{
	const char *p = strstr(line, "CAPABILITY ");

	if (p != NULL)
		snprintf(caps, capsz, " %s ", p + 11);
}

static int
imap_cmd(struct conn *c, const char *cmd, const char *tag, char *caps,
    size_t capsz, char *line, size_t linesz)
{
	if (conn_write(c, cmd, strlen(cmd)) != 0)
		return -1;
	for (;;) {
		if (conn_line(c, line, linesz) != 0)
			return -1;
		if (line[0] == '*')
			imap_caps(line, caps, capsz);
		if (strncmp(line, tag, strlen(tag)) == 0)
			return 0;
	}
}

static int
imap_probe(struct conn *c, const char *host, int implicit, const char *ca_file,
    const char *mailbox, struct probe_result *out)
{
	char line[PROBE_LINE_MAX], caps[2048] = "", offered[1024] = "",
				   mechs[256], *p;

	if (implicit && conn_tls(c, host, ca_file, out) != 0)
		return -1;
	if (conn_line(c, line, sizeof(line)) != 0 ||
	    strncmp(line, "* OK", 4) != 0) {
		fail(out, 1, "no IMAP greeting: %s", line);
		return -1;
	}
	if (!implicit) {
		if (imap_cmd(c, "a1 STARTTLS\r\n", "a1 ", caps, sizeof(caps),
			line, sizeof(line)) != 0)
			goto io;
		if (strncmp(line, "a1 OK", 5) != 0) {
			fail(out, 0, "STARTTLS refused: %s", line);
			return -1;
		}
		if (conn_tls(c, host, ca_file, out) != 0)
			return -1;
	}
	caps[0] = '\0';
	if (imap_cmd(c, "a3 CAPABILITY\r\n", "a3 ", caps, sizeof(caps), line,
		sizeof(line)) != 0)
		goto io;
	for (p = strstr(caps, " AUTH="); p != NULL;
	     p = strstr(p + 1, " AUTH=")) {
		size_t n = strcspn(p + 6, " ");
		snprintf(offered + strlen(offered),
		    sizeof(offered) - strlen(offered), "%s%.*s",
		    offered[0] ? " " : "", (int)n, p + 6);
	}
	oauth_mechs(offered, mechs, sizeof(mechs));
	other_mechs(offered, out->others, sizeof(out->others));
	if (mechs[0] == '\0') {
		fail(out, 0,
		    "the server offers no AUTH=XOAUTH2 or AUTH=OAUTHBEARER "
		    "(%s)",
		    offered[0] ? offered : "no AUTH= capability");
		return -1;
	}
	if (do_sasl(c, 1, "imap", host, mailbox, mechs,
		strstr(caps, " SASL-IR ") != NULL, out) != 0)
		return -1;
	imap_cmd(
	    c, "a5 LOGOUT\r\n", "a5 ", caps, sizeof(caps), line, sizeof(line));
	return 0;
io:
	fail(out, 1, "the server closed the connection");
	return -1;
}

int
probe_login(int imap, const char *hostport, const char *ca_file,
    const char *mailbox, struct probe_result *out)
{
	static int sasl_ready;
	struct conn c;
	char host[256], port[16];
	const char *colon;
	int implicit, r;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.deadline = time(NULL) + PROBE_DEADLINE_S;
	/* smtps://, imaps://: implicit TLS on any port; smtp://, imap://:
	 * STARTTLS on any port; no scheme: by the port (465, 993). */
	implicit = -1;
	if (strncmp(hostport, imap ? "imaps://" : "smtps://", 8) == 0) {
		implicit = 1;
		hostport += 8;
	} else if (strncmp(hostport, imap ? "imap://" : "smtp://", 7) == 0) {
		implicit = 0;
		hostport += 7;
	} else if (strstr(hostport, "://") != NULL) {
		fail(out, 0, "'%s': the scheme may be %s or %s", hostport,
		    imap ? "imap://" : "smtp://",
		    imap ? "imaps://" : "smtps://");
		return OA2_ERR_INVAL;
	}
	colon = strrchr(hostport, ':');
	if (colon != NULL && strchr(hostport, ']') == NULL &&
	    strchr(hostport, ':') != colon)
		colon = NULL; /* a bare IPv6 address */
	snprintf(host, sizeof(host), "%.*s",
	    (int)(colon ? (size_t)(colon - hostport) : strlen(hostport)),
	    hostport);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	snprintf(port, sizeof(port), "%s",
	    colon		? colon + 1
		: implicit == 1 ? (imap ? "993" : "465")
		: imap		? "143"
				: "587");
	if (host[0] == '\0' || port[0] == '\0' ||
	    strspn(port, "0123456789") != strlen(port)) {
		fail(out, 0, "'%s' is not [SCHEME://]HOST[:PORT]", hostport);
		return OA2_ERR_INVAL;
	}
	if (implicit == -1)
		implicit = strcmp(port, imap ? "993" : "465") == 0;
	snprintf(out->where, sizeof(out->where), "%s port %s, %s", host, port,
	    implicit ? "implicit TLS" : "STARTTLS");
	if (!sasl_ready) {
		if ((r = sasl_client_init(NULL)) != SASL_OK) {
			fail(out, 0, "libsasl2 does not start: %s",
			    sasl_errstring(r, NULL, NULL));
			return OA2_ERR_UNAVAIL;
		}
		sasl_ready = 1;
	}
	if (conn_open(&c, host, port, out) != 0)
		r = OA2_ERR_NETWORK;
	else
		r = (imap ? imap_probe : smtp_probe)(
			&c, host, implicit, ca_file, mailbox, out) == 0
		    ? 0
		    : OA2_ERR_NETWORK;
	conn_close(&c);
	return r;
}
