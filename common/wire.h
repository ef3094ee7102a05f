/*
 * wire.h: the SASL messages of XOAUTH2 and OAUTHBEARER (RFC 7628), the
 * server's error challenge, and the token syntax both ends agree on.
 */
#ifndef OA2_WIRE_H
#define OA2_WIRE_H

#include <stddef.h>

#include "buf.h"

/* Caps on what we build and what we accept. */
#define OA2_TOKEN_MAX 16384    /* access token, bytes */
#define OA2_MAILBOX_MAX 320    /* RFC 5321 path limit plus slack */
#define OA2_CHALLENGE_MAX 4096 /* server error challenge, bytes */
#define OA2_RESPONSE_MAX (OA2_TOKEN_MAX + 1024)

/* 0 if p[0..n) is an access token we send and print: RFC 6750 2.1's
 * b64token (letters, digits, "-._~+/", then any "="), at most
 * OA2_TOKEN_MAX bytes; else OA2_ERR_PARSE.  Nothing in it needs quoting in
 * a SASL message, a header or JSON. */
int oa2_token_check(const char *p, size_t n);

/* 0 if p[0..n) is an opaque credential we keep but never send as a bearer
 * token (a refresh token, RFC 6749 A.17; a device code, RFC 8628): visible
 * ASCII, no space, at most OA2_TOKEN_MAX bytes; else OA2_ERR_PARSE. */
int oa2_opaque_check(const char *p, size_t n);

/* Append s[0..n) to out as the inside of a JSON string (RFC 8259 7):
 * '"', '\\' and control characters escaped; other bytes as they are. */
int oa2_json_escape(struct oa2_buf *out, const char *s, size_t n);

/* 0 if s can be sent as a mailbox/authzid (no controls, bounded). */
int oa2_mailbox_check(const char *s);

/* user=<user>^Aauth=Bearer <token>^A^A */
int oa2_xoauth2_build(
    const char *user, const char *token, size_t token_len, struct oa2_buf *out);

/* n,a=<authzid>,^Ahost=<host>^Aport=<port>^Aauth=Bearer <token>^A^A
 * authzid, host may be NULL; port 0 means "not sent". */
int oa2_oauthbearer_build(const char *authzid, const char *host, unsigned port,
    const char *token, size_t token_len, struct oa2_buf *out);

/* RFC 5801 saslname escaping: ',' -> "=2C", '=' -> "=3D". */
int oa2_gs2_escape(const char *s, struct oa2_buf *out);

/* The fields of a server error challenge, made printable for a log. */
struct oa2_challenge {
	char status[64];
	char scope[256];
	char schemes[64];
	char openid_configuration[256];
};

/* Parse the JSON error object a server sends before failing the exchange.
 * data is raw (already base64-decoded) and untrusted.  Unknown members are
 * ignored; the output is zeroed first and always holds valid C strings. */
int oa2_challenge_parse(
    const char *data, size_t len, struct oa2_challenge *out);

/* Copy at most dstsz-1 bytes of src[0..n) into dst, tabs and line breaks
 * as spaces (a line stays one line), anything else that is not printable
 * ASCII as '?'.  Always NUL-terminates. */
void oa2_printable(char *dst, size_t dstsz, const char *src, size_t n);

/* The helper's stdout as the plugin reads it: exactly one token and an
 * optional line end.  On success token holds the token (cleared first). */
int oa2_helper_output_parse(
    const char *data, size_t len, struct oa2_buf *token);

#endif
