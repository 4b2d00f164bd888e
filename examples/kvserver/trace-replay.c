/*
 * trace-replay - replay one synthetic cache trace (trace.h) against a
 * memcached-protocol server and report its hit ratio (for evict-test.sh,
 * which runs it against lfd-kvserver and memcached at the same -m).
 *
 * SPDX-License-Identifier: MIT
 *
 * usage: trace-replay host:port WORKING_SET_MB REQUESTS [SEED]
 *   Each request is a get; a miss is followed by a set of the key (the
 *   cache-aside pattern), whose value carries the key so that a hit is
 *   checked (a wrong value fails the run).
 *   Prints: requests, hits, misses, hit ratio, sets refused (the server
 *   answered an error), wrong values.  Exit status 1 on a wrong value or
 *   a connection error.
 *
 * Built by evict-test.sh (needs libmemcached-dev); not part of `make`.
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <string.h>

#include "trace.h"

int main(int argc, char **argv)
{
	struct trace t;
	char conf[256], *val = malloc(16384 + 64);

	if (argc < 4) {
		fprintf(stderr, "usage: trace-replay host:port WORKING_SET_MB "
				"REQUESTS [SEED]\n");
		return 2;
	}
	double ws = atof(argv[2]) * 1024 * 1024;
	long requests = atol(argv[3]);
	if (ws <= 0 || requests <= 0 || val == NULL ||
	    trace_init(&t, ws, argc > 4 ? strtoull(argv[4], NULL, 0) : 0) != 0)
		return 2;
	snprintf(conf, sizeof conf, "--SERVER=%s", argv[1]);
	memcached_st *m = memcached(conf, strlen(conf));
	if (m == NULL)
		return 2;
	long hits = 0, misses = 0, refused = 0, wrong = 0, errors = 0;
	for (long q = 0; q < requests; q++) {
		uint32_t k = trace_draw(&t);
		char key[32];
		int kl = snprintf(key, sizeof key, "k%u", k);
		size_t vl = trace_size(k), len;
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
	       "errors %ld\n", t.n, t.bytes / 1048576, requests, hits, misses,
	       (double)hits / (double)requests, refused, wrong, errors);
	memcached_free(m);
	trace_fini(&t);
	free(val);
	return wrong || errors ? 1 : 0;
}
