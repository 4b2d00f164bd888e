/*
 * bench/peer_seq.c - lfd-bench's sequential ceiling, seq: linear probing,
 * no atomics, one thread.  Uses the C library and bench/peer.h only.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "peer.h"

struct seqt {
	uint64_t *k; /* 0: empty */
	uint64_t *v;
	size_t mask;
	size_t n;
};

static void seq_alloc(struct seqt *s, size_t cap)
{
	s->k = calloc(cap, sizeof(uint64_t));
	s->v = malloc(cap * sizeof(uint64_t));
	if (s->k == NULL || s->v == NULL)
		exit(2);
	s->mask = cap - 1;
}

static void *seq_create(size_t n)
{
	struct seqt *s = calloc(1, sizeof(*s));

	(void)n;
	if (s == NULL)
		exit(2);
	seq_alloc(s, 16);
	return s;
}

static void seq_destroy(void *t)
{
	struct seqt *s = t;

	free(s->k);
	free(s->v);
	free(s);
}

static int seq_get(void *t, uint64_t k, uint64_t *v)
{
	struct seqt *s = t;
	size_t i = bench_hash(k) & s->mask;

	for (;; i = (i + 1) & s->mask) {
		if (s->k[i] == k) {
			*v = s->v[i];
			return 1;
		}
		if (s->k[i] == 0)
			return 0;
	}
}

static void seq_put_new(struct seqt *s, uint64_t k, uint64_t v)
{
	size_t i = bench_hash(k) & s->mask;

	while (s->k[i] != 0)
		i = (i + 1) & s->mask;
	s->k[i] = k;
	s->v[i] = v;
}

static int seq_insert(void *t, uint64_t k, uint64_t v)
{
	struct seqt *s = t;
	size_t i = bench_hash(k) & s->mask;

	for (;; i = (i + 1) & s->mask) {
		if (s->k[i] == k)
			return 0;
		if (s->k[i] == 0)
			break;
	}
	s->k[i] = k;
	s->v[i] = v;
	if (++s->n * 4 > (s->mask + 1) * 3) { /* grow at 3/4 load */
		struct seqt old = *s;
		size_t j;

		seq_alloc(s, (old.mask + 1) * 2);
		for (j = 0; j <= old.mask; j++)
			if (old.k[j])
				seq_put_new(s, old.k[j], old.v[j]);
		free(old.k);
		free(old.v);
	}
	return 1;
}

static int seq_pop(void *t, uint64_t k, uint64_t *v)
{
	struct seqt *s = t;
	size_t i = bench_hash(k) & s->mask, j;

	for (;; i = (i + 1) & s->mask) {
		if (s->k[i] == k)
			break;
		if (s->k[i] == 0)
			return 0;
	}
	*v = s->v[i];
	/* backward-shift deletion */
	for (j = (i + 1) & s->mask; s->k[j] != 0; j = (j + 1) & s->mask) {
		size_t home = bench_hash(s->k[j]) & s->mask;

		/* can s->k[j] move to the hole at i? (home not in (i, j]) */
		if (((j - home) & s->mask) >= ((j - i) & s->mask)) {
			s->k[i] = s->k[j];
			s->v[i] = s->v[j];
			i = j;
		}
	}
	s->k[i] = 0;
	s->n--;
	return 1;
}

static unsigned seq_incr(void *t, uint64_t k)
{
	struct seqt *s = t;
	size_t i = bench_hash(k) & s->mask;

	for (;; i = (i + 1) & s->mask) {
		if (s->k[i] == k) {
			s->v[i]++;
			return 0;
		}
		if (s->k[i] == 0) {
			fail("seq hot key", k, 0, 0);
			return 0;
		}
	}
}

static void seq_quiesce(void *t)
{
	(void)t;
}

static size_t seq_size(void *t)
{
	return ((struct seqt *)t)->n;
}

const struct impl peer_seq[] = {
	{ "seq", "sequential ceiling: linear probing, no atomics, 1 thread",
	  seq_create, seq_destroy, nop_thread, nop_thread, seq_get, seq_insert,
	  seq_pop, seq_incr, seq_quiesce, seq_size, 1, 0, NULL },
	{ .name = NULL },
};
