/*
 * test_json.c: oa2_json_parse leaves no copy of a secret in memory it
 * gives back to malloc.  This executable defines free() and realloc(),
 * which the dynamic linker then uses for json-c as well (ELF
 * interposition); each scans the block it is about to release for the
 * secret before handing it to libc's own.  Under AddressSanitizer, which
 * owns free() itself, the test skips.
 */
#include "config.h"

#include <dlfcn.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define SECRET "s3cr3t-d0-n0t-l34k"

#ifndef UNDER_ASAN
static void (*real_free)(void *);
static void *(*real_realloc)(void *, size_t);
static int resolving;
static int watching;
static int leaks;

static void
resolve(void)
{
	if (real_free != NULL || resolving)
		return;
	resolving = 1;
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	resolving = 0;
}

static void
scan(void *p)
{
	size_t n;

	if (p == NULL || !watching)
		return;
	n = malloc_usable_size(p);
	if (memmem(p, n, SECRET, sizeof(SECRET) - 1) != NULL)
		leaks++;
}

void
free(void *p)
{
	resolve();
	if (real_free == NULL)
		return; /* dlsym's own bookkeeping, while resolving: leak it */
	scan(p);
	real_free(p);
}

void *
realloc(void *p, size_t n)
{
	resolve();
	/* A block that grows in place is not released; scanning it anyway
	 * only makes the test stricter. */
	scan(p);
	return real_realloc(p, n);
}

static void
parse_and_free(const char *doc)
{
	struct json_object *o;

	leaks = 0;
	watching = 1;
	o = oa2_json_parse(doc, strlen(doc), 8);
	oa2_json_free(o);
	watching = 0;
}

#endif

static void
test_no_copy_left(void **state)
{
	static const char *docs[] = {
	    /* a longer string after the secret: json-c's buffer would grow
	     * (realloc) and release the copy of the secret unwiped */
	    "{\"access_token\":\"" SECRET "\",\"refresh_token\":\"" SECRET
	    "-and-a-much-longer-tail-that-makes-the-buffer-grow-"
	    "0123456789012345678901234567890123456789\"}",
	    /* the secret last, with an escape */
	    "{\"token_type\":\"Bearer\",\"access_token\":\"" SECRET
	    "\\u0041\"}",
	    /* trailing garbage after the value */
	    "{\"refresh_token\":\"" SECRET "\"} x",
	    /* Not promised (json.c says why): a nested string, and the
	     * strings of a document that breaks off or turns invalid, which
	     * json-c frees with its partial tree. */
	};
	size_t i;

	(void)state;
#ifdef UNDER_ASAN
	(void)docs;
	(void)i;
	skip();
#else
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		print_message("%zu\n", i);
		parse_and_free(docs[i]);
		assert_int_equal(leaks, 0);
	}
#endif
}

/* The interposer works: a block holding the secret, freed, is seen. */
static void
test_scanner_sees(void **state)
{
	/* volatile: the compiler may drop a malloc/free pair it sees */
	void (*volatile release)(void *) = free;
	char *p;

	(void)state;
#ifdef UNDER_ASAN
	(void)release;
	(void)p;
	skip();
#else
	p = malloc(64);
	assert_non_null(p);
	memcpy(p, SECRET, sizeof(SECRET));
	leaks = 0;
	watching = 1;
	release(p);
	watching = 0;
	assert_int_equal(leaks, 1);
#endif
}

static void
test_still_parses(void **state)
{
	static const char doc[] = "{\"a\":\"b\\u00e9\",\"n\":12}  \n";
	struct json_object *o;
	const char *v;
	size_t len;

	(void)state;
	o = oa2_json_parse(doc, sizeof(doc) - 1, 8);
	assert_non_null(o);
	v = oa2_json_string(o, "a", &len);
	assert_non_null(v);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "b\xc3\xa9", 3);
	oa2_json_free(o);
	assert_null(oa2_json_parse("[1] [2]", 7, 8));
	assert_null(oa2_json_parse("[[[1]]]", 7, 2));
	o = oa2_json_parse("\"\"", 2, 8);
	assert_non_null(o);
	oa2_json_free(o);
	assert_null(oa2_json_parse("", 0, 8));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scanner_sees),
	    cmocka_unit_test(test_no_copy_left),
	    cmocka_unit_test(test_still_parses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
