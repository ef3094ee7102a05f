/*
 * stores.h: the other refresh-token stores besides the file store.
 *
 *  store = keyring         the kernel persistent keyring of the uid: no
 *                          file anywhere, gone after a reboot (by choice)
 *                          or after the kernel's persistent_keyring_expiry
 *                          (3 days by default) without use
 *  store = secret-service  the desktop's Secret Service (GNOME Keyring,
 *                          KWallet) through libsecret, when built with it
 *
 * Both keep the entry as one text record:
 *	"sasl-oauth2-rt 1\n" <updated> "\n" <scope> "\n" <refresh token>
 */
#ifndef OA2_STORES_H
#define OA2_STORES_H

#include <stddef.h>

#include "buf.h"
#include "store.h"

int oa2_rtrec_encode(const struct oa2_store_entry *e, struct oa2_buf *out);
int oa2_rtrec_decode(const char *rec, size_t len, struct oa2_store_entry *e);

/* Same contracts as oa2_store_load/save/delete. */
int oa2_kstore_load(
    const char *account, struct oa2_store_entry *e, char *err, size_t errsz);
int oa2_kstore_save(const char *account, const struct oa2_store_entry *e,
    char *err, size_t errsz);
int oa2_kstore_delete(const char *account, char *err, size_t errsz);

/* OA2_ERR_UNAVAIL (with a sentence) when built without libsecret. */
int oa2_sstore_load(
    const char *account, struct oa2_store_entry *e, char *err, size_t errsz);
int oa2_sstore_save(const char *account, const struct oa2_store_entry *e,
    char *err, size_t errsz);
int oa2_sstore_delete(const char *account, char *err, size_t errsz);

#endif
