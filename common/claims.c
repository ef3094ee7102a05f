/*
 * claims.c: read an access token's JWT claims and hold them against what
 * Exchange Online (or any mail server) needs, for "sasl-oauth2 doctor".
 *
 * TRUST: the token comes from the provider; its payload is parsed with a
 * size cap (OA2_TOKEN_MAX) and a depth cap, and only the named claims are
 * copied out, made printable.
 * SECRETS: the token is a credential; its decoded payload lives in a
 * wiping buffer and the JSON tree is wiped on free (json.c).  The claims
 * kept (audience, permissions, user, tenant, expiry) are not secret.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "claims.h"
#include "err.h"
#include "json.h"

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* base64url without padding (RFC 7515 2), the JWT segment p[0..n). */
static int
b64url_decode(const char *p, size_t n, struct oa2_buf *out)
{
	unsigned long acc = 0;
	size_t i;
	int bits = 0, v, r;

	if (n % 4 == 1)
		return OA2_ERR_PARSE;
	for (i = 0; i < n; i++) {
		if ((v = b64url_value((unsigned char)p[i])) < 0)
			return OA2_ERR_PARSE;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if ((r = oa2_buf_appendc(
				 out, (char)((acc >> bits) & 0xff))) != 0)
				return r;
		}
	}
	return 0;
}

/* A string member, or the strings of an array member, space-separated,
 * printable, into dst. */
static void
claim_words(struct json_object *o, const char *key, char *dst, size_t dstsz)
{
	struct json_object *v, *e;
	struct oa2_buf b;
	size_t i, n;

	dst[0] = '\0';
	if (!json_object_object_get_ex(o, key, &v))
		return;
	oa2_buf_init(&b, 4096);
	if (json_object_is_type(v, json_type_string)) {
		oa2_buf_append(&b, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
	} else if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(v, i);
			if (!json_object_is_type(e, json_type_string))
				continue;
			if (b.len > 0)
				oa2_buf_appendc(&b, ' ');
			oa2_buf_append(&b, json_object_get_string(e),
			    (size_t)json_object_get_string_len(e));
		}
	}
	oa2_printable(dst, dstsz, oa2_buf_str(&b), b.len);
	oa2_buf_free(&b);
}

int
oa2_claims_parse(const char *tok, size_t len, struct oa2_claims *out)
{
	static const char *const user_claims[] = {
	    "upn", "preferred_username", "email", "unique_name"};
	struct json_object *o = NULL, *v;
	struct oa2_buf payload;
	const char *d1, *d2;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > OA2_TOKEN_MAX)
		return OA2_ERR_TOOBIG;
	/* header.payload.signature: exactly two dots */
	if ((d1 = memchr(tok, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL)
		return OA2_ERR_PARSE;
	oa2_buf_init(&payload, OA2_TOKEN_MAX);
	if ((r = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &payload)) != 0)
		goto out;
	o = oa2_json_parse(oa2_buf_str(&payload), payload.len, 8);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		r = OA2_ERR_PARSE;
		goto out;
	}
	claim_words(o, "aud", out->aud, sizeof(out->aud));
	claim_words(o, "scp", out->scp, sizeof(out->scp));
	claim_words(o, "roles", out->roles, sizeof(out->roles));
	claim_words(o, "tid", out->tid, sizeof(out->tid));
	claim_words(o, "appid", out->appid, sizeof(out->appid));
	if (out->appid[0] == '\0')
		claim_words(o, "azp", out->appid, sizeof(out->appid));
	for (i = 0; i < sizeof(user_claims) / sizeof(user_claims[0]); i++) {
		claim_words(o, user_claims[i], out->user, sizeof(out->user));
		if (out->user[0] != '\0') {
			snprintf(out->user_claim, sizeof(out->user_claim), "%s",
			    user_claims[i]);
			break;
		}
	}
	if (json_object_object_get_ex(o, "exp", &v) &&
	    (json_object_is_type(v, json_type_int) ||
		json_object_is_type(v, json_type_double)))
		out->exp = (long long)json_object_get_int64(v);
	r = 0;
out:
	oa2_json_free(o);
	oa2_buf_free(&payload);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

/* 1 if the space-separated list has word (case-insensitive, as Exchange
 * compares permission names), also as the last path segment of a URL
 * (https://outlook.office.com/SMTP.Send). */
static int
has_word(const char *list, const char *word)
{
	size_t wl = strlen(word), n;
	const char *p = list, *e, *s;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		e = p;
		while (*e != '\0' && *e != ' ')
			e++;
		n = (size_t)(e - p);
		for (s = e; s > p && s[-1] != '/'; s--)
			;
		if ((n == wl && strncasecmp(p, word, wl) == 0) ||
		    ((size_t)(e - s) == wl && strncasecmp(s, word, wl) == 0))
			return 1;
		p = e;
	}
	return 0;
}

static const char *const exchange_audiences[] = {"https://outlook.office.com",
    "https://outlook.office365.com", "00000002-0000-0ff1-ce00-000000000000"};
static const char *const graph_audiences[] = {
    "https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"};

static int
aud_in(const char *aud, const char *const *set, size_t n)
{
	char one[512];
	size_t i, k;
	const char *p = aud, *e;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		for (e = p; *e != '\0' && *e != ' '; e++)
			;
		k = (size_t)(e - p);
		if (k > 0 &&
		    p[k - 1] == '/') /* "https://outlook.office.com/" */
			k--;
		if (k < sizeof(one)) {
			memcpy(one, p, k);
			one[k] = '\0';
			for (i = 0; i < n; i++)
				if (strcasecmp(one, set[i]) == 0)
					return 1;
		}
		p = e;
	}
	return 0;
}

static struct oa2_finding *
add(struct oa2_finding *out, size_t max, size_t *n, const char *step,
    enum oa2_verdict v)
{
	struct oa2_finding *f;

	if (*n >= max)
		return NULL;
	f = &out[(*n)++];
	f->verdict = v;
	f->step = step;
	f->what[0] = '\0';
	return f;
}

#define SET(f, ...)                                                            \
	do {                                                                   \
		if ((f) != NULL)                                               \
			snprintf((f)->what, sizeof((f)->what), __VA_ARGS__);   \
	} while (0)

static void
check_audience(const struct oa2_claims *c, const struct oa2_claims_need *need,
    struct oa2_finding *out, size_t max, size_t *n)
{
	struct oa2_finding *f;
	const char *tenant = c->tid[0] != '\0' ? c->tid : "not named";

	if (!need->microsoft) {
		if (c->aud[0] != '\0') {
			f = add(out, max, n, "audience", OA2_OK_V);
			SET(f, "%s", c->aud);
		}
		return;
	}
	if (aud_in(c->aud, exchange_audiences,
		sizeof(exchange_audiences) / sizeof(exchange_audiences[0]))) {
		f = add(out, max, n, "audience", OA2_OK_V);
		SET(f, "%s (Exchange Online), tenant %s", c->aud, tenant);
	} else if (aud_in(c->aud, graph_audiences,
		       sizeof(graph_audiences) / sizeof(graph_audiences[0]))) {
		f = add(out, max, n, "audience", OA2_FAIL_V);
		SET(f,
		    "%s is Microsoft Graph, which Exchange's IMAP and SMTP "
		    "refuse (535 5.7.3, AUTHENTICATE failed); set scope to "
		    "%s, then get a new token%s",
		    c->aud,
		    need->app_only ? "https://outlook.office365.com/.default"
				   : "https://outlook.office.com/SMTP.Send "
				     "https://outlook.office.com/"
				     "IMAP.AccessAsUser.All offline_access",
		    need->app_only ? "" : " (sasl-oauth2 login)");
	} else if (c->aud[0] == '\0') {
		f = add(out, max, n, "audience", OA2_WARN_V);
		SET(f,
		    "the token names no audience (aud); Exchange Online "
		    "wants https://outlook.office.com or "
		    "https://outlook.office365.com");
	} else {
		f = add(out, max, n, "audience", OA2_FAIL_V);
		SET(f,
		    "%s is not Exchange Online (https://outlook.office.com, "
		    "https://outlook.office365.com): the scope names another "
		    "resource; set scope to %s, then get a new token",
		    c->aud,
		    need->app_only ? "https://outlook.office365.com/.default"
				   : "https://outlook.office.com/...");
	}
}

static void
check_permissions(const struct oa2_claims *c,
    const struct oa2_claims_need *need, struct oa2_finding *out, size_t max,
    size_t *n)
{
	struct oa2_finding *f;
	int any = !need->smtp && !need->imap;

	if (!need->microsoft) {
		if (c->scp[0] != '\0' || c->roles[0] != '\0') {
			f = add(out, max, n, "permissions", OA2_OK_V);
			SET(f, "%s%s%s", c->scp,
			    c->scp[0] && c->roles[0] ? " " : "", c->roles);
		}
		return;
	}
	if (need->app_only) {
		int smtp = has_word(c->roles, "SMTP.SendAsApp");
		int imap = has_word(c->roles, "IMAP.AccessAsApp");
		if (need->imap && !imap) {
			f = add(out, max, n, "permissions", OA2_FAIL_V);
			SET(f,
			    "roles '%s' lack IMAP.AccessAsApp: add the "
			    "application permission Office 365 Exchange Online "
			    "> IMAP.AccessAsApp and grant admin consent "
			    "(RBAC for Applications does not cover IMAP)",
			    c->roles);
		} else if ((need->smtp || (any && !imap)) && !smtp) {
			f = add(out, max, n, "permissions", OA2_WARN_V);
			SET(f,
			    "roles '%s' lack SMTP.SendAsApp: fine only if an "
			    "admin gave the app the role with RBAC for "
			    "Applications (New-ManagementRoleAssignment -Role "
			    "\"Application SMTP.SendAsApp\"), which puts no "
			    "role in the token; else add the application "
			    "permission SMTP.SendAsApp and grant admin consent",
			    c->roles);
		} else {
			f = add(out, max, n, "permissions", OA2_OK_V);
			SET(f, "roles %s", c->roles);
		}
		return;
	}
	{
		int smtp = has_word(c->scp, "SMTP.Send");
		int imap = has_word(c->scp, "IMAP.AccessAsUser.All");
		const char *missing = NULL;
		if (need->smtp && !smtp)
			missing = "https://outlook.office.com/SMTP.Send";
		else if (need->imap && !imap)
			missing = "https://outlook.office.com/"
				  "IMAP.AccessAsUser.All";
		else if (any && !smtp && !imap)
			missing = "https://outlook.office.com/SMTP.Send or "
				  "https://outlook.office.com/"
				  "IMAP.AccessAsUser.All";
		if (missing != NULL) {
			f = add(out, max, n, "permissions", OA2_FAIL_V);
			SET(f,
			    "scp '%s' lacks %s: add it to scope, then "
			    "sasl-oauth2 login again (the user or an admin "
			    "consents to it)",
			    c->scp, missing);
		} else {
			f = add(out, max, n, "permissions", OA2_OK_V);
			SET(f, "scp %s", c->scp);
		}
	}
}

static void
check_user(const struct oa2_claims *c, const struct oa2_claims_need *need,
    struct oa2_finding *out, size_t max, size_t *n)
{
	struct oa2_finding *f;
	const char *mb = need->mailbox ? need->mailbox : "";

	if (c->user[0] == '\0') {
		if (need->app_only) {
			f = add(out, max, n, "user", OA2_OK_V);
			SET(f,
			    "app-only token (no user); the mailbox %s must "
			    "let the app in (Exchange service principal with "
			    "Add-MailboxPermission, or RBAC for Applications)",
			    mb);
		} else if (need->microsoft) {
			f = add(out, max, n, "user", OA2_WARN_V);
			SET(f,
			    "the token names no user (upn, "
			    "preferred_username, email)");
		}
		return;
	}
	if (strcasecmp(c->user, mb) == 0) {
		f = add(out, max, n, "user", OA2_OK_V);
		SET(f, "%s %s is the mailbox", c->user_claim, c->user);
		return;
	}
	f = add(out, max, n, "user", OA2_WARN_V);
	SET(f,
	    "%s %s is not the mailbox %s: that works only for a shared "
	    "mailbox %s may use (Add-MailboxPermission FullAccess, and "
	    "Add-RecipientPermission SendAs for SMTP); else log in as %s",
	    c->user_claim, c->user, mb, c->user, mb);
}

static void
check_expiry(const struct oa2_claims *c, const struct oa2_claims_need *need,
    struct oa2_finding *out, size_t max, size_t *n)
{
	struct oa2_finding *f;
	long long left = c->exp - (long long)need->now;

	if (c->exp == 0) {
		f = add(out, max, n, "expiry", OA2_WARN_V);
		SET(f, "the token has no exp claim");
	} else if (left <= 0) {
		f = add(out, max, n, "expiry", OA2_FAIL_V);
		SET(f,
		    "the token expired %lld s ago; check the clock "
		    "(timedatectl)"
		    " and run sasl-oauth2 refresh",
		    -left);
	} else if (left < 600 && need->microsoft) {
		f = add(out, max, n, "expiry", OA2_WARN_V);
		SET(f,
		    "expires in %lld s: Exchange's High Volume Email refuses "
		    "tokens with under 10 minutes left (501 5.5.127)",
		    left);
	} else {
		f = add(out, max, n, "expiry", OA2_OK_V);
		SET(f, "expires in %lld min", left / 60);
	}
}

size_t
oa2_claims_check(const struct oa2_claims *c, const struct oa2_claims_need *need,
    struct oa2_finding *out, size_t max)
{
	size_t n = 0;

	check_audience(c, need, out, max, &n);
	check_permissions(c, need, out, max, &n);
	check_user(c, need, out, max, &n);
	check_expiry(c, need, out, max, &n);
	return n;
}
