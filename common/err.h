/*
 * err.h: the project's error codes.  Functions return 0 on success or one of
 * these negative values; oa2_strerror() turns one into a short phrase.
 */
#ifndef OA2_ERR_H
#define OA2_ERR_H

enum oa2_err {
	OA2_OK = 0,
	OA2_ERR_NOMEM = -1,	/* out of memory */
	OA2_ERR_INVAL = -2,	/* invalid argument */
	OA2_ERR_TOOBIG = -3,	/* input over its size cap */
	OA2_ERR_PARSE = -4,	/* malformed input */
	OA2_ERR_IO = -5,	/* read/write/exec failure (see errno) */
	OA2_ERR_NOTFOUND = -6,	/* no such key, account or file */
	OA2_ERR_EXPIRED = -7,	/* cached token too close to expiry */
	OA2_ERR_TIMEOUT = -8,	/* a deadline passed */
	OA2_ERR_UNAVAIL = -9,	/* facility missing (no keyring) */
	OA2_ERR_PERM = -10,	/* permissions refused or too loose */
	OA2_ERR_QUOTA = -11,	/* kernel key quota exhausted */
	OA2_ERR_CONFIG = -12,	/* configuration error */
	OA2_ERR_NETWORK = -13,	/* transport failure talking to the IdP */
	OA2_ERR_PROVIDER = -14, /* the IdP refused, temporarily */
	OA2_ERR_AUTH = -15,	/* the IdP refused: log in again */
	OA2_ERR_CLIENT = -16,	/* the IdP refused: app registration */
	OA2_ERR_LAST = -16
};

const char *oa2_strerror(int err);

#endif
