/*
 * loopback.h: the loopback redirect listener of the authorization code flow
 * (RFC 8252 7.3, 8.3), and the terminal a user may paste the redirect into
 * when the browser runs on another machine.
 */
#ifndef OA2_LOOPBACK_H
#define OA2_LOOPBACK_H

#include <stddef.h>

#include "redirect.h"

#define LOOPBACK_CONN_TIMEOUT_MS 5000 /* per connection, to send a request */
#define LOOPBACK_MAX_CONN 8	      /* connections served at once */

enum loopback_kind {
	/* http://127.0.0.1:PORT/callback, or http://[::1]:PORT/callback
	 * where IPv4 loopback is missing: RFC 8252's own form. */
	LOOPBACK_IP,
	/* http://localhost:PORT, listened for on 127.0.0.1 and ::1 at once:
	 * what Entra users register ("http://localhost"; Entra ignores the
	 * port of a localhost redirect URI, not its host or path), and the
	 * browser may resolve localhost to either address. */
	LOOPBACK_LOCALHOST
};

struct loopback {
	int fd;	 /* listening socket, -1 when closed */
	int fd6; /* LOOPBACK_LOCALHOST: the [::1] socket beside fd, or -1 */
	unsigned port;
	char host[16];	  /* of the redirect URI: 127.0.0.1, [::1], localhost */
	char addr[16];	  /* fd's address: "127.0.0.1" or "[::1]" */
	const char *path; /* the redirect's path: "/callback" or "/" */
	int conn_timeout_ms; /* set by loopback_open; tests shorten it */
	int bind_errno;	     /* why loopback_open failed; EADDRINUSE: taken */
	/* Set by the caller after loopback_open, for loopback_wait: */
	int paste_fd;	   /* a terminal to read pasted lines from, or -1 */
	int bare_code_ok;  /* a pasted code alone (no state, no iss) will do */
	const char *label; /* "account NAME": who the pasted lines are for */
	/* Set by loopback_wait: */
	int pasted; /* the answer was pasted, not delivered */
};

/*
 * Listen on loopback only, close-on-exec: on port (0: one the kernel
 * picks; a fixed one may still be in TIME_WAIT from our last run, which is
 * allowed, but never one another socket listens on).  LOOPBACK_IP binds
 * 127.0.0.1, else ::1; LOOPBACK_LOCALHOST binds 127.0.0.1 and ::1 on the
 * same port (a port someone else holds on ::1 is not taken: a browser that
 * tries ::1 first would hand them the code), or the one of the two the
 * machine has.  paste_fd is set to -1.  On failure returns OA2_ERR_IO (or
 * OA2_ERR_INVAL for a port over 65535) with bind_errno set.
 */
int loopback_open(struct loopback *lb, enum loopback_kind kind, unsigned port);

/* The redirect URI into buf: "http://127.0.0.1:PORT/callback" (or [::1]),
 * or "http://localhost:PORT" (as Entra users register it, without a path;
 * the browser asks for "/"); OA2_ERR_TOOBIG if it does not fit. */
int loopback_redirect_uri(const struct loopback *lb, char *buf, size_t n);

/*
 * Wait up to timeout_s for the one valid answer: a GET of lb->path whose
 * state equals expected_state (non-empty; compared in constant time), or
 * the same thing pasted as a line on paste_fd (see below).  Several
 * connections are served at once, each with its own read deadline
 * (conn_timeout_ms) and size cap, so an idle or slow connection (a
 * browser's preconnect, a local prober) cannot hold up the real one.
 * Malformed requests, a wrong or missing state, and a matching state with
 * neither code nor error get 400; other paths get 404; the wait goes on.
 * The matching request gets a short success page, or a failure page if it
 * carries error=... (any code with it is dropped), and ends the wait.
 *
 * Lines on paste_fd (a terminal in non-canonical mode without echo, or any
 * readable fd; backspace, ^U and ^D are handled, ^D on an empty line stops
 * the reading) go through oa2_redirect_parse_pasted and are judged as a
 * request is: the same path and state checks, the same error handling.  A
 * code alone passes without a state (the user is the channel, and PKCE
 * binds it to this login) only with bare_code_ok.  A line that is refused
 * is said why on stderr, in one sentence naming label, and the wait goes
 * on; lb->pasted tells which way the answer came.  Pasted lines are kept
 * in wiping buffers only.
 *
 * The listener is closed on return, whatever the outcome; paste_fd is left
 * open.  out must have been initialized (oa2_redirect_init); it is cleared
 * first.  Returns 0 (out->code set, or out->error set), OA2_ERR_TIMEOUT,
 * OA2_ERR_IO, OA2_ERR_NOMEM or OA2_ERR_INVAL.
 */
int loopback_wait(struct loopback *lb, const char *expected_state,
    int timeout_s, struct oa2_redirect *out);

/* Close the listener; safe to call twice. */
void loopback_close(struct loopback *lb);

#endif
