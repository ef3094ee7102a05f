/*
 * deviceresp.h: the device authorization endpoint's answer (RFC 8628 3.2):
 * the device code to poll with, and what to show the user.
 */
#ifndef OA2_DEVICERESP_H
#define OA2_DEVICERESP_H

#include <stddef.h>

#include "buf.h"

/* RFC 8628 3.2: the polling interval when the answer names none. */
#define OA2_DEVICE_INTERVAL_DEFAULT 5
/* How long the codes live when the answer does not say. */
#define OA2_DEVICE_EXPIRES_DEFAULT 900

struct oa2_device_response {
	struct oa2_buf device_code; /* wiping; passes oa2_token_check */
	/* printable and truncated; user_code and uri are never "" after a
	 * success (uri is verification_uri, or Microsoft's older
	 * verification_url) */
	char user_code[128];
	char uri[1024];
	char uri_complete[1024]; /* verification_uri_complete, or "" */
	char message[1024];	 /* the provider's own instructions, or "" */
	/* seconds in [1, 86399]; the defaults above when an answer leaves
	 * them out or is out of range; 0 after a refusal */
	long interval;
	long expires_in;
};

void oa2_device_response_init(struct oa2_device_response *dr);
void oa2_device_response_free(struct oa2_device_response *dr);

/*
 * Parse the answer body[0..len) of a 200 response.  0: a device code, a
 * user code and a verification URI.  OA2_ERR_PARSE: not a JSON object, or
 * one of those missing or malformed (OA2_ERR_NOMEM: out of memory); then
 * every field is cleared.
 */
int oa2_device_response_parse(
    const char *body, size_t len, struct oa2_device_response *dr);

#endif
