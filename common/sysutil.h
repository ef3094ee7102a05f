/*
 * sysutil.h: what both programs and the plugin share from the system
 * (libcore: libc only): mkdir -p and a monotonic clock.
 */
#ifndef OA2_SYSUTIL_H
#define OA2_SYSUTIL_H

/* mkdir -p: create path and its missing parents, each new one mode 0700
 * (less the umask).  0, or -1 with errno set (ENAMETOOLONG, EINVAL for
 * an empty path, or mkdir's). */
int oa2_mkdirs(const char *path);

/* Milliseconds of CLOCK_MONOTONIC: for deadlines, never for dates. */
long long oa2_now_ms(void);

#endif
