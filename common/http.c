/*
 * http.c: POST forms to identity providers over libcurl.
 *
 * Policy: https with certificate and host verification, or plain http
 * only to a loopback address (local test servers, RFC 8252); no
 * redirects; a connect timeout and a total timeout on every request; the
 * response body capped at OA2_HTTP_BODY_MAX.  CURLOPT_VERBOSE is never set:
 * it would print the Authorization header and the form.
 *
 * Proxies: the account's proxy key, else libcurl's reading of https_proxy,
 * all_proxy and no_proxy (loopback exempt when no_proxy is unset).  Every
 * request through an HTTP proxy is a CONNECT tunnel (RFC 9110 9.3.6), also
 * for plain http to a loopback test server: a proxy sees host and port,
 * never a form, a secret or a token.  Proxy credentials are refused, in the
 * key and in the environment: libcurl would send them to an http proxy in
 * the clear, and the configuration file is not a secret file.
 *
 * TRUST: the response body is untrusted (a proxy's refusal too: only its
 * status code is read); it is only collected here, capped.
 * Of the headers only Retry-After is read, and only a number or a date
 * leaves this file (oa2_retry_after_clean).
 * SECRETS: client secrets, codes and refresh tokens travel in the form and
 * the Authorization header; both are built in wiping buffers.  libcurl keeps
 * its own copies of the header list, which it frees without wiping: the
 * helper is short-lived and not dumpable.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "base64.h"
#include "err.h"
#include "http.h"
#include "sysutil.h"

/* At the first request, not at start: a cache hit never makes one, and
 * libcurl's initialisation (OpenSSL's) is most of the helper's own work. */
static int
global_init(void)
{
	static int done;

	if (!done && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return OA2_ERR_NOMEM;
	done = 1;
	return 0;
}

/* application/x-www-form-urlencoded, RFC 6749 appendix B. */
static int
form_escape(struct oa2_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3];
	int r = 0;

	for (; *s != '\0' && r == 0; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			r = oa2_buf_appendc(out, (char)c);
		} else if (c == ' ') {
			r = oa2_buf_appendc(out, '+');
		} else {
			e[0] = '%';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			r = oa2_buf_append(out, e, 3);
		}
	}
	return r;
}

int
oa2_form_add(struct oa2_buf *form, const char *name, const char *value)
{
	int r;

	if (form->len > 0 && (r = oa2_buf_appendc(form, '&')) != 0)
		return r;
	if ((r = form_escape(form, name)) != 0 ||
	    (r = oa2_buf_appendc(form, '=')) != 0 ||
	    (r = form_escape(form, value)) != 0)
		return r;
	return 0;
}

static int
host_is_loopback(const char *host)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;
	size_t n = strlen(host);

	/* libcurl (7.78 and later) answers "localhost" itself with a
	 * loopback address, never through DNS. */
	if (strcmp(host, "localhost") == 0)
		return 1;
	/* An address, not a name that merely starts like one
	 * ("127.0.0.1.example.net" is anywhere DNS says). */
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127; /* 127.0.0.0/8 */
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' &&
	    n - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		host = buf;
	}
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

int
oa2_url_allowed(const char *url, char *err, size_t errsz)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int r = 0;

	if (u == NULL)
		return OA2_ERR_NOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errsz, "'%s' is not a valid URL", url);
		r = OA2_ERR_INVAL;
	} else if (strcmp(scheme, "https") != 0 &&
	    !(strcmp(scheme, "http") == 0 && host_is_loopback(host))) {
		snprintf(err, errsz,
		    "refusing '%s': identity provider URLs must use https "
		    "(plain http only to 127.0.0.1 or ::1)",
		    url);
		r = OA2_ERR_INVAL;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return r;
}

/* The proxy variable libcurl reads for scheme, in its order: scheme_proxy
 * (never HTTP_PROXY, which a CGI program gets from a request's "Proxy:"
 * header), SCHEME_PROXY, all_proxy, ALL_PROXY.  NULL when none is set. */
static const char *
env_proxy(const char *scheme, const char **name)
{
	static const char *const https_names[] = {
	    "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", NULL};
	static const char *const http_names[] = {
	    "http_proxy", "all_proxy", "ALL_PROXY", NULL};
	const char *const *n =
	    strcmp(scheme, "https") == 0 ? https_names : http_names;
	const char *v;

	for (; *n != NULL; n++) {
		if ((v = getenv(*n)) != NULL && *v != '\0') {
			*name = *n;
			return v;
		}
	}
	return NULL;
}

/* Does a no_proxy list exempt host?  libcurl decides; this is its rule
 * for names and plain addresses ('*', the host, or a domain it is in),
 * used only to word an error. */
static int
noproxy_match(const char *list, const char *host)
{
	size_t hl = strlen(host);
	const char *p = list;

	while (*p != '\0') {
		size_t n;
		p += strspn(p, " ,");
		n = strcspn(p, " ,");
		if (n == 1 && *p == '*')
			return 1;
		if (n > 0 && *p == '.') {
			p++;
			n--;
		}
		if (n > 0 && n <= hl && strncasecmp(host + hl - n, p, n) == 0 &&
		    (n == hl || host[hl - n - 1] == '.'))
			return 1;
		p += n;
	}
	return 0;
}

static const char loopback_exempt[] = "localhost,127.0.0.1,::1";

struct via {
	const char *proxy; /* NULL: none */
	const char *from;  /* "the proxy key", or the variable's name */
};

/*
 * Which proxy a request to url goes through (for the words of an error),
 * and whether the environment's may be used at all: a password in it is
 * refused, and so is one the plugin had to drop (SASL_OAUTH2_PROXY_DROPPED
 * names the host's variable).
 */
static int
proxy_for(const struct oa2_http *h, const char *url, struct via *via,
    int *env_noproxy, char *err, size_t errsz)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *bare;
	const char *name = NULL, *np, *dropped;
	size_t n;
	int r = 0;

	via->proxy = NULL;
	via->from = NULL;
	*env_noproxy = 0;
	if (u == NULL)
		return OA2_ERR_NOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out; /* oa2_url_allowed said so already */
	/* no_proxy names an IPv6 address without its brackets */
	n = strlen(host);
	bare = host;
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		bare = host + 1;
	}
	if (h->proxy != NULL) {
		if (h->no_proxy == NULL || !noproxy_match(h->no_proxy, bare)) {
			via->proxy = h->proxy;
			via->from = "the account's proxy key";
		}
		goto out;
	}
	if ((dropped = getenv("SASL_OAUTH2_PROXY_DROPPED")) != NULL &&
	    *dropped != '\0') {
		snprintf(err, errsz,
		    "the mail program's %.32s holds a proxy user name or "
		    "password, which is not passed to the helper; set the "
		    "account's proxy key to the proxy without them",
		    dropped);
		r = OA2_ERR_CONFIG;
		goto out;
	}
	if ((via->proxy = env_proxy(scheme, &name)) == NULL)
		goto out;
	via->from = name;
	if (oa2_proxy_has_userinfo(via->proxy)) {
		snprintf(err, errsz,
		    "%s holds a proxy user name or password, which "
		    "sasl-oauth2 does not take from the environment; unset "
		    "it and set the account's proxy key to the proxy without "
		    "them",
		    name);
		via->proxy = NULL;
		r = OA2_ERR_CONFIG;
		goto out;
	}
	np = getenv("no_proxy");
	if (np == NULL)
		np = getenv("NO_PROXY");
	*env_noproxy = np != NULL;
	if (noproxy_match(np != NULL ? np : loopback_exempt, bare))
		via->proxy = NULL;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return r;
}

int
oa2_http_proxy_for(
    const struct oa2_http *h, const char *url, char *out, size_t outsz)
{
	struct via via;
	char err[512];
	int env_noproxy, r;

	out[0] = '\0';
	if ((r = proxy_for(h, url, &via, &env_noproxy, err, sizeof(err))) != 0)
		return r;
	if (via.proxy != NULL)
		snprintf(out, outsz, "%s (%s)", via.proxy, via.from);
	return 0;
}

/* A failed request through a proxy, in words; 0 when the failure was
 * not the proxy's. */
static int
proxy_error(CURL *c, CURLcode cc, const struct via *via, const char *url,
    const char *cerr, char *err, size_t errsz)
{
	long code = 0;

	if (via->proxy == NULL)
		return 0;
	curl_easy_getinfo(c, CURLINFO_HTTP_CONNECTCODE, &code);
	if (code == 407) {
		snprintf(err, errsz,
		    "the proxy %s (%s) asks for a login (HTTP 407), which "
		    "sasl-oauth2 does not do; ask its administrator to let "
		    "this host through without one",
		    via->proxy, via->from);
		return OA2_ERR_CONFIG;
	}
	if (code >= 300 && code < 500) {
		snprintf(err, errsz,
		    "the proxy %s (%s) refused to connect to %s (HTTP %ld to "
		    "CONNECT); ask its administrator to allow that host and "
		    "port",
		    via->proxy, via->from, url, code);
		return OA2_ERR_CONFIG;
	}
	if (code >= 500) {
		snprintf(err, errsz,
		    "the proxy %s (%s) could not reach %s (HTTP %ld to "
		    "CONNECT); try again later",
		    via->proxy, via->from, url, code);
		return OA2_ERR_NETWORK;
	}
	if (cc == CURLE_COULDNT_RESOLVE_PROXY) {
		snprintf(err, errsz,
		    "cannot resolve the proxy %s (%s): %s; check its host "
		    "name",
		    via->proxy, via->from, cerr);
		return OA2_ERR_NETWORK;
	}
	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_PROXY) {
		snprintf(err, errsz,
		    "cannot reach %s through the proxy %s (%s): %s; check "
		    "that the proxy runs and is the right one",
		    url, via->proxy, via->from, cerr);
		return OA2_ERR_NETWORK;
	}
	return 0;
}

/* HTTP-dates are 29 (IMF-fixdate) to 30 (RFC 850) characters long. */
#define RETRY_DATE_MAX 40

int
oa2_retry_after_clean(const char *value, char *out, size_t outsz)
{
	const char *s = value, *e;
	char date[RETRY_DATE_MAX + 1];
	long secs = 0;
	size_t n, i;

	if (outsz > 0)
		out[0] = '\0';
	if (value == NULL || outsz == 0)
		return OA2_ERR_PARSE;
	while (*s == ' ' || *s == '\t')
		s++;
	for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t');)
		e--;
	n = (size_t)(e - s);
	if (n == 0)
		return OA2_ERR_PARSE;
	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (i == n) {
		/* delay-seconds; leading zeros do not count towards the cap */
		while (n > 1 && *s == '0') {
			s++;
			n--;
		}
		if (n > 9)
			return OA2_ERR_PARSE;
		for (i = 0; i < n; i++)
			secs = secs * 10 + (s[i] - '0');
		if ((size_t)snprintf(out, outsz, "%ld", secs) >= outsz) {
			out[0] = '\0';
			return OA2_ERR_PARSE;
		}
		return 0;
	}
	if (n > RETRY_DATE_MAX || n >= outsz)
		return OA2_ERR_PARSE;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == ' ' || c == ',' ||
			c == ':' || c == '-'))
			return OA2_ERR_PARSE;
	}
	memcpy(date, s, n);
	date[n] = '\0';
	if (curl_getdate(date, NULL) == -1)
		return OA2_ERR_PARSE;
	memcpy(out, date, n + 1);
	return 0;
}

/* The answer's first Retry-After into h->retry_after, if asked for. */
static void
get_retry_after(const struct oa2_http *h, CURL *c)
{
	struct curl_header *hh;

	if (h->retry_after == NULL)
		return;
	if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &hh) ==
	    CURLHE_OK)
		(void)oa2_retry_after_clean(
		    hh->value, h->retry_after, OA2_RETRY_AFTER_MAX);
}

struct sink {
	struct oa2_buf *body;
	int overflow;
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (oa2_buf_append(s->body, p, n) != 0) {
		s->overflow = 1;
		return 0; /* abort the transfer */
	}
	return n;
}

static int
basic_header(const struct oa2_http *h, struct oa2_buf *hdr)
{
	struct oa2_buf cred;
	int r;

	oa2_buf_init(&cred, 8192);
	if ((r = form_escape(&cred, h->basic_user)) != 0 ||
	    (r = oa2_buf_appendc(&cred, ':')) != 0 ||
	    (r = form_escape(&cred, h->basic_pass)) != 0 ||
	    (r = oa2_buf_appendz(hdr, "Authorization: Basic ")) != 0 ||
	    (r = oa2_b64_encode(cred.data, cred.len, OA2_B64_STD, hdr)) != 0)
		goto out;
out:
	oa2_buf_free(&cred);
	return r;
}

/*
 * SASL_OAUTH2_HTTP_TIMEOUT: seconds a whole request may take (1 to 300;
 * default 30), the connect phase at most 10 of them.  For callers with a
 * shorter deadline of their own (the plugin's helper timeout) and tests.
 */
long
oa2_http_timeout_ms(void)
{
	const char *v = getenv("SASL_OAUTH2_HTTP_TIMEOUT");
	char *end;
	long s;

	if (v != NULL && *v != '\0') {
		s = strtol(v, &end, 10);
		if (*end == '\0' && s >= 1 && s <= 300)
			return s * 1000;
	}
	return 30000L;
}

static long
total_timeout_ms(const struct oa2_http *h)
{
	return h->timeout_ms > 0 ? h->timeout_ms : oa2_http_timeout_ms();
}

/* One request: a POST of form, or a GET when form is NULL. */
static int
request(const struct oa2_http *h, const char *url, const struct oa2_buf *form,
    long *status, struct oa2_buf *body, char *err, size_t errsz)
{
	char cerr[CURL_ERROR_SIZE];
	struct curl_slist *hdrs = NULL, *n;
	struct oa2_buf auth;
	struct sink sink = {body, 0};
	CURL *c = NULL;
	CURLcode cc;
	struct via via = {NULL, NULL};
	long total_ms;
	int r, env_noproxy = 0;

	*status = 0;
	if (h->retry_after != NULL)
		h->retry_after[0] = '\0';
	oa2_buf_reset(body);
	oa2_buf_init(&auth, 16384);
	cerr[0] = '\0';
	if ((r = oa2_url_allowed(url, err, errsz)) != 0 ||
	    (r = global_init()) != 0 ||
	    (r = proxy_for(h, url, &via, &env_noproxy, err, errsz)) != 0)
		goto out;
	if ((c = curl_easy_init()) == NULL) {
		r = OA2_ERR_NOMEM;
		goto out;
	}
	n = curl_slist_append(hdrs, "Accept: application/json");
	if (n == NULL) {
		r = OA2_ERR_NOMEM;
		goto out;
	}
	hdrs = n;
	if (h->basic_user != NULL && h->basic_pass != NULL) {
		if ((r = basic_header(h, &auth)) != 0)
			goto out;
		if ((n = curl_slist_append(hdrs, auth.data)) == NULL) {
			r = OA2_ERR_NOMEM;
			goto out;
		}
		hdrs = n;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (h->proxy != NULL) {
		/* The administrator's proxy: nothing bypasses it unless
		 * the account says so; the environment has no say. */
		curl_easy_setopt(c, CURLOPT_PROXY, h->proxy);
		curl_easy_setopt(
		    c, CURLOPT_NOPROXY, h->no_proxy != NULL ? h->no_proxy : "");
	} else if (!env_noproxy) {
		/* libcurl reads no_proxy itself when it is set. */
		curl_easy_setopt(c, CURLOPT_NOPROXY, loopback_exempt);
	}
	curl_easy_setopt(c, CURLOPT_HTTPPROXYTUNNEL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	total_ms = total_timeout_ms(h);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    h->connect_timeout_ms > 0 ? h->connect_timeout_ms
		: total_ms < 10000L   ? total_ms
				      : 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms);
	curl_easy_setopt(
	    c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)OA2_HTTP_BODY_MAX);
	curl_easy_setopt(
	    c, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (form != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, oa2_buf_str(form));
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)form->len);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);

	cc = curl_easy_perform(c);
	if (sink.overflow || cc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(err, errsz,
		    "the answer from %s is larger than %d bytes", url,
		    OA2_HTTP_BODY_MAX);
		r = OA2_ERR_TOOBIG;
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, errsz, "no answer from %s%s%s in time (%s)", url,
		    via.proxy != NULL ? " through the proxy " : "",
		    via.proxy != NULL ? via.proxy : "",
		    cerr[0] ? cerr : curl_easy_strerror(cc));
		r = OA2_ERR_TIMEOUT;
	} else if (cc != CURLE_OK) {
		r = proxy_error(c, cc, &via, url,
		    cerr[0] ? cerr : curl_easy_strerror(cc), err, errsz);
		if (r == 0) {
			snprintf(err, errsz, "cannot reach %s: %s", url,
			    cerr[0] ? cerr : curl_easy_strerror(cc));
			r = OA2_ERR_NETWORK;
		}
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		get_retry_after(h, c);
		r = 0;
	}
out:
	if (c != NULL)
		curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	oa2_buf_free(&auth);
	return r;
}

int
oa2_http_post(const struct oa2_http *h, const char *url,
    const struct oa2_buf *form, long *status, struct oa2_buf *body, char *err,
    size_t errsz)
{
	return request(h, url, form, status, body, err, errsz);
}

int
oa2_http_get(const struct oa2_http *h, const char *url, long *status,
    struct oa2_buf *body, char *err, size_t errsz)
{
	return request(h, url, NULL, status, body, err, errsz);
}
