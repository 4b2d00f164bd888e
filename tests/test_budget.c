/*
 * test_budget.c - white-box: an update runs at most LFD_HELP_BUDGET (32)
 * value destructors of earlier departures, even when it cannot put the
 * rest of the chain it took back into a ready slot.
 *
 * Why it reaches inside: the case needs every one of the 16 ready slots
 * full at the instant the helper puts its chain back, which only a race
 * of many helpers and callbacks produces, rarely.  So the test compiles
 * lib/'s sources into itself, with lib/'s headers, fills the slots with
 * chains of records it builds, stalls grace periods (no callback runs),
 * and has the value destructor refill the slot the helper emptied, from
 * inside the helper's own run.  The version of 5159ee1 freed the whole
 * chain (100 destructors) in one lfd_pop; now it frees 32 and gives the
 * rest back to the retire stack.  Every record's destructor still runs
 * exactly once by lfd_destroy.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* before any system header: testutil.h needs it */
#include "api.h" /* lib/: first, as in lib/dict.c */

#include <check.h>

#include "testutil.h"

#define CHAIN 100
#define SLOTS LFD_READY_SLOTS

static const char record_token, entry_token;
static atomic_long record_calls;
static _Thread_local long my_calls; /* destructors run by this thread */
static _Thread_local int refill_here; /* armed on the test's thread */
static struct lfd *the_d;
static atomic_long refilled;

static uintptr_t chain_new(struct lfd *d)
{
	uintptr_t head = 0;

	for (int i = 0; i < CHAIN; i++) {
		struct lfd_retired *r = lfd_record_alloc(d);

		ck_assert_ptr_nonnull(r);
		r->kind = LFD_KIND_RECORD;
		r->value = (void *)&record_token;
		/* a chain's link words: next item | both tags (reclaim.c) */
		lfd_a_store(&r->link, head | LFD_LINK_TAGS,
			    memory_order_relaxed);
		head = (uintptr_t)r;
	}
	lfd_backlog_add(d, CHAIN);
	return head;
}

/* Fill every empty ready slot, as lfd_ready_put does (count first). */
static long slots_fill(struct lfd *d)
{
	long n = 0;

	for (unsigned i = 0; i < SLOTS; i++) {
		uintptr_t empty = 0, c;

		if (lfd_a_load(&d->ready[i], memory_order_relaxed) != 0)
			continue;
		c = chain_new(d);
		lfd_a_fetch_add(&d->ready_count, 1, memory_order_seq_cst);
		if (lfd_a_cas(&d->ready[i], &empty, c, memory_order_release,
			      memory_order_relaxed))
			n++;
		else
			ck_abort_msg("slot %u filled under the test", i);
	}
	return n;
}

static unsigned slots_full(struct lfd *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SLOTS; i++)
		n += lfd_a_load(&d->ready[i], memory_order_acquire) != 0;
	return n;
}

static void dtor(void *value, void *arg)
{
	(void)arg;
	if (value == &record_token) {
		atomic_fetch_add(&record_calls, 1);
		my_calls++;
	} else {
		ck_assert_ptr_eq(value, &entry_token);
	}
	if (refill_here) {
		/* Inside the helper's run: the slot it took is empty now;
		 * fill it, so that its put-back finds all 16 full. */
		refill_here = 0;
		atomic_fetch_add(&refilled, slots_fill(the_d));
	}
}

START_TEST(help_budget_is_exact)
{
	struct lfd_config cfg;
	struct tu_stall stall;
	uint64_t k = 1;
	long before, filled;

	tu_cfg_init(&cfg);
	cfg.value_free = dtor;
	the_d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(the_d);
	/* No grace period ends while the slots are arranged: no callback
	 * takes a chain behind the test's back. */
	tu_stall_begin(&stall, the_d);
	filled = slots_fill(the_d);
	ck_assert_int_eq(filled, SLOTS);
	ck_assert_int_eq(lfd_insert(the_d, &k, sizeof k, (void *)&entry_token,
				    NULL), 0);
	before = my_calls;
	refill_here = 1;
	/* The pop retires its entry, then helps: takes a chain of CHAIN,
	 * frees a budget, and finds every slot full when it gives back. */
	ck_assert_int_eq(lfd_pop(the_d, &k, sizeof k, NULL), 0);
	ck_assert_msg(refill_here == 0 && atomic_load(&refilled) == 1,
		      "the helper's run did not happen as arranged "
		      "(refilled %ld)", atomic_load(&refilled));
	ck_assert_uint_eq(slots_full(the_d), SLOTS);
	ck_assert_msg(my_calls - before == 32,
		      "one lfd_pop ran %ld destructors (bound: 32)",
		      my_calls - before);
	tu_stall_end(&stall);
	ck_assert_int_eq(lfd_destroy(the_d), 0);
	/* every record's destructor once: 17 chains */
	ck_assert_int_eq(atomic_load(&record_calls), (SLOTS + 1) * CHAIN);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lfdict-budget");
	TCase *tc = tcase_create("budget");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, help_budget_is_exact);
	suite_add_tcase(s, tc);
	return tu_run_suite(s, "test_budget");
}
