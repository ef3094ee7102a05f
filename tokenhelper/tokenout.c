/*
 * tokenout.c: the "token" command's options and output, shared by the
 * full helper (cmd_token.c) and the light front (front.c), so both parse
 * the same command line and print a token the same way.
 *
 * SECRETS: the token goes to stdout only; every copy made here is wiped.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "err.h"
#include "helper.h"
#include "wire.h"

int
token_args_parse(int argc, char **argv, struct token_args *ta)
{
	static const struct option longopts[] = {
	    {"user", required_argument, NULL, 'u'},
	    {"format", required_argument, NULL, 'f'},
	    {"min-ttl", required_argument, NULL, 't'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;

	memset(ta, 0, sizeof(*ta));
	ta->fmt = TOKEN_RAW;
	ta->min_ttl = TOKEN_MIN_TTL;
	while (
	    (c = getopt_long(argc, argv, "u:f:t:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			ta->user = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "raw") == 0)
				ta->fmt = TOKEN_RAW;
			else if (strcmp(optarg, "xoauth2") == 0)
				ta->fmt = TOKEN_XOAUTH2;
			else if (strcmp(optarg, "oauthbearer") == 0)
				ta->fmt = TOKEN_OAUTHBEARER;
			else if (strcmp(optarg, "json") == 0)
				ta->fmt = TOKEN_JSON;
			else {
				say("--format is raw, xoauth2, oauthbearer or "
				    "json");
				return TOKEN_ARGS_BAD;
			}
			break;
		case 't':
			if (parse_seconds(optarg, "--min-ttl", 0, 86400,
				&ta->min_ttl) != 0)
				return TOKEN_ARGS_BAD;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'h':
			return TOKEN_ARGS_HELP;
		default:
			return TOKEN_ARGS_USAGE;
		}
	}
	if ((ta->user == NULL) == (optind >= argc) || optind + 1 < argc)
		return TOKEN_ARGS_USAGE;
	ta->key = ta->user != NULL ? ta->user : argv[optind];
	return 0;
}

int
token_emit(enum token_format fmt, const struct account *acct,
    const struct oa2_buf *tok, time_t expiry)
{
	struct oa2_buf msg, out;
	int r = 0;

	oa2_buf_init(&msg, OA2_RESPONSE_MAX);
	oa2_buf_init(&out, 2 * OA2_RESPONSE_MAX);
	switch (fmt) {
	case TOKEN_RAW:
		r = oa2_buf_append(&out, tok->data, tok->len);
		break;
	case TOKEN_XOAUTH2:
		if ((r = oa2_xoauth2_build(
			 acct->user, tok->data, tok->len, &msg)) == 0)
			r = oa2_b64_encode(
			    msg.data, msg.len, OA2_B64_STD, &out);
		break;
	case TOKEN_OAUTHBEARER:
		if ((r = oa2_oauthbearer_build(
			 acct->user, NULL, 0, tok->data, tok->len, &msg)) == 0)
			r = oa2_b64_encode(
			    msg.data, msg.len, OA2_B64_STD, &out);
		break;
	case TOKEN_JSON: {
		char tail[64];
		snprintf(tail, sizeof(tail), "\",\"expires_at\":%lld}",
		    (long long)expiry);
		if ((r = oa2_buf_appendz(&out, "{\"access_token\":\"")) == 0 &&
		    (r = oa2_json_escape(&out, tok->data, tok->len)) == 0)
			r = oa2_buf_appendz(&out, tail);
		break;
	}
	}
	if (r == 0 &&
	    (fwrite(out.data, 1, out.len, stdout) != out.len ||
		fputc('\n', stdout) == EOF || fflush(stdout) == EOF))
		r = OA2_ERR_IO;
	if (r != 0)
		say("account %s: cannot print the token: %s", acct->name,
		    oa2_strerror(r));
	oa2_buf_free(&msg);
	oa2_buf_free(&out);
	return r == 0 ? EXIT_TOKEN : EXIT_SOFTWARE;
}
