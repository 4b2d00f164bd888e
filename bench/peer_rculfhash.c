/*
 * bench/peer_rculfhash.c - lfd-bench's adapter for liburcu's rculfhash
 * (urcu-memb flavour, AUTO_RESIZE|ACCOUNTING): rcu-auto (from 1 bucket)
 * and rcu-pre (presized to N).  Uses liburcu-cds, liburcu-memb and
 * bench/peer.h.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#define _LGPL_SOURCE /* liburcu's documented fast path (inline read lock) */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

#include "peer.h"

struct rnode {
	struct cds_lfht_node node;
	uint64_t key;
	uint64_t val;
	struct rcu_head rcu;
};

static void *rcu_create(size_t n, bool presized)
{
	unsigned long sz = 1;
	struct cds_lfht *ht;

	if (presized)
		while (sz < n)
			sz <<= 1;
	/* What the documentation shows: auto-resize with accounting.  The
	 * presized variant starts (and stays at least) at the final size. */
	ht = cds_lfht_new_flavor(sz, sz, 0,
				 CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
				 &urcu_memb_flavor, NULL);
	if (ht == NULL) {
		fprintf(stderr, "cds_lfht_new failed\n");
		exit(2);
	}
	return ht;
}

static void *rcu_create_auto(size_t n)
{
	return rcu_create(n, false);
}

static void *rcu_create_pre(size_t n)
{
	return rcu_create(n, true);
}

/* container_of through void * (clang -Wcast-align: the member is as
 * aligned as its struct). */
#define BENCH_CONTAINER_OF(p, T, m) ((T *)(void *)((char *)(p) - offsetof(T, m)))

static void rnode_free(struct rcu_head *h)
{
	free(BENCH_CONTAINER_OF(h, struct rnode, rcu));
}

static void rcu_destroy(void *t)
{
	struct cds_lfht *ht = t;
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	urcu_memb_read_lock();
	cds_lfht_for_each(ht, &it, n) {
		if (cds_lfht_del(ht, n) == 0)
			urcu_memb_call_rcu(
				&BENCH_CONTAINER_OF(n, struct rnode, node)->rcu,
				rnode_free);
	}
	urcu_memb_read_unlock();
	urcu_memb_barrier();
	if (cds_lfht_destroy(ht, NULL) != 0)
		fail("cds_lfht_destroy", 0, 0, 0);
}

static int rnode_match(struct cds_lfht_node *n, const void *key)
{
	return BENCH_CONTAINER_OF(n, struct rnode, node)->key ==
	       *(const uint64_t *)key;
}

static struct rnode *rcu_lookup(struct cds_lfht *ht, uint64_t k)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	cds_lfht_lookup(ht, bench_hash(k), rnode_match, &k, &it);
	n = cds_lfht_iter_get_node(&it);
	return n ? BENCH_CONTAINER_OF(n, struct rnode, node) : NULL;
}

static int rcu_get(void *t, uint64_t k, uint64_t *v)
{
	struct rnode *n;
	int r = 0;

	urcu_memb_read_lock();
	n = rcu_lookup(t, k);
	if (n) {
		*v = uatomic_read(&n->val);
		r = 1;
	}
	urcu_memb_read_unlock();
	return r;
}

static int rcu_insert(void *t, uint64_t k, uint64_t v)
{
	struct rnode *n = malloc(sizeof(*n));
	struct cds_lfht_node *got;

	if (n == NULL) {
		fail("malloc", k, 0, 0);
		return 0;
	}
	cds_lfht_node_init(&n->node);
	n->key = k;
	n->val = v;
	urcu_memb_read_lock();
	got = cds_lfht_add_unique(t, bench_hash(k), rnode_match, &k,
				  &n->node);
	urcu_memb_read_unlock();
	if (got != &n->node) {
		free(n);
		return 0;
	}
	return 1;
}

static int rcu_pop(void *t, uint64_t k, uint64_t *v)
{
	struct rnode *n;
	int r = 0;

	urcu_memb_read_lock();
	n = rcu_lookup(t, k);
	if (n && cds_lfht_del(t, &n->node) == 0) {
		*v = n->val;
		urcu_memb_call_rcu(&n->rcu, rnode_free);
		r = 1;
	}
	urcu_memb_read_unlock();
	return r;
}

static unsigned rcu_incr(void *t, uint64_t k)
{
	struct rnode *n;
	unsigned retries = 0;

	urcu_memb_read_lock();
	n = rcu_lookup(t, k);
	if (n == NULL) {
		fail("rculfhash hot key", k, 0, 0);
	} else {
		uint64_t cur = uatomic_read(&n->val);
		uint64_t seen;

		while ((seen = uatomic_cmpxchg(&n->val, cur, cur + 1)) != cur) {
			cur = seen;
			retries++;
		}
	}
	urcu_memb_read_unlock();
	return retries;
}

static void rcu_quiesce(void *t)
{
	(void)t;
	urcu_memb_barrier();
}

static size_t rcu_size(void *t)
{
	long before, after;
	unsigned long count;

	urcu_memb_read_lock();
	cds_lfht_count_nodes(t, &before, &count, &after);
	urcu_memb_read_unlock();
	return count;
}

const struct impl peer_rculfhash[] = {
	{ "rcu-auto", "rculfhash urcu-memb, AUTO_RESIZE|ACCOUNTING, from 1 bucket",
	  rcu_create_auto, rcu_destroy, memb_enter, memb_exit, rcu_get,
	  rcu_insert, rcu_pop, rcu_incr, rcu_quiesce, rcu_size, 0, 0, NULL },
	{ "rcu-pre", "rculfhash urcu-memb, presized (min buckets = N), AUTO_RESIZE|ACCOUNTING",
	  rcu_create_pre, rcu_destroy, memb_enter, memb_exit, rcu_get,
	  rcu_insert, rcu_pop, rcu_incr, rcu_quiesce, rcu_size, 0, 0, NULL },
	{ .name = NULL },
};
