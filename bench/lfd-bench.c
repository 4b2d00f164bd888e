/*
 * lfd-bench - one benchmark cell per process: lfdict against the tables a
 * server author would otherwise pick (issue 5).
 *
 *   lfd-bench -i IMPL -w R|M|U|C|B -n N -t THREADS [-s SECONDS] [-r REP]
 *   lfd-bench -l          list the implementations
 *
 * Prints one CSV line (see CSV_HEADER) on stdout; exits 1 (and prints the
 * reason on stderr) if any lookup returned a wrong value or a check failed.
 *
 * Every table gets the same 8-byte keys, key(i) = (i + 1) * golden (never 0),
 * 8-byte values val(key) = key ^ VAL_XOR, and, where it takes one, the same
 * hash: the murmur3 64-bit finalizer of the key (bench_hash).  lfdict runs
 * with that hash (lfdict-h: apples to apples) and with its default keyed
 * SipHash-1-3 (lfdict: what users get).
 *
 * Workloads (keys drawn uniformly by a per-thread xorshift generator):
 *   R  100% get of present keys (ids in [0, N)); every value checked.
 *   M  90% get, 5% insert, 5% pop over ids in [0, 2N); N prefilled, so the
 *      size stays at N on average.  Found values checked.
 *   U  50% get, 25% insert, 25% pop, as M.
 *   C  compare-and-set increments on 4 hot keys of a table of N keys
 *      (get, then cas(v, v + 1) until it succeeds); the final values must
 *      add up to the increments done.  Peers: their nearest equivalent
 *      (rculfhash: cmpxchg on the node's value; lock-based tables: lock).
 *   B  build: THREADS threads insert disjoint shares of N keys into an empty
 *      table (no size hint, except rculfhash-presized); timed to the last
 *      thread done; then every key is checked.
 * Timed workloads run for SECONDS (default 1) after a start barrier.
 *
 * Memory: heap in use (mallinfo2: uordblks + hblkhd, every arena) before
 * the table is created and after it holds its N keys (after prefill, or
 * after the build), once the table is quiescent (lfd_barrier, rcu_barrier,
 * deferred frees done): bytes per entry all-in (nodes, buckets, counters,
 * malloc headers and rounding).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#define _LGPL_SOURCE /* liburcu's documented fast path (inline read lock) */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>
#include <urcu/rculfhash.h>

#include <ck_ht.h>
#include <glib.h>

#include "lfdict.h"

#define CSV_HEADER                                                        \
	"impl,wl,n,threads,rep,ops,secs,mops,mem_bytes_per_entry,final_size"

#define VAL_XOR 0x5bd1e9955bd1e995ULL
#define HOT_KEYS 4u

/* ------------------------------------------------------------------ */
/* keys, values, hash                                                   */

static inline uint64_t key_of(uint64_t id)
{
	return (id + 1) * 0x9E3779B97F4A7C15ULL;
}

static inline uint64_t val_of(uint64_t key)
{
	return key ^ VAL_XOR;
}

static inline uint64_t bench_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static inline uint64_t load_u64(const void *p)
{
	uint64_t k;

	memcpy(&k, p, sizeof(k));
	return k;
}

static atomic_int failed;

static void fail(const char *what, uint64_t key, uint64_t got, uint64_t want)
{
	if (atomic_exchange(&failed, 1) == 0)
		fprintf(stderr,
			"lfd-bench: FAIL: %s: key %#" PRIx64 " got %#" PRIx64
			" want %#" PRIx64 "\n",
			what, key, got, want);
}

/* ------------------------------------------------------------------ */
/* the implementations                                                  */

struct impl {
	const char *name;
	const char *about;
	/* n: the final size (used only by presized tables) */
	void *(*create)(size_t n);
	void (*destroy)(void *t);
	void (*thread_enter)(void *t);
	void (*thread_exit)(void *t);
	/* 1 found (*v set), 0 absent */
	int (*get)(void *t, uint64_t k, uint64_t *v);
	/* 1 inserted, 0 already present */
	int (*insert)(void *t, uint64_t k, uint64_t v);
	/* 1 removed (*v set), 0 absent */
	int (*pop)(void *t, uint64_t k, uint64_t *v);
	/* compare-and-set increment of a present key; returns the retries */
	unsigned (*incr)(void *t, uint64_t k);
	/* wait until deferred work is done (no operation runs) */
	void (*quiesce)(void *t);
	size_t (*size)(void *t);
	int max_threads; /* 0: any */
};

/* --- lfdict ------------------------------------------------------- */

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

static void nop_thread(void *t)
{
	(void)t;
}

static void memb_enter(void *t)
{
	(void)t;
	urcu_memb_register_thread();
}

static void memb_exit(void *t)
{
	(void)t;
	urcu_memb_unregister_thread();
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

/* --- rculfhash (urcu-memb) ----------------------------------------- */

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

/* --- ck_ht (direct mode, SPMC: one writer at a time, by mutex) ------ */

struct deferred {
	struct deferred *next;
};

struct ckt {
	ck_ht_t ht;
	pthread_mutex_t wlock;
	struct deferred *deferred; /* maps retired by a grow (under wlock) */
};

/* ck's allocator interface has no context pointer; one table per process */
static struct ckt *ck_current;

static void *ck_malloc_cb(size_t r)
{
	return malloc(r < sizeof(struct deferred) ? sizeof(struct deferred)
						  : r);
}

static void ck_free_cb(void *p, size_t b, bool r)
{
	(void)b;
	if (r && ck_current) {
		/* Readers may still be in the old map: free it once the
		 * table is quiescent (what ck_epoch would do). */
		struct deferred *d = p;

		d->next = ck_current->deferred;
		ck_current->deferred = d;
		return;
	}
	free(p);
}

static void *ck_realloc_cb(void *p, size_t a, size_t b, bool r)
{
	(void)a;
	(void)r;
	return realloc(p, b);
}

static struct ck_malloc ck_alloc = {
	.malloc = ck_malloc_cb, .realloc = ck_realloc_cb, .free = ck_free_cb
};

static void ck_hash_cb(ck_ht_hash_t *h, const void *key, size_t len,
		       uint64_t seed)
{
	(void)len;
	(void)seed;
	h->value = bench_hash(load_u64(key));
}

static void *ck_create(size_t n)
{
	struct ckt *c = calloc(1, sizeof(*c));

	(void)n;
	if (c == NULL)
		exit(2);
	pthread_mutex_init(&c->wlock, NULL);
	ck_current = c;
	if (!ck_ht_init(&c->ht, CK_HT_MODE_DIRECT, ck_hash_cb, &ck_alloc, 8,
			0)) {
		fprintf(stderr, "ck_ht_init failed\n");
		exit(2);
	}
	return c;
}

static void ck_quiesce(void *t)
{
	struct ckt *c = t;

	pthread_mutex_lock(&c->wlock);
	while (c->deferred) {
		struct deferred *d = c->deferred;

		c->deferred = d->next;
		free(d);
	}
	pthread_mutex_unlock(&c->wlock);
}

static void ck_destroy(void *t)
{
	struct ckt *c = t;

	ck_quiesce(c);
	ck_ht_destroy(&c->ht);
	ck_current = NULL;
	free(c);
}

static int ck_get(void *t, uint64_t k, uint64_t *v)
{
	struct ckt *c = t;
	ck_ht_entry_t e;
	ck_ht_hash_t h;

	ck_ht_hash_direct(&h, &c->ht, (uintptr_t)k);
	ck_ht_entry_key_set_direct(&e, (uintptr_t)k);
	if (!ck_ht_get_spmc(&c->ht, h, &e))
		return 0;
	*v = ck_ht_entry_value_direct(&e);
	return 1;
}

static int ck_insert(void *t, uint64_t k, uint64_t v)
{
	struct ckt *c = t;
	ck_ht_entry_t e;
	ck_ht_hash_t h;
	bool ok;

	ck_ht_hash_direct(&h, &c->ht, (uintptr_t)k);
	ck_ht_entry_set_direct(&e, h, (uintptr_t)k, (uintptr_t)v);
	pthread_mutex_lock(&c->wlock);
	ok = ck_ht_put_spmc(&c->ht, h, &e); /* fails if present */
	pthread_mutex_unlock(&c->wlock);
	return ok;
}

static int ck_pop(void *t, uint64_t k, uint64_t *v)
{
	struct ckt *c = t;
	ck_ht_entry_t e;
	ck_ht_hash_t h;
	bool ok;

	ck_ht_hash_direct(&h, &c->ht, (uintptr_t)k);
	ck_ht_entry_key_set_direct(&e, (uintptr_t)k);
	pthread_mutex_lock(&c->wlock);
	ok = ck_ht_remove_spmc(&c->ht, h, &e);
	pthread_mutex_unlock(&c->wlock);
	if (ok)
		*v = ck_ht_entry_value_direct(&e);
	return ok;
}

static unsigned ck_incr(void *t, uint64_t k)
{
	struct ckt *c = t;
	ck_ht_entry_t e;
	ck_ht_hash_t h;

	ck_ht_hash_direct(&h, &c->ht, (uintptr_t)k);
	ck_ht_entry_key_set_direct(&e, (uintptr_t)k);
	pthread_mutex_lock(&c->wlock);
	if (!ck_ht_get_spmc(&c->ht, h, &e)) {
		fail("ck hot key", k, 0, 0);
	} else {
		uint64_t v = ck_ht_entry_value_direct(&e) + 1;

		ck_ht_entry_set_direct(&e, h, (uintptr_t)k, (uintptr_t)v);
		ck_ht_set_spmc(&c->ht, h, &e);
	}
	pthread_mutex_unlock(&c->wlock);
	return 0;
}

static size_t ck_size(void *t)
{
	return (size_t)ck_ht_count(&((struct ckt *)t)->ht);
}

/* --- GLib GHashTable behind a pthread_mutex or a pthread_rwlock ----- */

struct gt {
	GHashTable *h;
	bool rw;
	pthread_mutex_t m;
	pthread_rwlock_t rwl;
};

static guint g_bench_hash(gconstpointer k)
{
	return (guint)bench_hash((uint64_t)(uintptr_t)k);
}

static void *g_create(bool rw)
{
	struct gt *g = calloc(1, sizeof(*g));

	if (g == NULL)
		exit(2);
	g->h = g_hash_table_new(g_bench_hash, g_direct_equal);
	g->rw = rw;
	pthread_mutex_init(&g->m, NULL);
	pthread_rwlock_init(&g->rwl, NULL);
	return g;
}

static void *g_create_mutex(size_t n)
{
	(void)n;
	return g_create(false);
}

static void *g_create_rw(size_t n)
{
	(void)n;
	return g_create(true);
}

static void g_destroy(void *t)
{
	struct gt *g = t;

	g_hash_table_destroy(g->h);
	free(g);
}

static void g_rlock(struct gt *g)
{
	if (g->rw)
		pthread_rwlock_rdlock(&g->rwl);
	else
		pthread_mutex_lock(&g->m);
}

static void g_wlock(struct gt *g)
{
	if (g->rw)
		pthread_rwlock_wrlock(&g->rwl);
	else
		pthread_mutex_lock(&g->m);
}

static void g_unlock(struct gt *g)
{
	if (g->rw)
		pthread_rwlock_unlock(&g->rwl);
	else
		pthread_mutex_unlock(&g->m);
}

static int g_get(void *t, uint64_t k, uint64_t *v)
{
	struct gt *g = t;
	gpointer ok, ov;
	gboolean r;

	g_rlock(g);
	r = g_hash_table_lookup_extended(g->h, (gconstpointer)(uintptr_t)k,
					 &ok, &ov);
	g_unlock(g);
	if (r)
		*v = (uint64_t)(uintptr_t)ov;
	return r ? 1 : 0;
}

static int g_insert(void *t, uint64_t k, uint64_t v)
{
	struct gt *g = t;
	int r = 0;

	g_wlock(g);
	if (!g_hash_table_contains(g->h, (gconstpointer)(uintptr_t)k)) {
		g_hash_table_insert(g->h, (gpointer)(uintptr_t)k,
				    (gpointer)(uintptr_t)v);
		r = 1;
	}
	g_unlock(g);
	return r;
}

static int g_pop(void *t, uint64_t k, uint64_t *v)
{
	struct gt *g = t;
	gpointer ok, ov;
	gboolean r;

	g_wlock(g);
	r = g_hash_table_steal_extended(g->h, (gconstpointer)(uintptr_t)k,
					&ok, &ov);
	g_unlock(g);
	if (r)
		*v = (uint64_t)(uintptr_t)ov;
	return r ? 1 : 0;
}

static unsigned g_incr(void *t, uint64_t k)
{
	struct gt *g = t;
	gpointer ok, ov;

	g_wlock(g);
	if (!g_hash_table_lookup_extended(g->h, (gconstpointer)(uintptr_t)k,
					  &ok, &ov))
		fail("ghash hot key", k, 0, 0);
	else
		g_hash_table_insert(g->h, ok,
				    (gpointer)((uintptr_t)ov + 1));
	g_unlock(g);
	return 0;
}

static void g_quiesce(void *t)
{
	(void)t;
}

static size_t g_size(void *t)
{
	return g_hash_table_size(((struct gt *)t)->h);
}

/* --- sequential ceiling: linear probing, no atomics, 1 thread ------ */

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

static const struct impl impls[] = {
	{ "lfdict-h", "lfdict, caller-supplied hash (the peers' hash), urcu-bp",
	  lfd_create_h, lfdx_destroy, nop_thread, nop_thread, lfdx_get,
	  lfdx_insert, lfdx_pop, lfdx_incr, lfdx_quiesce, lfdx_size, 0 },
	{ "lfdict", "lfdict defaults: keyed SipHash-1-3, urcu-bp",
	  lfd_create_default, lfdx_destroy, nop_thread, nop_thread, lfdx_get,
	  lfdx_insert, lfdx_pop, lfdx_incr, lfdx_quiesce, lfdx_size, 0 },
	{ "lfdict-memb", "diagnostic: lfdict-h with the urcu-memb flavour",
	  lfd_create_memb, lfdx_destroy, memb_enter, memb_exit, lfdx_get,
	  lfdx_insert, lfdx_pop, lfdx_incr, lfdx_quiesce, lfdx_size, 0 },
	{ "lfdict-sparse", "diagnostic: lfdict-h presized to capacity 4N (<= 0.5 entries per bucket)",
	  lfd_create_sparse, lfdx_destroy, nop_thread, nop_thread, lfdx_get,
	  lfdx_insert, lfdx_pop, lfdx_incr, lfdx_quiesce, lfdx_size, 0 },
	{ "rcu-auto", "rculfhash urcu-memb, AUTO_RESIZE|ACCOUNTING, from 1 bucket",
	  rcu_create_auto, rcu_destroy, memb_enter, memb_exit, rcu_get,
	  rcu_insert, rcu_pop, rcu_incr, rcu_quiesce, rcu_size, 0 },
	{ "rcu-pre", "rculfhash urcu-memb, presized (min buckets = N), AUTO_RESIZE|ACCOUNTING",
	  rcu_create_pre, rcu_destroy, memb_enter, memb_exit, rcu_get,
	  rcu_insert, rcu_pop, rcu_incr, rcu_quiesce, rcu_size, 0 },
	{ "ck_ht", "ConcurrencyKit ck_ht direct mode, SPMC, writers by mutex",
	  ck_create, ck_destroy, nop_thread, nop_thread, ck_get, ck_insert,
	  ck_pop, ck_incr, ck_quiesce, ck_size, 0 },
	{ "ghash-mutex", "GLib GHashTable behind a pthread_mutex", g_create_mutex,
	  g_destroy, nop_thread, nop_thread, g_get, g_insert, g_pop, g_incr,
	  g_quiesce, g_size, 0 },
	{ "ghash-rwlock", "GLib GHashTable behind a pthread_rwlock", g_create_rw,
	  g_destroy, nop_thread, nop_thread, g_get, g_insert, g_pop, g_incr,
	  g_quiesce, g_size, 0 },
	{ "seq", "sequential ceiling: linear probing, no atomics, 1 thread",
	  seq_create, seq_destroy, nop_thread, nop_thread, seq_get, seq_insert,
	  seq_pop, seq_incr, seq_quiesce, seq_size, 1 },
};

#define NIMPLS (sizeof(impls) / sizeof(impls[0]))

/* ------------------------------------------------------------------ */
/* the driver                                                           */

struct shared {
	const struct impl *im;
	void *t;
	char wl;
	size_t n;
	int nthreads;
	pthread_barrier_t start;
	atomic_int stop;
	atomic_ulong incr_total;
	atomic_int building; /* B: threads still inserting */
	struct timespec b_end;
	pthread_mutex_t b_lock;
};

struct worker {
	struct shared *sh;
	pthread_t tid;
	int idx;
	unsigned long ops;
	unsigned long incr;
	double b_start; /* B: when this thread began inserting */
} __attribute__((aligned(64)));

static inline uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* uniform in [0, n) without division (Lemire) */
static inline uint64_t below(uint64_t *s, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)xs(s) * n) >> 64);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void check_found(const char *what, uint64_t k, uint64_t v)
{
	if (v != val_of(k))
		fail(what, k, v, val_of(k));
}

static void run_mixed(struct worker *w, uint64_t *rs, unsigned get_pct,
		      unsigned ins_pct)
{
	struct shared *sh = w->sh;
	const struct impl *im = sh->im;
	void *t = sh->t;
	uint64_t range = 2 * sh->n;
	unsigned long ops = 0;

	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		for (int i = 0; i < 64; i++) {
			uint64_t r = xs(rs);
			uint64_t k = key_of((uint64_t)(((unsigned __int128)r *
							 range) >>
							64));
			unsigned p = (unsigned)(r & 0xffff) % 100u;
			uint64_t v;

			if (p < get_pct) {
				if (im->get(t, k, &v))
					check_found("get", k, v);
			} else if (p < get_pct + ins_pct) {
				(void)im->insert(t, k, val_of(k));
			} else {
				if (im->pop(t, k, &v))
					check_found("pop", k, v);
			}
		}
		ops += 64;
	}
	w->ops = ops;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	const struct impl *im = sh->im;
	void *t = sh->t;
	uint64_t rs = 0x9E3779B97F4A7C15ULL * (uint64_t)(w->idx + 1) + 12345;
	unsigned long ops = 0;

	im->thread_enter(t);
	pthread_barrier_wait(&sh->start);
	switch (sh->wl) {
	case 'R':
		while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
			for (int i = 0; i < 64; i++) {
				uint64_t k = key_of(below(&rs, sh->n));
				uint64_t v = 0;

				if (!im->get(t, k, &v))
					fail("get: present key not found", k,
					     0, val_of(k));
				else
					check_found("get", k, v);
			}
			ops += 64;
		}
		w->ops = ops;
		break;
	case 'M':
		run_mixed(w, &rs, 90, 5);
		break;
	case 'U':
		run_mixed(w, &rs, 50, 25);
		break;
	case 'C':
		while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
			for (int i = 0; i < 64; i++)
				(void)im->incr(t,
					       key_of(below(&rs, HOT_KEYS)));
			ops += 64;
		}
		w->ops = ops;
		w->incr = ops;
		break;
	case 'B': {
		size_t lo = sh->n * (size_t)w->idx / (size_t)sh->nthreads;
		size_t hi = sh->n * (size_t)(w->idx + 1) / (size_t)sh->nthreads;

		/* The build is timed from the first thread's start to the
		 * last one's end, both taken by the workers: at N = 1,000 a
		 * worker can finish before the main thread leaves the start
		 * barrier, so a start taken there gave negative times. */
		w->b_start = now();
		for (size_t i = lo; i < hi; i++) {
			uint64_t k = key_of(i);

			if (!im->insert(t, k, val_of(k)))
				fail("build: insert found the key", k, 0, 0);
		}
		w->ops = hi - lo;
		pthread_mutex_lock(&sh->b_lock);
		if (atomic_fetch_sub(&sh->building, 1) == 1)
			clock_gettime(CLOCK_MONOTONIC, &sh->b_end);
		pthread_mutex_unlock(&sh->b_lock);
		break;
	}
	default:
		break;
	}
	im->thread_exit(t);
	return NULL;
}

struct prefill_arg {
	struct shared *sh;
	size_t lo, hi;
	bool enter; /* a new thread (the main thread is registered already) */
};

static void *prefill_main(void *arg)
{
	struct prefill_arg *a = arg;
	const struct impl *im = a->sh->im;

	if (a->enter)
		im->thread_enter(a->sh->t);
	for (size_t i = a->lo; i < a->hi; i++) {
		uint64_t k = key_of(i);

		if (!im->insert(a->sh->t, k, val_of(k)))
			fail("prefill: insert found the key", k, 0, 0);
	}
	if (a->enter)
		im->thread_exit(a->sh->t);
	return NULL;
}

/* Insert ids [0, N): with 2 threads (the machine's cores) when the table
 * takes concurrent writers and N is large, to keep cells short. */
static void prefill(struct shared *sh)
{
	struct prefill_arg a[2] = { { sh, 0, sh->n / 2, false },
				    { sh, sh->n / 2, sh->n, true } };
	pthread_t tid;

	if (sh->im->max_threads == 1 || sh->n < 100000) {
		a[0].hi = sh->n;
		prefill_main(&a[0]);
		return;
	}
	if (pthread_create(&tid, NULL, prefill_main, &a[1]) != 0) {
		perror("pthread_create");
		exit(2);
	}
	prefill_main(&a[0]);
	pthread_join(tid, NULL);
}

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: lfd-bench -i IMPL -w R|M|U|C|B -n N -t THREADS "
		"[-s SECONDS] [-r REP] [-H]\n       lfd-bench -l\n"
		"  -H  print the CSV header first\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const struct impl *im = NULL;
	struct shared sh;
	struct worker *ws;
	double secs = 1.0, t0, elapsed;
	size_t mem0, mem1, final_size;
	unsigned long total = 0, incr_total = 0;
	uint64_t *hot_before = NULL;
	int rep = 0, header = 0, opt;
	char wl = 0;

	memset(&sh, 0, sizeof(sh));
	sh.nthreads = 1;
	while ((opt = getopt(argc, argv, "i:w:n:t:s:r:Hl")) != -1) {
		switch (opt) {
		case 'i':
			for (size_t i = 0; i < NIMPLS; i++)
				if (strcmp(optarg, impls[i].name) == 0)
					im = &impls[i];
			if (im == NULL) {
				fprintf(stderr, "unknown impl %s\n", optarg);
				return 2;
			}
			break;
		case 'w':
			wl = optarg[0];
			break;
		case 'n':
			sh.n = strtoull(optarg, NULL, 0);
			break;
		case 't':
			sh.nthreads = atoi(optarg);
			break;
		case 's':
			secs = atof(optarg);
			break;
		case 'r':
			rep = atoi(optarg);
			break;
		case 'H':
			header = 1;
			break;
		case 'l':
			for (size_t i = 0; i < NIMPLS; i++)
				printf("%-13s %s\n", impls[i].name,
				       impls[i].about);
			return 0;
		default:
			usage();
		}
	}
	if (im == NULL || strchr("RMUCB", wl) == NULL || wl == 0 ||
	    sh.n < HOT_KEYS || sh.nthreads < 1)
		usage();
	if (im->max_threads && sh.nthreads > im->max_threads) {
		fprintf(stderr, "%s runs with at most %d thread(s)\n", im->name,
			im->max_threads);
		return 2;
	}
	if (header)
		printf("%s\n", CSV_HEADER);

	sh.im = im;
	sh.wl = wl;
	atomic_init(&sh.stop, 0);
	atomic_init(&sh.building, sh.nthreads);
	pthread_mutex_init(&sh.b_lock, NULL);
	pthread_barrier_init(&sh.start, NULL, (unsigned)sh.nthreads + 1);

	/* The main thread takes part in RCU like the workers (prefill,
	 * checks). */
	urcu_memb_register_thread();
	mem0 = heap_in_use();
	sh.t = im->create(sh.n);
	if (wl != 'B')
		prefill(&sh);
	im->quiesce(sh.t);
	mem1 = heap_in_use();
	if (wl == 'C') {
		hot_before = calloc(HOT_KEYS, sizeof(uint64_t));
		for (unsigned h = 0; h < HOT_KEYS; h++)
			if (!im->get(sh.t, key_of(h), &hot_before[h]))
				fail("hot key missing", key_of(h), 0, 0);
	}

	ws = aligned_alloc(64, sizeof(*ws) * (size_t)sh.nthreads);
	if (ws == NULL)
		return 2;
	memset(ws, 0, sizeof(*ws) * (size_t)sh.nthreads);
	for (int i = 0; i < sh.nthreads; i++) {
		ws[i].sh = &sh;
		ws[i].idx = i;
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0) {
			perror("pthread_create");
			return 2;
		}
	}
	pthread_barrier_wait(&sh.start);
	t0 = now();
	if (wl != 'B') {
		struct timespec ts = { (time_t)secs,
				       (long)((secs - (double)(time_t)secs) *
					      1e9) };

		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		atomic_store(&sh.stop, 1);
	}
	for (int i = 0; i < sh.nthreads; i++) {
		pthread_join(ws[i].tid, NULL);
		total += ws[i].ops;
		incr_total += ws[i].incr;
	}
	if (wl == 'B') {
		double start = ws[0].b_start;

		for (int i = 1; i < sh.nthreads; i++)
			if (ws[i].b_start < start)
				start = ws[i].b_start;
		elapsed = (double)sh.b_end.tv_sec +
			  (double)sh.b_end.tv_nsec * 1e-9 - start;
		im->quiesce(sh.t);
		mem1 = heap_in_use();
		/* every key present with its value */
		for (size_t i = 0; i < sh.n; i++) {
			uint64_t k = key_of(i), v = 0;

			if (!im->get(sh.t, k, &v))
				fail("build: key missing", k, 0, val_of(k));
			else
				check_found("build: get", k, v);
		}
	} else {
		elapsed = now() - t0;
	}
	if (wl == 'C') {
		unsigned long sum = 0;

		for (unsigned h = 0; h < HOT_KEYS; h++) {
			uint64_t v = 0;

			if (!im->get(sh.t, key_of(h), &v))
				fail("hot key missing", key_of(h), 0, 0);
			sum += (unsigned long)(v - hot_before[h]);
		}
		if (sum != incr_total)
			fail("C: increments lost", 0, sum, incr_total);
		free(hot_before);
	}
	im->quiesce(sh.t);
	final_size = im->size(sh.t);
	if ((wl == 'R' || wl == 'C' || wl == 'B') && final_size != sh.n)
		fail("final size", 0, final_size, sh.n);
	/* Large tables are left to process exit: freeing 16M nodes one by
	 * one is not what the cell measures and takes longer than the cell. */
	if (sh.n <= 100000)
		im->destroy(sh.t);
	urcu_memb_unregister_thread();

	if (atomic_load(&failed))
		return 1;
	printf("%s,%c,%zu,%d,%d,%lu,%.4f,%.4f,%.2f,%zu\n", im->name, wl, sh.n,
	       sh.nthreads, rep, total, elapsed, (double)total / elapsed / 1e6,
	       (double)(mem1 - mem0) / (double)sh.n, final_size);
	free(ws);
	return 0;
}
