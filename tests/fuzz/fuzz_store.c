/*
 * fuzz_store.c: the refresh-token store file (store.c), which a crash, a
 * full disk or a hand edit may have damaged.
 *
 * The input becomes DIR/work.json (0600) in a private 0700 directory made
 * once per process under $TMPDIR (default /tmp; /dev/shm is faster) and
 * removed at exit; oa2_store_load reads it back through all its checks.
 * Checks: the result is 0 or OA2_ERR_PARSE (the file is ours, so never a
 * permission or I/O error); a success holds a refresh token that passes
 * oa2_opaque_check, a printable scope and non-negative times, and saving
 * it and loading again gives the same entry; a refusal leaves the entry
 * empty, says why, and leaves the file as it was.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "store.h"
#include "wire.h"

#include "fuzz.h"

#define ACCOUNT "work"

static char dir[4096];
static char path[4096 + 16];

static void
remove_dir(void)
{
	struct dirent *de;
	DIR *d;

	if (dir[0] == '\0' || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	(void)rmdir(dir);
}

static void
make_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	FUZZ_CHECK((size_t)snprintf(dir, sizeof(dir), "%s/fuzz_store.XXXXXX",
		       tmp) < sizeof(dir));
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		abort();
	}
	FUZZ_CHECK(chmod(dir, 0700) == 0);
	snprintf(path, sizeof(path), "%s/%s.json", dir, ACCOUNT);
	atexit(remove_dir);
}

static void
write_input(const uint8_t *data, size_t size)
{
	ssize_t w;
	int fd;

	(void)unlink(path);
	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(fchmod(fd, 0600) == 0);
	while (size > 0) {
		w = write(fd, data, size);
		FUZZ_CHECK(w > 0);
		data += w;
		size -= (size_t)w;
	}
	FUZZ_CHECK(close(fd) == 0);
}

/* The file still holds data[0..size). */
static int
file_is(const uint8_t *data, size_t size)
{
	char chunk[4096];
	size_t have = 0;
	ssize_t n;
	int fd, same = 1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (have + (size_t)n > size ||
		    memcmp(chunk, data + have, (size_t)n) != 0)
			same = 0;
		have += (size_t)n;
	}
	close(fd);
	return same && n == 0 && have == size;
}

static void
check_entry(const struct oa2_store_entry *e)
{
	FUZZ_CHECK(oa2_opaque_check(oa2_buf_str(&e->refresh_token),
		       e->refresh_token.len) == 0);
	FUZZ_CHECK(
	    strlen(oa2_buf_str(&e->refresh_token)) == e->refresh_token.len);
	FUZZ_PRINTABLE(e->scope);
	FUZZ_CHECK(e->updated >= 0 && e->refresh_expires >= 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oa2_store_entry e, again;
	char err[1024];
	int rc;

	if (dir[0] == '\0')
		make_dir();
	write_input(data, size);
	oa2_store_entry_init(&e);
	oa2_store_entry_init(&again);
	FUZZ_CHECK(oa2_buf_appendz(&e.refresh_token, "stale-token") == 0);
	memset(err, 'x', sizeof(err));
	rc = oa2_store_load(dir, ACCOUNT, &e, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == OA2_ERR_PARSE);
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (rc != 0) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(e.refresh_token.len == 0 && e.scope[0] == '\0');
		FUZZ_CHECK(e.updated == 0 && e.refresh_expires == 0);
		FUZZ_CHECK(file_is(data, size));
		goto out;
	}
	check_entry(&e);

	/* What the store reads it can write, and read back the same. */
	rc = oa2_store_save(dir, ACCOUNT, &e, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "save: %s\n", err);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(oa2_store_load(dir, ACCOUNT, &again, err, sizeof(err)) == 0);
	check_entry(&again);
	FUZZ_CHECK(again.refresh_token.len == e.refresh_token.len &&
	    memcmp(again.refresh_token.data, e.refresh_token.data,
		e.refresh_token.len) == 0);
	FUZZ_CHECK(strcmp(again.scope, e.scope) == 0);
	FUZZ_CHECK(again.refresh_expires == e.refresh_expires);
	FUZZ_CHECK(e.updated == 0 || again.updated == e.updated);
out:
	oa2_store_entry_free(&e);
	oa2_store_entry_free(&again);
	return 0;
}
