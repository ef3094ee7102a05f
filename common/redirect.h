/*
 * redirect.h: parse the one HTTP request the loopback listener of the
 * authorization code flow accepts (RFC 8252 7.3): the browser's GET of
 * http://127.0.0.1:PORT/callback?code=...&state=... -- or the same address
 * pasted by the user when the browser runs on another machine.
 */
#ifndef OA2_REDIRECT_H
#define OA2_REDIRECT_H

#include <stddef.h>

#include "buf.h"

#define OA2_REDIRECT_REQ_MAX 8192 /* request line and headers, bytes */
/* The code is bounded by the request: no provider's code comes near. */
#define OA2_REDIRECT_CODE_MAX OA2_REDIRECT_REQ_MAX

struct oa2_redirect {
	struct oa2_buf code;	     /* wiping; empty if absent */
	char state[256];	     /* decoded; "" if absent */
	char error[128];	     /* printable; "" if absent */
	char error_description[512]; /* printable, percent-decoded */
	char iss[1024];		     /* RFC 9207, decoded; "" if absent */
	int has_iss;		     /* iss was present (even empty) */
	char path[256];		     /* as sent, not decoded */
};

void oa2_redirect_init(struct oa2_redirect *r);
/* Wipes the code; r may be reused after oa2_redirect_init. */
void oa2_redirect_free(struct oa2_redirect *r);

/*
 * data[0..len) is what arrived so far (untrusted); out must have been
 * initialized and is cleared first.  Returns
 *   1  more bytes are needed (no "\r\n\r\n" yet and len < the cap);
 *   0  a complete "GET <origin-form> HTTP/1.x" request line and well-formed
 *      headers were parsed (bytes after the blank line are ignored);
 *   OA2_ERR_TOOBIG  over OA2_REDIRECT_REQ_MAX, or path/state over their
 *      fields;
 *   OA2_ERR_PARSE   anything malformed: another method, a target that is
 *      not origin-form, a bad percent escape, a NUL byte (raw or %00), a
 *      repeated code/state/error/error_description, an empty code or
 *      error, a code or state outside RFC 6749's VSCHAR.
 * Garbage is rejected as soon as its first bytes show it, so the listener
 * need not wait for a blank line that never comes.  On error out is left
 * cleared.  Query values are form-decoded ('+' is a space); iss must be
 * VSCHAR and fit its field; parameters other than the five kept ones
 * (session_state, scope, ...) are
 * checked for valid escapes and otherwise ignored.  error and
 * error_description are truncated to their fields, never rejected for
 * length: a failure must reach the user.
 */
int oa2_redirect_parse(const char *data, size_t len, struct oa2_redirect *out);

/* The shortest line taken for an authorization code alone: no provider's
 * code is shorter, and a stray word or keypress is not sent as one. */
#define OA2_PASTED_CODE_MIN 10

/*
 * A line the user pasted into the login's terminal (untrusted): the
 * address the browser ended on, or the authorization code alone.
 * redirect_uri is the one the login sent: "http://127.0.0.1:PORT/callback"
 * or "http://localhost:PORT".  Spaces, tabs and line ends around the line
 * are dropped.
 *
 * An address must start with redirect_uri's origin (scheme, host and port,
 * ASCII case ignored), or with its host and port alone (what a browser
 * shows of it); its path and query then go through the same origin-form
 * parser as a request to the listener, so they get the same checks and
 * caps.  A code alone (OA2_PASTED_CODE_MIN or more of A-Z a-z 0-9 and
 * - . _ ~ / % = +) is parsed as the query "code=LINE" of redirect_uri's
 * path, and *bare is set: it carries no state and no iss, which the caller
 * must weigh.  Returns
 *   0  out holds the path (a code alone: redirect_uri's, "/" when it has
 *      none), code, state, error, iss as the listener would see them; the
 *      caller judges them (path, state) exactly as it judges a request;
 *   1  the line is blank;
 *   OA2_ERR_NOTFOUND  an http(s) address, but not under redirect_uri's
 *      origin (a page of the provider, another login's port);
 *   OA2_ERR_PARSE     neither an address nor a code, or a malformed one;
 *   OA2_ERR_TOOBIG    OA2_REDIRECT_REQ_MAX bytes or more, or a field over
 *      its size;
 *   OA2_ERR_INVAL     redirect_uri is not an absolute http(s) URI.
 * On error out is left cleared and *bare 0.  The caller wipes line.
 */
int oa2_redirect_parse_pasted(const char *line, size_t len,
    const char *redirect_uri, struct oa2_redirect *out, int *bare);

#endif
