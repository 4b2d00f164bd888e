/*
 * test_alloc_fail.c - allocation failures.  With the fault-injecting
 * allocator, an insert-heavy sequence (lfd_new, inserts, sets, replaces,
 * cas, pops, with a value destructor configured) is run once per
 * allocation, failing the 1st, then the 2nd, ... allocation, until a run
 * completes with no failure injected.  Every failed call must return
 * -ENOMEM (lfd_new: NULL with errno ENOMEM), write no output and change
 * nothing (compared with a plain sequential model); the dictionary stays
 * consistent; after lfd_destroy nothing is leaked and every value that was
 * ever stored has been destroyed exactly once, no other.
 *
 * Resizes run asynchronously in RCU callbacks; a failed allocation there
 * only postpones the resize, so lfd_barrier() is called before checking the
 * bucket count.
 *
 * SPDX-License-Identifier: MIT
 */
#include "testutil.h"

enum {
	K = 96,	   /* key ids */
	NOPS = 420, /* calls per run */
	MAXV = NOPS * 2 + 16,
};

enum kind { K_INSERT, K_SET, K_REPLACE, K_CAS, K_POP, K_POP_IF, K_GET, NKINDS };
static const char *const kind_name[] = { "insert", "set", "replace", "cas",
					 "pop",	   "pop_if", "get" };

struct totals {
	long runs;
	long new_failed;   /* runs where lfd_new failed */
	long enomem;	   /* calls that returned -ENOMEM */
	long silent;	   /* runs where the failure hit no call (resizes) */
	long max_allocs;   /* allocation calls of a run with no failure */
	long max_calls;	   /* allocation calls of any run */
	long enomem_by_kind[NKINDS];
};

/* The call sequence: the same in every run (its random choices use a
 * fixed stream and do not depend on outcomes). */
static void pick(struct tu_rng *r, int op, enum kind *kind, size_t *id)
{
	if (op < 110) { /* fill: grows */
		*kind = K_INSERT;
		*id = (size_t)op % K;
	} else if (op < 320) { /* everything, at random */
		*kind = (enum kind)tu_rng_below(r, NKINDS);
		*id = (size_t)tu_rng_below(r, K);
	} else if (op < 390) { /* drain: shrinks */
		*kind = K_POP;
		*id = (size_t)(op - 320);
	} else { /* refill with set */
		*kind = K_SET;
		*id = (size_t)(op - 390);
	}
}

/* One run with the nth allocation failing (0: none).  Returns whether a
 * failure was injected. */
static bool run_once(long nth, struct totals *tot)
{
	struct tu_alloc *al = malloc(sizeof *al);
	struct tu_dtor *dt = malloc(sizeof *dt);
	unsigned char *stored = calloc(MAXV, 1);
	struct tu_model m;
	struct tu_rng r;
	struct lfd_config c;
	char k[TU_KEYBUF];

	ck_assert_ptr_nonnull(al);
	ck_assert_ptr_nonnull(dt);
	ck_assert_ptr_nonnull(stored);
	tu_alloc_init(al);
	tu_dtor_init(dt, MAXV);
	tu_cfg_init(&c);
	tu_alloc_install(al, &c);
	tu_dtor_install(dt, &c);
	tot->runs++;

	tu_alloc_arm(al, nth);
	errno = 0;
	struct lfd *d = lfd_new(&c);
	if (!d) {
		int e = errno;
		ck_assert_msg(e == ENOMEM,
			      "fail #%ld: lfd_new NULL with errno %d (%s)", nth,
			      e, strerror(e));
		ck_assert_msg(atomic_load(&al->failed) > 0,
			      "fail #%ld: lfd_new failed with nothing injected",
			      nth);
		ck_assert_msg(atomic_load(&al->live) == 0,
			      "fail #%ld: failed lfd_new leaked %ld allocations",
			      nth, atomic_load(&al->live));
		ck_assert_int_eq(atomic_load(&al->bad_free), 0);
		ck_assert_int_eq(atomic_load(&dt->total), 0);
		tot->new_failed++;
		tu_dtor_fini(dt);
		free(dt);
		free(al);
		free(stored);
		return true;
	}

	tu_model_init(&m, K, "af-");
	tu_rng_init(&r, 500);
	uint64_t next = 1;
	long enomem = 0;
	for (int op = 0; op < NOPS; op++) {
		enum kind kind;
		size_t id;
		pick(&r, op, &kind, &id);
		size_t len = tu_model_key(&m, id, k);
		bool pres = m.present[id];
		void *cur = m.val[id];
		void *nv = tu_v(next++);
		/* cas/pop_if: the present value two times out of three */
		void *exp = tu_rng_below(&r, 3) ? cur : tu_v(next++);
		void *out = TU_UNSET;
		int rc, want;

		switch (kind) {
		case K_INSERT:
			rc = lfd_insert(d, k, len, nv, &out);
			want = pres ? -EEXIST : 0;
			break;
		case K_SET:
			rc = lfd_set(d, k, len, nv, &out);
			want = pres ? 1 : 0;
			break;
		case K_REPLACE:
			rc = lfd_replace(d, k, len, nv, &out);
			want = pres ? 0 : -ENOENT;
			break;
		case K_CAS:
			rc = lfd_cas(d, k, len, exp, nv, &out);
			want = !pres ? -ENOENT : exp == cur ? 0 : -EAGAIN;
			break;
		case K_POP:
			rc = lfd_pop(d, k, len, &out);
			want = pres ? 0 : -ENOENT;
			break;
		case K_POP_IF:
			rc = lfd_pop_if(d, k, len, exp);
			want = !pres ? -ENOENT : exp == cur ? 0 : -EAGAIN;
			break;
		default:
			rc = lfd_get(d, k, len, &out);
			want = pres ? 0 : -ENOENT;
			break;
		}

		if (rc == -ENOMEM) {
			ck_assert_msg(kind == K_INSERT || kind == K_SET ||
					      kind == K_REPLACE || kind == K_CAS,
				      "fail #%ld op %d: %s returned -ENOMEM, "
				      "which it does not document",
				      nth, op, kind_name[kind]);
			ck_assert_msg(atomic_load(&al->failed) > 0,
				      "fail #%ld op %d: %s -> -ENOMEM with no "
				      "allocation failed",
				      nth, op, kind_name[kind]);
			ck_assert_msg(out == TU_UNSET,
				      "fail #%ld op %d: %s -> -ENOMEM wrote its "
				      "output",
				      nth, op, kind_name[kind]);
			enomem++;
			tot->enomem_by_kind[kind]++;
		} else {
			ck_assert_msg(rc == want,
				      "fail #%ld op %d: %s id %zu -> %d (%s), "
				      "want %d",
				      nth, op, kind_name[kind], id, rc,
				      lfd_strerror(rc), want);
			/* outputs and the model */
			switch (kind) {
			case K_INSERT:
				ck_assert_ptr_eq(out, pres ? cur : nv);
				if (!pres) {
					tu_model_put(&m, id, nv);
					stored[tu_vid(nv)] = 1;
				}
				break;
			case K_SET:
				ck_assert_ptr_eq(out, pres ? cur : TU_UNSET);
				tu_model_put(&m, id, nv);
				stored[tu_vid(nv)] = 1;
				break;
			case K_REPLACE:
			case K_CAS:
				if (rc == 0) {
					ck_assert_ptr_eq(out, cur);
					tu_model_put(&m, id, nv);
					stored[tu_vid(nv)] = 1;
				} else if (rc == -EAGAIN) {
					ck_assert_ptr_eq(out, cur);
				} else {
					ck_assert_ptr_eq(out, TU_UNSET);
				}
				break;
			case K_POP:
				ck_assert_ptr_eq(out, pres ? cur : TU_UNSET);
				if (pres)
					tu_model_del(&m, id);
				break;
			case K_POP_IF:
				if (rc == 0)
					tu_model_del(&m, id);
				break;
			default:
				ck_assert_ptr_eq(out, pres ? cur : TU_UNSET);
				break;
			}
		}
		/* the key reads as the model says, whatever happened */
		void *v = TU_UNSET;
		rc = lfd_get(d, k, len, &v);
		ck_assert_msg(m.present[id] ? rc == 0 && v == m.val[id]
					    : rc == -ENOENT,
			      "fail #%ld op %d: after %s, get id %zu -> %d %p, "
			      "model %s %p",
			      nth, op, kind_name[kind], id, rc, v,
			      m.present[id] ? "present" : "absent", m.val[id]);
		/* let the deferred resizes run now, while the failure is
		 * armed: after the fill (grows), after the drain (shrinks) */
		if (op == 109 || op == 389) {
			ck_assert_int_eq(lfd_barrier(d), 0);
			if (atomic_load(&al->failed) == 0) {
				struct lfd_stats st = tu_stats(d);
				ck_assert_msg(st.resizing == 0,
					      "fail #%ld op %d: resizing after "
					      "lfd_barrier",
					      nth, op);
			}
		}
		if (op % 32 == 31) {
			size_t cnt = 0;
			ck_assert_int_eq(lfd_count(d, &cnt), 0);
			ck_assert_msg(cnt == m.count,
				      "fail #%ld op %d: count %zu, model %zu", nth,
				      op, cnt, m.count);
		}
	}

	long injected = atomic_load(&al->failed);
	long calls = atomic_load(&al->calls);
	tu_alloc_disarm(al);
	if (injected && !enomem)
		tot->silent++;
	tot->enomem += enomem;
	if (!injected && calls > tot->max_allocs)
		tot->max_allocs = calls;
	if (calls > tot->max_calls)
		tot->max_calls = calls;

	char what[64];
	snprintf(what, sizeof what, "fail #%ld, end of run", nth);
	ck_assert_int_eq(lfd_barrier(d), 0);
	tu_model_verify(d, &m, what);
	/* a resize postponed by the failure has caught up */
	tu_assert_converged(d, what);

	ck_assert_int_eq(lfd_destroy(d), 0);
	ck_assert_msg(atomic_load(&al->live) == 0 &&
			      atomic_load(&al->live_bytes) == 0,
		      "fail #%ld: leak after lfd_destroy: %ld allocations, %ld "
		      "bytes",
		      nth, atomic_load(&al->live), atomic_load(&al->live_bytes));
	ck_assert_msg(atomic_load(&al->bad_free) == 0,
		      "fail #%ld: %ld bad frees", nth,
		      atomic_load(&al->bad_free));
	for (uint64_t vid = 1; vid < next; vid++) {
		long calls_v = tu_dtor_calls(dt, tu_v(vid));
		ck_assert_msg(calls_v == stored[vid],
			      "fail #%ld: value %" PRIu64
			      " (stored %d) destroyed %ld times",
			      nth, vid, stored[vid], calls_v);
	}
	ck_assert_int_eq(tu_dtor_calls(dt, NULL), 0);
	ck_assert_int_eq(atomic_load(&dt->out_of_range), 0);

	tu_model_fini(&m);
	tu_dtor_fini(dt);
	free(dt);
	free(al);
	free(stored);
	return injected > 0;
}

START_TEST(test_fail_each_allocation)
{
	struct totals tot;
	double t0 = tu_now();

	memset(&tot, 0, sizeof tot);
	ck_assert_msg(!run_once(0, &tot), "a failure injected with none armed");
	long baseline = tot.max_allocs;
	/* Entries come from slab blocks of 32 slots and more, so the inserts
	 * alone make a handful of allocations; with the destructor records
	 * of set/replace/cas and the index, dozens. */
	ck_assert_msg(baseline > K / 4, "only %ld allocations for %d inserts "
		      "and %d calls", baseline, (int)K, (int)NOPS);

	long nth;
	for (nth = 1;; nth++) {
		ck_assert_msg(nth <= 50 * baseline + 1000,
			      "still injecting failures at allocation #%ld "
			      "(a run without failure made %ld)",
			      nth, baseline);
		/* done when a run needs no more allocations than nth - 1,
		 * and no run ever needed nth or more (their number varies a
		 * little with the timing of the deferred resizes) */
		if (!run_once(nth, &tot) && nth > tot.max_calls)
			break;
	}
	TU_LOG("  fail_each_allocation: baseline %ld allocation calls (max "
	       "%ld); %ld runs (last at #%ld): lfd_new failed %ld times, %ld calls "
	       "-ENOMEM (insert %ld set %ld replace %ld cas %ld), %ld failures "
	       "absorbed by deferred work; %.2f s\n",
	       baseline, tot.max_calls, tot.runs, nth, tot.new_failed, tot.enomem,
	       tot.enomem_by_kind[K_INSERT], tot.enomem_by_kind[K_SET],
	       tot.enomem_by_kind[K_REPLACE], tot.enomem_by_kind[K_CAS],
	       tot.silent, tu_now() - t0);
	ck_assert_msg(tot.new_failed > 0, "lfd_new never failed");
	ck_assert_msg(tot.enomem_by_kind[K_INSERT] > 0,
		      "no insert ever returned -ENOMEM");
}
END_TEST

/* lfd_barrier on another thread, waited for at most `secs` seconds. */
struct timed_barrier {
	struct lfd *d;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, rc;
};

static void *timed_barrier_fn(void *p)
{
	struct timed_barrier *tb = p;
	int rc = lfd_barrier(tb->d);
	pthread_mutex_lock(&tb->mu);
	tb->rc = rc;
	tb->done = 1;
	pthread_cond_signal(&tb->cv);
	pthread_mutex_unlock(&tb->mu);
	return NULL;
}

/* Starts lfd_barrier(d) and waits up to secs for it: returns whether it
 * returned (then *rc is its result).  If it did not, the caller must make
 * it able to finish and then call timed_barrier_join. */
static bool timed_barrier_start(struct timed_barrier *tb, pthread_t *th,
				struct lfd *d, double secs, int *rc)
{
	struct timespec until;

	tb->d = d;
	tb->done = 0;
	tb->rc = 0;
	pthread_mutex_init(&tb->mu, NULL);
	pthread_cond_init(&tb->cv, NULL);
	tu_spawn(th, timed_barrier_fn, tb);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)secs;
	pthread_mutex_lock(&tb->mu);
	while (!tb->done)
		if (pthread_cond_timedwait(&tb->cv, &tb->mu, &until) != 0)
			break;
	bool done = tb->done;
	*rc = tb->rc;
	pthread_mutex_unlock(&tb->mu);
	return done;
}

static void timed_barrier_join(struct timed_barrier *tb, pthread_t th)
{
	tu_join(th);
	pthread_mutex_destroy(&tb->mu);
	pthread_cond_destroy(&tb->cv);
}

/* Every allocation fails from some point on: calls that need memory fail
 * cleanly, the others (get, pop, pop_if, count, foreach, and lfd_barrier,
 * which must return even if a resize cannot get its memory) work, and
 * everything recovers when memory is back. */
START_TEST(test_persistent_failure)
{
	struct tu_alloc al;
	struct tu_dtor dt;
	struct tu_model m;
	struct lfd_config c;
	char k[TU_KEYBUF];
	enum { N = 400 };

	tu_alloc_init(&al);
	tu_dtor_init(&dt, 4 * N + 10);
	tu_cfg_init(&c);
	tu_alloc_install(&al, &c);
	tu_dtor_install(&dt, &c);

	/* lfd_new with no memory at all */
	atomic_store(&al.fail_all, 1);
	errno = 0;
	ck_assert_ptr_null(lfd_new(&c));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_int_eq(atomic_load(&al.live), 0);
	atomic_store(&al.fail_all, 0);

	struct lfd *d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);
	tu_model_init(&m, 2 * N, "pf-");
	for (size_t id = 0; id < N; id++) {
		size_t len = tu_model_key(&m, id, k);
		ck_assert_int_eq(lfd_insert(d, k, len, tu_v(id + 1), NULL), 0);
		tu_model_put(&m, id, tu_v(id + 1));
	}

	/* memory runs out right after the fill: the grows it asked for may
	 * still be queued (they run in RCU callbacks) */
	atomic_store(&al.fail_all, 1);
	struct lfd_stats st0 = tu_stats(d);
	bool grow_pending = st0.buckets * 2 < st0.count;
	long enomem = 0, ok = 0, insert_enomem = 0, slot_inserts = 0;
	bool took_slot[2 * N] = { false };
	for (size_t id = 0; id < 2 * N; id++) {
		size_t len = tu_model_key(&m, id, k);
		void *out = TU_UNSET;
		int rc;
		void *nv = tu_v(id + 1 + 2 * N);
		if (id >= N) {
			/* needs a node: a free slab slot (what is left of the
			 * last block, or popped entries reclaimed meanwhile)
			 * or else a block, which fails */
			rc = lfd_insert(d, k, len, nv, &out);
			if (rc == 0) {
				ck_assert_ptr_eq(out, nv);
				tu_model_put(&m, id, nv);
				slot_inserts++;
				took_slot[id] = true;
				continue;
			}
			ck_assert_msg(rc == -ENOMEM && out == TU_UNSET,
				      "insert without memory -> %d", rc);
			enomem++;
			insert_enomem++;
			continue;
		}
		switch (id % 4) {
		case 0:
			rc = lfd_set(d, k, len, nv, &out);
			break;
		case 1:
			rc = lfd_replace(d, k, len, nv, &out);
			break;
		case 2:
			rc = lfd_cas(d, k, len, m.val[id], nv, &out);
			break;
		default:
			rc = lfd_pop(d, k, len, &out);
			ck_assert_msg(rc == 0 && out == m.val[id],
				      "pop without memory -> %d", rc);
			tu_model_del(&m, id);
			ok++;
			continue;
		}
		if (rc == -ENOMEM) {
			ck_assert_ptr_eq(out, TU_UNSET);
			enomem++;
		} else {
			ck_assert_msg(rc == (id % 4 == 0 ? 1 : 0),
				      "id %zu: -> %d", id, rc);
			ck_assert_ptr_eq(out, m.val[id]);
			tu_model_put(&m, id, nv);
			ok++;
		}
	}
	/* pop_if, get, count, foreach, barrier need no memory */
	for (size_t id = 2; id < N; id += 8) {
		size_t len = tu_model_key(&m, id, k);
		ck_assert_int_eq(lfd_pop_if(d, k, len, m.val[id]), 0);
		tu_model_del(&m, id);
	}
	struct timed_barrier tb;
	pthread_t th;
	int brc = -1;
	bool returned = timed_barrier_start(&tb, &th, d, 20, &brc);
	struct lfd_stats st1 = tu_stats(d);
	if (!returned)
		atomic_store(&al.fail_all, 0); /* let it finish */
	timed_barrier_join(&tb, th);
	ck_assert_msg(returned,
		      "lfd_barrier did not return within 20 s while every "
		      "allocation fails (count %zu, buckets %zu, resizing %d, "
		      "%ld allocations refused): it returned only once memory "
		      "was back",
		      st1.count, st1.buckets, st1.resizing,
		      atomic_load(&al.failed));
	ck_assert_int_eq(brc, 0);
	tu_model_verify(d, &m, "without memory");
	long injected = atomic_load(&al.failed);

	/* The slab's free slots run out: inserts then fail (N of them could
	 * not all find a slot: at most the rest of the last block, under N/2,
	 * and the N/4 popped entries). */
	TU_LOG("  persistent_failure: %ld inserts took a free slot, %ld got "
	       "-ENOMEM\n", slot_inserts, insert_enomem);
	ck_assert_msg(insert_enomem > 0, "no insert failed without memory "
		      "(%ld took a free slot)", slot_inserts);

	atomic_store(&al.fail_all, 0);
	for (size_t id = N; id < 2 * N; id++) {
		size_t len = tu_model_key(&m, id, k);
		int rc = lfd_insert(d, k, len, tu_v(id + 1), NULL);

		if (rc == -EEXIST) /* inserted into a free slot above */
			continue;
		ck_assert_int_eq(rc, 0);
		tu_model_put(&m, id, tu_v(id + 1));
	}
	ck_assert_int_eq(lfd_barrier(d), 0);
	tu_model_verify(d, &m, "memory back");
	tu_assert_converged(d, "memory back");
	ck_assert_int_eq(lfd_destroy(d), 0);
	tu_alloc_assert_clean(&al);
	/* values of failed calls were never destroyed; those of inserts that
	 * found a free slot, once */
	long bad = 0;
	for (size_t id = N; id < 2 * N; id++)
		if (tu_dtor_calls(&dt, tu_v(id + 1 + 2 * N)) !=
		    (took_slot[id] ? 1 : 0))
			bad++;
	ck_assert_msg(bad == 0, "%ld values of inserts without memory "
		      "destroyed a wrong number of times", bad);
	TU_LOG("  persistent_failure: grow pending when memory ran out: %s "
	       "(count %zu, buckets %zu); %ld allocations refused, %ld calls "
	       "-ENOMEM, %ld calls succeeded without memory\n",
	       grow_pending ? "yes" : "no", st0.count, st0.buckets, injected,
	       enomem, ok);
	tu_model_fini(&m);
	tu_dtor_fini(&dt);
}
END_TEST

/* Out of memory, an insert on a thread whose stripe has no free slot takes
 * one from another stripe (the first insert's block left 31 on the main
 * thread's): -ENOMEM only when the dictionary has no slot left.  Threads
 * get consecutive stripe numbers, so of NT threads at least NT - 1 are on
 * another stripe than the main thread's. */
struct steal_arg {
	struct lfd *d;
	uint64_t key;
	int rc;
};

static void *steal_fn(void *p)
{
	struct steal_arg *a = p;
	a->rc = lfd_insert(a->d, &a->key, sizeof a->key, tu_v(a->key), NULL);
	return NULL;
}

START_TEST(test_enomem_takes_other_stripes_slots)
{
	enum { NT = 4 };
	struct tu_alloc al;
	struct lfd_config c;
	uint64_t k0 = 0;

	tu_alloc_init(&al);
	tu_cfg_init(&c);
	tu_alloc_install(&al, &c);
	c.capacity = 64; /* no grow */
	struct lfd *d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(lfd_insert(d, &k0, sizeof k0, tu_v(1), NULL), 0);
	atomic_store(&al.fail_all, 1);
	for (int i = 0; i < NT; i++) {
		struct steal_arg a = { .d = d, .key = (uint64_t)i + 1, .rc = 1 };
		pthread_t th;
		ck_assert_int_eq(pthread_create(&th, NULL, steal_fn, &a), 0);
		ck_assert_int_eq(pthread_join(th, NULL), 0);
		ck_assert_msg(a.rc == 0, "thread %d: insert without memory, "
			      "free slots left -> %d", i, a.rc);
	}
	/* use up the block's slots: then -ENOMEM, nothing changed */
	uint64_t k = 100;
	int rc;
	while ((rc = lfd_insert(d, &k, sizeof k, tu_v(k), NULL)) == 0)
		ck_assert_msg(++k < 100 + 64, "more inserts than the block's "
			      "slots without memory");
	ck_assert_int_eq(rc, -ENOMEM);
	ck_assert_int_eq(lfd_get(d, &k, sizeof k, NULL), -ENOENT);
	atomic_store(&al.fail_all, 0);
	ck_assert_int_eq(lfd_insert(d, &k, sizeof k, tu_v(k), NULL), 0);
	ck_assert_int_eq(lfd_destroy(d), 0);
	tu_alloc_assert_clean(&al);
}
END_TEST

static Suite *alloc_fail_suite(void)
{
	Suite *s = suite_create("lfdict-alloc-fail");
	TCase *tc = tcase_create("alloc-fail");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_fail_each_allocation);
	suite_add_tcase(s, tc);
	tc = tcase_create("persistent-oom");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_persistent_failure);
	tcase_add_test(tc, test_enomem_takes_other_stripes_slots);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(alloc_fail_suite(), "test_alloc_fail");
}
