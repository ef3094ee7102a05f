/*
 * secretfile.h: read a file that holds a secret (a client secret, a
 * refresh-token store), refusing it when others could read it.
 */
#ifndef OA2_SECRETFILE_H
#define OA2_SECRETFILE_H

#include "buf.h"

#define OA2_SECRET_FILE_MAX 65536

/* Reads path into out, trailing white space removed.  Refuses (with a
 * sentence in err) a file that is not regular, not ours, or has any group
 * or other permission bit, like ssh refuses a loose private key. */
int oa2_secretfile_read(
    const char *path, struct oa2_buf *out, char *err, size_t errsz);

/* The same checks on an open fd, then its contents appended to out
 * (OA2_ERR_TOOBIG past out's cap).  Messages name it "WHAT PATH". */
int oa2_secretfile_read_fd(int fd, const char *what, const char *path,
    struct oa2_buf *out, char *err, size_t errsz);

/* Create path holding data and a newline, mode 0600 (missing parent
 * directories 0700), complete or not at all: a temp file beside it,
 * fsync'd, then linked to path, which must not exist (OA2_ERR_CONFIG
 * then; nothing is ever replaced).  err gets one sentence on failure. */
int oa2_secretfile_create(
    const char *path, const char *data, size_t len, char *err, size_t errsz);

#endif
