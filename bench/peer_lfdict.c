/*
 * bench/peer_lfdict.c - lfd-bench's adapter for lfdict itself: lfdict-h
 * (the peers' hash), lfdict (defaults: keyed SipHash-1-3), and the
 * diagnostics lfdict-memb (urcu-memb flavour) and lfdict-sparse (presized
 * to capacity 4N).  Uses lfdict.h, liburcu-memb (the flavour) and
 * bench/peer.h.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#define _LGPL_SOURCE /* liburcu's documented fast path (inline read lock) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-memb.h>

#include "lfdict.h"
#include "peer.h"

static uint64_t lfd_cb_hash(const void *key, size_t len, void *arg)
{
	(void)arg;
	(void)len;
	return bench_hash(load_u64(key));
}

/* variant 0: defaults; 1: the peers' hash; 2: and urcu-memb; 3: the
 * peers' hash and an index presized for n entries at a quarter of the
 * default load (capacity 4n: at most 0.5 entries per bucket). */
static void *lfdx_create(int variant, size_t n)
{
	struct lfd_config cfg;
	struct lfd *d;

	memset(&cfg, 0, sizeof(cfg));
	if (variant >= 1)
		cfg.hash = lfd_cb_hash;
	if (variant == 2)
		cfg.flavor = &urcu_memb_flavor;
	if (variant == 3)
		cfg.capacity = 4 * n;
	d = lfd_new(&cfg);
	if (d == NULL) {
		perror("lfd_new");
		exit(2);
	}
	return d;
}

static void *lfd_create_default(size_t n)
{
	return lfdx_create(0, n);
}

static void *lfd_create_h(size_t n)
{
	return lfdx_create(1, n);
}

static void *lfd_create_memb(size_t n)
{
	return lfdx_create(2, n);
}

static void *lfd_create_sparse(size_t n)
{
	return lfdx_create(3, n);
}

static void lfdx_destroy(void *t)
{
	if (lfd_destroy(t) != 0)
		fail("lfd_destroy", 0, 0, 0);
}

static int lfdx_get(void *t, uint64_t k, uint64_t *v)
{
	void *p;
	int r = lfd_get(t, &k, sizeof(k), &p);

	if (r == 0) {
		*v = (uint64_t)(uintptr_t)p;
		return 1;
	}
	if (r != -ENOENT)
		fail("lfd_get error", k, (uint64_t)r, 0);
	return 0;
}

static int lfdx_insert(void *t, uint64_t k, uint64_t v)
{
	int r = lfd_insert(t, &k, sizeof(k), (void *)(uintptr_t)v, NULL);

	if (r == 0)
		return 1;
	if (r != -EEXIST)
		fail("lfd_insert error", k, (uint64_t)r, 0);
	return 0;
}

static int lfdx_pop(void *t, uint64_t k, uint64_t *v)
{
	void *p;
	int r = lfd_pop(t, &k, sizeof(k), &p);

	if (r == 0) {
		*v = (uint64_t)(uintptr_t)p;
		return 1;
	}
	if (r != -ENOENT)
		fail("lfd_pop error", k, (uint64_t)r, 0);
	return 0;
}

static unsigned lfdx_incr(void *t, uint64_t k)
{
	void *cur;
	unsigned retries = 0;
	int r;

	if (lfd_get(t, &k, sizeof(k), &cur) != 0) {
		fail("lfd_get hot key", k, 0, 0);
		return 0;
	}
	while ((r = lfd_cas(t, &k, sizeof(k), cur,
			    (void *)((uintptr_t)cur + 1), &cur)) == -EAGAIN)
		retries++;
	if (r != 0)
		fail("lfd_cas error", k, (uint64_t)r, 0);
	return retries;
}

static void lfdx_quiesce(void *t)
{
	lfd_barrier(t);
}

static size_t lfdx_size(void *t)
{
	size_t c = 0;

	lfd_count(t, &c);
	return c;
}

const struct impl peer_lfdict[] = {
	{ "lfdict-h", "lfdict, caller-supplied hash (the peers' hash), urcu-bp",
	  lfd_create_h, lfdx_destroy, nop_thread, nop_thread, lfdx_get,
	  lfdx_insert, lfdx_pop, lfdx_incr, lfdx_quiesce, lfdx_size, 0, 0 },
	{ "lfdict", "lfdict defaults: keyed SipHash-1-3, urcu-bp",
	  lfd_create_default, lfdx_destroy, nop_thread, nop_thread, lfdx_get,
	  lfdx_insert, lfdx_pop, lfdx_incr, lfdx_quiesce, lfdx_size, 0, 0 },
	{ "lfdict-memb", "diagnostic: lfdict-h with the urcu-memb flavour",
	  lfd_create_memb, lfdx_destroy, memb_enter, memb_exit, lfdx_get,
	  lfdx_insert, lfdx_pop, lfdx_incr, lfdx_quiesce, lfdx_size, 0, 0 },
	{ "lfdict-sparse", "diagnostic: lfdict-h presized to capacity 4N (<= 0.5 entries per bucket)",
	  lfd_create_sparse, lfdx_destroy, nop_thread, nop_thread, lfdx_get,
	  lfdx_insert, lfdx_pop, lfdx_incr, lfdx_quiesce, lfdx_size, 0, 0 },
	{ .name = NULL },
};
