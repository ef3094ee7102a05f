/*
 * loopback.h: the loopback redirect listener of the authorization code flow
 * (RFC 8252 7.3, 8.3).
 */
#ifndef OA2_LOOPBACK_H
#define OA2_LOOPBACK_H

#include <stddef.h>

#include "redirect.h"

#define LOOPBACK_CONN_TIMEOUT_MS 5000 /* per connection, to send a request */
#define LOOPBACK_MAX_CONN 8	      /* connections served at once */

struct loopback {
	int fd; /* listening socket, -1 when closed */
	unsigned port;
	char host[16];	     /* "127.0.0.1" or "[::1]" */
	int conn_timeout_ms; /* set by loopback_open; tests shorten it */
};

/* Bind 127.0.0.1 on an ephemeral port (::1 if IPv4 loopback is
 * unavailable), listening, close-on-exec. */
int loopback_open(struct loopback *lb);

/* "http://127.0.0.1:PORT/callback" (or [::1]) into buf; OA2_ERR_TOOBIG if
 * it does not fit. */
int loopback_redirect_uri(const struct loopback *lb, char *buf, size_t n);

/*
 * Wait up to timeout_s for the one valid redirect: a GET of /callback whose
 * state equals expected_state (non-empty; compared in constant time).  Several
 * connections are served at once, each with its own read deadline
 * (conn_timeout_ms) and size cap, so an idle or slow connection (a
 * browser's preconnect, a local prober) cannot hold up the real one.
 * Malformed requests, a wrong or missing state, and a matching state with
 * neither code nor error get 400; other paths get 404; the wait goes on.
 * The matching request gets a short success page, or a failure page if it
 * carries error=... (any code with it is dropped), and ends the wait.  The
 * listener is closed on return, whatever the outcome.
 *
 * out must have been initialized (oa2_redirect_init); it is cleared first.
 * Returns 0 (out->code set, or out->error set), OA2_ERR_TIMEOUT,
 * OA2_ERR_IO, OA2_ERR_NOMEM or OA2_ERR_INVAL.
 */
int loopback_wait(struct loopback *lb, const char *expected_state,
    int timeout_s, struct oa2_redirect *out);

/* Close the listener; safe to call twice. */
void loopback_close(struct loopback *lb);

#endif
