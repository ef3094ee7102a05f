/*
 * sakey.h: a Google service account's JSON key file, as the Cloud console
 * downloads it (type "service_account", project_id, private_key_id,
 * private_key, client_email, client_id, auth_uri, token_uri, ...), for the
 * RFC 7523 JWT bearer grant of domain-wide delegation.
 */
#ifndef OA2_SAKEY_H
#define OA2_SAKEY_H

#include <stddef.h>

#define OA2_SAKEY_FIELD_MAX 256
#define OA2_SAKEY_URL_MAX 1024

struct oa2_sa_key {
	char client_email[OA2_SAKEY_FIELD_MAX];	  /* the JWT's iss */
	char client_id[OA2_SAKEY_FIELD_MAX];	  /* what the Admin console
						     delegates to */
	char private_key_id[OA2_SAKEY_FIELD_MAX]; /* the JWT's kid */
	char token_uri[OA2_SAKEY_URL_MAX];	  /* "" when absent */
	void *key;				  /* EVP_PKEY * (RSA) */
};

/* Read path with the secret-file checks (0600, ours), parse it and load
 * its private_key (never asking for a pass phrase).  err gets a sentence
 * naming the file and the field, never the key.  OA2_ERR_PERM for a file
 * others can read, else OA2_ERR_CONFIG. */
int oa2_sa_key_load(
    const char *path, struct oa2_sa_key *sa, char *err, size_t errsz);
/* The same from the file's bytes (tests, fuzzing). */
int oa2_sa_key_parse(const char *text, size_t len, const char *path,
    struct oa2_sa_key *sa, char *err, size_t errsz);
void oa2_sa_key_free(struct oa2_sa_key *sa);

#endif
