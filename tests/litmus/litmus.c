/*
 * litmus.c - hardware litmus tests of lfdict's memory-model guarantees
 * (doc/memory-model.md).  One source, one program per pattern: the
 * program's name (lit_<pattern>) selects the pattern.
 *
 * SPDX-License-Identifier: MIT
 *
 * Each round: the main thread resets the keys, then releases the worker
 * threads together (they spin on a shared `go` counter, so the races really
 * overlap), waits for them, and classifies the outcome.  Every outcome's
 * count is printed; a FORBIDDEN outcome observed even once fails the test
 * (exit 1).  "not guaranteed" patterns have no forbidden outcome: they show
 * that the outcome users might assume impossible does happen (or may).
 *
 * A test whose race never happened proves nothing, so each run also shows
 * that it did, and fails (exit 1) when it did not: every thread takes a
 * ticket from one counter before and after its calls, and a round in which
 * two threads' [before, after] intervals intersect had those calls in
 * flight together; at least 1% of the rounds asked for must (a run goes on
 * past them, up to ten times as many, until it has that many: a machine
 * busy with other work can keep the threads apart for a while; if they
 * never met, the run fails).  Patterns whose allowed
 * outcomes all need the race (either thread may win a pop or an insert; a
 * cas loop retries only when it lost one) must also see each of them
 * (NEEDED).  Each thread waits a few spins, varied per round, before its
 * calls, so that no thread always starts first.
 *
 * Usage: lit_<pattern> [rounds]; LFD_LITMUS_ROUNDS=<n> overrides the
 * default (10000; 1000 in ASan/TSan builds);
 * `make litmus-long` runs 1000000 rounds each.
 */
#include "../testutil.h" /* first: it sets _GNU_SOURCE */

#include <limits.h>
#include "../sohash.h"

#define LIT_MAXT 4

/* Rounds per `make check` run: sanitizer builds are ~10x slower. */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__) || \
	__has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define LIT_DEFAULT_ROUNDS 1000
#else
#define LIT_DEFAULT_ROUNDS 10000
#endif
#define LIT_MAXO 6

struct lit_ctx {
	struct lfd *d;
	atomic_long go, done;
	atomic_long arrive; /* the start barrier of each round */
	atomic_long tick; /* tickets: before and after each thread's calls */
	long before[LIT_MAXT], after[LIT_MAXT];
	int visits[4]; /* foreach: visits per key (A, B, M, other) */
	/* results of one round, per thread */
	int r[LIT_MAXT][4];
	void *v[LIT_MAXT][4];
	size_t n[LIT_MAXT];
};

struct lit_payload {
	int a, b; /* plain fields, published through the dictionary */
};

/* Fill a payload's plain fields before it is published; returns it. */
static struct lit_payload *lit_fill(struct lit_payload *p, int a, int b)
{
	p->a = a;
	p->b = b;
	return p;
}

static const uint64_t KA = 1, KB = 2, KM = 3;
#define K(k) ((const void *)((k) == 1 ? &KA : (k) == 2 ? &KB : &KM)), \
	sizeof(uint64_t)

/* A chosen hash, so the list order is A < M < B (split-order keys 0x2..,
 * 0x4.., 0x8..; tests/sohash.h): with M present, insert(A) and insert(B)
 * CAS different words, a real store-buffering race (with A and B
 * adjacent, both inserts would CAS one word and the RMWs alone would order
 * them). */
static uint64_t lit_hash(const void *key, size_t len, void *arg)
{
	uint64_t k;
	(void)arg;
	if (len != sizeof k)
		return tu_hash_for_fold(0x10000000u);
	memcpy(&k, key, sizeof k);
	return tu_hash_for_fold(k == 1 ? 0x20000000u
				: k == 3 ? 0x40000000u
				: k == 2 ? 0x80000000u
					 : 0x10000000u);
}

struct lit {
	const char *name, *desc;
	int nthreads;
	void (*setup)(struct lit_ctx *c);
	void (*thread)(struct lit_ctx *c, int t, long round);
	int (*classify)(struct lit_ctx *c); /* outcome index, or -1: bug */
	const char *outcome[LIT_MAXO];
	int forbidden[LIT_MAXO];
	int needed[LIT_MAXO]; /* must be seen: the race happened both ways */
};

static void lit_clear(struct lit_ctx *c)
{
	(void)lfd_pop(c->d, K(KA), NULL);
	(void)lfd_pop(c->d, K(KB), NULL);
	(void)lfd_pop(c->d, K(KM), NULL);
}

/* A and B absent, M present between them. */
static void lit_apart(struct lit_ctx *c)
{
	lit_clear(c);
	lfd_insert(c->d, K(KM), tu_v(9), NULL);
}

static void lit_both_zero(struct lit_ctx *c)
{
	lit_clear(c);
	lfd_insert(c->d, K(KA), tu_v(0), NULL);
	lfd_insert(c->d, K(KB), tu_v(0), NULL);
}

/* --- MP: insert(A); insert(B) || get(B); get(A).  Forbidden: B seen, A
 * absent.  Plus publication: the payload A's value points to. */
static struct lit_payload lit_pl[1];
static void mp_setup(struct lit_ctx *c)
{
	lit_apart(c);
	lit_fill(&lit_pl[0], 0, 0);
}
static void mp_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	if (t == 0) {
		lfd_insert(c->d, K(KA), lit_fill(&lit_pl[0], 1, 2), NULL);
		lfd_insert(c->d, K(KB), tu_v(1), NULL);
	} else {
		c->r[1][0] = lfd_get(c->d, K(KB), NULL);
		c->r[1][1] = lfd_get(c->d, K(KA), &c->v[1][1]);
		if (c->r[1][1] == 0) {
			struct lit_payload *p = c->v[1][1];
			c->r[1][2] = p->a == 1 && p->b == 2;
		}
	}
}
static int mp_classify(struct lit_ctx *c)
{
	int b = c->r[1][0] == 0, a = c->r[1][1] == 0;
	if (a && !c->r[1][2])
		return 4; /* payload not initialized */
	return b * 2 + a;
}

/* --- MP through lfd_get_many: set(A,p); insert(B,q) || get_many(B, A)
 * and read the payloads found.  Forbidden: a payload seen not initialized
 * (each key's lookup acquires from the call that stored its value).  "B
 * !A" is allowed: the call's lookups are not ordered among themselves
 * (lfdict.h), unlike get(B); get(A) in mp.  Needed: nothing seen and both
 * seen, so the race happened both ways. */
static struct lit_payload lit_plm[2];
static void mpm_setup(struct lit_ctx *c)
{
	lit_apart(c);
	memset(lit_plm, 0, sizeof lit_plm);
}
static void mpm_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	if (t == 0) {
		lfd_set(c->d, K(KA), lit_fill(&lit_plm[0], 1, 2), NULL);
		lfd_insert(c->d, K(KB), lit_fill(&lit_plm[1], 3, 4), NULL);
	} else {
		const void *keys[2] = { &KB, &KA };
		const size_t lens[2] = { sizeof KB, sizeof KA };
		int n = lfd_get_many(c->d, 2, keys, lens, c->v[1], c->r[1]);
		const struct lit_payload *b = c->v[1][0], *a = c->v[1][1];

		/* each value found is the one stored, and reads initialized */
		c->r[1][2] = n == (c->r[1][0] == 0) + (c->r[1][1] == 0) &&
			     (c->r[1][0] != 0 ||
			      (b == &lit_plm[1] && b->a == 3 && b->b == 4)) &&
			     (c->r[1][1] != 0 ||
			      (a == &lit_plm[0] && a->a == 1 && a->b == 2));
	}
}
static int mpm_classify(struct lit_ctx *c)
{
	if (!c->r[1][2])
		return 4; /* a wrong value or count, a payload not initialized */
	return (c->r[1][0] == 0) * 2 + (c->r[1][1] == 0);
}

/* --- MP through lfd_update on both sides: update(A, store p);
 * update(B, store 1) || update(B, keep); update(A, keep), each keep's fn
 * recording what it saw and reading *p inside fn.  Forbidden: B seen and A
 * absent (the updates are linearizable: the insert of A precedes B's),
 * and *p seen uninitialized (the storing CAS releases it, the load fn's
 * current comes from acquires it).  Needed: nothing seen and both seen. */
static struct lit_payload lit_plu[1];
struct lu_seen {
	int present, ok;
};
static int lu_store(void *arg, const void *key, size_t len, int present,
		    void *current, void **desired)
{
	(void)key;
	(void)len;
	(void)present;
	(void)current;
	*desired = arg;
	return LFD_STORE;
}
static int lu_keep(void *arg, const void *key, size_t len, int present,
		   void *current, void **desired)
{
	struct lu_seen *s = arg;
	const struct lit_payload *p = current;
	(void)key;
	(void)desired;
	s->present = present;
	/* key A's value is the payload: read it inside fn */
	s->ok = !present || *(const uint64_t *)key != KA ||
		(p == &lit_plu[0] && p->a == 1 && p->b == 2);
	(void)len;
	return LFD_KEEP;
}
static void mpu_setup(struct lit_ctx *c)
{
	lit_apart(c);
	memset(lit_plu, 0, sizeof lit_plu);
}
static void mpu_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	if (t == 0) {
		lfd_update(c->d, K(KA), lu_store, NULL,
			   lit_fill(&lit_plu[0], 1, 2));
		lfd_update(c->d, K(KB), lu_store, NULL, tu_v(1));
	} else {
		struct lu_seen b = { 0, 1 }, a = { 0, 1 };
		c->r[1][0] = lfd_update(c->d, K(KB), lu_keep, NULL, &b);
		c->r[1][1] = lfd_update(c->d, K(KA), lu_keep, NULL, &a);
		c->r[1][2] = b.present * 2 + a.present;
		c->r[1][3] = a.ok && c->r[1][0] == LFD_KEPT &&
			     c->r[1][1] == LFD_KEPT;
	}
}
static int mpu_classify(struct lit_ctx *c)
{
	return c->r[1][3] ? c->r[1][2] : 4;
}

/* --- get_or_create race: goc(A, create p0) || goc(A, create p1), each
 * create initializing its payload; both read the payload returned.
 * Forbidden: not exactly one inserted, different values returned, a
 * payload read uninitialized (the loser's -EEXIST load acquires the
 * winner's), the loser's value not handed back.  Needed: each thread wins
 * some round. */
static struct lit_payload lit_plg[2];
static atomic_int lit_goc_discards;
static int goc_create(void *arg, const void *key, size_t len, void **value)
{
	struct lit_payload *p = arg;
	(void)key;
	(void)len;
	p->a = 1;
	p->b = 2;
	*value = p;
	return 0;
}
static void goc_discard(void *arg, void *value)
{
	(void)arg;
	(void)value;
	atomic_fetch_add(&lit_goc_discards, 1);
}
static void goc_setup(struct lit_ctx *c)
{
	lit_clear(c);
	memset(lit_plg, 0, sizeof lit_plg);
	atomic_store(&lit_goc_discards, 0);
}
static void goc_thread(struct lit_ctx *c, int t, long round)
{
	const struct lit_payload *p;
	(void)round;
	c->r[t][0] = lfd_get_or_create(c->d, K(KA), goc_create, goc_discard,
				       &lit_plg[t], &c->v[t][0]);
	p = c->v[t][0];
	c->r[t][1] = p != NULL && p->a == 1 && p->b == 2;
}
static int goc_classify(struct lit_ctx *c)
{
	int ins0 = c->r[0][0] == LFD_INSERTED, ins1 = c->r[1][0] == LFD_INSERTED;
	/* the loser created a value (then it was handed back) or found the
	 * winner's at its first lookup (then it created nothing) */
	if (ins0 + ins1 != 1 || c->v[0][0] != c->v[1][0] || !c->r[0][1] ||
	    !c->r[1][1] || c->r[ins0][0] != LFD_KEPT ||
	    atomic_load(&lit_goc_discards) > 1)
		return 2;
	return ins1;
}

/* --- SB: insert(A); get(B) || insert(B); get(A).  Forbidden: both absent. */
static void sb_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	lfd_insert(c->d, K(t ? KB : KA), tu_v(1), NULL);
	c->r[t][0] = lfd_get(c->d, K(t ? KA : KB), NULL);
}
static int sb_classify(struct lit_ctx *c)
{
	return (c->r[0][0] == 0) * 2 + (c->r[1][0] == 0);
}

/* --- SB over updates of present keys: set(A,1); get(B) || set(B,1);
 * get(A), both 0 before.  Forbidden: both read 0. */
static void sbset_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	lfd_set(c->d, K(t ? KB : KA), tu_v(1), NULL);
	lfd_get(c->d, K(t ? KA : KB), &c->v[t][0]);
}
static int sbset_classify(struct lit_ctx *c)
{
	return (c->v[0][0] == tu_v(1)) * 2 + (c->v[1][0] == tu_v(1));
}

/* --- LB: get(A); insert(B) || get(B); insert(A).  Forbidden: both found. */
static void lb_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	c->r[t][0] = lfd_get(c->d, K(t ? KB : KA), NULL);
	lfd_insert(c->d, K(t ? KA : KB), tu_v(1), NULL);
}
static int lb_classify(struct lit_ctx *c)
{
	return (c->r[0][0] == 0) * 2 + (c->r[1][0] == 0);
}

/* --- IRIW: insert(A) || insert(B) || get(A); get(B) || get(B); get(A).
 * Forbidden: readers disagree on the order (A,!B and B,!A). */
static void iriw_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	if (t < 2) {
		lfd_insert(c->d, K(t ? KB : KA), tu_v(1), NULL);
	} else if (t == 2) {
		c->r[2][0] = lfd_get(c->d, K(KA), NULL);
		c->r[2][1] = lfd_get(c->d, K(KB), NULL);
	} else {
		c->r[3][0] = lfd_get(c->d, K(KB), NULL);
		c->r[3][1] = lfd_get(c->d, K(KA), NULL);
	}
}
static int iriw_classify(struct lit_ctx *c)
{
	bool t2 = c->r[2][0] == 0 && c->r[2][1] != 0; /* A before B */
	bool t3 = c->r[3][0] == 0 && c->r[3][1] != 0; /* B before A */
	if (t2 && t3)
		return 3;
	return t2 ? 1 : t3 ? 2 : 0;
}

/* --- 2+2W: set(A,1); set(B,2) || set(B,1); set(A,2).  Forbidden final
 * state: A == 1 and B == 1. */
static void w22_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	lfd_set(c->d, K(t ? KB : KA), tu_v(1), NULL);
	lfd_set(c->d, K(t ? KA : KB), tu_v(2), NULL);
}
static int w22_classify(struct lit_ctx *c)
{
	void *a = NULL, *b = NULL;
	lfd_get(c->d, K(KA), &a);
	lfd_get(c->d, K(KB), &b);
	if (a == tu_v(1) && b == tu_v(1))
		return 3;
	return a == tu_v(2) && b == tu_v(2) ? 0 : a == tu_v(1) ? 1 : 2;
}

/* --- setdefault: insert(A, own) in both threads.  Exactly one gets 0;
 * the other gets -EEXIST with *current = the winner's value. */
static void sd_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	c->r[t][0] = lfd_insert(c->d, K(KA), tu_v(10 + t), &c->v[t][0]);
}
static int sd_classify(struct lit_ctx *c)
{
	int w0 = c->r[0][0] == 0, w1 = c->r[1][0] == 0;
	if (w0 + w1 != 1)
		return 2;
	if (w0 && c->r[1][0] == -EEXIST && c->v[1][0] == tu_v(10))
		return 0;
	if (w1 && c->r[0][0] == -EEXIST && c->v[0][0] == tu_v(11))
		return 1;
	return 2;
}

/* --- two pops of one key: exactly one gets the value, the other -ENOENT. */
static void pop2_setup(struct lit_ctx *c)
{
	lit_clear(c);
	lfd_insert(c->d, K(KA), tu_v(7), NULL);
}
static void pop2_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	c->r[t][0] = lfd_pop(c->d, K(KA), &c->v[t][0]);
}
static int pop2_classify(struct lit_ctx *c)
{
	int w0 = c->r[0][0] == 0 && c->v[0][0] == tu_v(7);
	int w1 = c->r[1][0] == 0 && c->v[1][0] == tu_v(7);
	if (w0 + w1 == 1 && c->r[w0 ? 1 : 0][0] == -ENOENT)
		return w0 ? 0 : 1;
	return 2;
}

/* --- cad reports the winner, acquired: A holds v7.  T0 fills *p; set(A, p)
 * || T1 cad(A, v7, &cur), and on -EAGAIN reads *cur.  Forbidden: -EAGAIN
 * with another value than p, *p read uninitialized (the failed cad's
 * load acquires from the set), or anything but 0 / -EAGAIN.  Needed: the
 * cad first (0) and the set first (-EAGAIN, p). */
static struct lit_payload lit_plc[1];
static void cad_setup(struct lit_ctx *c)
{
	pop2_setup(c);
	memset(lit_plc, 0, sizeof lit_plc);
}
static void cad_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	if (t == 0) {
		lfd_set(c->d, K(KA), lit_fill(&lit_plc[0], 1, 2), NULL);
	} else {
		c->r[1][0] = lfd_cad(c->d, K(KA), tu_v(7), &c->v[1][0]);
		if (c->r[1][0] == -EAGAIN) {
			const struct lit_payload *p = c->v[1][0];
			c->r[1][1] = p == &lit_plc[0] && p->a == 1 && p->b == 2;
		}
	}
}
static int cad_classify(struct lit_ctx *c)
{
	if (c->r[1][0] == 0 && c->v[1][0] == tu_v(7))
		return 0;
	if (c->r[1][0] == -EAGAIN && c->r[1][1])
		return 1;
	return 2;
}

/* --- counter: each thread adds 50 through a lfd_cas retry loop; no
 * update is lost (the final value is 100). */
static void ctr_setup(struct lit_ctx *c)
{
	lit_clear(c);
	lfd_insert(c->d, K(KA), tu_v(0), NULL);
}
static void ctr_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	int retries = 0;
	for (int i = 0; i < 50; i++) {
		void *cur = NULL;
		lfd_get(c->d, K(KA), &cur);
		while (lfd_cas(c->d, K(KA), cur, tu_v(tu_vid(cur) + 1), &cur) ==
		       -EAGAIN)
			retries++;
	}
	c->r[t][0] = retries;
}
static int ctr_classify(struct lit_ctx *c)
{
	void *v = NULL;
	lfd_get(c->d, K(KA), &v);
	if (v != tu_v(100))
		return 2;
	return c->r[0][0] + c->r[1][0] > 0 ? 1 : 0;
}

/* --- count is not a snapshot: T0 "moves" an entry (insert B, then pop
 * A: one entry at every linearization instant) || T1 count.  2 may be
 * seen: allowed (count is within U of the truth). */
static void cnt_setup(struct lit_ctx *c)
{
	lit_clear(c);
	lfd_insert(c->d, K(KA), tu_v(1), NULL);
}
static void cnt_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	if (t == 0) {
		lfd_insert(c->d, K(KB), tu_v(1), NULL);
		lfd_pop(c->d, K(KA), NULL);
	} else {
		lfd_count(c->d, &c->n[1]);
	}
}
static int cnt_classify(struct lit_ctx *c)
{
	return c->n[1] <= 2 ? (int)c->n[1] : 3;
}

/* --- foreach is not a snapshot: T0 moves the entry from A to B (insert
 * B, then pop A) || T1 foreach records the keys it visits: 0 or 2 keys
 * (no instant had 0 or 2 entries) may be seen; a key visited twice may
 * not. */
static int fe_fn(void *arg, const void *key, size_t len, void *value)
{
	int *visits = arg;
	uint64_t k = 0;

	(void)value;
	if (len == sizeof k)
		memcpy(&k, key, sizeof k);
	visits[k == KA ? 0 : k == KB ? 1 : k == KM ? 2 : 3]++;
	return 0;
}
static void fe_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	if (t == 0) {
		lfd_insert(c->d, K(KB), tu_v(1), NULL);
		lfd_pop(c->d, K(KA), NULL);
	} else {
		memset(c->visits, 0, sizeof c->visits);
		lfd_foreach(c->d, fe_fn, c->visits);
	}
}
static int fe_classify(struct lit_ctx *c)
{
	if (c->visits[0] > 1 || c->visits[1] > 1 || c->visits[2] ||
	    c->visits[3])
		return 3; /* a key twice, or a key never inserted */
	return (c->visits[0] > 0) + (c->visits[1] > 0);
}

/* --- publication through a scan: insert(A,p); insert(B,q) || a scan in
 * slices of one visit (lfd_scan), reading the payload of every value it
 * visits.  Forbidden: a payload read uninitialized (each visit's value
 * load acquires from the insert), a key visited twice.  Any combination of
 * A and B is allowed (a scan is not a snapshot; it passes A's place before
 * B's); needed: neither and both seen. */
static struct lit_payload lit_pls[2];
static void mps_setup(struct lit_ctx *c)
{
	lit_apart(c);
	memset(lit_pls, 0, sizeof lit_pls);
}
static int mps_fn(void *arg, const void *key, size_t len, void *value)
{
	struct lit_ctx *c = arg;
	const struct lit_payload *p = value;
	uint64_t k = 0;

	if (len == sizeof k)
		memcpy(&k, key, sizeof k);
	c->visits[k == KA ? 0 : k == KB ? 1 : k == KM ? 2 : 3]++;
	if ((k == KA && (p != &lit_pls[0] || p->a != 1 || p->b != 2)) ||
	    (k == KB && (p != &lit_pls[1] || p->a != 3 || p->b != 4)))
		c->visits[3]++; /* a wrong or uninitialized payload */
	return 0;
}
static void mps_thread(struct lit_ctx *c, int t, long round)
{
	(void)round;
	if (t == 0) {
		/* A scan takes longer than two inserts: start the inserts
		 * after a delay that sweeps through the scan's length from
		 * round to round, so that they land before, inside and after
		 * it (without it, nearly every round ran one call first). */
		for (volatile long i = 0; i < round % 512; i++)
			;
		lfd_insert(c->d, K(KA), lit_fill(&lit_pls[0], 1, 2), NULL);
		lfd_insert(c->d, K(KB), lit_fill(&lit_pls[1], 3, 4), NULL);
	} else {
		uint64_t pos = LFD_SCAN_START;

		memset(c->visits, 0, sizeof c->visits);
		do
			lfd_scan(c->d, &pos, 1, mps_fn, c);
		while (pos != LFD_SCAN_END);
	}
}
static int mps_classify(struct lit_ctx *c)
{
	if (c->visits[0] > 1 || c->visits[1] > 1 || c->visits[2] != 1 ||
	    c->visits[3])
		return 4;
	return (c->visits[1] > 0) * 2 + (c->visits[0] > 0);
}

static const struct lit lits[] = {
	{ "mp", "insert(A,p); insert(B) || get(B); get(A) and read *p", 2,
	  mp_setup, mp_thread, mp_classify,
	  { "!B !A", "!B A", "B !A", "B A", "A seen, *p not initialized" },
	  { 0, 0, 1, 0, 1 }, { 0 } },
	{ "mp_many", "set(A,p); insert(B,q) || get_many(B, A) and read *p, *q",
	  2, mpm_setup, mpm_thread, mpm_classify,
	  { "!B !A", "!B A", "B !A (allowed: not a snapshot)", "B A",
	    "wrong value, or payload not initialized" },
	  { 0, 0, 0, 0, 1 }, { 1, 0, 0, 1, 0 } },
	{ "mp_update", "update(A,store p); update(B,store) || update(B,keep); "
	  "update(A,keep) reading *p in fn", 2, mpu_setup, mpu_thread,
	  mpu_classify,
	  { "!B !A", "!B A", "B !A", "B A", "*p not initialized, or a keep "
	    "changed something" },
	  { 0, 0, 1, 0, 1 }, { 1, 0, 0, 1, 0 } },
	{ "mp_goc", "get_or_create(A, new p0) || get_or_create(A, new p1), "
	  "read the payload returned", 2, goc_setup, goc_thread, goc_classify,
	  { "T0 created", "T1 created", "not one winner, different values, "
	    "payload not initialized, or a loser's value kept" },
	  { 0, 0, 1 }, { 1, 1, 0 } },
	{ "sb", "insert(A); get(B) || insert(B); get(A)", 2, lit_apart,
	  sb_thread, sb_classify,
	  { "both absent", "T1 saw A", "T0 saw B", "both saw" },
	  { 1, 0, 0, 0 }, { 0 } },
	{ "sb_set", "set(A,1); get(B) || set(B,1); get(A)", 2, lit_both_zero,
	  sbset_thread, sbset_classify,
	  { "both read 0", "T1 read 1", "T0 read 1", "both read 1" },
	  { 1, 0, 0, 0 }, { 0 } },
	{ "lb", "get(A); insert(B) || get(B); insert(A)", 2, lit_apart,
	  lb_thread, lb_classify,
	  { "neither found", "T1 found", "T0 found", "both found" },
	  { 0, 0, 0, 1 }, { 0 } },
	{ "iriw", "insert(A) || insert(B) || get(A); get(B) || get(B); get(A)",
	  4, lit_apart, iriw_thread, iriw_classify,
	  { "agree", "T2 saw A first", "T3 saw B first",
	    "disagree (A,!B and B,!A)" },
	  { 0, 0, 0, 1 }, { 0 } },
	{ "2plus2w", "set(A,1); set(B,2) || set(B,1); set(A,2)", 2,
	  lit_both_zero, w22_thread, w22_classify,
	  { "A=2 B=2", "A=1 B=2", "A=2 B=1", "A=1 B=1" }, { 0, 0, 0, 1 },
	  { 0 } },
	{ "setdefault", "insert(A,10) || insert(A,11)", 2, lit_clear,
	  sd_thread, sd_classify,
	  { "T0 won, T1 got 10", "T1 won, T0 got 11",
	    "not exactly one winner / wrong *current" },
	  { 0, 0, 1 }, { 1, 1, 0 } },
	{ "pop2", "pop(A) || pop(A)", 2, pop2_setup, pop2_thread,
	  pop2_classify,
	  { "T0 popped", "T1 popped", "not exactly one pop" }, { 0, 0, 1 },
	  { 1, 1, 0 } },
	{ "mp_scan", "insert(A,p); insert(B,q) || scan in slices of 1, read "
	  "the payloads visited", 2, mps_setup, mps_thread, mps_classify,
	  { "!B !A", "!B A", "B !A (allowed: not a snapshot)", "B A",
	    "a key twice, M missed, or a payload not initialized" },
	  { 0, 0, 0, 0, 1 }, { 1, 0, 0, 1, 0 } },
	{ "cad", "set(A,p) || cad(A, old, &cur), read *cur on -EAGAIN", 2,
	  cad_setup, cad_thread, cad_classify,
	  { "cad first: removed old", "set first: -EAGAIN with p, *p read",
	    "a wrong return or value, *p not initialized" },
	  { 0, 0, 1 }, { 1, 1, 0 } },
	{ "counter", "50 x cas-increment || 50 x cas-increment", 2, ctr_setup,
	  ctr_thread, ctr_classify,
	  { "100, no retry", "100, with retries", "lost update" },
	  { 0, 0, 1 }, { 0, 1, 0 } },
	{ "count_not_snapshot", "insert(B); pop(A) || count", 2, cnt_setup,
	  cnt_thread, cnt_classify,
	  { "count 0", "count 1", "count 2 (never true)", "count > 2" },
	  { 0, 0, 0, 1 }, { 0 } },
	{ "foreach_not_snapshot", "insert(B); pop(A) || foreach", 2,
	  cnt_setup, fe_thread, fe_classify,
	  { "no key (never true)", "one key", "A and B (never true)",
	    "a key visited twice" },
	  { 0, 0, 0, 1 }, { 0 } },
};

struct lit_worker {
	struct lit_ctx *c;
	const struct lit *l;
	int t;
	long rounds;
};

static void lit_wait(atomic_long *a, long v)
{
	unsigned spins = 0;
	while (atomic_load(a) < v)
		if (++spins % 64 == 0)
			sched_yield();
}

/* Thread t's part of round r, once `go` says r: a spin barrier of all the
 * round's threads (the last to arrive releases the others, which all see
 * its increment at about the same instant), a few spins varied per round
 * and thread, then the calls. */
static void lit_part(struct lit_worker *w, long r)
{
	unsigned jitter = (unsigned)(tu_mix64((uint64_t)r * LIT_MAXT +
					      (uint64_t)w->t) & 255);
	long all = r * w->l->nthreads;
	unsigned spins = 0;

	atomic_fetch_add(&w->c->arrive, 1);
	while (atomic_load(&w->c->arrive) < all)
		if (++spins % 4096 == 0)
			sched_yield(); /* more threads than cores */
	for (volatile unsigned i = 0; i < jitter; i++)
		;
	w->c->before[w->t] = atomic_fetch_add(&w->c->tick, 1);
	w->l->thread(w->c, w->t, r);
	w->c->after[w->t] = atomic_fetch_add(&w->c->tick, 1);
	atomic_fetch_add(&w->c->done, 1);
}

/* Threads 1.. run here; thread 0 is the main thread, which sets each
 * round up and then plays its part (a main thread that only waited would
 * hold one of the cores the race needs). */
static void *lit_worker_fn(void *arg)
{
	struct lit_worker *w = arg;
	for (long r = 1;; r++) {
		lit_wait(&w->c->go, r); /* go = LONG_MAX: the run is over */
		if (atomic_load(&w->c->go) == LONG_MAX)
			break;
		lit_part(w, r);
	}
	return NULL;
}

/* Were two threads' calls in flight together this round? */
static bool lit_overlapped(const struct lit_ctx *c, int n)
{
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (c->before[i] < c->after[j] &&
			    c->before[j] < c->after[i])
				return true;
	return false;
}

/* Whether a NEEDED outcome has not been seen yet. */
static bool lit_unseen(const struct lit *l, const long *count)
{
	for (int o = 0; o < LIT_MAXO && l->outcome[o]; o++)
		if (l->needed[o] && !count[o])
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	const struct lit *l = NULL;
	long rounds = LIT_DEFAULT_ROUNDS;
	const char *env = getenv("LFD_LITMUS_ROUNDS");

	name = name ? name + 1 : argv[0];
	if (strncmp(name, "lt-", 3) == 0)
		name += 3;
	if (strncmp(name, "lit_", 4) == 0)
		name += 4;
	for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++)
		if (strcmp(lits[i].name, name) == 0 ||
		    (argc > 2 && strcmp(lits[i].name, argv[2]) == 0))
			l = &lits[i];
	if (env)
		rounds = atol(env);
	if (argc > 1)
		rounds = atol(argv[1]);
	if (l == NULL || rounds <= 0) {
		fprintf(stderr, "usage: lit_<pattern> [rounds]\n");
		return 2;
	}

	struct lfd_config cfg;
	tu_cfg_init(&cfg);
	cfg.hash = lit_hash;
	struct lit_ctx *c = calloc(1, sizeof *c);
	c->d = lfd_new(&cfg);
	if (c->d == NULL)
		return 2;
	pthread_t th[LIT_MAXT];
	struct lit_worker w[LIT_MAXT];
	long count[LIT_MAXO + 1] = { 0 };
	long overlapped = 0;
	for (int t = 0; t < l->nthreads; t++) {
		w[t] = (struct lit_worker){ c, l, t, rounds };
		if (t > 0 &&
		    pthread_create(&th[t], NULL, lit_worker_fn, &w[t]) != 0)
			return 2;
	}
	/* overlapping rounds the run needs; it ends once it has them, has
	 * seen every NEEDED outcome and has run the rounds asked for -- or
	 * after a hundred times as many rounds, or 120 s: on a loaded machine
	 * the threads may run one after the other for a long while */
	long need = rounds / 100 > 10 ? rounds / 100 : 10, ran = 0;
	double t0 = tu_now();
	for (long r = 1; r <= 100 * rounds &&
			 (r <= rounds ||
			  ((overlapped < need || lit_unseen(l, count)) &&
			   tu_now() - t0 < 120));
	     r++) {
		ran = r;
		l->setup(c);
		memset(c->r, 0x7f, sizeof c->r);
		memset(c->v, 0, sizeof c->v);
		atomic_store(&c->tick, 0);
		atomic_store(&c->go, r);
		lit_part(&w[0], r);
		lit_wait(&c->done, r * l->nthreads);
		overlapped += lit_overlapped(c, l->nthreads);
		int o = l->classify(c);
		count[o < 0 || o >= LIT_MAXO ? LIT_MAXO : o]++;
	}
	atomic_store(&c->go, LONG_MAX);
	for (int t = 1; t < l->nthreads; t++)
		pthread_join(th[t], NULL);
	lfd_destroy(c->d);
	free(c);

	int bad = 0, unseen = lit_unseen(l, count);
	bool raced = overlapped >= need;
	printf("litmus %s (%s), %ld rounds, flavour %s\n", l->name, l->desc,
	       ran, TU_FLAVOR_NAME);
	for (int o = 0; o < LIT_MAXO && l->outcome[o]; o++) {
		printf("  %-42s %9ld%s\n", l->outcome[o], count[o],
		       l->forbidden[o] ? "  (FORBIDDEN)"
		       : l->needed[o]	? "  (NEEDED)"
					: "");
		if (l->forbidden[o] && count[o])
			bad = 1;
	}
	if (count[LIT_MAXO])
		bad = 1;
	printf("  %-42s %9ld (%.1f%%; %ld needed)\n",
	       "rounds with the calls in flight together", overlapped,
	       100.0 * (double)overlapped / (double)ran, need);
	printf("%s: %s\n", l->name,
	       bad	 ? "FAIL (forbidden outcome observed)"
	       : !raced ? "FAIL (the race did not happen: too few overlapping "
			  "rounds)"
	       : unseen ? "FAIL (the race did not happen both ways: a NEEDED "
			  "outcome never seen)"
			: "ok");
	return bad || !raced || unseen;
}
