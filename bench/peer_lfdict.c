/*
 * bench/peer_lfdict.c - lfd-bench's adapter for lfdict itself: lfdict-h
 * (the peers' hash), lfdict (defaults: the keyed hash, AES-128 or
 * SipHash-1-3), and the diagnostics lfdict-memb (urcu-memb flavour) and
 * lfdict-sparse (presized to capacity 4N: four times the buckets the
 * default gives N entries).  Uses lfdict.h, liburcu-memb (the flavour)
 * and bench/peer.h.
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
 * peers' hash and an index presized for 4n entries (capacity 4n: a
 * quarter of the default load for n). */
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

/* lfd_get_many takes a pointer and a length per key: the harness's keys
 * are an array of words, so both arrays are built here, in the caller's
 * frame, as a server would build them from the keys of one request. */
#define LFDX_MANY_MAX 64

static size_t lfdx_get_many(void *t, size_t n, const uint64_t *keys,
			    uint64_t *values, unsigned char *found)
{
	const void *kp[LFDX_MANY_MAX];
	size_t lens[LFDX_MANY_MAX];
	void *vals[LFDX_MANY_MAX];
	int res[LFDX_MANY_MAX];
	size_t i, total = 0;
	int r;

	while (n > 0) {
		size_t m = n < LFDX_MANY_MAX ? n : LFDX_MANY_MAX;

		for (i = 0; i < m; i++) {
			kp[i] = &keys[i];
			lens[i] = sizeof(keys[i]);
		}
		r = lfd_get_many(t, m, kp, lens, vals, res);
		if (r < 0) {
			fail("lfd_get_many error", keys[0], (uint64_t)r, 0);
			return total;
		}
		for (i = 0; i < m; i++) {
			found[i] = res[i] == 0;
			if (res[i] == 0)
				values[i] = (uint64_t)(uintptr_t)vals[i];
			else if (res[i] != -ENOENT)
				fail("lfd_get_many result", keys[i],
				     (uint64_t)res[i], 0);
		}
		total += (size_t)r;
		keys += m;
		values += m;
		found += m;
		n -= m;
	}
	return total;
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
	  lfdx_insert, lfdx_pop, lfdx_incr, lfdx_quiesce, lfdx_size, 0, 0,
	  lfdx_get_many },
	{ "lfdict", "lfdict defaults: keyed hash (AES-128 for keys <= 15 bytes where the CPU has it, else SipHash-1-3), urcu-bp",
	  lfd_create_default, lfdx_destroy, nop_thread, nop_thread, lfdx_get,
	  lfdx_insert, lfdx_pop, lfdx_incr, lfdx_quiesce, lfdx_size, 0, 0,
	  lfdx_get_many },
	{ "lfdict-memb", "diagnostic: lfdict-h with the urcu-memb flavour",
	  lfd_create_memb, lfdx_destroy, memb_enter, memb_exit, lfdx_get,
	  lfdx_insert, lfdx_pop, lfdx_incr, lfdx_quiesce, lfdx_size, 0, 0,
	  lfdx_get_many },
	{ "lfdict-sparse", "diagnostic: lfdict-h presized to capacity 4N (4x the buckets the default gives N)",
	  lfd_create_sparse, lfdx_destroy, nop_thread, nop_thread, lfdx_get,
	  lfdx_insert, lfdx_pop, lfdx_incr, lfdx_quiesce, lfdx_size, 0, 0,
	  lfdx_get_many },
	{ .name = NULL },
};
