/*
 * canary-helper.c: a stand-in for the token helper with one deliberate bug,
 * for t-sanitizers.sh.  It prints a token, as the helper does, then commits
 * a heap overflow (-DCANARY_OOB), a signed integer overflow (-DCANARY_UB) or
 * a leak (-DCANARY_LEAK): the reports a bug in the helper makes.
 * Test code only; never installed.
 */
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	volatile char *p = malloc(8);
	volatile int n = 0x7fffffff;

	puts("canary-token");
	fflush(stdout);
#if defined(CANARY_OOB)
	p[8] = 1;
#elif defined(CANARY_UB)
	n += argc;
#elif defined(CANARY_LEAK)
	p = NULL; /* the only reference */
#endif
	free((void *)p);
	return n == 0;
}
