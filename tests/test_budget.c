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
 * handover_*: a dictionary without a value destructor hands chains of
 * popped entries to the allocator unfreed (slab.c, "Handed-over chains"),
 * where they wait for inserts.  lfd_barrier must still free every one of
 * them, the callback must free them once the updates stop, and a
 * dictionary that retired a big entry must never hand over again.  These
 * tests reach inside to see handed-over items waiting (they fail if the
 * case never came) and the switch that turns hand-over off.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* before any system header: testutil.h needs it */
#include "api.h" /* lib/: first, as in lib/dict.c */

#include <check.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* The handed-over items waiting now: in raw_chains or a stripe's raw
 * stack (relaxed: the tests read them between their own calls). */
static bool raw_waiting(struct lfd *d)
{
	if (lfd_a_load(&d->raw_chains, memory_order_relaxed) != 0)
		return true;
	for (unsigned i = 0; i < d->nstripes; i++)
		if (lfd_a_load(&d->stripes[i].raw, memory_order_relaxed) != 0)
			return true;
	return false;
}

#ifdef LFD_TEST_RCU_PTHREAD
/* A callback that keeps the test flavour's one callback thread until
 * released: callbacks queued meanwhile wait behind it.  Static: the test
 * need not wait for it to return; the next use waits. */
struct cb_block {
	struct rcu_head head;
	atomic_int running, release, done;
};
static struct cb_block blocks[3] = { { .done = 1 }, { .done = 1 },
				     { .done = 1 } };

static void cb_block_fn(struct rcu_head *head)
{
	struct cb_block *b = LFD_CONTAINER_OF(head, struct cb_block, head);

	atomic_store(&b->running, 1);
	while (!atomic_load(&b->release))
		usleep(100);
	atomic_store(&b->done, 1); /* its last touch of b */
}

static void cb_block_queue(struct lfd *d, struct cb_block *b)
{
	while (!atomic_load(&b->done))
		usleep(100);
	atomic_store(&b->running, 0);
	atomic_store(&b->release, 0);
	atomic_store(&b->done, 0);
	d->flavor->update_call_rcu(&b->head, cb_block_fn);
}

static void cb_block_wait_running(struct cb_block *b)
{
	while (!atomic_load(&b->running))
		usleep(100);
}
#endif

/* Insert and pop `n` entries of `klen`-byte keys (bytes from `fill`, the
 * index in the first 4). */
static void insert_pop(struct lfd *d, size_t klen, int fill, uint32_t n)
{
	unsigned char key[64];

	ck_assert_uint_le(klen, sizeof key);
	memset(key, fill, sizeof key);
	for (uint32_t i = 0; i < n; i++) {
		memcpy(key, &i, sizeof i);
		ck_assert_int_eq(lfd_insert(d, key, klen, tu_v(i), NULL), 0);
	}
	for (uint32_t i = 0; i < n; i++) {
		memcpy(key, &i, sizeof i);
		ck_assert_int_eq(lfd_pop(d, key, klen, NULL), 0);
	}
}

/* Make one batch of retired entries (n entries of klen-byte keys, see
 * insert_pop) that its callback frees only in part, leaving the rest in
 * the ready slots for the updates that follow to help with: the
 * callback frees one item budget when something was retired after its
 * batch was taken (lfd_retire_cb).  With liburcu, a reader stalls grace
 * periods while the batch is made; updates then run while the callback
 * waits for its grace period.  The test's pthread flavour prefers writers
 * (a grace period waiting for a stalled reader blocks the test's own next
 * section), so there callbacks that hold its one callback thread order
 * it: the batch is made behind the first; the second holds the thread
 * once the callback before the batch's has run, and one more entry is
 * retired then; the third holds it once the batch's callback has run, so
 * that no later callback frees the rest before the test's updates take
 * it -- until batch_release, which the test calls before anything that
 * waits for a callback. */
#ifdef LFD_TEST_RCU_PTHREAD
/* With the pthread flavour (see batch_of_pops): hold the callback thread
 * while retired entries pile up ... */
static void pile_begin(struct lfd *d)
{
	cb_block_queue(d, &blocks[0]);
	cb_block_wait_running(&blocks[0]);
}

/* ... then let the callback before the pile run (it takes the pile as
 * the next batch), retire one more entry (klen-byte key from fill; none if
 * klen is 0: other threads retire), let the pile's callback run (one item
 * budget: something was retired after its batch was taken) and hold the
 * thread again, behind it, until batch_release. */
static void pile_end(struct lfd *d, size_t klen, int fill)
{
	cb_block_queue(d, &blocks[1]);
	atomic_store(&blocks[0].release, 1);
	cb_block_wait_running(&blocks[1]);
	if (klen != 0)
		insert_pop(d, klen, fill, 1);
	cb_block_queue(d, &blocks[2]);
	atomic_store(&blocks[1].release, 1);
	cb_block_wait_running(&blocks[2]);
}
#endif

static void batch_of_pops(struct lfd *d, size_t klen, int fill, uint32_t n)
{
#ifdef LFD_TEST_RCU_PTHREAD
	pile_begin(d);
	insert_pop(d, klen, fill, n);
	pile_end(d, klen, fill + 1);
#else
	struct tu_stall stall;

	tu_stall_begin(&stall, d);
	insert_pop(d, klen, fill, n);
	tu_stall_end(&stall);
#endif
}

static void batch_release(void)
{
#ifdef LFD_TEST_RCU_PTHREAD
	atomic_store(&blocks[2].release, 1);
#endif
}

/* Pop and insert again small keys 0..small-1 (all present) until
 * handed-over items wait, at most `max` times; whether they do.  Each
 * round runs in a read-side section of the test's, so that no callback
 * frees handed-over items (when no update helps, lfd_retire_cb) between
 * the pop that handed them over and the look.  Then batch_release. */
static bool churn_until_raw(struct lfd *d, uint64_t small, uint32_t max)
{
	bool seen = false;

	for (uint32_t i = 0; i < max && !seen; i++) {
		uint64_t k = i % small;

		ck_assert_int_eq(lfd_read_lock(d), 0);
		ck_assert_int_eq(lfd_pop(d, &k, sizeof k, NULL), 0);
		ck_assert_int_eq(lfd_insert(d, &k, sizeof k, tu_v(k), NULL),
				 0);
		seen = raw_waiting(d);
		ck_assert_int_eq(lfd_read_unlock(d), 0);
	}
	batch_release();
	return seen;
}

static void assert_small_keys(struct lfd *d, uint64_t small)
{
	for (uint64_t k = 0; k < small; k++) {
		void *v = NULL;

		ck_assert_int_eq(lfd_get(d, &k, sizeof k, &v), 0);
		ck_assert_ptr_eq(v, tu_v(k));
	}
}

/*
 * handover_drained: entries of 32-byte keys (another slab class than the
 * 8-byte keys) popped in one batch; then small keys popped and inserted
 * again: the pops help, taking the batch's rest from the ready slots and
 * handing it over, and the inserts take handed-over items (freeing the
 * other class's they meet).  lfd_barrier must leave no handed-over item
 * and a backlog of 0.  Fails if no handed-over item waited before the
 * barrier in ROUNDS rounds.
 */
START_TEST(handover_drained)
{
	enum { SMALL = 2000, MID = 2000, MID_KLEN = 32, ROUNDS = 3 };
	struct lfd_config cfg;
	struct lfd_stats st;
	int seen = 0, rounds = 0;
	double end = tu_now() + 30.0;

	tu_cfg_init(&cfg);
	struct lfd *d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_ne(lfd_slab_class(d, MID_KLEN),
			 lfd_slab_class(d, sizeof(uint64_t)));
	for (uint64_t k = 0; k < SMALL; k++)
		ck_assert_int_eq(lfd_insert(d, &k, sizeof k, tu_v(k), NULL), 0);
	while (seen < ROUNDS && tu_now() < end) {
		rounds++;
		batch_of_pops(d, MID_KLEN, 'm', MID);
		if (!churn_until_raw(d, SMALL, 200000))
			continue;
		seen++;
		ck_assert_int_eq(lfd_barrier(d), 0);
		ck_assert_msg(!raw_waiting(d), "handed-over items left after "
			      "lfd_barrier (round %d)", rounds);
		ck_assert_int_eq(lfd_stats(d, &st), 0);
		ck_assert_uint_eq(st.backlog, 0);
	}
	TU_LOG("handover_drained: handed-over items before the barrier in %d "
	       "of %d rounds\n", seen, rounds);
	ck_assert_msg(seen == ROUNDS, "handed-over items seen before the "
		      "barrier in %d rounds of %d (need %d)", seen, rounds,
		      ROUNDS);
	assert_small_keys(d, SMALL);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/* handover_off_after_big's allocator: tu_alloc's, counting the live
 * entries of its big keys (the only allocations of that size) */
enum { BIG_KLEN = 64 };
static atomic_long big_live;

static bool is_big_entry(size_t size)
{
	return size == sizeof(struct lfd_entry) + BIG_KLEN;
}

static void *big_alloc(size_t size, void *arg)
{
	void *p = tu_alloc_fn(size, arg);

	if (p != NULL && is_big_entry(size))
		atomic_fetch_add(&big_live, 1);
	return p;
}

static void big_free(void *p, size_t size, void *arg)
{
	if (p != NULL && is_big_entry(size))
		atomic_fetch_sub(&big_live, 1);
	tu_free_fn(p, size, arg);
}

/*
 * handover_off_after_big: a big entry (not a slab slot) may not be handed
 * over -- it would be freed while a stale popper still reads it (slab.c,
 * "Handed-over chains").  The dictionary hands over while its keys are
 * small (the test needs to see it); once a big entry has been retired it
 * never does again: the next rounds of pops of big entries and churn of
 * small keys leave no handed-over item, ever, and lfd_barrier frees every
 * big entry.
 */
START_TEST(handover_off_after_big)
{
	enum { SMALL = 2000, BIG = 2000, ROUNDS = 3 };
	struct lfd_config cfg;
	struct tu_alloc al;
	struct lfd_stats st;
	double end = tu_now() + 30.0;
	int tries = 0;

	tu_cfg_init(&cfg);
	tu_alloc_init(&al);
	cfg.alloc = big_alloc;
	cfg.free = big_free;
	cfg.alloc_arg = &al;
	struct lfd *d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_lt(lfd_slab_class(d, BIG_KLEN), 0);
	for (uint64_t k = 0; k < SMALL; k++)
		ck_assert_int_eq(lfd_insert(d, &k, sizeof k, tu_v(k), NULL), 0);
	do {
		tries++;
		batch_of_pops(d, sizeof(uint64_t), 's', SMALL);
	} while (!churn_until_raw(d, SMALL, 200000) && tu_now() < end);
	ck_assert_msg(raw_waiting(d), "no hand-over with small keys (%d "
		      "tries)", tries);
	ck_assert_int_eq(lfd_barrier(d), 0);
	for (int r = 0; r < ROUNDS; r++) {
		batch_of_pops(d, BIG_KLEN, 'b', BIG);
		ck_assert_int_eq(lfd_a_load(&d->raw_off, memory_order_relaxed),
				 1);
		ck_assert_msg(!churn_until_raw(d, SMALL, 20000),
			      "items handed over after a big entry was "
			      "retired (round %d)", r);
		ck_assert_int_eq(lfd_barrier(d), 0);
		ck_assert_int_eq(lfd_stats(d, &st), 0);
		ck_assert_uint_eq(st.backlog, 0);
		ck_assert_msg(atomic_load(&big_live) == 0,
			      "%ld popped big entries not freed by lfd_barrier "
			      "(round %d)", atomic_load(&big_live), r);
	}
	assert_small_keys(d, SMALL);
	ck_assert_int_eq(lfd_destroy(d), 0);
	tu_alloc_assert_clean(&al);
}
END_TEST

/* Handed-over items wait for inserts; when the updates stop, the callback
 * frees them (lfd_retire_cb, alone): the backlog drains to 0 without a
 * barrier.  Fails if no handed-over item was waiting when the updates
 * stopped, or if the backlog stays above 0 for 20 s. */
START_TEST(handover_freed_when_idle)
{
	enum { N = 4000 };
	struct lfd_config cfg;
	struct lfd_stats st;
	double end = tu_now() + 30.0;
	int tries = 0;

	tu_cfg_init(&cfg);
	struct lfd *d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(d);
	for (uint64_t k = 0; k < N; k++)
		ck_assert_int_eq(lfd_insert(d, &k, sizeof k, tu_v(k), NULL), 0);
	do {
		tries++;
		batch_of_pops(d, sizeof(uint64_t), 'i', N);
	} while (!churn_until_raw(d, N, 100 * N) && tu_now() < end);
	ck_assert_msg(raw_waiting(d), "no handed-over item after %d tries",
		      tries);
	double t0 = tu_now();
	do
		ck_assert_int_eq(lfd_stats(d, &st), 0);
	while ((st.backlog != 0 || raw_waiting(d)) && tu_now() < t0 + 20.0 &&
	       sched_yield() == 0);
	TU_LOG("handover_freed_when_idle: backlog %zu, %.3f s after the "
	       "updates stopped (%d tries)\n", st.backlog, tu_now() - t0,
	       tries);
	ck_assert_uint_eq(st.backlog, 0);
	ck_assert(!raw_waiting(d));
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/*
 * handover_many_threads: threads on a dictionary without a value
 * destructor pop their own keys and insert them again with a new version,
 * so that helpers hand chains over while other threads' allocations pop
 * them, refill from them and meet items of another class (one thread's
 * keys are 32 bytes), and the main thread calls lfd_barrier now and then
 * (its drain takes whole stacks from under the poppers).  Every pop must
 * return the version its thread inserted last (an item given to two
 * entries would break that, and show under ASan and TSan); at the end
 * every key is there with its last version, lfd_barrier leaves no
 * handed-over item and a backlog of 0, and no update paused (the pile of
 * handed-over items stays small).  Fails if the main thread never saw
 * handed-over items waiting.
 */
enum { MT_THREADS = 4, MT_KEYS = 512 };
struct mt_arg {
	struct lfd *d;
	unsigned id;
	atomic_int *stop;
	uint64_t ops;
};

static void mt_key(const struct mt_arg *a, uint64_t i, unsigned char *key,
		   size_t *klen)
{
	uint64_t k = a->id * (uint64_t)MT_KEYS + i;

	*klen = a->id == MT_THREADS - 1 ? 32 : sizeof k;
	memset(key, 'k', 32);
	memcpy(key, &k, sizeof k);
}

static void *mt_worker(void *arg)
{
	struct mt_arg *a = arg;
	uint64_t version[MT_KEYS];
	unsigned char key[32];
	size_t klen;

	for (uint64_t i = 0; i < MT_KEYS; i++) {
		mt_key(a, i, key, &klen);
		version[i] = 1;
		ck_assert_int_eq(lfd_insert(a->d, key, klen,
					    tu_v(i << 20 | 1), NULL), 0);
	}
	for (uint64_t n = 0; !atomic_load(a->stop); n++) {
		uint64_t i = n % MT_KEYS;
		void *v = NULL;

		mt_key(a, i, key, &klen);
		ck_assert_int_eq(lfd_pop(a->d, key, klen, &v), 0);
		ck_assert_msg(v == tu_v(i << 20 | version[i]),
			      "thread %u key %" PRIu64 ": popped %p, inserted "
			      "%p", a->id, i, v, tu_v(i << 20 | version[i]));
		version[i] = version[i] % 0xfffff + 1;
		ck_assert_int_eq(lfd_insert(a->d, key, klen,
					    tu_v(i << 20 | version[i]), NULL),
				 0);
		a->ops++;
	}
	for (uint64_t i = 0; i < MT_KEYS; i++) {
		void *v = NULL;

		mt_key(a, i, key, &klen);
		ck_assert_int_eq(lfd_get(a->d, key, klen, &v), 0);
		ck_assert_ptr_eq(v, tu_v(i << 20 | version[i]));
	}
	return NULL;
}

START_TEST(handover_many_threads)
{
	struct lfd_config cfg;
	struct lfd_stats st;
	struct mt_arg args[MT_THREADS];
	pthread_t t[MT_THREADS];
	atomic_int stop;
	int seen = 0, samples = 0, barriers = 0;
	uint64_t ops = 0;
	double end = tu_now() + 20.0, min_end = tu_now() + 1.0;

	tu_cfg_init(&cfg);
	struct lfd *d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(d);
	atomic_init(&stop, 0);
	for (unsigned i = 0; i < MT_THREADS; i++) {
		args[i] = (struct mt_arg){ d, i, &stop, 0 };
		tu_spawn(&t[i], mt_worker, &args[i]);
	}
	/* at least 1 s, and until handed-over items were seen 20 times; a
	 * barrier every 100 looks */
	for (int i = 1; tu_now() < end && (seen < 20 || tu_now() < min_end);
	     i++) {
#ifdef LFD_TEST_RCU_PTHREAD
		/* The test flavour's grace periods take no time: its callback
		 * frees every batch whole, and no chain is left to help with.
		 * Every 100 looks: hold its callback thread for 60 ms (a pile
		 * as under liburcu), let the pile's callback run, and hold it
		 * again for the next 20 looks (no later callback frees the
		 * pile's rest before the workers take it). */
		if (i % 100 == 1) {
			pile_begin(d);
			usleep(60000);
			pile_end(d, 0, 0);
		} else if (i % 100 == 21) {
			batch_release();
		}
#endif
		usleep(1000);
		samples++;
		seen += raw_waiting(d);
		if (i % 100 == 50) {
			ck_assert_int_eq(lfd_barrier(d), 0);
			barriers++;
		}
	}
	batch_release();
	atomic_store(&stop, 1);
	for (unsigned i = 0; i < MT_THREADS; i++) {
		tu_join(t[i]);
		ops += args[i].ops;
	}
	ck_assert_int_eq(lfd_barrier(d), 0);
	ck_assert(!raw_waiting(d));
	ck_assert_int_eq(lfd_stats(d, &st), 0);
	TU_LOG("handover_many_threads: %" PRIu64 " pop+insert, handed-over "
	       "items in %d of %d samples, %d barriers, raw_off %d, "
	       "throttled %" PRIu64 "\n", ops, seen, samples, barriers,
	       lfd_a_load(&d->raw_off, memory_order_relaxed), st.throttled);
	ck_assert_uint_eq(st.backlog, 0);
	ck_assert_uint_eq(st.throttled, 0);
	ck_assert_uint_eq(st.count, MT_THREADS * MT_KEYS);
	ck_assert_msg(seen > 0, "no handed-over item seen in %d samples",
		      samples);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/*
 * A flavour whose callbacks run only when the test says (manual_run) or
 * when the library waits (its barrier runs them all): the test's thread
 * is the only one, so every callback's grace period has ended whenever it
 * runs.  It lets the tests below arrange the reclaim pipeline's state one
 * callback at a time.
 */
enum { MANUAL_MAX = 64 };
static struct {
	struct rcu_head *head[MANUAL_MAX];
	void (*func[MANUAL_MAX])(struct rcu_head *);
	unsigned first, n;
	unsigned long queued; /* callbacks ever queued */
} manual;
static struct rcu_flavor_struct manual_flavor;

static void manual_nop(void)
{
}

static int manual_ongoing(void)
{
	return 0;
}

static void manual_call(struct rcu_head *head, void (*func)(struct rcu_head *))
{
	unsigned i = (manual.first + manual.n) % MANUAL_MAX;

	ck_assert_uint_lt(manual.n, MANUAL_MAX);
	manual.head[i] = head;
	manual.func[i] = func;
	manual.n++;
	manual.queued++;
}

/* Run the oldest queued callback (it may queue more); false if none. */
static bool manual_run(void)
{
	unsigned i = manual.first;

	if (manual.n == 0)
		return false;
	manual.first = (i + 1) % MANUAL_MAX;
	manual.n--;
	manual.func[i](manual.head[i]);
	return true;
}

static void manual_barrier(void)
{
	while (manual_run())
		;
}

static struct lfd *manual_new(void)
{
	struct lfd_config cfg;

	memset(&manual, 0, sizeof manual);
	manual_flavor.read_lock = manual_nop;
	manual_flavor.read_unlock = manual_nop;
	manual_flavor.read_ongoing = manual_ongoing;
	manual_flavor.update_call_rcu = manual_call;
	manual_flavor.barrier = manual_barrier;
	tu_cfg_init(&cfg);
	cfg.flavor = &manual_flavor;
	/* no resize: the only callbacks are the reclaim layer's */
	cfg.flags = LFD_FIXED_SIZE;
	cfg.capacity = 8192;
	struct lfd *d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(d);
	return d;
}

/* Run the reclaim callback queued first: true if there was one. */
static bool manual_run_retire(struct lfd *d)
{
	if (manual.n == 0)
		return false;
	ck_assert_ptr_eq(manual.head[manual.first], &d->retire_head);
	return manual_run();
}

/* The handed-over items waiting now (see raw_waiting), counted. */
static unsigned long raw_items(struct lfd *d)
{
	unsigned long n = 0;
	uintptr_t h = lfd_a_load(&d->raw_chains, memory_order_relaxed), w;

	for (; h != 0; h = lfd_slab_raw_next(h))
		for (w = h; w != 0; w = lfd_item_next(w))
			n++;
	for (unsigned i = 0; i < d->nstripes; i++)
		for (w = lfd_a_load(&d->stripes[i].raw, memory_order_relaxed);
		     w != 0; w = lfd_item_next(w))
			n++;
	return n;
}

static void pop_keys(struct lfd *d, uint64_t from, uint64_t to)
{
	for (uint64_t k = from; k < to; k++)
		ck_assert_int_eq(lfd_pop(d, &k, sizeof k, NULL), 0);
}

/* Keys [from, from + n + 2) present, no callback queued: pop n of them
 * (the first pop's callback takes a batch of one entry, the rest wait on
 * the retire stacks), run that callback (it takes the others), pop one
 * more (retired after that batch was taken, so the next run frees one
 * item budget and leaves the rest in a ready slot), run it, and pop one
 * more: it helps, and hands the slot's chain over.  Returns the items
 * handed over. */
static unsigned long make_pile(struct lfd *d, uint64_t from, uint64_t n)
{
	unsigned long pile;

	ck_assert_uint_eq(manual.n, 0);
	pop_keys(d, from, from + n);
	ck_assert(manual_run_retire(d));
	pop_keys(d, from + n, from + n + 1);
	ck_assert(manual_run_retire(d));
	ck_assert_int_gt(lfd_a_load(&d->ready_count, memory_order_relaxed), 0);
	ck_assert(!raw_waiting(d));
	pop_keys(d, from + n + 1, from + n + 2);
	pile = raw_items(d);
	ck_assert_msg(pile > 1000, "handed over: %lu items", pile);
	return pile;
}

static struct lfd *watched;
static unsigned long watched_raw_min;

static void manual_watch_barrier(void)
{
	while (manual_run()) {
		unsigned long n = raw_items(watched);

		if (n < watched_raw_min)
			watched_raw_min = n;
	}
}

/*
 * handover_drained_when_throttled: while the backlog is over its bound,
 * the callback frees handed-over items even when the batch it took is
 * more than its item budget (with more pops than inserts nothing else
 * frees them, and they would hold the backlog over its bound).  Step by
 * step, one callback at a time: a pile is made (make_pile), and then,
 * with the throttle on (set by the test: a real one needs a backlog of a
 * million items) and a batch of 1,500 items, one run must free items of
 * the pile.  Version 0.3.4 freed none there.  lfd_barrier takes a grace
 * period more once something was handed over (an insert may hold items
 * of another size) than for a dictionary that never handed any over
 * (0.3.4 took it in both).  lfd_destroy leaves a pile to lfd_slab_fini,
 * which frees its blocks whole (0.3.4's callbacks freed it item by item
 * first); AddressSanitizer's leak check sees that nothing is lost.
 */
START_TEST(handover_drained_when_throttled)
{
	enum { A = 3000, B = 1502, C = 3000 };
	struct lfd_stats st;
	unsigned long pile, queued, plain;
	struct lfd *d = manual_new();

	for (uint64_t k = 0; k < A + 2 + B + C + 2; k++)
		ck_assert_int_eq(lfd_insert(d, &k, sizeof k, tu_v(k), NULL), 0);
	manual_barrier();
	/* lfd_barrier's grace periods with nothing ever handed over */
	queued = manual.queued;
	ck_assert_int_eq(lfd_barrier(d), 0);
	plain = manual.queued - queued;

	pile = make_pile(d, 0, A);
	pop_keys(d, A + 2, A + 2 + B);
	ck_assert(manual_run_retire(d)); /* a batch of one: nothing left over */
	/* now a batch of B waits; the throttle is on, and a helper took a
	 * chain since the last run (not alone) */
	lfd_a_store(&d->throttle, 1, memory_order_relaxed);
	lfd_a_fetch_add(&d->help_taken, 1ul, memory_order_relaxed);
	ck_assert(manual_run_retire(d));
	TU_LOG("handover_drained_when_throttled: %lu items handed over, %lu "
	       "after one throttled run\n", pile, raw_items(d));
	ck_assert_msg(raw_items(d) < pile, "a throttled run with a full batch "
		      "freed no handed-over item (%lu waiting)", pile);
	/* lfd_barrier drains the rest; its grace periods now: one more */
	manual_barrier();
	queued = manual.queued;
	ck_assert_int_eq(lfd_barrier(d), 0);
	ck_assert_uint_eq(manual.queued - queued, plain + 1);
	ck_assert(!raw_waiting(d));
	ck_assert_int_eq(lfd_stats(d, &st), 0);
	ck_assert_uint_eq(st.backlog, 0);
	ck_assert_uint_eq(st.count, C + 2);

	/* a pile again, and lfd_destroy with it */
	pile = make_pile(d, A + 2 + B, C);
	watched = d;
	watched_raw_min = pile;
	manual_flavor.barrier = manual_watch_barrier;
	ck_assert_int_eq(lfd_destroy(d), 0);
	manual_flavor.barrier = manual_barrier;
	ck_assert_msg(watched_raw_min == pile, "lfd_destroy's callbacks freed "
		      "handed-over items one by one (%lu of %lu left)",
		      watched_raw_min, pile);
}
END_TEST

#ifndef LFD_TEST_RCU_PTHREAD /* ThreadSanitizer: no multithreaded fork */
/*
 * fork_after_backoff: a helper or a refill counts itself in
 * reclaim_helpers, sees a waiter and backs off -- a window of two
 * instructions, which a fork's prepare (lfd_fork_prepare: announce, wait
 * until no helper is counted) does not close: a thread can enter it after
 * the wait and before the fork, and the child then inherits a count that
 * no thread of its own will drop; its lfd_barrier waited for ever (the
 * torture's fork mode without a destructor met it: a child hung).  The
 * window is made here on purpose: an atfork prepare handler registered
 * before lfdict's (so it runs after lfdict's prepare) counts a helper
 * that the parent's handler uncounts, as the backing-off thread would;
 * the child must finish lfd_barrier and lfd_destroy within 10 s.  Reaches
 * inside for the count (the window cannot be hit on purpose otherwise).
 */
static struct lfd *fork_inject;
static int fork_injected;

static void inject_prepare(void)
{
	if (fork_inject == NULL)
		return;
	/* seq_cst: as lfd_raw_refill's count of itself */
	lfd_a_fetch_add(&fork_inject->reclaim_helpers, 1, memory_order_seq_cst);
	fork_injected++;
}

static void inject_parent(void)
{
	if (fork_inject != NULL)
		/* release: as lfd_raw_refill's drop */
		lfd_a_fetch_add(&fork_inject->reclaim_helpers, -1,
				memory_order_release);
}

START_TEST(fork_after_backoff)
{
	struct lfd *d = lfd_new(NULL);
	int status;
	pid_t pid;

	ck_assert_ptr_nonnull(d);
	for (uint64_t k = 0; k < 1000; k++)
		ck_assert_int_eq(lfd_insert(d, &k, sizeof k, tu_v(k), NULL), 0);
	for (uint64_t k = 0; k < 1000; k += 2)
		ck_assert_int_eq(lfd_pop(d, &k, sizeof k, NULL), 0);
	fork_inject = d;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* (Check's own SIGALRM handler would kill the test's whole
		 * process group) */
		signal(SIGALRM, SIG_DFL);
		alarm(10);
		_exit(lfd_barrier(d) == 0 && lfd_destroy(d) == 0 ? 0 : 1);
	}
	fork_inject = NULL;
	ck_assert_int_eq(fork_injected, 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(!WIFSIGNALED(status) || WTERMSIG(status) != SIGALRM,
		      "the child hung in lfd_barrier (a helper count "
		      "inherited from the fork)");
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(lfd_barrier(d), 0);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("lfdict-budget");
	TCase *tc = tcase_create("budget");

#ifndef LFD_TEST_RCU_PTHREAD
	/* first, before any lfd_new: runs after lfdict's prepare */
	if (pthread_atfork(inject_prepare, inject_parent, NULL) != 0)
		return 1;
#endif

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, help_budget_is_exact);
	tcase_add_test(tc, handover_drained);
	tcase_add_test(tc, handover_off_after_big);
	tcase_add_test(tc, handover_freed_when_idle);
	tcase_add_test(tc, handover_many_threads);
	tcase_add_test(tc, handover_drained_when_throttled);
#ifndef LFD_TEST_RCU_PTHREAD /* ThreadSanitizer: no multithreaded fork */
	tcase_add_test(tc, fork_after_backoff);
#endif
	suite_add_tcase(s, tc);
	return tu_run_suite(s, "test_budget");
}
