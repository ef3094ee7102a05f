/*
 * cmd_status.c: "sasl-oauth2 status": what each account has, as a table
 * or JSON.  Reads the cache and the store; never touches the network.
 *
 * SECRETS: none are printed; tokens are read only to learn that they
 * exist, into wiping buffers.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "helper.h"

/* Microsoft identity platform: a refresh token unused this long is dead
 * (AADSTS700082). */
#define MICROSOFT_RT_IDLE (90LL * 86400)
#include "keyring.h"
#include "store.h"
#include "wire.h"

static const char *const flow_names[] = {"authorization_code", "device_code",
    "client_credentials", "password", "service_account"};

/* Seconds left of a's cached access token for mailbox, -1 if none. */
static long long
cached_left(const struct oa2_config *cfg, const struct oa2_account *a,
    const char *mailbox, time_t now)
{
	struct oa2_buf tok;
	long long left = -1;
	time_t exp = 0;

	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	if (oa2_keyring_get(mailbox, config_key_qualifier(cfg, a, mailbox), now,
		0, &tok, &exp, NULL) == 0)
		left = (long long)(exp - now);
	oa2_buf_free(&tok);
	return left;
}

static int
json_field(struct oa2_buf *out, const char *name, const char *value)
{
	int r;

	if ((r = oa2_buf_appendc(out, '"')) != 0 ||
	    (r = oa2_buf_appendz(out, name)) != 0 ||
	    (r = oa2_buf_appendz(out, "\":\"")) != 0 ||
	    (r = oa2_json_escape(out, value, strlen(value))) != 0)
		return r;
	return oa2_buf_appendc(out, '"');
}

/* One account: a table row for each mailbox it serves, or a JSON object
 * appended to out.  Every account appears, however its user reads. */
static int
describe(const struct oa2_config *cfg, const struct oa2_account *a, int json,
    struct oa2_buf *out)
{
	struct oa2_store_entry e;
	char err[512], access[64], refresh[96], mb[OA2_MAILBOX_MAX + 1],
	    num[96];
	const char *users = a->v[OA2_K_USER] ? a->v[OA2_K_USER] : "";
	const char *flow = a->v[OA2_K_FLOW]
	    ? a->v[OA2_K_FLOW]
	    : flow_names[FLOW_AUTHORIZATION_CODE];
	time_t now = time(NULL);
	enum store_kind kind;
	size_t f, n;
	long long left, first_left = -1, age = -1, idle = -1;
	int have_rt = 0, rt_state, r = 0;
	const int microsoft = a->v[OA2_K_PROVIDER] != NULL &&
	    strcmp(a->v[OA2_K_PROVIDER], "microsoft") == 0;

	for (f = 0; f < sizeof(flow_names) / sizeof(flow_names[0]); f++)
		if (strcmp(flow, flow_names[f]) == 0)
			break;
	if (f == sizeof(flow_names) / sizeof(flow_names[0]))
		flow = "invalid";
	oa2_store_entry_init(&e);
	if (store_kind_parse(a->v[OA2_K_STORE], &kind) != 0)
		rt_state = OA2_ERR_CONFIG;
	else
		rt_state = rt_load(a->name, kind, &e, err, sizeof(err));
	if (rt_state == 0) {
		have_rt = 1;
		age = (long long)(now - e.updated);
		/* Entra's refresh tokens die after 90 days unused
		 * (AADSTS700082); each use (a save: they rotate) restarts
		 * that. */
		if (microsoft)
			idle = MICROSOFT_RT_IDLE - age;
	}
	oa2_store_entry_free(&e);
	if (strcmp(flow, "client_credentials") == 0 ||
	    strcmp(flow, "service_account") == 0)
		snprintf(refresh, sizeof(refresh), "not needed");
	else if (have_rt && idle >= 0)
		snprintf(refresh, sizeof(refresh),
		    "stored, used %lld d ago, dies idle in %lld d", age / 86400,
		    idle / 86400);
	else if (have_rt && microsoft)
		snprintf(refresh, sizeof(refresh),
		    "stored, unused %lld d: dead at Microsoft, run login",
		    age / 86400);
	else if (have_rt)
		snprintf(refresh, sizeof(refresh), "stored, used %lld d ago",
		    age / 86400);
	else if (rt_state == OA2_ERR_NOTFOUND)
		snprintf(refresh, sizeof(refresh), "none: run login");
	else
		snprintf(refresh, sizeof(refresh), "unreadable: %s",
		    oa2_strerror(rt_state));

	if (json &&
	    ((r = oa2_buf_appendc(out, '{')) != 0 ||
		(r = json_field(out, "account", a->name)) != 0 ||
		(r = oa2_buf_appendc(out, ',')) != 0 ||
		(r = json_field(out, "flow", flow)) != 0 ||
		(r = oa2_buf_appendz(out, ",\"users\":[")) != 0))
		return r;
	/* user lists one mailbox, or (app-only) several: each has its own
	 * cached token. */
	for (n = 0; oa2_user_nth(users, n, mb, sizeof(mb)) == 0; n++) {
		left = cached_left(cfg, a, mb, now);
		if (n == 0)
			first_left = left;
		if (json) {
			snprintf(num, sizeof(num),
			    "\",\"access_token_expires_in\":%lld}", left);
			if ((n > 0 && (r = oa2_buf_appendc(out, ',')) != 0) ||
			    (r = oa2_buf_appendz(out, "{\"user\":\"")) != 0 ||
			    (r = oa2_json_escape(out, mb, strlen(mb))) != 0 ||
			    (r = oa2_buf_appendz(out, num)) != 0)
				return r;
			continue;
		}
		if (left >= 0)
			snprintf(access, sizeof(access), "valid %lld min",
			    left / 60);
		else
			snprintf(access, sizeof(access), "none cached");
		printf("%-16s %-28s %-19s %-15s %s\n", n == 0 ? a->name : "",
		    mb, n == 0 ? flow : "", access, n == 0 ? refresh : "");
	}
	if (n == 0 && !json)
		printf("%-16s %-28s %-19s %-15s %s\n", a->name, "(no user)",
		    flow, "-", refresh);
	if (!json)
		return 0;
	/* The first mailbox's also at the top, as before several were
	 * listed. */
	oa2_user_nth(users, 0, mb, sizeof(mb));
	snprintf(num, sizeof(num),
	    "],\"access_token_expires_in\":%lld,\"refresh_token\":%s,"
	    "\"refresh_token_age\":%lld,",
	    first_left, have_rt ? "true" : "false", age);
	if ((r = oa2_buf_appendz(out, num)) != 0)
		return r;
	if (microsoft && have_rt) {
		snprintf(num, sizeof(num),
		    "\"refresh_token_idle_expires_in\":%lld,", idle);
		if ((r = oa2_buf_appendz(out, num)) != 0)
			return r;
	}
	if ((r = json_field(out, "user", n > 0 ? mb : "")) != 0)
		return r;
	return oa2_buf_appendc(out, '}');
}

int
cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct oa2_config cfg = {0};
	struct oa2_buf out;
	char path[1024];
	size_t i;
	int c, json = 0, r = 0;

	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			puts("usage: sasl-oauth2 status [--json]\n\n"
			     "Show each account's cached access token and "
			     "stored refresh token.\nNo network access.");
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (config_open(&cfg, path, sizeof(path)) != 0)
		return EXIT_CONFIG;
	oa2_buf_init(&out, 1024 * 1024);
	if (json)
		r = oa2_buf_appendc(&out, '[');
	else
		printf("%-16s %-28s %-19s %-15s %s\n", "ACCOUNT", "USER",
		    "FLOW", "ACCESS TOKEN", "REFRESH TOKEN");
	for (i = 0; r == 0 && i < cfg.count; i++) {
		if (json && i > 0)
			r = oa2_buf_appendc(&out, ',');
		if (r == 0)
			r = describe(&cfg, &cfg.accounts[i], json, &out);
	}
	if (json && r == 0 && (r = oa2_buf_appendz(&out, "]\n")) == 0 &&
	    fwrite(out.data, 1, out.len, stdout) != out.len)
		r = OA2_ERR_IO;
	oa2_buf_free(&out);
	if (r != 0)
		say("status: %s", oa2_strerror(r));
	oa2_config_free(&cfg);
	return r == 0 ? 0 : EXIT_SOFTWARE;
}
