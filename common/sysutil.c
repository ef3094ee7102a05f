/*
 * sysutil.c: mkdir -p and a monotonic clock, for the plugin and both
 * programs of the helper.
 *
 * TRUST: paths come from the configuration or the environment of the
 * user who runs us; nothing here follows them anywhere else.
 * SECRETS: none.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sysutil.h"

int
oa2_mkdirs(const char *path)
{
	char p[PATH_MAX];
	size_t i, n = strnlen(path, sizeof(p));

	if (n == 0 || n >= sizeof(p)) {
		errno = n == 0 ? EINVAL : ENAMETOOLONG;
		return -1;
	}
	memcpy(p, path, n + 1);
	for (i = 1; i <= n; i++) {
		if ((p[i] != '/' && p[i] != '\0') || p[i - 1] == '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -1;
		p[i] = path[i];
	}
	return 0;
}

long long
oa2_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
oa2_proxy_has_userinfo(const char *url)
{
	/* Any '@': a password may hold '/', '?' or '#' unescaped, which
	 * would end the authority of a well-formed URL early, and a proxy
	 * URL has no use for '@' elsewhere. */
	return strchr(url, '@') != NULL;
}
