/*
 * buf.c: bounded, wiping buffers.
 *
 * SECRETS: any; memory is wiped before realloc's old block is freed and on
 * oa2_buf_free/oa2_buf_reset.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

void
oa2_buf_init(struct oa2_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static int
buf_reserve(struct oa2_buf *b, size_t need)
{
	size_t ncap;
	char *n;

	if (need > b->max)
		return OA2_ERR_TOOBIG;
	if (need + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need + 1)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	/* Not realloc: the old block may hold a secret and must be wiped. */
	if ((n = malloc(ncap)) == NULL)
		return OA2_ERR_NOMEM;
	if (b->data != NULL) {
		memcpy(n, b->data, b->len + 1);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	} else {
		n[0] = '\0';
	}
	b->data = n;
	b->cap = ncap;
	return 0;
}

int
oa2_buf_append(struct oa2_buf *b, const void *p, size_t n)
{
	int r;

	if (n > b->max || b->len > b->max - n)
		return OA2_ERR_TOOBIG;
	if ((r = buf_reserve(b, b->len + n)) != 0)
		return r;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
oa2_buf_appendz(struct oa2_buf *b, const char *s)
{
	return oa2_buf_append(b, s, strlen(s));
}

int
oa2_buf_appendc(struct oa2_buf *b, char c)
{
	return oa2_buf_append(b, &c, 1);
}

void
oa2_buf_reset(struct oa2_buf *b)
{
	if (b->data != NULL) {
		explicit_bzero(b->data, b->cap);
		b->data[0] = '\0';
	}
	b->len = 0;
}

void
oa2_buf_free(struct oa2_buf *b)
{
	if (b->data != NULL) {
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

const char *
oa2_buf_str(const struct oa2_buf *b)
{
	return b->data != NULL ? b->data : "";
}
