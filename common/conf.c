/*
 * conf.c: parse the account configuration.
 *
 * TRUST: the file is the user's or the administrator's; it is still parsed
 * defensively (size caps, every line accounted for) because a mistake in it
 * must become a clear message, not a silently missing mechanism.
 * SECRETS: none by design: client secrets live in client_secret_file or
 * come from client_secret_command.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "sysutil.h"
#include "wire.h"

static const char *const key_names[] = {
    "user",
    "provider",
    "tenant",
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "device_authorization_endpoint",
    "revocation_endpoint",
    "client_id",
    "client_secret_file",
    "client_auth",
    "scope",
    "flow",
    "store",
    "ca_file",
    "client_key_file",
    "client_certificate_file",
    "notify_command",
    "client_assertion_file",
    "client_secret_command",
    "service_account_file",
    "proxy",
    "no_proxy",
};
/* One name per key, in enum order: a forgotten name fails the build. */
_Static_assert(sizeof(key_names) / sizeof(key_names[0]) == OA2_K_COUNT,
    "key_names and enum oa2_key differ");

const char *
oa2_key_name(enum oa2_key k)
{
	return (unsigned)k < OA2_K_COUNT ? key_names[k] : "?";
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Trim [*s, *e) in place. */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && is_space(**s))
		(*s)++;
	while (*e > *s && is_space((*e)[-1]))
		(*e)--;
}

static char *
dup_range(const char *s, const char *e)
{
	char *d = malloc((size_t)(e - s) + 1);

	if (d != NULL) {
		memcpy(d, s, (size_t)(e - s));
		d[e - s] = '\0';
	}
	return d;
}

static int
valid_name(const char *s, const char *e)
{
	if (s == e || e - s > 64)
		return 0;
	for (; s < e; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
			*s == '.' || *s == '@'))
			return 0;
	return 1;
}

static int
add_account(struct oa2_config *cfg, const char *s, const char *e, int line)
{
	struct oa2_account *n;

	n = realloc(cfg->accounts, (cfg->count + 1) * sizeof(*n));
	if (n == NULL)
		return OA2_ERR_NOMEM;
	cfg->accounts = n;
	memset(&n[cfg->count], 0, sizeof(*n));
	if ((n[cfg->count].name = dup_range(s, e)) == NULL)
		return OA2_ERR_NOMEM;
	n[cfg->count].line = line;
	cfg->count++;
	return 0;
}

int
oa2_config_parse(const char *text, size_t len, const char *path,
    struct oa2_config *cfg, char *err, size_t errsz)
{
	const char *p = text, *end = text + len;
	struct oa2_account *cur = NULL;
	int line = 0, r = 0;
	size_t k;

	cfg->accounts = NULL;
	cfg->count = 0;
	err[0] = '\0';
	if (len > OA2_CONFIG_MAX) {
		snprintf(err, errsz, "%s: file larger than %d bytes", path,
		    OA2_CONFIG_MAX);
		return OA2_ERR_TOOBIG;
	}
	while (p < end) {
		const char *ls = p, *le, *ks, *ke, *vs, *ve, *eq;

		line++;
		le = memchr(p, '\n', (size_t)(end - p));
		if (le == NULL)
			le = end;
		p = le < end ? le + 1 : end;
		if (le - ls > OA2_CONFIG_LINE_MAX) {
			snprintf(
			    err, errsz, "%s:%d: line too long", path, line);
			r = OA2_ERR_CONFIG;
			goto fail;
		}
		if (memchr(ls, '\0', (size_t)(le - ls)) != NULL) {
			snprintf(err, errsz, "%s:%d: NUL byte", path, line);
			r = OA2_ERR_CONFIG;
			goto fail;
		}
		trim(&ls, &le);
		if (ls == le || *ls == '#' || *ls == ';')
			continue;
		if (*ls == '[') {
			const char *ns, *ne;
			if (le[-1] != ']' || le - ls < 10 ||
			    strncmp(ls + 1, "account", 7) != 0 ||
			    !is_space(ls[8])) {
				snprintf(err, errsz,
				    "%s:%d: expected a section header like "
				    "[account NAME]",
				    path, line);
				r = OA2_ERR_CONFIG;
				goto fail;
			}
			ns = ls + 9;
			ne = le - 1;
			trim(&ns, &ne);
			if (!valid_name(ns, ne)) {
				snprintf(err, errsz,
				    "%s:%d: account names use letters, digits "
				    "and - _ . @ (at most 64)",
				    path, line);
				r = OA2_ERR_CONFIG;
				goto fail;
			}
			for (k = 0; k < cfg->count; k++) {
				if (strlen(cfg->accounts[k].name) ==
					(size_t)(ne - ns) &&
				    memcmp(cfg->accounts[k].name, ns,
					(size_t)(ne - ns)) == 0) {
					snprintf(err, errsz,
					    "%s:%d: account '%s' already "
					    "defined at line %d",
					    path, line, cfg->accounts[k].name,
					    cfg->accounts[k].line);
					r = OA2_ERR_CONFIG;
					goto fail;
				}
			}
			if ((r = add_account(cfg, ns, ne, line)) != 0)
				goto fail;
			cur = &cfg->accounts[cfg->count - 1];
			continue;
		}
		eq = memchr(ls, '=', (size_t)(le - ls));
		if (eq == NULL) {
			snprintf(err, errsz, "%s:%d: expected 'key = value'",
			    path, line);
			r = OA2_ERR_CONFIG;
			goto fail;
		}
		if (cur == NULL) {
			snprintf(err, errsz,
			    "%s:%d: setting outside an [account NAME] section",
			    path, line);
			r = OA2_ERR_CONFIG;
			goto fail;
		}
		ks = ls;
		ke = eq;
		vs = eq + 1;
		ve = le;
		trim(&ks, &ke);
		trim(&vs, &ve);
		for (k = 0; k < OA2_K_COUNT; k++)
			if (strlen(key_names[k]) == (size_t)(ke - ks) &&
			    memcmp(key_names[k], ks, (size_t)(ke - ks)) == 0)
				break;
		if (k == OA2_K_COUNT) {
			char shown[48];
			size_t n = (size_t)(ke - ks);
			if (n >= sizeof(shown))
				n = sizeof(shown) - 1;
			oa2_printable(shown, n + 1, ks, n);
			snprintf(err, errsz, "%s:%d: unknown key '%s'", path,
			    line, shown);
			r = OA2_ERR_CONFIG;
			goto fail;
		}
		if (cur->v[k] != NULL) {
			snprintf(err, errsz,
			    "%s:%d: '%s' set twice in account "
			    "'%s'",
			    path, line, key_names[k], cur->name);
			r = OA2_ERR_CONFIG;
			goto fail;
		}
		if (vs == ve) {
			snprintf(err, errsz, "%s:%d: '%s' has no value", path,
			    line, key_names[k]);
			r = OA2_ERR_CONFIG;
			goto fail;
		}
		if ((cur->v[k] = dup_range(vs, ve)) == NULL) {
			r = OA2_ERR_NOMEM;
			goto fail;
		}
	}
	return 0;
fail:
	if (r == OA2_ERR_NOMEM && err[0] == '\0')
		snprintf(err, errsz, "%s: out of memory", path);
	oa2_config_free(cfg);
	return r;
}

int
oa2_config_read_fd(
    int fd, const char *path, char **text, size_t *len, char *err, size_t errsz)
{
	struct stat st;
	size_t have = 0;
	ssize_t n;
	char *t;

	*text = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		return OA2_ERR_CONFIG;
	}
	/* The file names the token endpoint, the secret and CA files:
	 * whoever may write it can send the secrets to a server of theirs.
	 * So it must be this user's or root's, and writable by no one else
	 * (as OpenSSH requires of ~/.ssh/config). */
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errsz,
		    "%s belongs to uid %u, neither this user (uid %u) nor "
		    "root, so it cannot be trusted with secrets; run: chown "
		    "%u %s",
		    path, (unsigned)st.st_uid, (unsigned)geteuid(),
		    (unsigned)geteuid(), path);
		return OA2_ERR_PERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errsz,
		    "%s can be written by others (mode %04o), who could send "
		    "the secrets it names elsewhere; run: chmod go-w %s",
		    path, (unsigned)(st.st_mode & 07777), path);
		return OA2_ERR_PERM;
	}
	if (st.st_size > OA2_CONFIG_MAX) {
		snprintf(err, errsz, "%s: file larger than %d bytes", path,
		    OA2_CONFIG_MAX);
		return OA2_ERR_TOOBIG;
	}
	if ((t = malloc((size_t)st.st_size + 1)) == NULL)
		return OA2_ERR_NOMEM;
	while (have < (size_t)st.st_size &&
	    (n = read(fd, t + have, (size_t)st.st_size - have)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			free(t);
			return OA2_ERR_IO;
		}
		have += (size_t)n;
	}
	t[have] = '\0';
	*text = t;
	*len = have;
	return 0;
}

int
oa2_config_load(
    const char *path, struct oa2_config *cfg, char *err, size_t errsz)
{
	char *text;
	size_t len;
	int fd, r;

	cfg->accounts = NULL;
	cfg->count = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? OA2_ERR_NOTFOUND : OA2_ERR_IO;
	}
	r = oa2_config_read_fd(fd, path, &text, &len, err, errsz);
	close(fd);
	if (r != 0)
		return r;
	r = oa2_config_parse(text, len, path, cfg, err, errsz);
	free(text);
	return r;
}

void
oa2_config_free(struct oa2_config *cfg)
{
	size_t i, k;

	for (i = 0; i < cfg->count; i++) {
		free(cfg->accounts[i].name);
		for (k = 0; k < OA2_K_COUNT; k++)
			free(cfg->accounts[i].v[k]);
	}
	free(cfg->accounts);
	cfg->accounts = NULL;
	cfg->count = 0;
}

int
oa2_config_name_ok(const char *name)
{
	return valid_name(name, name + strlen(name));
}

const struct oa2_account *
oa2_config_find(const struct oa2_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->count; i++)
		if (strcmp(cfg->accounts[i].name, name) == 0)
			return &cfg->accounts[i];
	return NULL;
}

int
oa2_user_nth(const char *list, size_t n, char *out, size_t outsz)
{
	const char *p = list, *s;
	size_t len;

	for (;;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return OA2_ERR_NOTFOUND;
		for (s = p; *p != '\0' && *p != ',' && *p != ' ' && *p != '\t';
		     p++)
			;
		if (n-- > 0)
			continue;
		len = (size_t)(p - s);
		if (len >= outsz)
			return OA2_ERR_TOOBIG;
		memcpy(out, s, len);
		out[len] = '\0';
		return 0;
	}
}

const struct oa2_account *
oa2_config_find_user(const struct oa2_config *cfg, const char *mailbox)
{
	char one[512];
	size_t i, n;

	for (i = 0; i < cfg->count; i++) {
		if (cfg->accounts[i].v[OA2_K_USER] == NULL)
			continue;
		for (n = 0; oa2_user_nth(cfg->accounts[i].v[OA2_K_USER], n, one,
				sizeof(one)) == 0;
		     n++)
			if (strcasecmp(one, mailbox) == 0)
				return &cfg->accounts[i];
	}
	return NULL;
}

int
oa2_proxy_check(const char *proxy, char *err, size_t errsz)
{
	static const char *const schemes[] = {
	    "http://", "https://", "socks5h://", NULL};
	const char *const *sc;
	const char *h = NULL, *port, *end;
	size_t n;

	if (oa2_proxy_has_userinfo(proxy)) {
		/* Not quoted: it holds the password. */
		snprintf(err, errsz,
		    "the proxy key holds a user name or password, which "
		    "sasl-oauth2 does not send to proxies (the configuration "
		    "is not a secret file, and an http proxy would get the "
		    "password in the clear); remove it and have the proxy "
		    "let this host through without a login");
		return OA2_ERR_CONFIG;
	}
	for (sc = schemes; *sc != NULL && h == NULL; sc++)
		if (strncasecmp(proxy, *sc, strlen(*sc)) == 0)
			h = proxy + strlen(*sc);
	if (h == NULL) {
		snprintf(err, errsz,
		    "proxy '%s' must start with http://, https:// or "
		    "socks5h:// (like http://proxy.example.com:3128)",
		    proxy);
		return OA2_ERR_CONFIG;
	}
	n = strcspn(h, "/?#");
	end = h + n;
	if (*end != '\0' && strcmp(end, "/") != 0) {
		snprintf(err, errsz,
		    "proxy '%s' has a path; write only scheme, host and port "
		    "(like http://proxy.example.com:3128)",
		    proxy);
		return OA2_ERR_CONFIG;
	}
	/* host:port or [v6]:port; libcurl's default port (1080) is nobody's
	 * HTTP proxy, so the port is asked for. */
	if (*h == '[') {
		const char *rb = memchr(h, ']', n);
		port =
		    rb != NULL && rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		port = memchr(h, ':', n);
	}
	if (port == NULL || port == h || port + 1 == end ||
	    strspn(port + 1, "0123456789") != (size_t)(end - port - 1) ||
	    end - port - 1 > 5 || strtol(port + 1, NULL, 10) < 1 ||
	    strtol(port + 1, NULL, 10) > 65535) {
		snprintf(err, errsz,
		    "proxy '%s' needs a host and a port, like "
		    "http://proxy.example.com:3128",
		    proxy);
		return OA2_ERR_CONFIG;
	}
	return 0;
}
