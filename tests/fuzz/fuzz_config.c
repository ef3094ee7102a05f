/*
 * fuzz_config.c: the INI account configuration (conf.c).
 *
 * Checks: a refusal leaves no accounts and a message "PATH:..." ; an
 * accepted file has unique, well-formed account names in line order,
 * values that are non-empty trimmed C strings of one line; every account
 * is found by its name and every listed mailbox by oa2_config_find_user;
 * and writing the result back out as "key=value" lines parses to the same
 * configuration.
 */
#include "config.h"

#include "buf.h"
#include "conf.h"
#include "err.h"

#include "fuzz.h"

#define PATH "fuzz.conf"

static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '@';
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void
check_account(const struct oa2_config *cfg, size_t i, int lines)
{
	const struct oa2_account *a = &cfg->accounts[i];
	size_t k, j, n;
	char mb[512];

	n = strlen(a->name);
	FUZZ_CHECK(n >= 1 && n <= 64);
	for (j = 0; j < n; j++)
		FUZZ_CHECK(name_char(a->name[j]));
	FUZZ_CHECK(a->line >= 1 && a->line <= lines);
	if (i > 0)
		FUZZ_CHECK(a->line > cfg->accounts[i - 1].line);
	FUZZ_CHECK(oa2_config_find(cfg, a->name) == a);
	for (k = 0; k < OA2_K_COUNT; k++) {
		const char *v = a->v[k];
		if (v == NULL)
			continue;
		n = strlen(v);
		FUZZ_CHECK(n > 0 && n <= OA2_CONFIG_LINE_MAX);
		FUZZ_CHECK(memchr(v, '\n', n) == NULL);
		FUZZ_CHECK(!is_space(v[0]) && !is_space(v[n - 1]));
	}
	if (a->v[OA2_K_USER] == NULL)
		return;
	for (n = 0; oa2_user_nth(a->v[OA2_K_USER], n, mb, sizeof(mb)) == 0;
	     n++) {
		const struct oa2_account *f = oa2_config_find_user(cfg, mb);
		FUZZ_CHECK(mb[0] != '\0' && strpbrk(mb, ", \t") == NULL);
		/* The first account that lists it, which may be an earlier
		 * one (mailboxes match case-insensitively). */
		FUZZ_CHECK(f != NULL && f <= a);
	}
}

/* The configuration as text again, "key=value" so that no line grows. */
static void
write_back(const struct oa2_config *cfg, struct oa2_buf *out)
{
	size_t i, k;

	for (i = 0; i < cfg->count; i++) {
		FUZZ_CHECK(oa2_buf_appendz(out, "[account ") == 0 &&
		    oa2_buf_appendz(out, cfg->accounts[i].name) == 0 &&
		    oa2_buf_appendz(out, "]\n") == 0);
		for (k = 0; k < OA2_K_COUNT; k++) {
			if (cfg->accounts[i].v[k] == NULL)
				continue;
			FUZZ_CHECK(oa2_buf_appendz(out,
				       oa2_key_name((enum oa2_key)k)) == 0 &&
			    oa2_buf_appendc(out, '=') == 0 &&
			    oa2_buf_appendz(out, cfg->accounts[i].v[k]) == 0 &&
			    oa2_buf_appendc(out, '\n') == 0);
		}
	}
}

static void
check_same(const struct oa2_config *a, const struct oa2_config *b)
{
	size_t i, k;

	FUZZ_CHECK(a->count == b->count);
	for (i = 0; i < a->count; i++) {
		FUZZ_CHECK(
		    strcmp(a->accounts[i].name, b->accounts[i].name) == 0);
		for (k = 0; k < OA2_K_COUNT; k++) {
			const char *x = a->accounts[i].v[k];
			const char *y = b->accounts[i].v[k];
			FUZZ_CHECK((x == NULL) == (y == NULL));
			FUZZ_CHECK(x == NULL || strcmp(x, y) == 0);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct oa2_config cfg, again;
	struct oa2_buf out;
	char err[512];
	size_t i;
	int rc, lines;

	memset(err, 'x', sizeof(err));
	rc = oa2_config_parse(text, size, PATH, &cfg, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == OA2_ERR_CONFIG || rc == OA2_ERR_TOOBIG ||
	    rc == OA2_ERR_NOMEM);
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (rc != 0) {
		FUZZ_CHECK(cfg.count == 0 && cfg.accounts == NULL);
		FUZZ_CHECK(strncmp(err, PATH ":", strlen(PATH ":")) == 0);
		return 0;
	}
	FUZZ_CHECK(err[0] == '\0');

	lines = 1;
	for (i = 0; i < size; i++)
		lines += text[i] == '\n';
	for (i = 0; i < cfg.count; i++) {
		check_account(&cfg, i, lines);
		FUZZ_CHECK(oa2_config_find(&cfg, cfg.accounts[i].name) ==
		    &cfg.accounts[i]);
	}

	oa2_buf_init(&out, OA2_CONFIG_MAX);
	write_back(&cfg, &out);
	FUZZ_CHECK(oa2_config_parse(oa2_buf_str(&out), out.len, PATH, &again,
		       err, sizeof(err)) == 0);
	check_same(&cfg, &again);
	oa2_config_free(&again);
	oa2_buf_free(&out);
	oa2_config_free(&cfg);
	return 0;
}
