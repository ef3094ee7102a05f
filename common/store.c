/*
 * store.c: the file store of refresh tokens (format in store.h).
 *
 * Everything happens relative to a descriptor of DIR that was checked with
 * fstat, so the directory checked is the directory used; the account file
 * is opened with O_NOFOLLOW and checked on its descriptor too.  Saves write
 * a temp file, fsync it, rename it over the old file and fsync DIR, so a
 * crash leaves either the old file or the new one.
 *
 * TRUST: the file is ours but may be damaged (crash, disk, hand edits):
 * size-capped, depth-capped, every member type-checked, never rewritten on
 * a failed load.  Account names are checked so that they stay in DIR.
 * SECRETS: the refresh token.  The file is read into a wiping buffer; the
 * json-c copies (the tokener's work buffer, the string object, the
 * serialised output) are kept from being reallocated and are wiped before
 * they are freed; stack buffers are wiped.  Not covered: a file json-c
 * cannot parse to the end, whose partial tree json-c frees unwiped.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"

#include "err.h"
#include "sysutil.h"
#include "secretfile.h"
#include "store.h"
#include "wire.h"

#define JSON_DEPTH 8
#define FORMAT_VERSION 1
#define TEMP_SUFFIX_LEN 6
/* A temp file this old belongs to a save that crashed, not to one that is
 * still writing; the next save of the account removes it. */
#define STALE_TEMP_AGE 600
/* "." ACCOUNT ".json." XXXXXX NUL */
#define NAME_SIZE (OA2_STORE_ACCOUNT_MAX + 20)
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define AGAIN "; move it away and log in again"

static const char temp_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

void
oa2_store_entry_init(struct oa2_store_entry *e)
{
	memset(e, 0, sizeof(*e));
	oa2_buf_init(&e->refresh_token, OA2_TOKEN_MAX);
}

void
oa2_store_entry_free(struct oa2_store_entry *e)
{
	oa2_buf_free(&e->refresh_token);
	memset(e->scope, 0, sizeof(e->scope));
	e->updated = e->refresh_expires = 0;
}

static void
entry_clear(struct oa2_store_entry *e)
{
	oa2_buf_reset(&e->refresh_token);
	e->scope[0] = '\0';
	e->updated = e->refresh_expires = 0;
}

static int
is_alnum(char c)
{
	/* Not isalnum(): the locale must not widen what a file name may be. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

int
oa2_store_account_check(const char *account)
{
	size_t i, n;

	if (account == NULL)
		return OA2_ERR_INVAL;
	n = strnlen(account, OA2_STORE_ACCOUNT_MAX + 1);
	if (n == 0 || n > OA2_STORE_ACCOUNT_MAX || account[0] == '.')
		return OA2_ERR_INVAL;
	for (i = 0; i < n; i++)
		if (!is_alnum(account[i]) && account[i] != '-' &&
		    account[i] != '_' && account[i] != '.' && account[i] != '@')
			return OA2_ERR_INVAL;
	return 0;
}

/* Checks the account and builds its file name; err gets the sentence. */
static int
account_file(
    const char *account, char *name, size_t namesz, char *err, size_t errsz)
{
	char shown[OA2_STORE_ACCOUNT_MAX + 1];

	if (oa2_store_account_check(account) != 0) {
		oa2_printable(shown, sizeof(shown), account ? account : "",
		    account ? strnlen(account, OA2_STORE_ACCOUNT_MAX) : 0);
		snprintf(err, errsz,
		    "the account name '%s' cannot name a token file; use up "
		    "to %d letters, digits, '-', '_', '.', '@', not starting "
		    "with '.'",
		    shown, OA2_STORE_ACCOUNT_MAX);
		return OA2_ERR_INVAL;
	}
	snprintf(name, namesz, "%s.json", account);
	return 0;
}

/* mkdir -p with mode 0700, for a store directory that does not exist yet
 * (~/.local/state often does not). */
static int
make_dirs(const char *dir, char *err, size_t errsz)
{
	if (oa2_mkdirs(dir) == 0)
		return 0;
	snprintf(err, errsz, "cannot create the token store directory %s: %s",
	    dir, strerror(errno));
	return errno == EACCES			       ? OA2_ERR_PERM
	    : errno == EINVAL || errno == ENAMETOOLONG ? OA2_ERR_INVAL
						       : OA2_ERR_IO;
}

/* Opens DIR; with check, refuses one that is not ours or that group or
 * others may enter, like ssh refuses a loose ~/.ssh. */
static int
open_dir(
    const char *dir, int create, int check, int *dfd, char *err, size_t errsz)
{
	struct stat st;
	int fd = -1, r = 0;

	*dfd = -1;
	if (create && (r = make_dirs(dir, err, errsz)) != 0)
		return r;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = errno == ENOENT   ? OA2_ERR_NOTFOUND
		    : errno == EACCES ? OA2_ERR_PERM
				      : OA2_ERR_IO;
		snprintf(err, errsz,
		    "cannot open the token store directory %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(
		    err, errsz, "cannot stat %s: %s", dir, strerror(errno));
		r = OA2_ERR_IO;
		goto out;
	}
	if (check && st.st_uid != geteuid()) {
		snprintf(err, errsz,
		    "the token store directory %s belongs to uid %u, not to "
		    "this user (uid %u); chown it",
		    dir, (unsigned)st.st_uid, (unsigned)geteuid());
		r = OA2_ERR_PERM;
		goto out;
	}
	if (check && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errsz,
		    "the token store directory %s is accessible by others "
		    "(mode %04o); run: chmod 700 %s",
		    dir, (unsigned)(st.st_mode & 07777), dir);
		r = OA2_ERR_PERM;
		goto out;
	}
	*dfd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* Reads the file on fd, checked like any secret file, into text (capped
 * by text's max). */
static int
read_file(int fd, const char *dir, const char *name, struct oa2_buf *text,
    char *err, size_t errsz)
{
	char path[1024];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	r = oa2_secretfile_read_fd(
	    fd, "the token store file", path, text, err, errsz);
	if (r == OA2_ERR_TOOBIG) {
		snprintf(err, errsz,
		    "the token store file %s is larger than %d bytes" AGAIN,
		    path, OA2_STORE_FILE_MAX);
		r = OA2_ERR_PARSE;
	}
	return r;
}

/* 0 with *v set, OA2_ERR_NOTFOUND when absent (*v untouched), or
 * OA2_ERR_PARSE when not a non-negative integer. */
static int
get_count(struct json_object *o, const char *key, long long *v)
{
	struct json_object *m;
	long long n;

	if (!json_object_object_get_ex(o, key, &m))
		return OA2_ERR_NOTFOUND;
	if (!json_object_is_type(m, json_type_int))
		return OA2_ERR_PARSE;
	if ((n = (long long)json_object_get_int64(m)) < 0)
		return OA2_ERR_PARSE;
	*v = n;
	return 0;
}

/*
 * Parses text[0..len) into e.  why gets the rest of a sentence that starts
 * with the file's name.
 */
static int
parse_entry(const char *text, size_t len, const char *account,
    struct oa2_store_entry *e, char *why, size_t whysz)
{
	struct json_object *o = NULL;
	char shown[OA2_STORE_ACCOUNT_MAX + 1];
	const char *s;
	long long version;
	size_t n;
	int r = OA2_ERR_PARSE;

	o = oa2_json_parse(text, len, JSON_DEPTH);

	if (o == NULL) {
		snprintf(why, whysz, "is not valid JSON (damaged?)" AGAIN);
		goto out;
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(why, whysz, "is not a JSON object" AGAIN);
		goto out;
	}
	if (get_count(o, "version", &version) != 0) {
		snprintf(why, whysz, "has no valid format version" AGAIN);
		goto out;
	}
	if (version != FORMAT_VERSION) {
		snprintf(why, whysz,
		    "has format version %lld, but this sasl-oauth2 reads "
		    "version %d; use the sasl-oauth2 that wrote it, or move it "
		    "away and log in again",
		    version, FORMAT_VERSION);
		goto out;
	}
	if ((s = oa2_json_string(o, "account", &n)) == NULL) {
		snprintf(why, whysz, "names no account" AGAIN);
		goto out;
	}
	if (n != strlen(account) || memcmp(s, account, n) != 0) {
		/* A renamed file would hand one mailbox another's token. */
		oa2_printable(shown, sizeof(shown), s, n);
		snprintf(why, whysz, "belongs to account '%s'" AGAIN, shown);
		goto out;
	}
	if ((s = oa2_json_string(o, "refresh_token", &n)) == NULL ||
	    oa2_opaque_check(s, n) != 0) {
		snprintf(why, whysz, "holds no valid refresh_token (%s)" AGAIN,
		    s == NULL ? "missing" : "malformed");
		goto out;
	}
	if (oa2_buf_append(&e->refresh_token, s, n) != 0) {
		r = OA2_ERR_NOMEM;
		snprintf(why, whysz, "could not be loaded: out of memory");
		goto out;
	}
	if (json_object_object_get_ex(o, "scope", NULL)) {
		if ((s = oa2_json_string(o, "scope", &n)) == NULL ||
		    n >= sizeof(e->scope)) {
			snprintf(why, whysz, "has a bad scope" AGAIN);
			goto out;
		}
		oa2_printable(e->scope, sizeof(e->scope), s, n);
	}
	if (get_count(o, "updated", &e->updated) == OA2_ERR_PARSE ||
	    get_count(o, "refresh_expires", &e->refresh_expires) ==
		OA2_ERR_PARSE) {
		snprintf(why, whysz, "has a bad time stamp" AGAIN);
		goto out;
	}
	r = 0;
out:
	oa2_json_free(o);
	if (r != 0)
		entry_clear(e);
	return r;
}

int
oa2_store_load(const char *dir, const char *account, struct oa2_store_entry *e,
    char *err, size_t errsz)
{
	struct oa2_buf text;
	char name[NAME_SIZE], why[256];
	int dfd = -1, fd = -1, r;

	entry_clear(e);
	oa2_buf_init(&text, OA2_STORE_FILE_MAX);
	if (errsz > 0)
		err[0] = '\0';
	if ((r = account_file(account, name, sizeof(name), err, errsz)) != 0)
		goto out;
	if ((r = open_dir(dir, 0, 1, &dfd, err, errsz)) != 0) {
		if (r == OA2_ERR_NOTFOUND)
			snprintf(err, errsz,
			    "no refresh token is stored for account %s (no "
			    "%s); log in first",
			    account, dir);
		goto out;
	}
	/* O_NONBLOCK: a FIFO put in its place must not hang us before the
	 * S_ISREG check refuses it. */
	fd = openat(dfd, name,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT) {
			snprintf(err, errsz,
			    "no refresh token is stored for account %s (no "
			    "%s/%s); log in first",
			    account, dir, name);
			r = OA2_ERR_NOTFOUND;
		} else if (errno == ELOOP) {
			snprintf(err, errsz,
			    "the token store file %s/%s is a symbolic link, "
			    "which is refused; replace it with the file",
			    dir, name);
			r = OA2_ERR_PERM;
		} else {
			r = errno == EACCES ? OA2_ERR_PERM : OA2_ERR_IO;
			snprintf(err, errsz, "cannot open %s/%s: %s", dir, name,
			    strerror(errno));
		}
		goto out;
	}
	if ((r = read_file(fd, dir, name, &text, err, errsz)) != 0)
		goto out;
	if ((r = parse_entry(oa2_buf_str(&text), text.len, account, e, why,
		 sizeof(why))) != 0)
		snprintf(err, errsz, "the token store file %s/%s %s", dir, name,
		    why);
out:
	oa2_buf_free(&text);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return r;
}

/* Adds v (which may be NULL after a failed json_object_new_*) to o. */
static int
add_member(struct json_object *o, const char *key, struct json_object *v)
{
	if (v == NULL)
		return OA2_ERR_NOMEM;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return OA2_ERR_NOMEM;
	}
	return 0;
}

/*
 * Builds the file's JSON in *o and serialises it into a buffer that *o
 * owns (*json, *len).  The caller wipes *json and the refresh_token member
 * before json_object_put(*o).
 */
static int
build_json(const char *account, const struct oa2_store_entry *e,
    long long updated, struct json_object **o, const char **json, size_t *len)
{
	struct json_object *tokv;
	const char *tok = oa2_buf_str(&e->refresh_token);
	size_t toklen = e->refresh_token.len;
	char *placeholder;
	int r;

	*json = NULL;
	*len = 0;
	if ((*o = json_object_new_object()) == NULL)
		return OA2_ERR_NOMEM;
	if ((r = add_member(
		 *o, "version", json_object_new_int(FORMAT_VERSION))) != 0 ||
	    (r = add_member(*o, "account", json_object_new_string(account))) !=
		0)
		return r;
	/*
	 * json-c grows its output buffer with realloc, which would leave
	 * pieces of the token in freed memory.  So the first pass writes a
	 * placeholder of the same length made of '"', which escapes to two
	 * bytes, the most any token character can take; the real pass then
	 * fits in the buffer the first one grew, and the string object is
	 * overwritten in place (same length).
	 */
	if ((placeholder = malloc(toklen + 1)) == NULL)
		return OA2_ERR_NOMEM;
	memset(placeholder, '"', toklen);
	placeholder[toklen] = '\0';
	tokv = json_object_new_string_len(placeholder, (int)toklen);
	free(placeholder);
	if ((r = add_member(*o, "refresh_token", tokv)) != 0 ||
	    (r = add_member(*o, "scope",
		 json_object_new_string_len(e->scope,
		     (int)strnlen(e->scope, sizeof(e->scope))))) != 0 ||
	    (r = add_member(*o, "updated", json_object_new_int64(updated))) !=
		0 ||
	    (r = add_member(*o, "refresh_expires",
		 json_object_new_int64(e->refresh_expires))) != 0)
		return r;
	if (json_object_to_json_string_length(*o, JSON_FLAGS, len) == NULL ||
	    !json_object_set_string_len(tokv, tok, (int)toklen) ||
	    (*json = json_object_to_json_string_length(*o, JSON_FLAGS, len)) ==
		NULL)
		return OA2_ERR_NOMEM;
	return 0;
}

/* Creates DIR/.ACCOUNT.json.XXXXXX like mkostemp(O_CLOEXEC), relative to
 * dfd. */
static int
make_temp(int dfd, const char *account, char *tmp, size_t tmpsz, int *fd)
{
	unsigned char rnd[TEMP_SUFFIX_LEN];
	struct timespec ts;
	unsigned long seed;
	size_t i, n;
	int tries;

	for (tries = 0; tries < 100; tries++) {
		if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) !=
		    (ssize_t)sizeof(rnd)) {
			/* DIR is private: the name needs to be unique, not
			 * unpredictable; O_EXCL makes it so. */
			clock_gettime(CLOCK_REALTIME, &ts);
			seed = (unsigned long)ts.tv_nsec +
			    (unsigned long)getpid() * 7919 + (unsigned)tries;
			for (i = 0; i < sizeof(rnd); i++, seed /= 62)
				rnd[i] = (unsigned char)(seed % 62);
		}
		n = (size_t)snprintf(tmp, tmpsz, ".%s.json.", account);
		for (i = 0; i < TEMP_SUFFIX_LEN && n + i + 1 < tmpsz; i++)
			tmp[n + i] =
			    temp_chars[rnd[i] % (sizeof(temp_chars) - 1)];
		tmp[n + i] = '\0';
		*fd = openat(dfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW |
			O_NOCTTY,
		    0600);
		if (*fd >= 0 || errno != EEXIST)
			break;
	}
	return *fd >= 0 ? 0 : OA2_ERR_IO;
}

/* Is name one of the account's temp files, .ACCOUNT.json.XXXXXX? */
static int
is_temp_of(const char *name, const char *account)
{
	size_t alen = strlen(account), i;

	if (strlen(name) != alen + 7 + TEMP_SUFFIX_LEN || name[0] != '.' ||
	    memcmp(name + 1, account, alen) != 0 ||
	    memcmp(name + 1 + alen, ".json.", 6) != 0)
		return 0;
	for (i = alen + 7; name[i] != '\0'; i++)
		if (!is_alnum(name[i]))
			return 0;
	return 1;
}

/* Best effort: removes the account's temp files at least min_age seconds
 * old (all of them with 0).  Each may hold a refresh token. */
static void
remove_temps(int dfd, const char *account, long long min_age)
{
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	DIR *d;
	int fd;

	if ((fd = dup(dfd)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!is_temp_of(de->d_name, account))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (long long)(now - st.st_mtime) < min_age)
			continue;
		unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
}

/* A sentence for a failed write of the temp file. */
static void
write_error(int errnum, const char *dir, char *err, size_t errsz)
{
	if (errnum == ENOSPC)
		snprintf(err, errsz,
		    "no space left on %s; the stored token is unchanged, free "
		    "some space and try again",
		    dir);
	else if (errnum == EDQUOT)
		snprintf(err, errsz,
		    "disk quota exceeded on %s; the stored token is unchanged",
		    dir);
	else
		snprintf(err, errsz,
		    "cannot write the token store file in %s: %s; the stored "
		    "token is unchanged",
		    dir, strerror(errnum));
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
oa2_store_save(const char *dir, const char *account,
    const struct oa2_store_entry *e, char *err, size_t errsz)
{
	struct json_object *o = NULL;
	const char *json = NULL;
	char name[NAME_SIZE], tmp[NAME_SIZE];
	size_t len = 0;
	int dfd = -1, fd = -1, have_tmp = 0, r;

	if (errsz > 0)
		err[0] = '\0';
	if ((r = account_file(account, name, sizeof(name), err, errsz)) != 0)
		goto out;
	if (oa2_opaque_check(
		oa2_buf_str(&e->refresh_token), e->refresh_token.len) != 0 ||
	    strnlen(e->scope, sizeof(e->scope)) == sizeof(e->scope) ||
	    e->updated < 0 || e->refresh_expires < 0) {
		snprintf(err, errsz,
		    "refusing to save an invalid entry for account %s "
		    "(token of %u bytes)",
		    account, (unsigned)e->refresh_token.len);
		r = OA2_ERR_INVAL;
		goto out;
	}
	if ((r = build_json(account, e,
		 e->updated != 0 ? e->updated : (long long)time(NULL), &o,
		 &json, &len)) != 0) {
		snprintf(err, errsz, "cannot save account %s: out of memory",
		    account);
		goto out;
	}
	if ((r = open_dir(dir, 1, 1, &dfd, err, errsz)) != 0)
		goto out;
	remove_temps(dfd, account, STALE_TEMP_AGE);
	if (make_temp(dfd, account, tmp, sizeof(tmp), &fd) != 0) {
		r = errno == EACCES ? OA2_ERR_PERM : OA2_ERR_IO;
		snprintf(err, errsz,
		    "cannot create a temp file in %s: %s; the stored token is "
		    "unchanged",
		    dir, strerror(errno));
		goto out;
	}
	have_tmp = 1;
	/* The umask may have taken more than group and other bits. */
	if (fchmod(fd, 0600) < 0 || write_all(fd, json, len) < 0 ||
	    write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
		write_error(errno, dir, err, errsz);
		r = OA2_ERR_IO;
		goto out;
	}
	/* close() may be where NFS reports the failed write. */
	r = close(fd);
	fd = -1;
	if (r < 0) {
		write_error(errno, dir, err, errsz);
		r = OA2_ERR_IO;
		goto out;
	}
	if (renameat(dfd, tmp, dfd, name) < 0) {
		snprintf(err, errsz,
		    "cannot replace %s/%s: %s; the stored token is unchanged",
		    dir, name, strerror(errno));
		r = OA2_ERR_IO;
		goto out;
	}
	have_tmp = 0;
	if (fsync(dfd) < 0) {
		snprintf(err, errsz,
		    "saved %s/%s but cannot sync %s: %s; a crash now may "
		    "lose the new token",
		    dir, name, dir, strerror(errno));
		r = OA2_ERR_IO;
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		unlinkat(dfd, tmp, 0);
	if (dfd >= 0)
		close(dfd);
	if (o != NULL) {
		if (json != NULL)
			explicit_bzero((char *)json, len);
		oa2_json_free(o);
	}
	return r;
}

int
oa2_store_delete(const char *dir, const char *account, char *err, size_t errsz)
{
	char name[NAME_SIZE];
	int dfd = -1, r;

	if (errsz > 0)
		err[0] = '\0';
	if ((r = account_file(account, name, sizeof(name), err, errsz)) != 0)
		goto out;
	/* No ownership checks: removing our token is right in any case. */
	if ((r = open_dir(dir, 0, 0, &dfd, err, errsz)) != 0) {
		if (r == OA2_ERR_NOTFOUND) {
			if (errsz > 0)
				err[0] = '\0';
			r = 0;
		}
		goto out;
	}
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
		r = errno == EACCES || errno == EPERM ? OA2_ERR_PERM
						      : OA2_ERR_IO;
		snprintf(err, errsz, "cannot remove %s/%s: %s", dir, name,
		    strerror(errno));
		goto out;
	}
	remove_temps(dfd, account, 0);
	if (fsync(dfd) < 0) {
		snprintf(err, errsz,
		    "removed %s/%s but cannot sync %s: %s; a crash now may "
		    "bring it back",
		    dir, name, dir, strerror(errno));
		r = OA2_ERR_IO;
		goto out;
	}
	r = 0;
out:
	if (dfd >= 0)
		close(dfd);
	return r;
}
