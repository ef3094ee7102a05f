/*
 * buf.h: a growable byte buffer with a hard size cap, always NUL-terminated,
 * whose grow and free paths wipe the old memory.  Used for every secret and
 * every piece of untrusted input.
 */
#ifndef OA2_BUF_H
#define OA2_BUF_H

#include <stddef.h>

struct oa2_buf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
	size_t max; /* appends that would exceed this fail: OA2_ERR_TOOBIG */
};

void oa2_buf_init(struct oa2_buf *b, size_t max);
int oa2_buf_append(struct oa2_buf *b, const void *p, size_t n);
int oa2_buf_appendz(struct oa2_buf *b, const char *s);
int oa2_buf_appendc(struct oa2_buf *b, char c);
/* Forget the contents (wiped) but keep the memory. */
void oa2_buf_reset(struct oa2_buf *b);
/* Wipe and free; the buffer may be reused after oa2_buf_init. */
void oa2_buf_free(struct oa2_buf *b);
/* The data, or "" if nothing was appended yet. */
const char *oa2_buf_str(const struct oa2_buf *b);

#endif
