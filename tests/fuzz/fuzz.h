/*
 * fuzz.h: what the harnesses share.  Each harness defines
 * LLVMFuzzerTestOneInput; libFuzzer calls it (fuzz_NAME), and so does
 * replay.c for every file of a committed corpus (fuzz_NAME_replay, which
 * make check runs with any compiler).
 *
 * The checks are invariants the parsers promise in their headers, not just
 * "no crash": a failed check prints what failed and aborts, so libFuzzer
 * saves the input and replay names the file.
 */
#ifndef OA2_FUZZ_H
#define OA2_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			fuzz_fail(__FILE__, __LINE__, #cond);                  \
	} while (0)

static inline void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
	abort();
}

/* s[0..size) holds a NUL, and everything before it is printable ASCII. */
static inline int
fuzz_printable(const char *s, size_t size)
{
	size_t i;

	for (i = 0; i < size && s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return i < size;
}

/* Like fuzz_printable, for a field of a struct. */
#define FUZZ_PRINTABLE(field) FUZZ_CHECK(fuzz_printable(field, sizeof(field)))

/* An exact-size heap copy, so that ASan sees a read past the end and a
 * parser that wants NUL-terminated text gets none. */
static inline char *
fuzz_dup(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);

	if (p == NULL)
		abort();
	if (size > 0)
		memcpy(p, data, size);
	return p;
}

#endif
