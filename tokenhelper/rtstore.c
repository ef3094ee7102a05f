/*
 * rtstore.c: where an account's refresh token lives (its "store" key):
 * file (default), keyring (kernel persistent keyring) or secret-service.
 *
 * SECRETS: refresh tokens pass through to the chosen backend.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "helper.h"
#include "store.h"
#include "stores.h"

/* The file store's directory, or a sentence saying why there is none. */
static int
file_dir(char *dir, size_t n, char *err, size_t errsz)
{
	int r;

	if ((r = state_dir(dir, n)) == OA2_ERR_CONFIG)
		snprintf(err, errsz,
		    "the state directory %s must belong to uid %u and be "
		    "private; run: chmod 700 %s",
		    dir, (unsigned)geteuid(), dir);
	else if (r != 0)
		snprintf(err, errsz,
		    "no state directory (%s); set XDG_STATE_HOME",
		    oa2_strerror(r));
	return r;
}

int
rt_load(const char *account, enum store_kind kind, struct oa2_store_entry *e,
    char *err, size_t errsz)
{
	char dir[768];
	int r;

	switch (kind) {
	case STORE_KEYRING:
		return oa2_kstore_load(account, e, err, errsz);
	case STORE_SECRET:
		return oa2_sstore_load(account, e, err, errsz);
	case STORE_FILE:
	default:
		if ((r = file_dir(dir, sizeof(dir), err, errsz)) != 0)
			return r;
		return oa2_store_load(dir, account, e, err, errsz);
	}
}

int
rt_save(const char *account, enum store_kind kind,
    const struct oa2_store_entry *e, char *err, size_t errsz)
{
	char dir[768];
	int r;

	switch (kind) {
	case STORE_KEYRING:
		return oa2_kstore_save(account, e, err, errsz);
	case STORE_SECRET:
		return oa2_sstore_save(account, e, err, errsz);
	case STORE_FILE:
	default:
		if ((r = file_dir(dir, sizeof(dir), err, errsz)) != 0)
			return r;
		return oa2_store_save(dir, account, e, err, errsz);
	}
}

int
rt_delete(const char *account, enum store_kind kind, char *err, size_t errsz)
{
	char dir[768];
	int r;

	switch (kind) {
	case STORE_KEYRING:
		return oa2_kstore_delete(account, err, errsz);
	case STORE_SECRET:
		return oa2_sstore_delete(account, err, errsz);
	case STORE_FILE:
	default:
		if ((r = file_dir(dir, sizeof(dir), err, errsz)) != 0)
			return r;
		return oa2_store_delete(dir, account, err, errsz);
	}
}
