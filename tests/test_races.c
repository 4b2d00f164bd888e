/*
 * test_races.c - multithreaded races, with more threads (8) than cores on
 * purpose, started together behind a pthread barrier:
 *   1. N threads insert one key: one wins, the others see its value.
 *   2. N threads pop the same keys: each key popped exactly once.
 *   3. N threads increment one counter with cas retry loops: no lost update.
 *   4. publication: a struct initialized with plain stores, then inserted,
 *      is seen fully initialized by readers that get it.
 *   5. 1000 short-lived threads (waves of 50) inserting 1000 keys each.
 *   6. foreach concurrent with inserts, pops, sets and resizes: keys present
 *      for the whole walk visited exactly once, no key twice.
 *   7. lfd_count concurrent with updates stays within the documented bound,
 *      exact at quiescence.
 *   8. 1 and 3 again with the urcu-memb flavour in cfg.flavor.
 *   9. 256 updaters churning: the reclamation backlog stays bounded, every
 *      departed value is destroyed once.
 * Worker threads record errors (tu_errs); the test thread asserts after
 * joining them.
 *
 * SPDX-License-Identifier: MIT
 */
#include "testutil.h"

#include <urcu/urcu-memb.h>

#ifdef LFD_TEST_RCU_PTHREAD
/* <urcu/urcu-memb.h> declares it through <urcu/flavor.h>, unless that was
 * included before, as rcu_pthread.h does. */
extern const struct rcu_flavor_struct urcu_memb_flavor;
#endif

enum { NTHREADS = 8 };

/* The RCU flavour a test runs with: NULL (urcu-bp, no registration) or
 * urcu-memb (every calling thread registers). */
struct flav {
	const struct rcu_flavor_struct *fl;
	const char *name;
};

static const struct flav flav_bp = { TU_FLAVOR, TU_FLAVOR_NAME };
static const struct flav flav_memb = { &urcu_memb_flavor, "urcu-memb" };

static void flav_enter(const struct flav *f)
{
	if (f == &flav_memb)
		urcu_memb_register_thread();
}

static void flav_leave(const struct flav *f)
{
	if (f == &flav_memb)
		urcu_memb_unregister_thread();
}

static struct lfd *flav_new(const struct flav *f, struct lfd_config *c)
{
	struct lfd_config z;
	if (!c) {
		memset(&z, 0, sizeof z);
		c = &z;
	}
	c->flavor = f->fl;
	struct lfd *d = lfd_new(c);
	ck_assert_msg(d != NULL, "lfd_new (%s): %s", f->name, strerror(errno));
	return d;
}

/* Runs fn(arg_i) on n threads; arg_i = base + i * size. */
static void run_threads(int n, void *(*fn)(void *), void *base, size_t size)
{
	pthread_t th[64];
	ck_assert_int_le(n, 64);
	for (int i = 0; i < n; i++)
		tu_spawn(&th[i], fn, (char *)base + (size_t)i * size);
	for (int i = 0; i < n; i++)
		tu_join(th[i]);
}

/* ------------------------------------------------------------------ */
/* 1. insert race                                                      */

struct ir_shared {
	struct lfd *d;
	const struct flav *f;
	pthread_barrier_t bar;
	int rounds;
	int *rc;    /* [round][thread] */
	void **cur; /* [round][thread] */
};

struct ir_arg {
	struct ir_shared *s;
	int t;
};

static void *ir_thread(void *p)
{
	struct ir_arg *a = p;
	struct ir_shared *s = a->s;
	char k[TU_KEYBUF];

	flav_enter(s->f);
	for (int r = 0; r < s->rounds; r++) {
		size_t len = tu_key(k, "race-", (uint64_t)r);
		void *cur = TU_UNSET;
		pthread_barrier_wait(&s->bar);
		int rc = lfd_insert(s->d, k, len,
				    tu_v((uint64_t)r * NTHREADS + (uint64_t)a->t + 1),
				    &cur);
		s->rc[r * NTHREADS + a->t] = rc;
		s->cur[r * NTHREADS + a->t] = cur;
	}
	flav_leave(s->f);
	return NULL;
}

static void insert_race(const struct flav *f, int rounds)
{
	struct ir_shared s;
	struct ir_arg args[NTHREADS];
	double t0 = tu_now();

	flav_enter(f);
	s.d = flav_new(f, NULL);
	s.f = f;
	s.rounds = rounds;
	s.rc = calloc((size_t)rounds * NTHREADS, sizeof *s.rc);
	s.cur = calloc((size_t)rounds * NTHREADS, sizeof *s.cur);
	ck_assert_ptr_nonnull(s.rc);
	ck_assert_ptr_nonnull(s.cur);
	pthread_barrier_init(&s.bar, NULL, NTHREADS);
	for (int t = 0; t < NTHREADS; t++)
		args[t] = (struct ir_arg){ &s, t };
	run_threads(NTHREADS, ir_thread, args, sizeof args[0]);
	pthread_barrier_destroy(&s.bar);

	long wins[NTHREADS] = { 0 };
	char k[TU_KEYBUF];
	for (int r = 0; r < rounds; r++) {
		int winner = -1;
		for (int t = 0; t < NTHREADS; t++) {
			int rc = s.rc[r * NTHREADS + t];
			ck_assert_msg(rc == 0 || rc == -EEXIST,
				      "round %d thread %d: insert -> %d", r, t, rc);
			if (rc == 0) {
				ck_assert_msg(winner < 0,
					      "round %d: threads %d and %d both "
					      "inserted",
					      r, winner, t);
				winner = t;
			}
		}
		ck_assert_msg(winner >= 0, "round %d: nobody inserted", r);
		wins[winner]++;
		void *wv = tu_v((uint64_t)r * NTHREADS + (uint64_t)winner + 1);
		for (int t = 0; t < NTHREADS; t++)
			ck_assert_msg(s.cur[r * NTHREADS + t] == wv,
				      "round %d thread %d (rc %d): *current %p, "
				      "winner %d's value %p",
				      r, t, s.rc[r * NTHREADS + t],
				      s.cur[r * NTHREADS + t], winner, wv);
		size_t len = tu_key(k, "race-", (uint64_t)r);
		void *v = TU_UNSET;
		ck_assert_int_eq(lfd_get(s.d, k, len, &v), 0);
		ck_assert_ptr_eq(v, wv);
	}
	size_t count = 0;
	ck_assert_int_eq(lfd_count(s.d, &count), 0);
	ck_assert_uint_eq(count, (size_t)rounds);
	ck_assert_int_eq(lfd_destroy(s.d), 0);
	flav_leave(f);
	int winners = 0;
	for (int t = 0; t < NTHREADS; t++)
		winners += wins[t] > 0;
	TU_LOG("  insert_race (%s): %d rounds x %d threads, %d distinct "
	       "winners (wins of thread 0: %ld), %.2f s\n",
	       f->name, rounds, NTHREADS, winners, wins[0], tu_now() - t0);
	free(s.rc);
	free(s.cur);
}

START_TEST(test_insert_race)
{
	insert_race(&flav_bp, 5000);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 2. pop race                                                         */

struct pr_shared {
	struct lfd *d;
	pthread_barrier_t bar;
	int nkeys, rounds;
	atomic_int *popped;     /* per key, per round */
	atomic_long wrong_value;
	struct tu_errs errs;
};

struct pr_arg {
	struct pr_shared *s;
	int t;
	long pops;
};

static void *pr_thread(void *p)
{
	struct pr_arg *a = p;
	struct pr_shared *s = a->s;
	struct tu_rng r;
	size_t *order = malloc((size_t)s->nkeys * sizeof *order);

	tu_rng_init(&r, 700 + (uint64_t)a->t);
	for (int round = 0; round < s->rounds; round++) {
		for (int i = 0; i < s->nkeys; i++)
			order[i] = (size_t)i;
		/* round 0: everybody in the same order (most contention);
		 * round 1: random orders; round 2: half reversed */
		if (round % 3 == 1)
			tu_shuffle(&r, order, (size_t)s->nkeys);
		if (round % 3 == 2 && a->t % 2)
			for (int i = 0; i < s->nkeys / 2; i++) {
				size_t x = order[i];
				order[i] = order[s->nkeys - 1 - i];
				order[s->nkeys - 1 - i] = x;
			}
		pthread_barrier_wait(&s->bar);
		for (int i = 0; i < s->nkeys; i++) {
			uint64_t key = ((uint64_t)round << 32) | order[i];
			void *v = TU_UNSET;
			int rc = lfd_pop(s->d, &key, sizeof key, &v);
			if (rc == 0) {
				a->pops++;
				atomic_fetch_add(&s->popped[(size_t)round * (size_t)s->nkeys + order[i]], 1);
				if (v != tu_v(key + 1))
					atomic_fetch_add(&s->wrong_value, 1);
			} else {
				TU_CHECK(&s->errs, rc == -ENOENT && v == TU_UNSET,
					 "pop -> %d, value %p", rc, v);
			}
		}
		pthread_barrier_wait(&s->bar);
	}
	free(order);
	return NULL;
}

START_TEST(test_pop_race)
{
	enum { KEYS = 20000, ROUNDS = 3 };
	struct pr_shared *s = calloc(1, sizeof *s);
	struct pr_arg args[NTHREADS];
	double t0 = tu_now();

	ck_assert_ptr_nonnull(s);
	s->d = tu_new_default();
	ck_assert_ptr_nonnull(s->d);
	s->nkeys = KEYS;
	s->rounds = ROUNDS;
	s->popped = calloc((size_t)KEYS * ROUNDS, sizeof *s->popped);
	ck_assert_ptr_nonnull(s->popped);
	/* all rounds' keys up front, so that popping also shrinks */
	for (uint64_t round = 0; round < ROUNDS; round++)
		for (uint64_t i = 0; i < KEYS; i++) {
			uint64_t key = (round << 32) | i;
			ck_assert_int_eq(
				lfd_insert(s->d, &key, sizeof key, tu_v(key + 1), NULL),
				0);
		}
	pthread_barrier_init(&s->bar, NULL, NTHREADS);
	for (int t = 0; t < NTHREADS; t++)
		args[t] = (struct pr_arg){ s, t, 0 };
	run_threads(NTHREADS, pr_thread, args, sizeof args[0]);
	pthread_barrier_destroy(&s->bar);
	tu_assert_no_errs(&s->errs);

	long total = 0, spread = 0;
	for (int t = 0; t < NTHREADS; t++) {
		total += args[t].pops;
		spread += args[t].pops > 0;
	}
	for (size_t i = 0; i < (size_t)KEYS * ROUNDS; i++)
		ck_assert_msg(atomic_load(&s->popped[i]) == 1,
			      "key %zu of round %zu popped %d times", i % KEYS,
			      i / KEYS, atomic_load(&s->popped[i]));
	ck_assert_int_eq(total, (long)KEYS * ROUNDS);
	ck_assert_int_eq(atomic_load(&s->wrong_value), 0);
	size_t count = 1;
	ck_assert_int_eq(lfd_count(s->d, &count), 0);
	ck_assert_uint_eq(count, 0);
	ck_assert_int_eq(lfd_destroy(s->d), 0);
	TU_LOG("  pop_race: %d keys x %d rounds popped by %d threads, each "
	       "exactly once (%ld threads popped some), %.2f s\n",
	       KEYS, ROUNDS, NTHREADS, spread, tu_now() - t0);
	free(s->popped);
	free(s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 3. cas counter                                                      */

struct cc_shared {
	struct lfd *d;
	const struct flav *f;
	pthread_barrier_t bar;
	long incs;
	struct tu_errs errs;
};

struct cc_arg {
	struct cc_shared *s;
	long retries;
};

static void *cc_thread(void *p)
{
	struct cc_arg *a = p;
	struct cc_shared *s = a->s;
	void *cur = TU_UNSET;
	uint64_t last = 0;

	flav_enter(s->f);
	pthread_barrier_wait(&s->bar);
	int rc = lfd_get(s->d, "counter", 7, &cur);
	TU_CHECK(&s->errs, rc == 0, "get counter -> %d", rc);
	for (long i = 0; i < s->incs; i++) {
		for (;;) {
			void *exp = cur;
			rc = lfd_cas(s->d, "counter", 7, exp, tu_v(tu_vid(exp) + 1),
				     &cur);
			if (rc == 0) {
				TU_CHECK(&s->errs, cur == exp,
					 "cas success: *current %p != expected %p",
					 cur, exp);
				/* the counter only grows */
				TU_CHECK(&s->errs, i == 0 || tu_vid(exp) >= last,
					 "counter went back: %" PRIu64
					 " after %" PRIu64,
					 tu_vid(exp), last);
				last = tu_vid(exp) + 1;
				cur = tu_v(last);
				break;
			}
			if (rc != -EAGAIN) {
				tu_err(&s->errs, "cas -> %d", rc);
				goto out;
			}
			TU_CHECK(&s->errs, cur != exp,
				 "cas -EAGAIN but *current == expected %p", exp);
			a->retries++;
		}
	}
out:
	flav_leave(s->f);
	return NULL;
}

static void cas_counter(const struct flav *f, long incs)
{
	struct cc_shared *s = calloc(1, sizeof *s);
	struct cc_arg args[NTHREADS];
	double t0 = tu_now();

	ck_assert_ptr_nonnull(s);
	flav_enter(f);
	s->d = flav_new(f, NULL);
	s->f = f;
	s->incs = incs;
	/* the counter starts at 0: the NULL value */
	ck_assert_int_eq(lfd_insert(s->d, "counter", 7, tu_v(0), NULL), 0);
	/* other keys around it, so that resizes happen meanwhile */
	for (uint64_t i = 0; i < 1000; i++)
		ck_assert_int_eq(lfd_insert(s->d, &i, sizeof i, NULL, NULL), 0);
	pthread_barrier_init(&s->bar, NULL, NTHREADS);
	for (int t = 0; t < NTHREADS; t++)
		args[t] = (struct cc_arg){ s, 0 };
	run_threads(NTHREADS, cc_thread, args, sizeof args[0]);
	pthread_barrier_destroy(&s->bar);
	tu_assert_no_errs(&s->errs);

	void *v = TU_UNSET;
	ck_assert_int_eq(lfd_get(s->d, "counter", 7, &v), 0);
	long retries = 0;
	for (int t = 0; t < NTHREADS; t++)
		retries += args[t].retries;
	ck_assert_msg(tu_vid(v) == (uint64_t)incs * NTHREADS,
		      "counter %" PRIu64 ", want %ld: updates lost",
		      tu_vid(v), incs * NTHREADS);
	ck_assert_int_eq(lfd_destroy(s->d), 0);
	flav_leave(f);
	TU_LOG("  cas_counter (%s): %d threads x %ld increments = %" PRIu64
	       ", %ld retries (-EAGAIN), %.2f s\n",
	       f->name, NTHREADS, incs, tu_vid(v), retries, tu_now() - t0);
	free(s);
}

START_TEST(test_cas_counter)
{
	cas_counter(&flav_bp, 100000);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 4. publication                                                      */

struct pub {
	uint64_t a;
	uint32_t b[7];
	char s[40];
	double c;
	void *self;
	uint64_t sum;
};

static void pub_fill(struct pub *p, uint64_t i)
{
	p->a = i * 0x9e3779b97f4a7c15ull;
	for (int j = 0; j < 7; j++)
		p->b[j] = (uint32_t)(i * 31 + (uint64_t)j);
	snprintf(p->s, sizeof p->s, "published #%" PRIu64, i);
	p->c = (double)i * 0.5;
	p->self = p;
	p->sum = p->a ^ p->b[6] ^ (uint64_t)p->c;
}

static bool pub_ok(const struct pub *p, uint64_t i)
{
	char s[40];
	if (p->a != i * 0x9e3779b97f4a7c15ull || p->self != p)
		return false;
	for (int j = 0; j < 7; j++)
		if (p->b[j] != (uint32_t)(i * 31 + (uint64_t)j))
			return false;
	snprintf(s, sizeof s, "published #%" PRIu64, i);
	return strcmp(s, p->s) == 0 && p->c == (double)i * 0.5 &&
	       p->sum == (p->a ^ p->b[6] ^ (uint64_t)p->c);
}

struct pub_shared {
	struct lfd *d;
	pthread_barrier_t bar;
	uint64_t n;
	struct tu_errs errs;
};

struct pub_arg {
	struct pub_shared *s;
	int t; /* 0: the writer */
	long spins;
};

static void *pub_thread(void *p)
{
	struct pub_arg *a = p;
	struct pub_shared *s = a->s;

	pthread_barrier_wait(&s->bar);
	if (a->t == 0) {
		for (uint64_t i = 0; i < s->n; i++) {
			struct pub *o = malloc(sizeof *o);
			if (!o) {
				tu_err(&s->errs, "malloc");
				return NULL;
			}
			pub_fill(o, i);
			int rc = lfd_insert(s->d, &i, sizeof i, o, NULL);
			TU_CHECK(&s->errs, rc == 0, "insert %" PRIu64 " -> %d", i,
				 rc);
		}
		return NULL;
	}
	/* readers: follow the writer, each from its own offset */
	uint64_t start = (uint64_t)(a->t - 1) * 37;
	for (uint64_t n = 0; n < s->n; n++) {
		uint64_t i = (start + n) % s->n;
		void *v = NULL;
		while (lfd_get(s->d, &i, sizeof i, &v) != 0) {
			a->spins++;
			sched_yield(); /* let the writer run on 2 cores */
		}
		if (!pub_ok(v, i)) {
			tu_err(&s->errs, "object %" PRIu64 " not fully "
					 "initialized when got",
			       i);
			return NULL;
		}
	}
	return NULL;
}

static void free_value(void *value, void *arg)
{
	(void)arg;
	free(value);
}

START_TEST(test_publication)
{
	enum { READERS = 3 };
	struct pub_shared *s = calloc(1, sizeof *s);
	struct pub_arg args[READERS + 1];
	struct lfd_config c;
	double t0 = tu_now();

	ck_assert_ptr_nonnull(s);
	tu_cfg_init(&c);
	c.value_free = free_value;
	s->d = lfd_new(&c);
	ck_assert_ptr_nonnull(s->d);
	s->n = 100000;
	pthread_barrier_init(&s->bar, NULL, READERS + 1);
	for (int t = 0; t <= READERS; t++)
		args[t] = (struct pub_arg){ s, t, 0 };
	run_threads(READERS + 1, pub_thread, args, sizeof args[0]);
	pthread_barrier_destroy(&s->bar);
	tu_assert_no_errs(&s->errs);
	long spins = 0;
	for (int t = 1; t <= READERS; t++)
		spins += args[t].spins;
	ck_assert_int_eq(lfd_destroy(s->d), 0);
	TU_LOG("  publication: %" PRIu64 " objects, %d readers checked every "
	       "field of each, %ld empty gets while waiting, %.2f s\n",
	       s->n, READERS, spins, tu_now() - t0);
	free(s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 5. 1000 short-lived threads                                         */

struct sl_arg {
	struct lfd *d;
	uint64_t base;
	int n;
	struct tu_errs *errs;
};

static void *sl_thread(void *p)
{
	struct sl_arg *a = p;
	for (int j = 0; j < a->n; j++) {
		uint64_t key = a->base + (uint64_t)j;
		int rc = lfd_insert(a->d, &key, sizeof key, tu_v(key + 1), NULL);
		TU_CHECK(a->errs, rc == 0, "insert %" PRIu64 " -> %d", key, rc);
	}
	for (int j = 0; j < a->n; j += 10) {
		uint64_t key = a->base + (uint64_t)j;
		void *v = NULL;
		int rc = lfd_get(a->d, &key, sizeof key, &v);
		TU_CHECK(a->errs, rc == 0 && v == tu_v(key + 1),
			 "get own %" PRIu64 " -> %d", key, rc);
	}
	return NULL;
}

START_TEST(test_short_lived_threads)
{
	enum { THREADS = 1000, WAVE = 50, PER = 1000 };
	struct tu_errs errs;
	struct sl_arg args[WAVE];
	double t0 = tu_now();

	memset(&errs, 0, sizeof errs);
	struct lfd *d = tu_new_default();
	ck_assert_ptr_nonnull(d);
	for (int w = 0; w < THREADS / WAVE; w++) {
		for (int i = 0; i < WAVE; i++)
			args[i] = (struct sl_arg){
				d, (uint64_t)(w * WAVE + i) * PER, PER, &errs
			};
		run_threads(WAVE, sl_thread, args, sizeof args[0]);
	}
	tu_assert_no_errs(&errs);
	size_t count = 0;
	ck_assert_int_eq(lfd_count(d, &count), 0);
	ck_assert_uint_eq(count, (size_t)THREADS * PER);
	for (uint64_t key = 0; key < (uint64_t)THREADS * PER; key++) {
		void *v = NULL;
		int rc = lfd_get(d, &key, sizeof key, &v);
		if (rc != 0 || v != tu_v(key + 1))
			ck_abort_msg("key %" PRIu64 " -> %d %p", key, rc, v);
	}
	ck_assert_int_eq(lfd_barrier(d), 0);
	tu_assert_converged(d, "after 1000 threads");
	ck_assert_int_eq(lfd_destroy(d), 0);
	TU_LOG("  short_lived_threads: %d threads in waves of %d, %d keys each: "
	       "count %zu, all present, %.2f s\n",
	       THREADS, WAVE, PER, count, tu_now() - t0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 6. foreach under concurrent updates and resizes                     */

/* 8-byte keys: group in the high 32 bits, id in the low ones. */
enum { G_STABLE = 1, G_SETS = 2, G_VOLATILE = 3 };
enum { FE_STABLE = 2000, FE_SETS = 500, FE_VOLATILE = 80000,
       FE_CHURNERS = 2, FE_SETTERS = 1, FE_WALKERS = 3, FE_CYCLES = 4 };

static uint64_t fe_key(uint64_t group, uint64_t id)
{
	return group << 32 | id;
}

struct fe_shared {
	struct lfd *d;
	pthread_barrier_t bar;
	pthread_barrier_t churn_bar; /* the churners only */
	atomic_int churners_left;
	struct tu_errs errs;
};

struct fe_walker {
	struct fe_shared *s;
	int t;
	uint32_t walk; /* current walk number, from 1 */
	uint32_t *seen[4]; /* per group: walk number of the last visit */
	size_t stable_visits, sets_visits, visits;
	long walks, walks_in_resize, max_visits;
};

static int fe_visit(void *arg, const void *key, size_t len, void *value)
{
	struct fe_walker *w = arg;
	struct fe_shared *s = w->s;
	uint64_t k;

	w->visits++;
	if (len != sizeof k) {
		tu_err(&s->errs, "walker %d: key of %zu bytes", w->t, len);
		return 0;
	}
	memcpy(&k, key, sizeof k);
	uint64_t group = k >> 32, id = k & 0xffffffffu;
	static const uint64_t sizes[4] = { 0, FE_STABLE, FE_SETS, FE_VOLATILE };
	if (group < 1 || group > 3 || id >= sizes[group]) {
		tu_err(&s->errs, "walker %d: foreign key %#" PRIx64, w->t, k);
		return 0;
	}
	if (w->seen[group][id] == w->walk) {
		tu_err(&s->errs, "walker %d: key %#" PRIx64 " visited twice in "
				 "walk %u",
		       w->t, k, w->walk);
		return 0;
	}
	w->seen[group][id] = w->walk;
	switch (group) {
	case G_STABLE:
		w->stable_visits++;
		TU_CHECK(&s->errs, value == tu_v(k + 1),
			 "walker %d: stable key %#" PRIx64 " value %p", w->t, k,
			 value);
		break;
	case G_SETS:
		w->sets_visits++;
		/* values of key k are (k << 16 | version) */
		TU_CHECK(&s->errs, tu_vid(value) >> 16 == k,
			 "walker %d: key %#" PRIx64 " reported value %p it "
			 "never held",
			 w->t, k, value);
		break;
	default:
		TU_CHECK(&s->errs, value == tu_v(k + 1),
			 "walker %d: volatile key %#" PRIx64 " value %p", w->t,
			 k, value);
		break;
	}
	return 0;
}

static void *fe_walker_thread(void *p)
{
	struct fe_walker *w = p;
	struct fe_shared *s = w->s;

	pthread_barrier_wait(&s->bar);
	/* walk while the churners run, at least a few times */
	while (atomic_load(&s->churners_left) > 0 || w->walks < 3) {
		struct lfd_stats a, b;
		lfd_stats(s->d, &a);
		w->walk++;
		w->stable_visits = w->sets_visits = w->visits = 0;
		int rc = lfd_foreach(s->d, fe_visit, w);
		lfd_stats(s->d, &b);
		w->walks++;
		if (a.grows != b.grows || a.shrinks != b.shrinks || a.resizing ||
		    b.resizing)
			w->walks_in_resize++;
		if ((long)w->visits > w->max_visits)
			w->max_visits = (long)w->visits;
		TU_CHECK(&s->errs, rc == 0, "walker %d: foreach -> %d", w->t, rc);
		TU_CHECK(&s->errs,
			 w->stable_visits == FE_STABLE &&
				 w->sets_visits == FE_SETS,
			 "walker %d walk %u: %zu of %d stable keys and %zu of %d "
			 "set keys visited",
			 w->t, w->walk, w->stable_visits, FE_STABLE,
			 w->sets_visits, FE_SETS);
	}
	return NULL;
}

struct fe_churner {
	struct fe_shared *s;
	int t;
	long ops;
};

/* After each fill or drain, have the resize it asks for run to its end
 * (lfd_barrier) while the walkers walk. */
static void fe_settle(struct fe_churner *c)
{
	pthread_barrier_wait(&c->s->churn_bar);
	if (c->t == 0) {
		int rc = lfd_barrier(c->s->d);
		TU_CHECK(&c->s->errs, rc == 0, "lfd_barrier -> %d", rc);
	}
}

static void *fe_churner_thread(void *p)
{
	struct fe_churner *c = p;
	struct fe_shared *s = c->s;

	pthread_barrier_wait(&s->bar);
	for (int cycle = 0; cycle < FE_CYCLES; cycle++) {
		for (uint64_t id = (uint64_t)c->t; id < FE_VOLATILE;
		     id += FE_CHURNERS) {
			uint64_t k = fe_key(G_VOLATILE, id);
			int rc = lfd_insert(s->d, &k, sizeof k, tu_v(k + 1), NULL);
			TU_CHECK(&s->errs, rc == 0, "churn insert -> %d", rc);
			c->ops++;
		}
		fe_settle(c);
		for (uint64_t id = (uint64_t)c->t; id < FE_VOLATILE;
		     id += FE_CHURNERS) {
			uint64_t k = fe_key(G_VOLATILE, id);
			int rc = lfd_pop(s->d, &k, sizeof k, NULL);
			TU_CHECK(&s->errs, rc == 0, "churn pop -> %d", rc);
			c->ops++;
		}
		fe_settle(c);
	}
	atomic_fetch_sub(&s->churners_left, 1);
	return NULL;
}

static void *fe_setter_thread(void *p)
{
	struct fe_churner *c = p;
	struct fe_shared *s = c->s;
	uint64_t version = 1;

	pthread_barrier_wait(&s->bar);
	while (atomic_load(&s->churners_left) > 0) {
		for (uint64_t id = 0; id < FE_SETS; id++) {
			uint64_t k = fe_key(G_SETS, id);
			int rc = lfd_set(s->d, &k, sizeof k,
					 tu_v(k << 16 | (version & 0xffff)), NULL);
			TU_CHECK(&s->errs, rc == 1, "set -> %d", rc);
			c->ops++;
		}
		version++;
	}
	return NULL;
}

START_TEST(test_foreach_concurrent)
{
	struct fe_shared *s = calloc(1, sizeof *s);
	struct fe_walker walkers[FE_WALKERS];
	struct fe_churner churners[FE_CHURNERS + FE_SETTERS];
	pthread_t th[FE_WALKERS + FE_CHURNERS + FE_SETTERS];
	int nth = 0;
	double t0 = tu_now();

	ck_assert_ptr_nonnull(s);
	s->d = tu_new_default();
	ck_assert_ptr_nonnull(s->d);
	for (uint64_t id = 0; id < FE_STABLE; id++) {
		uint64_t k = fe_key(G_STABLE, id);
		ck_assert_int_eq(lfd_insert(s->d, &k, sizeof k, tu_v(k + 1), NULL),
				 0);
	}
	for (uint64_t id = 0; id < FE_SETS; id++) {
		uint64_t k = fe_key(G_SETS, id);
		ck_assert_int_eq(lfd_insert(s->d, &k, sizeof k, tu_v(k << 16),
					    NULL),
				 0);
	}
	struct lfd_stats st0 = tu_stats(s->d);
	atomic_store(&s->churners_left, FE_CHURNERS);
	pthread_barrier_init(&s->bar, NULL,
			     FE_WALKERS + FE_CHURNERS + FE_SETTERS);
	pthread_barrier_init(&s->churn_bar, NULL, FE_CHURNERS);
	for (int t = 0; t < FE_WALKERS; t++) {
		memset(&walkers[t], 0, sizeof walkers[t]);
		walkers[t].s = s;
		walkers[t].t = t;
		walkers[t].seen[G_STABLE] = calloc(FE_STABLE, sizeof(uint32_t));
		walkers[t].seen[G_SETS] = calloc(FE_SETS, sizeof(uint32_t));
		walkers[t].seen[G_VOLATILE] =
			calloc(FE_VOLATILE, sizeof(uint32_t));
		for (int g = 1; g <= 3; g++)
			ck_assert_ptr_nonnull(walkers[t].seen[g]);
		tu_spawn(&th[nth++], fe_walker_thread, &walkers[t]);
	}
	for (int t = 0; t < FE_CHURNERS + FE_SETTERS; t++) {
		churners[t] = (struct fe_churner){ s, t, 0 };
		tu_spawn(&th[nth++],
			 t < FE_CHURNERS ? fe_churner_thread : fe_setter_thread,
			 &churners[t]);
	}
	for (int i = 0; i < nth; i++)
		tu_join(th[i]);
	pthread_barrier_destroy(&s->bar);
	pthread_barrier_destroy(&s->churn_bar);
	tu_assert_no_errs(&s->errs);

	struct lfd_stats st = tu_stats(s->d);
	long walks = 0, in_resize = 0, max_visits = 0, ops = 0;
	for (int t = 0; t < FE_WALKERS; t++) {
		walks += walkers[t].walks;
		in_resize += walkers[t].walks_in_resize;
		if (walkers[t].max_visits > max_visits)
			max_visits = walkers[t].max_visits;
		for (int g = 1; g <= 3; g++)
			free(walkers[t].seen[g]);
	}
	for (int t = 0; t < FE_CHURNERS + FE_SETTERS; t++)
		ops += churners[t].ops;
	ck_assert_msg(st.grows > st0.grows && st.shrinks > st0.shrinks,
		      "the churn caused no resize (grows %" PRIu64
		      " -> %" PRIu64 ", shrinks %" PRIu64 " -> %" PRIu64 ")",
		      st0.grows, st.grows, st0.shrinks, st.shrinks);
	ck_assert_msg(in_resize > 0, "no walk overlapped a resize (%ld walks)",
		      walks);
	size_t count = 0;
	ck_assert_int_eq(lfd_count(s->d, &count), 0);
	ck_assert_uint_eq(count, FE_STABLE + FE_SETS);
	ck_assert_int_eq(lfd_destroy(s->d), 0);
	TU_LOG("  foreach_concurrent: %ld walks (%ld overlapping a resize, up "
	       "to %ld entries), %ld concurrent updates, grows %" PRIu64
	       " shrinks %" PRIu64 ", %.2f s\n",
	       walks, in_resize, max_visits, ops, st.grows - st0.grows,
	       st.shrinks - st0.shrinks, tu_now() - t0);
	free(s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 7. lfd_count under concurrent updates                               */

enum { CN_UPDATERS = 4, CN_KEYS = 5000, CN_OPS = 150000, CN_READERS = 2 };

struct cn_shared {
	struct lfd *d;
	pthread_barrier_t bar;
	/* updaters: started++; call; net +/-= 1; finished++ */
	atomic_long started, finished, net;
	atomic_int updaters_left;
	struct tu_errs errs;
};

struct cn_arg {
	struct cn_shared *s;
	int t;
	long reads, max_dev, max_window;
	size_t present;
};

static void *cn_updater(void *p)
{
	struct cn_arg *a = p;
	struct cn_shared *s = a->s;
	struct tu_rng r;
	unsigned char *pres = calloc(CN_KEYS, 1);

	tu_rng_init(&r, 900 + (uint64_t)a->t);
	pthread_barrier_wait(&s->bar);
	for (long op = 0; op < CN_OPS && pres; op++) {
		uint64_t id = tu_rng_below(&r, CN_KEYS);
		uint64_t key = (uint64_t)a->t << 32 | id;
		atomic_fetch_add(&s->started, 1);
		if (pres[id]) {
			int rc = lfd_pop(s->d, &key, sizeof key, NULL);
			TU_CHECK(&s->errs, rc == 0, "pop -> %d", rc);
			atomic_fetch_sub(&s->net, 1);
			pres[id] = 0;
		} else {
			int rc = lfd_insert(s->d, &key, sizeof key, NULL, NULL);
			TU_CHECK(&s->errs, rc == 0, "insert -> %d", rc);
			atomic_fetch_add(&s->net, 1);
			pres[id] = 1;
		}
		atomic_fetch_add(&s->finished, 1);
	}
	for (size_t id = 0; pres && id < CN_KEYS; id++)
		a->present += pres[id];
	free(pres);
	atomic_fetch_sub(&s->updaters_left, 1);
	return NULL;
}

static void *cn_reader(void *p)
{
	struct cn_arg *a = p;
	struct cn_shared *s = a->s;

	pthread_barrier_wait(&s->bar);
	while (atomic_load(&s->updaters_left) > 0) {
		long f_before = atomic_load(&s->finished);
		long n_before = atomic_load(&s->net);
		size_t count = (size_t)-1;
		int rc = lfd_count(s->d, &count);
		long s_after = atomic_load(&s->started);
		/* W: updates in flight at some point of [f_before, s_after];
		 * |count - entries at the call's start| <= W (documented), and
		 * |entries at the call's start - n_before| <= W */
		long window = s_after - f_before;
		long dev = (long)count - n_before;
		if (dev < 0)
			dev = -dev;
		TU_CHECK(&s->errs, rc == 0, "count -> %d", rc);
		TU_CHECK(&s->errs,
			 count <= (size_t)CN_UPDATERS * CN_KEYS + (size_t)window,
			 "count %zu impossible (negative?)", count);
		TU_CHECK(&s->errs, dev <= 2 * window,
			 "count %zu, net entries %ld before it, but only %ld "
			 "updates in flight",
			 count, n_before, window);
		a->reads++;
		if (dev > a->max_dev)
			a->max_dev = dev;
		if (window > a->max_window)
			a->max_window = window;
		/* stats.count is lfd_count's value: the same bound */
		struct lfd_stats st;
		f_before = atomic_load(&s->finished);
		n_before = atomic_load(&s->net);
		rc = lfd_stats(s->d, &st);
		s_after = atomic_load(&s->started);
		window = s_after - f_before;
		dev = (long)st.count - n_before;
		if (dev < 0)
			dev = -dev;
		TU_CHECK(&s->errs, rc == 0 && dev <= 2 * window,
			 "stats.count %zu, net entries %ld, %ld updates in "
			 "flight",
			 st.count, n_before, window);
	}
	return NULL;
}

START_TEST(test_count_concurrent)
{
	struct cn_shared *s = calloc(1, sizeof *s);
	struct cn_arg args[CN_UPDATERS + CN_READERS];
	pthread_t th[CN_UPDATERS + CN_READERS];
	double t0 = tu_now();

	ck_assert_ptr_nonnull(s);
	s->d = tu_new_default();
	ck_assert_ptr_nonnull(s->d);
	atomic_store(&s->updaters_left, CN_UPDATERS);
	pthread_barrier_init(&s->bar, NULL, CN_UPDATERS + CN_READERS);
	for (int t = 0; t < CN_UPDATERS + CN_READERS; t++) {
		memset(&args[t], 0, sizeof args[t]);
		args[t].s = s;
		args[t].t = t;
		tu_spawn(&th[t], t < CN_UPDATERS ? cn_updater : cn_reader,
			 &args[t]);
	}
	for (int t = 0; t < CN_UPDATERS + CN_READERS; t++)
		tu_join(th[t]);
	pthread_barrier_destroy(&s->bar);
	tu_assert_no_errs(&s->errs);

	size_t want = 0, count = 0;
	for (int t = 0; t < CN_UPDATERS; t++)
		want += args[t].present;
	ck_assert_uint_eq(want, (size_t)atomic_load(&s->net));
	ck_assert_int_eq(lfd_count(s->d, &count), 0);
	ck_assert_msg(count == want, "count at quiescence %zu, want %zu", count,
		      want);
	struct lfd_stats st = tu_stats(s->d);
	ck_assert_uint_eq(st.count, want);
	long reads = 0, max_dev = 0, max_window = 0;
	for (int t = CN_UPDATERS; t < CN_UPDATERS + CN_READERS; t++) {
		reads += args[t].reads;
		if (args[t].max_dev > max_dev)
			max_dev = args[t].max_dev;
		if (args[t].max_window > max_window)
			max_window = args[t].max_window;
	}
	ck_assert_msg(reads > 0, "no concurrent lfd_count call");
	ck_assert_int_eq(lfd_destroy(s->d), 0);
	TU_LOG("  count_concurrent: %d updaters x %d updates, %ld concurrent "
	       "counts, max |count - net| %ld (max in flight %ld); final %zu "
	       "exact, %.2f s\n",
	       CN_UPDATERS, CN_OPS, reads, max_dev, max_window, count,
	       tu_now() - t0);
	free(s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 9. reclamation keeps up with 256 updaters on 2 cores                 */

/* The RCU callback thread is one thread among hundreds and grace periods
 * take seconds when readers are preempted inside their sections; before
 * the backlog bound, popped entries piled up at millions per second (the
 * hour-long torture was OOM-killed at 24 GB).  The bound: updates pause
 * while more than about 1M + count items wait (reclaim.c), so the backlog
 * stays near that and nothing is lost. */
enum { BL_THREADS = 256, BL_KEYS = 4096 };
#define BL_LIMIT (3L << 20) /* three times the library's bound */

struct bl_shared {
	struct lfd *d;
	atomic_int stop;
	atomic_long departed; /* values that left: pops and overwrites */
	atomic_long dtor_calls;
	struct tu_errs errs;
};

struct bl_arg {
	struct bl_shared *s;
	uint64_t t;
};

/* A light counting allocator: tu_alloc's header checks and four seq_cst
 * counters would slow the updaters down more than the test is about. */
static atomic_long bl_live;

static void *bl_alloc(size_t size, void *arg)
{
	void *p = malloc(size);

	(void)arg;
	if (p != NULL)
		atomic_fetch_add_explicit(&bl_live, 1, memory_order_relaxed);
	return p;
}

static void bl_free(void *p, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	atomic_fetch_sub_explicit(&bl_live, 1, memory_order_relaxed);
	free(p);
}

static void bl_dtor(void *value, void *arg)
{
	struct bl_shared *s = arg;

	(void)value;
	atomic_fetch_add_explicit(&s->dtor_calls, 1, memory_order_relaxed);
}

static void *bl_thread(void *p)
{
	struct bl_arg *a = p;
	uint64_t x = a->t * 0x9e3779b97f4a7c15ull + 1, n = 0;
	long departed = 0;

	while (!atomic_load_explicit(&a->s->stop, memory_order_relaxed)) {
		uint64_t k;
		void *old;
		int r;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = (x >> 20) % BL_KEYS;
		if (x >> 63) {
			/* unique values: every overwrite is a departure */
			void *v = (void *)(uintptr_t)((a->t << 40) | ++n);

			r = lfd_set(a->s->d, &k, sizeof k, v, &old);
			if (r == 1)
				departed++;
			else if (r != 0)
				tu_err(&a->s->errs, "set: %s", lfd_strerror(r));
		} else {
			r = lfd_pop(a->s->d, &k, sizeof k, &old);
			if (r == 0)
				departed++;
			else if (r != -ENOENT)
				tu_err(&a->s->errs, "pop: %s", lfd_strerror(r));
		}
	}
	atomic_fetch_add(&a->s->departed, departed);
	return NULL;
}

START_TEST(test_backlog_bounded)
{
	static struct bl_arg args[BL_THREADS];
	static pthread_t th[BL_THREADS];
	struct bl_shared s;
	struct lfd_config c;
	struct lfd_stats st;
	long peak = 0;
	size_t n;

	memset(&s, 0, sizeof s);
	tu_cfg_init(&c);
	c.alloc = bl_alloc;
	c.free = bl_free;
	c.value_free = bl_dtor;
	c.value_free_arg = &s;
	s.d = lfd_new(&c);
	ck_assert_ptr_nonnull(s.d);
	for (int i = 0; i < BL_THREADS; i++) {
		args[i].s = &s;
		args[i].t = (uint64_t)i + 1;
		tu_spawn(&th[i], bl_thread, &args[i]);
	}
	/* Sample for 3 s (the duration of the load, not a wait for a
	 * result): the backlog is everything allocated that is not a
	 * present entry. */
	for (int i = 0; i < 150; i++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		long b;

		nanosleep(&ts, NULL);
		ck_assert_int_eq(lfd_count(s.d, &n), 0);
		b = atomic_load(&bl_live) - (long)n;
		if (b > peak)
			peak = b;
	}
	atomic_store(&s.stop, 1);
	for (int i = 0; i < BL_THREADS; i++)
		tu_join(th[i]);
	tu_assert_no_errs(&s.errs);
	ck_assert_int_eq(lfd_stats(s.d, &st), 0);
	printf("  backlog: peak %ld items with %d updaters (bound %ld), "
	       "%" PRIu64 " paused updates, %ld departures\n",
	       peak, BL_THREADS, BL_LIMIT, st.throttled,
	       atomic_load(&s.departed));
	ck_assert_msg(peak <= BL_LIMIT,
		      "reclamation fell behind: %ld items waiting", peak);
	ck_assert_int_eq(lfd_barrier(s.d), 0);
	ck_assert_int_eq(lfd_stats(s.d, &st), 0);
	ck_assert_msg(st.backlog == 0, "backlog %zu after lfd_barrier",
		      st.backlog);
	ck_assert_int_eq(atomic_load(&s.dtor_calls), atomic_load(&s.departed));
	ck_assert_int_eq(lfd_count(s.d, &n), 0);
	ck_assert_int_eq(lfd_destroy(s.d), 0);
	ck_assert_int_eq(atomic_load(&s.dtor_calls),
			 atomic_load(&s.departed) + (long)n);
	ck_assert_int_eq(atomic_load(&bl_live), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 8. the same with urcu-memb                                          */

#ifndef LFD_TEST_RCU_PTHREAD /* liburcu is not instrumented for TSan */

START_TEST(test_insert_race_memb)
{
	insert_race(&flav_memb, 3000);
}
END_TEST

START_TEST(test_cas_counter_memb)
{
	cas_counter(&flav_memb, 60000);
}
END_TEST
#endif

static Suite *races_suite(void)
{
	Suite *s = suite_create("lfdict-races");
	TCase *tc = tcase_create("races");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_insert_race);
	tcase_add_test(tc, test_pop_race);
	tcase_add_test(tc, test_cas_counter);
	tcase_add_test(tc, test_publication);
	tcase_add_test(tc, test_short_lived_threads);
	tcase_add_test(tc, test_foreach_concurrent);
	tcase_add_test(tc, test_count_concurrent);
	tcase_add_test(tc, test_backlog_bounded);
#ifndef LFD_TEST_RCU_PTHREAD
	tcase_add_test(tc, test_insert_race_memb);
	tcase_add_test(tc, test_cas_counter_memb);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(races_suite(), "test_races");
}
