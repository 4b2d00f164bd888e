/*
 * trace-replay - replay one synthetic cache trace against a memcached-
 * protocol server and report its hit ratio (for evict-test.sh, which runs
 * it against lfd-kvserver and memcached at the same -m).
 *
 * SPDX-License-Identifier: MIT
 *
 * usage: trace-replay host:port WORKING_SET_MB REQUESTS [SEED]
 *   The trace: keys k0 .. k(N-1), drawn with Zipf(0.99) popularity (key i
 *   has weight 1 / (i + 1)^0.99, the ranks shuffled over the key names);
 *   key i has a fixed value size, log-uniform in 64 B .. 16 KiB (mean
 *   about 2.9 KiB); N is chosen so that the sizes add up to WORKING_SET_MB.
 *   Each request is a get; a miss is followed by a set of the key (the
 *   cache-aside pattern), whose value carries the key so that a hit is
 *   checked (a wrong value fails the run).  The same SEED gives the same
 *   trace, request for request.
 *   Prints: requests, hits, misses, hit ratio, sets refused (the server
 *   answered an error), wrong values.  Exit status 1 on a wrong value or
 *   a connection error.
 *
 * Built by evict-test.sh (needs libmemcached-dev); not part of `make`.
 */
#include <libmemcached/memcached.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static double uniform(void)
{
	return (double)(next() >> 11) / 9007199254740992.0;
}

/* Key i's value size: log-uniform in [64, 16384), from i alone. */
static size_t size_of(uint64_t i)
{
	uint64_t z = (i + 1) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 31)) * 0xbf58476d1ce4e5b9ull;
	z ^= z >> 29;
	return (size_t)(64.0 * pow(256.0, (double)(z >> 11) / 9007199254740992.0));
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: trace-replay host:port WORKING_SET_MB "
				"REQUESTS [SEED]\n");
		return 2;
	}
	double ws = atof(argv[2]) * 1024 * 1024;
	long requests = atol(argv[3]);
	if (argc > 4)
		rng ^= strtoull(argv[4], NULL, 0) * 0xbf58476d1ce4e5b9ull;
	if (ws <= 0 || requests <= 0)
		return 2;

	/* the keys: as many as the working set holds */
	size_t n = 0;
	double total = 0;
	while (total < ws) {
		total += (double)size_of(n);
		n++;
	}
	/* Zipf(0.99) CDF over ranks; rank r is key perm[r] */
	double *cdf = malloc(n * sizeof *cdf);
	uint32_t *perm = malloc(n * sizeof *perm);
	char *val = malloc(16384 + 64);
	if (!cdf || !perm || !val)
		return 2;
	double acc = 0;
	for (size_t r = 0; r < n; r++) {
		acc += 1.0 / pow((double)(r + 1), 0.99);
		cdf[r] = acc;
		perm[r] = (uint32_t)r;
	}
	for (size_t r = n - 1; r > 0; r--) {
		size_t j = (size_t)(next() % (r + 1));
		uint32_t t = perm[r];
		perm[r] = perm[j];
		perm[j] = t;
	}

	char conf[256];
	snprintf(conf, sizeof conf, "--SERVER=%s", argv[1]);
	memcached_st *m = memcached(conf, strlen(conf));
	if (m == NULL)
		return 2;
	long hits = 0, misses = 0, refused = 0, wrong = 0, errors = 0;
	for (long q = 0; q < requests; q++) {
		double u = uniform() * acc;
		size_t lo = 0, hi = n - 1;
		while (lo < hi) { /* first rank with cdf >= u */
			size_t mid = lo + (hi - lo) / 2;
			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		uint32_t k = perm[lo];
		char key[32];
		int kl = snprintf(key, sizeof key, "k%u", k);
		size_t vl = size_of(k), len;
		uint32_t fl;
		memcached_return_t rc;
		char *v = memcached_get(m, key, (size_t)kl, &len, &fl, &rc);

		if (v != NULL) {
			hits++;
			if (len != vl || memcmp(v, key, (size_t)kl) != 0)
				wrong++;
			free(v);
			continue;
		}
		if (rc != MEMCACHED_NOTFOUND) {
			errors++;
			fprintf(stderr, "get %s: %s\n", key, memcached_strerror(m, rc));
			if (errors > 10)
				break;
			continue;
		}
		misses++;
		memset(val, 'v', vl);
		memcpy(val, key, (size_t)kl);
		rc = memcached_set(m, key, (size_t)kl, val, vl, 0, 0);
		if (rc != MEMCACHED_SUCCESS)
			refused++;
	}
	printf("keys %zu (working set %.0f MB), requests %ld: hits %ld, misses "
	       "%ld, hit ratio %.4f, sets refused %ld, wrong values %ld, "
	       "errors %ld\n", n, total / 1048576, requests, hits, misses,
	       (double)hits / (double)requests, refused, wrong, errors);
	memcached_free(m);
	free(cdf);
	free(perm);
	free(val);
	return wrong || errors ? 1 : 0;
}
