/*
 * mc_relacy.cpp - model-check lfdict's core under the C++11 memory model
 * with Relacy (Debian: relacy-dev, header-only).
 *
 * SPDX-License-Identifier: MIT
 *
 * This is NOT a copy of the algorithm: it compiles the real lib/ files (all
 * .c but hash.c, stubbed below), in the order of their layers, as C++ with
 * LFD_ATOMICS_CUSTOM, mapping LFD_ATOMIC(T) / lfd_a_load / lfd_a_cas / ...
 * onto rl::atomic<T>, so every atomic access of the core (with the memory
 * order of its site in lib/atomics.h, including any -DLFD_MO_<SITE>=...
 * override) is explored by Relacy's scheduler.  User payloads are
 * rl::var<int>, so a missing happens-before edge shows up as a data race.
 *
 * Model of RCU: read-side sections are no-ops and call_rcu callbacks are
 * queued and run only in after(), when every thread has finished, which is
 * a legal (maximally late) grace period.  So this checks the list, the
 * value-slot state machine, lookups, bucket initialization, one grow step
 * and the stacks of handed-over chains (slab.c); it does not check the
 * grace-period argument (see doc/memory-model.md, "What the model checker
 * covers").
 *
 * Keys are one byte; the test's hash function gives each key a chosen
 * split-order key (tests/sohash.h), so that the list order and buckets are
 * fixed.  A bucket is named by its top bits:
 *   'A' 0x2.. (bucket 0 of 2), 'B' 0x4.. (bucket 0), 'C' 0x8..
 *   (bucket 1); split order A < B < C.
 *
 * Usage: mc_relacy [iterations-per-test] [test-name]   (default 20000)
 * Exit status 0 when every test passes, 1 otherwise.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <new>

/* Before Relacy's macros, and before lib/internal.h includes
 * <urcu/flavor.h>: urcu-bp's name mapping must come first (lib/api.h
 * includes it first for the same reason). */
#include <urcu/urcu-bp.h>

#include <relacy/relacy.hpp>

#include "../sohash.h"

/* Relacy redirects new/delete/malloc/free to its leak checker; lfdict's
 * memory goes through the config's alloc hooks below instead. */
#undef new
#undef delete
#undef malloc
#undef free
#undef errno /* Relacy models errno; lfd_new sets the real one */
#define errno (*__errno_location())

/* --- the atomics layer, onto Relacy ------------------------------------ */
#define memory_order_relaxed rl::mo_relaxed
#define memory_order_consume rl::mo_consume
#define memory_order_acquire rl::mo_acquire
#define memory_order_release rl::mo_release
#define memory_order_acq_rel rl::mo_acq_rel
#define memory_order_seq_cst rl::mo_seq_cst
#define atomic_thread_fence(mo) rl::atomic_thread_fence((mo), RL_INFO)

/* Every atomic lives in memory from the dictionary's allocator: construct
 * it in place on lfd_a_init and destroy it when its memory is freed (Relacy
 * checks that every atomic is destroyed by the end of an iteration). */
typedef void (*mc_dtor_fn)(void *);
/* A fixed table, not a std::map: Relacy replaces operator new. */
#define MC_MAX_ATOMICS 4096
static struct {
	uintptr_t addr;
	mc_dtor_fn dtor;
} mc_atomics[MC_MAX_ATOMICS];
static int mc_natomics;

template <class T> static void mc_dtor(void *p)
{
	static_cast<rl::atomic<T> *>(p)->~atomic();
}

template <class T, class V> static void mc_init(rl::atomic<T> *p, V v)
{
	int i;

	for (i = 0; i < mc_natomics; i++)
		if (mc_atomics[i].addr == (uintptr_t)p)
			break;
	if (i < mc_natomics) {
		mc_atomics[i].dtor(p);
	} else {
		RL_ASSERT(mc_natomics < MC_MAX_ATOMICS);
		mc_natomics++;
	}
	/* Register first: the store below is a scheduling point. */
	mc_atomics[i].addr = (uintptr_t)p;
	mc_atomics[i].dtor = &mc_dtor<T>;
	::new (static_cast<void *>(p)) rl::atomic<T>();
	p->store((T)v, rl::mo_relaxed, RL_INFO);
}

#define LFD_ATOMICS_CUSTOM 1
#define LFD_ATOMIC(T) rl::atomic<T>
#define lfd_a_init(p, v) mc_init((p), (v))
#define lfd_a_load(p, mo) ((p)->load((mo), RL_INFO))
#define lfd_a_store(p, v, mo) ((p)->store((v), (mo), RL_INFO))
#define lfd_a_xchg(p, v, mo) ((p)->exchange((v), (mo), RL_INFO))
#define lfd_a_fetch_add(p, v, mo) ((p)->fetch_add((v), (mo), RL_INFO))
#define lfd_a_cas(p, expp, des, mos, mof)                                     \
	((p)->compare_exchange_strong(*(expp), (des), (mos), RL_INFO, (mof),  \
				      RL_INFO))
#define lfd_a_cas_weak(p, expp, des, mos, mof)                                \
	((p)->compare_exchange_weak(*(expp), (des), (mos), RL_INFO, (mof),    \
				    RL_INFO))
#define _Thread_local thread_local

/* --- the real core ------------------------------------------------------ */
/* The types first, with Relacy's atomics (every header is guarded). */
#include "../../lib/api.h"
/* base.c's only global atomic, the thread-number allocator, is a static
 * object, constructed before Relacy runs: a plain counter stands in for
 * it (it only spreads threads over counter and slab stripes).  The
 * stripes themselves are Relacy atomics like everything else. */
template <class T> struct mc_plain {
	T v;
	T fetch_add(T d, rl::memory_order, rl::debug_info_param)
	{
		T o = v;
		v += d;
		return o;
	}
};
#undef LFD_ATOMIC
#define LFD_ATOMIC(T) mc_plain<T>
#include "../../lib/base.c"
#undef LFD_ATOMIC
#define LFD_ATOMIC(T) rl::atomic<T>
/* count.c makes twice the CPUs' stripes (at most LFD_MAX_STRIPES), and one
 * when the count is unknown: a scenario that sets mc_one_stripe before
 * lfd_new gets one (mc_new_one_stripe), whatever the machine, so that
 * every loop over the stripes is one step. */
static bool mc_one_stripe;
static long mc_sysconf(int name)
{
	if (name == _SC_NPROCESSORS_ONLN && mc_one_stripe)
		return -1;
	return sysconf(name);
}
#define sysconf(name) mc_sysconf(name)
#include "../../lib/count.c"
#undef sysconf
#include "../../lib/slab.c"
#include "../../lib/solist.c"
/* one bucket node per grow chunk, so that two threads share a grow of two
 * nodes (mc_grow_help) */
#define LFD_RESIZE_CHUNK 1u
/* and one bucket per entry at every size (no sparse small index): the
 * scenarios place their keys in a table of 1 to 4 buckets */
#define LFD_SPARSE_LOG 0u
#include "../../lib/buckets.c"
#include "../../lib/items.c"
#include "../../lib/reclaim.c"
#include "../../lib/dict.c"
#include "../../lib/table.c"

/* fork.c (pthread_atfork, liburcu's fork hooks) is not modelled: no
 * scenario forks. */
int lfd_fork_register(struct lfd *)
{
	return 0;
}
void lfd_fork_unregister(struct lfd *)
{
}

/* The hash (SipHash) is irrelevant here; lfd_new still seeds it. */
void lfd_seed_init(uint64_t seed[2])
{
	seed[0] = 1;
	seed[1] = 2;
}
uint64_t lfd_siphash13(const uint64_t *, const void *, size_t)
{
	return 0;
}
void lfd_sip13_prepare(uint64_t st[4], const uint64_t *)
{
	st[0] = st[1] = st[2] = st[3] = 0;
}
uint64_t lfd_sip13_long(const uint64_t *, const void *, size_t)
{
	return 0;
}
#ifdef LFD_HAVE_AES
/* No AES in the model: every key takes the (stubbed) SipHash path. */
bool lfd_aes_usable(void)
{
	return false;
}
void lfd_aes_prepare(unsigned char (*)[16], const uint64_t *)
{
	std::abort();
}
uint64_t lfd_aes_short(const unsigned char (*)[16], const void *, size_t)
{
	std::abort();
}
#endif

/* --- allocator hooks: plain memory, atomics destroyed on free ----------- */
static long mc_live;

static void *mc_alloc(size_t size, void *)
{
	mc_live++;
	return std::malloc(size);
}

static void mc_free(void *p, size_t size, void *)
{
	uintptr_t lo = (uintptr_t)p, hi = lo + size;

	for (int i = 0; i < mc_natomics;) {
		if (mc_atomics[i].addr >= lo && mc_atomics[i].addr < hi) {
			mc_atomics[i].dtor((void *)mc_atomics[i].addr);
			mc_atomics[i] = mc_atomics[--mc_natomics];
		} else {
			i++;
		}
	}
	mc_live--;
	std::free(p);
}

/* --- RCU model: sections are no-ops; callbacks run at barrier() -------- */
#define MC_MAX_CBS 64
static struct {
	struct rcu_head *head;
	void (*fn)(struct rcu_head *);
} mc_cbs[MC_MAX_CBS];
static int mc_ncbs;
static void mc_nop(void) {}
static int mc_zero(void) { return 0; }
static void mc_call_rcu(struct rcu_head *h, void (*f)(struct rcu_head *))
{
	RL_ASSERT(mc_ncbs < MC_MAX_CBS);
	mc_cbs[mc_ncbs].head = h;
	mc_cbs[mc_ncbs].fn = f;
	mc_ncbs++;
}
/* A grace period ends after every thread finished: run the callbacks in
 * queue order (they may queue more). */
static void mc_barrier(void)
{
	while (mc_ncbs > 0) {
		struct rcu_head *h = mc_cbs[0].head;
		void (*f)(struct rcu_head *) = mc_cbs[0].fn;

		for (int i = 1; i < mc_ncbs; i++)
			mc_cbs[i - 1] = mc_cbs[i];
		mc_ncbs--;
		f(h);
	}
}
static struct rcu_flavor_struct mc_flavor;

static uint64_t mc_hash(const void *key, size_t len, void *)
{
	if (len != 1)
		return tu_hash_for_fold(0xfffffffeu);
	switch (*(const unsigned char *)key) {
	case 'A': return tu_hash_for_fold(0x20000000u);
	case 'B': return tu_hash_for_fold(0x40000000u);
	case 'C': return tu_hash_for_fold(0x80000000u);
	case 'E': return tu_hash_for_fold(0xc0000000u);
	case 'F': return tu_hash_for_fold(0x60000000u);
	default: return tu_hash_for_fold(0x10000000u);
	}
}

static struct lfd *mc_new(void)
{
	struct lfd_config cfg;

	/* A failed iteration stops without after(): forget its memory (Relacy
	 * discards its atomics) so that the replay Relacy runs to print the
	 * failure starts clean. */
	mc_live = 0;
	mc_natomics = 0;
	mc_ncbs = 0;
	std::memset(&cfg, 0, sizeof cfg);
	mc_flavor.read_lock = mc_nop;
	mc_flavor.read_unlock = mc_nop;
	mc_flavor.read_ongoing = mc_zero;
	mc_flavor.update_call_rcu = mc_call_rcu;
	mc_flavor.barrier = mc_barrier;
	cfg.flavor = &mc_flavor;
	cfg.flags = LFD_FIXED_SIZE; /* grows only where a test asks for one */
	cfg.alloc = mc_alloc;
	cfg.free = mc_free;
	cfg.hash = mc_hash;
	struct lfd *d = lfd_new(&cfg);
	RL_ASSERT(d != NULL);
	return d;
}

static struct lfd *mc_new_one_stripe(void)
{
	struct lfd *d;

	mc_one_stripe = true;
	d = mc_new();
	mc_one_stripe = false;
	RL_ASSERT(d->nstripes == 1);
	return d;
}

static void mc_destroy(struct lfd *d)
{
	RL_ASSERT(lfd_destroy(d) == 0);
	RL_ASSERT(mc_live == 0);
	RL_ASSERT(mc_natomics == 0);
}

static const char KA[] = "A", KB[] = "B", KC[] = "C", KE[] = "E",
		  KF[] = "F";

/* A user object published through the dictionary. */
struct payload {
	rl::var<int> x;
};

/* Tests ------------------------------------------------------------------ */

/*
 * SB over inserts: B present; T0 insert(A); get(C) || T1 insert(C);
 * get(A).  A < B < C in list order, so the two inserts CAS different
 * words (b0->next and B->next): with B absent both would CAS b0->next and
 * the RMWs alone would order them (no real store buffering).
 * Forbidden: both gets -ENOENT.  Also MP: a value got is read (payload).
 * Catches LINK_CAS < seq_cst, LINK_LOAD < seq_cst (SB), LINK_CAS w/o
 * release and LINK_LOAD w/o acquire (race on the payload).
 */
struct mc_sb_insert : rl::test_suite<mc_sb_insert, 2> {
	struct lfd *d;
	payload p[2];
	int vb;
	int got[2];
	void before()
	{
		d = mc_new();
		lfd_insert(d, KB, 1, &vb, NULL);
	}
	void thread(unsigned i)
	{
		const char *mine = i ? KC : KA, *other = i ? KA : KC;
		void *v = NULL;
		p[i].x($) = 1;
		RL_ASSERT(lfd_insert(d, mine, 1, &p[i], NULL) == 0);
		got[i] = lfd_get(d, other, 1, &v) == 0;
		if (got[i])
			RL_ASSERT(((payload *)v)->x($) == 1);
	}
	void after()
	{
		RL_ASSERT(got[0] || got[1]);
		mc_destroy(d);
	}
};

/*
 * SB over value-slot updates of present keys: T0 set(A,1); get(B) ||
 * T1 set(B,1); get(A), A and B present with 0.  Forbidden: both read 0.
 * Catches VALUE_CAS < seq_cst and VALUE_LOAD < seq_cst; payload: MP.
 */
struct mc_sb_set : rl::test_suite<mc_sb_set, 2> {
	struct lfd *d;
	payload p[2];
	int zero;
	int sawold[2];
	void before()
	{
		d = mc_new();
		lfd_insert(d, KA, 1, &zero, NULL);
		lfd_insert(d, KB, 1, &zero, NULL);
	}
	void thread(unsigned i)
	{
		const char *mine = i ? KB : KA, *other = i ? KA : KB;
		void *v = NULL;
		p[i].x($) = 1;
		RL_ASSERT(lfd_set(d, mine, 1, &p[i], NULL) == 1);
		RL_ASSERT(lfd_get(d, other, 1, &v) == 0);
		sawold[i] = v == &zero;
		if (!sawold[i])
			RL_ASSERT(((payload *)v)->x($) == 1);
	}
	void after()
	{
		RL_ASSERT(!(sawold[0] && sawold[1]));
		mc_destroy(d);
	}
};

/*
 * Publication through cas, and a failed cas returns an acquired value:
 * T0 payload=1; cas(A, 0 -> p) || T1 cas(A, 0 -> q) and, on mismatch,
 * read the returned value's payload.  Exactly one cas wins.
 * Catches VALUE_CAS w/o release, VALUE_CAS_FAIL / VALUE_LOAD w/o acquire.
 */
struct mc_cas_pub : rl::test_suite<mc_cas_pub, 2> {
	struct lfd *d;
	payload p[2];
	int zero;
	int won[2];
	void before()
	{
		d = mc_new();
		lfd_insert(d, KA, 1, &zero, NULL);
	}
	void thread(unsigned i)
	{
		void *cur = NULL;
		p[i].x($) = 1;
		int r = lfd_cas(d, KA, 1, &zero, &p[i], &cur);
		won[i] = r == 0;
		if (r == -EAGAIN)
			RL_ASSERT(((payload *)cur)->x($) == 1);
		else
			RL_ASSERT(r == 0 && cur == &zero);
	}
	void after()
	{
		RL_ASSERT(won[0] + won[1] == 1);
		mc_destroy(d);
	}
};

/*
 * Two pops of one key and a re-insert (value-slot state machine, mark,
 * unlink, relink): A present with v0.  T0 x=1; pop(A) || T1 pop(A) ||
 * T2 insert(A, v2), and if it inserted (so some pop came first), read x
 * when T0's pop was the one that won... we check the simpler, stronger
 * form: exactly one pop returns v0; a pop that returns v2 happens after
 * the insert; at the end A holds v2 iff no pop took v2.  The payload x
 * written by the winning popper before its pop must be visible to the
 * inserter whose insert succeeded (the insert is ordered after the pop).
 * Catches MARK_CAS w/o release, UNLINK_CAS w/o release, VALUE_CAS, and
 * any bug in the tombstone/mark/unlink sequence.
 */
struct mc_pop_pop_insert : rl::test_suite<mc_pop_pop_insert, 3> {
	struct lfd *d;
	payload x[2];
	int v0, v2;
	void *popped[2];
	int popr[2];
	int ins;
	void before()
	{
		d = mc_new();
		lfd_insert(d, KA, 1, &v0, NULL);
		lfd_insert(d, KB, 1, &v0, NULL);
	}
	void thread(unsigned i)
	{
		if (i < 2) {
			x[i].x($) = 1;
			popped[i] = NULL;
			popr[i] = lfd_pop(d, KA, 1, &popped[i]);
		} else {
			ins = lfd_insert(d, KA, 1, &v2, NULL);
			if (ins == 0) {
				/* Some pop of v0 linearized before this
				 * insert; SC (DRF) then orders that popper's
				 * earlier write before us.  We cannot tell
				 * which popper it was without racing, so
				 * only B (untouched) is checked here. */
				void *b = NULL;
				RL_ASSERT(lfd_get(d, KB, 1, &b) == 0 && b == &v0);
			}
		}
	}
	void after()
	{
		int took0 = 0, took2 = 0;
		void *v = NULL;
		for (int i = 0; i < 2; i++) {
			if (popr[i] == 0 && popped[i] == &v0)
				took0++;
			else if (popr[i] == 0 && popped[i] == &v2)
				took2++;
			else
				RL_ASSERT(popr[i] == -ENOENT);
		}
		RL_ASSERT(took0 == 1);
		RL_ASSERT(ins == 0 || ins == -EEXIST);
		if (ins == -EEXIST)
			RL_ASSERT(took2 == 0);
		int r = lfd_get(d, KA, 1, &v);
		if (ins == 0 && took2 == 0)
			RL_ASSERT(r == 0 && v == &v2);
		else
			RL_ASSERT(r == -ENOENT);
		size_t n = 0;
		lfd_count(d, &n);
		RL_ASSERT(n == (size_t)(1 + (r == 0)));
		mc_destroy(d);
	}
};

/*
 * MP through pop and re-insert: T0 x=1; pop(A) || T1 if insert(A) == 0
 * then read x.  A holds v0 and only T0 pops, so an insert that succeeds
 * is ordered after T0's pop; the read of x must not race.  T1's search
 * may see only the mark on A's node (not its tombstone): MARK_CAS's
 * release is what orders x before it.  Catches MARK_CAS relaxed.
 */
struct mc_pop_reinsert : rl::test_suite<mc_pop_reinsert, 2> {
	struct lfd *d;
	payload x;
	int v0, v1;
	void before()
	{
		d = mc_new();
		lfd_insert(d, KA, 1, &v0, NULL);
	}
	void thread(unsigned i)
	{
		if (i == 0) {
			x.x($) = 1;
			RL_ASSERT(lfd_pop(d, KA, 1, NULL) == 0);
		} else if (lfd_insert(d, KA, 1, &v1, NULL) == 0) {
			RL_ASSERT(x.x($) == 1);
		}
	}
	void after() { mc_destroy(d); }
};

/*
 * Unlink hands on the successor: list b0 -> A.  T0 insert(B, p) (after
 * A) || T1 pop(A) (mark A, unlink: b0->next = A's successor) || T2
 * get(B) and read its payload.  T2 may reach B only through T1's unlink
 * CAS on b0->next; UNLINK_CAS's release carries T1's acquire of B.
 * Catches UNLINK_CAS relaxed.
 */
struct mc_unlink : rl::test_suite<mc_unlink, 3> {
	struct lfd *d;
	payload p;
	int v0;
	void before()
	{
		d = mc_new();
		lfd_insert(d, KA, 1, &v0, NULL);
	}
	void thread(unsigned i)
	{
		void *v = NULL;
		if (i == 0) {
			p.x($) = 1;
			RL_ASSERT(lfd_insert(d, KB, 1, &p, NULL) == 0);
		} else if (i == 1) {
			RL_ASSERT(lfd_pop(d, KA, 1, NULL) == 0);
		} else if (lfd_get(d, KB, 1, &v) == 0) {
			RL_ASSERT(((payload *)v)->x($) == 1);
		}
	}
	void after() { mc_destroy(d); }
};

/* After the threads: the nodes after bucket 0 (entries and bucket nodes),
 * checking that they are in strictly increasing split order and that no
 * next word is left pending. */
static int mc_list_nodes(struct lfd *d)
{
	uint32_t last = 0;
	int nodes = 0;
	uintptr_t w = lfd_a_load(&lfd_bucket_at(d, 0)->next, rl::mo_relaxed);

	for (uintptr_t l; (l = lfd_succ(w)) != 0; nodes++) {
		uint32_t so = lfd_is_blink(l) ? lfd_blink_key(l)
					      : lfd_link_entry(l)->ln.so_key;

		RL_ASSERT(!lfd_is_pending(w));
		RL_ASSERT(so > last);
		last = so;
		w = lfd_a_load(lfd_link_next(d, l), rl::mo_relaxed);
	}
	RL_ASSERT(!lfd_is_pending(w));
	return nodes;
}

/*
 * One grow step (bucket initialization) against lookups and inserts:
 * 1 bucket, A and C present (C hashes to bucket 1 of 2).  T0 grows to 2
 * buckets (links bucket node 1, publishes the size) || T1 get(C) must
 * find it; insert(B) then get(B) must find it || after: every key found,
 * the list sorted.  Catches SIZE_STORE / SIZE_LOAD relaxed (a reader
 * starting at a bucket node whose link it cannot see).
 */
struct mc_grow : rl::test_suite<mc_grow, 2> {
	struct lfd *d;
	int v;
	void before()
	{
		d = mc_new();
		lfd_insert(d, KA, 1, &v, NULL);
		lfd_insert(d, KC, 1, &v, NULL);
	}
	void thread(unsigned i)
	{
		if (i == 0) {
			RL_ASSERT(lfd_grow_one(d, true) == 1);
		} else {
			void *g = NULL;
			RL_ASSERT(lfd_get(d, KC, 1, &g) == 0 && g == &v);
			RL_ASSERT(lfd_insert(d, KB, 1, &v, NULL) == 0);
			RL_ASSERT(lfd_get(d, KB, 1, &g) == 0 && g == &v);
			RL_ASSERT(lfd_pop(d, KC, 1, NULL) == 0);
		}
	}
	void after()
	{
		void *g = NULL;
		RL_ASSERT(lfd_a_load(&d->size_log, rl::mo_relaxed) == 1u);
		RL_ASSERT(lfd_get(d, KA, 1, &g) == 0);
		RL_ASSERT(lfd_get(d, KB, 1, &g) == 0);
		RL_ASSERT(lfd_get(d, KC, 1, &g) == -ENOENT);
		RL_ASSERT(mc_list_nodes(d) == 3); /* A, B, bucket 1 */
		mc_destroy(d);
	}
};

/* The start of the shared-grow tests: 2 buckets; B, C (bucket 1) and E
 * present, each with value v. */
static struct lfd *mc_grow_setup(int *v)
{
	struct lfd *d = mc_new();

	RL_ASSERT(lfd_grow_one(d, false) == 1);
	lfd_insert(d, KB, 1, v, NULL);
	lfd_insert(d, KC, 1, v, NULL);
	lfd_insert(d, KE, 1, v, NULL);
	return d;
}

/* Their end, once the grow to 4 buckets is complete: A, B, E and F
 * present, C popped, the list sorted and free of pending tags; then
 * destroy d. */
static void mc_grow_check(struct lfd *d)
{
	void *g = NULL;

	RL_ASSERT(lfd_get(d, KA, 1, &g) == 0);
	RL_ASSERT(lfd_get(d, KB, 1, &g) == 0);
	RL_ASSERT(lfd_get(d, KE, 1, &g) == 0);
	RL_ASSERT(lfd_get(d, KF, 1, &g) == 0);
	RL_ASSERT(lfd_get(d, KC, 1, &g) == -ENOENT);
	RL_ASSERT(mc_list_nodes(d) == 7); /* A B E F, buckets 01 10 11 */
	mc_destroy(d);
}

/*
 * A grow shared by two threads, with the new buckets in use meanwhile:
 * 2 buckets, B, C and E present (B in bucket 01 of 4, E in bucket 11).
 * T0 grows to 4 buckets: publishes the size, then claims the two chunks
 * (one node each) || T1 claims what it can (lfd_grow_help), then get(E)
 * and get(B) must find them (from bucket 11 or 01, or from a linked parent
 * while that node is pending), insert(A) must land in order, pop(C); if
 * it finds F, F's payload must be initialized || T2 inserts F (bucket 01)
 * with an initialized payload || after: both nodes linked, no tag left
 * pending, the list sorted, the grow counted once.  Catches a start from
 * a pending node (LFD_BREAK_GROW_EARLY: get(E) fails).  A relaxed clear
 * of the tag (a start from bucket 01 whose cleared word leads to F without
 * carrying F's publication) needs T1's chunk to finish before T0's, and
 * T0's clear to reach T1 before its count does: 300,000 random schedules
 * did not find it.
 */
struct mc_grow_help : rl::test_suite<mc_grow_help, 3> {
	struct lfd *d;
	int v;
	payload p;
	void before()
	{
		d = mc_grow_setup(&v);
	}
	void thread(unsigned i)
	{
		void *g = NULL;

		if (i == 0) {
			RL_ASSERT(lfd_grow_one(d, true) >= 0);
			RL_ASSERT(lfd_get(d, KB, 1, &g) == 0 && g == &v);
		} else if (i == 2) {
			p.x($) = 1;
			RL_ASSERT(lfd_insert(d, KF, 1, &p, NULL) == 0);
		} else {
			(void)lfd_grow_help(d);
			if (lfd_get(d, KF, 1, &g) == 0)
				RL_ASSERT(((payload *)g)->x($) == 1);
			RL_ASSERT(lfd_get(d, KE, 1, &g) == 0 && g == &v);
			RL_ASSERT(lfd_get(d, KB, 1, &g) == 0 && g == &v);
			RL_ASSERT(lfd_insert(d, KA, 1, &v, NULL) == 0);
			RL_ASSERT(lfd_pop(d, KC, 1, NULL) == 0);
		}
	}
	void after()
	{
		RL_ASSERT(lfd_a_load(&d->size_log, rl::mo_relaxed) == 2u);
		RL_ASSERT(lfd_a_load(&d->grow_done, rl::mo_relaxed) == 2u);
		RL_ASSERT(lfd_a_load(&d->grows, rl::mo_relaxed) == 1u);
		mc_grow_check(d);
	}
};

/*
 * A grow whose linker stalls: 2 buckets, B, C and E present.  Before the
 * threads start, a grow to 4 buckets is opened (lfd_grow_open: the size
 * published, both chunks pending) and a linker claims chunk 0 (node 01,
 * the bucket of B and F) and stalls until every thread has finished.
 * T0 claims and links the other chunk (node 11), get(E), get(B) must find
 * them, insert(A) || T1 inserts F (bucket 01, pending throughout) with an
 * initialized payload, get(F) || T2 pops C; if get(F) finds F, F's payload
 * must be initialized; get(B) || after: node 01 still pending, the grow
 * not complete; the linker resumes and completes it (lfd_grow_claimed);
 * every key found, the list sorted, the grow counted once.  Shows that no
 * operation waits for, or goes wrong without, a claimed chunk; catches a
 * start from a pending node (LFD_BREAK_GROW_EARLY) in every schedule.
 */
struct mc_grow_stalled : rl::test_suite<mc_grow_stalled, 3> {
	struct lfd *d;
	int v;
	payload p;
	void before()
	{
		d = mc_grow_setup(&v);
		RL_ASSERT(lfd_grow_open(d, true) == 2);
		/* the stalled linker's claim of chunk 0 (lfd_grow_work) */
		uint32_t c = 2u << LFD_CLAIM_SHIFT;
		RL_ASSERT(lfd_a_cas(&d->grow_claim, &c, c + 1,
				    rl::mo_acquire, rl::mo_relaxed));
	}
	void thread(unsigned i)
	{
		void *g = NULL;
		bool last = true;

		if (i == 0) {
			RL_ASSERT(lfd_grow_work(d, UINT32_MAX, &last) == 1);
			RL_ASSERT(!last);
			RL_ASSERT(lfd_get(d, KE, 1, &g) == 0 && g == &v);
			RL_ASSERT(lfd_get(d, KB, 1, &g) == 0 && g == &v);
			RL_ASSERT(lfd_insert(d, KA, 1, &v, NULL) == 0);
		} else if (i == 1) {
			p.x($) = 1;
			RL_ASSERT(lfd_insert(d, KF, 1, &p, NULL) == 0);
			RL_ASSERT(lfd_get(d, KF, 1, &g) == 0 && g == &p);
		} else {
			RL_ASSERT(lfd_pop(d, KC, 1, NULL) == 0);
			if (lfd_get(d, KF, 1, &g) == 0)
				RL_ASSERT(((payload *)g)->x($) == 1);
			RL_ASSERT(lfd_get(d, KB, 1, &g) == 0 && g == &v);
		}
	}
	void after()
	{
		RL_ASSERT(lfd_a_load(&d->size_log, rl::mo_relaxed) == 2u);
		RL_ASSERT(lfd_is_pending(lfd_a_load(&lfd_bucket_at(d, 0x40000000u)->next,
						    rl::mo_relaxed)));
		RL_ASSERT(lfd_a_load(&d->grow_done, rl::mo_relaxed) == 1u);
		RL_ASSERT(lfd_a_load(&d->grows, rl::mo_relaxed) == 0u);
		RL_ASSERT(lfd_grow_claimed(d, 2, 0, 2)); /* the linker resumes */
		RL_ASSERT(lfd_a_load(&d->grows, rl::mo_relaxed) == 1u);
		mc_grow_check(d);
	}
};

/*
 * lfd_update from two threads on a key holding a counter object with
 * n = 0, each storing its own object n = (current's n) + 1 built inside
 * fn: no increment is lost (the final object's n is 2, both calls
 * replace), and fn reads the other thread's object through `current` only
 * as initialized (payload x, written before that thread's call).  Checks
 * the compare-exchange from what fn saw (VALUE_CAS matching current) and
 * the acquire of `current`.  Catches a replace applied without the match
 * (a lost increment in some schedule) and a VALUE_LOAD without acquire
 * (race on x, n).  The insert path (LINK_CAS) is get_or_create's below.
 */
struct mc_counter {
	payload p;
	rl::var<int> n;
};

static int mc_update_fn(void *arg, const void *key, size_t len, int present,
			void *current, void **desired)
{
	mc_counter *mine = (mc_counter *)arg;
	(void)key;
	(void)len;
	int n = 0;
	if (present) {
		mc_counter *c = (mc_counter *)current;
		RL_ASSERT(c->p.x($) == 1);
		n = c->n($);
	}
	mine->n($) = n + 1;
	*desired = mine;
	return LFD_STORE;
}

struct mc_update : rl::test_suite<mc_update, 2> {
	struct lfd *d;
	mc_counter c[2], c0;
	int r[2];
	void before()
	{
		d = mc_new();
		c0.p.x($) = 1;
		c0.n($) = 0;
		lfd_insert(d, KA, 1, &c0, NULL);
	}
	void thread(unsigned i)
	{
		c[i].p.x($) = 1;
		r[i] = lfd_update(d, KA, 1, mc_update_fn, NULL, &c[i]);
	}
	void after()
	{
		void *v = NULL;
		RL_ASSERT(r[0] == LFD_REPLACED && r[1] == LFD_REPLACED);
		RL_ASSERT(lfd_get(d, KA, 1, &v) == 0);
		RL_ASSERT(((mc_counter *)v)->n($) == 2);
		mc_destroy(d);
	}
};

/*
 * lfd_update's insert path: two threads add 1 to an absent counter A, T1
 * after inserting C -- A and C both sort right after bucket node 0, so
 * C's link changes the very word A's insert links at.  One call inserts
 * (n = 1), the other replaces (n = 2), and fn reads the other's object
 * only as initialized.  The inserting call's fn saw A absent and ran
 * exactly once: C linked between its look-up and its link is a change
 * next to A, not of A, so lfdict searches again and links without asking
 * fn again (lfdict.h, lfd_update).  The replacing call's fn ran at most
 * twice (first on A absent, lost to the insert).  Catches an insert that
 * re-asks fn when the list changed next to the key, and an insert linked
 * where A had meanwhile been inserted (n = 1 twice, or A twice).
 */
struct mc_upd_call {
	mc_counter c;
	int calls;
	int first_present;
};

static int mc_update_ins_fn(void *arg, const void *key, size_t len,
			    int present, void *current, void **desired)
{
	mc_upd_call *u = (mc_upd_call *)arg;
	if (u->calls++ == 0)
		u->first_present = present;
	return mc_update_fn(&u->c, key, len, present, current, desired);
}

struct mc_update_insert : rl::test_suite<mc_update_insert, 2> {
	struct lfd *d;
	mc_upd_call u[2];
	payload pc;
	int r[2];
	void before()
	{
		d = mc_new();
	}
	void thread(unsigned i)
	{
		u[i].calls = 0;
		u[i].c.p.x($) = 1;
		if (i == 1) {
			pc.x($) = 1;
			RL_ASSERT(lfd_insert(d, KC, 1, &pc, NULL) == 0);
		}
		r[i] = lfd_update(d, KA, 1, mc_update_ins_fn, NULL, &u[i]);
	}
	void after()
	{
		void *v = NULL;
		int ins = r[0] == LFD_INSERTED ? 0 : 1;
		RL_ASSERT(r[ins] == LFD_INSERTED && r[1 - ins] == LFD_REPLACED);
		RL_ASSERT(u[ins].calls == 1 && u[ins].first_present == 0);
		RL_ASSERT(u[1 - ins].calls <= 2);
		RL_ASSERT(u[1 - ins].calls == 1 ||
			  u[1 - ins].first_present == 0);
		RL_ASSERT(lfd_get(d, KA, 1, &v) == 0);
		RL_ASSERT(((mc_counter *)v)->n($) == 2);
		RL_ASSERT(lfd_get(d, KC, 1, &v) == 0 && v == &pc);
		mc_destroy(d);
	}
};

/*
 * lfd_get_or_create from two threads on an absent key, each creating its
 * own payload (x = 1 inside create): exactly one inserts, both return its
 * value, the loser reads the winner's x as written (the -EEXIST VALUE_LOAD
 * acquires it), and the loser's value is handed to discard.
 */
static int mc_create_fn(void *arg, const void *key, size_t len, void **value)
{
	payload *p = (payload *)arg;
	(void)key;
	(void)len;
	p->x($) = 1;
	*value = p;
	return 0;
}

static int mc_discards;

static void mc_discard_fn(void *arg, void *value)
{
	RL_ASSERT(arg == value);
	mc_discards++;
}

struct mc_goc : rl::test_suite<mc_goc, 2> {
	struct lfd *d;
	payload p[2];
	void *got[2];
	int r[2];
	void before()
	{
		d = mc_new();
		mc_discards = 0;
	}
	void thread(unsigned i)
	{
		r[i] = lfd_get_or_create(d, KA, 1, mc_create_fn, mc_discard_fn,
					 &p[i], &got[i]);
		RL_ASSERT(((payload *)got[i])->x($) == 1);
	}
	void after()
	{
		RL_ASSERT(r[0] + r[1] == LFD_INSERTED + LFD_KEPT);
		RL_ASSERT(got[0] == got[1]);
		/* a loser that created: its value discarded; a loser that
		 * found the key present created nothing */
		RL_ASSERT(mc_discards <= 1);
		mc_destroy(d);
	}
};

/*
 * A scan resumed slice by slice while the table grows and keys come and go
 * around its position: 2 buckets, B, C and E present (mc_grow_setup).
 * T0 scans from LFD_SCAN_START to LFD_SCAN_END in slices of one visit
 * (lfd_scan, max 1: every slice starts from a stored position, by a seek
 * from the position's bucket node at the size it reads) || T1 grows to 4
 * buckets (publishes the size, links bucket nodes 01, between B and F's
 * place, and 11, between C and E: a slice may start from either while it
 * is pending, or from its parent) || T2 inserts F (between B and C) with
 * an initialized payload, pops it, inserts A (before B), pops C and
 * inserts it again || after: B and E, present for the whole scan, visited
 * exactly once; A, C and F at most once (C popped and inserted again is
 * one key); every payload visited initialized (the visit's VALUE_LOAD
 * acquires from the insert).  Catches a slice that starts from its bucket
 * node while that node is pending (its next word leads nowhere yet: E, or
 * also C, missed) and a slice that resumes before its position (B twice).
 * Shrinks are not modelled (they run in RCU callbacks, which this model
 * runs only after every thread has finished).
 */
struct mc_scan : rl::test_suite<mc_scan, 3> {
	struct lfd *d;
	int v;
	payload p;
	int seen[256];
	static int visit(void *arg, const void *key, size_t len, void *value)
	{
		mc_scan *t = static_cast<mc_scan *>(arg);

		RL_ASSERT(len == 1);
		t->seen[*(const unsigned char *)key]++;
		if (value == &t->p)
			RL_ASSERT(t->p.x($) == 1);
		else
			RL_ASSERT(value == &t->v);
		return 0;
	}
	void before()
	{
		d = mc_grow_setup(&v);
		std::memset(seen, 0, sizeof seen);
	}
	void thread(unsigned i)
	{
		if (i == 0) {
			uint64_t c = LFD_SCAN_START;
			int slices = 0;

			do {
				RL_ASSERT(lfd_scan(d, &c, 1, visit, this) == 0);
				RL_ASSERT(++slices <= 8);
			} while (c != LFD_SCAN_END);
		} else if (i == 1) {
			RL_ASSERT(lfd_grow_one(d, true) >= 0);
		} else {
			p.x($) = 1;
			RL_ASSERT(lfd_insert(d, KF, 1, &p, NULL) == 0);
			RL_ASSERT(lfd_pop(d, KF, 1, NULL) == 0);
			RL_ASSERT(lfd_insert(d, KA, 1, &p, NULL) == 0);
			RL_ASSERT(lfd_pop(d, KC, 1, NULL) == 0);
			RL_ASSERT(lfd_insert(d, KC, 1, &p, NULL) == 0);
		}
	}
	void after()
	{
		RL_ASSERT(seen['B'] == 1);
		RL_ASSERT(seen['E'] == 1);
		RL_ASSERT(seen['A'] <= 1 && seen['C'] <= 1 && seen['F'] <= 1);
		RL_ASSERT(lfd_a_load(&d->size_log, rl::mo_relaxed) == 2u);
		mc_destroy(d);
	}
};

/*
 * Handed-over chains (slab.c, "Handed-over chains"; reclaim.c,
 * lfd_free_raw): chains of retired slab slots past their grace period, on
 * d->raw_chains (heads linked by their value words) and on a stripe's raw
 * stack (items linked by their link words), popped one by one by
 * allocations (lfd_raw_alloc), taken whole by drains
 * (lfd_slab_raw_take_all) that free some and hand the rest over again.
 * No grace period runs while the threads do (see the RCU model above), so
 * the scenarios call those functions directly, on slots that before()
 * made to look like retired entries.  One stripe (mc_new_one_stripe):
 * every thread pops, refills and drains the same stack.
 *
 * Each item has an owner word (an rl::var) that whoever holds the item
 * writes -- an allocation that got it, a drain that took it, a helper that
 * hands it over -- so two holders not ordered by happens-before are a data
 * race.  After the threads every item must be in exactly one place: got
 * by an allocation, on a slot stack or chain (freed), or still handed over
 * (raw_chains, the stripe's raw stack); the backlog gauge must count the
 * last ones.
 */
#define MC_RAW_ITEMS 5
/* A walk longer than this went round a cycle (a slot stack holds at most
 * a block's 32 slots, here). */
#define MC_RAW_WALK 64

struct mc_raw_base {
	struct lfd *d;
	struct lfd_entry *e[MC_RAW_ITEMS];
	rl::var<int> owner[MC_RAW_ITEMS];
	int got[MC_RAW_ITEMS];

	/* Which of the scenario's items w is, or -1 (another slot). */
	int item(uintptr_t w)
	{
		for (int k = 0; k < MC_RAW_ITEMS; k++)
			if ((uintptr_t)e[k] == w)
				return k;
		return -1;
	}

	/* Item k: an entry with a klen-byte key, as lfd_entry_new leaves it
	 * (an odd so_key: lfd_item_kind then reads it as an entry). */
	void make(int k, uint32_t klen)
	{
		e[k] = lfd_entry_alloc(d, klen);
		RL_ASSERT(e[k] != NULL);
		e[k]->ln.so_key = 1;
		e[k]->ln.klen = klen;
		lfd_a_store(&e[k]->value, LFD_TOMBSTONE, rl::mo_relaxed);
		owner[k]($) = 0;
		got[k] = 0;
	}

	/* Items first..last, retired: linked as a retire stack links them
	 * (the next item | LFD_LINK_TAGS; the last, LFD_LINK_TAGS) and
	 * counted in the backlog; then handed over as one chain, as
	 * lfd_help_free does.  Relaxed link stores: only the hand-over
	 * publishes them. */
	void hand_over(int first, int last)
	{
		for (int k = first; k <= last; k++)
			lfd_a_store(&e[k]->ln.next,
				    (k < last ? (uintptr_t)e[k + 1] : 0) |
					    LFD_LINK_TAGS,
				    rl::mo_relaxed);
		lfd_backlog_add(d, last - first + 1);
		lfd_slab_hand_over(d, (uintptr_t)e[first], 0);
	}

	/* An insert's allocation of a class-1 slot once its slot stack is
	 * empty (lfd_slab_alloc): what it gets is its own (the owner word),
	 * and it starts making an entry of it (lfd_entry_new: the kick a
	 * refill asked for -- one flag for all the model's threads, which
	 * are fibers of one thread, and any thread's kick will do -- and the
	 * link store, which a stale popper may read). */
	void alloc(int me)
	{
		struct lfd_entry *x = lfd_raw_alloc(d, &d->stripes[0], 1);
		int k;

		if (lfd_slab_kick_due) {
			lfd_slab_kick_due = 0;
			lfd_reclaim_kick(d);
		}
		if (x == NULL)
			return;
		k = item((uintptr_t)x);
		RL_ASSERT(k >= 0);
		RL_ASSERT(lfd_slab_class(d, x->ln.klen) == 1);
		owner[k]($) = me;
		got[k]++;
		lfd_a_store(&x->ln.next, (uintptr_t)0, rl::mo_relaxed);
	}

	/* A drain: lfd_free_raw with a budget of `budget` items (0: as past
	 * its budget, every chain handed back as it was), the owner words of
	 * everything it took written between its take and its frees. */
	void drain(int me, unsigned budget)
	{
		struct lfd_budget b = { budget, 0 };
		struct lfd_retired *markers = NULL;
		uintptr_t c = lfd_slab_raw_take_all(d), l, w;
		int steps = 0;

		for (l = c; l != 0; l = lfd_slab_raw_next(l))
			for (w = l; w != 0; w = lfd_item_next(w)) {
				RL_ASSERT(++steps < MC_RAW_WALK); /* a cycle */
				RL_ASSERT(item(w) >= 0);
				owner[item(w)]($) = me;
			}
		/* lfd_free_raw's loop (budget 0 here: its time budget ran
		 * out between its check and the first item) */
		while (c != 0) {
			uintptr_t next = lfd_slab_raw_next(c), rest;

			rest = b.items != 0 ? lfd_free_items(d, c, &b, &markers)
					    : c;
			if (rest != 0) {
				lfd_slab_hand_over(d, rest, next);
				break;
			}
			c = next;
		}
		RL_ASSERT(markers == NULL);
	}

	/* After the threads: count in where[] the scenario's items on the
	 * list from w -- linked by link words (handed over: only the
	 * scenario's items) or by value words (a slot stack or chain, with
	 * the blocks' other free slots); return how many. */
	int walk(uintptr_t w, bool raw, int *where)
	{
		int n = 0, steps = 0;

		for (; w != 0; w = raw ? lfd_item_next(w)
				       : lfd_slot_next(lfd_slot_entry(w))) {
			int k = item(w);

			RL_ASSERT(++steps < MC_RAW_WALK); /* a cycle */
			RL_ASSERT(k >= 0 || !raw);
			if (k >= 0) {
				where[k]++;
				n++;
			}
		}
		return n;
	}

	/* Every item in one place (see above), the backlog counts the items
	 * still handed over; then destroy d (its callback frees them:
	 * lfd_retire_cb, alone). */
	void check()
	{
		int where[MC_RAW_ITEMS], raw = 0, k, c;
		uintptr_t l;
		unsigned int s;

		for (k = 0; k < MC_RAW_ITEMS; k++)
			where[k] = got[k];
		for (l = lfd_a_load(&d->raw_chains, rl::mo_relaxed); l != 0;
		     l = lfd_slab_raw_next(l))
			raw += walk(l, true, where);
		for (s = 0; s < d->nstripes; s++)
			raw += walk(lfd_a_load(&d->stripes[s].raw,
					       rl::mo_relaxed),
				    true, where);
		/* freed: slab_chains' chains (heads linked by ln.next), the
		 * stripes' slot stacks */
		for (c = 0; c < LFD_SLAB_CLASSES; c++) {
			for (l = lfd_a_load(&d->slab_chains[c], rl::mo_relaxed);
			     l != 0;
			     l = lfd_a_load(&lfd_slot_entry(l)->ln.next,
					    rl::mo_relaxed))
				walk(l, false, where);
			for (s = 0; s < d->nstripes; s++)
				walk(lfd_a_load(&d->stripes[s].slab[c],
						rl::mo_relaxed),
				     false, where);
		}
		for (k = 0; k < MC_RAW_ITEMS; k++)
			RL_ASSERT(where[k] == 1);
		RL_ASSERT(lfd_backlog_sum(d) == (size_t)raw);
		/* The scenario's hand-overs and drains stand for a helper's
		 * and a callback's, which then make sure a callback is queued
		 * for what they leave (lfd_help_free's lfd_retire_schedule,
		 * the callback's own reschedule); do that here, or
		 * lfd_destroy, which waits for the pipeline to go idle, would
		 * wait for ever. */
		lfd_reclaim_kick(d);
		mc_destroy(d);
	}
};

/*
 * Two allocations race a drain over two handed-over chains: before the
 * threads, Y = Y1 Y2 and Z = Z1 F Z2 on raw_chains, Y on top (F is of
 * slab class 2: the allocation that meets it frees it).  T0, T1 allocate
 * twice each from the stripe (lfd_raw_alloc: pops; on an empty stack a
 * refill takes all of raw_chains by exchange and installs the first chain
 * and pushes the rest back, or, the stack refilled meanwhile, pushes it
 * all back) || T2 drains twice: past its budget (every chain handed back
 * unchanged), then freeing one item || after: every item in one place,
 * F never got, no owner race, the backlog right.
 * Why the refill takes by exchange: with a CAS pop of one chain (load top
 * Y, read its next chain Z, CAS Y -> Z) a refiller that read Y and Z
 * stalls; the drain takes Y and Z and hands Y back (now with no next
 * chain); the refiller's CAS Y -> Z succeeds (ABA) though the drain holds
 * Z, and the drain's push of Z then finds Z on top and links Z to itself.
 * That variant fails at iteration 58 ("++steps < MC_RAW_WALK" in drain:
 * its second take went round the cycle).  Also caught within the default
 * iterations: a refill that drops the rest of the list, or the list whose
 * install failed, or installs by a plain store (an item lost); the
 * hand-over's CAS, a pop's CAS or the refill's install CAS relaxed (owner
 * races), the refill's exchange relaxed (an item lost).
 */
struct mc_raw_refill : rl::test_suite<mc_raw_refill, 3>, mc_raw_base {
	void before()
	{
		d = mc_new_one_stripe();
		make(0, 1); /* Y1 */
		make(1, 1); /* Y2 */
		make(2, 1); /* Z1 */
		make(3, 9); /* F */
		make(4, 1); /* Z2 */
		RL_ASSERT(lfd_slab_class(d, 1) == 1 && lfd_slab_class(d, 9) == 2);
		hand_over(2, 4);
		hand_over(0, 1);
	}
	void thread(unsigned i)
	{
		if (i < 2) {
			alloc(i + 1);
			alloc(i + 1);
		} else {
			drain(3, 0);
			drain(3, 1);
		}
	}
	void after()
	{
		RL_ASSERT(got[3] == 0);
		check();
	}
};

/*
 * A helper hands a chain over while an allocation and a drain run: before
 * the threads, Y = Y1 Y2 on raw_chains, and Z1 Z2 Z3, entries not yet
 * retired.  T0, a helper (lfd_help_free without a destructor): holds
 * Z1-Z3 (owner words), links them as the retire stack does and hands them
 * over, then allocates || T1 allocates twice || T2 drains, freeing one
 * item || after: as mc_raw_refill.  Unlike there, a thread writes the
 * links: only the hand-over's release, the refill's acquire and install,
 * and a pop's acquire order them before another thread's pop or drain.
 * Caught within the default iterations, each relaxed: a pop's load (a
 * stale link: items lost), its CAS on success (owner race) or on failure
 * (items lost; found late, at iteration 17166), the drain's exchange of
 * the stripe's stack or of raw_chains (owner races), the hand-over's CAS,
 * the refill's exchange (a stale value word followed as a chain: "access
 * to freed memory") or its install CAS; and a refill that drops the rest
 * or the list whose install failed, or installs by a store.  Not the CAS
 * pop of mc_raw_refill (no drain hands a chain back unchanged here).
 */
struct mc_raw_handover : rl::test_suite<mc_raw_handover, 3>, mc_raw_base {
	void before()
	{
		d = mc_new_one_stripe();
		for (int k = 0; k < MC_RAW_ITEMS; k++)
			make(k, 1); /* Y1 Y2, Z1 Z2 Z3 */
		hand_over(0, 1);
	}
	void thread(unsigned i)
	{
		if (i == 0) {
			for (int k = 2; k < MC_RAW_ITEMS; k++)
				owner[k]($) = 1;
			hand_over(2, MC_RAW_ITEMS - 1);
			alloc(1);
		} else if (i == 1) {
			alloc(2);
			alloc(2);
		} else {
			drain(3, 1);
		}
	}
	void after()
	{
		check();
	}
};

/*
 * The wake-ups that keep handed-over items from waiting with no callback
 * queued: a thread that leaves items where the callback looks (a helper's
 * hand-over onto raw_chains, a refill's placing on a stripe's raw stack)
 * then loads retire_busy, and queues a callback if it reads it clear
 * (lfd_help_free's lfd_retire_schedule; for a refill, its caller, through
 * lfd_slab_kick_due); the callback's last run clears retire_busy, then
 * looks for work (lfd_retire_cb's tail, lfd_any_raw).  Store buffering:
 * one of them must see the other's write.  Before the threads a callback
 * is running (retire_busy set) || T0 hands a chain over (raw_wakeup_ho)
 * or allocates from a chain handed over before (raw_wakeup_refill: the
 * refill places it, the pop takes one of its items) || T1 is the
 * callback's tail || after: if handed-over items wait, a callback is
 * queued.  Caught within the default iterations: the hand-over's CAS
 * (RAW_PUSH_CAS) or the refill's install (RAW_PLACE_CAS) release instead
 * of seq_cst (tests/litmus/weaken.sh).
 */
struct mc_raw_wakeup_base : mc_raw_base {
	void setup(bool chain_before)
	{
		d = mc_new_one_stripe();
		for (int k = 0; k < MC_RAW_ITEMS; k++)
			make(k, 1);
		if (chain_before)
			hand_over(0, MC_RAW_ITEMS - 1);
		lfd_a_store(&d->retire_busy, 1, rl::mo_relaxed);
	}
	/* lfd_retire_cb's last two steps */
	void callback_tail()
	{
		lfd_a_store(&d->retire_busy, 0, rl::mo_seq_cst);
		lfd_reclaim_kick(d);
	}
	void wakeup_check()
	{
		bool waiting =
			lfd_a_load(&d->raw_chains, rl::mo_relaxed) != 0 ||
			lfd_a_load(&d->stripes[0].raw, rl::mo_relaxed) != 0;

		RL_ASSERT(!waiting || mc_ncbs > 0);
		check();
	}
};

struct mc_raw_wakeup_ho : rl::test_suite<mc_raw_wakeup_ho, 2>,
			  mc_raw_wakeup_base {
	void before()
	{
		setup(false);
	}
	void thread(unsigned i)
	{
		if (i == 0) {
			for (int k = 0; k < MC_RAW_ITEMS; k++)
				owner[k]($) = 1;
			hand_over(0, MC_RAW_ITEMS - 1);
			lfd_reclaim_kick(d); /* lfd_help_free's last step */
		} else {
			callback_tail();
		}
	}
	void after()
	{
		wakeup_check();
	}
};

struct mc_raw_wakeup_refill : rl::test_suite<mc_raw_wakeup_refill, 2>,
			      mc_raw_wakeup_base {
	void before()
	{
		setup(true);
	}
	void thread(unsigned i)
	{
		if (i == 0)
			alloc(1);
		else
			callback_tail();
	}
	void after()
	{
		wakeup_check();
	}
};

/*
 * raw_used against the waiter (lfd_reclaim_wait's last grace period, taken
 * only if raw_used reads 1).  An insert may hold handed-over items of
 * another size, to be freed inside its read-side section, only after a
 * refill moved a chain; so a waiter that saw no helper must read raw_used
 * set if any refill moved one.  raw_used is stored relaxed by the
 * hand-over, before its push (RAW_PUSH_CAS), and loaded relaxed by the
 * waiter: what orders them is the chain of read-modify-writes -- push,
 * the refill's exchange (RAW_TAKE_XCHG), its count of itself in
 * reclaim_helpers and the release decrement the waiter's seq_cst load
 * reads.  T0 hands a chain over || T1 allocates (its refill moves the
 * chain unless it sees the waiter) || T2 is the waiter's announcement,
 * helper check and raw_used load, copied from lfd_reclaim_wait (which
 * also pushes markers and waits for callbacks: not modelled).  After: a
 * refill that moved a chain and a waiter that saw no helper imply the
 * waiter read raw_used 1.  Fails with lfd_slab_hand_over's store moved
 * after its push.  main fails the scenario unless both sides of the race
 * were seen (a waiter that saw no helper after a move, and one that saw
 * the refill counted).
 */
static int mc_ru_helper_seen, mc_ru_moved_seen1;

struct mc_raw_used_wait : rl::test_suite<mc_raw_used_wait, 3>, mc_raw_base {
	int h, ru;
	void before()
	{
		d = mc_new_one_stripe();
		for (int k = 0; k < MC_RAW_ITEMS; k++)
			make(k, 1);
		h = -1;
		ru = -1;
	}
	void thread(unsigned i)
	{
		if (i == 0) {
			for (int k = 0; k < MC_RAW_ITEMS; k++)
				owner[k]($) = 1;
			hand_over(0, MC_RAW_ITEMS - 1);
		} else if (i == 1) {
			/* Allocate once the chain was handed over (relaxed:
			 * the refill's exchange is what synchronizes). */
			for (int n = 0; n < 64 &&
					lfd_a_load(&d->raw_chains,
						   rl::mo_relaxed) == 0;
			     n++)
				rl::yield(1, $);
			alloc(2);
		} else {
			/* Start once a refill placed the chain on the
			 * stripe (most schedules would otherwise announce the
			 * waiter first, and the refill back off).  relaxed:
			 * no synchronization from this load. */
			for (int n = 0; n < 64 &&
					lfd_a_load(&d->stripes[0].raw,
						   rl::mo_relaxed) == 0;
			     n++)
				rl::yield(1, $);
			lfd_a_fetch_add(&d->reclaim_waiters, 1, rl::mo_seq_cst);
			h = lfd_a_load(&d->reclaim_helpers, rl::mo_seq_cst) != 0;
			if (h == 0)
				ru = lfd_a_load(&d->raw_used, rl::mo_relaxed);
			/* still announced: lfd_reclaim_wait leaves after its
			 * grace period (after(), here) */
		}
	}
	void after()
	{
		bool moved = false;

		for (int k = 0; k < MC_RAW_ITEMS; k++)
			moved |= got[k] != 0;
		if (moved && h == 0) {
			RL_ASSERT(ru == 1);
			mc_ru_moved_seen1++;
		} else if (h == 1) {
			mc_ru_helper_seen++;
		}
		lfd_a_fetch_add(&d->reclaim_waiters, -1, rl::mo_relaxed);
		check();
	}
};

template <class T>
static bool mc_run(const char *name, const char *only, int iters)
{
	if (only && std::strcmp(only, name) != 0)
		return true;
	rl::test_params p;
	p.iteration_count = iters;
	p.search_type = rl::random_scheduler_type;
	/* Relacy prints its statistics, and on failure the failure and the
	 * execution history, on std::cout (a std::ostringstream does not mix
	 * with Relacy's operator new). */
	std::cout << "mc_relacy: " << name << " (" << iters << " iterations)"
		  << std::endl;
	bool ok = rl::simulate<T>(p);
	std::printf("mc_relacy: %-16s %s\n", name, ok ? "ok" : "FAILED");
	std::fflush(stdout);
	return ok;
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? std::atoi(argv[1]) : 20000;
	const char *only = argc > 2 ? argv[2] : NULL;
	bool ok = true;

	if (const char *e = std::getenv("LFD_MC_ITERS"))
		iters = std::atoi(e);
	ok &= mc_run<mc_sb_insert>("sb_insert", only, iters);
	ok &= mc_run<mc_sb_set>("sb_set", only, iters);
	ok &= mc_run<mc_cas_pub>("cas_pub", only, iters);
	ok &= mc_run<mc_pop_reinsert>("pop_reinsert", only, iters);
	ok &= mc_run<mc_pop_pop_insert>("pop_pop_insert", only, iters);
	ok &= mc_run<mc_unlink>("unlink", only, iters);
	ok &= mc_run<mc_grow>("grow", only, iters);
	ok &= mc_run<mc_grow_help>("grow_help", only, iters);
	ok &= mc_run<mc_grow_stalled>("grow_stalled", only, iters);
	ok &= mc_run<mc_update>("update", only, iters);
	ok &= mc_run<mc_update_insert>("update_insert", only, iters);
	ok &= mc_run<mc_goc>("get_or_create", only, iters);
	ok &= mc_run<mc_scan>("scan", only, iters);
	ok &= mc_run<mc_raw_refill>("raw_refill", only, iters);
	ok &= mc_run<mc_raw_handover>("raw_handover", only, iters);
	ok &= mc_run<mc_raw_wakeup_ho>("raw_wakeup_ho", only, iters);
	ok &= mc_run<mc_raw_wakeup_refill>("raw_wakeup_refill", only, iters);
	if (!only || std::strcmp(only, "raw_used_wait") == 0) {
		bool held = mc_run<mc_raw_used_wait>("raw_used_wait", only,
						     iters);
		/* the race happened: waiters that saw no helper after a refill
		 * moved a chain, and waiters that saw the refill counted */
		std::printf("mc_relacy: raw_used_wait: %d waits saw no helper "
			    "after a move, %d saw the helper\n",
			    mc_ru_moved_seen1, mc_ru_helper_seen);
		bool raced = mc_ru_moved_seen1 > 0 && mc_ru_helper_seen > 0;
		/* (after a failure the counts stop: no verdict on them) */
		if (held)
			std::printf("mc_relacy: %-16s %s\n", "raw_used_race",
				    raced ? "ok" : "FAILED");
		ok &= held && raced;
	}
	return ok ? 0 : 1;
}
