/*
 * test_destructor.c - the value destructor runs exactly once for every value
 * that leaves the dictionary (pop, pop_if, set, replace, cas, and the values
 * still present at lfd_destroy), NULL values included, never for a value
 * overwritten by the identical pointer or never stored, and never before the
 * value left or while a read-side section that obtained it is running.
 *
 * SPDX-License-Identifier: MIT
 */
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* single-threaded: an explicit scenario                               */

#define A "key-A", 5
#define B "key-B", 5
#define C "key-C", 5
#define D "key-D", 5
#define E "key-E", 5
#define F "key-F", 5
#define Z "key-Z", 5

START_TEST(test_each_departure)
{
	struct tu_dtor dt;
	struct tu_alloc al;
	struct lfd_config c;
	void *v;

	tu_dtor_init(&dt, 100);
	tu_alloc_init(&al);
	tu_cfg_init(&c);
	tu_dtor_install(&dt, &c);
	tu_alloc_install(&al, &c);
	struct lfd *d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);

	ck_assert_int_eq(lfd_insert(d, A, tu_v(1), NULL), 0);
	ck_assert_int_eq(lfd_set(d, A, tu_v(2), &v), 1); /* 1 leaves */
	ck_assert_ptr_eq(v, tu_v(1));
	ck_assert_int_eq(lfd_replace(d, A, tu_v(3), &v), 0); /* 2 leaves */
	ck_assert_ptr_eq(v, tu_v(2));
	ck_assert_int_eq(lfd_cas(d, A, tu_v(3), tu_v(4), &v), 0); /* 3 */
	ck_assert_int_eq(lfd_pop(d, A, &v), 0);			/* 4 */
	ck_assert_ptr_eq(v, tu_v(4));
	ck_assert_int_eq(lfd_insert(d, B, tu_v(5), NULL), 0);
	ck_assert_int_eq(lfd_pop_if(d, B, tu_v(5)), 0); /* 5 */

	/* identical pointers: nothing leaves */
	ck_assert_int_eq(lfd_insert(d, C, tu_v(6), NULL), 0);
	ck_assert_int_eq(lfd_set(d, C, tu_v(6), &v), 1);
	ck_assert_ptr_eq(v, tu_v(6));
	ck_assert_int_eq(lfd_replace(d, C, tu_v(6), &v), 0);
	ck_assert_int_eq(lfd_cas(d, C, tu_v(6), tu_v(6), &v), 0);
	/* failed calls: their values were never stored */
	ck_assert_int_eq(lfd_cas(d, C, tu_v(99), tu_v(7), &v), -EAGAIN);
	ck_assert_int_eq(lfd_insert(d, C, tu_v(8), &v), -EEXIST);
	ck_assert_int_eq(lfd_replace(d, Z, tu_v(9), NULL), -ENOENT);
	ck_assert_int_eq(lfd_cas(d, Z, NULL, tu_v(10), NULL), -ENOENT);
	ck_assert_int_eq(lfd_pop_if(d, C, tu_v(11)), -EAGAIN);
	ck_assert_int_eq(lfd_pop(d, Z, NULL), -ENOENT);
	ck_assert_int_eq(lfd_pop_if(d, Z, NULL), -ENOENT);

	/* NULL values */
	ck_assert_int_eq(lfd_insert(d, D, NULL, NULL), 0);
	ck_assert_int_eq(lfd_set(d, D, NULL, &v), 1); /* identical */
	ck_assert_int_eq(lfd_set(d, D, tu_v(12), &v), 1); /* NULL leaves */
	ck_assert_ptr_null(v);
	ck_assert_int_eq(lfd_insert(d, E, NULL, NULL), 0);
	ck_assert_int_eq(lfd_cas(d, E, NULL, NULL, NULL), 0);  /* identical */
	ck_assert_int_eq(lfd_replace(d, E, NULL, NULL), 0);    /* identical */
	ck_assert_int_eq(lfd_insert(d, F, tu_v(13), NULL), 0);
	ck_assert_int_eq(lfd_set(d, F, NULL, &v), 1); /* 13 leaves */

	/* no destructor call for a value still present, before it left */
	static const int present[] = { 6, 12 };
	static const int never[] = { 7, 8, 9, 10, 11 };
	static const int departed[] = { 1, 2, 3, 4, 5, 13 };
	for (size_t i = 0; i < 2; i++)
		ck_assert_msg(tu_dtor_calls(&dt, tu_v(present[i])) == 0,
			      "value %d destroyed while present", present[i]);
	ck_assert_msg(tu_dtor_calls(&dt, NULL) <= 1,
		      "NULL destroyed %ld times, left once",
		      tu_dtor_calls(&dt, NULL));

	/* after lfd_barrier every departed value has been destroyed, once */
	ck_assert_int_eq(lfd_barrier(d), 0);
	for (size_t i = 0; i < sizeof departed / sizeof departed[0]; i++)
		ck_assert_msg(tu_dtor_calls(&dt, tu_v(departed[i])) == 1,
			      "departed value %d destroyed %ld times after "
			      "lfd_barrier",
			      departed[i], tu_dtor_calls(&dt, tu_v(departed[i])));
	ck_assert_msg(tu_dtor_calls(&dt, NULL) == 1,
		      "NULL left once, destroyed %ld times",
		      tu_dtor_calls(&dt, NULL));
	for (size_t i = 0; i < 2; i++)
		ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(present[i])), 0);
	for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
		ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(never[i])), 0);
	ck_assert_int_eq(atomic_load(&dt.total), 7);

	/* lfd_destroy destroys what is still present: 6 (C), 12 (D), NULL (E),
	 * NULL (F) */
	ck_assert_int_eq(lfd_destroy(d), 0);
	for (size_t i = 0; i < 2; i++)
		ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(present[i])), 1);
	for (size_t i = 0; i < sizeof departed / sizeof departed[0]; i++)
		ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(departed[i])), 1);
	for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
		ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(never[i])), 0);
	ck_assert_int_eq(tu_dtor_calls(&dt, NULL), 3);
	ck_assert_int_eq(atomic_load(&dt.total), 7 + 4);
	ck_assert_int_eq(atomic_load(&dt.out_of_range), 0);
	ck_assert_int_eq(atomic_load(tu_dtor_bad_arg()), 0);
	tu_alloc_assert_clean(&al);
	tu_dtor_fini(&dt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* single-threaded: random operations against a model                  */

enum { ST_NEVER = 0, ST_PRESENT = 1, ST_LEFT = 2 };

START_TEST(test_random_departures)
{
	enum { KEYS = 48, OPS = 40000 };
	struct tu_dtor dt;
	struct tu_alloc al;
	struct tu_model m;
	struct tu_rng r;
	struct lfd_config c;
	unsigned char *state = calloc(OPS + 2, 1); /* per value id */
	long null_left = 0, null_present = 0, identical = 0;
	uint64_t next = 1;
	char k[TU_KEYBUF];

	ck_assert_ptr_nonnull(state);
	tu_rng_init(&r, 201);
	tu_dtor_init(&dt, OPS + 2);
	tu_alloc_init(&al);
	tu_model_init(&m, KEYS, "rk");
	tu_cfg_init(&c);
	tu_dtor_install(&dt, &c);
	tu_alloc_install(&al, &c);
	struct lfd *d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);

	for (int op = 0; op < OPS; op++) {
		size_t id = (size_t)tu_rng_below(&r, KEYS);
		size_t len = tu_model_key(&m, id, k);
		bool pres = m.present[id];
		void *cur = pres ? m.val[id] : NULL;
		/* the new value: fresh, NULL, or the present one */
		void *nv;
		uint64_t pick = tu_rng_below(&r, 10);
		if (pick == 0)
			nv = NULL;
		else if (pick == 1 && pres)
			nv = cur;
		else
			nv = tu_v(next++);
		void *out = TU_UNSET;
		int rc = 0;
		bool stored = false, left = false;

		switch (tu_rng_below(&r, 6)) {
		case 0:
			rc = lfd_insert(d, k, len, nv, &out);
			ck_assert_int_eq(rc, pres ? -EEXIST : 0);
			stored = !pres;
			break;
		case 1:
			rc = lfd_set(d, k, len, nv, &out);
			ck_assert_int_eq(rc, pres ? 1 : 0);
			stored = true;
			left = pres;
			break;
		case 2:
			rc = lfd_replace(d, k, len, nv, &out);
			ck_assert_int_eq(rc, pres ? 0 : -ENOENT);
			stored = left = pres;
			break;
		case 3: {
			void *exp = tu_rng_below(&r, 3) ? cur : tu_v(next++);
			rc = lfd_cas(d, k, len, exp, nv, &out);
			ck_assert_int_eq(rc, !pres	      ? -ENOENT
					     : exp == cur ? 0
							  : -EAGAIN);
			stored = left = rc == 0;
			break;
		}
		case 4:
			rc = lfd_pop(d, k, len, &out);
			ck_assert_int_eq(rc, pres ? 0 : -ENOENT);
			left = pres;
			nv = NULL;
			break;
		default: {
			void *exp = tu_rng_below(&r, 3) ? cur : tu_v(next++);
			rc = lfd_pop_if(d, k, len, exp);
			ck_assert_int_eq(rc, !pres	      ? -ENOENT
					     : exp == cur ? 0
							  : -EAGAIN);
			left = rc == 0;
			nv = NULL;
			break;
		}
		}
		bool removal = left && !stored;
		if (left && stored && nv == cur) {
			left = false; /* identical pointer: nothing left */
			identical++;
		}
		if (left) {
			if (cur)
				state[tu_vid(cur)] = ST_LEFT;
			else {
				null_left++;
				null_present--;
			}
		}
		if (removal) {
			tu_model_del(&m, id);
		} else if (stored && (nv != cur || !pres)) {
			if (nv)
				state[tu_vid(nv)] = ST_PRESENT;
			else
				null_present++;
			tu_model_put(&m, id, nv);
		}

		/* present values are never destroyed; departed at most once */
		if (cur && state[tu_vid(cur)] == ST_PRESENT)
			ck_assert_msg(tu_dtor_calls(&dt, cur) == 0,
				      "op %d: present value %" PRIu64
				      " destroyed",
				      op, tu_vid(cur));
		if (op % 5000 == 4999) {
			ck_assert_int_eq(lfd_barrier(d), 0);
			for (uint64_t vid = 1; vid < next; vid++) {
				long want = state[vid] == ST_LEFT ? 1 : 0;
				ck_assert_msg(tu_dtor_calls(&dt, tu_v(vid)) ==
						      want,
					      "op %d: value %" PRIu64
					      " (state %d) destroyed %ld times",
					      op, vid, state[vid],
					      tu_dtor_calls(&dt, tu_v(vid)));
			}
			ck_assert_int_eq(tu_dtor_calls(&dt, NULL), null_left);
			tu_model_verify(d, &m, "random departures");
		}
	}
	ck_assert_int_eq(lfd_destroy(d), 0);
	long total = 0;
	for (uint64_t vid = 1; vid < next; vid++) {
		long want = state[vid] == ST_NEVER ? 0 : 1;
		total += want;
		ck_assert_msg(tu_dtor_calls(&dt, tu_v(vid)) == want,
			      "after destroy: value %" PRIu64
			      " (state %d) destroyed %ld times",
			      vid, state[vid], tu_dtor_calls(&dt, tu_v(vid)));
	}
	ck_assert_int_eq(tu_dtor_calls(&dt, NULL), null_left + null_present);
	ck_assert_int_eq(atomic_load(&dt.total), total + null_left + null_present);
	tu_alloc_assert_clean(&al);
	TU_LOG("  random_departures: %d ops, %" PRIu64 " values, %ld destroyed, "
	       "%ld NULL departures, %ld identical overwrites\n",
	       OPS, next - 1, total + null_left + null_present,
	       null_left + null_present, identical);
	tu_model_fini(&m);
	tu_dtor_fini(&dt);
	free(state);
}
END_TEST

/* ------------------------------------------------------------------ */
/* a value obtained in a read-side section outlives its departure      */

struct barrier_thread {
	struct lfd *d;
	atomic_int started;
	atomic_int done;
	int rc;
};

static void *barrier_fn(void *p)
{
	struct barrier_thread *b = p;
	atomic_store(&b->started, 1);
	b->rc = lfd_barrier(b->d);
	atomic_store(&b->done, 1);
	return NULL;
}

START_TEST(test_grace_period)
{
	struct tu_dtor dt;
	struct lfd_config c;
	void *v = TU_UNSET;

	tu_dtor_init(&dt, 3000);
	tu_cfg_init(&c);
	tu_dtor_install(&dt, &c);
	struct lfd *d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(lfd_insert(d, "held", 4, tu_v(1), NULL), 0);

	ck_assert_int_eq(lfd_read_lock(d), 0);
	ck_assert_int_eq(lfd_get(d, "held", 4, &v), 0);
	ck_assert_ptr_eq(v, tu_v(1));
	/* the value leaves while we hold it */
	ck_assert_int_eq(lfd_pop(d, "held", 4, NULL), 0);
	/* plenty of other departures and deferred work meanwhile */
	char k[TU_KEYBUF];
	for (uint64_t i = 2; i < 2000; i++) {
		size_t len = tu_key(k, "other", i);
		ck_assert_int_eq(lfd_insert(d, k, len, tu_v(i), NULL), 0);
	}
	for (uint64_t i = 2; i < 2000; i++) {
		size_t len = tu_key(k, "other", i);
		ck_assert_int_eq(lfd_pop(d, k, len, NULL), 0);
	}
	struct barrier_thread bt = { .d = d };
	pthread_t th;
	tu_spawn(&th, barrier_fn, &bt);
	while (!atomic_load(&bt.started))
		sched_yield();
	/* While the section lasts the grace period cannot end: watch for a
	 * while (bounded) that value 1 is not destroyed and that the other
	 * thread's lfd_barrier does not return. */
	double t0 = tu_now();
	long spins = 0;
	while (tu_now() - t0 < 0.2) {
		ck_assert_msg(tu_dtor_calls(&dt, tu_v(1)) == 0,
			      "value destroyed inside the read-side section that "
			      "obtained it");
		ck_assert_msg(!atomic_load(&bt.done),
			      "lfd_barrier returned during a read-side section "
			      "(rc %d)",
			      bt.rc);
		spins++;
		sched_yield();
	}
	ck_assert_int_eq(lfd_read_unlock(d), 0);
	tu_join(th);
	ck_assert_int_eq(bt.rc, 0);
	/* the barrier was queued after the pop: it has run by now */
	ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(1)), 1);
	for (uint64_t i = 2; i < 2000; i++)
		ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(i)), 1);
	ck_assert_int_eq(lfd_destroy(d), 0);
	ck_assert_int_eq(atomic_load(&dt.total), 1999);
	TU_LOG("  grace_period: held for 0.2 s (%ld checks)\n", spins);
	tu_dtor_fini(&dt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* multithreaded: malloc'd values                                      */

#define OBJ_LIVE 0x0b1ec7a11fe00001ull
#define OBJ_DEAD 0x0b1ec7dead000002ull

struct obj {
	uint64_t magic;
	uint64_t id;
	atomic_int destroyed;
	int stored; /* written by the creator only */
};

struct obj_stats {
	atomic_long calls;
	atomic_long bad; /* not live when destroyed: double or garbage */
};

static void obj_free(void *value, void *arg)
{
	struct obj_stats *s = arg;
	struct obj *o = value;
	atomic_fetch_add(&s->calls, 1);
	if (!o || o->magic != OBJ_LIVE) {
		atomic_fetch_add(&s->bad, 1);
		if (o)
			atomic_fetch_add(&o->destroyed, 1);
		return;
	}
	o->magic = OBJ_DEAD;
	atomic_fetch_add(&o->destroyed, 1);
}

struct mt_arg {
	struct lfd *d;
	pthread_barrier_t *bar;
	int t, ops, keys;
	struct obj **objs;
	int nobjs;
	struct tu_errs *errs;
	long n_ok[8];
};

/* A value returned to us inside our read-side section must be live. */
#define CHECK_LIVE(a, v, what)                                                \
	TU_CHECK((a)->errs, (v) && ((struct obj *)(v))->magic == OBJ_LIVE,    \
		 "thread %d: %s returned a value that is not live (%p)",      \
		 (a)->t, what, (void *)(v))

static void *mt_thread(void *p)
{
	struct mt_arg *a = p;
	struct tu_rng r;
	char k[TU_KEYBUF];

	tu_rng_init(&r, 300 + (uint64_t)a->t);
	pthread_barrier_wait(a->bar);
	for (int op = 0; op < a->ops; op++) {
		size_t len = tu_key(k, "mt", tu_rng_below(&r, (uint64_t)a->keys));
		struct obj *o = malloc(sizeof *o);
		if (!o) {
			tu_err(a->errs, "malloc");
			break;
		}
		o->magic = OBJ_LIVE;
		o->id = ((uint64_t)a->t << 32) | (uint64_t)op;
		atomic_init(&o->destroyed, 0);
		o->stored = 0;
		a->objs[a->nobjs++] = o;

		void *out = NULL, *cur = NULL;
		int rc, kind = (int)tu_rng_below(&r, 7);
		lfd_read_lock(a->d);
		switch (kind) {
		case 0:
			rc = lfd_insert(a->d, k, len, o, &out);
			TU_CHECK(a->errs, rc == 0 || rc == -EEXIST,
				 "insert -> %d", rc);
			o->stored = rc == 0;
			if (rc == -EEXIST)
				CHECK_LIVE(a, out, "insert's *current");
			break;
		case 1:
			rc = lfd_set(a->d, k, len, o, &out);
			TU_CHECK(a->errs, rc == 0 || rc == 1, "set -> %d", rc);
			o->stored = rc >= 0;
			if (rc == 1)
				CHECK_LIVE(a, out, "set's *old");
			break;
		case 2:
			rc = lfd_replace(a->d, k, len, o, &out);
			TU_CHECK(a->errs, rc == 0 || rc == -ENOENT,
				 "replace -> %d", rc);
			o->stored = rc == 0;
			if (rc == 0)
				CHECK_LIVE(a, out, "replace's *old");
			break;
		case 3:
		case 4:
			rc = lfd_get(a->d, k, len, &cur);
			if (rc == 0)
				CHECK_LIVE(a, cur, "get");
			rc = lfd_cas(a->d, k, len, cur, o, &out);
			TU_CHECK(a->errs,
				 rc == 0 || rc == -EAGAIN || rc == -ENOENT,
				 "cas -> %d", rc);
			o->stored = rc == 0;
			if (rc == 0 || rc == -EAGAIN)
				CHECK_LIVE(a, out, "cas's *current");
			break;
		case 5:
			rc = lfd_pop(a->d, k, len, &out);
			TU_CHECK(a->errs, rc == 0 || rc == -ENOENT,
				 "pop -> %d", rc);
			if (rc == 0)
				CHECK_LIVE(a, out, "pop");
			break;
		default:
			rc = lfd_get(a->d, k, len, &cur);
			if (rc == 0) {
				CHECK_LIVE(a, cur, "get");
				rc = lfd_pop_if(a->d, k, len, cur);
				TU_CHECK(a->errs,
					 rc == 0 || rc == -EAGAIN ||
						 rc == -ENOENT,
					 "pop_if -> %d", rc);
			}
			break;
		}
		if (rc >= 0)
			a->n_ok[kind]++;
		lfd_read_unlock(a->d);
	}
	return NULL;
}

START_TEST(test_mt_malloced_values)
{
	enum { T = 6, OPS = 150000, KEYS = 64 };
	struct obj_stats os = { 0 };
	struct lfd_config c;
	struct tu_errs errs;
	pthread_barrier_t bar;
	pthread_t th[T];
	struct mt_arg args[T];
	double t0 = tu_now();

	memset(&errs, 0, sizeof errs);
	tu_cfg_init(&c);
	c.value_free = obj_free;
	c.value_free_arg = &os;
	struct lfd *d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);
	pthread_barrier_init(&bar, NULL, T);
	for (int t = 0; t < T; t++) {
		memset(&args[t], 0, sizeof args[t]);
		args[t].d = d;
		args[t].bar = &bar;
		args[t].t = t;
		args[t].ops = OPS;
		args[t].keys = KEYS;
		args[t].errs = &errs;
		args[t].objs = calloc(OPS, sizeof *args[t].objs);
		ck_assert_ptr_nonnull(args[t].objs);
		tu_spawn(&th[t], mt_thread, &args[t]);
	}
	for (int t = 0; t < T; t++)
		tu_join(th[t]);
	pthread_barrier_destroy(&bar);
	tu_assert_no_errs(&errs);

	size_t count = 0;
	ck_assert_int_eq(lfd_count(d, &count), 0);
	ck_assert_int_eq(lfd_barrier(d), 0);
	long before_destroy = atomic_load(&os.calls);
	ck_assert_int_eq(lfd_destroy(d), 0);
	ck_assert_msg(atomic_load(&os.calls) - before_destroy == (long)count,
		      "lfd_destroy destroyed %ld values, %zu were present",
		      atomic_load(&os.calls) - before_destroy, count);

	long stored = 0, never = 0, wrong = 0;
	char first[160] = "";
	for (int t = 0; t < T; t++) {
		for (int i = 0; i < args[t].nobjs; i++) {
			struct obj *o = args[t].objs[i];
			int n = atomic_load(&o->destroyed);
			int want = o->stored ? 1 : 0;
			if (o->stored)
				stored++;
			else
				never++;
			if (n != want || (want && o->magic != OBJ_DEAD) ||
			    (!want && o->magic != OBJ_LIVE)) {
				if (!wrong++)
					snprintf(first, sizeof first,
						 "object %#" PRIx64
						 " stored %d destroyed %d times",
						 o->id, o->stored, n);
			}
			free(o);
		}
		free(args[t].objs);
	}
	ck_assert_msg(wrong == 0, "%ld objects destroyed a wrong number of "
		      "times; first: %s", wrong, first);
	ck_assert_int_eq(atomic_load(&os.bad), 0);
	ck_assert_int_eq(atomic_load(&os.calls), stored);
	long ok[8] = { 0 };
	for (int t = 0; t < T; t++)
		for (int j = 0; j < 7; j++)
			ok[j] += args[t].n_ok[j];
	TU_LOG("  mt_malloced_values: %d threads x %d ops on %d keys: %ld "
	       "objects stored and destroyed once, %ld never stored; ok "
	       "insert %ld set %ld replace %ld cas %ld pop %ld pop_if %ld; "
	       "%.2f s\n",
	       T, OPS, KEYS, stored, never, ok[0], ok[1], ok[2], ok[3] + ok[4],
	       ok[5], ok[6], tu_now() - t0);
}
END_TEST

/*
 * One dictionary's slow destructors do not hold up another dictionary's
 * callbacks.  Every dictionary's callbacks run on liburcu's one call_rcu
 * worker; A has SLOW_N values whose destructors take 1 ms each (1 s of
 * work), retired in one batch; while the worker frees them, B's
 * lfd_barrier (which needs B's own callbacks) must return long before A's
 * batch is done.  5159ee1 ran A's whole batch in one callback: B's barrier
 * returned only after all SLOW_N destructors.
 */
#ifndef LFD_TEST_RCU_PTHREAD /* see dtor_suite() */
#define SLOW_N 1000
static atomic_long slow_calls;

static void slow_free(void *value, void *arg)
{
	struct timespec ms = { 0, 1000000 };

	(void)value;
	(void)arg;
	nanosleep(&ms, NULL);
	atomic_fetch_add(&slow_calls, 1);
}

START_TEST(test_slow_destructors_isolated)
{
	struct lfd_config cfg;
	struct lfd *a, *b;
	struct tu_stall stall;
	struct tu_dtor fast;
	long at_start, at_return;
	double t0;
	uint64_t k;

	atomic_store(&slow_calls, 0);
	tu_cfg_init(&cfg);
	cfg.value_free = slow_free;
	a = lfd_new(&cfg);
	ck_assert_ptr_nonnull(a);
	for (k = 0; k < SLOW_N; k++)
		ck_assert_int_eq(lfd_insert(a, &k, sizeof k, tu_v(k), NULL), 0);
	/* Pops while a reader stalls: the values pile up in one batch, and
	 * no pop finds ready items to help with. */
	tu_stall_begin(&stall, a);
	for (k = 0; k < SLOW_N; k++)
		ck_assert_int_eq(lfd_pop(a, &k, sizeof k, NULL), 0);
	tu_stall_end(&stall);
	/* Wait until the worker is in A's batch. */
	while (atomic_load(&slow_calls) < 3)
		usleep(1000);

	tu_dtor_init(&fast, 1);
	tu_cfg_init(&cfg);
	tu_dtor_install(&fast, &cfg);
	b = lfd_new(&cfg);
	ck_assert_ptr_nonnull(b);
	k = 0;
	ck_assert_int_eq(lfd_insert(b, &k, sizeof k, tu_v(0), NULL), 0);
	ck_assert_int_eq(lfd_pop(b, &k, sizeof k, NULL), 0);
	at_start = atomic_load(&slow_calls);
	t0 = tu_now();
	ck_assert_int_eq(lfd_barrier(b), 0);
	t0 = tu_now() - t0;
	at_return = atomic_load(&slow_calls);
	ck_assert_int_eq(tu_dtor_calls(&fast, tu_v(0)), 1);
	TU_LOG("slow destructors of A: %ld when B's barrier began, %ld at "
	       "its return %.3f s later (of %d)\n", at_start, at_return, t0,
	       SLOW_N);
	/* the race: A's batch was still being freed when B's barrier began */
	ck_assert_msg(at_start < SLOW_N / 2,
		      "A's batch was done (%ld) before B's barrier", at_start);
	ck_assert_msg(at_return < SLOW_N / 2,
		      "B's barrier waited for A's destructors: %ld of %d ran",
		      at_return, SLOW_N);
	ck_assert_int_eq(lfd_destroy(b), 0);
	tu_dtor_fini(&fast);
	ck_assert_int_eq(lfd_destroy(a), 0);
	ck_assert_int_eq(atomic_load(&slow_calls), SLOW_N);
}
END_TEST
#endif

/*
 * lfd_barrier and lfd_destroy called from a value destructor that lfdict
 * runs -- on the call_rcu worker, or inline in an update that helps --
 * return -EDEADLK and change nothing (waiting there would wait for the
 * destructor itself).  The destructor records what each call returned.
 */
struct dtor_calls {
	struct lfd *d, *other;
	atomic_int runs, barrier_self, barrier_other, destroy_self;
};
static struct dtor_calls dc;

static void calling_free(void *value, void *arg)
{
	(void)value;
	(void)arg;
	atomic_store(&dc.barrier_self, lfd_barrier(dc.d));
	atomic_store(&dc.barrier_other, lfd_barrier(dc.other));
	atomic_store(&dc.destroy_self, lfd_destroy(dc.d));
	atomic_fetch_add(&dc.runs, 1);
}

START_TEST(test_deadlk_inside_destructor)
{
	struct lfd_config cfg;
	uint64_t k;
	void *v;

	memset(&dc, 0, sizeof dc);
	atomic_store(&dc.barrier_self, 1);
	tu_cfg_init(&cfg);
	cfg.value_free = calling_free;
	dc.d = lfd_new(&cfg);
	dc.other = tu_new_default();
	ck_assert_ptr_nonnull(dc.d);
	ck_assert_ptr_nonnull(dc.other);
	for (k = 0; k < 4; k++)
		ck_assert_int_eq(lfd_insert(dc.d, &k, sizeof k, tu_v(k), NULL),
				 0);
	k = 0;
	ck_assert_int_eq(lfd_pop(dc.d, &k, sizeof k, NULL), 0);
	/* the destructor runs during this barrier, on the worker */
	ck_assert_int_eq(lfd_barrier(dc.d), 0);
	ck_assert_int_eq(atomic_load(&dc.runs), 1);
	ck_assert_int_eq(atomic_load(&dc.barrier_self), -EDEADLK);
	ck_assert_int_eq(atomic_load(&dc.barrier_other), -EDEADLK);
	ck_assert_int_eq(atomic_load(&dc.destroy_self), -EDEADLK);
	/* nothing changed: the dictionary is whole and usable */
	k = 1;
	ck_assert_int_eq(lfd_get(dc.d, &k, sizeof k, &v), 0);
	ck_assert_ptr_eq(v, tu_v(1));
	ck_assert_int_eq(lfd_set(dc.d, &k, sizeof k, tu_v(9), NULL), 1);
	ck_assert_int_eq(lfd_barrier(dc.d), 0);
	ck_assert_int_eq(atomic_load(&dc.runs), 2);
	ck_assert_int_eq(atomic_load(&dc.destroy_self), -EDEADLK);
	ck_assert_int_eq(lfd_destroy(dc.other), 0);
	dc.other = tu_new_default(); /* the destructors at destroy call it */
	ck_assert_int_eq(lfd_destroy(dc.d), 0);
	ck_assert_int_eq(atomic_load(&dc.runs), 2 + 3); /* 1, 9, 2, 3 left */
	ck_assert_int_eq(lfd_destroy(dc.other), 0);
}
END_TEST

static Suite *dtor_suite(void)
{
	Suite *s = suite_create("lfdict-destructor");
	TCase *tc = tcase_create("destructor");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_each_departure);
	tcase_add_test(tc, test_random_departures);
	tcase_add_test(tc, test_grace_period);
	tcase_add_test(tc, test_mt_malloced_values);
#ifndef LFD_TEST_RCU_PTHREAD
	/* A stalled reader with updates going on: not with the pthread
	 * flavour of the ThreadSanitizer build (see test_readside.c). */
	tcase_add_test(tc, test_slow_destructors_isolated);
#endif
	tcase_add_test(tc, test_deadlk_inside_destructor);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(dtor_suite(), "test_destructor");
}
