/* SPDX-License-Identifier: GPL-2.0-or-later */
/* driver.c: runs a fuzz target without libFuzzer: each corpus file, then deterministic mutations of them. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/*
 * Usage: driver [-m MUTATIONS] [-s SEED] [-o CRASH_FILE] PATH...
 * PATH is a file or a directory of files (the seed corpus). After the files, MUTATIONS inputs
 * (default 0) are derived from them by byte flips, inserts, deletions and splices, with a fixed
 * seed, so a build without libFuzzer (gcc, or clang without libclang-rt) still exercises the
 * target beyond its seeds, the same way on every run. With -o, each mutation is written to
 * CRASH_FILE before it runs, so the input of a failure is left there.
 */

struct input {
	uint8_t *data;
	size_t len;
};

struct corpus {
	struct input *v;
	size_t n, cap;
};

static int add_file(struct corpus *c, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct input in = { 0 };
	size_t cap = 0;
	int ch;

	if (!f) {
		fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((ch = getc(f)) != EOF) {
		if (in.len == cap) {
			uint8_t *d;

			cap = cap ? cap * 2 : 256;
			d = realloc(in.data, cap);
			if (!d) {
				fclose(f);
				free(in.data);
				return -1;
			}
			in.data = d;
		}
		in.data[in.len++] = (uint8_t)ch;
	}
	fclose(f);
	if (c->n == c->cap) {
		struct input *v;

		c->cap = c->cap ? c->cap * 2 : 64;
		v = realloc(c->v, c->cap * sizeof(*v));
		if (!v) {
			free(in.data);
			return -1;
		}
		c->v = v;
	}
	c->v[c->n++] = in;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's files in name order, so every run is the same. */
static int add_path(struct corpus *c, const char *path)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;
	DIR *d;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return add_file(c, path);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char *full;

		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **v;

			cap = cap ? cap * 2 : 64;
			v = realloc(names, cap * sizeof(*v));
			if (!v) {
				ret = -1;
				break;
			}
			names = v;
		}
		if (asprintf(&full, "%s/%s", path, de->d_name) < 0) {
			ret = -1;
			break;
		}
		names[n++] = full;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (!ret)
			ret = add_file(c, names[i]);
		free(names[i]);
	}
	free(names);
	return ret;
}

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* One mutation of a corpus input into buf (at most cap bytes); returns its length. */
static size_t mutate(const struct corpus *c, uint64_t *seed, uint8_t *buf, size_t cap)
{
	const struct input *a = &c->v[next(seed) % c->n], *b = &c->v[next(seed) % c->n];
	size_t len = a->len < cap ? a->len : cap;
	unsigned edits = 1 + (unsigned)(next(seed) % 8);

	memcpy(buf, a->data, len);
	while (edits--) {
		size_t at = len ? next(seed) % len : 0;

		switch (next(seed) % 5) {
		case 0:		/* flip a bit */
			if (len)
				buf[at] ^= (uint8_t)(1u << (next(seed) % 8));
			break;
		case 1:		/* a random byte */
			if (len)
				buf[at] = (uint8_t)next(seed);
			break;
		case 2:		/* insert a byte */
			if (len < cap) {
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = (uint8_t)next(seed);
				len++;
			}
			break;
		case 3:		/* delete a few bytes */
			if (len) {
				size_t k = 1 + next(seed) % 8;

				if (k > len - at)
					k = len - at;
				memmove(buf + at, buf + at + k, len - at - k);
				len -= k;
			}
			break;
		default:	/* splice in a piece of another input */
			if (b->len) {
				size_t from = next(seed) % b->len, k = 1 + next(seed) % 64;

				if (k > b->len - from)
					k = b->len - from;
				if (k > cap - at)
					k = cap - at;
				memcpy(buf + at, b->data + from, k);
				if (at + k > len)
					len = at + k;
			}
			break;
		}
	}
	return len;
}

int main(int argc, char **argv)
{
	struct corpus c = { 0 };
	unsigned long mutations = 0;
	const char *crash_file = NULL;
	uint64_t seed = 1;
	uint8_t *buf;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-m") && i + 1 < argc)
			mutations = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			crash_file = argv[++i];
		else if (add_path(&c, argv[i]) < 0)
			return 2;
	}
	if (!c.n) {
		fprintf(stderr, "usage: %s [-m MUTATIONS] [-s SEED] [-o CRASH_FILE] CORPUS_FILE_OR_DIR...\n", argv[0]);
		return 2;
	}
	for (size_t k = 0; k < c.n; k++)
		LLVMFuzzerTestOneInput(c.v[k].data, c.v[k].len);
	buf = malloc(4096);
	if (!buf)
		return 2;
	for (unsigned long k = 0; k < mutations; k++) {
		size_t len = mutate(&c, &seed, buf, 4096);

		if (crash_file) {
			FILE *f = fopen(crash_file, "wb");

			if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
				fprintf(stderr, "driver: %s: %s\n", crash_file, strerror(errno));
				return 2;
			}
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("%zu corpus inputs and %lu mutations ran\n", c.n, mutations);
	free(buf);
	for (size_t k = 0; k < c.n; k++)
		free(c.v[k].data);
	free(c.v);
	return 0;
}
