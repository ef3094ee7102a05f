/*
 * err.c: one phrase per error code.
 */
#include "config.h"

#include "err.h"

static const char *const messages[] = {
    "success",
    "out of memory",
    "invalid argument",
    "input too large",
    "malformed input",
    "input/output error",
    "not found",
    "token expired",
    "timed out",
    "facility unavailable",
    "permission denied",
    "key quota exceeded",
    "configuration error",
    "network error",
    "identity provider error",
    "authorization no longer valid",
    "client registration rejected",
};

const char *
oa2_strerror(int err)
{
	if (err > 0 || err < OA2_ERR_LAST)
		return "unknown error";
	return messages[-err];
}
