/*
 * trace.h - the synthetic cache trace shared by trace-replay.c (against a
 * server) and evict-sim.c (against simulated eviction policies): keys
 * k0 .. k(N-1) drawn with Zipf(0.99) popularity (ranks shuffled over the
 * key names), key i's value size fixed, log-uniform in 64 B .. 16 KiB
 * (mean about 2.9 KiB), N such that the sizes add up to the working set.
 * The same seed gives the same trace, request for request.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef KV_TRACE_H
#define KV_TRACE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

struct trace {
	uint64_t rng;
	size_t n;	/* keys */
	double bytes;	/* their sizes' sum */
	double *cdf;	/* Zipf CDF over ranks (unnormalized) */
	uint32_t *perm; /* rank -> key */
};

static inline uint64_t trace_next(struct trace *t)
{
	/* xorshift64* */
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545f4914f6cdd1dull;
}

/* Key i's value size: log-uniform in [64, 16384), from i alone. */
static inline size_t trace_size(uint64_t i)
{
	uint64_t z = (i + 1) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 31)) * 0xbf58476d1ce4e5b9ull;
	z ^= z >> 29;
	return (size_t)(64.0 * pow(256.0, (double)(z >> 11) / 9007199254740992.0));
}

/* A trace over a working set of ws bytes; 0, or -1 out of memory. */
static inline int trace_init(struct trace *t, double ws, uint64_t seed)
{
	double acc = 0;

	t->rng = 0x9e3779b97f4a7c15ull ^ (seed * 0xbf58476d1ce4e5b9ull);
	t->n = 0;
	t->bytes = 0;
	while (t->bytes < ws)
		t->bytes += (double)trace_size(t->n++);
	t->cdf = malloc(t->n * sizeof *t->cdf);
	t->perm = malloc(t->n * sizeof *t->perm);
	if (!t->cdf || !t->perm)
		return -1;
	for (size_t r = 0; r < t->n; r++) {
		acc += 1.0 / pow((double)(r + 1), 0.99);
		t->cdf[r] = acc;
		t->perm[r] = (uint32_t)r;
	}
	for (size_t r = t->n - 1; r > 0; r--) {
		size_t j = (size_t)(trace_next(t) % (r + 1));
		uint32_t x = t->perm[r];
		t->perm[r] = t->perm[j];
		t->perm[j] = x;
	}
	return 0;
}

/* The next request's key. */
static inline uint32_t trace_draw(struct trace *t)
{
	double u = (double)(trace_next(t) >> 11) / 9007199254740992.0 *
		   t->cdf[t->n - 1];
	size_t lo = 0, hi = t->n - 1;

	while (lo < hi) { /* the first rank with cdf >= u */
		size_t mid = lo + (hi - lo) / 2;
		if (t->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return t->perm[lo];
}

static inline void trace_fini(struct trace *t)
{
	free(t->cdf);
	free(t->perm);
}

#endif
