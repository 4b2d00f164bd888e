/*
 * test_update.c - lfd_update, lfd_get_or_create and lfd_cad against their
 * contracts in <lfdict.h>:
 *   1. every decision of lfd_update on a present and an absent key, what fn
 *      is shown, the return, the value destructor's calls; fn's errors and
 *      bad decisions; bad input (fn not called, nothing changed);
 *      a neighbouring key linked or unlinked between fn's look-up and
 *      the store is not a lost try (fn called once), the key itself is;
 *   2. out of memory while storing: -ENOMEM, nothing changed, the value fn
 *      built handed to discard exactly once;
 *   3. lfd_get_or_create and lfd_cad, single-threaded, every return;
 *   4. races (8 threads on 2 cores, behind a barrier): an lfd_update counter
 *      loses no increment, with lost tries counted (the race must happen);
 *      copy-on-write boxes built by fn are each freed exactly once, by
 *      discard (lost tries) or by the value destructor (stored), none leaked;
 *      lfd_get_or_create on fresh keys publishes one value per key, every
 *      caller gets it, losers' values are discarded, create runs at most
 *      once per call, and rounds with several creators are seen;
 *      lfd_cad against a racing set: both outcomes seen, each consistent.
 * The ordering claims are litmus tests (tests/litmus/: lit_mp_update,
 * lit_mp_goc).
 *
 * SPDX-License-Identifier: MIT
 */
#include "testutil.h" /* first: it sets _GNU_SOURCE */
#include "sohash.h"

enum { NTHREADS = 8 };

static size_t count_of(struct lfd *d)
{
	size_t c = (size_t)-1;
	ck_assert_int_eq(lfd_count(d, &c), 0);
	return c;
}

/* ------------------------------------------------------------------ */
/* 1. decisions, single-threaded                                       */

/* A scripted fn: returns `verdict` with `desired`, records what it saw. */
struct script {
	int verdict;
	void *desired;
	int calls;
	int present;
	void *current;
	const void *key;
	size_t len;
	int discards;
	void *discarded;
};

static int script_fn(void *arg, const void *key, size_t len, int present,
		     void *current, void **desired)
{
	struct script *s = arg;
	s->calls++;
	s->present = present;
	s->current = current;
	s->key = key;
	s->len = len;
	if (s->verdict == LFD_STORE)
		*desired = s->desired;
	return s->verdict;
}

static void script_discard(void *arg, void *value)
{
	struct script *s = arg;
	s->discards++;
	s->discarded = value;
}

static int run(struct lfd *d, const char *k, struct script *s, int verdict,
	       void *desired)
{
	s->verdict = verdict;
	s->desired = desired;
	s->calls = 0;
	s->discards = 0;
	s->present = -1;
	s->current = TU_UNSET;
	return lfd_update(d, k, strlen(k), script_fn, script_discard, s);
}

/* A dictionary with the counting allocator and the counting destructor
 * (values tu_v(1..15)). */
static struct lfd *open_counted(struct tu_alloc *al, struct tu_dtor *dt)
{
	struct lfd_config cfg;

	tu_cfg_init(&cfg);
	tu_alloc_init(al);
	tu_alloc_install(al, &cfg);
	tu_dtor_init(dt, 16);
	tu_dtor_install(dt, &cfg);
	return lfd_new(&cfg);
}

START_TEST(test_update_decisions)
{
	struct tu_alloc al;
	struct tu_dtor dt;
	struct script s;
	void *v = NULL;
	struct lfd *d = open_counted(&al, &dt);
	ck_assert_ptr_nonnull(d);

	/* absent: keep and remove change nothing; fn saw absence */
	ck_assert_int_eq(run(d, "k", &s, LFD_KEEP, NULL), LFD_KEPT);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_int_eq(s.present, 0);
	ck_assert_ptr_null(s.current);
	ck_assert_int_eq(s.len, 1);
	ck_assert_int_eq(memcmp(s.key, "k", 1), 0);
	ck_assert_int_eq(run(d, "k", &s, LFD_REMOVE, NULL), LFD_KEPT);
	ck_assert_int_eq(lfd_get(d, "k", 1, &v), -ENOENT);
	ck_assert_uint_eq(count_of(d), 0);
	/* absent + store: inserted */
	ck_assert_int_eq(run(d, "k", &s, LFD_STORE, tu_v(1)), LFD_INSERTED);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_int_eq(s.discards, 0);
	ck_assert_int_eq(lfd_get(d, "k", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(1));
	ck_assert_uint_eq(count_of(d), 1);
	/* present + keep: fn saw the value; nothing changed */
	ck_assert_int_eq(run(d, "k", &s, LFD_KEEP, NULL), LFD_KEPT);
	ck_assert_int_eq(s.present, 1);
	ck_assert_ptr_eq(s.current, tu_v(1));
	/* present + store: replaced; the old value is destroyed once */
	ck_assert_int_eq(run(d, "k", &s, LFD_STORE, tu_v(2)), LFD_REPLACED);
	ck_assert_ptr_eq(s.current, tu_v(1));
	ck_assert_int_eq(lfd_get(d, "k", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(2));
	/* storing the present value itself: replaced, nothing departs */
	ck_assert_int_eq(run(d, "k", &s, LFD_STORE, tu_v(2)), LFD_REPLACED);
	ck_assert_int_eq(lfd_barrier(d), 0);
	ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(1)), 1);
	ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(2)), 0);
	/* present + remove: removed, destroyed once, count drops */
	ck_assert_int_eq(run(d, "k", &s, LFD_REMOVE, NULL), LFD_REMOVED);
	ck_assert_ptr_eq(s.current, tu_v(2));
	ck_assert_int_eq(lfd_get(d, "k", 1, &v), -ENOENT);
	ck_assert_uint_eq(count_of(d), 0);
	ck_assert_int_eq(lfd_barrier(d), 0);
	ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(2)), 1);
	/* NULL is a value */
	ck_assert_int_eq(run(d, "n", &s, LFD_STORE, NULL), LFD_INSERTED);
	ck_assert_int_eq(run(d, "n", &s, LFD_KEEP, NULL), LFD_KEPT);
	ck_assert_int_eq(s.present, 1);
	ck_assert_ptr_null(s.current);
	/* the empty key */
	s.verdict = LFD_KEEP;
	ck_assert_int_eq(lfd_update(d, NULL, 0, script_fn, NULL, &s), LFD_KEPT);
	ck_assert_int_eq(s.len, 0);

	/* fn gives up: its error, nothing changed, nothing discarded */
	ck_assert_int_eq(run(d, "n", &s, -EIO, NULL), -EIO);
	ck_assert_int_eq(s.discards, 0);
	ck_assert_int_eq(run(d, "x", &s, -EAGAIN, NULL), -EAGAIN);
	ck_assert_int_eq(s.calls, 1); /* fn's -EAGAIN is not a lost try */
	ck_assert_int_eq(lfd_get(d, "x", 1, &v), -ENOENT);
	/* a decision that is none of the three: -EINVAL, nothing changed */
	ck_assert_int_eq(run(d, "x", &s, 7, NULL), -EINVAL);
	ck_assert_int_eq(run(d, "n", &s, 7, NULL), -EINVAL);
	ck_assert_int_eq(lfd_get(d, "n", 1, &v), 0);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(count_of(d), 1);

	/* bad input: -EINVAL, fn not called */
	s.calls = 0;
	ck_assert_int_eq(lfd_update(NULL, "k", 1, script_fn, NULL, &s), -EINVAL);
	ck_assert_int_eq(lfd_update(d, NULL, 1, script_fn, NULL, &s), -EINVAL);
	ck_assert_int_eq(lfd_update(d, "k", LFD_KEY_MAX + 1, script_fn, NULL,
				    &s), -EINVAL);
	ck_assert_int_eq(lfd_update(d, "k", 1, NULL, NULL, &s), -EINVAL);
	ck_assert_int_eq(s.calls, 0);
	ck_assert_int_eq(lfd_cad(NULL, "k", 1, NULL, NULL), -EINVAL);
	ck_assert_int_eq(lfd_cad(d, NULL, 1, NULL, NULL), -EINVAL);

	ck_assert_int_eq(lfd_destroy(d), 0);
	ck_assert_int_eq(tu_dtor_calls(&dt, NULL), 1);
	ck_assert_int_eq(atomic_load(&dt.total), 3);
	tu_alloc_assert_clean(&al);
	tu_dtor_fini(&dt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 1b. a change next to the key is not a lost try                      */

/* "k" and "n" sort next to each other in bucket 0's chain at any size up
 * to 1,024 buckets (folds 0x00100000 and 0x00200000, sohash.h): with "n"
 * absent, "k"'s position is right after bucket node 0, where "n" links
 * too; with "n" present, "k"'s position is just before it. */
static uint64_t nb_hash(const void *key, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	return tu_hash_for_fold(*(const char *)key == 'k' ? 0x00100000u
							  : 0x00200000u);
}

/* fn for "k": on its first call, between the look-up and the store,
 * changes the list with `change` (insert or pop) of key `other`, as
 * another thread could; stores tu_v(1). */
struct nb {
	struct lfd *d;
	const char *other;
	int pop;	/* the change: pop `other` instead of inserting it */
	int calls, discards;
	int present[2];
	void *current[2];
	int changed;	/* the change's return */
};

static int nb_fn(void *arg, const void *key, size_t len, int present,
		 void *current, void **desired)
{
	struct nb *s = arg;

	(void)key;
	(void)len;
	if (s->calls < 2) {
		s->present[s->calls] = present;
		s->current[s->calls] = current;
	}
	if (s->calls++ == 0)
		s->changed = s->pop ? lfd_pop(s->d, s->other, 1, NULL)
				    : lfd_insert(s->d, s->other, 1, tu_v(9),
						 NULL);
	*desired = tu_v(1);
	return LFD_STORE;
}

static void nb_discard(void *arg, void *value)
{
	struct nb *s = arg;

	ck_assert_ptr_eq(value, tu_v(1));
	s->discards++;
}

static int nb_run(struct lfd *d, struct nb *s, const char *other, int pop)
{
	memset(s, 0, sizeof *s);
	s->d = d;
	s->other = other;
	s->pop = pop;
	return lfd_update(d, "k", 1, nb_fn, nb_discard, s);
}

START_TEST(test_update_neighbour)
{
	struct lfd_config cfg;
	struct lfd *d;
	struct nb s;
	void *v = NULL;

	tu_cfg_init(&cfg);
	cfg.hash = nb_hash;
	cfg.flags = LFD_FIXED_SIZE; /* no bucket node but node 0 near them */
	d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(d);

	/* A neighbour linked where "k" was to go (the link word fn's look-up
	 * read changes): "k" is still absent, so fn is not asked again. */
	ck_assert_int_eq(nb_run(d, &s, "n", 0), LFD_INSERTED);
	ck_assert_int_eq(s.changed, 0); /* the change happened */
	ck_assert_int_eq(s.calls, 1);
	ck_assert_int_eq(s.present[0], 0);
	ck_assert_int_eq(s.discards, 0);
	ck_assert_int_eq(lfd_get(d, "n", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(9));

	/* The neighbour unlinked ("k" absent again, "n" right after it). */
	ck_assert_int_eq(lfd_pop(d, "k", 1, NULL), 0);
	ck_assert_int_eq(nb_run(d, &s, "n", 1), LFD_INSERTED);
	ck_assert_int_eq(s.changed, 0);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_int_eq(lfd_get(d, "n", 1, &v), -ENOENT);

	/* The key itself inserted: the try is lost, fn is asked again on
	 * the new state, and its first value comes back. */
	ck_assert_int_eq(lfd_pop(d, "k", 1, NULL), 0);
	ck_assert_int_eq(nb_run(d, &s, "k", 0), LFD_REPLACED);
	ck_assert_int_eq(s.changed, 0);
	ck_assert_int_eq(s.calls, 2);
	ck_assert_int_eq(s.present[0], 0);
	ck_assert_int_eq(s.present[1], 1);
	ck_assert_ptr_eq(s.current[1], tu_v(9));
	ck_assert_int_eq(s.discards, 1);

	ck_assert_int_eq(lfd_get(d, "k", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(1));
	ck_assert_uint_eq(count_of(d), 1);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 2. out of memory while storing                                      */

START_TEST(test_update_enomem)
{
	struct tu_alloc al;
	struct tu_dtor dt;
	struct script s;
	void *v = NULL;
	struct lfd *d = open_counted(&al, &dt); /* a replace needs a
						   destructor record */
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(lfd_insert(d, "p", 1, tu_v(1), NULL), 0);

	atomic_store(&al.fail_all, 1);
	/* an insert whose entry cannot be allocated (a key too long for the
	 * slab: its own allocation) */
	char big[200];
	memset(big, 'b', sizeof big);
	s.verdict = LFD_STORE;
	s.desired = tu_v(3);
	s.calls = s.discards = 0;
	ck_assert_int_eq(lfd_update(d, big, sizeof big, script_fn,
				    script_discard, &s), -ENOMEM);
	ck_assert_int_eq(s.discards, 1);
	ck_assert_ptr_eq(s.discarded, tu_v(3));
	ck_assert_int_eq(lfd_get(d, big, sizeof big, &v), -ENOENT);
	/* a replace whose destructor record cannot be allocated */
	ck_assert_int_eq(run(d, "p", &s, LFD_STORE, tu_v(4)), -ENOMEM);
	ck_assert_int_eq(s.discards, 1);
	ck_assert_ptr_eq(s.discarded, tu_v(4));
	ck_assert_int_eq(lfd_get(d, "p", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(1));
	ck_assert_uint_eq(count_of(d), 1);
	tu_alloc_disarm(&al);

	ck_assert_int_eq(lfd_destroy(d), 0);
	ck_assert_int_eq(atomic_load(&dt.total), 1); /* tu_v(1) only */
	tu_alloc_assert_clean(&al);
	tu_dtor_fini(&dt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 3. get_or_create and cad, single-threaded                           */

struct maker {
	int creates;
	int discards;
	int fail; /* create returns this when non-zero */
	void *next;
	void *discarded;
	struct lfd *d; /* non-NULL: create inserts `rival` for the key itself,
			  as a racing caller that wins would */
	void *rival;
};

static int make_fn(void *arg, const void *key, size_t len, void **value)
{
	struct maker *m = arg;
	m->creates++;
	if (m->fail)
		return m->fail;
	if (m->d != NULL)
		ck_assert_int_eq(lfd_insert(m->d, key, len, m->rival, NULL), 0);
	*value = m->next;
	return 0;
}

static void make_discard(void *arg, void *value)
{
	struct maker *m = arg;
	m->discards++;
	m->discarded = value;
}

START_TEST(test_get_or_create_cad)
{
	struct tu_alloc al;
	struct lfd_config cfg;
	struct maker m = { 0 };
	void *v = TU_UNSET, *cur = TU_UNSET;

	tu_cfg_init(&cfg);
	tu_alloc_init(&al);
	tu_alloc_install(&al, &cfg);
	struct lfd *d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(d);

	m.next = tu_v(5);
	ck_assert_int_eq(lfd_get_or_create(d, "g", 1, make_fn, make_discard, &m,
					   &v), LFD_INSERTED);
	ck_assert_ptr_eq(v, tu_v(5));
	ck_assert_int_eq(m.creates, 1);
	m.next = tu_v(6);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get_or_create(d, "g", 1, make_fn, make_discard, &m,
					   &v), LFD_KEPT);
	ck_assert_ptr_eq(v, tu_v(5));
	ck_assert_int_eq(m.creates, 1); /* present: create not called */
	ck_assert_int_eq(m.discards, 0);
	/* a rival wins while create runs: its value returned, ours handed
	 * back, create not run again */
	m.d = d;
	m.rival = tu_v(7);
	m.creates = 0;
	ck_assert_int_eq(lfd_get_or_create(d, "r", 1, make_fn, make_discard, &m,
					   &v), LFD_KEPT);
	ck_assert_ptr_eq(v, tu_v(7));
	ck_assert_int_eq(m.creates, 1);
	ck_assert_int_eq(m.discards, 1);
	ck_assert_ptr_eq(m.discarded, tu_v(6));
	ck_assert_int_eq(lfd_pop(d, "r", 1, NULL), 0);
	m.d = NULL;
	m.discards = 0;
	/* create fails: its error, nothing inserted */
	m.fail = -EIO;
	ck_assert_int_eq(lfd_get_or_create(d, "h", 1, make_fn, make_discard, &m,
					   &v), -EIO);
	ck_assert_int_eq(lfd_get(d, "h", 1, &v), -ENOENT);
	m.fail = 0;
	/* out of memory: created value handed back, nothing inserted */
	atomic_store(&al.fail_all, 1);
	char big[200];
	memset(big, 'g', sizeof big);
	m.creates = 0;
	ck_assert_int_eq(lfd_get_or_create(d, big, sizeof big, make_fn,
					   make_discard, &m, &v), -ENOMEM);
	ck_assert_int_eq(m.creates, 1);
	ck_assert_int_eq(m.discards, 1);
	ck_assert_ptr_eq(m.discarded, tu_v(6));
	tu_alloc_disarm(&al);
	ck_assert_int_eq(lfd_get(d, big, sizeof big, &v), -ENOENT);
	/* bad input */
	m.creates = 0;
	ck_assert_int_eq(lfd_get_or_create(NULL, "g", 1, make_fn, NULL, &m, &v),
			 -EINVAL);
	ck_assert_int_eq(lfd_get_or_create(d, NULL, 1, make_fn, NULL, &m, &v),
			 -EINVAL);
	ck_assert_int_eq(lfd_get_or_create(d, "g", 1, NULL, NULL, &m, &v),
			 -EINVAL);
	ck_assert_int_eq(lfd_get_or_create(d, "g", 1, make_fn, NULL, &m, NULL),
			 -EINVAL);
	ck_assert_int_eq(m.creates, 0);

	/* cad: mismatch reports the value present; match removes */
	ck_assert_int_eq(lfd_cad(d, "g", 1, tu_v(9), &cur), -EAGAIN);
	ck_assert_ptr_eq(cur, tu_v(5));
	ck_assert_int_eq(lfd_cad(d, "g", 1, tu_v(9), NULL), -LFD_EMISMATCH);
	ck_assert_uint_eq(count_of(d), 1);
	cur = TU_UNSET;
	ck_assert_int_eq(lfd_cad(d, "g", 1, tu_v(5), &cur), 0);
	ck_assert_ptr_eq(cur, tu_v(5));
	ck_assert_uint_eq(count_of(d), 0);
	cur = TU_UNSET;
	ck_assert_int_eq(lfd_cad(d, "g", 1, tu_v(5), &cur), -ENOENT);
	ck_assert_ptr_eq(cur, TU_UNSET); /* written only on 0 and -EAGAIN */

	ck_assert_int_eq(lfd_destroy(d), 0);
	tu_alloc_assert_clean(&al);
}
END_TEST

/* ------------------------------------------------------------------ */
/* 4. races                                                            */

/* A copy-on-write counter box; `magic` catches a box freed twice. */
#define BOX_LIVE 0xb0c5b0c5u
#define BOX_DEAD 0xdeadb0c5u
struct box {
	unsigned magic;
	long n;
};

struct race {
	struct lfd *d;
	pthread_barrier_t bar;
	struct tu_errs errs;
	atomic_int stop;	/* set by the test thread: workers finish */
	atomic_long applied;	/* calls that stored (INSERTED, REPLACED) */
	atomic_long tries;	/* fn calls */
	atomic_long built;	/* boxes fn allocated */
	atomic_long discarded;	/* boxes handed back */
	atomic_long destroyed;	/* boxes the value destructor freed */
	atomic_long double_free;
	int (*fn)(void *, const void *, size_t, int, void *, void **);
	void (*discard)(void *, void *);
};

static void box_free(struct race *r, struct box *b, atomic_long *counter)
{
	if (b->magic != BOX_LIVE) {
		atomic_fetch_add(&r->double_free, 1);
		return;
	}
	b->magic = BOX_DEAD;
	atomic_fetch_add(counter, 1);
	free(b);
}

static void box_dtor(void *value, void *arg)
{
	struct race *r = arg;
	box_free(r, value, &r->destroyed);
}

static void box_discard(void *arg, void *value)
{
	struct race *r = arg;
	box_free(r, value, &r->discarded);
}

/* +1 on an integer counter (values are integers: nothing to hand back). */
static int inc_fn(void *arg, const void *key, size_t len, int present,
		  void *current, void **desired)
{
	struct race *r = arg;
	(void)key;
	(void)len;
	atomic_fetch_add_explicit(&r->tries, 1, memory_order_relaxed);
	*desired = tu_v((present ? tu_vid(current) : 0) + 1);
	return LFD_STORE;
}

/* +1 on a boxed counter: a new box each try, read from the present one
 * (valid: fn runs inside the call's read-side section). */
static int box_inc_fn(void *arg, const void *key, size_t len, int present,
		      void *current, void **desired)
{
	struct race *r = arg;
	struct box *b = malloc(sizeof *b);
	(void)key;
	(void)len;
	if (b == NULL)
		return -ENOMEM;
	atomic_fetch_add_explicit(&r->built, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->tries, 1, memory_order_relaxed);
	b->magic = BOX_LIVE;
	b->n = 1;
	if (present) {
		const struct box *c = current;
		TU_CHECK(&r->errs, c->magic == BOX_LIVE,
			 "fn saw a freed box (magic %x)", c->magic);
		b->n = c->n + 1;
	}
	*desired = b;
	return LFD_STORE;
}

/* NTHREADS threads, started together, make lfd_update calls of r->fn on
 * the key "ctr" until the test thread stops them. */
static void *update_worker(void *arg)
{
	struct race *r = arg;

	pthread_barrier_wait(&r->bar);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		int rc = lfd_update(r->d, "ctr", 3, r->fn, r->discard, r);
		TU_CHECK(&r->errs, rc == LFD_INSERTED || rc == LFD_REPLACED,
			 "update -> %d", rc);
		atomic_fetch_add_explicit(&r->applied, 1, memory_order_relaxed);
	}
	return NULL;
}

static void race_run(struct race *r, long min_calls)
{
	pthread_t t[NTHREADS];

	ck_assert_int_eq(pthread_barrier_init(&r->bar, NULL, NTHREADS), 0);
	for (int i = 0; i < NTHREADS; i++)
		tu_spawn(&t[i], update_worker, r);
	/* Run until min_calls calls applied and, beyond the tries in flight,
	 * 100 lost (on a loaded machine the threads may run one after the
	 * other for a long while), or 60 s. */
	double t0 = tu_now();
	while (tu_now() - t0 < 60 &&
	       (atomic_load(&r->applied) < min_calls ||
		atomic_load(&r->tries) - atomic_load(&r->applied) <
			NTHREADS + 100))
		usleep(5000);
	atomic_store(&r->stop, 1);
	for (int i = 0; i < NTHREADS; i++)
		tu_join(t[i]);
	pthread_barrier_destroy(&r->bar);
	tu_assert_no_errs(&r->errs);
}

START_TEST(test_update_counter_race)
{
	static struct race r;
	void *v = NULL;

	memset(&r, 0, sizeof r);
	r.d = tu_new_default();
	r.fn = inc_fn;
	race_run(&r, 160000);
	ck_assert_int_eq(lfd_get(r.d, "ctr", 3, &v), 0);
	long applied = atomic_load(&r.applied),
	     lost = atomic_load(&r.tries) - applied;
	TU_LOG("  counter: %d threads, %ld updates = %" PRIu64 ", %ld tries "
	       "lost and retried\n", NTHREADS, applied, tu_vid(v), lost);
	ck_assert_msg(tu_vid(v) == (uint64_t)applied,
		      "counter %" PRIu64 ", want %ld: updates lost", tu_vid(v),
		      applied);
	ck_assert_msg(lost > 0, "no try was lost: the race did not happen");
	ck_assert_int_eq(lfd_destroy(r.d), 0);
}
END_TEST

START_TEST(test_update_box_race)
{
	static struct race r;
	struct lfd_config cfg;
	void *v = NULL;

	memset(&r, 0, sizeof r);
	tu_cfg_init(&cfg);
	cfg.value_free = box_dtor;
	cfg.value_free_arg = &r;
	r.d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(r.d);
	r.fn = box_inc_fn;
	r.discard = box_discard;
	race_run(&r, 80000);
	ck_assert_int_eq(lfd_get(r.d, "ctr", 3, &v), 0);
	long applied = atomic_load(&r.applied);
	ck_assert_int_eq(((struct box *)v)->n, applied);
	ck_assert_int_eq(lfd_destroy(r.d), 0);
	long built = atomic_load(&r.built), disc = atomic_load(&r.discarded),
	     dest = atomic_load(&r.destroyed);
	TU_LOG("  boxes: %ld built, %ld discarded (lost tries), %ld destroyed "
	       "(stored, then replaced or left at destroy)\n",
	       built, disc, dest);
	ck_assert_int_eq(atomic_load(&r.double_free), 0);
	/* every stored box is destroyed once, every lost one discarded once */
	ck_assert_int_eq(dest, applied);
	ck_assert_int_eq(disc + dest, built);
	ck_assert_msg(disc > 0, "no try was lost: the race did not happen");
}
END_TEST

/* get_or_create on fresh keys, NTHREADS callers per key and round, for
 * at least GOC_MIN rounds and until GOC_CONTENDED rounds had several
 * creators (on a loaded machine the callers may often run one after the
 * other), at most GOC_ROUNDS. */
enum { GOC_ROUNDS = 20000, GOC_MIN = 2000, GOC_CONTENDED = 20 };

struct goc {
	struct lfd *d;
	pthread_barrier_t bar;
	struct tu_errs errs;
	void *got[GOC_ROUNDS][NTHREADS];
	int rc[GOC_ROUNDS][NTHREADS];
	atomic_int creates[GOC_ROUNDS];
	atomic_int discards[GOC_ROUNDS];
	atomic_long double_free;
	int rounds, contended; /* so far: written by the barrier's serial
				  thread between two barriers */
	bool enough;
};

struct goc_arg {
	struct goc *g;
	int t;
	int round;
	int creates; /* this call's */
};

static int goc_create(void *arg, const void *key, size_t len, void **value)
{
	struct goc_arg *a = arg;
	struct box *b = malloc(sizeof *b);
	(void)key;
	(void)len;
	if (b == NULL)
		return -ENOMEM;
	b->magic = BOX_LIVE;
	b->n = a->t;
	a->creates++;
	atomic_fetch_add(&a->g->creates[a->round], 1);
	*value = b;
	return 0;
}

static void goc_discard(void *arg, void *value)
{
	struct goc_arg *a = arg;
	struct box *b = value;
	if (b->magic != BOX_LIVE) {
		atomic_fetch_add(&a->g->double_free, 1);
		return;
	}
	b->magic = BOX_DEAD;
	atomic_fetch_add(&a->g->discards[a->round], 1);
	free(b);
}

static void goc_dtor(void *value, void *arg)
{
	(void)arg;
	free(value);
}

static void *goc_worker(void *arg)
{
	struct goc_arg *a = arg;
	struct goc *g = a->g;
	char k[TU_KEYBUF];

	for (int r = 0; r < GOC_ROUNDS && !g->enough; r++) {
		size_t len = tu_key(k, "goc", (uint64_t)r);
		a->round = r;
		a->creates = 0;
		pthread_barrier_wait(&g->bar);
		g->rc[r][a->t] = lfd_get_or_create(g->d, k, len, goc_create,
						   goc_discard, a,
						   &g->got[r][a->t]);
		TU_CHECK(&g->errs, a->creates <= 1,
			 "create ran %d times in one call", a->creates);
		/* every call of the round done: one thread counts it */
		if (pthread_barrier_wait(&g->bar) ==
		    PTHREAD_BARRIER_SERIAL_THREAD) {
			g->rounds = r + 1;
			g->contended += atomic_load(&g->creates[r]) > 1;
			g->enough = g->rounds >= GOC_MIN &&
				    g->contended >= GOC_CONTENDED;
		}
		pthread_barrier_wait(&g->bar); /* all see `enough` */
	}
	return NULL;
}

START_TEST(test_get_or_create_race)
{
	static struct goc g;
	struct goc_arg args[NTHREADS];
	pthread_t t[NTHREADS];
	struct lfd_config cfg;

	memset(&g, 0, sizeof g);
	tu_cfg_init(&cfg);
	cfg.value_free = goc_dtor;
	g.d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(g.d);
	ck_assert_int_eq(pthread_barrier_init(&g.bar, NULL, NTHREADS), 0);
	for (int i = 0; i < NTHREADS; i++) {
		args[i] = (struct goc_arg){ .g = &g, .t = i };
		tu_spawn(&t[i], goc_worker, &args[i]);
	}
	for (int i = 0; i < NTHREADS; i++)
		tu_join(t[i]);
	pthread_barrier_destroy(&g.bar);
	tu_assert_no_errs(&g.errs);

	long contended = 0, creates = 0;
	for (int r = 0; r < g.rounds; r++) {
		int ins = 0;
		char k[TU_KEYBUF];
		void *v = NULL;
		size_t len = tu_key(k, "goc", (uint64_t)r);
		ck_assert_int_eq(lfd_get(g.d, k, len, &v), 0);
		for (int i = 0; i < NTHREADS; i++) {
			ck_assert_msg(g.rc[r][i] == LFD_INSERTED ||
					      g.rc[r][i] == LFD_KEPT,
				      "round %d thread %d: %d", r, i, g.rc[r][i]);
			ins += g.rc[r][i] == LFD_INSERTED;
			ck_assert_msg(g.got[r][i] == v,
				      "round %d: thread %d got another value "
				      "than the one published", r, i);
		}
		ck_assert_msg(ins == 1, "round %d: %d callers inserted", r, ins);
		int c = atomic_load(&g.creates[r]);
		ck_assert_msg(atomic_load(&g.discards[r]) == c - 1,
			      "round %d: %d created, %d discarded", r, c,
			      atomic_load(&g.discards[r]));
		contended += c > 1;
		creates += c;
	}
	ck_assert_int_eq(atomic_load(&g.double_free), 0);
	TU_LOG("  get_or_create: %d rounds x %d callers, %ld values created, "
	       "%ld rounds with several creators\n", g.rounds, NTHREADS,
	       creates, contended);
	ck_assert_msg(contended > 0,
		      "no round had two creators: the race did not happen");
	ck_assert_int_eq(lfd_destroy(g.d), 0);
}
END_TEST

/* cad against a racing set, one round per key: either a cad removed the
 * original value (then the set inserted its value afresh) or the set came
 * first (every cad reports the set's value). */
enum { CAD_ROUNDS = 4000, CADDERS = 3 };

struct cadrace {
	struct lfd *d;
	pthread_barrier_t bar;
	struct tu_errs errs;
	int rc[CAD_ROUNDS][CADDERS];
	void *cur[CAD_ROUNDS][CADDERS];
	int setrc[CAD_ROUNDS];
};

struct cad_arg {
	struct cadrace *c;
	int t; /* CADDERS: the setter */
};

static void *cad_worker(void *arg)
{
	struct cad_arg *a = arg;
	struct cadrace *c = a->c;
	char k[TU_KEYBUF];

	for (int r = 0; r < CAD_ROUNDS; r++) {
		size_t len = tu_key(k, "cad", (uint64_t)r);
		pthread_barrier_wait(&c->bar);
		if (a->t == CADDERS)
			c->setrc[r] = lfd_set(c->d, k, len, tu_v(2), NULL);
		else
			c->rc[r][a->t] = lfd_cad(c->d, k, len, tu_v(1),
						 &c->cur[r][a->t]);
	}
	return NULL;
}

START_TEST(test_cad_race)
{
	static struct cadrace c;
	struct cad_arg args[CADDERS + 1];
	pthread_t t[CADDERS + 1];
	char k[TU_KEYBUF];

	memset(&c, 0, sizeof c);
	c.d = tu_new_default();
	for (int r = 0; r < CAD_ROUNDS; r++) {
		size_t len = tu_key(k, "cad", (uint64_t)r);
		ck_assert_int_eq(lfd_insert(c.d, k, len, tu_v(1), NULL), 0);
	}
	ck_assert_int_eq(pthread_barrier_init(&c.bar, NULL, CADDERS + 1), 0);
	for (int i = 0; i <= CADDERS; i++) {
		args[i] = (struct cad_arg){ .c = &c, .t = i };
		tu_spawn(&t[i], cad_worker, &args[i]);
	}
	for (int i = 0; i <= CADDERS; i++)
		tu_join(t[i]);
	pthread_barrier_destroy(&c.bar);

	long cad_first = 0, set_first = 0;
	for (int r = 0; r < CAD_ROUNDS; r++) {
		int won = 0, mism = 0, absent = 0;
		void *v = NULL;
		size_t len = tu_key(k, "cad", (uint64_t)r);
		for (int i = 0; i < CADDERS; i++) {
			won += c.rc[r][i] == 0;
			if (c.rc[r][i] == 0)
				ck_assert_ptr_eq(c.cur[r][i], tu_v(1));
			if (c.rc[r][i] == -EAGAIN) {
				mism++;
				ck_assert_msg(c.cur[r][i] == tu_v(2),
					      "round %d: mismatch reported %p",
					      r, c.cur[r][i]);
			}
			absent += c.rc[r][i] == -ENOENT;
		}
		ck_assert_int_eq(won + mism + absent, CADDERS);
		ck_assert_msg(won <= 1, "round %d: %d cads removed", r, won);
		ck_assert_int_eq(lfd_get(c.d, k, len, &v), 0);
		ck_assert_ptr_eq(v, tu_v(2));
		if (won) {
			/* the set inserted after the removal */
			ck_assert_msg(c.setrc[r] == 0, "round %d: cad won but "
				      "set replaced (%d)", r, c.setrc[r]);
			cad_first++;
		} else {
			/* the set replaced v1 first: no cad saw v1 */
			ck_assert_msg(c.setrc[r] == 1 && absent == 0,
				      "round %d: no cad won, set %d, %d absent",
				      r, c.setrc[r], absent);
			set_first++;
		}
	}
	TU_LOG("  cad vs set: %ld rounds a cad first, %ld the set first\n",
	       cad_first, set_first);
	ck_assert_msg(cad_first > 0 && set_first > 0,
		      "one outcome never happened: the race did not happen");
	ck_assert_int_eq(lfd_destroy(c.d), 0);
}
END_TEST

static Suite *update_suite(void)
{
	Suite *s = suite_create("lfdict-update");
	TCase *tc = tcase_create("update");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_update_decisions);
	tcase_add_test(tc, test_update_neighbour);
	tcase_add_test(tc, test_update_enomem);
	tcase_add_test(tc, test_get_or_create_cad);
	tcase_add_test(tc, test_update_counter_race);
	tcase_add_test(tc, test_update_box_race);
	tcase_add_test(tc, test_get_or_create_race);
	tcase_add_test(tc, test_cad_race);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(update_suite(), "test_update");
}
