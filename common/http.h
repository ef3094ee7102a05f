/*
 * http.h: the one place that speaks HTTP (libcurl).  POST a form to an
 * identity provider and return status and body, with TLS verified, plain
 * http only to loopback, no redirects, timeouts and a body size cap.
 */
#ifndef OA2_HTTP_H
#define OA2_HTTP_H

#include <stddef.h>

#include "buf.h"

#define OA2_HTTP_BODY_MAX (256 * 1024)

struct oa2_http {
	const char *ca_file;	 /* NULL: the system bundle */
	long connect_timeout_ms; /* 0: default 10 s */
	long timeout_ms;	 /* 0: default 30 s */
	/* client_secret_basic: form-urlencoded into the Authorization
	 * header (RFC 6749 2.3.1); NULL for none. */
	const char *basic_user;
	const char *basic_pass;
};

/* A form body under construction: name=value&... with escaping.  Wipes. */
int oa2_form_add(struct oa2_buf *form, const char *name, const char *value);

/* 0 when an HTTP response arrived (any status); otherwise OA2_ERR_NETWORK,
 * OA2_ERR_TIMEOUT, OA2_ERR_TOOBIG or OA2_ERR_INVAL with a sentence in err. */
int oa2_http_post(const struct oa2_http *h, const char *url,
    const struct oa2_buf *form, long *status, struct oa2_buf *body, char *err,
    size_t errsz);

/* GET url (discovery documents); same policy and result codes. */
int oa2_http_get(const struct oa2_http *h, const char *url, long *status,
    struct oa2_buf *body, char *err, size_t errsz);

/* 0 if url is https, or http to a loopback address. */
int oa2_url_allowed(const char *url, char *err, size_t errsz);

#endif
