/*
 * probe.h: doctor's real login over the network (probe.c).
 */
#ifndef OA2_PROBE_H
#define OA2_PROBE_H

#include "wire.h"

struct probe_result {
	char where[320];  /* "host port N, STARTTLS" */
	char tls[320];	  /* protocol and verified certificate */
	char mech[32];	  /* the mechanism libsasl2 chose */
	char others[256]; /* what else the server offers (PLAIN LOGIN ...) */
	int ok;		  /* the server accepted the login */
	char reply[512];  /* its final line, printable */
	int have_challenge;
	struct oa2_challenge challenge; /* the decoded error challenge */
	char error[768]; /* no answer to judge: why (connect, TLS, SASL) */
	int tempfail;	 /* that error may pass (network) */
};

/* Log in to hostport ([SCHEME://]HOST[:PORT]; SMTP 587/465, IMAP
 * 143/993; smtps:// and imaps:// for implicit TLS on another port) as
 * mailbox.  0 when the server answered the AUTH (out->ok says how); else
 * an error with out->error set. */
int probe_login(int imap, const char *hostport, const char *ca_file,
    const char *mailbox, struct probe_result *out);

#endif
