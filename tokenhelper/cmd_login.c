/*
 * cmd_login.c: "sasl-oauth2 login": authorize an account once.
 *
 *  - authorization code + PKCE S256 with a loopback redirect (RFC 8252,
 *    RFC 7636): a listener on 127.0.0.1 (or ::1) on a random port (or
 *    --port), the browser opened when a desktop session is there, else the
 *    URL printed; state checked; exactly one answer accepted.  Microsoft
 *    gets http://localhost:PORT, the URI its users register (Entra ignores
 *    the port of a localhost redirect URI, not its host or path).
 *    Headless: a browser on another machine ends on our redirect address
 *    there, so the login also reads its terminal, where the user pastes
 *    that address (or the code alone); the same parser and the same checks
 *    (loopback.c).  The ssh -L line that forwards the port is printed too.
 *  - device authorization grant (RFC 8628) for headless machines; refused
 *    up front for Google, whose device flow refuses the Gmail scope.
 *  - client credentials: fetches a token to prove the configuration.
 *
 * The refresh token the login yields is saved durably (store.c) before
 * the access token is cached.
 *
 * TRUST: the redirect request and the pasted line (loopback.c, redirect.c)
 * and every answer of the identity provider are untrusted and parsed with
 * caps.  The environment (SSH_CONNECTION, the host name) only shapes the
 * printed ssh line, and is checked before it is printed.
 * SECRETS: the PKCE verifier, the authorization code, the device code and
 * the tokens, all in wiping buffers; verbose output shows lengths only.  A
 * pasted line is not echoed (the terminal's echo is off while we read it),
 * and whatever is typed after the answer is discarded when the terminal is
 * given back, so that no code reaches the shell or its history.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "deviceresp.h"
#include "err.h"
#include "errmap.h"
#include "helper.h"
#include "http.h"
#include "loopback.h"
#include "pkce.h"
#include "redirect.h"
#include "tokenresp.h"
#include "wire.h"

#define LOGIN_TIMEOUT 300
#define GOOGLE_MAIL_SCOPE "https://mail.google.com/"

static void
login_usage(FILE *f)
{
	fputs("usage: sasl-oauth2 login [--device] [--no-browser] [--port N] "
	      "[--timeout SECS]\n"
	      "                         ACCOUNT\n"
	      "\n"
	      "Authorize ACCOUNT once; afterwards 'sasl-oauth2 token ACCOUNT' "
	      "and the\nplugin get fresh tokens by themselves.\n"
	      "\n"
	      "  --device        device code flow: print a code to enter on "
	      "another\n"
	      "                  device (not for Google); the default is "
	      "the account's flow\n"
	      "  --no-browser    print the URL instead of opening a browser\n"
	      "  --port N        listen for the redirect on port N (for an "
	      "ssh -L tunnel\n"
	      "                  opened beforehand); default: a free one\n"
	      "  --timeout SECS  how long to wait for the browser or device "
	      "(default 300)\n"
	      "\n"
	      "On a server without a browser, open the URL on another machine "
	      "and paste\nthe address the browser ends on into this "
	      "terminal.\n"
	      "\n"
	      "Examples:\n"
	      "  sasl-oauth2 login work                # opens the browser\n"
	      "  sasl-oauth2 login --no-browser work   # on a server via ssh\n"
	      "  sasl-oauth2 login --device relay      # a code to enter "
	      "elsewhere\n",
	    f);
}

/* Open url with xdg-open when a desktop session is there; its pid, or -1.
 * The URL holds no secret (state and the S256 challenge only).  It is not
 * waited for here: xdg-open's generic fallback runs $BROWSER in the
 * foreground, and the redirect must be listened for meanwhile
 * (browser_reap). */
static pid_t
open_browser(const char *url)
{
	char *argv[] = {"xdg-open", (char *)url, NULL};
	posix_spawn_file_actions_t fa;
	extern char **environ;
	mode_t mask;
	pid_t pid;
	int r;

	if (getenv("DISPLAY") == NULL && getenv("WAYLAND_DISPLAY") == NULL)
		return -1;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	/* The browser xdg-open may start keeps the user's umask, not our
	 * 077 (its downloads would be private). */
	mask = umask(harden_caller_umask());
	r = posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ);
	umask(mask);
	posix_spawn_file_actions_destroy(&fa);
	return r == 0 ? pid : -1;
}

/* Reap xdg-open if it has ended; a browser still open is left running
 * (it outlives us, as it would have been started from a menu). */
static void
browser_reap(pid_t pid)
{
	int status;

	if (pid > 0)
		(void)waitpid(pid, &status, WNOHANG);
}

/* Does the space-separated scope hold word? */
static int
scope_has(const char *scope, const char *word)
{
	size_t n = strlen(word), len;
	const char *p;

	for (p = scope; p != NULL && *p != '\0'; p += len) {
		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (len == n && memcmp(p, word, n) == 0)
			return 1;
	}
	return 0;
}

/* OpenID Connect Core 1.0 section 11: a request for offline_access must
 * carry prompt=consent, or the provider may drop it and issue no refresh
 * token.  Microsoft grants offline_access without it (its preset would only
 * make the user consent again at every login); Google has no such scope
 * and gets its own pair (build_auth_url). */
static int
add_offline_consent(const struct account *acct, struct oa2_buf *q)
{
	if (acct->microsoft || acct->google ||
	    !scope_has(acct->scope, "offline_access"))
		return 0;
	return oa2_form_add(q, "prompt", "consent");
}

static int
build_auth_url(const struct account *acct, const char *redirect_uri,
    const char *state, const char *challenge, struct oa2_buf *url)
{
	struct oa2_buf q;
	int r;

	oa2_buf_init(&q, 16384);
	if ((r = oa2_form_add(&q, "response_type", "code")) != 0 ||
	    (r = oa2_form_add(&q, "client_id", acct->client_id)) != 0 ||
	    (r = oa2_form_add(&q, "redirect_uri", redirect_uri)) != 0 ||
	    (acct->scope != NULL &&
		(r = oa2_form_add(&q, "scope", acct->scope)) != 0) ||
	    (r = oa2_form_add(&q, "state", state)) != 0 ||
	    (r = oa2_form_add(&q, "code_challenge", challenge)) != 0 ||
	    (r = oa2_form_add(&q, "code_challenge_method", "S256")) != 0 ||
	    (r = oa2_form_add(&q, "login_hint", acct->user)) != 0)
		goto out;
	/* Google issues a refresh token only with these. */
	if (acct->google &&
	    ((r = oa2_form_add(&q, "access_type", "offline")) != 0 ||
		(r = oa2_form_add(&q, "prompt", "consent")) != 0))
		goto out;
	if ((r = add_offline_consent(acct, &q)) != 0)
		goto out;
	if ((r = oa2_buf_appendz(url, acct->authorization_endpoint)) != 0 ||
	    (r = oa2_buf_appendc(url,
		 strchr(acct->authorization_endpoint, '?') ? '&' : '?')) != 0 ||
	    (r = oa2_buf_append(url, q.data, q.len)) != 0)
		goto out;
out:
	oa2_buf_free(&q);
	return r;
}

static void
report_login(const struct account *acct, const struct oa2_token_response *tr,
    time_t expiry)
{
	fprintf(stderr,
	    "sasl-oauth2: account %s: logged in as %s; token valid for %lld "
	    "min%s\n",
	    acct->name, acct->user, (long long)(expiry - time(NULL)) / 60,
	    tr->refresh_token.len > 0
		? ", refresh token stored"
		: "; no refresh token was issued (is offline_access in the "
		  "scope?), so you will have to log in again when it expires");
}

/* The grant's redemption and the save of its refresh token hold the
 * account's lock, as a refresh does: a refresh of the old grant that
 * finished after our save would put its rotated token over the new one.
 * *lock is released by the caller (account_unlock). */
static int
login_lock(const struct account *acct, int *lock)
{
	*lock = account_lock(acct, LOCK_TIMEOUT);
	if (*lock == OA2_ERR_TIMEOUT) {
		*lock = -1;
		account_lock_busy(acct->name);
		return OA2_ERR_PROVIDER;
	}
	return 0; /* without a lock (no state dir), the save says why */
}

/* RFC 9207: the authorization response names the issuer that sent it;
 * one naming another issuer (a mix-up attack, or a browser that logged in
 * elsewhere) is refused, and so is one without iss from an issuer whose
 * metadata promises it.  The issuer to compare with is the configured one
 * (discovery checked that the metadata says the same). */
static int
check_iss(const struct account *acct, const struct oa2_redirect *rd)
{
	if (!rd->has_iss && !acct->iss_supported)
		return 0;
	if (acct->issuer == NULL) {
		verbose("account %s: the authorization response names issuer "
			"%s; set issuer to have it checked",
		    acct->name, rd->iss);
		return 0;
	}
	if (!rd->has_iss) {
		say("account %s: the authorization response names no issuer "
		    "although %s promises to (RFC 9207); the code is refused: "
		    "run login again, and make sure the browser goes to %s",
		    acct->name, acct->issuer, acct->authorization_endpoint);
		return OA2_ERR_AUTH;
	}
	if (strcmp(rd->iss, acct->issuer) != 0) {
		say("account %s: the authorization response comes from issuer "
		    "%s, not from %s (RFC 9207); the code is refused: run "
		    "login again, and make sure the browser goes to %s",
		    acct->name, rd->iss, acct->issuer,
		    acct->authorization_endpoint);
		return OA2_ERR_AUTH;
	}
	return 0;
}

/*
 * The login's terminal while a pasted answer may come: non-canonical, so
 * that a long address is not cut at the line discipline's 4095 bytes, and
 * without echo, so that the code stays out of the scrollback.  Given back
 * on every way out, the usual signals included, with TCSAFLUSH: whatever
 * was typed or pasted meanwhile goes nowhere, in particular not to the
 * shell that reads the terminal next (it may hold a code).
 */
static struct termios term_saved;
static volatile sig_atomic_t term_taken;
static const int term_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
static struct sigaction
    term_oldact[sizeof(term_signals) / sizeof(term_signals[0])];

static void
term_on_signal(int sig)
{
	if (term_taken)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &term_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
terminal_give_back(void)
{
	sigset_t block, old;
	size_t i;

	if (!term_taken)
		return;
	/* Put in the background meanwhile, we would be stopped by SIGTTOU
	 * unless it is blocked. */
	sigemptyset(&block);
	sigaddset(&block, SIGTTOU);
	sigprocmask(SIG_BLOCK, &block, &old);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &term_saved);
	sigprocmask(SIG_SETMASK, &old, NULL);
	term_taken = 0;
	for (i = 0; i < sizeof(term_signals) / sizeof(term_signals[0]); i++)
		sigaction(term_signals[i], &term_oldact[i], NULL);
}

/* Take stdin's terminal if we run in its foreground; 1 if taken.  With no
 * terminal (a pipe, /dev/null, a background job) the login listens only. */
static int
terminal_take(void)
{
	struct termios raw;
	struct sigaction sa;
	size_t i;

	if (!isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) != getpgrp() ||
	    tcgetattr(STDIN_FILENO, &term_saved) != 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = term_on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(term_signals) / sizeof(term_signals[0]); i++) {
		sigaction(term_signals[i], NULL, &term_oldact[i]);
		if (term_oldact[i].sa_handler != SIG_IGN) /* nohup stays */
			sigaction(term_signals[i], &sa, NULL);
	}
	raw = term_saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ECHONL);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	term_taken = 1;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) != 0) {
		terminal_give_back();
		return 0;
	}
	return 1;
}

/* s is made of word characters (and those of extra) only, and not empty. */
static int
is_word(const char *s, const char *extra)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
			(*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return 0;
	return 1;
}

/* The ssh line that forwards the browser machine's port to our listener:
 * with the address and port this ssh session came in by, where sshd says
 * so (SSH_CONNECTION), else the host name; each checked before use. */
static void
print_tunnel(const struct loopback *lb)
{
	char conn[256], host[256] = "", sport[8] = "";
	char *f[4], *p;
	unsigned char addr[sizeof(struct in6_addr)];
	const struct passwd *pw = getpwuid(geteuid());
	const char *e = getenv("SSH_CONNECTION");
	const char *user =
	    pw != NULL && is_word(pw->pw_name, "._-") ? pw->pw_name : "USER";
	int n = 0;
	long port;

	/* "client-address client-port server-address server-port" */
	if (e != NULL && strlen(e) < sizeof(conn)) {
		memcpy(conn, e, strlen(e) + 1);
		for (p = conn; n < 4; p++) {
			f[n++] = p;
			if ((p = strchr(p, ' ')) == NULL)
				break;
			*p = '\0';
		}
		if (n == 4 &&
		    (inet_pton(AF_INET, f[2], addr) == 1 ||
			inet_pton(AF_INET6, f[2], addr) == 1) &&
		    is_word(f[3], "") && strlen(f[3]) < 6) {
			snprintf(host, sizeof(host), "%s", f[2]);
			port = strtol(f[3], NULL, 10);
			if (port != 22)
				snprintf(sport, sizeof(sport), "%ld", port);
		}
	}
	if (host[0] == '\0' &&
	    (gethostname(host, sizeof(host)) != 0 ||
		host[sizeof(host) - 1] != '\0' || !is_word(host, ".-")))
		snprintf(host, sizeof(host), "SERVER");
	fprintf(stderr, "ssh -L %u:%s:%u %s%s%s%s@%s\n", lb->port, lb->addr,
	    lb->port, sport[0] ? "-p " : "", sport, sport[0] ? " " : "", user,
	    host);
}

static int
login_authcode(struct account *acct, int no_browser, int timeout, unsigned port)
{
	struct oa2_buf verifier, challenge, state, url;
	struct oa2_token_response tr;
	struct oa2_redirect rd;
	struct loopback lb = {.fd = -1};
	char redirect_uri[128], label[256];
	time_t expiry;
	pid_t browser = -1;
	int r, lock = -1, pasting = 0;

	oa2_buf_init(&verifier, 256);
	oa2_buf_init(&challenge, 256);
	oa2_buf_init(&state, 256);
	oa2_buf_init(&url, 32768);
	oa2_redirect_init(&rd);
	oa2_token_response_init(&tr);
	if (acct->authorization_endpoint[0] == '\0') {
		say("account %s: no authorization_endpoint; set it (or "
		    "issuer), or use --device",
		    acct->name);
		r = OA2_ERR_CONFIG;
		goto out;
	}
	if ((r = oa2_pkce_new(&verifier, &challenge)) != 0 ||
	    (r = oa2_state_new(&state)) != 0)
		goto out;
	/* Entra matches a localhost redirect URI on everything but its port:
	 * send what docs/microsoft365.md has admins register. */
	r = loopback_open(
	    &lb, acct->microsoft ? LOOPBACK_LOCALHOST : LOOPBACK_IP, port);
	if (r != 0 && port != 0 &&
	    (lb.bind_errno == EADDRINUSE || lb.bind_errno == EACCES)) {
		say("account %s: cannot listen on port %u of 127.0.0.1 for the "
		    "redirect (%s): another program or another login holds "
		    "it; choose another --port, or leave --port out for a "
		    "free one",
		    acct->name, port, strerror(lb.bind_errno));
		goto out;
	} else if (r != 0) {
		say("account %s: cannot listen on a loopback port for the "
		    "redirect (%s); use --device",
		    acct->name, strerror(lb.bind_errno));
		goto out;
	}
	loopback_redirect_uri(&lb, redirect_uri, sizeof(redirect_uri));
	if ((r = build_auth_url(
		 acct, redirect_uri, state.data, challenge.data, &url)) != 0)
		goto out;
	if (no_browser || (browser = open_browser(url.data)) < 0)
		fprintf(stderr,
		    "sasl-oauth2: account %s: to log in as %s, open this URL "
		    "in a browser:\n\n%s\n\n",
		    acct->name, acct->user, url.data);
	else
		fprintf(stderr,
		    "sasl-oauth2: account %s: a browser window should open; "
		    "if not, open:\n\n%s\n\n",
		    acct->name, url.data);
	fprintf(stderr,
	    "sasl-oauth2: waiting up to %d s for the redirect to %s\n", timeout,
	    redirect_uri);
	if ((pasting = terminal_take())) {
		fprintf(stderr,
		    "sasl-oauth2: if the browser is on another machine, copy "
		    "the address it ends on (even an error page) and paste it "
		    "here, then press Enter (it is not shown); or forward the "
		    "port from that machine before you sign in:\n");
	} else {
		fprintf(stderr,
		    "sasl-oauth2: if the browser is on another machine, "
		    "forward the port from there before you sign in:\n");
	}
	print_tunnel(&lb);
	/* A code alone names no issuer: only where none is promised. */
	snprintf(label, sizeof(label), "account %s", acct->name);
	lb.label = label;
	lb.paste_fd = pasting ? STDIN_FILENO : -1;
	lb.bare_code_ok = !acct->iss_supported;
	r = loopback_wait(&lb, state.data, timeout, &rd);
	loopback_close(&lb);
	browser_reap(browser);
	if (r == OA2_ERR_TIMEOUT) {
		say("account %s: no redirect arrived within %d s; run login "
		    "again%s (or use --device)",
		    acct->name, timeout,
		    pasting ? ", and paste the address the browser ends on if "
			      "it is on another machine"
			    : "");
		goto out;
	} else if (r != 0) {
		say("account %s: the loopback listener failed: %s", acct->name,
		    oa2_strerror(r));
		goto out;
	}
	if ((r = check_iss(acct, &rd)) != 0)
		goto out;
	if (rd.error[0] != '\0') {
		say("account %s: the identity provider refused the login: "
		    "%s%s%s",
		    acct->name, rd.error, rd.error_description[0] ? ": " : "",
		    rd.error_description);
		r = OA2_ERR_AUTH;
		goto out;
	}
	verbose("account %s: got an authorization code (%u bytes) %s",
	    acct->name, (unsigned)rd.code.len,
	    lb.pasted ? "pasted on the terminal" : "by the redirect");
	if ((r = login_lock(acct, &lock)) != 0 ||
	    (r = flow_code_exchange(
		 acct, rd.code.data, redirect_uri, verifier.data, &tr)) != 0 ||
	    (r = token_accept(acct, &tr, &expiry)) != 0)
		goto out;
	account_unlock(lock);
	lock = -1;
	report_login(acct, &tr, expiry);
out:
	account_unlock(lock);
	loopback_close(&lb);
	terminal_give_back();
	oa2_buf_free(&verifier);
	oa2_buf_free(&challenge);
	oa2_buf_free(&state);
	oa2_buf_free(&url);
	oa2_redirect_free(&rd);
	oa2_token_response_free(&tr);
	return r;
}

static int
device_start(const struct account *acct, struct oa2_device_response *da)
{
	struct oa2_http h = {0};
	struct oa2_buf form, body;
	char err[768], retry_after[OA2_RETRY_AFTER_MAX];
	long status = 0;
	int r;

	h.retry_after = retry_after;
	oa2_buf_init(&form, 16384);
	oa2_buf_init(&body, OA2_HTTP_BODY_MAX);
	if ((r = client_auth(acct, acct->device_endpoint, &form, &h)) != 0)
		goto out;
	if ((acct->scope != NULL &&
		(r = oa2_form_add(&form, "scope", acct->scope)) != 0) ||
	    (r = add_offline_consent(acct, &form)) != 0)
		goto out;
	r = oa2_http_post(
	    &h, acct->device_endpoint, &form, &status, &body, err, sizeof(err));
	if (r != 0) {
		say("account %s: %s", acct->name, err);
		goto out;
	}
	if (status != 200) {
		struct oa2_token_response tr;
		char msg[1024];
		oa2_token_response_init(&tr);
		(void)oa2_token_response_parse(
		    oa2_buf_str(&body), body.len, status, &tr);
		memcpy(tr.retry_after, retry_after, sizeof(tr.retry_after));
		r = oa2_explain(&tr, acct->name, 0, msg, sizeof(msg));
		say("%s", msg);
		oa2_token_response_free(&tr);
		goto out;
	}
	r = oa2_device_response_parse(oa2_buf_str(&body), body.len, da);
	if (r != 0)
		say("account %s: the device authorization answer from %s is "
		    "unusable",
		    acct->name, acct->device_endpoint);
out:
	oa2_buf_free(&form);
	oa2_buf_free(&body);
	return r;
}

static int
login_device(struct account *acct, int timeout)
{
	struct oa2_token_response tr;
	struct oa2_device_response da;
	struct oa2_buf form;
	struct timespec pause;
	char neterr[768] = "";
	time_t deadline, expiry;
	int r, lock = -1;

	oa2_device_response_init(&da);
	oa2_buf_init(&form, 65536);
	oa2_token_response_init(&tr);
	if (acct->device_endpoint[0] == '\0') {
		say("account %s: the provider has no device authorization "
		    "endpoint; set device_authorization_endpoint or use the "
		    "browser login",
		    acct->name);
		r = OA2_ERR_CONFIG;
		goto out;
	}
	if ((r = device_start(acct, &da)) != 0)
		goto out;
	if (da.message[0] != '\0')
		fprintf(stderr, "sasl-oauth2: account %s: %s\n", acct->name,
		    da.message);
	else
		fprintf(stderr,
		    "sasl-oauth2: account %s: on any device, open %s and "
		    "enter the code %s\n",
		    acct->name, da.uri, da.user_code);
	if (da.uri_complete[0] != '\0')
		fprintf(stderr, "sasl-oauth2: (or open %s)\n", da.uri_complete);
	deadline =
	    time(NULL) + (da.expires_in < timeout ? da.expires_in : timeout);
	if ((r = oa2_form_add(&form, "grant_type",
		 "urn:ietf:params:oauth:grant-type:device_code")) != 0 ||
	    (r = oa2_form_add(&form, "device_code", da.device_code.data)) != 0)
		goto out;
	for (;;) {
		struct oa2_buf f;

		pause.tv_sec = da.interval;
		pause.tv_nsec = 0;
		if (time(NULL) + da.interval > deadline) {
			if (neterr[0] != '\0')
				say("account %s: no approval arrived in time, "
				    "and the last poll of the token endpoint "
				    "got no answer (%s); check the network and "
				    "token_endpoint, then run login again",
				    acct->name, neterr);
			else
				say("account %s: the code was not approved in "
				    "time; run login again",
				    acct->name);
			r = OA2_ERR_TIMEOUT;
			goto out;
		}
		nanosleep(&pause, NULL);
		/* Each poll is judged on its own answer: what an earlier
		 * poll said (authorization_pending) is no news now. */
		oa2_token_response_free(&tr);
		oa2_token_response_init(&tr);
		neterr[0] = '\0';
		/* The poll that redeems the grant and the save hold the lock
		 * (login_lock); between polls, refreshes may run. */
		if ((r = login_lock(acct, &lock)) != 0)
			goto out;
		/* token_request adds client authentication to the form. */
		oa2_buf_init(&f, 65536);
		r = oa2_buf_append(&f, form.data, form.len);
		if (r == 0) {
			int saved = opt.verbose;
			r = token_request_quiet(
			    acct, &f, &tr, neterr, sizeof(neterr));
			opt.verbose = saved;
		}
		oa2_buf_free(&f);
		if (r == 0)
			break;
		account_unlock(lock);
		lock = -1;
		/* No answer (a network blip, a timeout): the code may still
		 * be approved, so poll again; RFC 8628 3.5 asks for a lower
		 * frequency after a timeout. */
		if (neterr[0] != '\0') {
			if (r == OA2_ERR_TIMEOUT)
				da.interval *= 2;
			continue;
		}
		if (r != OA2_ERR_PROVIDER)
			goto out; /* token_post said why */
		if (strcmp(tr.error, "authorization_pending") == 0)
			continue;
		if (strcmp(tr.error, "slow_down") == 0) {
			da.interval += 5;
			continue;
		}
		/* access_denied, expired_token, anything else: explain. */
		{
			char msg[1024];
			r = oa2_explain(&tr, acct->name, 0, msg, sizeof(msg));
			say("%s", msg);
		}
		goto out;
	}
	if ((r = token_accept(acct, &tr, &expiry)) != 0)
		goto out;
	account_unlock(lock);
	lock = -1;
	report_login(acct, &tr, expiry);
out:
	account_unlock(lock);
	oa2_device_response_free(&da);
	oa2_buf_free(&form);
	oa2_token_response_free(&tr);
	return r;
}

/* One line from stdin, or from the terminal with echo off. */
static int
read_password(struct oa2_buf *pw)
{
	struct termios old, quiet;
	FILE *in = stdin;
	int tty = isatty(STDIN_FILENO), c, r = 0;

	if (tty) {
		fputs("Password (not shown): ", stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		} else
			tty = 0;
	}
	while ((c = fgetc(in)) != EOF && c != '\n' && r == 0)
		r = oa2_buf_appendc(pw, (char)c);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (r == 0 && pw->len > 0 && pw->data[pw->len - 1] == '\r')
		pw->data[--pw->len] = '\0';
	return r != 0 ? r : pw->len > 0 ? 0 : OA2_ERR_INVAL;
}

/* The resource owner password grant: legacy, kept for tenants that still
 * allow it.  The password is read once and wiped; it is never stored. */
static int
login_password(struct account *acct)
{
	struct oa2_token_response tr;
	struct oa2_buf pw, form;
	time_t expiry;
	int r, lock = -1;

	say("account %s: flow = password (ROPC) is legacy: it fails for "
	    "accounts with MFA or Conditional Access, and Entra needs \"Allow "
	    "public client flows\"; prefer authorization_code or device_code",
	    acct->name);
	oa2_buf_init(&pw, 4096);
	oa2_buf_init(&form, 65536);
	oa2_token_response_init(&tr);
	if ((r = read_password(&pw)) != 0) {
		say("account %s: no password given", acct->name);
		goto out;
	}
	if ((r = oa2_form_add(&form, "grant_type", "password")) != 0 ||
	    (r = oa2_form_add(&form, "username", acct->user)) != 0 ||
	    (r = oa2_form_add(&form, "password", pw.data)) != 0 ||
	    (acct->scope != NULL &&
		(r = oa2_form_add(&form, "scope", acct->scope)) != 0))
		goto out;
	oa2_buf_free(&pw);
	if ((r = login_lock(acct, &lock)) != 0)
		goto out;
	r = token_request_quiet(acct, &form, &tr, NULL, 0);
	if (r == OA2_ERR_PROVIDER) {
		char msg[1024];

		r = oa2_explain(
		    &tr, acct->name, OA2_GRANT_PASSWORD, msg, sizeof(msg));
		say("%s", msg);
	}
	if (r != 0 || (r = token_accept(acct, &tr, &expiry)) != 0)
		goto out;
	account_unlock(lock);
	lock = -1;
	report_login(acct, &tr, expiry);
out:
	account_unlock(lock);
	oa2_buf_free(&pw);
	oa2_buf_free(&form);
	oa2_token_response_free(&tr);
	return r;
}

static int
parse_port(const char *arg, unsigned *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < 1 || v > 65535) {
		say("--port takes a port number (1 to 65535)");
		return -1;
	}
	*port = (unsigned)v;
	return 0;
}

/* Google's device flow answers invalid_scope for the Gmail scope (it
 * allows a short list of scopes, not mail), so it is refused here, before
 * any request, with the way that works. */
static int
google_device_refused(const struct account *acct, int device_option)
{
	if (!acct->google || !scope_has(acct->scope, GOOGLE_MAIL_SCOPE))
		return 0;
	say("account %s: Google's device flow does not allow the Gmail scope "
	    "(" GOOGLE_MAIL_SCOPE "), so a device code login (flow = "
	    "device_code, or --device) cannot work for provider = google; use "
	    "the browser login: %s 'sasl-oauth2 login %s', which on a server "
	    "without a browser lets you open the URL on another machine and "
	    "paste the address it ends on",
	    acct->name,
	    acct->flow == FLOW_DEVICE_CODE ? "remove flow = device_code and run"
		: device_option		   ? "run, without --device,"
					   : "run",
	    acct->name);
	return OA2_ERR_CONFIG;
}

/* No login: a token for each mailbox of user proves the key and the
 * delegation (acct is resolved for the first). */
static int
login_service_account(const struct oa2_config *cfg, const struct oa2_account *a,
    struct account *acct)
{
	char mb[OA2_MAILBOX_MAX + 1];
	struct account one;
	struct oa2_buf tok;
	time_t expiry;
	size_t n;
	int r = 0, r1;

	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	for (n = 0; oa2_user_nth(acct->user_list, n, mb, sizeof(mb)) == 0;
	     n++) {
		if ((r1 = account_resolve(cfg, a, mb, &one)) == 0 &&
		    (r1 = token_obtain(
			 &one, TOKEN_MIN_TTL, 1, &tok, &expiry)) == 0)
			fprintf(stderr,
			    "sasl-oauth2: account %s: service account %s "
			    "acts for %s; token valid for %lld min (no login "
			    "is needed for this flow)\n",
			    one.name, one.sa_email, one.user,
			    (long long)(expiry - time(NULL)) / 60);
		account_free(&one);
		if (r == 0)
			r = r1;
	}
	oa2_buf_free(&tok);
	return r;
}

int
cmd_login(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"device", no_argument, NULL, 'd'},
	    {"no-browser", no_argument, NULL, 'n'},
	    {"port", required_argument, NULL, 'p'},
	    {"timeout", required_argument, NULL, 't'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const struct oa2_account *a;
	struct oa2_config cfg = {0};
	struct account acct;
	struct oa2_buf tok;
	char path[1024];
	long secs;
	int c, r, device = 0, no_browser = 0, timeout = LOGIN_TIMEOUT;
	unsigned port = 0;
	time_t expiry;

	while (
	    (c = getopt_long(argc, argv, "dnp:t:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = 1;
			break;
		case 'n':
			no_browser = 1;
			break;
		case 'p':
			if (parse_port(optarg, &port) != 0)
				return EXIT_USAGE;
			break;
		case 't':
			if (parse_seconds(
				optarg, "--timeout", 1, 3600, &secs) != 0)
				return EXIT_USAGE;
			timeout = (int)secs;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'h':
			login_usage(stdout);
			return 0;
		default:
			login_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		login_usage(stderr);
		return EXIT_USAGE;
	}
	if (config_open(&cfg, path, sizeof(path)) != 0)
		return EXIT_CONFIG;
	if ((a = config_account(&cfg, path, argv[optind], 0)) == NULL) {
		oa2_config_free(&cfg);
		return EXIT_CONFIG;
	}
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	if ((r = account_resolve(&cfg, a, NULL, &acct)) != 0)
		goto out;
	if (!account_app_only(&acct) && acct.flow != FLOW_PASSWORD &&
	    (device || acct.flow == FLOW_DEVICE_CODE) &&
	    (r = google_device_refused(&acct, device)) != 0)
		goto out;
	if ((r = account_endpoints(&acct)) != 0)
		goto out;
	if (acct.flow == FLOW_CLIENT_CREDENTIALS) {
		if ((r = token_obtain(
			 &acct, TOKEN_MIN_TTL, 1, &tok, &expiry)) == 0)
			fprintf(stderr,
			    "sasl-oauth2: account %s: client credentials "
			    "work; token valid for %lld min (no login is "
			    "needed for this flow)\n",
			    acct.name, (long long)(expiry - time(NULL)) / 60);
	} else if (acct.flow == FLOW_SERVICE_ACCOUNT) {
		r = login_service_account(&cfg, a, &acct);
	} else if (acct.flow == FLOW_PASSWORD) {
		r = login_password(&acct);
	} else if (device || acct.flow == FLOW_DEVICE_CODE) {
		r = login_device(&acct, timeout);
	} else {
		r = login_authcode(&acct, no_browser, timeout, port);
	}
out:
	oa2_buf_free(&tok);
	account_free(&acct);
	oa2_config_free(&cfg);
	return exit_code_for(r);
}
