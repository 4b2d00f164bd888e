/*
 * testutil.h - helpers shared by the lfdict unit tests (Check based).
 *
 * SPDX-License-Identifier: MIT
 *
 * Everything here is `static inline` so that each test program (one
 * translation unit) compiles cleanly whatever subset it uses.
 *
 *  - seed / PRNG: one seed per program run, printed on stdout, overridable
 *    with LFD_TEST_SEED=<n> to replay a failure; every test and thread
 *    derives its own stream from it (tu_rng_init(&r, stream)).
 *  - keys: tu_key() formats "<prefix><n>" keys; 8-byte integer keys are
 *    plain uint64_t passed as (&k, sizeof k).
 *  - values: tu_v(id) / tu_vid(v) turn small integers into void * values.
 *  - tu_alloc: a counting, fault-injecting allocator for cfg.alloc/cfg.free
 *    (live allocations and bytes, size checked on free, fail the n-th).
 *  - tu_dtor: a value destructor counting its calls per value id.
 *  - tu_errs: error collection for worker threads (never ck_assert outside
 *    the test's own thread); the test thread asserts after joining.
 *  - tu_model: a plain sequential model (array id -> present, value) and a
 *    full comparison of a dictionary against it.
 */
#ifndef LFD_TESTUTIL_H
#define LFD_TESTUTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lfdict.h>

#include "density.h"

#ifndef CPU_ZERO
#error "include testutil.h before any system header: it sets _GNU_SOURCE"
#endif

/* ------------------------------------------------------------------ */
/* the RCU flavour of the tests' dictionaries                          */

/* Built with -DLFD_TEST_RCU_PTHREAD (and tests/rcu_pthread.c), for
 * ThreadSanitizer: dictionaries use the test-only pthread RCU flavour,
 * whose grace periods TSan understands.  Otherwise the default, urcu-bp. */
#ifdef LFD_TEST_RCU_PTHREAD
#include "rcu_pthread.h"
#define TU_FLAVOR (&lfd_test_rcu_pthread_flavor)
#define TU_FLAVOR_NAME "rcu-pthread"
#else
#define TU_FLAVOR ((const struct rcu_flavor_struct *)NULL)
#define TU_FLAVOR_NAME "urcu-bp"
#endif

/* A zeroed configuration (every default) with the tests' flavour. */
static inline void tu_cfg_init(struct lfd_config *c)
{
	memset(c, 0, sizeof *c);
	c->flavor = TU_FLAVOR;
}

/* Keep the calling thread on the CPU it runs on (restore with
 * tu_unpin): lfdict's updates use the stripe of their CPU (lib/base.h),
 * and a test that counts allocations across valid updates needs them on
 * the stripe whose free slots it filled. */
static inline void tu_pin_here(cpu_set_t *saved)
{
	cpu_set_t one;
	int cpu = sched_getcpu();

	ck_assert_int_eq(sched_getaffinity(0, sizeof(*saved), saved), 0);
	if (cpu < 0)
		return;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	(void)sched_setaffinity(0, sizeof(one), &one);
}

static inline void tu_unpin(const cpu_set_t *saved)
{
	(void)sched_setaffinity(0, sizeof(*saved), saved);
}

/* lfd_new with every default but the tests' flavour. */
static inline struct lfd *tu_new_default(void)
{
	struct lfd_config c;
	tu_cfg_init(&c);
	return lfd_new(&c);
}

/* ------------------------------------------------------------------ */
/* logging and time                                                    */

/* Print a line of measurements; flushed at once so that nothing is lost
 * or duplicated across Check's fork()s. */
#define TU_LOG(...)                                                           \
	do {                                                                  \
		printf(__VA_ARGS__);                                          \
		fflush(stdout);                                               \
	} while (0)

static inline double tu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------ */
/* seed and PRNG                                                       */

static inline uint64_t tu_mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t *tu_seed_slot(void)
{
	static uint64_t seed;
	return &seed;
}

static inline uint64_t tu_seed(void)
{
	return *tu_seed_slot();
}

/* Choose the run's seed (LFD_TEST_SEED, decimal or 0x hex, or the clock)
 * and print it.  Called once by tu_run_suite() before any test runs. */
static inline void tu_seed_init(const char *prog)
{
	const char *env = getenv("LFD_TEST_SEED");
	uint64_t seed;

	if (env && *env) {
		seed = strtoull(env, NULL, 0);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = tu_mix64((uint64_t)ts.tv_sec * 1000000000ull +
				(uint64_t)ts.tv_nsec) ^
		       (uint64_t)getpid();
	}
	*tu_seed_slot() = seed;
	TU_LOG("%s: seed %" PRIu64 " (replay with LFD_TEST_SEED=%" PRIu64 ")\n",
	       prog, seed, seed);
}

struct tu_rng {
	uint64_t s;
};

/* A stream of the run's seed: tests and threads pick distinct streams. */
static inline void tu_rng_init(struct tu_rng *r, uint64_t stream)
{
	r->s = tu_mix64(tu_seed() ^ tu_mix64(stream * 0x2545f4914f6cdd1dull + 1));
}

static inline uint64_t tu_rng_next(struct tu_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	uint64_t z = r->s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0. */
static inline uint64_t tu_rng_below(struct tu_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)tu_rng_next(r) * n) >> 64);
}

/* Fisher-Yates shuffle of a size_t array. */
static inline void tu_shuffle(struct tu_rng *r, size_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)tu_rng_below(r, i);
		size_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* ------------------------------------------------------------------ */
/* keys and values                                                     */

#define TU_KEYBUF 48

/* Format key "<prefix><i>" into buf; returns its length (no NUL counted). */
static inline size_t tu_key(char *buf, const char *prefix, uint64_t i)
{
	int n = snprintf(buf, TU_KEYBUF, "%s%" PRIu64, prefix, i);
	return (size_t)n;
}

/* Small integers as values (0 is NULL). */
static inline void *tu_v(uint64_t id)
{
	return (void *)(uintptr_t)id;
}

static inline uint64_t tu_vid(const void *v)
{
	return (uint64_t)(uintptr_t)v;
}

/* A sentinel output value that no test ever stores: an output pointer
 * still holding it was not written. */
#define TU_UNSET ((void *)(uintptr_t)0xdeadbeefcafef00dull)

/* ------------------------------------------------------------------ */
/* counting, fault-injecting allocator                                 */

#define TU_ALLOC_HDR 16 /* keeps the 16-byte (max_align_t) alignment */
#define TU_ALLOC_LIVE 0xa110c8ed5afe1234ull
#define TU_ALLOC_DEAD 0xdeadf4eed0000000ull

struct tu_alloc {
	atomic_long live;       /* allocations not yet freed */
	atomic_long live_bytes; /* bytes of those */
	atomic_long calls;      /* alloc calls since the last tu_alloc_arm */
	atomic_long allocs;     /* successful allocations, ever */
	atomic_long failed;     /* allocations failed by injection */
	atomic_long fail_nth;   /* fail the call whose 1-based index since
				   arming is this; 0: none */
	atomic_int fail_all;    /* fail every call */
	atomic_long bad_free;   /* free with a wrong size, a foreign or an
				   already freed pointer */
	atomic_long misaligned; /* not possible with malloc; kept for sanity */
};

static inline void *tu_alloc_fn(size_t size, void *arg)
{
	struct tu_alloc *a = arg;
	long n = atomic_fetch_add(&a->calls, 1) + 1;

	if (atomic_load(&a->fail_all) || n == atomic_load(&a->fail_nth)) {
		atomic_fetch_add(&a->failed, 1);
		return NULL;
	}
	if (size > SIZE_MAX - TU_ALLOC_HDR)
		return NULL;
	unsigned char *p = malloc(size + TU_ALLOC_HDR);
	if (!p)
		return NULL;
	uint64_t hdr[2] = { TU_ALLOC_LIVE, (uint64_t)size };
	memcpy(p, hdr, sizeof hdr);
	atomic_fetch_add(&a->live, 1);
	atomic_fetch_add(&a->live_bytes, (long)size);
	atomic_fetch_add(&a->allocs, 1);
	if (((uintptr_t)(p + TU_ALLOC_HDR)) % 16)
		atomic_fetch_add(&a->misaligned, 1);
	return p + TU_ALLOC_HDR;
}

static inline void tu_free_fn(void *ptr, size_t size, void *arg)
{
	struct tu_alloc *a = arg;

	if (!ptr)
		return;
	unsigned char *p = (unsigned char *)ptr - TU_ALLOC_HDR;
	uint64_t hdr[2];
	memcpy(hdr, p, sizeof hdr);
	if (hdr[0] != TU_ALLOC_LIVE) {
		/* double free or foreign pointer: count it, leak it */
		atomic_fetch_add(&a->bad_free, 1);
		return;
	}
	if (hdr[1] != (uint64_t)size)
		atomic_fetch_add(&a->bad_free, 1);
	hdr[0] = TU_ALLOC_DEAD;
	memcpy(p, hdr, sizeof hdr);
	atomic_fetch_sub(&a->live, 1);
	atomic_fetch_sub(&a->live_bytes, (long)hdr[1]);
	free(p);
}

static inline void tu_alloc_init(struct tu_alloc *a)
{
	memset(a, 0, sizeof *a);
}

/* Plug the allocator into a configuration. */
static inline void tu_alloc_install(struct tu_alloc *a, struct lfd_config *cfg)
{
	cfg->alloc = tu_alloc_fn;
	cfg->free = tu_free_fn;
	cfg->alloc_arg = a;
}

/* Fail the nth allocation call from now on (1-based; 0: none). */
static inline void tu_alloc_arm(struct tu_alloc *a, long nth)
{
	atomic_store(&a->failed, 0);
	atomic_store(&a->calls, 0);
	atomic_store(&a->fail_nth, nth);
}

static inline void tu_alloc_disarm(struct tu_alloc *a)
{
	atomic_store(&a->fail_nth, 0);
	atomic_store(&a->fail_all, 0);
}

/* Assert no leak and no bad free (call after lfd_destroy). */
#define tu_alloc_assert_clean(a)                                              \
	do {                                                                  \
		ck_assert_msg(atomic_load(&(a)->live) == 0,                   \
			      "leak: %ld live allocations (%ld bytes) after " \
			      "lfd_destroy",                                  \
			      atomic_load(&(a)->live),                        \
			      atomic_load(&(a)->live_bytes));                 \
		ck_assert_msg(atomic_load(&(a)->live_bytes) == 0,             \
			      "leak: %ld live bytes after lfd_destroy",       \
			      atomic_load(&(a)->live_bytes));                 \
		ck_assert_msg(atomic_load(&(a)->bad_free) == 0,               \
			      "%ld frees with a wrong size or pointer",       \
			      atomic_load(&(a)->bad_free));                   \
		ck_assert_msg(atomic_load(&(a)->misaligned) == 0,             \
			      "misaligned allocation");                       \
	} while (0)

/* ------------------------------------------------------------------ */
/* counting destructor                                                 */

#define TU_DTOR_MAGIC 0xd7051234u

/* Values are tu_v(id), id in [1, n); NULL is counted apart. */
struct tu_dtor {
	unsigned magic;
	size_t n;
	atomic_int *calls;
	atomic_long null_calls;
	atomic_long total;
	atomic_long out_of_range;
};

static inline atomic_long *tu_dtor_bad_arg(void)
{
	static atomic_long bad;
	return &bad;
}

static inline void tu_dtor_fn(void *value, void *arg)
{
	struct tu_dtor *t = arg;

	if (!t || t->magic != TU_DTOR_MAGIC) {
		atomic_fetch_add(tu_dtor_bad_arg(), 1);
		return;
	}
	atomic_fetch_add(&t->total, 1);
	if (!value)
		atomic_fetch_add(&t->null_calls, 1);
	else if (tu_vid(value) < t->n)
		atomic_fetch_add(&t->calls[tu_vid(value)], 1);
	else
		atomic_fetch_add(&t->out_of_range, 1);
}

static inline void tu_dtor_init(struct tu_dtor *t, size_t n)
{
	memset(t, 0, sizeof *t);
	t->magic = TU_DTOR_MAGIC;
	t->n = n;
	t->calls = calloc(n ? n : 1, sizeof *t->calls);
	ck_assert_ptr_nonnull(t->calls);
}

static inline void tu_dtor_fini(struct tu_dtor *t)
{
	free(t->calls);
	t->calls = NULL;
}

static inline void tu_dtor_install(struct tu_dtor *t, struct lfd_config *cfg)
{
	cfg->value_free = tu_dtor_fn;
	cfg->value_free_arg = t;
}

/* Calls so far for a value (NULL included). */
static inline long tu_dtor_calls(struct tu_dtor *t, void *value)
{
	if (!value)
		return atomic_load(&t->null_calls);
	if (tu_vid(value) >= t->n)
		return -1;
	return atomic_load(&t->calls[tu_vid(value)]);
}

/* ------------------------------------------------------------------ */
/* errors seen by worker threads                                       */

struct tu_errs {
	atomic_long n;
	atomic_int claimed;
	char first[512];
};

static inline void tu_err(struct tu_errs *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void tu_err(struct tu_errs *e, const char *fmt, ...)
{
	if (atomic_fetch_add(&e->n, 1) == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->first, sizeof e->first, fmt, ap);
		va_end(ap);
		atomic_store(&e->claimed, 1);
	}
}

#define TU_CHECK(e, cond, ...)                                                \
	do {                                                                  \
		if (!(cond))                                                  \
			tu_err((e), __VA_ARGS__);                             \
	} while (0)

/* In the test's own thread, after joining the workers. */
#define tu_assert_no_errs(e)                                                  \
	ck_assert_msg(atomic_load(&(e)->n) == 0,                              \
		      "%ld error(s) in worker threads; first: %s",            \
		      atomic_load(&(e)->n),                                   \
		      atomic_load(&(e)->claimed) ? (e)->first : "?")

/* ------------------------------------------------------------------ */
/* threads                                                             */

static inline void tu_spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int rc = pthread_create(t, NULL, fn, arg);
	ck_assert_msg(rc == 0, "pthread_create: %s", strerror(rc));
}

static inline void tu_join(pthread_t t)
{
	int rc = pthread_join(t, NULL);
	ck_assert_msg(rc == 0, "pthread_join: %s", strerror(rc));
}

/* A reader that stalls: a thread holding a read-side section of d until
 * tu_stall_end, so that no grace period of d's flavour ends meanwhile
 * (retired items pile up; callbacks wait). */
struct tu_stall {
	struct lfd *d;
	pthread_t t;
	atomic_int held, release;
};

static inline void *tu_stall_fn(void *arg)
{
	struct tu_stall *s = arg;

	ck_assert_int_eq(lfd_read_lock(s->d), 0);
	atomic_store(&s->held, 1);
	while (!atomic_load(&s->release))
		usleep(1000);
	ck_assert_int_eq(lfd_read_unlock(s->d), 0);
	return NULL;
}

static inline void tu_stall_begin(struct tu_stall *s, struct lfd *d)
{
	s->d = d;
	atomic_init(&s->held, 0);
	atomic_init(&s->release, 0);
	tu_spawn(&s->t, tu_stall_fn, s);
	while (!atomic_load(&s->held))
		usleep(100);
}

static inline void tu_stall_end(struct tu_stall *s)
{
	atomic_store(&s->release, 1);
	tu_join(s->t);
}

/* ------------------------------------------------------------------ */
/* sequential model: id -> (present, value)                            */

struct tu_model {
	size_t n;
	const char *prefix; /* string keys "<prefix><id>"; NULL: 8-byte ids */
	unsigned char *present;
	void **val;
	size_t count;
};

static inline void tu_model_init(struct tu_model *m, size_t n,
				 const char *prefix)
{
	m->n = n;
	m->prefix = prefix;
	m->present = calloc(n, 1);
	m->val = calloc(n, sizeof *m->val);
	m->count = 0;
	ck_assert_ptr_nonnull(m->present);
	ck_assert_ptr_nonnull(m->val);
}

static inline void tu_model_fini(struct tu_model *m)
{
	free(m->present);
	free(m->val);
	m->present = NULL;
	m->val = NULL;
}

/* The key of id: into buf (TU_KEYBUF bytes), returns its length. */
static inline size_t tu_model_key(const struct tu_model *m, uint64_t id,
				  char *buf)
{
	if (!m->prefix) {
		memcpy(buf, &id, sizeof id);
		return sizeof id;
	}
	return tu_key(buf, m->prefix, id);
}

static inline void tu_model_put(struct tu_model *m, uint64_t id, void *v)
{
	if (!m->present[id])
		m->count++;
	m->present[id] = 1;
	m->val[id] = v;
}

static inline void tu_model_del(struct tu_model *m, uint64_t id)
{
	if (m->present[id])
		m->count--;
	m->present[id] = 0;
	m->val[id] = NULL;
}

struct tu_model_walk {
	const struct tu_model *m;
	unsigned char *seen;
	size_t visits;
	size_t bad; /* foreign keys, wrong values, duplicates */
	char first[256];
};

static inline int tu_model_walk_fn(void *arg, const void *key, size_t len,
				   void *value)
{
	struct tu_model_walk *w = arg;
	const struct tu_model *m = w->m;
	char buf[TU_KEYBUF];
	uint64_t id = UINT64_MAX;

	w->visits++;
	if (!m->prefix) {
		if (len == sizeof id)
			memcpy(&id, key, sizeof id);
	} else {
		size_t pl = strlen(m->prefix);
		if (len > pl && len < TU_KEYBUF - 1 &&
		    memcmp(key, m->prefix, pl) == 0) {
			memcpy(buf, key, len);
			buf[len] = 0;
			char *end;
			id = strtoull(buf + pl, &end, 10);
			if (*end)
				id = UINT64_MAX;
		}
	}
	const char *why = NULL;
	if (id >= m->n)
		why = "foreign key";
	else if (!m->present[id])
		why = "absent key visited";
	else if (w->seen[id])
		why = "key visited twice";
	else if (m->val[id] != value)
		why = "wrong value";
	if (why) {
		if (!w->bad++)
			snprintf(w->first, sizeof w->first,
				 "%s (id %" PRIu64 ", len %zu, value %p)", why,
				 id, len, value);
		return 0;
	}
	w->seen[id] = 1;
	return 0;
}

/* Compare d with the model: every id get()s as the model says (present
 * with its value, or -ENOENT), lfd_count is exact, lfd_foreach visits
 * exactly the present keys once with their values.  `what` names the
 * step in failure messages.  Single-threaded use only. */
static inline void tu_model_verify(struct lfd *d, const struct tu_model *m,
				   const char *what)
{
	char buf[TU_KEYBUF];

	for (size_t id = 0; id < m->n; id++) {
		size_t len = tu_model_key(m, id, buf);
		void *v = TU_UNSET;
		int rc = lfd_get(d, buf, len, &v);
		if (m->present[id]) {
			ck_assert_msg(rc == 0 && v == m->val[id],
				      "%s: id %zu: get -> %d value %p, want 0 "
				      "value %p",
				      what, id, rc, v, m->val[id]);
		} else {
			ck_assert_msg(rc == -ENOENT && v == TU_UNSET,
				      "%s: id %zu: get -> %d value %p, want "
				      "-ENOENT and value untouched",
				      what, id, rc, v);
		}
	}
	size_t count = (size_t)-1;
	int rc = lfd_count(d, &count);
	ck_assert_msg(rc == 0 && count == m->count,
		      "%s: lfd_count -> %d count %zu, want %zu", what, rc, count,
		      m->count);

	struct tu_model_walk w = { .m = m };
	w.seen = calloc(m->n ? m->n : 1, 1);
	ck_assert_ptr_nonnull(w.seen);
	rc = lfd_foreach(d, tu_model_walk_fn, &w);
	ck_assert_msg(rc == 0, "%s: lfd_foreach -> %d", what, rc);
	ck_assert_msg(w.bad == 0, "%s: lfd_foreach: %zu bad visits, first: %s",
		      what, w.bad, w.first);
	ck_assert_msg(w.visits == m->count,
		      "%s: lfd_foreach visited %zu entries, want %zu", what,
		      w.visits, m->count);
	free(w.seen);
}

/* ------------------------------------------------------------------ */
/* stats                                                               */

static inline bool tu_is_pow2(size_t x)
{
	return x && !(x & (x - 1));
}

static inline struct lfd_stats tu_stats(struct lfd *d)
{
	struct lfd_stats st;
	memset(&st, 0xff, sizeof st);
	int rc = lfd_stats(d, &st);
	ck_assert_msg(rc == 0, "lfd_stats -> %d", rc);
	return st;
}

static inline void tu_log_stats(const char *what, const struct lfd_stats *st)
{
	TU_LOG("  %s: count %zu buckets %zu (min %zu max %zu) grows %" PRIu64
	       " shrinks %" PRIu64 " resizing %d\n",
	       what, st->count, st->buckets, st->min_buckets, st->max_buckets,
	       st->grows, st->shrinks, st->resizing);
}

/* After lfd_barrier() with no concurrent call: the bucket count has
 * converged to what the count asks for (tests/density.h), within
 * [min_buckets, max_buckets], a power of two, nothing queued. */
static inline void tu_assert_converged(struct lfd *d, const char *what)
{
	struct lfd_stats st = tu_stats(d);
	size_t count = 0;

	ck_assert_int_eq(lfd_count(d, &count), 0);
	ck_assert_msg(st.count == count, "%s: stats.count %zu != lfd_count %zu",
		      what, st.count, count);
	ck_assert_msg(tu_is_pow2(st.buckets), "%s: buckets %zu not a power of 2",
		      what, st.buckets);
	ck_assert_msg(st.buckets >= st.min_buckets &&
			      st.buckets <= st.max_buckets,
		      "%s: buckets %zu outside [min %zu, max %zu]", what,
		      st.buckets, st.min_buckets, st.max_buckets);
	size_t need, cap;
	td_converged_range(&st, count, &need, &cap);
	ck_assert_msg(st.buckets >= need,
		      "%s: not grown: buckets %zu for count %zu (want >= %zu, "
		      "max_buckets %zu)",
		      what, st.buckets, count, need, st.max_buckets);
	ck_assert_msg(st.buckets <= cap,
		      "%s: not shrunk: buckets %zu for count %zu (want <= %zu, "
		      "min_buckets %zu)",
		      what, st.buckets, count, cap, st.min_buckets);
	ck_assert_msg(st.resizing == 0,
		      "%s: stats.resizing %d after lfd_barrier with no "
		      "concurrent call",
		      what, st.resizing);
}

/* ------------------------------------------------------------------ */
/* runner                                                              */

/* Print the seed, run the suite, return the process exit status. */
static inline int tu_run_suite(Suite *s, const char *prog)
{
	tu_seed_init(prog);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed)
		TU_LOG("%s: %d test(s) failed; seed %" PRIu64
		       " (replay with LFD_TEST_SEED=%" PRIu64 ")\n",
		       prog, failed, tu_seed(), tu_seed());
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* LFD_TESTUTIL_H */
