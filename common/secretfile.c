/*
 * secretfile.c: read secret files safely.
 *
 * Checks are made on the open descriptor (fstat), so the file checked is
 * the file read; symlinks are not followed.
 * SECRETS: the file's contents, into the caller's wiping buffer; the read
 * chunk is wiped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "secretfile.h"

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
