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
#include "keyring.h"
#include "store.h"
#include "wire.h"

static const char *const flow_names[] = {
    "authorization_code", "device_code", "client_credentials", "password"};

static void
describe(const struct oa2_account *a, int json, int first)
{
	struct oa2_store_entry e;
	struct oa2_buf tok;
	char err[512], access[64], refresh[96];
	const char *user = a->v[OA2_K_USER] ? a->v[OA2_K_USER] : "";
	const char *flow = a->v[OA2_K_FLOW]
	    ? a->v[OA2_K_FLOW]
	    : flow_names[FLOW_AUTHORIZATION_CODE];
	time_t now = time(NULL), exp = 0;
	enum store_kind kind;
	size_t f;
	long long left = -1, age = -1;
	int have_rt = 0, rt_state;

	/* Only known flow names are printed (the JSON needs no escaping). */
	for (f = 0; f < sizeof(flow_names) / sizeof(flow_names[0]); f++)
		if (strcmp(flow, flow_names[f]) == 0)
			break;
	if (f == sizeof(flow_names) / sizeof(flow_names[0]))
		flow = "invalid";
	oa2_buf_init(&tok, OA2_TOKEN_MAX);
	if (user[0] != '\0' && oa2_keyring_get(user, now, 0, &tok, &exp) == 0)
		left = (long long)(exp - now);
	oa2_buf_free(&tok);
	oa2_store_entry_init(&e);
	if (store_kind_parse(a->v[OA2_K_STORE], &kind) != 0)
		rt_state = OA2_ERR_CONFIG;
	else
		rt_state = rt_load(a->name, kind, &e, err, sizeof(err));
	if (rt_state == 0) {
		have_rt = 1;
		age = (long long)(now - e.updated);
	}
	oa2_store_entry_free(&e);

	if (left >= 0)
		snprintf(access, sizeof(access), "valid %lld min", left / 60);
	else
		snprintf(access, sizeof(access), "none cached");
	if (strcmp(flow, "client_credentials") == 0)
		snprintf(refresh, sizeof(refresh), "not needed");
	else if (have_rt)
		snprintf(refresh, sizeof(refresh), "stored, used %lld d ago",
		    age / 86400);
	else if (rt_state == OA2_ERR_NOTFOUND)
		snprintf(refresh, sizeof(refresh), "none: run login");
	else
		snprintf(refresh, sizeof(refresh), "unreadable: %s",
		    oa2_strerror(rt_state));

	if (json)
		printf("%s{\"account\":\"%s\",\"user\":\"%s\",\"flow\":\"%s\","
		       "\"access_token_expires_in\":%lld,"
		       "\"refresh_token\":%s,\"refresh_token_age\":%lld}",
		    first ? "" : ",", a->name, user, flow, left,
		    have_rt ? "true" : "false", age);
	else
		printf("%-16s %-28s %-19s %-15s %s\n", a->name, user, flow,
		    access, refresh);
}

int
cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	struct oa2_config cfg = {0};
	char path[1024];
	size_t i;
	int c, json = 0;

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
	/* Account names and users are validated printable by conf.c and
	 * oa2_mailbox_check; JSON needs no escaping beyond that check. */
	if (json)
		printf("[");
	else
		printf("%-16s %-28s %-19s %-15s %s\n", "ACCOUNT", "USER",
		    "FLOW", "ACCESS TOKEN", "REFRESH TOKEN");
	for (i = 0; i < cfg.count; i++) {
		const char *u = cfg.accounts[i].v[OA2_K_USER];
		if (json && u != NULL &&
		    (oa2_mailbox_check(u) != 0 || strpbrk(u, "\"\\") != NULL))
			continue;
		describe(&cfg.accounts[i], json, i == 0);
	}
	if (json)
		printf("]\n");
	oa2_config_free(&cfg);
	return 0;
}
