/*
 * redirect.c: parse the browser's request to the loopback redirect URI.
 *
 * Why not libmicrohttpd (or another server library): the listener answers
 * exactly one kind of request, a GET with no body, one per connection, no
 * keep-alive, no TLS, no chunking.  A parser this size that is fuzzed and
 * unit-tested is a smaller attack surface than a server library with its
 * own threads, its own allocator paths and features we would have to turn
 * off, running in a process that holds refresh tokens.
 *
 * TRUST: everything here is untrusted: any local process or any web page
 * the browser shows can send a request to the port.  The request is capped
 * (OA2_REDIRECT_REQ_MAX) before parsing, parsed with pointer and length,
 * and fields leave this file bounded; error and error_description are made
 * printable.  Whether the request is the real redirect is decided by the
 * caller, by comparing state.
 * The address a user pastes (the browser on another machine never reached
 * our listener) goes through the very same origin-form parser once its
 * origin is checked: one parser, one set of checks, whichever way the
 * answer came.
 *
 * SECRETS: the authorization code.  It goes into a wiping buffer; the
 * decoding scratch buffers are wiped; the caller must wipe the raw request
 * or the pasted line.
 */
#include "config.h"

#include <string.h>

#include "err.h"
#include "redirect.h"
#include "wire.h"

enum param { P_OTHER, P_CODE, P_STATE, P_ERROR, P_ERROR_DESCRIPTION, P_ISS };

void
oa2_redirect_init(struct oa2_redirect *r)
{
	memset(r, 0, sizeof(*r));
	oa2_buf_init(&r->code, OA2_REDIRECT_CODE_MAX);
}

void
oa2_redirect_free(struct oa2_redirect *r)
{
	oa2_buf_free(&r->code);
	explicit_bzero(r->state, sizeof(r->state));
}

static void
redirect_clear(struct oa2_redirect *r)
{
	oa2_buf_reset(&r->code);
	explicit_bzero(r->state, sizeof(r->state));
	r->error[0] = '\0';
	r->error_description[0] = '\0';
	r->iss[0] = '\0';
	r->has_iss = 0;
	r->path[0] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Form-decode p[0..n) into dst, which has room for n bytes.  With dst NULL
 * only checks the escapes. */
static int
form_decode(const char *p, size_t n, char *dst, size_t *dlen)
{
	size_t i, o = 0;
	int hi, lo;
	char c;

	for (i = 0; i < n; i++) {
		c = p[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3 || (hi = hexval(p[i + 1])) < 0 ||
			    (lo = hexval(p[i + 2])) < 0 || (hi | lo) == 0)
				return OA2_ERR_PARSE; /* bad escape or %00 */
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (dst != NULL)
			dst[o] = c;
		o++;
	}
	*dlen = o;
	return 0;
}

/* RFC 6749 Appendix A: code and state are 1*VSCHAR (%x20-7E). */
static int
is_vschar(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return 0;
	return 1;
}

static enum param
param_name(const char *k, size_t n)
{
	static const struct {
		const char *name;
		enum param p;
	} names[] = {
	    {"code", P_CODE},
	    {"state", P_STATE},
	    {"error", P_ERROR},
	    {"error_description", P_ERROR_DESCRIPTION},
	    {"iss", P_ISS},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n &&
		    memcmp(names[i].name, k, n) == 0)
			return names[i].p;
	return P_OTHER;
}

/* One name[=value] pair; tmp has room for n bytes. */
static int
query_param(const char *p, size_t n, char *tmp, unsigned *seen,
    struct oa2_redirect *out)
{
	const char *eq = memchr(p, '=', n);
	size_t klen = eq != NULL ? (size_t)(eq - p) : n;
	size_t vlen, dlen;
	enum param which;
	int r;

	if ((r = form_decode(p, klen, tmp, &dlen)) != 0)
		return r;
	which = param_name(tmp, dlen);
	vlen = eq != NULL ? n - klen - 1 : 0;
	if ((r = form_decode(eq != NULL ? eq + 1 : p, vlen, tmp, &dlen)) != 0)
		return r;
	if (which == P_OTHER)
		return 0;
	if (*seen & (1u << which))
		return OA2_ERR_PARSE; /* RFC 6749 3.1: at most once */
	*seen |= 1u << which;
	switch (which) {
	case P_CODE:
		if (dlen == 0 || !is_vschar(tmp, dlen))
			return OA2_ERR_PARSE;
		return oa2_buf_append(&out->code, tmp, dlen);
	case P_STATE:
		if (!is_vschar(tmp, dlen))
			return OA2_ERR_PARSE;
		if (dlen >= sizeof(out->state))
			return OA2_ERR_TOOBIG;
		memcpy(out->state, tmp, dlen);
		out->state[dlen] = '\0';
		return 0;
	case P_ISS:
		if (!is_vschar(tmp, dlen))
			return OA2_ERR_PARSE;
		if (dlen >= sizeof(out->iss))
			return OA2_ERR_TOOBIG;
		memcpy(out->iss, tmp, dlen);
		out->iss[dlen] = '\0';
		out->has_iss = 1;
		return 0;
	case P_ERROR:
		if (dlen == 0)
			return OA2_ERR_PARSE;
		oa2_printable(out->error, sizeof(out->error), tmp, dlen);
		return 0;
	default:
		oa2_printable(out->error_description,
		    sizeof(out->error_description), tmp, dlen);
		return 0;
	}
}

/* origin-form (RFC 9112 3.2.1): absolute-path [ "?" query ], visible
 * ASCII only; no fragment, no absolute-form, no authority-form, no "*". */
static int
parse_target(const char *t, size_t n, char *tmp, struct oa2_redirect *out)
{
	const char *q, *amp, *end = t + n;
	unsigned seen = 0;
	size_t plen, dlen;
	int r;

	if (n == 0 || t[0] != '/')
		return OA2_ERR_PARSE;
	if (memchr(t, '#', n) != NULL)
		return OA2_ERR_PARSE;
	q = memchr(t, '?', n);
	plen = q != NULL ? (size_t)(q - t) : n;
	if (plen >= sizeof(out->path))
		return OA2_ERR_TOOBIG;
	if ((r = form_decode(t, plen, NULL, &dlen)) != 0)
		return r;
	memcpy(out->path, t, plen);
	out->path[plen] = '\0';
	if (q == NULL)
		return 0;
	for (q++; q < end; q = amp + 1) {
		if ((amp = memchr(q, '&', (size_t)(end - q))) == NULL)
			amp = end;
		if (amp == q)
			continue; /* "&&" */
		r = query_param(q, (size_t)(amp - q), tmp, &seen, out);
		if (r != 0)
			return r;
	}
	return 0;
}

/* The request-target's bytes: visible ASCII, no space. */
static size_t
target_len(const char *t, size_t n)
{
	size_t i;

	for (i = 0; i < n && t[i] != ' '; i++)
		if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e)
			return (size_t)-1;
	return i;
}

/* "GET" SP request-target SP "HTTP/1." DIGIT; line is without CRLF. */
static int
parse_request_line(const char *l, size_t n, char *tmp, struct oa2_redirect *out)
{
	static const char vers[] = " HTTP/1.";
	size_t i, tlen;

	if (n < 4 || memcmp(l, "GET ", 4) != 0)
		return OA2_ERR_PARSE;
	if ((tlen = target_len(l + 4, n - 4)) == (size_t)-1)
		return OA2_ERR_PARSE;
	i = 4 + tlen;
	if (n - i != sizeof(vers) || memcmp(l + i, vers, sizeof(vers) - 1) ||
	    l[n - 1] < '0' || l[n - 1] > '9')
		return OA2_ERR_PARSE;
	return parse_target(l + 4, tlen, tmp, out);
}

/* field-name ":" field-value; the values are not needed, only checked. */
static int
check_header(const char *l, size_t n)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	size_t i;
	unsigned char c;

	for (i = 0; i < n && l[i] != ':'; i++) {
		c = (unsigned char)l[i];
		if (c == 0 ||
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || strchr(tchar, c) != NULL))
			return OA2_ERR_PARSE; /* also obs-fold, bare CR */
	}
	if (i == 0 || i == n)
		return OA2_ERR_PARSE;
	for (i++; i < n; i++) {
		c = (unsigned char)l[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return OA2_ERR_PARSE;
	}
	return 0;
}

static const char *
find_crlf(const char *p, const char *end, int twice)
{
	size_t need = twice ? 4 : 2;

	for (; (size_t)(end - p) >= need; p++)
		if (memcmp(p, "\r\n\r\n", need) == 0)
			return p;
	return NULL;
}

/* NUL bytes and bare LFs are refused wherever they are, even before the
 * request is complete, so garbage is turned away at once. */
static int
check_bytes(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] == '\0' ||
		    (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')))
			return OA2_ERR_PARSE;
	return 0;
}

int
oa2_redirect_parse(const char *data, size_t len, struct oa2_redirect *out)
{
	char tmp[OA2_REDIRECT_REQ_MAX];
	const char *end, *line, *eol;
	size_t n;
	int r;

	redirect_clear(out);
	if (len > OA2_REDIRECT_REQ_MAX)
		return OA2_ERR_TOOBIG;
	if (len == 0)
		return 1;
	/* What follows the blank line is not ours to judge. */
	end = find_crlf(data, data + len, 1);
	n = end != NULL ? (size_t)(end - data) + 4 : len;
	if (check_bytes(data, n) != 0 ||
	    memcmp(data, "GET ", n < 4 ? n : 4) != 0)
		return OA2_ERR_PARSE;
	if (end == NULL)
		return len < OA2_REDIRECT_REQ_MAX ? 1 : OA2_ERR_TOOBIG;
	end += 2; /* the last header's CRLF belongs to it */
	eol = find_crlf(data, end, 0);
	if ((r = parse_request_line(data, (size_t)(eol - data), tmp, out)) != 0)
		goto out;
	for (line = eol + 2; line < end; line = eol + 2) {
		eol = find_crlf(line, end, 0);
		if ((r = check_header(line, (size_t)(eol - line))) != 0)
			goto out;
	}
out:
	explicit_bzero(tmp, sizeof(tmp));
	if (r != 0)
		redirect_clear(out);
	return r;
}

/* Case-insensitive ASCII prefix test. */
static int
has_prefix_ci(const char *p, size_t n, const char *prefix, size_t plen)
{
	size_t i;
	char a, b;

	if (n < plen)
		return 0;
	for (i = 0; i < plen; i++) {
		a = p[i];
		b = prefix[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return 0;
	}
	return 1;
}

/* line starts with prefix (ASCII case ignored), then "/", "?" or its end:
 * under the origin prefix names, not under a longer port or host. */
static int
under(const char *line, size_t len, const char *prefix, size_t plen)
{
	return has_prefix_ci(line, len, prefix, plen) &&
	    (len == plen || line[plen] == '/' || line[plen] == '?');
}

/* What a code copied out of an address bar may hold: RFC 3986 unreserved,
 * "/" (Google's "4/0A..."), and what stays of escapes and padding.  Anything
 * else (a space, ":", "&", "?", "#") is not a code. */
static int
is_bare_code(const char *p, size_t n)
{
	static const char extra[] = "-._~/%=+";
	size_t i;
	char c;

	if (n < OA2_PASTED_CODE_MIN)
		return 0;
	for (i = 0; i < n; i++) {
		c = p[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') ||
			(c != '\0' && strchr(extra, c) != NULL)))
			return 0;
	}
	return 1;
}

int
oa2_redirect_parse_pasted(const char *line, size_t len,
    const char *redirect_uri, struct oa2_redirect *out, int *bare)
{
	char tmp[OA2_REDIRECT_REQ_MAX], target[OA2_REDIRECT_REQ_MAX];
	const char *scheme_end, *path, *rest, *authority;
	size_t olen, alen, plen, n, tlen;
	int r;

	redirect_clear(out);
	*bare = 0;
	/* Whatever the terminal or the clipboard added around it. */
	while (len > 0 && (line[0] == ' ' || line[0] == '\t'))
		line++, len--;
	while (len > 0 &&
	    (line[len - 1] == ' ' || line[len - 1] == '\t' ||
		line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (len == 0)
		return 1;
	if (len >= OA2_REDIRECT_REQ_MAX)
		return OA2_ERR_TOOBIG;
	/* The redirect URI we sent splits into its origin and its path. */
	if ((scheme_end = strstr(redirect_uri, "://")) == NULL)
		return OA2_ERR_INVAL;
	path = strchr(scheme_end + 3, '/');
	olen =
	    path != NULL ? (size_t)(path - redirect_uri) : strlen(redirect_uri);
	if (path == NULL)
		path = "/";
	plen = strlen(path);
	if (plen + 6 >= sizeof(target))
		return OA2_ERR_INVAL;
	/* Ours only: the same origin, port and all, then the path or the
	 * query; the provider's own pages are not.  A browser shows the
	 * address without its scheme, so a partial copy may start with host
	 * and port. */
	authority = scheme_end + 3;
	alen = olen - (size_t)(authority - redirect_uri);
	rest = NULL;
	if (under(line, len, authority, alen)) {
		rest = line + alen;
		n = len - alen;
	} else if (has_prefix_ci(line, len, "http://", 7) ||
	    has_prefix_ci(line, len, "https://", 8)) {
		if (!under(line, len, redirect_uri, olen))
			return OA2_ERR_NOTFOUND;
		rest = line + olen;
		n = len - olen;
	}
	if (rest != NULL) {
		/* "http://localhost:PORT?code=..." is the path "/". */
		tlen = 0;
		if (n == 0 || rest[0] == '?')
			target[tlen++] = '/';
		memcpy(target + tlen, rest, n);
		tlen += n;
	} else {
		/* The code alone, as the address showed it: parsed as the
		 * query "code=..." of our path, by the same parser. */
		if (!is_bare_code(line, len))
			return OA2_ERR_PARSE;
		memcpy(target, path, plen);
		memcpy(target + plen, "?code=", 6);
		tlen = plen + 6;
		if (tlen + len > sizeof(target)) {
			r = OA2_ERR_TOOBIG;
			goto out;
		}
		memcpy(target + tlen, line, len);
		tlen += len;
		*bare = 1;
	}
	if (target_len(target, tlen) != tlen)
		r = OA2_ERR_PARSE; /* a space, a control, 8-bit */
	else
		r = parse_target(target, tlen, tmp, out);
out:
	explicit_bzero(tmp, sizeof(tmp));
	explicit_bzero(target, sizeof(target));
	if (r != 0) {
		redirect_clear(out);
		*bare = 0;
	}
	return r;
}
