/*
 * base64.c: base64 encoding into a bounded buffer.
 */
#include "config.h"

#include "base64.h"
#include "err.h"

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
oa2_b64_encode(
    const void *in, size_t n, enum oa2_b64_variant v, struct oa2_buf *out)
{
	const unsigned char *p = in;
	const char *a = v == OA2_B64_STD ? std_alphabet : url_alphabet;
	char q[4];
	size_t i;
	int r;

	for (i = 0; i + 3 <= n; i += 3) {
		q[0] = a[p[i] >> 2];
		q[1] = a[((p[i] & 0x03) << 4) | (p[i + 1] >> 4)];
		q[2] = a[((p[i + 1] & 0x0f) << 2) | (p[i + 2] >> 6)];
		q[3] = a[p[i + 2] & 0x3f];
		if ((r = oa2_buf_append(out, q, 4)) != 0)
			return r;
	}
	if (i < n) {
		q[0] = a[p[i] >> 2];
		if (i + 1 < n) {
			q[1] = a[((p[i] & 0x03) << 4) | (p[i + 1] >> 4)];
			q[2] = a[(p[i + 1] & 0x0f) << 2];
		} else {
			q[1] = a[(p[i] & 0x03) << 4];
			q[2] = '=';
		}
		q[3] = '=';
		if (v == OA2_B64_STD)
			r = oa2_buf_append(out, q, 4);
		else
			r = oa2_buf_append(out, q, i + 1 < n ? 3 : 2);
		if (r != 0)
			return r;
	}
	return oa2_buf_append(out, "", 0); /* a NUL even for empty input */
}
