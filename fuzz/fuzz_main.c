/*
 * fuzz_main.c - replay driver for builds without libFuzzer (after
 * systemd's src/fuzz/fuzz-main.c): runs LLVMFuzzerTestOneInput() once
 * over every file named on the command line, and over every regular
 * file (not starting with '.') directly inside a directory named there,
 * in name order. A crash or sanitizer report in the target fails the
 * run, so `meson test --suite fuzz` replays each corpus on every build.
 *
 * usage: fuzz-<target>-replay FILE|DIR...
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int
read_file(const char *path, uint8_t **data_r, size_t *size_r)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t size = 0, cap = 0, n;

	if (!f)
		return -1;
	for (;;) {
		if (size == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *d = realloc(data, cap);
			if (!d) {
				free(data);
				fclose(f);
				errno = ENOMEM;
				return -1;
			}
			data = d;
		}
		n = fread(data + size, 1, cap - size, f);
		size += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(data);
		fclose(f);
		errno = EIO;
		return -1;
	}
	fclose(f);
	*data_r = data;
	*size_r = size;
	return 0;
}

static int
run_file(const char *path, unsigned *count)
{
	uint8_t *data;
	size_t size;

	if (read_file(path, &data, &size) != 0) {
		fprintf(stderr, "fuzz-main: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (getenv("FUZZ_MAIN_VERBOSE"))
		fprintf(stderr, "fuzz-main: %s (%zu bytes)\n", path, size);
	/* An exact-size copy so ASan sees reads past the end. */
	uint8_t *exact = malloc(size ? size : 1);
	if (!exact) {
		free(data);
		return -1;
	}
	memcpy(exact, data, size);
	free(data);
	(void)LLVMFuzzerTestOneInput(exact, size);
	free(exact);
	(*count)++;
	return 0;
}

static int
skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int
run_dir(const char *dir, unsigned *count)
{
	struct dirent **names;
	int n, rc = 0;

	if ((n = scandir(dir, &names, skip_dot, alphasort)) < 0) {
		fprintf(stderr, "fuzz-main: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    run_file(path, count) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned count = 0;
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "fuzz-main: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) != 0 :
		    run_file(argv[i], &count) != 0) {
			rc = 1;
		}
	}
	printf("fuzz-main: %u input%s replayed\n", count, count == 1 ? "" : "s");
	if (rc == 0 && count == 0) {
		fprintf(stderr, "fuzz-main: no inputs found\n");
		rc = 1;
	}
	return rc;
}
