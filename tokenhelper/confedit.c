/*
 * confedit.c: add an account section to a configuration file ("setup",
 * "import").
 *
 * The file is replaced, never edited in place: a new copy is written
 * beside it (its bytes as they were, then the section), synced, and
 * renamed over it, and the directory is synced; so a reader sees the old
 * file or the new one, never half of one.  The copy keeps the file's mode
 * and owner.  A new file is linked into place, so that a file someone
 * else created meanwhile is not overwritten.  Two writers at once take
 * turns on the file's lock; after the lock, the path must still be the
 * file that was locked (the other one may have replaced it).
 *
 * The file must pass the checks every command makes before it is read
 * (common/conf.c: this user's or root's, written by no one else) and
 * parse, before and after: no command writes a file the commands would
 * refuse, and refuses to touch one they refuse already.
 *
 * TRUST: the file is the user's; its bytes are copied, never interpreted
 * beyond the parser.  SECRETS: none.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "helper.h"
#include "sysutil.h"

#define RETRY 1
#define ATTEMPTS 10

/* The error class of a failed system call on the file or its directory:
 * not allowed, or a path that cannot be (a missing or non-directory
 * parent), is a configuration matter; anything else may pass. */
static int
io_class(int e)
{
	return e == EACCES || e == EPERM || e == EROFS || e == ENOENT ||
		e == ENOTDIR
	    ? OA2_ERR_PERM
	    : OA2_ERR_IO;
}

static void
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Lock fd, waiting 10 s at most for another writer. */
static int
lock_file(int fd)
{
	struct timespec ts = {0, 100 * 1000 * 1000};
	int i;

	for (i = 0; i < 100; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return OA2_ERR_IO;
		nanosleep(&ts, NULL);
	}
	return OA2_ERR_TIMEOUT;
}

/* Write text to a new file in dir with mode, uid and gid; its name goes
 * to tmp.  0, or an error already said. */
static int
write_copy(const char *account, const char *shown, const char *dir,
    const char *base, const struct oa2_buf *text, mode_t mode, uid_t uid,
    gid_t gid, char *tmp, size_t tmpsz)
{
	size_t off = 0;
	ssize_t w;
	int fd, e = EIO;

	if ((size_t)snprintf(tmp, tmpsz, "%s/.%s.XXXXXX", dir, base) >= tmpsz) {
		say("account %s: the path %s is too long", account, shown);
		return OA2_ERR_CONFIG;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		e = errno;
		say("account %s: cannot write a new copy of %s in %s: %s; run "
		    "the command as a user who may, or name another file with "
		    "-c FILE",
		    account, shown, dir, strerror(e));
		tmp[0] = '\0';
		return io_class(e);
	}
	if (fchmod(fd, mode) < 0 ||
	    ((uid != geteuid() || gid != getegid()) &&
		fchown(fd, uid, gid) < 0)) {
		e = errno;
		say("account %s: cannot give the new copy of %s its owner "
		    "(uid %u, gid %u) and mode %04o: %s; run the command as "
		    "its owner",
		    account, shown, (unsigned)uid, (unsigned)gid,
		    (unsigned)mode, strerror(e));
		goto fail;
	}
	while (off < text->len) {
		w = write(fd, text->data + off, text->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			say("account %s: cannot write %s: %s", account, tmp,
			    strerror(e));
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		e = errno;
		say("account %s: cannot write %s: %s", account, tmp,
		    strerror(e));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		e = errno;
		say("account %s: cannot write %s: %s", account, tmp,
		    strerror(e));
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	tmp[0] = '\0';
	return io_class(e);
}

/* text + the section, as one more section of the file: a newline ends the
 * old last line if it has none, and a blank line comes between. */
static int
joined(const char *old, size_t len, const struct oa2_buf *section,
    struct oa2_buf *out)
{
	int r;

	if ((r = oa2_buf_append(out, old, len)) != 0)
		return r;
	if (len > 0 && old[len - 1] != '\n' &&
	    (r = oa2_buf_appendc(out, '\n')) != 0)
		return r;
	if (len > 0 && (r = oa2_buf_appendc(out, '\n')) != 0)
		return r;
	return oa2_buf_append(out, section->data, section->len);
}

/* The new text must parse and hold the account: nothing is written the
 * commands would refuse. */
static int
check_result(const char *account, const char *shown, const struct oa2_buf *text)
{
	struct oa2_config cfg;
	char err[512];
	int r;

	r = oa2_config_parse(
	    oa2_buf_str(text), text->len, shown, &cfg, err, sizeof(err));
	if (r == 0 && oa2_config_find(&cfg, account) == NULL)
		r = OA2_ERR_CONFIG;
	oa2_config_free(&cfg);
	if (r != 0)
		say("account %s: the new %s would not parse (%s); nothing was "
		    "written",
		    account, shown, err[0] != '\0' ? err : "account missing");
	return r;
}

/* A file that does not exist yet: write it, link it into place. */
static int
add_new(const char *account, const char *shown, const char *target,
    const char *dir, const char *base, const struct oa2_buf *section)
{
	mode_t mode = 0666 & ~(harden_caller_umask() | 022);
	char tmp[PATH_MAX];
	struct stat st;
	int r, e;

	if (stat(dir, &st) < 0) {
		/* The configuration's own directory: modes as mkdir -p and
		 * an editor would make them, never writable by others. */
		if (oa2_mkdirs(dir) < 0 ||
		    chmod(dir, 0777 & ~(harden_caller_umask() | 022)) < 0) {
			e = errno;
			say("account %s: cannot create %s: %s", account, dir,
			    strerror(e));
			return io_class(e);
		}
	}
	if ((r = check_result(account, shown, section)) != 0 ||
	    (r = write_copy(account, shown, dir, base, section, mode, geteuid(),
		 getegid(), tmp, sizeof(tmp))) != 0)
		return r;
	if (link(tmp, target) < 0) {
		e = errno;
		unlink(tmp);
		if (e == EEXIST)
			return RETRY; /* created meanwhile: add to it */
		say("account %s: cannot create %s: %s", account, shown,
		    strerror(e));
		return io_class(e);
	}
	unlink(tmp);
	sync_dir(dir);
	return 0;
}

/* One attempt; RETRY when the file changed under us. */
static int
add_once(const char *account, const char *shown, const char *target,
    const char *dir, const char *base, const struct oa2_buf *section)
{
	struct oa2_config cfg = {0};
	const struct oa2_account *a;
	struct oa2_buf text;
	struct stat st, now;
	char err[512], tmp[PATH_MAX] = "", *old = NULL;
	size_t len = 0;
	int fd, r, e;

	if ((fd = open(target, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		e = errno;
		if (e == ENOENT)
			return add_new(
			    account, shown, target, dir, base, section);
		say("account %s: cannot read %s: %s", account, shown,
		    strerror(e));
		return io_class(e);
	}
	oa2_buf_init(&text, 2 * OA2_CONFIG_MAX);
	if ((r = lock_file(fd)) != 0) {
		say("account %s: another process holds %s locked; try again",
		    account, shown);
		goto out;
	}
	if (fstat(fd, &st) < 0 || stat(target, &now) < 0 ||
	    st.st_dev != now.st_dev || st.st_ino != now.st_ino) {
		r = RETRY; /* replaced while we waited */
		goto out;
	}
	if ((r = oa2_config_read_fd(fd, shown, &old, &len, err, sizeof(err))) !=
	    0) {
		say("account %s: %s; nothing was written", account, err);
		goto out;
	}
	if ((r = oa2_config_parse(old, len, shown, &cfg, err, sizeof(err))) !=
	    0) {
		say("account %s: %s; fix the file first, nothing was written",
		    account, err);
		goto out;
	}
	if ((a = oa2_config_find(&cfg, account)) != NULL) {
		say("account %s: %s already has it (line %d); choose another "
		    "name, or remove that section first; nothing was written",
		    account, shown, a->line);
		r = OA2_ERR_CONFIG;
		goto out;
	}
	if ((r = joined(old, len, section, &text)) != 0) {
		say("account %s: %s: %s", account, shown, oa2_strerror(r));
		goto out;
	}
	if ((r = check_result(account, shown, &text)) != 0 ||
	    (r = write_copy(account, shown, dir, base, &text,
		 st.st_mode & 07777, st.st_uid, st.st_gid, tmp, sizeof(tmp))) !=
		0)
		goto out;
	if (rename(tmp, target) < 0) {
		e = errno;
		unlink(tmp);
		say("account %s: cannot replace %s: %s", account, shown,
		    strerror(e));
		r = io_class(e);
		goto out;
	}
	sync_dir(dir);
out:
	close(fd); /* and its lock, after the rename */
	free(old);
	oa2_buf_free(&text);
	oa2_config_free(&cfg);
	return r;
}

int
config_add_section(
    const char *path, const char *account, const struct oa2_buf *section)
{
	char target[PATH_MAX], dir[PATH_MAX], *slash;
	const char *base;
	struct stat st;
	int i, r;

	/* A linked file (a dotfile manager's) is replaced where it lives;
	 * the link stays. */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		if (realpath(path, target) == NULL) {
			say("account %s: %s is a link to nothing (%s); fix or "
			    "remove it",
			    account, path, strerror(errno));
			return OA2_ERR_CONFIG;
		}
	} else if ((size_t)snprintf(target, sizeof(target), "%s", path) >=
	    sizeof(target)) {
		say("account %s: the path %s is too long", account, path);
		return OA2_ERR_CONFIG;
	}
	snprintf(dir, sizeof(dir), "%s", target);
	if ((slash = strrchr(dir, '/')) == NULL) {
		snprintf(dir, sizeof(dir), ".");
		base = target;
	} else {
		base = target + (slash - dir) + 1;
		if (slash == dir)
			slash[1] = '\0'; /* "/file": the root directory */
		else
			*slash = '\0';
	}
	if (*base == '\0') {
		say("account %s: %s names a directory, not a file", account,
		    path);
		return OA2_ERR_CONFIG;
	}
	for (i = 0; i < ATTEMPTS; i++)
		if ((r = add_once(account, path, target, dir, base, section)) !=
		    RETRY)
			return r;
	say("account %s: %s keeps changing; try again", account, path);
	return OA2_ERR_IO;
}
