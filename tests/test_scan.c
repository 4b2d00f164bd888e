/*
 * test_scan.c - lfd_scan (a resumable walk in slices) and lfd_clear.
 *
 * SPDX-License-Identifier: MIT
 *
 * Keys are 8-byte ids.  A scan's visits are counted per id against a
 * stamp (the scan's number), so "twice in one scan" is seen at the second
 * visit.
 */
#include "testutil.h"

/* --- a scan's record: visits per id, within the current scan ------- */

struct rec {
	size_t n;	  /* ids below n */
	uint32_t *stamp;  /* the scan that last visited the id */
	uint32_t *visits; /* visits in that scan */
	uint32_t scan;	  /* the current scan's number (from 1) */
	long twice;	  /* ids visited twice in one scan */
	long bad_value;	  /* visits whose value is not tu_v(id + 1) */
	long out;	  /* ids >= n */
	size_t calls;	  /* fn calls in the current slice */
	long stop_at;	  /* return 1 at this call of the scan (-1: never) */
	long total;	  /* fn calls in the current scan */
	int check_value;
};

static void rec_init(struct rec *r, size_t n)
{
	memset(r, 0, sizeof *r);
	r->n = n;
	r->stamp = calloc(n, sizeof *r->stamp);
	r->visits = calloc(n, sizeof *r->visits);
	ck_assert(r->stamp && r->visits);
	r->stop_at = -1;
	r->check_value = 1;
}

static void rec_fini(struct rec *r)
{
	free(r->stamp);
	free(r->visits);
}

static void rec_new_scan(struct rec *r)
{
	r->scan++;
	r->total = 0;
}

static uint32_t rec_visits(const struct rec *r, uint64_t id)
{
	return r->stamp[id] == r->scan ? r->visits[id] : 0;
}

static int rec_fn(void *arg, const void *key, size_t len, void *value)
{
	struct rec *r = arg;
	uint64_t id;

	ck_assert_uint_eq(len, sizeof id);
	memcpy(&id, key, sizeof id);
	if (id >= r->n) {
		r->out++;
		return 0;
	}
	if (r->stamp[id] != r->scan) {
		r->stamp[id] = r->scan;
		r->visits[id] = 0;
	}
	if (++r->visits[id] == 2)
		r->twice++;
	if (r->check_value && value != tu_v(id + 1))
		r->bad_value++;
	r->calls++;
	return r->total++ == r->stop_at ? 1 : 0;
}

static void put(struct lfd *d, uint64_t id)
{
	ck_assert_int_eq(lfd_insert(d, &id, sizeof id, tu_v(id + 1), NULL), 0);
}

static void del(struct lfd *d, uint64_t id)
{
	ck_assert_int_eq(lfd_pop(d, &id, sizeof id, NULL), 0);
}

/* One slice; checks the cursor it stores.  Returns lfd_scan's value. */
static int slice(struct lfd *d, uint64_t *c, size_t max, struct rec *r)
{
	uint64_t before = *c;
	int ret;

	r->calls = 0;
	ret = lfd_scan(d, c, max, rec_fn, r);
	ck_assert_msg(*c <= LFD_SCAN_END && (*c & 1u) == 0,
		      "cursor %" PRIx64, *c);
	ck_assert_msg(ret != 0 || *c > before, "no progress at %" PRIx64,
		      before);
	return ret;
}

static void assert_each_once(const struct rec *r, uint64_t from, uint64_t to)
{
	for (uint64_t id = from; id < to; id++)
		ck_assert_msg(rec_visits(r, id) == 1, "id %" PRIu64 ": %u visits",
			      id, rec_visits(r, id));
	ck_assert_int_eq(r->twice, 0);
	ck_assert_int_eq(r->bad_value, 0);
}

/* --- every key once, in slices of 1, 7, 1000 ------------------------ */

START_TEST(test_slices)
{
	enum { N = 5000 };
	static const size_t maxes[] = { 1, 7, 1000 };
	struct lfd *d = tu_new_default();
	struct rec r;

	ck_assert_ptr_nonnull(d);
	rec_init(&r, N);
	for (uint64_t i = 0; i < N; i++)
		put(d, i);
	for (size_t k = 0; k < 3; k++) {
		uint64_t c = LFD_SCAN_START;
		long slices = 0;

		rec_new_scan(&r);
		do {
			ck_assert_int_eq(slice(d, &c, maxes[k], &r), 0);
			slices++;
			/* max calls, but the last slice; one or two more
			 * only if keys share a so_key (the keyed hash: odds
			 * about N^2 / 2^33 = 0.3 % that two of the N do) */
			ck_assert_msg((r.calls >= maxes[k] &&
				       r.calls <= maxes[k] + 2) ||
					      c == LFD_SCAN_END,
				      "slice of %zu calls, max %zu", r.calls,
				      maxes[k]);
		} while (c != LFD_SCAN_END);
		assert_each_once(&r, 0, N);
		/* and perhaps one more, empty, when bucket nodes follow
		 * the last entry */
		ck_assert_int_ge(slices, N / (maxes[k] + 2));
		ck_assert_int_le(slices, (N + maxes[k] - 1) / maxes[k] + 1);
		TU_LOG("max %zu: %ld slices\n", maxes[k], slices);
	}
	/* the end: 0 at once, nothing visited */
	uint64_t c = LFD_SCAN_END;
	r.calls = 0;
	ck_assert_int_eq(lfd_scan(d, &c, 5, rec_fn, &r), 0);
	ck_assert_uint_eq(r.calls, 0);
	ck_assert_uint_eq(c, LFD_SCAN_END);
	/* an empty dictionary: one slice, done */
	struct lfd *e = tu_new_default();
	c = LFD_SCAN_START;
	ck_assert_int_eq(lfd_scan(e, &c, 5, rec_fn, &r), 0);
	ck_assert_uint_eq(c, LFD_SCAN_END);
	ck_assert_uint_eq(r.calls, 0);
	ck_assert_int_eq(lfd_destroy(e), 0);
	rec_fini(&r);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/* --- fn stops a slice: resuming goes on after the entry ------------- */

START_TEST(test_stop)
{
	enum { N = 300 };
	struct lfd *d = tu_new_default();
	struct rec r;
	uint64_t c = LFD_SCAN_START;
	int stops = 0, ret;

	rec_init(&r, N);
	for (uint64_t i = 0; i < N; i++)
		put(d, i);
	rec_new_scan(&r);
	r.stop_at = 10;
	do {
		ret = slice(d, &c, 50, &r);
		if (ret == 1) {
			stops++;
			r.stop_at = r.total + 37; /* and stop again later */
		} else {
			ck_assert_int_eq(ret, 0);
		}
	} while (c != LFD_SCAN_END);
	ck_assert_int_gt(stops, 2);
	assert_each_once(&r, 0, N);
	rec_fini(&r);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/* --- grows and shrinks between slices, from the same thread --------- */

START_TEST(test_resize_between)
{
	enum { P = 2000, T = 30000 };
	struct lfd *d = tu_new_default();
	struct rec r;
	struct lfd_stats s0, s1;
	uint64_t c = LFD_SCAN_START, round = 0;
	long slices = 0;

	rec_init(&r, P + T);
	for (uint64_t i = 0; i < P; i++)
		put(d, i);
	ck_assert_int_eq(lfd_barrier(d), 0);
	s0 = tu_stats(d);
	rec_new_scan(&r);
	do {
		ck_assert_int_eq(slice(d, &c, 7, &r), 0);
		slices++;
		/* every 10 slices: grow to ~P + T entries, then shrink back */
		if (slices % 10 == 0) {
			uint64_t base = P + (round++ % 2) * (T / 2);

			for (uint64_t i = base; i < base + T / 2; i++)
				put(d, i);
			ck_assert_int_eq(lfd_barrier(d), 0);
			ck_assert_int_eq(slice(d, &c, 7, &r), 0);
			for (uint64_t i = base; i < base + T / 2; i++)
				del(d, i);
			ck_assert_int_eq(lfd_barrier(d), 0);
		}
	} while (c != LFD_SCAN_END);
	s1 = tu_stats(d);
	TU_LOG("%ld slices, %" PRIu64 " grows, %" PRIu64 " shrinks\n", slices,
	       s1.grows - s0.grows, s1.shrinks - s0.shrinks);
	ck_assert_msg(s1.grows - s0.grows > 10 && s1.shrinks - s0.shrinks > 10,
		      "too few resizes during the scan");
	assert_each_once(&r, 0, P);
	ck_assert_int_eq(r.out, 0);
	rec_fini(&r);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/* --- equal hashes: groups of keys that share a so_key --------------- */

/* 8-byte keys id: hash id / GROUP, so GROUP keys per so_key. */
#define GROUP 40
static uint64_t group_hash(const void *key, size_t len, void *arg)
{
	uint64_t id;

	(void)arg;
	memcpy(&id, key, len < 8 ? len : 8);
	return tu_mix64(id / GROUP + 1);
}

START_TEST(test_equal_hashes)
{
	enum { N = 40 * GROUP };
	struct lfd_config cfg;
	struct lfd *d;
	struct rec r;

	tu_cfg_init(&cfg);
	cfg.hash = group_hash;
	d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(d);
	rec_init(&r, 2 * N);
	for (uint64_t i = 0; i < N; i++)
		put(d, i);
	/* max 1: each slice finishes its group */
	{
		uint64_t c = LFD_SCAN_START;
		long slices = 0;

		rec_new_scan(&r);
		do {
			ck_assert_int_eq(slice(d, &c, 1, &r), 0);
			ck_assert_msg(r.calls == GROUP || c == LFD_SCAN_END,
				      "slice of %zu", r.calls);
			slices++;
		} while (c != LFD_SCAN_END);
		assert_each_once(&r, 0, N);
		ck_assert_int_le(slices, N / GROUP + 1);
	}
	/* max 1 with grows and shrinks, and inserts into the groups, between
	 * slices */
	{
		uint64_t c = LFD_SCAN_START, k = 0;

		rec_new_scan(&r);
		do {
			ck_assert_int_eq(slice(d, &c, 1, &r), 0);
			for (uint64_t i = N; i < 2 * N; i++)
				put(d, i);
			if (k++ % 2)
				ck_assert_int_eq(lfd_barrier(d), 0);
			for (uint64_t i = N; i < 2 * N; i++)
				del(d, i);
			ck_assert_int_eq(lfd_barrier(d), 0);
		} while (c != LFD_SCAN_END);
		assert_each_once(&r, 0, N);
	}
	/* fn stops in the middle of a group: resuming revisits that group's
	 * keys visited before the stop (documented), misses none */
	{
		uint64_t c = LFD_SCAN_START;
		int ret;

		rec_new_scan(&r);
		r.stop_at = 5 * GROUP + 3;
		do
			ret = slice(d, &c, 1000, &r);
		while (ret == 0 && c != LFD_SCAN_END);
		ck_assert_int_eq(ret, 1);
		ck_assert_uint_eq(c & 1u, 0);
		r.stop_at = -1;
		do
			ck_assert_int_eq(slice(d, &c, 1000, &r), 0);
		while (c != LFD_SCAN_END);
		long again = 0;
		for (uint64_t id = 0; id < N; id++) {
			ck_assert_uint_ge(rec_visits(&r, id), 1);
			again += rec_visits(&r, id) - 1;
		}
		/* the stopped call's group up to it: 4 keys */
		ck_assert_int_eq(again, 4);
		r.twice = 0;
	}
	rec_fini(&r);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/* --- bad input ------------------------------------------------------- */

START_TEST(test_bad_input)
{
	struct lfd *d = tu_new_default();
	struct rec r;
	static const uint64_t bad[] = { 1, 3, LFD_SCAN_END + 2,
					LFD_SCAN_END + 1, UINT64_MAX,
					(uint64_t)1 << 40 };
	uint64_t c;

	rec_init(&r, 100);
	for (uint64_t i = 0; i < 100; i++)
		put(d, i);
	rec_new_scan(&r);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c = bad[i];
		ck_assert_int_eq(lfd_scan(d, &c, 10, rec_fn, &r), -EINVAL);
		ck_assert_uint_eq(c, bad[i]);
	}
	c = LFD_SCAN_START;
	ck_assert_int_eq(lfd_scan(NULL, &c, 10, rec_fn, &r), -EINVAL);
	ck_assert_int_eq(lfd_scan(d, NULL, 10, rec_fn, &r), -EINVAL);
	ck_assert_int_eq(lfd_scan(d, &c, 10, NULL, &r), -EINVAL);
	ck_assert_int_eq(lfd_scan(d, &c, 0, rec_fn, &r), -EINVAL);
	ck_assert_uint_eq(c, LFD_SCAN_START);
	ck_assert_int_eq(r.total, 0);
	ck_assert_int_eq(lfd_clear(NULL, NULL), -EINVAL);
	rec_fini(&r);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/* --- a scan racing inserts, pops and resizes ------------------------- */

#define RACE_THREADS 2
#define RACE_PERM 3000u
#define RACE_TRANS 20000u /* transient ids per thread */

struct race {
	struct lfd *d;
	atomic_int stop;
	atomic_long rounds;
};

struct churn {
	struct race *c;
	uint64_t base;
};

/* Insert a burst of transient keys, pop them: the table grows and
 * shrinks, and keys come and go around the scan's position. */
static void *churn_fn(void *arg)
{
	struct churn *w = arg;
	struct race *c = w->c;

	while (!atomic_load(&c->stop)) {
		for (uint64_t i = 0; i < RACE_TRANS; i++) {
			uint64_t id = w->base + i;
			(void)lfd_insert(c->d, &id, sizeof id, tu_v(id + 1),
					 NULL);
		}
		for (uint64_t i = 0; i < RACE_TRANS; i++) {
			uint64_t id = w->base + i;
			(void)lfd_pop(c->d, &id, sizeof id, NULL);
		}
		atomic_fetch_add(&c->rounds, 1);
	}
	return NULL;
}

START_TEST(test_race)
{
	struct race c = { 0 };
	struct churn w[RACE_THREADS];
	pthread_t t[RACE_THREADS];
	struct rec r;
	struct tu_rng rng;
	long scans = 0, slices = 0, overlapped = 0, resized = 0;
	double t0;

	c.d = tu_new_default();
	ck_assert_ptr_nonnull(c.d);
	rec_init(&r, RACE_PERM + RACE_THREADS * RACE_TRANS);
	tu_rng_init(&rng, 7);
	for (uint64_t i = 0; i < RACE_PERM; i++)
		put(c.d, i);
	for (int i = 0; i < RACE_THREADS; i++) {
		w[i].c = &c;
		w[i].base = RACE_PERM + (uint64_t)i * RACE_TRANS;
		tu_spawn(&t[i], churn_fn, &w[i]);
	}
	t0 = tu_now();
	/* at least 2 s and 20 slices during which a resize completed; at
	 * most 60 s */
	while (tu_now() - t0 < 60 && (tu_now() - t0 < 2 || resized < 20)) {
		uint64_t cur = LFD_SCAN_START;

		rec_new_scan(&r);
		do {
			struct lfd_stats s0 = tu_stats(c.d), s1;

			ck_assert_int_eq(slice(c.d, &cur,
					       1 + (size_t)tu_rng_below(&rng, 64),
					       &r),
					 0);
			s1 = tu_stats(c.d);
			if (s0.grows != s1.grows || s0.shrinks != s1.shrinks)
				resized++;
			if (s0.resizing || s1.resizing ||
			    s0.grows != s1.grows || s0.shrinks != s1.shrinks)
				overlapped++;
			slices++;
		} while (cur != LFD_SCAN_END);
		assert_each_once(&r, 0, RACE_PERM);
		ck_assert_int_eq(r.out, 0);
		scans++;
	}
	atomic_store(&c.stop, 1);
	for (int i = 0; i < RACE_THREADS; i++)
		tu_join(t[i]);
	struct lfd_stats st = tu_stats(c.d);
	TU_LOG("race: %ld scans, %ld slices, %ld overlapped a resize (%ld "
	       "saw one complete); %ld churn rounds, %" PRIu64
	       " grows, %" PRIu64 " shrinks\n",
	       scans, slices, overlapped, resized, atomic_load(&c.rounds),
	       st.grows, st.shrinks);
	ck_assert_msg(resized > 0, "no resize completed during a slice");
	rec_fini(&r);
	ck_assert_int_eq(lfd_destroy(c.d), 0);
}
END_TEST

/* --- clear ----------------------------------------------------------- */

START_TEST(test_clear_destructor)
{
	enum { N = 5000 };
	struct lfd_config cfg;
	struct tu_dtor dt;
	struct lfd *d;
	size_t removed = 12345, count;

	tu_cfg_init(&cfg);
	tu_dtor_init(&dt, N + 1);
	tu_dtor_install(&dt, &cfg);
	d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(lfd_clear(d, &removed), 0); /* empty */
	ck_assert_uint_eq(removed, 0);
	for (uint64_t i = 0; i < N; i++)
		put(d, i);
	ck_assert_int_eq(lfd_clear(d, &removed), 0);
	ck_assert_uint_eq(removed, N);
	ck_assert_int_eq(lfd_count(d, &count), 0);
	ck_assert_uint_eq(count, 0);
	ck_assert_int_eq(lfd_barrier(d), 0);
	for (uint64_t i = 0; i < N; i++)
		ck_assert_msg(tu_dtor_calls(&dt, tu_v(i + 1)) == 1,
			      "value %" PRIu64 ": %ld destructor calls", i + 1,
			      tu_dtor_calls(&dt, tu_v(i + 1)));
	ck_assert_int_eq(atomic_load(&dt.total), N);
	for (uint64_t i = 0; i < N; i++) {
		uint64_t id = i;
		ck_assert_int_eq(lfd_get(d, &id, sizeof id, NULL), -ENOENT);
	}
	/* again, NULL removed: nothing left */
	put(d, 7);
	ck_assert_int_eq(lfd_clear(d, NULL), 0);
	ck_assert_int_eq(lfd_count(d, &count), 0);
	ck_assert_uint_eq(count, 0);
	ck_assert_int_eq(lfd_destroy(d), 0);
	ck_assert_int_eq(atomic_load(&dt.total), N + 1);
	tu_dtor_fini(&dt);
}
END_TEST

#define CLEAR_OLD 20000u
#define CLEAR_NEW 200000u

struct clear_race {
	struct lfd *d;
	atomic_int go, stop;
	atomic_uint_fast64_t inserted; /* new ids CLEAR_OLD.. below this */
	atomic_long errors; /* inserts that did not return 0 */
};

/* Inserts new keys, in order, from the start of the clear to its end. */
static void *clear_inserter(void *arg)
{
	struct clear_race *c = arg;
	uint64_t id = CLEAR_OLD;

	while (!atomic_load(&c->go))
		sched_yield();
	while (!atomic_load(&c->stop) && id < CLEAR_OLD + CLEAR_NEW) {
		if (lfd_insert(c->d, &id, sizeof id, tu_v(id + 1), NULL) != 0)
			atomic_fetch_add(&c->errors, 1);
		atomic_store(&c->inserted, ++id);
	}
	return NULL;
}

START_TEST(test_clear_race)
{
	long survived = 0, gone = 0, rounds = 0;
	double t0 = tu_now();

	/* until both outcomes were seen in one round (at most 60 s) */
	while (tu_now() - t0 < 60 && !(survived > 0 && gone > 0)) {
		struct clear_race c = { 0 };
		pthread_t t;
		size_t removed;
		long s = 0, g = 0;
		uint64_t end;

		c.d = tu_new_default();
		ck_assert_ptr_nonnull(c.d);
		atomic_store(&c.inserted, CLEAR_OLD);
		for (uint64_t i = 0; i < CLEAR_OLD; i++)
			put(c.d, i);
		tu_spawn(&t, clear_inserter, &c);
		atomic_store(&c.go, 1);
		ck_assert_int_eq(lfd_clear(c.d, &removed), 0);
		atomic_store(&c.stop, 1);
		tu_join(t);
		end = atomic_load(&c.inserted);
		ck_assert_int_eq(atomic_load(&c.errors), 0);
		/* the old keys: nobody else touched them, all removed */
		for (uint64_t id = 0; id < CLEAR_OLD; id++)
			ck_assert_int_eq(lfd_get(c.d, &id, sizeof id, NULL),
					 -ENOENT);
		/* the new ones: some may survive, some may be removed */
		for (uint64_t id = CLEAR_OLD; id < end; id++) {
			if (lfd_get(c.d, &id, sizeof id, NULL) == 0)
				s++;
			else
				g++;
		}
		ck_assert_uint_eq(removed, CLEAR_OLD + (size_t)g);
		survived += s;
		gone += g;
		rounds++;
		ck_assert_int_eq(lfd_destroy(c.d), 0);
	}
	TU_LOG("clear racing inserts: %ld rounds; new keys that survived "
	       "%ld, removed %ld\n",
	       rounds, survived, gone);
	ck_assert_msg(survived > 0 && gone > 0,
		      "the race did not happen: survived %ld, removed %ld",
		      survived, gone);
}
END_TEST

static Suite *scan_suite(void)
{
	Suite *s = suite_create("lfdict-scan");
	TCase *tc = tcase_create("scan");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_slices);
	tcase_add_test(tc, test_stop);
	tcase_add_test(tc, test_resize_between);
	tcase_add_test(tc, test_equal_hashes);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_race);
	tcase_add_test(tc, test_clear_destructor);
	tcase_add_test(tc, test_clear_race);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(scan_suite(), "test_scan");
}
