/*
 * secretfile.c: read secret files safely.
 *
 * Checks are made on the open descriptor (fstat), so the file checked is
 * the file read; symlinks are not followed.
 * SECRETS: the file's contents, into the caller's wiping buffer; the read
 * chunk is wiped.  Files created hold the caller's secret, mode 0600 from
 * the start (mkstemp), never a moment readable by others.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "secretfile.h"
#include "sysutil.h"

int
oa2_secretfile_read_fd(int fd, const char *what, const char *path,
    struct oa2_buf *out, char *err, size_t errsz)
{
	struct stat st;
	char chunk[4096];
	ssize_t n;
	int r = 0;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s %s is not a regular file", what, path);
		r = OA2_ERR_PERM;
		goto out;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errsz,
		    "%s %s belongs to uid %u, not to this user (uid %u); "
		    "chown it",
		    what, path, (unsigned)st.st_uid, (unsigned)geteuid());
		r = OA2_ERR_PERM;
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errsz,
		    "%s %s is accessible by others (mode %04o); run: chmod "
		    "600 %s",
		    what, path, (unsigned)(st.st_mode & 07777), path);
		r = OA2_ERR_PERM;
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errsz, "cannot read %s: %s", path,
			    strerror(errno));
			r = OA2_ERR_IO;
			goto out;
		}
		if (oa2_buf_append(out, chunk, (size_t)n) != 0) {
			snprintf(err, errsz, "%s %s is too large", what, path);
			r = OA2_ERR_TOOBIG;
			goto out;
		}
	}
out:
	explicit_bzero(chunk, sizeof(chunk));
	return r;
}

int
oa2_secretfile_read(
    const char *path, struct oa2_buf *out, char *err, size_t errsz)
{
	int fd, r;

	oa2_buf_reset(out);
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	 * writer before fstat could refuse it.  It changes nothing for the
	 * regular files that pass. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) <
	    0) {
		snprintf(err, errsz, "cannot open secret file %s: %s", path,
		    strerror(errno));
		return errno == ENOENT ? OA2_ERR_NOTFOUND : OA2_ERR_IO;
	}
	if ((r = oa2_secretfile_read_fd(
		 fd, "secret file", path, out, err, errsz)) != 0)
		goto out;
	while (out->len > 0 &&
	    (out->data[out->len - 1] == '\n' ||
		out->data[out->len - 1] == '\r' ||
		out->data[out->len - 1] == ' ' ||
		out->data[out->len - 1] == '\t'))
		out->data[--out->len] = '\0';
	if (out->len == 0) {
		snprintf(err, errsz, "secret file %s is empty", path);
		r = OA2_ERR_CONFIG;
	}
out:
	if (r != 0)
		oa2_buf_reset(out);
	close(fd);
	return r;
}

/* A place we may not write (a fact to fix, not a moment to wait out). */
static int
cannot_write(int e)
{
	return e == EACCES || e == EPERM || e == EROFS || e == ENOENT ||
		e == ENOTDIR
	    ? OA2_ERR_PERM
	    : OA2_ERR_IO;
}

int
oa2_secretfile_create(
    const char *path, const char *data, size_t len, char *err, size_t errsz)
{
	char dirbuf[PATH_MAX], tmp[PATH_MAX + 16];
	const char *dir;
	ssize_t w;
	size_t off;
	int fd, e, r = 0;

	if (strlen(path) >= sizeof(dirbuf) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
		sizeof(tmp)) {
		snprintf(err, errsz, "%s: path too long", path);
		return OA2_ERR_INVAL;
	}
	memcpy(dirbuf, path, strlen(path) + 1);
	dir = dirname(dirbuf);
	if (oa2_mkdirs(dir) < 0) {
		snprintf(err, errsz, "cannot create the directory %s: %s", dir,
		    strerror(errno));
		return cannot_write(errno);
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		snprintf(err, errsz, "cannot create a file in %s: %s", dir,
		    strerror(errno));
		return cannot_write(errno);
	}
	for (off = 0; off <= len && r == 0; off += (size_t)w) {
		/* the data, then the newline as its last byte */
		w = off < len ? write(fd, data + off, len - off)
			      : write(fd, "\n", 1);
		if (w < 0 && errno == EINTR)
			w = 0;
		else if (w <= 0)
			r = OA2_ERR_IO;
	}
	if (r != 0 || fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
		snprintf(
		    err, errsz, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return OA2_ERR_IO;
	}
	close(fd);
	if (link(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		snprintf(err, errsz, "cannot create %s: %s", path, strerror(e));
		return e == EEXIST		? OA2_ERR_CONFIG
		    : e == EACCES || e == EPERM ? OA2_ERR_PERM
						: OA2_ERR_IO;
	}
	unlink(tmp);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}
