/*
 * test_readside.c - the read-side calls keep their contract:
 *  1. an lfd_read_unlock with no section open returns -EINVAL and changes
 *     nothing (5159ee1 returned 0 and underflowed the flavour's nesting
 *     count: every later lfd_barrier of the thread said -EDEADLK, and
 *     other threads' barriers hung), with the default flavour and a
 *     caller's (urcu-memb);
 *  2. a backpressure pause owed by updates made inside a section is taken
 *     where the section ends -- at the end of lfd_foreach for updates made
 *     by its callback, at the outermost lfd_read_unlock for the caller's
 *     own section -- and never by the thread's next, unrelated lock/unlock
 *     pair (5159ee1 left lfd_foreach's on that pair).
 * Whether a call slept is read from the thread's voluntary context
 * switches (getrusage RUSAGE_THREAD): a sleep is one, a preemption is
 * not, so no timing enters the verdict.
 *
 * SPDX-License-Identifier: MIT
 */
#include "testutil.h"

#include <sys/resource.h>

#ifndef LFD_TEST_RCU_PTHREAD
#include <urcu/urcu-memb.h>
#endif

#ifndef LFD_TEST_RCU_PTHREAD /* the pause test: see main() */
static long voluntary_switches(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_THREAD, &ru), 0);
	return ru.ru_nvcsw;
}
#endif

static void unbalanced_unlock_refused(struct lfd *d)
{
	uint64_t k = 7;
	void *v;

	ck_assert_int_eq(lfd_read_unlock(d), -EINVAL);
	/* nothing changed: no section is open, so a barrier may wait */
	ck_assert_int_eq(lfd_barrier(d), 0);
	ck_assert_int_eq(lfd_read_lock(d), 0);
	ck_assert_int_eq(lfd_read_lock(d), 0);
	ck_assert_int_eq(lfd_insert(d, &k, sizeof k, tu_v(7), NULL), 0);
	ck_assert_int_eq(lfd_barrier(d), -EDEADLK); /* inside: refused */
	ck_assert_int_eq(lfd_read_unlock(d), 0);
	ck_assert_int_eq(lfd_read_unlock(d), 0);
	ck_assert_int_eq(lfd_read_unlock(d), -EINVAL);
	ck_assert_int_eq(lfd_pop(d, &k, sizeof k, &v), 0);
	ck_assert_ptr_eq(v, tu_v(7));
	ck_assert_int_eq(lfd_barrier(d), 0);
	ck_assert_int_eq(lfd_destroy(d), 0);
}

START_TEST(unlock_without_lock_default_flavor)
{
	unbalanced_unlock_refused(tu_new_default());
}
END_TEST

#ifndef LFD_TEST_RCU_PTHREAD
START_TEST(unlock_without_lock_memb_flavor)
{
	struct lfd_config cfg;
	struct lfd *d;

	urcu_memb_register_thread();
	memset(&cfg, 0, sizeof cfg);
	cfg.flavor = &urcu_memb_flavor;
	d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(d);
	unbalanced_unlock_refused(d);
	urcu_memb_unregister_thread();
}
END_TEST
#endif

#ifndef LFD_TEST_RCU_PTHREAD /* see main() */
/* Key ids of the entries the walks pop (the churn uses ids above). */
#define WALKED 16

static int pop_visited(void *arg, const void *key, size_t len, void *value)
{
	struct lfd *d = arg;

	(void)value;
	ck_assert_int_eq(lfd_pop(d, key, len, NULL), 0);
	return 0;
}

START_TEST(owed_pause_taken_where_owed)
{
	struct lfd *d = tu_new_default();
	struct tu_stall stall;
	struct lfd_stats st;
	uint64_t k, churn;
	long before, walk_sleeps, pair_sleeps, unlock_sleeps;

	ck_assert_ptr_nonnull(d);
	for (k = 0; k < WALKED; k++)
		ck_assert_int_eq(lfd_insert(d, &k, sizeof k, tu_v(k), NULL), 0);
	/* A stalled reader: retired entries pile up until the backlog is
	 * over its bound (2^20 + count) and updates owe pauses. */
	tu_stall_begin(&stall, d);
	for (churn = WALKED;; churn++) {
		ck_assert_int_eq(lfd_insert(d, &churn, sizeof churn, tu_v(1),
					    NULL), 0);
		ck_assert_int_eq(lfd_pop(d, &churn, sizeof churn, NULL), 0);
		if ((churn & 1023) == 0) {
			ck_assert_int_eq(lfd_stats(d, &st), 0);
			if (st.throttled > 0)
				break;
		}
		ck_assert_msg(churn < ((uint64_t)3 << 20),
			      "no backpressure after %" PRIu64 " pops", churn);
	}
	TU_LOG("backpressure after %" PRIu64 " pops (backlog %zu)\n", churn,
	       st.backlog);

	/* 1. pops from a foreach callback: the pause is the walk's */
	before = voluntary_switches();
	ck_assert_int_eq(lfd_foreach(d, pop_visited, d), 0);
	walk_sleeps = voluntary_switches() - before;
	before = voluntary_switches();
	ck_assert_int_eq(lfd_read_lock(d), 0);
	ck_assert_int_eq(lfd_read_unlock(d), 0);
	pair_sleeps = voluntary_switches() - before;

	/* 2. a pop inside the caller's section: the pause is its unlock's */
	k = 0;
	ck_assert_int_eq(lfd_insert(d, &k, sizeof k, tu_v(0), NULL), 0);
	ck_assert_int_eq(lfd_read_lock(d), 0);
	ck_assert_int_eq(lfd_read_lock(d), 0);
	ck_assert_int_eq(lfd_pop(d, &k, sizeof k, NULL), 0);
	before = voluntary_switches();
	ck_assert_int_eq(lfd_read_unlock(d), 0); /* inner: no pause */
	ck_assert_int_eq(voluntary_switches() - before, 0);
	before = voluntary_switches();
	ck_assert_int_eq(lfd_read_unlock(d), 0);
	unlock_sleeps = voluntary_switches() - before;
	before = voluntary_switches();
	ck_assert_int_eq(lfd_read_lock(d), 0);
	ck_assert_int_eq(lfd_read_unlock(d), 0);
	pair_sleeps += voluntary_switches() - before;

	TU_LOG("sleeps: foreach %ld, its outermost unlock %ld, unrelated "
	       "pairs %ld\n", walk_sleeps, unlock_sleeps, pair_sleeps);
	ck_assert_msg(walk_sleeps >= 1, "the walk's pops owed no pause");
	ck_assert_msg(unlock_sleeps >= 1, "the section's pop owed no pause");
	ck_assert_msg(pair_sleeps == 0,
		      "an unrelated lock/unlock pair slept %ld times",
		      pair_sleeps);
	tu_stall_end(&stall);
	ck_assert_int_eq(lfd_barrier(d), 0);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("lfdict-readside");
	TCase *tc = tcase_create("readside");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, unlock_without_lock_default_flavor);
#ifndef LFD_TEST_RCU_PTHREAD
	tcase_add_test(tc, unlock_without_lock_memb_flavor);
#endif
#ifndef LFD_TEST_RCU_PTHREAD
	/* Needs a reader that stalls grace periods while updates go on: the
	 * ThreadSanitizer build's pthread flavour blocks new readers behind a
	 * waiting grace period, so there the updates would wait for the
	 * stalled reader (the torture skips its stall modes for the same
	 * reason). */
	tcase_add_test(tc, owed_pause_taken_where_owed);
#endif
	suite_add_tcase(s, tc);
	return tu_run_suite(s, "test_readside");
}
