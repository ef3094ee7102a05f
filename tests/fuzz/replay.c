/*
 * replay.c: run a harness without libFuzzer: feed every file of its
 * committed corpus to LLVMFuzzerTestOneInput, once, in name order.  It
 * links with any compiler, so make check replays the corpora in every
 * build (ASan/UBSan with --enable-sanitizers); a failed invariant aborts
 * and the test fails after naming the file.
 *
 *	fuzz_NAME_replay			the corpus of NAME under
 *						$abs_top_srcdir/tests/fuzz/corpus
 *	fuzz_NAME_replay FILE|DIR ...		these instead (a reproducer)
 *
 * Each input is copied into a buffer of exactly its size, as libFuzzer
 * does, so that ASan catches a read past its end.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef FUZZ_CORPUS
#error "build with -DFUZZ_CORPUS=\"name\""
#endif

#define INPUT_MAX (1024 * 1024)

static int
replay_file(const char *path)
{
	struct stat st;
	uint8_t *data;
	size_t have = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > INPUT_MAX) {
		fprintf(stderr, "%s: not a regular file under %d bytes\n", path,
		    INPUT_MAX);
		close(fd);
		return -1;
	}
	data = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (data == NULL) {
		close(fd);
		return -1;
	}
	while (have < (size_t)st.st_size &&
	    (n = read(fd, data + have, (size_t)st.st_size - have)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			free(data);
			close(fd);
			return -1;
		}
		have += (size_t)n;
	}
	close(fd);
	/* Named first: if the harness aborts, the log says on what. */
	fprintf(stderr, "%s\n", path);
	(void)LLVMFuzzerTestOneInput(data, have);
	free(data);
	return 0;
}

static int
skip_name(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* Replays path, a file or a directory of files; counts what it ran. */
static int
replay_path(const char *path, unsigned *count)
{
	struct dirent **names;
	struct stat st;
	char file[4096];
	int i, n, r = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (replay_file(path) != 0)
			return -1;
		(*count)++;
		return 0;
	}
	if ((n = scandir(path, &names, skip_name, alphasort)) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (r == 0 &&
		    (size_t)snprintf(file, sizeof(file), "%s/%s", path,
			names[i]->d_name) < sizeof(file)) {
			if (replay_file(file) != 0)
				r = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int
main(int argc, char **argv)
{
	const char *top = getenv("abs_top_srcdir");
	char corpus[4096];
	unsigned count = 0;
	int i;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (replay_path(argv[i], &count) != 0)
				return 1;
		printf("%s: replayed %u inputs\n", FUZZ_CORPUS, count);
		return 0;
	}
	if (top == NULL || top[0] == '\0') {
		fprintf(stderr,
		    "set abs_top_srcdir (make check does), or name "
		    "files or directories to replay\n");
		return 99;
	}
	snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus/%s", top,
	    FUZZ_CORPUS);
	if (replay_path(corpus, &count) != 0)
		return 1;
	if (count == 0) {
		fprintf(stderr, "%s: no inputs\n", corpus);
		return 1;
	}
	printf("%s: replayed %u inputs from %s\n", FUZZ_CORPUS, count, corpus);
	return 0;
}
