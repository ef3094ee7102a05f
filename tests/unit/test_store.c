/*
 * test_store.c: the file store of refresh tokens: round trips, damaged
 * files (refused and left untouched), permission and symlink refusals,
 * stale temp files, a failed write that must keep the old file, delete.
 * Everything happens under a mkdtemp directory that teardown removes.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "store.h"
#include "wire.h"

struct fixture {
	char top[64];	/* the mkdtemp directory */
	char dir[128];	/* top/store, the store directory (0700) */
	char path[256]; /* dir/work.json */
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->top, sizeof(f->top), "/tmp/test_store.XXXXXX");
	if (mkdtemp(f->top) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->dir, sizeof(f->dir), "%s/store", f->top);
	snprintf(f->path, sizeof(f->path), "%s/work.json", f->dir);
	*state = f;
	return mkdir(f->dir, 0700);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	/* Restore modes a test may have loosened or tightened. */
	chmod(f->dir, 0700);
	nftw(f->top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void
write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* The file's bytes, malloc'd and NUL-terminated; *len its length. */
static char *
read_file(const char *path, size_t *len)
{
	struct stat st;
	char *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	p[st.st_size] = '\0';
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

/* Names in dir that start with prefix. */
static int
count_prefixed(const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void
set_entry(struct oa2_store_entry *e, const char *token, const char *scope,
    long long updated, long long refresh_expires)
{
	oa2_buf_reset(&e->refresh_token);
	assert_int_equal(oa2_buf_appendz(&e->refresh_token, token), 0);
	snprintf(e->scope, sizeof(e->scope), "%s", scope);
	e->updated = updated;
	e->refresh_expires = refresh_expires;
}

static void
test_account_check(void **state)
{
	static const struct {
		const char *name;
		int rc;
	} cases[] = {
	    {"work", 0},
	    {"me@example.com", 0},
	    {"A-b_c.9", 0},
	    {"x", 0},
	    {"0123456789012345678901234567890123456789012345678901234567890123",
		0},
	    {"0123456789012345678901234567890123456789012345678901234567890123"
	     "4",
		OA2_ERR_INVAL},
	    {"", OA2_ERR_INVAL},
	    {".", OA2_ERR_INVAL},
	    {"..", OA2_ERR_INVAL},
	    {".hidden", OA2_ERR_INVAL},
	    {"../etc/passwd", OA2_ERR_INVAL},
	    {"a/b", OA2_ERR_INVAL},
	    {"a b", OA2_ERR_INVAL},
	    {"a\nb", OA2_ERR_INVAL},
	    {"caf\xc3\xa9", OA2_ERR_INVAL},
	    {"a*", OA2_ERR_INVAL},
	};
	struct fixture *f = *state;
	struct oa2_store_entry e;
	char err[512];
	size_t i;

	oa2_store_entry_init(&e);
	set_entry(&e, "tok", "", 0, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    oa2_store_account_check(cases[i].name), cases[i].rc);
		if (cases[i].rc == 0)
			continue;
		assert_int_equal(
		    oa2_store_load(f->dir, cases[i].name, &e, err, sizeof(err)),
		    OA2_ERR_INVAL);
		assert_int_equal(
		    oa2_store_save(f->dir, cases[i].name, &e, err, sizeof(err)),
		    OA2_ERR_INVAL);
		assert_non_null(strstr(err, "account name"));
		assert_int_equal(
		    oa2_store_delete(f->dir, cases[i].name, err, sizeof(err)),
		    OA2_ERR_INVAL);
	}
	assert_int_equal(oa2_store_account_check(NULL), OA2_ERR_INVAL);
	/* nothing escaped the directory */
	assert_int_equal(count_prefixed(f->top, "etc"), 0);
	oa2_store_entry_free(&e);
}

static void
test_round_trip(void **state)
{
	static char long_token[OA2_TOKEN_MAX + 1];
	static const struct {
		const char *token, *scope;
		long long updated, refresh_expires;
	} cases[] = {
	    {"1//0gAbCdEf-ghIJ_kl", "https://mail.google.com/", 1700000000, 0},
	    {"M.C507_BAY.0.U.-Cs*Wj!xyz$", "", 1, 1800000000},
	    {"q\"u\\o/te{}[]:,", "offline_access IMAP.AccessAsUser.All", 42, 0},
	    {long_token, "s", 1700000001, 1700000002},
	};
	struct fixture *f = *state;
	struct oa2_store_entry e, got;
	struct stat st;
	char err[512], sub[256], *text;
	size_t i, len;

	memset(long_token, '~', OA2_TOKEN_MAX);
	oa2_store_entry_init(&e);
	oa2_store_entry_init(&got);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_entry(&e, cases[i].token, cases[i].scope, cases[i].updated,
		    cases[i].refresh_expires);
		assert_int_equal(
		    oa2_store_save(f->dir, "work", &e, err, sizeof(err)), 0);
		assert_int_equal(
		    oa2_store_load(f->dir, "work", &got, err, sizeof(err)), 0);
		assert_string_equal(
		    oa2_buf_str(&got.refresh_token), cases[i].token);
		assert_int_equal(got.refresh_token.len, strlen(cases[i].token));
		assert_string_equal(got.scope, cases[i].scope);
		assert_int_equal(got.updated, cases[i].updated);
		assert_int_equal(got.refresh_expires, cases[i].refresh_expires);
		assert_int_equal(stat(f->path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}
	assert_int_equal(count_prefixed(f->dir, "."), 2); /* . and .. */

	/* The documented format, byte for byte. */
	set_entry(&e, "tok/en", "a b", 1700000000, 0);
	assert_int_equal(
	    oa2_store_save(f->dir, "work", &e, err, sizeof(err)), 0);
	text = read_file(f->path, &len);
	assert_string_equal(text,
	    "{\"version\":1,\"account\":\"work\",\"refresh_token\":\"tok/en\","
	    "\"scope\":\"a "
	    "b\",\"updated\":1700000000,\"refresh_expires\":0}\n");
	free(text);

	/* updated 0 means "now" */
	set_entry(&e, "tok", "", 0, 0);
	assert_int_equal(
	    oa2_store_save(f->dir, "work", &e, err, sizeof(err)), 0);
	assert_int_equal(
	    oa2_store_load(f->dir, "work", &got, err, sizeof(err)), 0);
	assert_true(got.updated >= (long long)time(NULL) - 60);

	/* save creates a missing directory, and its parents, 0700 */
	snprintf(sub, sizeof(sub), "%s/new/store", f->top);
	assert_int_equal(oa2_store_save(sub, "work", &e, err, sizeof(err)), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(
	    oa2_store_load(sub, "work", &got, err, sizeof(err)), 0);

	/* an invalid entry is refused and nothing is written */
	set_entry(&e, "not a token", "", 0, 0);
	assert_int_equal(oa2_store_save(f->dir, "other", &e, err, sizeof(err)),
	    OA2_ERR_INVAL);
	oa2_buf_reset(&e.refresh_token);
	assert_int_equal(oa2_store_save(f->dir, "other", &e, err, sizeof(err)),
	    OA2_ERR_INVAL);
	assert_int_equal(count_prefixed(f->dir, "other"), 0);
	assert_int_equal(count_prefixed(f->dir, ".other"), 0);

	oa2_store_entry_free(&e);
	oa2_store_entry_free(&got);
}

static void
test_missing(void **state)
{
	struct fixture *f = *state;
	struct oa2_store_entry e;
	char err[512], nodir[256];

	oa2_store_entry_init(&e);
	assert_int_equal(oa2_store_load(f->dir, "work", &e, err, sizeof(err)),
	    OA2_ERR_NOTFOUND);
	assert_non_null(strstr(err, "log in"));
	snprintf(nodir, sizeof(nodir), "%s/nonexistent", f->top);
	assert_int_equal(oa2_store_load(nodir, "work", &e, err, sizeof(err)),
	    OA2_ERR_NOTFOUND);
	oa2_store_entry_free(&e);
}

static void
test_corrupt(void **state)
{
	static const char good[] =
	    "{\"version\":1,\"account\":\"work\",\"refresh_token\":\"tok\","
	    "\"scope\":\"s\",\"updated\":5,\"refresh_expires\":0}\n";
	static const struct {
		const char *text; /* NULL: the big file below */
		int rc;
		const char *why;
	} cases[] = {
	    {"", OA2_ERR_PARSE, "not valid JSON"},
	    {"not json", OA2_ERR_PARSE, "not valid JSON"},
	    {"{\"version\":1,\"account\":\"work\",\"refresh_tok", OA2_ERR_PARSE,
		"not valid JSON"},
	    {"{\"version\":1,\"account\":\"work\",\"refresh_token\":\"tok\"",
		OA2_ERR_PARSE, "not valid JSON"},
	    {"{\"version\":1,\"account\":\"work\",\"refresh_token\":\"tok\"}x",
		OA2_ERR_PARSE, "not valid JSON"},
	    {"[1,2]", OA2_ERR_PARSE, "not a JSON object"},
	    {"\"tok\"", OA2_ERR_PARSE, "not a JSON object"},
	    {"{\"account\":\"work\",\"refresh_token\":\"tok\"}", OA2_ERR_PARSE,
		"no valid format version"},
	    {"{\"version\":\"1\",\"account\":\"work\",\"refresh_token\":"
	     "\"tok\"}",
		OA2_ERR_PARSE, "no valid format version"},
	    {"{\"version\":2,\"account\":\"work\",\"refresh_token\":\"tok\"}",
		OA2_ERR_PARSE, "format version 2"},
	    {"{\"version\":0,\"account\":\"work\",\"refresh_token\":\"tok\"}",
		OA2_ERR_PARSE, "format version 0"},
	    {"{\"version\":1,\"refresh_token\":\"tok\"}", OA2_ERR_PARSE,
		"names no account"},
	    {"{\"version\":1,\"account\":\"home\",\"refresh_token\":\"tok\"}",
		OA2_ERR_PARSE, "belongs to account 'home'"},
	    {"{\"version\":1,\"account\":\"work\"}", OA2_ERR_PARSE,
		"no valid refresh_token (missing)"},
	    {"{\"version\":1,\"account\":\"work\",\"refresh_token\":42}",
		OA2_ERR_PARSE, "no valid refresh_token (missing)"},
	    {"{\"version\":1,\"account\":\"work\",\"refresh_token\":\"a b\"}",
		OA2_ERR_PARSE, "no valid refresh_token (malformed)"},
	    {"{\"version\":1,\"account\":\"work\",\"refresh_token\":\"\"}",
		OA2_ERR_PARSE, "no valid refresh_token (malformed)"},
	    {"{\"version\":1,\"account\":\"work\",\"refresh_token\":\"a\\u0000"
	     "b\"}",
		OA2_ERR_PARSE, "no valid refresh_token (malformed)"},
	    {"{\"version\":1,\"account\":\"work\",\"refresh_token\":\"t\","
	     "\"scope\":7}",
		OA2_ERR_PARSE, "bad scope"},
	    {"{\"version\":1,\"account\":\"work\",\"refresh_token\":\"t\","
	     "\"updated\":-1}",
		OA2_ERR_PARSE, "bad time stamp"},
	    {"{\"version\":1,\"account\":\"work\",\"refresh_token\":\"t\","
	     "\"refresh_expires\":\"soon\"}",
		OA2_ERR_PARSE, "bad time stamp"},
	    {"{\"version\":1,\"account\":\"work\",\"refresh_token\":\"t\","
	     "\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
		OA2_ERR_PARSE, "not valid JSON"},
	    {NULL, OA2_ERR_PARSE, "larger than"},
	    /* accepted: unknown members, white space, optional members */
	    {"  {\"future\":{\"a\":1},\"version\":1,\"account\":\"work\","
	     "\"refresh_token\":\"tok\"}\r\n\n",
		0, NULL},
	};
	struct fixture *f = *state;
	struct oa2_store_entry e;
	struct stat before, after;
	char err[512], *big, *text;
	size_t i, len, biglen = OA2_STORE_FILE_MAX + 1;

	/* a valid file padded past the cap */
	big = malloc(biglen);
	assert_non_null(big);
	memset(big, ' ', biglen);
	memcpy(big, good, sizeof(good) - 1);

	oa2_store_entry_init(&e);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = cases[i].text ? cases[i].text : big;
		size_t tlen = cases[i].text ? strlen(t) : biglen;

		write_file(f->path, t, tlen, 0600);
		assert_int_equal(stat(f->path, &before), 0);
		/* a previous good load must not leak into a failed one */
		set_entry(&e, "stale", "stale", 9, 9);
		err[0] = '\0';
		assert_int_equal(
		    oa2_store_load(f->dir, "work", &e, err, sizeof(err)),
		    cases[i].rc);
		if (cases[i].rc == 0) {
			assert_string_equal(
			    oa2_buf_str(&e.refresh_token), "tok");
			assert_string_equal(e.scope, "");
			assert_int_equal(e.updated, 0);
			continue;
		}
		if (strstr(err, cases[i].why) == NULL ||
		    strstr(err, f->path) == NULL)
			fail_msg("case %zu: err '%s'", i, err);
		assert_int_equal(e.refresh_token.len, 0);
		assert_string_equal(e.scope, "");
		/* the file is left exactly as it was */
		assert_int_equal(stat(f->path, &after), 0);
		assert_int_equal(after.st_ino, before.st_ino);
		assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
		text = read_file(f->path, &len);
		assert_int_equal(len, tlen);
		assert_memory_equal(text, t, len);
		free(text);
	}
	/* the good file itself, as a control */
	write_file(f->path, good, sizeof(good) - 1, 0600);
	assert_int_equal(
	    oa2_store_load(f->dir, "work", &e, err, sizeof(err)), 0);
	assert_string_equal(e.scope, "s");
	assert_int_equal(e.updated, 5);
	free(big);
	oa2_store_entry_free(&e);
}

static void
test_permissions(void **state)
{
	static const struct {
		mode_t file, dir;
		const char *why;
	} cases[] = {
	    {0640, 0700, "chmod 600"},
	    {0604, 0700, "chmod 600"},
	    {0660, 0700, "chmod 600"},
	    {0601, 0700, "chmod 600"},
	    {0600, 0755, "chmod 700"},
	    {0600, 0750, "chmod 700"},
	    {0600, 0701, "chmod 700"},
	    {0400, 0700, NULL}, /* tighter is fine */
	    {0600, 0500, NULL},
	};
	struct fixture *f = *state;
	struct oa2_store_entry e;
	char err[512];
	size_t i;

	oa2_store_entry_init(&e);
	set_entry(&e, "tok", "", 7, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		chmod(f->dir, 0700);
		assert_int_equal(
		    oa2_store_save(f->dir, "work", &e, err, sizeof(err)), 0);
		assert_int_equal(chmod(f->path, cases[i].file), 0);
		assert_int_equal(chmod(f->dir, cases[i].dir), 0);
		assert_int_equal(
		    oa2_store_load(f->dir, "work", &e, err, sizeof(err)),
		    cases[i].why ? OA2_ERR_PERM : 0);
		if (cases[i].why != NULL && strstr(err, cases[i].why) == NULL)
			fail_msg("case %zu: err '%s'", i, err);
		if (cases[i].why == NULL)
			assert_string_equal(
			    oa2_buf_str(&e.refresh_token), "tok");
		set_entry(&e, "tok", "", 7, 0);
	}
	/* no secret is written into a loose directory */
	chmod(f->dir, 0755);
	assert_int_equal(oa2_store_save(f->dir, "other", &e, err, sizeof(err)),
	    OA2_ERR_PERM);
	assert_int_equal(count_prefixed(f->dir, "other"), 0);
	assert_int_equal(count_prefixed(f->dir, ".other"), 0);
	chmod(f->dir, 0700);
	oa2_store_entry_free(&e);
}

static void
test_not_a_file(void **state)
{
	struct fixture *f = *state;
	struct oa2_store_entry e;
	char err[512], target[256], dirlink[256];

	oa2_store_entry_init(&e);
	/* a symlink to a perfectly good store file is still refused */
	set_entry(&e, "tok", "", 7, 0);
	assert_int_equal(
	    oa2_store_save(f->dir, "real", &e, err, sizeof(err)), 0);
	snprintf(target, sizeof(target), "%s/real.json", f->dir);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_equal(
	    oa2_store_load(f->dir, "work", &e, err, sizeof(err)), OA2_ERR_PERM);
	assert_non_null(strstr(err, "symbolic link"));
	/* save replaces the link itself, never writes through it */
	set_entry(&e, "new", "", 7, 0);
	assert_int_equal(
	    oa2_store_save(f->dir, "work", &e, err, sizeof(err)), 0);
	assert_int_equal(
	    oa2_store_load(f->dir, "real", &e, err, sizeof(err)), 0);
	assert_string_equal(oa2_buf_str(&e.refresh_token), "tok");
	unlink(f->path);

	/* a FIFO is refused without hanging */
	assert_int_equal(mkfifo(f->path, 0600), 0);
	assert_int_equal(
	    oa2_store_load(f->dir, "work", &e, err, sizeof(err)), OA2_ERR_PERM);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(f->path);

	/* a directory named like the file */
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(
	    oa2_store_load(f->dir, "work", &e, err, sizeof(err)), OA2_ERR_PERM);
	rmdir(f->path);

	/* the store directory given through a symlink is checked where it
	 * points, and is fine when that is ours and 0700 */
	snprintf(dirlink, sizeof(dirlink), "%s/link", f->top);
	assert_int_equal(symlink(f->dir, dirlink), 0);
	assert_int_equal(
	    oa2_store_load(dirlink, "real", &e, err, sizeof(err)), 0);
	oa2_store_entry_free(&e);
}

static void
test_stale_temp(void **state)
{
	static const char *const names[] = {
	    ".work.json.AAAAAA",  /* old: removed by save */
	    ".work.json.BBBBBB",  /* fresh, maybe a save in progress: kept */
	    ".other.json.CCCCCC", /* another account's: kept */
	    ".work.json.DDDDD",	  /* not our pattern: kept */
	};
	struct fixture *f = *state;
	struct oa2_store_entry e;
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	char err[512], p[256];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, names[i]);
		write_file(p, "half a tok", 10, 0600);
		if (i != 1)
			assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	}
	oa2_store_entry_init(&e);
	set_entry(&e, "tok", "", 7, 0);
	assert_int_equal(
	    oa2_store_save(f->dir, "work", &e, err, sizeof(err)), 0);
	assert_int_equal(
	    oa2_store_load(f->dir, "work", &e, err, sizeof(err)), 0);
	assert_string_equal(oa2_buf_str(&e.refresh_token), "tok");
	assert_int_equal(count_prefixed(f->dir, ".work.json.AAAAAA"), 0);
	assert_int_equal(count_prefixed(f->dir, ".work.json.BBBBBB"), 1);
	assert_int_equal(count_prefixed(f->dir, ".other.json."), 1);
	assert_int_equal(count_prefixed(f->dir, ".work.json.DDDDD"), 1);
	/* logout removes every temp of the account, fresh or not */
	assert_int_equal(oa2_store_delete(f->dir, "work", err, sizeof(err)), 0);
	assert_int_equal(count_prefixed(f->dir, ".work.json.BBBBBB"), 0);
	assert_int_equal(count_prefixed(f->dir, "work.json"), 0);
	assert_int_equal(count_prefixed(f->dir, ".other.json."), 1);
	oa2_store_entry_free(&e);
}

/*
 * A write that fails half way (here EFBIG from RLIMIT_FSIZE with SIGXFSZ
 * ignored, standing in for ENOSPC) must leave the old file and no temp.
 * In a child, so the limit cannot touch the test's own log file.
 */
static void
test_write_failure(void **state)
{
	struct fixture *f = *state;
	struct oa2_store_entry e;
	struct rlimit rl;
	char err[512], *big;
	pid_t pid;
	int status;

	oa2_store_entry_init(&e);
	set_entry(&e, "old-token", "old", 7, 0);
	assert_int_equal(
	    oa2_store_save(f->dir, "work", &e, err, sizeof(err)), 0);

	big = malloc(8001);
	assert_non_null(big);
	memset(big, 'n', 8000);
	big[8000] = '\0';
	set_entry(&e, big, "new", 8, 0);
	free(big);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		getrlimit(RLIMIT_FSIZE, &rl);
		rl.rlim_cur = 4096;
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(2);
		if (oa2_store_save(f->dir, "work", &e, err, sizeof(err)) !=
		    OA2_ERR_IO)
			_exit(3);
		_exit(strstr(err, "File too large") != NULL &&
			    strstr(err, "unchanged") != NULL
			? 0
			: 4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	assert_int_equal(
	    oa2_store_load(f->dir, "work", &e, err, sizeof(err)), 0);
	assert_string_equal(oa2_buf_str(&e.refresh_token), "old-token");
	assert_string_equal(e.scope, "old");
	assert_int_equal(count_prefixed(f->dir, ".work"), 0);
	oa2_store_entry_free(&e);
}

static void
test_delete(void **state)
{
	struct fixture *f = *state;
	struct oa2_store_entry e;
	char err[512], nodir[256];

	oa2_store_entry_init(&e);
	set_entry(&e, "tok", "", 7, 0);
	assert_int_equal(
	    oa2_store_save(f->dir, "work", &e, err, sizeof(err)), 0);
	assert_int_equal(
	    oa2_store_save(f->dir, "home", &e, err, sizeof(err)), 0);
	assert_int_equal(oa2_store_delete(f->dir, "work", err, sizeof(err)), 0);
	assert_int_equal(oa2_store_load(f->dir, "work", &e, err, sizeof(err)),
	    OA2_ERR_NOTFOUND);
	assert_int_equal(
	    oa2_store_load(f->dir, "home", &e, err, sizeof(err)), 0);
	/* absent file, absent directory */
	assert_int_equal(oa2_store_delete(f->dir, "work", err, sizeof(err)), 0);
	snprintf(nodir, sizeof(nodir), "%s/nonexistent", f->top);
	assert_int_equal(oa2_store_delete(nodir, "work", err, sizeof(err)), 0);
	oa2_store_entry_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_account_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_temp, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_write_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
