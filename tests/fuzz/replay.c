/* replay.c — runs a fuzz harness's entry point once on every seed file, as a plain test: the
 * fuzz targets' checks (abort() on a broken contract) on the checked-in corpus, in seconds. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int passed, failed;

/* Exactly the file's bytes in a block of that size, so a read past the end is one. */
static void replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *data;

	if (!f || fstat(fileno(f), &st) < 0) {
		printf("not ok - cannot read %s: %s\n", path, strerror(errno));
		failed++;
		if (f)
			fclose(f);
		return;
	}
	data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!data || fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		printf("not ok - cannot read %s\n", path);
		failed++;
	} else {
		/* flushed first: if the harness aborts, the log's last line names the input */
		printf("replay %s (%lld bytes)\n", path, (long long)st.st_size);
		fflush(stdout);
		if (LLVMFuzzerTestOneInput(data, (size_t)st.st_size) == 0) {
			passed++;
		} else {
			printf("not ok - %s: the harness returned non-zero\n", path);
			failed++;
		}
	}
	free(data);
	fclose(f);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* A directory's regular files in name order (as a corpus directory is), or one file. */
static void replay_path(const char *path)
{
	struct dirent **names;
	struct stat st;
	char file[4096];
	int n;

	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	n = scandir(path, &names, NULL, by_name);
	if (n < 0) {
		printf("not ok - cannot list %s: %s\n", path, strerror(errno));
		failed++;
		return;
	}
	for (int i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode))
			replay_file(file);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s NAME SEED_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 2; i < argc; i++)
		replay_path(argv[i]);
	if (passed + failed == 0) {
		printf("not ok - %s: no seed files\n", argv[1]);
		failed++;
	}
	printf("%s: %d passed, %d failed\n", argv[1], passed, failed);
	return failed ? 1 : 0;
}
