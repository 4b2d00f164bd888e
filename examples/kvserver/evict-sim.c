/*
 * evict-sim - the hit ratio of eviction policies on evict-test.sh's trace
 * (trace.h), simulated: which policy lfd-kvserver should use, measured
 * before building it (doc/kvserver.md, "Eviction").
 *
 * SPDX-License-Identifier: MIT
 *
 * usage: evict-sim LIMIT_MB WORKING_SET_MB REQUESTS [SEED [K]]
 *   A cache of LIMIT_MB bytes (an item costs its value, its key and
 *   OVERHEAD bytes) under the cache-aside trace: a miss inserts the key,
 *   evicting by the policy until it fits.  Policies:
 *     lru          exact LRU (one list: what a global lock buys)
 *     clock        CLOCK, the hand in hash order (a cursor over lfdict's
 *                  split order): a hit sets the item's bit; the hand
 *                  clears set bits and evicts the first clear one
 *     sample-lru   Redis-style: the least recently used of K random items
 *     sample-hyper hyperbolic caching (Blankstein et al., USENIX ATC 2017)
 *                  with size: the least of K random items by
 *                  hits / (age x size)
 *     window-hyper the same priority over the next K items in hash order
 *                  from a hand that moves past them (a cursor's slice
 *                  instead of random samples)
 *     none         refuse stores once full
 *   K defaults to 64.
 */
#include <stdio.h>
#include <string.h>

#include "trace.h"

#define OVERHEAD 80 /* struct item, \r\n, the lfdict entry, the allocator */

enum { LRU, CLOCK, SAMPLE_LRU, SAMPLE_HYPER, WINDOW_HYPER, NONE, NPOL };
static const char *const names[] = { "lru", "clock", "sample-lru",
				     "sample-hyper", "window-hyper", "none" };

struct sim {
	struct trace *t;
	int pol, k;
	double cap, used;
	uint64_t now, rng;
	unsigned char *in, *ref;
	uint64_t *last, *ins;	/* last access, insertion */
	uint32_t *hits;		/* since insertion */
	uint32_t *prev, *next;	/* lru list (head = most recent) */
	uint32_t head, tail;
	uint32_t *at;		/* ring position -> key (hash order) */
	size_t hand;
	uint32_t *res, *resi;	/* resident keys, key -> index in res */
	size_t nres;
};

static uint64_t rnd(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static double cost(uint32_t k)
{
	return (double)trace_size(k) + 8 + OVERHEAD;
}

static double hyper(const struct sim *s, uint32_t k)
{
	return (double)s->hits[k] / ((double)(s->now - s->ins[k] + 1) * cost(k));
}

static void lru_unlink(struct sim *s, uint32_t k)
{
	if (s->prev[k] != UINT32_MAX)
		s->next[s->prev[k]] = s->next[k];
	else
		s->head = s->next[k];
	if (s->next[k] != UINT32_MAX)
		s->prev[s->next[k]] = s->prev[k];
	else
		s->tail = s->prev[k];
}

static void lru_front(struct sim *s, uint32_t k)
{
	s->prev[k] = UINT32_MAX;
	s->next[k] = s->head;
	if (s->head != UINT32_MAX)
		s->prev[s->head] = k;
	s->head = k;
	if (s->tail == UINT32_MAX)
		s->tail = k;
}

static void drop(struct sim *s, uint32_t k)
{
	uint32_t i = s->resi[k], last = s->res[--s->nres];

	s->in[k] = 0;
	s->used -= cost(k);
	if (s->pol == LRU)
		lru_unlink(s, k);
	s->res[i] = last;
	s->resi[last] = i;
}

/* The next resident key under the hand (hash order), the hand past it. */
static uint32_t hand_next(struct sim *s)
{
	for (;;) {
		uint32_t k = s->at[s->hand];
		s->hand = (s->hand + 1) % s->t->n;
		if (s->in[k])
			return k;
	}
}

/* Evict one key by the policy. */
static void evict(struct sim *s)
{
	uint32_t best = 0, k;
	double bp = 1e300, p;

	switch (s->pol) {
	case LRU:
		drop(s, s->tail);
		return;
	case CLOCK:
		while (s->ref[k = hand_next(s)])
			s->ref[k] = 0;
		drop(s, k);
		return;
	default:
		for (int j = 0; j < s->k; j++) {
			k = s->pol == WINDOW_HYPER ? hand_next(s)
						   : s->res[rnd(s) % s->nres];
			p = s->pol == SAMPLE_LRU ? (double)s->last[k] : hyper(s, k);
			if (p < bp)
				bp = p, best = k;
		}
		drop(s, best);
	}
}

static double run(struct trace *t, double cap, long requests, int pol, int K,
		  uint64_t start)
{
	struct sim s = { .t = t, .pol = pol, .k = K, .cap = cap,
			 .head = UINT32_MAX, .tail = UINT32_MAX,
			 .rng = 88172645463325252ull };
	size_t n = t->n;
	long hits = 0;

	s.in = calloc(n, 1);
	s.ref = calloc(n, 1);
	s.last = calloc(n, sizeof *s.last);
	s.ins = calloc(n, sizeof *s.ins);
	s.hits = calloc(n, sizeof *s.hits);
	s.prev = calloc(n, sizeof *s.prev);
	s.next = calloc(n, sizeof *s.next);
	s.at = calloc(n, sizeof *s.at);
	s.res = calloc(n, sizeof *s.res);
	s.resi = calloc(n, sizeof *s.resi);
	if (!s.in || !s.ref || !s.last || !s.ins || !s.hits || !s.prev ||
	    !s.next || !s.at || !s.res || !s.resi)
		exit(2);
	/* hash order: a random permutation stands for the split order */
	for (size_t i = 0; i < n; i++)
		s.at[i] = (uint32_t)i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rnd(&s) % (i + 1);
		uint32_t x = s.at[i];
		s.at[i] = s.at[j];
		s.at[j] = x;
	}
	t->rng = start; /* every policy sees the replay's exact requests */
	for (long q = 0; q < requests; q++) {
		uint32_t k = trace_draw(t);

		s.last[k] = s.now = (uint64_t)q + 1;
		if (s.in[k]) {
			hits++;
			s.ref[k] = 1;
			s.hits[k]++;
			if (pol == LRU) {
				lru_unlink(&s, k);
				lru_front(&s, k);
			}
			continue;
		}
		if (pol == NONE && s.used + cost(k) > cap)
			continue;
		while (s.used + cost(k) > cap && s.nres > 0)
			evict(&s);
		s.in[k] = 1;
		s.ref[k] = 0;
		s.hits[k] = 1;
		s.ins[k] = s.now;
		s.used += cost(k);
		s.resi[k] = (uint32_t)s.nres;
		s.res[s.nres++] = k;
		if (pol == LRU)
			lru_front(&s, k);
	}
	free(s.in), free(s.ref), free(s.last), free(s.ins), free(s.hits);
	free(s.prev), free(s.next), free(s.at), free(s.res), free(s.resi);
	return (double)hits / (double)requests;
}

int main(int argc, char **argv)
{
	struct trace t;

	if (argc < 4) {
		fprintf(stderr, "usage: evict-sim LIMIT_MB WORKING_SET_MB "
				"REQUESTS [SEED [K]]\n");
		return 2;
	}
	double cap = atof(argv[1]) * 1048576, ws = atof(argv[2]) * 1048576;
	long requests = atol(argv[3]);
	uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 0) : 0;
	int K = argc > 5 ? atoi(argv[5]) : 64;

	if (cap <= 0 || ws <= 0 || requests <= 0 || K <= 0 ||
	    trace_init(&t, ws, seed))
		return 2;
	uint64_t start = t.rng;
	printf("limit %.0f MB, working set %.0f MB (%zu keys), %ld requests, "
	       "K = %d\n", cap / 1048576, t.bytes / 1048576, t.n, requests, K);
	for (int p = 0; p < NPOL; p++)
		printf("  %-12s hit ratio %.4f\n", names[p],
		       run(&t, cap, requests, p, K, start));
	trace_fini(&t);
	return 0;
}
