/*
 * replies.h: what a mail server's answer to an OAuth login means, for
 * "sasl-oauth2 doctor": Exchange Online's documented SMTP replies and the
 * IMAP failure with its RFC 7628 error challenge, each with a sentence
 * that says what to do and the helper's exit status for it.
 */
#ifndef OA2_REPLIES_H
#define OA2_REPLIES_H

#include "wire.h"

struct oa2_diagnosis {
	int exit;	  /* sysexits: 75 try later, 77 log in, 78 configure */
	const char *what; /* one sentence: what happened, what to do */
};

/* reply: the server's final line (SMTP "535 5.7.3 ...", IMAP "a2 NO ...",
 * tag included or not), printable; ch: the decoded error challenge, or
 * NULL.  Never NULL: an unknown answer gets a generic sentence. */
const struct oa2_diagnosis *oa2_reply_diagnose(
    int imap, const char *reply, const struct oa2_challenge *ch);

#endif
