/*
 * fsutil.h: file-system helpers both programs share (libcore: libc only).
 */
#ifndef OA2_FSUTIL_H
#define OA2_FSUTIL_H

/* mkdir -p: create path and its missing parents, each new one mode 0700
 * (less the umask).  0, or -1 with errno set (ENAMETOOLONG, EINVAL for
 * an empty path, or mkdir's). */
int oa2_mkdirs(const char *path);

#endif
