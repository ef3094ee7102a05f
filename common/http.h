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
/* A Retry-After value as oa2_retry_after_clean leaves it, with its NUL. */
#define OA2_RETRY_AFTER_MAX 48
/* A proxy as oa2_http_proxy_for describes it, with its NUL. */
#define OA2_PROXY_DESC_MAX 1200

struct oa2_http {
	const char *ca_file; /* NULL: the system bundle */
	/* The account's proxy key (oa2_proxy_check passed it), or NULL:
	 * libcurl's https_proxy, all_proxy and no_proxy of the environment,
	 * loopback exempt unless no_proxy says otherwise. */
	const char *proxy;
	/* With proxy: the hosts that bypass it (CURLOPT_NOPROXY syntax);
	 * NULL: none, the administrator asked for this proxy. */
	const char *no_proxy;
	long connect_timeout_ms; /* 0: default 10 s */
	long timeout_ms;	 /* 0: default 30 s */
	/* client_secret_basic: form-urlencoded into the Authorization
	 * header (RFC 6749 2.3.1); NULL for none. */
	const char *basic_user;
	const char *basic_pass;
	/* NULL, or OA2_RETRY_AFTER_MAX bytes that get the answer's
	 * Retry-After (oa2_retry_after_clean), "" when it had none or an
	 * unusable one (like CURLOPT_ERRORBUFFER: an output in the options). */
	char *retry_after;
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

/* A Retry-After header value (RFC 9110 10.2.3) fit to quote to the user:
 * delay-seconds as a plain decimal number of at most 9 digits ("120"), or
 * an HTTP-date as sent, if it is one, short and of letters, digits, space,
 * ',', ':' and '-' only.  0 with the value in out; OA2_ERR_PARSE with out
 * "" for anything else.  The value is the server's and untrusted. */
int oa2_retry_after_clean(const char *value, char *out, size_t outsz);

/* How long one request may take, in ms: SASL_OAUTH2_HTTP_TIMEOUT seconds
 * (1 to 300) or 30 s; a struct oa2_http's timeout_ms overrides it. */
long oa2_http_timeout_ms(void);

/* The proxy a request to url goes through, for the user: "PROXY (the
 * account's proxy key)" or "PROXY (https_proxy)", "" for none.  The
 * environment's no_proxy is matched by name as libcurl does (not its
 * CIDR ranges).  0, or the request's own refusal of the environment's
 * proxy (OA2_ERR_CONFIG), out "". */
int oa2_http_proxy_for(
    const struct oa2_http *h, const char *url, char *out, size_t outsz);

/* 0 if url is https, or http to a loopback address. */
int oa2_url_allowed(const char *url, char *err, size_t errsz);

#endif
