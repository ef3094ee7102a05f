/*
 * store.h: the durable refresh-token store, "store = file" (the default).
 *
 * One JSON file per account, DIR/ACCOUNT.json, mode 0600, in a directory
 * that is ours with mode 0700:
 *
 *	{"version":1,"account":"work","refresh_token":"...","scope":"...",
 *	 "updated":1700000000,"refresh_expires":0}
 *
 *	version		integer, must be 1; anything else is refused so that an
 *			older program never misreads a newer file
 *	account		string, must equal the file's account name
 *	refresh_token	string, an oa2_token_check() token
 *	scope		string, optional, the granted scope
 *	updated		integer, optional, unix time of the last save
 *	refresh_expires	integer, optional, unix time; 0 when unknown
 *
 * Unknown members are ignored, so a later version 1 may add some.  Files
 * are replaced atomically (temp file, fsync, rename, fsync DIR); the temp
 * files are DIR/.ACCOUNT.json.XXXXXX.  Serialising concurrent refreshes is
 * the caller's job (flock on the account's lock file); the store only
 * guarantees that a reader sees the old file or the new one, never a mix.
 */
#ifndef OA2_STORE_H
#define OA2_STORE_H

#include <stddef.h>

#include "buf.h"

#define OA2_STORE_FILE_MAX 65536 /* bytes; a larger file is refused */
#define OA2_STORE_ACCOUNT_MAX 64 /* bytes in an account name */

struct oa2_store_entry {
	struct oa2_buf refresh_token; /* wiping, cap OA2_TOKEN_MAX */
	char scope[1024];	      /* granted scope, may be "" */
	long long updated;	      /* unix time of the last save */
	long long refresh_expires;    /* 0 if unknown */
};

void oa2_store_entry_init(struct oa2_store_entry *e);
void oa2_store_entry_free(struct oa2_store_entry *e);

/* 0 if the name can be a file name in DIR: 1 to 64 of letters, digits,
 * '-', '_', '.', '@', not starting with '.'; else OA2_ERR_INVAL. */
int oa2_store_account_check(const char *account);

/*
 * 0 with e filled in (cleared first);
 * OA2_ERR_NOTFOUND: no file (or no DIR);
 * OA2_ERR_PERM: the file or DIR is not ours, is accessible by group or
 *   others, or the file is not a regular file (a symlink, say);
 * OA2_ERR_PARSE: the file is corrupt, too large, or of another version;
 *   it is left untouched;
 * OA2_ERR_INVAL: a bad account name; OA2_ERR_IO: anything else.
 * err gets one sentence on failure.
 */
int oa2_store_load(const char *dir, const char *account,
    struct oa2_store_entry *e, char *err, size_t errsz);

/*
 * Atomically replace DIR/ACCOUNT.json with e.  DIR is created (0700, with
 * any missing parents) if needed and must pass the same checks as for
 * load.  updated is written as given, or as the current time when 0.
 * On failure (ENOSPC included) the old file is intact, the temp file is
 * removed and err says what happened.  Temp files that a crash left behind
 * for this account are removed once they are some minutes old.
 * OA2_ERR_INVAL also for an entry with an invalid token.
 */
int oa2_store_save(const char *dir, const char *account,
    const struct oa2_store_entry *e, char *err, size_t errsz);

/* Remove the account's file and any temp files of it (logout); 0 also if
 * there was nothing to remove. */
int oa2_store_delete(
    const char *dir, const char *account, char *err, size_t errsz);

#endif
