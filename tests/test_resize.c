/*
 * test_resize.c - growing to millions of entries and shrinking back, the
 * convergence of the bucket count after lfd_barrier(), LFD_FIXED_SIZE,
 * max_capacity and capacity.
 *
 * SPDX-License-Identifier: MIT
 */
#include "testutil.h"

/* 8-byte integer keys; the value of key i is tu_v(i + 1). */
static void insert_range(struct lfd *d, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++) {
		int rc = lfd_insert(d, &i, sizeof i, tu_v(i + 1), NULL);
		if (rc != 0)
			ck_abort_msg("insert %" PRIu64 " -> %d (%s)", i, rc,
				     lfd_strerror(rc));
	}
}

/* Every key of [0, n): present with its value iff present(i). */
static void verify_keys(struct lfd *d, uint64_t n, int (*present)(uint64_t),
			const char *what)
{
	size_t want = 0, count = 0;
	for (uint64_t i = 0; i < n; i++) {
		void *v = TU_UNSET;
		int rc = lfd_get(d, &i, sizeof i, &v);
		if (present(i)) {
			want++;
			if (rc != 0 || v != tu_v(i + 1))
				ck_abort_msg("%s: key %" PRIu64
					     " -> %d value %p, want 0 value %p",
					     what, i, rc, v, tu_v(i + 1));
		} else if (rc != -ENOENT || v != TU_UNSET) {
			ck_abort_msg("%s: key %" PRIu64
				     " -> %d value %p, want -ENOENT",
				     what, i, rc, v);
		}
	}
	ck_assert_int_eq(lfd_count(d, &count), 0);
	ck_assert_msg(count == want, "%s: lfd_count %zu, want %zu", what, count,
		      want);
}

static uint64_t g_limit; /* keys [0, g_limit) are inserted */
static int p_below_limit(uint64_t i)
{
	return i < g_limit;
}
static int p_even(uint64_t i)
{
	return i % 2 == 0;
}
static int p_mod8(uint64_t i)
{
	return i % 8 == 0;
}
static int p_none(uint64_t i)
{
	(void)i;
	return 0;
}
static int p_all(uint64_t i)
{
	(void)i;
	return 1;
}

static void pop_where(struct lfd *d, uint64_t n, int (*sel)(uint64_t))
{
	for (uint64_t i = 0; i < n; i++) {
		if (!sel(i))
			continue;
		void *v = TU_UNSET;
		int rc = lfd_pop(d, &i, sizeof i, &v);
		if (rc != 0 || v != tu_v(i + 1))
			ck_abort_msg("pop %" PRIu64 " -> %d value %p", i, rc, v);
	}
}

static int sel_odd(uint64_t i)
{
	return i % 2 == 1;
}
static int sel_even_not_mod8(uint64_t i)
{
	return i % 2 == 0 && i % 8 != 0;
}

static void step(struct lfd *d, const char *what, double t0)
{
	ck_assert_int_eq(lfd_barrier(d), 0);
	tu_assert_converged(d, what);
	struct lfd_stats st = tu_stats(d);
	char buf[96];
	snprintf(buf, sizeof buf, "%s (%.2f s)", what, tu_now() - t0);
	tu_log_stats(buf, &st);
}

struct walk_count {
	size_t visits;
	size_t bad;
};

static int walk_count_fn(void *arg, const void *key, size_t len, void *value)
{
	struct walk_count *w = arg;
	uint64_t i;
	w->visits++;
	if (len != sizeof i) {
		w->bad++;
		return 0;
	}
	memcpy(&i, key, sizeof i);
	if (value != tu_v(i + 1))
		w->bad++;
	return 0;
}

START_TEST(test_grow_and_shrink_millions)
{
#ifdef LFD_TEST_RCU_PTHREAD
	/* The ThreadSanitizer build runs ~10x slower; the races this test
	 * can show do not need millions there (the other builds do that). */
	enum { N = 500000 };
#else
	enum { N = 4000000 };
#endif
	struct tu_alloc al;
	struct lfd_config c;
	double t0 = tu_now();

	tu_alloc_init(&al);
	tu_cfg_init(&c);
	tu_alloc_install(&al, &c);
	struct lfd *d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);
	step(d, "empty", t0);

	static const uint64_t steps[] = { 1000, 100000, N / 4, N / 2, N };
	uint64_t done = 0;
	for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
		insert_range(d, done, steps[s]);
		done = steps[s];
		char what[64];
		snprintf(what, sizeof what, "grown to %" PRIu64, done);
		step(d, what, t0);
		if (done >= N / 4) {
			g_limit = done;
			/* also a few keys beyond, which must be absent */
			verify_keys(d, done + 1000, p_below_limit, what);
		}
	}
	struct lfd_stats st = tu_stats(d);
	ck_assert_msg(st.grows > 0, "no grow up to %d entries", (int)N);
	uint64_t grows = st.grows;

	/* shrink back: N -> N/2 -> N/8 -> 0 */
	pop_where(d, N, sel_odd);
	step(d, "popped odd keys", t0);
	verify_keys(d, N, p_even, "after popping odd keys");
	struct walk_count w = { 0, 0 };
	ck_assert_int_eq(lfd_foreach(d, walk_count_fn, &w), 0);
	ck_assert_msg(w.visits == N / 2 && w.bad == 0,
		      "foreach: %zu visits (want %d), %zu bad", w.visits, N / 2,
		      w.bad);

	pop_where(d, N, sel_even_not_mod8);
	step(d, "popped down to keys % 8 == 0", t0);
	verify_keys(d, N, p_mod8, "after popping to keys % 8 == 0");

	pop_where(d, N, p_mod8);
	step(d, "popped everything", t0);
	verify_keys(d, N / 8, p_none, "after popping everything");

	st = tu_stats(d);
	ck_assert_msg(st.shrinks > 0, "no shrink from %d entries down to 0",
		      (int)N);
	ck_assert_msg(st.grows == grows, "grows %" PRIu64 " -> %" PRIu64
		      " while only popping", grows, st.grows);
	ck_assert_uint_eq(st.count, 0);

	/* and grow again from the shrunk table */
	insert_range(d, 0, 300000);
	step(d, "grown again to 300000", t0);
	g_limit = 300000;
	verify_keys(d, 300000, p_below_limit, "grown again");

	ck_assert_int_eq(lfd_destroy(d), 0);
	tu_alloc_assert_clean(&al);
	TU_LOG("  grow_and_shrink_millions: %d keys, %.2f s\n", (int)N,
	       tu_now() - t0);
}
END_TEST

/* The index's density (lfdict.h, capacity): growing one key at a time, the
 * bucket count after lfd_barrier is exactly what the count asks for, on
 * both sides of each step of the rule (4 per entry, the 2^15 plateau, 1
 * per entry); emptied, it shrinks back to the smallest. */
START_TEST(test_density)
{
	static const uint64_t at[] = { 0,    1,	    3,	   1000,  2048,
				       2049, 8192,  8193,  20000, 32768,
				       32769, 100000 };
	struct lfd_config c;
	uint64_t done = 0;

	tu_cfg_init(&c); /* the tests' flavour (pthread RCU under TSan) */
	struct lfd *d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		insert_range(d, done, at[i]);
		done = at[i];
		ck_assert_int_eq(lfd_barrier(d), 0);
		struct lfd_stats st = tu_stats(d);
		ck_assert_msg(st.buckets == td_target_buckets(done),
			      "%" PRIu64 " entries: %zu buckets, want %zu", done,
			      st.buckets, td_target_buckets(done));
		tu_assert_converged(d, "density");
	}
	pop_where(d, done, p_all);
	ck_assert_int_eq(lfd_barrier(d), 0);
	struct lfd_stats st = tu_stats(d);
	ck_assert_msg(st.buckets == td_target_buckets(0),
		      "emptied: %zu buckets, want %zu", st.buckets,
		      td_target_buckets(0));
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

START_TEST(test_fixed_size)
{
	static const size_t caps[] = { 0, 1000 };
	for (size_t ci = 0; ci < 2; ci++) {
		struct tu_alloc al;
		struct lfd_config c;
		const uint64_t n = caps[ci] ? 100000 : 5000;

		tu_alloc_init(&al);
		tu_cfg_init(&c);
		tu_alloc_install(&al, &c);
		c.flags = LFD_FIXED_SIZE;
		c.capacity = caps[ci];
		struct lfd *d = lfd_new(&c);
		ck_assert_ptr_nonnull(d);
		struct lfd_stats st0 = tu_stats(d);
		ck_assert_msg(st0.buckets >= caps[ci] / 2,
			      "capacity %zu: %zu buckets at creation", caps[ci],
			      st0.buckets);
		insert_range(d, 0, n);
		ck_assert_int_eq(lfd_barrier(d), 0);
		struct lfd_stats st = tu_stats(d);
		ck_assert_msg(st.buckets == st0.buckets && st.grows == 0,
			      "LFD_FIXED_SIZE capacity %zu: buckets %zu -> %zu, "
			      "grows %" PRIu64,
			      caps[ci], st0.buckets, st.buckets, st.grows);
		g_limit = n;
		verify_keys(d, n + 100, p_below_limit, "fixed size, full");
		pop_where(d, n, p_all);
		ck_assert_int_eq(lfd_barrier(d), 0);
		st = tu_stats(d);
		ck_assert_msg(st.buckets == st0.buckets && st.shrinks == 0,
			      "LFD_FIXED_SIZE capacity %zu: buckets %zu -> %zu, "
			      "shrinks %" PRIu64,
			      caps[ci], st0.buckets, st.buckets, st.shrinks);
		verify_keys(d, n, p_none, "fixed size, emptied");
		TU_LOG("  fixed_size capacity %zu: %" PRIu64
		       " keys in %zu buckets throughout\n",
		       caps[ci], n, st.buckets);
		ck_assert_int_eq(lfd_destroy(d), 0);
		tu_alloc_assert_clean(&al);
	}
}
END_TEST

START_TEST(test_max_capacity)
{
	struct tu_alloc al;
	struct lfd_config c;
	enum { MAXC = 10000, N = 200000 };

	tu_alloc_init(&al);
	tu_cfg_init(&c);
	tu_alloc_install(&al, &c);
	c.max_capacity = MAXC;
	struct lfd *d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);
	struct lfd_stats st = tu_stats(d);
	ck_assert_msg(tu_is_pow2(st.max_buckets) &&
			      st.max_buckets >= MAXC / 2 &&
			      st.max_buckets <= 8 * (size_t)MAXC,
		      "max_capacity %d: max_buckets %zu (want a power of two "
		      "in [%d, %d])",
		      MAXC, st.max_buckets, MAXC / 2, 8 * MAXC);
	size_t maxb = st.max_buckets;
	insert_range(d, 0, N);
	ck_assert_int_eq(lfd_barrier(d), 0);
	st = tu_stats(d);
	tu_log_stats("max_capacity, full", &st);
	ck_assert_msg(st.buckets <= maxb, "buckets %zu > max_buckets %zu",
		      st.buckets, maxb);
	ck_assert_msg(st.buckets == maxb,
		      "%d entries but buckets %zu < max_buckets %zu", N,
		      st.buckets, maxb);
	ck_assert_uint_eq(st.max_buckets, maxb);
	tu_assert_converged(d, "max_capacity, full");
	g_limit = N;
	verify_keys(d, N, p_below_limit, "max_capacity, full");
	pop_where(d, N, p_all);
	ck_assert_int_eq(lfd_barrier(d), 0);
	tu_assert_converged(d, "max_capacity, emptied");
	ck_assert_int_eq(lfd_destroy(d), 0);
	tu_alloc_assert_clean(&al);

	/* capacity == max_capacity: the bucket count never moves */
	tu_cfg_init(&c);
	c.capacity = 4096;
	c.max_capacity = 4096;
	d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);
	struct lfd_stats st0 = tu_stats(d);
	insert_range(d, 0, 50000);
	ck_assert_int_eq(lfd_barrier(d), 0);
	st = tu_stats(d);
	ck_assert_msg(st.buckets == st0.buckets,
		      "capacity == max_capacity: buckets %zu -> %zu",
		      st0.buckets, st.buckets);
	pop_where(d, 50000, p_all);
	ck_assert_int_eq(lfd_barrier(d), 0);
	st = tu_stats(d);
	ck_assert_msg(st.buckets == st0.buckets,
		      "capacity == max_capacity, emptied: buckets %zu -> %zu",
		      st0.buckets, st.buckets);
	ck_assert_int_eq(lfd_destroy(d), 0);
	TU_LOG("  max_capacity %d: max_buckets %zu; capacity=max_capacity=4096: "
	       "%zu buckets throughout\n",
	       MAXC, maxb, st0.buckets);
}
END_TEST

START_TEST(test_capacity_presizes)
{
	static const size_t caps[] = { 1, 100, 100000, 1000000 };
	for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
		struct tu_alloc al;
		struct lfd_config c;
		size_t cap = caps[ci];

		tu_alloc_init(&al);
		tu_cfg_init(&c);
		tu_alloc_install(&al, &c);
		c.capacity = cap;
		struct lfd *d = lfd_new(&c);
		ck_assert_ptr_nonnull(d);
		struct lfd_stats st = tu_stats(d);
		ck_assert_msg(st.buckets >= cap / 2 && st.min_buckets >= cap / 2,
			      "capacity %zu: buckets %zu min_buckets %zu at "
			      "creation (want >= %zu)",
			      cap, st.buckets, st.min_buckets, cap / 2);
		ck_assert_msg(st.buckets >= st.min_buckets,
			      "buckets %zu < min_buckets %zu", st.buckets,
			      st.min_buckets);
		size_t minb = st.min_buckets;
		uint64_t n = cap < 1000 ? 1000 : cap;
		insert_range(d, 0, n);
		pop_where(d, n, p_all);
		ck_assert_int_eq(lfd_barrier(d), 0);
		st = tu_stats(d);
		ck_assert_msg(st.min_buckets == minb,
			      "min_buckets changed %zu -> %zu", minb,
			      st.min_buckets);
		ck_assert_msg(st.buckets >= minb,
			      "capacity %zu: shrank below min_buckets: %zu < %zu",
			      cap, st.buckets, minb);
		tu_assert_converged(d, "presized, emptied");
		TU_LOG("  capacity %zu: min_buckets %zu, after fill/empty "
		       "buckets %zu\n",
		       cap, minb, st.buckets);
		ck_assert_int_eq(lfd_destroy(d), 0);
		tu_alloc_assert_clean(&al);
	}
}
END_TEST

/* Several threads grow and shrink the same table at once, each on its own
 * keys, and check them while the others' resizes run. */
struct cgs_arg {
	struct lfd *d;
	pthread_barrier_t *bar;
	uint64_t base, n;
	struct tu_errs *errs;
};

static void *cgs_thread(void *p)
{
	struct cgs_arg *a = p;
	pthread_barrier_wait(a->bar);
	for (int round = 0; round < 2; round++) {
		for (uint64_t i = a->base; i < a->base + a->n; i++) {
			int rc = lfd_insert(a->d, &i, sizeof i, tu_v(i + 1), NULL);
			TU_CHECK(a->errs, rc == 0, "insert %" PRIu64 " -> %d", i,
				 rc);
		}
		for (uint64_t i = a->base; i < a->base + a->n; i++) {
			void *v = TU_UNSET;
			int rc = lfd_get(a->d, &i, sizeof i, &v);
			TU_CHECK(a->errs, rc == 0 && v == tu_v(i + 1),
				 "get %" PRIu64 " -> %d %p", i, rc, v);
		}
		pthread_barrier_wait(a->bar);
		for (uint64_t i = a->base; i < a->base + a->n; i++) {
			void *v = TU_UNSET;
			int rc = lfd_pop(a->d, &i, sizeof i, &v);
			TU_CHECK(a->errs, rc == 0 && v == tu_v(i + 1),
				 "pop %" PRIu64 " -> %d %p", i, rc, v);
		}
		for (uint64_t i = a->base; i < a->base + a->n; i += 7) {
			int rc = lfd_get(a->d, &i, sizeof i, NULL);
			TU_CHECK(a->errs, rc == -ENOENT,
				 "get popped %" PRIu64 " -> %d", i, rc);
		}
		pthread_barrier_wait(a->bar);
	}
	return NULL;
}

START_TEST(test_concurrent_grow_shrink)
{
	enum { T = 4, PER = 250000 };
	struct tu_alloc al;
	struct lfd_config c;
	struct tu_errs errs;
	pthread_barrier_t bar;
	pthread_t th[T];
	struct cgs_arg args[T];
	double t0 = tu_now();

	memset(&errs, 0, sizeof errs);
	tu_alloc_init(&al);
	tu_cfg_init(&c);
	tu_alloc_install(&al, &c);
	struct lfd *d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);
	pthread_barrier_init(&bar, NULL, T);
	for (int t = 0; t < T; t++) {
		args[t] = (struct cgs_arg){ d, &bar, (uint64_t)t * PER, PER,
					    &errs };
		tu_spawn(&th[t], cgs_thread, &args[t]);
	}
	for (int t = 0; t < T; t++)
		tu_join(th[t]);
	pthread_barrier_destroy(&bar);
	tu_assert_no_errs(&errs);
	step(d, "concurrent grow/shrink, emptied", t0);
	struct lfd_stats st = tu_stats(d);
	ck_assert_msg(st.grows > 0 && st.shrinks > 0,
		      "grows %" PRIu64 " shrinks %" PRIu64, st.grows,
		      st.shrinks);
	verify_keys(d, (uint64_t)T * PER, p_none, "concurrent, emptied");
	ck_assert_int_eq(lfd_destroy(d), 0);
	tu_alloc_assert_clean(&al);
	TU_LOG("  concurrent_grow_shrink: %d threads x %d keys x 2 rounds, "
	       "%.2f s\n",
	       T, PER, tu_now() - t0);
}
END_TEST

static Suite *resize_suite(void)
{
	Suite *s = suite_create("lfdict-resize");
	TCase *tc = tcase_create("resize");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_grow_and_shrink_millions);
	tcase_add_test(tc, test_density);
	tcase_add_test(tc, test_fixed_size);
	tcase_add_test(tc, test_max_capacity);
	tcase_add_test(tc, test_capacity_presizes);
	tcase_add_test(tc, test_concurrent_grow_shrink);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(resize_suite(), "test_resize");
}
