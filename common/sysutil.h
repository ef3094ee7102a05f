/*
 * sysutil.h: what both programs and the plugin share from the system
 * (libcore: libc only): mkdir -p, a monotonic clock, and a look at proxy
 * URLs.
 */
#ifndef OA2_SYSUTIL_H
#define OA2_SYSUTIL_H

/* mkdir -p: create path and its missing parents, each new one mode 0700
 * (less the umask).  0, or -1 with errno set (ENAMETOOLONG, EINVAL for
 * an empty path, or mkdir's). */
int oa2_mkdirs(const char *path);

/* Milliseconds of CLOCK_MONOTONIC: for deadlines, never for dates. */
long long oa2_now_ms(void);

/* 1 if a proxy URL ("http://host:port", or "host:port" as the environment
 * may have it) may name a user or a password (it has an '@' anywhere):
 * the plugin does not pass such a variable on, the helper refuses it and
 * never quotes it. */
int oa2_proxy_has_userinfo(const char *url);

#endif
