/*
 * test_conf.c: configuration parsing (accepted files and every error with
 * its line number) and secret-file permission checks.
 */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "sysutil.h"
#include "err.h"
#include "secretfile.h"

static void
test_parse_ok(void **state)
{
	static const char text[] =
	    "# comment\n"
	    "; another\n"
	    "\n"
	    "[account relay]\n"
	    "user = Relay@Example.test\n"
	    "provider=microsoft\n"
	    "  tenant =  contoso.onmicrosoft.com  \r\n"
	    "scope = https://outlook.office365.com/.default\n"
	    "flow = client_credentials\n"
	    "[account  work ]\n"
	    "user = me@example.com\n"
	    "client_id = 1234\n";
	struct oa2_config cfg;
	const struct oa2_account *a;
	char err[256];

	assert_int_equal(oa2_config_parse(text, sizeof(text) - 1, "t.conf",
			     &cfg, err, sizeof(err)),
	    0);
	assert_int_equal(cfg.count, 2);
	a = oa2_config_find(&cfg, "relay");
	assert_non_null(a);
	assert_int_equal(a->line, 4);
	assert_string_equal(a->v[OA2_K_TENANT], "contoso.onmicrosoft.com");
	assert_string_equal(a->v[OA2_K_PROVIDER], "microsoft");
	assert_null(a->v[OA2_K_CLIENT_ID]);
	assert_ptr_equal(oa2_config_find_user(&cfg, "relay@example.TEST"), a);
	a = oa2_config_find(&cfg, "work");
	assert_non_null(a);
	assert_string_equal(a->v[OA2_K_CLIENT_ID], "1234");
	assert_null(oa2_config_find(&cfg, "nope"));
	assert_null(oa2_config_find_user(&cfg, "nobody@example.com"));
	oa2_config_free(&cfg);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
	    {"[account a]\nusr = x\n", "t.conf:2: unknown key 'usr'"},
	    {"user = x\n",
		"t.conf:1: setting outside an [account NAME] section"},
	    {"[account a]\nuser = x\nuser = y\n",
		"t.conf:3: 'user' set twice in account 'a'"},
	    {"[account a]\n[account a]\n",
		"t.conf:2: account 'a' already defined at line 1"},
	    {"[acount a]\n",
		"t.conf:1: expected a section header like "
		"[account NAME]"},
	    {"[account]\n",
		"t.conf:1: expected a section header like "
		"[account NAME]"},
	    {"[account a b]\n",
		"t.conf:1: account names use letters, digits "
		"and - _ . @ (at most 64)"},
	    {"[account a]\njust words\n", "t.conf:2: expected 'key = value'"},
	    {"[account a]\nscope =\n", "t.conf:2: 'scope' has no value"},
	};
	struct oa2_config cfg;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    oa2_config_parse(cases[i].text, strlen(cases[i].text),
			"t.conf", &cfg, err, sizeof(err)),
		    OA2_ERR_CONFIG);
		assert_string_equal(err, cases[i].err);
		assert_int_equal(cfg.count, 0);
		assert_null(cfg.accounts);
	}
}

static void
test_parse_limits(void **state)
{
	struct oa2_config cfg;
	char err[256], *big;
	size_t n = OA2_CONFIG_LINE_MAX + 20;

	big = malloc(n);
	assert_non_null(big);
	memcpy(big, "[account a]\nscope = ", 20);
	memset(big + 20, 'x', n - 20);
	assert_int_equal(
	    oa2_config_parse(big, n, "t.conf", &cfg, err, sizeof(err)),
	    OA2_ERR_CONFIG);
	assert_string_equal(err, "t.conf:2: line too long");
	free(big);
	assert_int_equal(oa2_config_parse("[account a]\nuser = a\0b\n", 23,
			     "t.conf", &cfg, err, sizeof(err)),
	    OA2_ERR_CONFIG);
	assert_string_equal(err, "t.conf:2: NUL byte");
	assert_int_equal(
	    oa2_config_load("/nonexistent/x.conf", &cfg, err, sizeof(err)),
	    OA2_ERR_NOTFOUND);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* The configuration names where secrets go: refused when others may
 * write it, or when it belongs to neither the user nor root. */
static void
test_config_owner_mode(void **state)
{
	static const struct {
		mode_t mode;
		int rc;
		const char *hint;
	} cases[] = {
	    {0644, 0, NULL},
	    {0640, 0, NULL},
	    {0600, 0, NULL},
	    {0664, OA2_ERR_PERM, "chmod go-w"},
	    {0646, OA2_ERR_PERM, "chmod go-w"},
	    {0666, OA2_ERR_PERM, "(mode 0666)"},
	};
	char dir[] = "/tmp/oa2-unit-XXXXXX", path[64], err[512];
	struct oa2_config cfg;
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config", dir);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(path, "[account a]\nuser = a@example.test\n",
		    cases[i].mode);
		assert_int_equal(
		    oa2_config_load(path, &cfg, err, sizeof(err)), cases[i].rc);
		if (cases[i].rc == 0)
			oa2_config_free(&cfg);
		else
			assert_non_null(strstr(err, cases[i].hint));
	}
	/* Another user's file (as root, the tests can make one). */
	if (geteuid() == 0) {
		write_file(path, "[account a]\n", 0644);
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(oa2_config_load(path, &cfg, err, sizeof(err)),
		    OA2_ERR_PERM);
		assert_non_null(strstr(err, "belongs to uid 65534"));
	}
	unlink(path);
	rmdir(dir);
}

static void
test_secretfile(void **state)
{
	static const struct {
		const char *text;
		mode_t mode;
		int rc;
		const char *want;
	} cases[] = {
	    {"s3cret\n", 0600, 0, "s3cret"},
	    {"s3cret \r\n\n", 0400, 0, "s3cret"},
	    {"s3cret\n", 0640, OA2_ERR_PERM, NULL},
	    {"s3cret\n", 0604, OA2_ERR_PERM, NULL},
	    {"s3cret\n", 0620, OA2_ERR_PERM, NULL},
	    {"\n", 0600, OA2_ERR_CONFIG, NULL},
	};
	char dir[] = "/tmp/oa2-unit-XXXXXX", path[64], lnk[64], err[512];
	struct oa2_buf b;
	size_t i;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret", dir);
	snprintf(lnk, sizeof(lnk), "%s/link", dir);
	oa2_buf_init(&b, OA2_SECRET_FILE_MAX);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(path, cases[i].text, cases[i].mode);
		assert_int_equal(
		    oa2_secretfile_read(path, &b, err, sizeof(err)),
		    cases[i].rc);
		if (cases[i].want != NULL)
			assert_string_equal(oa2_buf_str(&b), cases[i].want);
		else
			assert_int_equal(b.len, 0);
	}
	/* The loose-permission message says how to fix it. */
	write_file(path, "x", 0644);
	assert_int_equal(
	    oa2_secretfile_read(path, &b, err, sizeof(err)), OA2_ERR_PERM);
	assert_non_null(strstr(err, "chmod 600"));
	/* Symlinks are not followed. */
	write_file(path, "x", 0600);
	assert_int_equal(symlink(path, lnk), 0);
	assert_int_not_equal(oa2_secretfile_read(lnk, &b, err, sizeof(err)), 0);
	assert_int_equal(
	    oa2_secretfile_read("/nonexistent", &b, err, sizeof(err)),
	    OA2_ERR_NOTFOUND);
	oa2_buf_free(&b);
	unlink(lnk);
	unlink(path);
	rmdir(dir);
}

static void
test_user_list(void **state)
{
	static const struct {
		const char *list;
		size_t n;
		int rc;
		const char *want;
	} cases[] = {
	    {"a@x", 0, 0, "a@x"},
	    {"a@x", 1, OA2_ERR_NOTFOUND, NULL},
	    {"a@x, b@y", 1, 0, "b@y"},
	    {" a@x,b@y ,  c@z ", 2, 0, "c@z"},
	    {",,", 0, OA2_ERR_NOTFOUND, NULL},
	    {"averyveryverylongmailbox@example.com", 0, OA2_ERR_TOOBIG, NULL},
	};
	static const char text[] = "[account app]\nuser = a@x, B@Y\n"
				   "[account other]\nuser = c@z\n";
	struct oa2_config cfg;
	char out[16], err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    oa2_user_nth(cases[i].list, cases[i].n, out, sizeof(out)),
		    cases[i].rc);
		if (cases[i].want != NULL)
			assert_string_equal(out, cases[i].want);
	}
	assert_int_equal(oa2_config_parse(text, sizeof(text) - 1, "t", &cfg,
			     err, sizeof(err)),
	    0);
	assert_string_equal(oa2_config_find_user(&cfg, "b@y")->name, "app");
	assert_string_equal(oa2_config_find_user(&cfg, "A@X")->name, "app");
	assert_string_equal(oa2_config_find_user(&cfg, "c@z")->name, "other");
	assert_null(oa2_config_find_user(&cfg, "a@x, B@Y"));
	oa2_config_free(&cfg);
}

/* The proxy key: scheme, host and port; never a password, which the
 * sentence must not repeat.  The environment's spellings too (userinfo
 * detection only: "host:port" without a scheme). */
static void
test_proxy_check(void **state)
{
	static const struct {
		const char *proxy;
		int ok;
		const char *said; /* in the error; NULL: nothing checked */
	} cases[] = {
	    {"http://proxy.example.com:3128", 1, NULL},
	    {"HTTP://proxy.example.com:3128/", 1, NULL},
	    {"https://proxy.example.com:443", 1, NULL},
	    {"socks5h://127.0.0.1:1080", 1, NULL},
	    {"http://[::1]:3128", 1, NULL},
	    {"http://[::1]", 0, "needs a host and a port"},
	    {"http://proxy.example.com", 0, "needs a host and a port"},
	    {"http://proxy.example.com:", 0, "needs a host and a port"},
	    {"http://:3128", 0, "needs a host and a port"},
	    {"http://proxy.example.com:99999", 0, "needs a host and a port"},
	    {"http://proxy.example.com:31a", 0, "needs a host and a port"},
	    {"proxy.example.com:3128", 0, "must start with http://"},
	    {"socks5://proxy.example.com:1080", 0, "must start with http://"},
	    {"http://proxy.example.com:3128/path", 0, "has a path"},
	    {"http://alice:s3cret@proxy.example.com:3128", 0, "user name or"},
	    {"http://alice@proxy.example.com:3128", 0, "user name or"},
	    {"http://alice:s3cret/x@proxy.example.com:3128", 0, "user name or"},
	};
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (cases[i].ok) {
			assert_int_equal(
			    oa2_proxy_check(cases[i].proxy, err, sizeof(err)),
			    0);
			continue;
		}
		assert_int_equal(
		    oa2_proxy_check(cases[i].proxy, err, sizeof(err)),
		    OA2_ERR_CONFIG);
		assert_non_null(strstr(err, cases[i].said));
		assert_null(strstr(err, "s3cret"));
	}
	assert_true(oa2_proxy_has_userinfo("alice:pw@proxy:3128"));
	assert_true(oa2_proxy_has_userinfo("http://alice:pw@proxy:3128/"));
	/* a password with '/' in it, unescaped: still never quoted */
	assert_true(oa2_proxy_has_userinfo("http://alice:pa/ss@proxy:3128"));
	assert_true(oa2_proxy_has_userinfo("http://proxy:3128/a@b"));
	assert_false(oa2_proxy_has_userinfo("proxy.example.com:3128"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ok),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_parse_limits),
	    cmocka_unit_test(test_secretfile),
	    cmocka_unit_test(test_config_owner_mode),
	    cmocka_unit_test(test_user_list),
	    cmocka_unit_test(test_proxy_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
