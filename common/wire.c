/*
 * wire.c: build the client messages of XOAUTH2 and OAUTHBEARER and parse the
 * server's error challenge.
 *
 * TRUST: the challenge comes from the mail server and is untrusted: it is
 * size-capped, parsed with pointer and length, and only printable copies of
 * three short fields leave this file.
 * SECRETS: the token passes through the builders into the caller's buffer,
 * which wipes itself on free.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "wire.h"

int
oa2_token_check(const char *p, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > OA2_TOKEN_MAX)
		return OA2_ERR_PARSE;
	for (; i < n && p[i] != '='; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') ||
			(p[i] >= 'a' && p[i] <= 'z') ||
			(p[i] >= '0' && p[i] <= '9') ||
			strchr("-._~+/", p[i]) != NULL) ||
		    p[i] == '\0')
			return OA2_ERR_PARSE;
	if (i == 0)
		return OA2_ERR_PARSE;
	for (; i < n; i++)
		if (p[i] != '=')
			return OA2_ERR_PARSE;
	return 0;
}

int
oa2_opaque_check(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > OA2_TOKEN_MAX)
		return OA2_ERR_PARSE;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return OA2_ERR_PARSE;
	return 0;
}

int
oa2_json_escape(struct oa2_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			if ((r = oa2_buf_appendc(out, '\\')) == 0)
				r = oa2_buf_appendc(out, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			char u[7] = {'\\', 'u', '0', '0', hex[c >> 4],
			    hex[c & 15], '\0'};
			r = oa2_buf_appendz(out, u);
		} else {
			r = oa2_buf_appendc(out, (char)c);
		}
	}
	return r;
}

int
oa2_mailbox_check(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > OA2_MAILBOX_MAX)
		return OA2_ERR_INVAL;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] == 0x7f)
			return OA2_ERR_INVAL;
	return 0;
}

int
oa2_xoauth2_build(
    const char *user, const char *token, size_t token_len, struct oa2_buf *out)
{
	int r;

	if (oa2_mailbox_check(user) != 0 ||
	    oa2_token_check(token, token_len) != 0)
		return OA2_ERR_INVAL;
	if ((r = oa2_buf_appendz(out, "user=")) != 0 ||
	    (r = oa2_buf_appendz(out, user)) != 0 ||
	    (r = oa2_buf_appendz(out, "\001auth=Bearer ")) != 0 ||
	    (r = oa2_buf_append(out, token, token_len)) != 0 ||
	    (r = oa2_buf_appendz(out, "\001\001")) != 0)
		return r;
	return 0;
}

int
oa2_gs2_escape(const char *s, struct oa2_buf *out)
{
	int r = 0;

	for (; *s != '\0' && r == 0; s++) {
		if (*s == ',')
			r = oa2_buf_appendz(out, "=2C");
		else if (*s == '=')
			r = oa2_buf_appendz(out, "=3D");
		else
			r = oa2_buf_appendc(out, *s);
	}
	return r;
}

static int
host_check(const char *h)
{
	size_t i, n = strlen(h);

	if (n == 0 || n > 255)
		return OA2_ERR_INVAL;
	for (i = 0; i < n; i++)
		if ((unsigned char)h[i] < 0x21 || (unsigned char)h[i] > 0x7e)
			return OA2_ERR_INVAL;
	return 0;
}

int
oa2_oauthbearer_build(const char *authzid, const char *host, unsigned port,
    const char *token, size_t token_len, struct oa2_buf *out)
{
	char pbuf[16];
	int r;

	if ((authzid != NULL && oa2_mailbox_check(authzid) != 0) ||
	    (host != NULL && host_check(host) != 0) || port > 65535 ||
	    oa2_token_check(token, token_len) != 0)
		return OA2_ERR_INVAL;
	if ((r = oa2_buf_appendz(out, "n,")) != 0)
		return r;
	if (authzid != NULL &&
	    ((r = oa2_buf_appendz(out, "a=")) != 0 ||
		(r = oa2_gs2_escape(authzid, out)) != 0))
		return r;
	if ((r = oa2_buf_appendz(out, ",\001")) != 0)
		return r;
	if (host != NULL &&
	    ((r = oa2_buf_appendz(out, "host=")) != 0 ||
		(r = oa2_buf_appendz(out, host)) != 0 ||
		(r = oa2_buf_appendc(out, '\001')) != 0))
		return r;
	if (port != 0) {
		snprintf(pbuf, sizeof(pbuf), "port=%u\001", port);
		if ((r = oa2_buf_appendz(out, pbuf)) != 0)
			return r;
	}
	if ((r = oa2_buf_appendz(out, "auth=Bearer ")) != 0 ||
	    (r = oa2_buf_append(out, token, token_len)) != 0 ||
	    (r = oa2_buf_appendz(out, "\001\001")) != 0)
		return r;
	return 0;
}

void
oa2_printable(char *dst, size_t dstsz, const char *src, size_t n)
{
	size_t i;

	if (dstsz == 0)
		return;
	for (i = 0; i < n && i + 1 < dstsz; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' '; /* a description's line breaks */
		dst[i] = (c >= 0x20 && c <= 0x7e) ? (char)c : '?';
	}
	dst[i] = '\0';
}

/*
 * A scanner for one flat JSON object whose values are strings, numbers,
 * booleans or null.  Enough for RFC 7628's error object; nested values are
 * rejected rather than half-understood.
 */
struct scan {
	const char *p;
	const char *end;
};

static void
skip_ws(struct scan *s)
{
	while (s->p < s->end &&
	    (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
		s->p++;
}

/* Reads a JSON string into dst (printable, truncated); escapes other than
 * simple ones become '?'. */
static int
scan_string(struct scan *s, char *dst, size_t dstsz)
{
	size_t o = 0;
	char c;

	if (s->p >= s->end || *s->p != '"')
		return OA2_ERR_PARSE;
	s->p++;
	while (s->p < s->end) {
		c = *s->p++;
		if (c == '"') {
			if (dstsz > 0)
				dst[o] = '\0';
			return 0;
		}
		if ((unsigned char)c < 0x20)
			return OA2_ERR_PARSE;
		if (c == '\\') {
			if (s->p >= s->end)
				return OA2_ERR_PARSE;
			c = *s->p++;
			switch (c) {
			case '"':
			case '\\':
			case '/':
				break;
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				c = '?';
				break;
			case 'u':
				if (s->end - s->p < 4)
					return OA2_ERR_PARSE;
				s->p += 4;
				c = '?';
				break;
			default:
				return OA2_ERR_PARSE;
			}
		}
		if ((unsigned char)c > 0x7e)
			c = '?';
		if (o + 1 < dstsz)
			dst[o++] = c;
	}
	return OA2_ERR_PARSE;
}

static int
scan_scalar(struct scan *s, char *dst, size_t dstsz)
{
	const char *start = s->p;

	if (s->p < s->end && *s->p == '"')
		return scan_string(s, dst, dstsz);
	while (s->p < s->end &&
	    ((*s->p >= '0' && *s->p <= '9') || (*s->p >= 'a' && *s->p <= 'z') ||
		*s->p == '-' || *s->p == '+' || *s->p == '.' || *s->p == 'E'))
		s->p++;
	if (s->p == start)
		return OA2_ERR_PARSE; /* objects, arrays, garbage */
	oa2_printable(dst, dstsz, start, (size_t)(s->p - start));
	return 0;
}

int
oa2_challenge_parse(const char *data, size_t len, struct oa2_challenge *out)
{
	struct scan s;
	char key[32], scratch[2];
	char *dst;
	size_t dstsz;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > OA2_CHALLENGE_MAX)
		return OA2_ERR_TOOBIG;
	s.p = data;
	s.end = data + len;
	skip_ws(&s);
	if (s.p >= s.end || *s.p++ != '{')
		return OA2_ERR_PARSE;
	skip_ws(&s);
	if (s.p < s.end && *s.p == '}') {
		s.p++;
		goto done;
	}
	for (;;) {
		skip_ws(&s);
		if ((r = scan_string(&s, key, sizeof(key))) != 0)
			return r;
		skip_ws(&s);
		if (s.p >= s.end || *s.p++ != ':')
			return OA2_ERR_PARSE;
		skip_ws(&s);
		if (strcmp(key, "status") == 0) {
			dst = out->status;
			dstsz = sizeof(out->status);
		} else if (strcmp(key, "scope") == 0) {
			dst = out->scope;
			dstsz = sizeof(out->scope);
		} else if (strcmp(key, "schemes") == 0) {
			dst = out->schemes;
			dstsz = sizeof(out->schemes);
		} else if (strcmp(key, "openid-configuration") == 0) {
			dst = out->openid_configuration;
			dstsz = sizeof(out->openid_configuration);
		} else {
			dst = scratch;
			dstsz = sizeof(scratch);
		}
		if ((r = scan_scalar(&s, dst, dstsz)) != 0)
			return r;
		skip_ws(&s);
		if (s.p >= s.end)
			return OA2_ERR_PARSE;
		if (*s.p == ',') {
			s.p++;
			continue;
		}
		if (*s.p++ != '}')
			return OA2_ERR_PARSE;
		break;
	}
done:
	skip_ws(&s);
	if (s.p != s.end)
		return OA2_ERR_PARSE;
	return 0;
}

int
oa2_helper_output_parse(const char *data, size_t len, struct oa2_buf *token)
{
	oa2_buf_reset(token);
	if (len > 0 && data[len - 1] == '\n')
		len--;
	if (len > 0 && data[len - 1] == '\r')
		len--;
	if (oa2_token_check(data, len) != 0)
		return OA2_ERR_PARSE;
	return oa2_buf_append(token, data, len);
}
