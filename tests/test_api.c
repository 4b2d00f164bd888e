/*
 * test_api.c - every lfdict call, every return code, every bad input,
 * single-threaded, against the contract in <lfdict.h>.
 *
 * SPDX-License-Identifier: MIT
 */
#include "testutil.h"

#include <sys/mman.h>

_Static_assert(LFD_EMISMATCH == EAGAIN, "LFD_EMISMATCH must be EAGAIN");

/* A dictionary with the counting allocator, so that every test also checks
 * for leaks at lfd_destroy. */
struct fixture {
	struct tu_alloc al;
	struct lfd_config cfg;
	struct lfd *d;
};

static void fx_open(struct fixture *fx, const struct lfd_config *base)
{
	tu_alloc_init(&fx->al);
	if (base)
		fx->cfg = *base;
	else
		tu_cfg_init(&fx->cfg);
	tu_alloc_install(&fx->al, &fx->cfg);
	errno = 0;
	fx->d = lfd_new(&fx->cfg);
	ck_assert_msg(fx->d != NULL, "lfd_new: %s", strerror(errno));
}

static void fx_close(struct fixture *fx)
{
	ck_assert_int_eq(lfd_destroy(fx->d), 0);
	fx->d = NULL;
	tu_alloc_assert_clean(&fx->al);
}

/* Insert ids [0, n) with values tu_v(id + 1) through the model. */
static void populate(struct lfd *d, struct tu_model *m, size_t n)
{
	char k[TU_KEYBUF];
	for (size_t id = 0; id < n; id++) {
		size_t len = tu_model_key(m, id, k);
		void *cur = TU_UNSET;
		int rc = lfd_insert(d, k, len, tu_v(id + 1), &cur);
		ck_assert_msg(rc == 0 && cur == tu_v(id + 1),
			      "populate: insert id %zu -> %d cur %p", id, rc,
			      cur);
		tu_model_put(m, id, tu_v(id + 1));
	}
}

static size_t count_of(struct lfd *d)
{
	size_t c = (size_t)-1;
	int rc = lfd_count(d, &c);
	ck_assert_int_eq(rc, 0);
	return c;
}

/* ------------------------------------------------------------------ */
/* configurations                                                      */

static void *dummy_alloc(size_t size, void *arg)
{
	(void)arg;
	return malloc(size);
}

static void dummy_free(void *p, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	free(p);
}

static void expect_einval_config(const struct lfd_config *cfg,
				 const char *what)
{
	errno = 0;
	struct lfd *d = lfd_new(cfg);
	int e = errno;
	ck_assert_msg(d == NULL, "%s: lfd_new accepted an invalid config", what);
	ck_assert_msg(e == EINVAL, "%s: errno %d (%s), want EINVAL", what, e,
		      strerror(e));
}

START_TEST(test_new_defaults)
{
	struct lfd *d = lfd_new(NULL);
	ck_assert_msg(d != NULL, "lfd_new(NULL): %s", strerror(errno));
	ck_assert_int_eq(lfd_insert(d, "a", 1, tu_v(1), NULL), 0);
	ck_assert_int_eq(count_of(d), 1);
	ck_assert_int_eq(lfd_destroy(d), 0);

	struct lfd_config zero;
	memset(&zero, 0, sizeof zero);
	d = lfd_new(&zero);
	ck_assert_msg(d != NULL, "lfd_new(zero cfg): %s", strerror(errno));
	struct lfd_stats st = tu_stats(d);
	ck_assert_msg(st.count == 0 && st.grows == 0 && st.shrinks == 0,
		      "fresh dictionary: count %zu grows %" PRIu64
		      " shrinks %" PRIu64,
		      st.count, st.grows, st.shrinks);
	ck_assert_msg(tu_is_pow2(st.buckets), "buckets %zu", st.buckets);
	ck_assert_msg(st.min_buckets <= st.buckets &&
			      st.buckets <= st.max_buckets,
		      "buckets %zu min %zu max %zu", st.buckets, st.min_buckets,
		      st.max_buckets);
	ck_assert_msg(st.max_buckets <= LFD_BUCKETS_MAX,
		      "max_buckets %zu > LFD_BUCKETS_MAX", st.max_buckets);
	ck_assert_int_eq(lfd_destroy(d), 0);
	TU_LOG("  new_defaults: buckets %zu min %zu max %zu\n", st.buckets,
	       st.min_buckets, st.max_buckets);
}
END_TEST

START_TEST(test_new_invalid_configs)
{
	struct tu_alloc al;
	struct lfd_config c;

	tu_alloc_init(&al);

	tu_cfg_init(&c);
	c.alloc = tu_alloc_fn;
	c.alloc_arg = &al;
	expect_einval_config(&c, "alloc without free");

	tu_cfg_init(&c);
	c.free = tu_free_fn;
	c.alloc_arg = &al;
	expect_einval_config(&c, "free without alloc");

	static const unsigned bad_flags[] = { 0x2u, 0x4u, 0x80000000u,
					      LFD_FIXED_SIZE | 0x2u, ~0u };
	for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
		char what[64];
		tu_cfg_init(&c);
		tu_alloc_install(&al, &c);
		c.flags = bad_flags[i];
		snprintf(what, sizeof what, "unknown flags 0x%x", bad_flags[i]);
		expect_einval_config(&c, what);
	}

	tu_cfg_init(&c);
	tu_alloc_install(&al, &c);
	c.capacity = 1000;
	c.max_capacity = 999;
	expect_einval_config(&c, "capacity > max_capacity");

	tu_cfg_init(&c);
	tu_alloc_install(&al, &c);
	c.capacity = 2;
	c.max_capacity = 1;
	expect_einval_config(&c, "capacity 2 > max_capacity 1");

	tu_cfg_init(&c);
	tu_alloc_install(&al, &c);
	c.capacity = LFD_BUCKETS_MAX + 1;
	expect_einval_config(&c, "capacity LFD_BUCKETS_MAX + 1");

	tu_cfg_init(&c);
	tu_alloc_install(&al, &c);
	c.capacity = SIZE_MAX;
	expect_einval_config(&c, "capacity SIZE_MAX");

	/* Rejected configurations leave nothing allocated. */
	ck_assert_msg(atomic_load(&al.live) == 0,
		      "%ld allocations live after rejected configs",
		      atomic_load(&al.live));

	/* Valid edges. */
	struct fixture fx;
	tu_cfg_init(&c);
	c.capacity = 1000;
	c.max_capacity = 1000;
	fx_open(&fx, &c);
	fx_close(&fx);

	tu_cfg_init(&c);
	c.capacity = 1000; /* max_capacity 0: no bound */
	fx_open(&fx, &c);
	fx_close(&fx);

	tu_cfg_init(&c);
	c.flags = LFD_FIXED_SIZE;
	fx_open(&fx, &c);
	ck_assert_int_eq(lfd_insert(fx.d, "x", 1, NULL, NULL), 0);
	fx_close(&fx);

	tu_cfg_init(&c);
	c.alloc = dummy_alloc;
	c.free = dummy_free;
	struct lfd *d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(lfd_insert(d, "x", 1, NULL, NULL), 0);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

static uint64_t counting_hash(const void *key, size_t len, void *arg)
{
	atomic_long *calls = arg;
	uint64_t h = 14695981039346656037ull;
	const unsigned char *p = key;
	atomic_fetch_add(calls, 1);
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return tu_mix64(h);
}

/* lfd_new copies the configuration: the struct need not outlive the call. */
START_TEST(test_new_copies_config)
{
	struct tu_alloc al;
	struct tu_dtor dt;
	atomic_long hcalls = 0;
	struct lfd_config *c = malloc(sizeof *c);

	ck_assert_ptr_nonnull(c);
	tu_alloc_init(&al);
	tu_dtor_init(&dt, 16);
	tu_cfg_init(c);
	tu_alloc_install(&al, c);
	tu_dtor_install(&dt, c);
	c->hash = counting_hash;
	c->hash_arg = &hcalls;
	struct lfd *d = lfd_new(c);
	ck_assert_ptr_nonnull(d);
	memset(c, 0xa5, sizeof *c);
	free(c);

	long before = atomic_load(&al.allocs);
	ck_assert_int_eq(lfd_insert(d, "k1", 2, tu_v(1), NULL), 0);
	ck_assert_int_eq(lfd_set(d, "k1", 2, tu_v(2), NULL), 1);
	ck_assert_int_eq(lfd_insert(d, "k2", 2, tu_v(3), NULL), 0);
	ck_assert_msg(atomic_load(&al.allocs) > before,
		      "inserts did not use the configured allocator");
	ck_assert_msg(atomic_load(&hcalls) > 0,
		      "the configured hash was never called");
	ck_assert_int_eq(lfd_barrier(d), 0);
	ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(1)), 1);
	ck_assert_int_eq(lfd_destroy(d), 0);
	ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(2)), 1);
	ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(3)), 1);
	tu_alloc_assert_clean(&al);
	tu_dtor_fini(&dt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* bad inputs                                                          */

static int count_cb(void *arg, const void *key, size_t len, void *value)
{
	(void)key;
	(void)len;
	(void)value;
	(*(size_t *)arg)++;
	return 0;
}

/* Memory per entry (doc/design.md, "Memory per entry").  An entry of up to
 * 56 bytes is a slab slot: 24 bytes and its key, plus one word for the
 * popped value only when the dictionary has a value destructor, rounded
 * up to 8; a block of slots adds a 16-byte header.  A bigger entry is one
 * allocation of exactly that size.  Checked through the checking
 * allocator, which also sees every block and big entry freed with the
 * pointer and size it was allocated with, in both layouts; and popped
 * entries' slots must be reused, not allocated again. */
static void noop_free(void *v, void *arg)
{
	(void)v;
	(void)arg;
}

START_TEST(test_entry_footprint)
{
	enum { N = 100000, BIG = 200 };
	static unsigned char big[BIG];

	for (int dtor = 0; dtor < 2; dtor++) {
		struct lfd_config c;
		struct fixture fx;
		long slot = 24 + 8 + (dtor ? 8 : 0);
		tu_cfg_init(&c);
		c.capacity = 2 * N; /* no grow: only entries allocate */
		c.value_free = dtor ? noop_free : NULL;
		fx_open(&fx, &c);
		cpu_set_t cpus;
		tu_pin_here(&cpus); /* every insert on one stripe: a thread
				       that moves may find its new stripe's
				       free slots empty and take a block */
		long bytes0 = atomic_load(&fx.al.live_bytes);
		for (uint64_t k = 0; k < N; k++)
			ck_assert_int_eq(lfd_insert(fx.d, &k, sizeof k,
						    tu_v(k), NULL), 0);
		long bytes1 = atomic_load(&fx.al.live_bytes);
		double per = (double)(bytes1 - bytes0) / N;
		TU_LOG("  entry_footprint: %s destructor: %.2f bytes per "
		       "8-byte-key entry (slot %ld)\n", dtor ? "with" : "no",
		       per, slot);
		/* at most the last block's unused slots and the headers */
		ck_assert_msg(per >= (double)slot && per <= (double)slot + 1.0,
			      "%.2f bytes per entry, slot %ld", per, slot);

		/* pop half; once reclaimed, as many new keys reuse them */
		for (uint64_t k = 0; k < N; k += 2) {
			void *v;
			ck_assert_int_eq(lfd_pop(fx.d, &k, sizeof k, &v), 0);
		}
		ck_assert_int_eq(lfd_barrier(fx.d), 0);
		for (uint64_t k = N; k < N + N / 2; k++)
			ck_assert_int_eq(lfd_insert(fx.d, &k, sizeof k,
						    tu_v(k), NULL), 0);
		ck_assert_msg(atomic_load(&fx.al.live_bytes) == bytes1,
			      "popped slots not reused: %ld bytes -> %ld",
			      bytes1, atomic_load(&fx.al.live_bytes));

		/* a big key: one allocation of 24 + key (+ 8) bytes */
		long allocs = atomic_load(&fx.al.allocs);
		ck_assert_int_eq(lfd_insert(fx.d, big, BIG, tu_v(1), NULL), 0);
		ck_assert_int_eq(atomic_load(&fx.al.allocs), allocs + 1);
		ck_assert_int_eq(atomic_load(&fx.al.live_bytes) - bytes1,
				 24 + BIG + (dtor ? 8 : 0));
		ck_assert_int_eq(lfd_pop(fx.d, big, BIG, NULL), 0);
		ck_assert_int_eq(lfd_barrier(fx.d), 0);
		ck_assert_int_eq(atomic_load(&fx.al.live_bytes), bytes1);
		ck_assert_int_eq(atomic_load(&fx.al.bad_free), 0);
		tu_unpin(&cpus);
		fx_close(&fx);
	}
}
END_TEST

START_TEST(test_null_dictionary)
{
	void *v = TU_UNSET;
	size_t c = 12345;
	struct lfd_stats st;

	memset(&st, 0x5a, sizeof st);
	ck_assert_int_eq(lfd_get(NULL, "k", 1, &v), -EINVAL);
	ck_assert_int_eq(lfd_insert(NULL, "k", 1, tu_v(1), &v), -EINVAL);
	ck_assert_int_eq(lfd_set(NULL, "k", 1, tu_v(1), &v), -EINVAL);
	ck_assert_int_eq(lfd_replace(NULL, "k", 1, tu_v(1), &v), -EINVAL);
	ck_assert_int_eq(lfd_cas(NULL, "k", 1, tu_v(1), tu_v(2), &v), -EINVAL);
	ck_assert_int_eq(lfd_pop(NULL, "k", 1, &v), -EINVAL);
	ck_assert_int_eq(lfd_pop_if(NULL, "k", 1, tu_v(1)), -EINVAL);
	ck_assert_ptr_eq(v, TU_UNSET);
	ck_assert_int_eq(lfd_count(NULL, &c), -EINVAL);
	ck_assert_uint_eq(c, 12345);
	ck_assert_int_eq(lfd_foreach(NULL, count_cb, &c), -EINVAL);
	ck_assert_uint_eq(c, 12345);
	ck_assert_int_eq(lfd_read_lock(NULL), -EINVAL);
	ck_assert_int_eq(lfd_read_unlock(NULL), -EINVAL);
	ck_assert_int_eq(lfd_barrier(NULL), -EINVAL);
	ck_assert_int_eq(lfd_stats(NULL, &st), -EINVAL);
	ck_assert_int_eq(lfd_destroy(NULL), -EINVAL);
	/* NULL key and NULL outputs on top of the NULL dictionary */
	ck_assert_int_eq(lfd_get(NULL, NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(lfd_insert(NULL, NULL, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(lfd_pop(NULL, NULL, 0, NULL), -EINVAL);
}
END_TEST

/* Memory whose last `n` readable bytes are followed by an inaccessible
 * page: reading past `n` bytes faults. */
struct guard {
	unsigned char *map;
	size_t page;
	unsigned char *tail;
};

static void guard_open(struct guard *g, size_t n, unsigned char fill)
{
	g->page = (size_t)sysconf(_SC_PAGESIZE);
	g->map = mmap(NULL, 2 * g->page, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_msg(g->map != MAP_FAILED, "mmap: %s", strerror(errno));
	ck_assert_int_eq(mprotect(g->map + g->page, g->page, PROT_NONE), 0);
	memset(g->map, fill, g->page);
	g->tail = g->map + g->page - n;
}

static void guard_close(struct guard *g)
{
	munmap(g->map, 2 * g->page);
}

/* Every key call with (key, len) must return -EINVAL, write no output and
 * change nothing. */
static void expect_einval_key(struct lfd *d, const void *key, size_t len,
			      const char *what)
{
	void *out = TU_UNSET;
	int rc;

#define EXPECT_EINVAL(call)                                                   \
	do {                                                                  \
		out = TU_UNSET;                                               \
		rc = (call);                                                  \
		ck_assert_msg(rc == -EINVAL, "%s: %s -> %d (%s), want -EINVAL", \
			      what, #call, rc, lfd_strerror(rc));             \
		ck_assert_msg(out == TU_UNSET, "%s: %s wrote its output",     \
			      what, #call);                                   \
	} while (0)

	EXPECT_EINVAL(lfd_get(d, key, len, &out));
	EXPECT_EINVAL(lfd_insert(d, key, len, tu_v(777), &out));
	EXPECT_EINVAL(lfd_set(d, key, len, tu_v(777), &out));
	EXPECT_EINVAL(lfd_replace(d, key, len, tu_v(777), &out));
	EXPECT_EINVAL(lfd_cas(d, key, len, tu_v(1), tu_v(777), &out));
	EXPECT_EINVAL(lfd_pop(d, key, len, &out));
	EXPECT_EINVAL(lfd_pop_if(d, key, len, tu_v(1)));
	/* and with NULL outputs */
	EXPECT_EINVAL(lfd_get(d, key, len, NULL));
	EXPECT_EINVAL(lfd_insert(d, key, len, tu_v(777), NULL));
	EXPECT_EINVAL(lfd_set(d, key, len, tu_v(777), NULL));
	EXPECT_EINVAL(lfd_replace(d, key, len, tu_v(777), NULL));
	EXPECT_EINVAL(lfd_cas(d, key, len, tu_v(1), tu_v(777), NULL));
	EXPECT_EINVAL(lfd_pop(d, key, len, NULL));
#undef EXPECT_EINVAL
}

START_TEST(test_bad_keys)
{
	struct fixture fx;
	struct tu_model m;
	struct tu_dtor dt;
	struct lfd_config c;

	tu_cfg_init(&c);
	tu_dtor_init(&dt, 1024);
	tu_dtor_install(&dt, &c);
	fx_open(&fx, &c);
	tu_model_init(&m, 200, "k");
	cpu_set_t cpus;
	tu_pin_here(&cpus); /* populate's and the valid insert's slots: one
			       stripe (no new block for the insert below) */
	populate(fx.d, &m, 100);
	/* the empty key too, so that a NULL key with len > 0 cannot be taken
	 * for it */
	ck_assert_int_eq(lfd_insert(fx.d, NULL, 0, tu_v(500), NULL), 0);
	ck_assert_int_eq(lfd_barrier(fx.d), 0);
	long live = atomic_load(&fx.al.live);

	expect_einval_key(fx.d, NULL, 1, "NULL key, len 1");
	expect_einval_key(fx.d, NULL, 2, "NULL key, len 2");
	expect_einval_key(fx.d, NULL, 4096, "NULL key, len 4096");
	expect_einval_key(fx.d, NULL, LFD_KEY_MAX + 1, "NULL key, huge len");

	/* A 3-byte buffer right before an inaccessible page, with a huge
	 * length: the length must be rejected before any byte is read. */
	struct guard g;
	guard_open(&g, 3, 'k');
	expect_einval_key(fx.d, g.tail, LFD_KEY_MAX + 1, "len LFD_KEY_MAX+1");
	expect_einval_key(fx.d, g.tail, LFD_KEY_MAX * 2, "len 2*LFD_KEY_MAX");
	expect_einval_key(fx.d, g.tail, (size_t)UINT32_MAX + 1,
			  "len 2^32");
	expect_einval_key(fx.d, g.tail, SIZE_MAX / 2 + 1, "len SIZE_MAX/2+1");
	expect_einval_key(fx.d, g.tail, SIZE_MAX, "len SIZE_MAX");
	ck_assert_int_eq(lfd_foreach(fx.d, NULL, NULL), -EINVAL);

	/* The same 3 bytes with their true length are a valid key, and the
	 * library must not read beyond them (faults otherwise). */
	void *v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, g.tail, 3, &v), -ENOENT);
	ck_assert_int_eq(lfd_insert(fx.d, g.tail, 3, tu_v(600), NULL), 0);
	ck_assert_int_eq(lfd_get(fx.d, g.tail, 3, &v), 0);
	ck_assert_ptr_eq(v, tu_v(600));
	ck_assert_int_eq(lfd_get(fx.d, "kkk", 3, &v), 0);
	ck_assert_ptr_eq(v, tu_v(600));
	ck_assert_int_eq(lfd_pop(fx.d, g.tail, 3, &v), 0);
	ck_assert_ptr_eq(v, tu_v(600));
	guard_close(&g);

	/* nothing changed */
	ck_assert_uint_eq(count_of(fx.d), m.count + 1);
	ck_assert_int_eq(lfd_barrier(fx.d), 0);
	ck_assert_msg(atomic_load(&fx.al.live) == live,
		      "live allocations %ld -> %ld across rejected calls", live,
		      atomic_load(&fx.al.live));
	tu_unpin(&cpus);
	/* only the popped 600 has been destroyed; nothing for 777 */
	ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(777)), 0);
	ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(600)), 1);
	ck_assert_int_eq(atomic_load(&dt.total), 1);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_pop(fx.d, NULL, 0, &v), 0);
	ck_assert_ptr_eq(v, tu_v(500));
	tu_model_verify(fx.d, &m, "after bad keys");

	fx_close(&fx);
	ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(777)), 0);
	ck_assert_int_eq(atomic_load(&dt.total), 100 + 1 + 1);
	tu_model_fini(&m);
	tu_dtor_fini(&dt);
}
END_TEST

/* ------------------------------------------------------------------ */
/* single calls, every return code                                     */

START_TEST(test_get_insert)
{
	struct fixture fx;
	void *v;

	fx_open(&fx, NULL);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "a", 1, &v), -ENOENT);
	ck_assert_ptr_eq(v, TU_UNSET); /* not written on -ENOENT */
	ck_assert_int_eq(lfd_get(fx.d, "a", 1, NULL), -ENOENT);

	v = TU_UNSET;
	ck_assert_int_eq(lfd_insert(fx.d, "a", 1, tu_v(1), &v), 0);
	ck_assert_ptr_eq(v, tu_v(1)); /* *current = value on 0 */
	v = TU_UNSET;
	ck_assert_int_eq(lfd_insert(fx.d, "a", 1, tu_v(2), &v), -EEXIST);
	ck_assert_ptr_eq(v, tu_v(1)); /* the present value */
	ck_assert_int_eq(lfd_insert(fx.d, "a", 1, tu_v(3), NULL), -EEXIST);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "a", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(1)); /* -EEXIST changed nothing */
	ck_assert_int_eq(lfd_get(fx.d, "a", 1, NULL), 0);

	ck_assert_int_eq(lfd_insert(fx.d, "b", 1, tu_v(4), NULL), 0);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "b", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(4));
	ck_assert_uint_eq(count_of(fx.d), 2);

	/* keys with NUL bytes are byte strings, compared with their length */
	ck_assert_int_eq(lfd_insert(fx.d, "a\0b", 3, tu_v(5), NULL), 0);
	ck_assert_int_eq(lfd_insert(fx.d, "a\0c", 3, tu_v(6), NULL), 0);
	ck_assert_int_eq(lfd_insert(fx.d, "a\0", 2, tu_v(7), NULL), 0);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "a\0b", 3, &v), 0);
	ck_assert_ptr_eq(v, tu_v(5));
	ck_assert_int_eq(lfd_get(fx.d, "a\0c", 3, &v), 0);
	ck_assert_ptr_eq(v, tu_v(6));
	ck_assert_int_eq(lfd_get(fx.d, "a\0", 2, &v), 0);
	ck_assert_ptr_eq(v, tu_v(7));
	ck_assert_int_eq(lfd_get(fx.d, "a", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(1));
	ck_assert_uint_eq(count_of(fx.d), 5);
	fx_close(&fx);
}
END_TEST

START_TEST(test_set)
{
	struct fixture fx;
	void *v;

	fx_open(&fx, NULL);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_set(fx.d, "s", 1, tu_v(1), &v), 0);
	ck_assert_ptr_eq(v, TU_UNSET); /* *old written only on 1 */
	ck_assert_uint_eq(count_of(fx.d), 1);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_set(fx.d, "s", 1, tu_v(2), &v), 1);
	ck_assert_ptr_eq(v, tu_v(1));
	ck_assert_int_eq(lfd_set(fx.d, "s", 1, tu_v(3), NULL), 1);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "s", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(3));
	/* the identical value */
	v = TU_UNSET;
	ck_assert_int_eq(lfd_set(fx.d, "s", 1, tu_v(3), &v), 1);
	ck_assert_ptr_eq(v, tu_v(3));
	ck_assert_int_eq(lfd_set(fx.d, "t", 1, tu_v(9), NULL), 0);
	ck_assert_uint_eq(count_of(fx.d), 2);
	fx_close(&fx);
}
END_TEST

START_TEST(test_replace)
{
	struct fixture fx;
	void *v;

	fx_open(&fx, NULL);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_replace(fx.d, "r", 1, tu_v(1), &v), -ENOENT);
	ck_assert_ptr_eq(v, TU_UNSET);
	ck_assert_int_eq(lfd_replace(fx.d, "r", 1, tu_v(1), NULL), -ENOENT);
	ck_assert_int_eq(lfd_get(fx.d, "r", 1, NULL), -ENOENT); /* not added */
	ck_assert_uint_eq(count_of(fx.d), 0);

	ck_assert_int_eq(lfd_insert(fx.d, "r", 1, tu_v(1), NULL), 0);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_replace(fx.d, "r", 1, tu_v(2), &v), 0);
	ck_assert_ptr_eq(v, tu_v(1));
	ck_assert_int_eq(lfd_replace(fx.d, "r", 1, tu_v(3), NULL), 0);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_replace(fx.d, "r", 1, tu_v(3), &v), 0);
	ck_assert_ptr_eq(v, tu_v(3));
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "r", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(3));
	ck_assert_uint_eq(count_of(fx.d), 1);

	/* a popped key is not brought back */
	ck_assert_int_eq(lfd_pop(fx.d, "r", 1, NULL), 0);
	ck_assert_int_eq(lfd_replace(fx.d, "r", 1, tu_v(4), NULL), -ENOENT);
	ck_assert_int_eq(lfd_get(fx.d, "r", 1, NULL), -ENOENT);
	ck_assert_uint_eq(count_of(fx.d), 0);
	fx_close(&fx);
}
END_TEST

START_TEST(test_cas)
{
	struct fixture fx;
	void *v;

	fx_open(&fx, NULL);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_cas(fx.d, "c", 1, tu_v(1), tu_v(2), &v), -ENOENT);
	ck_assert_ptr_eq(v, TU_UNSET);
	ck_assert_int_eq(lfd_cas(fx.d, "c", 1, NULL, tu_v(2), NULL), -ENOENT);
	ck_assert_int_eq(lfd_get(fx.d, "c", 1, NULL), -ENOENT);

	ck_assert_int_eq(lfd_insert(fx.d, "c", 1, tu_v(1), NULL), 0);
	/* mismatch */
	v = TU_UNSET;
	ck_assert_int_eq(lfd_cas(fx.d, "c", 1, tu_v(5), tu_v(2), &v),
			 -LFD_EMISMATCH);
	ck_assert_ptr_eq(v, tu_v(1));
	ck_assert_int_eq(lfd_cas(fx.d, "c", 1, tu_v(5), tu_v(2), NULL), -EAGAIN);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "c", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(1));
	/* match */
	v = TU_UNSET;
	ck_assert_int_eq(lfd_cas(fx.d, "c", 1, tu_v(1), tu_v(2), &v), 0);
	ck_assert_ptr_eq(v, tu_v(1)); /* *current = expected */
	ck_assert_int_eq(lfd_cas(fx.d, "c", 1, tu_v(2), tu_v(3), NULL), 0);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "c", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(3));
	/* expected == desired succeeds and changes nothing */
	v = TU_UNSET;
	ck_assert_int_eq(lfd_cas(fx.d, "c", 1, tu_v(3), tu_v(3), &v), 0);
	ck_assert_ptr_eq(v, tu_v(3));
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "c", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(3));
	/* expected == desired but not present value: still a mismatch */
	v = TU_UNSET;
	ck_assert_int_eq(lfd_cas(fx.d, "c", 1, tu_v(8), tu_v(8), &v), -EAGAIN);
	ck_assert_ptr_eq(v, tu_v(3));
	ck_assert_uint_eq(count_of(fx.d), 1);
	fx_close(&fx);
}
END_TEST

START_TEST(test_pop_and_pop_if)
{
	struct fixture fx;
	void *v;

	fx_open(&fx, NULL);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_pop(fx.d, "p", 1, &v), -ENOENT);
	ck_assert_ptr_eq(v, TU_UNSET);
	ck_assert_int_eq(lfd_pop(fx.d, "p", 1, NULL), -ENOENT);
	ck_assert_int_eq(lfd_pop_if(fx.d, "p", 1, tu_v(1)), -ENOENT);
	ck_assert_int_eq(lfd_pop_if(fx.d, "p", 1, NULL), -ENOENT);

	ck_assert_int_eq(lfd_insert(fx.d, "p", 1, tu_v(1), NULL), 0);
	ck_assert_int_eq(lfd_insert(fx.d, "q", 1, tu_v(2), NULL), 0);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_pop(fx.d, "p", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(1));
	ck_assert_int_eq(lfd_get(fx.d, "p", 1, NULL), -ENOENT);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_pop(fx.d, "p", 1, &v), -ENOENT);
	ck_assert_ptr_eq(v, TU_UNSET);
	ck_assert_uint_eq(count_of(fx.d), 1);

	ck_assert_int_eq(lfd_pop_if(fx.d, "q", 1, tu_v(3)), -LFD_EMISMATCH);
	ck_assert_int_eq(lfd_pop_if(fx.d, "q", 1, NULL), -EAGAIN);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "q", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(2));
	ck_assert_int_eq(lfd_pop_if(fx.d, "q", 1, tu_v(2)), 0);
	ck_assert_int_eq(lfd_get(fx.d, "q", 1, NULL), -ENOENT);
	ck_assert_int_eq(lfd_pop_if(fx.d, "q", 1, tu_v(2)), -ENOENT);
	ck_assert_uint_eq(count_of(fx.d), 0);

	/* pop with NULL output, then re-insert the same key */
	ck_assert_int_eq(lfd_insert(fx.d, "p", 1, tu_v(4), NULL), 0);
	ck_assert_int_eq(lfd_pop(fx.d, "p", 1, NULL), 0);
	ck_assert_int_eq(lfd_insert(fx.d, "p", 1, tu_v(5), NULL), 0);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "p", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(5));
	ck_assert_uint_eq(count_of(fx.d), 1);
	fx_close(&fx);
}
END_TEST

START_TEST(test_null_values)
{
	struct fixture fx;
	void *v;

	fx_open(&fx, NULL);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_insert(fx.d, "n", 1, NULL, &v), 0);
	ck_assert_ptr_null(v);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "n", 1, &v), 0); /* present, NULL */
	ck_assert_ptr_null(v);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_insert(fx.d, "n", 1, tu_v(1), &v), -EEXIST);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(count_of(fx.d), 1);

	v = TU_UNSET;
	ck_assert_int_eq(lfd_cas(fx.d, "n", 1, tu_v(1), tu_v(2), &v), -EAGAIN);
	ck_assert_ptr_null(v);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_cas(fx.d, "n", 1, NULL, tu_v(2), &v), 0);
	ck_assert_ptr_null(v);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_cas(fx.d, "n", 1, tu_v(2), NULL, &v), 0);
	ck_assert_ptr_eq(v, tu_v(2));
	v = TU_UNSET;
	ck_assert_int_eq(lfd_set(fx.d, "n", 1, NULL, &v), 1);
	ck_assert_ptr_null(v);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_replace(fx.d, "n", 1, tu_v(3), &v), 0);
	ck_assert_ptr_null(v);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_replace(fx.d, "n", 1, NULL, &v), 0);
	ck_assert_ptr_eq(v, tu_v(3));
	ck_assert_int_eq(lfd_pop_if(fx.d, "n", 1, tu_v(3)), -EAGAIN);
	ck_assert_int_eq(lfd_pop_if(fx.d, "n", 1, NULL), 0);
	ck_assert_int_eq(lfd_get(fx.d, "n", 1, NULL), -ENOENT);

	ck_assert_int_eq(lfd_set(fx.d, "m", 1, NULL, NULL), 0);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_pop(fx.d, "m", 1, &v), 0);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(count_of(fx.d), 0);
	fx_close(&fx);
}
END_TEST

struct keyseen {
	size_t visits, empty_visits;
	void *empty_value;
};

static int empty_key_cb(void *arg, const void *key, size_t len, void *value)
{
	struct keyseen *ks = arg;
	(void)key;
	ks->visits++;
	if (len == 0) {
		ks->empty_visits++;
		ks->empty_value = value;
	}
	return 0;
}

START_TEST(test_empty_key)
{
	struct fixture fx;
	void *v;
	static const char other[] = "not empty";

	fx_open(&fx, NULL);
	ck_assert_int_eq(lfd_get(fx.d, NULL, 0, NULL), -ENOENT);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_insert(fx.d, NULL, 0, tu_v(1), &v), 0);
	ck_assert_ptr_eq(v, tu_v(1));
	/* a non-NULL pointer with len 0 is the same key */
	v = TU_UNSET;
	ck_assert_int_eq(lfd_insert(fx.d, other, 0, tu_v(2), &v), -EEXIST);
	ck_assert_ptr_eq(v, tu_v(1));
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "zzz", 0, &v), 0);
	ck_assert_ptr_eq(v, tu_v(1));
	ck_assert_int_eq(lfd_get(fx.d, "", 0, NULL), 0);
	/* distinct from the one-byte keys "\0" and "n" */
	ck_assert_int_eq(lfd_get(fx.d, "\0", 1, NULL), -ENOENT);
	ck_assert_int_eq(lfd_get(fx.d, other, 1, NULL), -ENOENT);
	ck_assert_int_eq(lfd_insert(fx.d, "\0", 1, tu_v(3), NULL), 0);
	ck_assert_uint_eq(count_of(fx.d), 2);

	v = TU_UNSET;
	ck_assert_int_eq(lfd_set(fx.d, other, 0, tu_v(4), &v), 1);
	ck_assert_ptr_eq(v, tu_v(1));
	v = TU_UNSET;
	ck_assert_int_eq(lfd_replace(fx.d, NULL, 0, tu_v(5), &v), 0);
	ck_assert_ptr_eq(v, tu_v(4));
	v = TU_UNSET;
	ck_assert_int_eq(lfd_cas(fx.d, other + 3, 0, tu_v(5), tu_v(6), &v), 0);
	ck_assert_ptr_eq(v, tu_v(5));

	struct keyseen ks = { 0 };
	ck_assert_int_eq(lfd_foreach(fx.d, empty_key_cb, &ks), 0);
	ck_assert_uint_eq(ks.visits, 2);
	ck_assert_uint_eq(ks.empty_visits, 1);
	ck_assert_ptr_eq(ks.empty_value, tu_v(6));

	ck_assert_int_eq(lfd_pop_if(fx.d, NULL, 0, tu_v(5)), -EAGAIN);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_pop(fx.d, other, 0, &v), 0);
	ck_assert_ptr_eq(v, tu_v(6));
	ck_assert_int_eq(lfd_get(fx.d, NULL, 0, NULL), -ENOENT);
	ck_assert_int_eq(lfd_pop(fx.d, NULL, 0, NULL), -ENOENT);
	ck_assert_int_eq(lfd_set(fx.d, NULL, 0, tu_v(7), NULL), 0);
	ck_assert_int_eq(lfd_pop_if(fx.d, "x", 0, tu_v(7)), 0);
	ck_assert_uint_eq(count_of(fx.d), 1);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "\0", 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(3));
	fx_close(&fx);
}
END_TEST

/* Keys that are prefixes of each other, or differ only in their last byte,
 * at many lengths, including 100 KB keys. */
START_TEST(test_prefix_and_last_byte_keys)
{
	struct fixture fx;
	enum { SHORT = 300, LONG = 100 * 1024 };
	unsigned char *buf = malloc(LONG + 1);
	size_t nkeys = 0;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 'a', LONG + 1);
	fx_open(&fx, NULL);
	/* "", "a", "aa", ... and for each length one sibling ending in 'b' */
	static const size_t longs[] = { LONG - 1, LONG };
	for (size_t len = 0; len <= SHORT + 2; len++) {
		size_t l = len <= SHORT ? len : longs[len - SHORT - 1];
		ck_assert_int_eq(lfd_insert(fx.d, buf, l, tu_v(2 * l + 1), NULL),
				 0);
		nkeys++;
		if (l > 0) {
			buf[l - 1] = 'b';
			ck_assert_int_eq(
				lfd_insert(fx.d, buf, l, tu_v(2 * l + 2), NULL),
				0);
			buf[l - 1] = 'a';
			nkeys++;
		}
	}
	ck_assert_uint_eq(count_of(fx.d), nkeys);
	for (size_t len = 0; len <= SHORT + 2; len++) {
		size_t l = len <= SHORT ? len : longs[len - SHORT - 1];
		void *v = TU_UNSET;
		ck_assert_int_eq(lfd_get(fx.d, buf, l, &v), 0);
		ck_assert_msg(v == tu_v(2 * l + 1), "len %zu: value %p", l, v);
		if (l > 0) {
			buf[l - 1] = 'b';
			v = TU_UNSET;
			ck_assert_int_eq(lfd_get(fx.d, buf, l, &v), 0);
			ck_assert_msg(v == tu_v(2 * l + 2),
				      "len %zu last byte b: value %p", l, v);
			/* differs in the last byte from both */
			buf[l - 1] = 'c';
			ck_assert_int_eq(lfd_get(fx.d, buf, l, NULL), -ENOENT);
			buf[l - 1] = 'a';
		}
	}
	/* the long keys through every call */
	void *v = TU_UNSET;
	ck_assert_int_eq(lfd_insert(fx.d, buf, LONG, tu_v(9), &v), -EEXIST);
	ck_assert_ptr_eq(v, tu_v(2 * LONG + 1));
	ck_assert_int_eq(lfd_set(fx.d, buf, LONG, tu_v(10), &v), 1);
	ck_assert_int_eq(lfd_replace(fx.d, buf, LONG, tu_v(11), &v), 0);
	ck_assert_ptr_eq(v, tu_v(10));
	ck_assert_int_eq(lfd_cas(fx.d, buf, LONG, tu_v(11), tu_v(12), &v), 0);
	ck_assert_int_eq(lfd_pop_if(fx.d, buf, LONG, tu_v(11)), -EAGAIN);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, buf, LONG - 1, &v), 0);
	ck_assert_ptr_eq(v, tu_v(2 * (LONG - 1) + 1)); /* the prefix kept */
	ck_assert_int_eq(lfd_pop_if(fx.d, buf, LONG, tu_v(12)), 0);
	ck_assert_int_eq(lfd_get(fx.d, buf, LONG, NULL), -ENOENT);
	ck_assert_int_eq(lfd_get(fx.d, buf, LONG - 1, NULL), 0);
	buf[LONG - 1] = 'b';
	v = TU_UNSET;
	ck_assert_int_eq(lfd_pop(fx.d, buf, LONG, &v), 0);
	ck_assert_ptr_eq(v, tu_v(2 * LONG + 2));
	buf[LONG - 1] = 'a';
	ck_assert_uint_eq(count_of(fx.d), nkeys - 2);
	/* a key one byte longer than every stored key */
	ck_assert_int_eq(lfd_get(fx.d, buf, LONG + 1, NULL), -ENOENT);
	TU_LOG("  prefix_and_last_byte_keys: %zu keys, longest %d bytes\n",
	       nkeys, (int)LONG);
	fx_close(&fx);
	free(buf);
}
END_TEST

/* Keys are copied: the caller's buffer may change after the call. */
START_TEST(test_keys_are_copied)
{
	struct fixture fx;
	char k[16];
	void *v;

	fx_open(&fx, NULL);
	memcpy(k, "mutable", 8);
	ck_assert_int_eq(lfd_insert(fx.d, k, 7, tu_v(1), NULL), 0);
	memcpy(k, "changed", 8);
	ck_assert_int_eq(lfd_get(fx.d, k, 7, NULL), -ENOENT);
	v = TU_UNSET;
	ck_assert_int_eq(lfd_get(fx.d, "mutable", 7, &v), 0);
	ck_assert_ptr_eq(v, tu_v(1));
	memcpy(k, "setting", 8);
	ck_assert_int_eq(lfd_set(fx.d, k, 7, tu_v(2), NULL), 0);
	memset(k, 0, sizeof k);
	ck_assert_int_eq(lfd_get(fx.d, "setting", 7, NULL), 0);
	fx_close(&fx);
}
END_TEST

/* ------------------------------------------------------------------ */
/* count, foreach                                                      */

START_TEST(test_count_exact)
{
	struct fixture fx;
	struct tu_model m;
	struct tu_rng r;
	enum { N = 3000, OPS = 60000 };
	char k[TU_KEYBUF];
	uint64_t next = 1;

	tu_rng_init(&r, 101);
	fx_open(&fx, NULL);
	tu_model_init(&m, N, "count-");
	for (int op = 0; op < OPS; op++) {
		size_t id = (size_t)tu_rng_below(&r, N);
		size_t len = tu_model_key(&m, id, k);
		void *nv = tu_v(next++);
		void *out = TU_UNSET;
		int rc, want;
		switch (tu_rng_below(&r, 7)) {
		case 0:
			rc = lfd_insert(fx.d, k, len, nv, &out);
			want = m.present[id] ? -EEXIST : 0;
			ck_assert_msg(rc == want &&
					      out == (m.present[id] ? m.val[id] : nv),
				      "op %d insert id %zu -> %d", op, id, rc);
			if (!m.present[id])
				tu_model_put(&m, id, nv);
			break;
		case 1:
			rc = lfd_set(fx.d, k, len, nv, &out);
			want = m.present[id] ? 1 : 0;
			ck_assert_msg(rc == want &&
					      out == (m.present[id] ? m.val[id]
								    : TU_UNSET),
				      "op %d set id %zu -> %d", op, id, rc);
			tu_model_put(&m, id, nv);
			break;
		case 2:
			rc = lfd_replace(fx.d, k, len, nv, &out);
			want = m.present[id] ? 0 : -ENOENT;
			ck_assert_msg(rc == want, "op %d replace id %zu -> %d",
				      op, id, rc);
			if (m.present[id]) {
				ck_assert_ptr_eq(out, m.val[id]);
				tu_model_put(&m, id, nv);
			}
			break;
		case 3: {
			void *exp = tu_rng_below(&r, 2) && m.present[id]
					    ? m.val[id]
					    : tu_v(next++);
			rc = lfd_cas(fx.d, k, len, exp, nv, &out);
			want = !m.present[id]	     ? -ENOENT
			       : m.val[id] == exp ? 0
						  : -EAGAIN;
			ck_assert_msg(rc == want, "op %d cas id %zu -> %d", op,
				      id, rc);
			if (rc == 0)
				tu_model_put(&m, id, nv);
			break;
		}
		case 4:
		case 5:
			rc = lfd_pop(fx.d, k, len, &out);
			want = m.present[id] ? 0 : -ENOENT;
			ck_assert_msg(rc == want, "op %d pop id %zu -> %d", op,
				      id, rc);
			if (rc == 0) {
				ck_assert_ptr_eq(out, m.val[id]);
				tu_model_del(&m, id);
			}
			break;
		default: {
			void *exp = tu_rng_below(&r, 2) && m.present[id]
					    ? m.val[id]
					    : tu_v(next++);
			rc = lfd_pop_if(fx.d, k, len, exp);
			want = !m.present[id]	     ? -ENOENT
			       : m.val[id] == exp ? 0
						  : -EAGAIN;
			ck_assert_msg(rc == want, "op %d pop_if id %zu -> %d",
				      op, id, rc);
			if (rc == 0)
				tu_model_del(&m, id);
			break;
		}
		}
		size_t c = count_of(fx.d);
		ck_assert_msg(c == m.count, "op %d: lfd_count %zu, model %zu",
			      op, c, m.count);
		if (op % 20000 == 19999)
			tu_model_verify(fx.d, &m, "count_exact");
	}
	struct lfd_stats st = tu_stats(fx.d);
	ck_assert_uint_eq(st.count, m.count);
	TU_LOG("  count_exact: %d ops on %d keys, final count %zu\n", OPS, N,
	       m.count);
	tu_model_fini(&m);
	fx_close(&fx);
}
END_TEST

struct stopper {
	size_t visits;
	size_t stop_at;
	int ret;
};

static int stop_cb(void *arg, const void *key, size_t len, void *value)
{
	struct stopper *s = arg;
	(void)key;
	(void)len;
	(void)value;
	if (++s->visits == s->stop_at)
		return s->ret;
	return 0;
}

struct nested {
	struct lfd *d;
	size_t visits;
	size_t bad;
};

/* fn may call any lfdict call except destroy and barrier */
static int nested_cb(void *arg, const void *key, size_t len, void *value)
{
	struct nested *n = arg;
	void *v = TU_UNSET;
	n->visits++;
	if (lfd_get(n->d, key, len, &v) != 0 || v != value)
		n->bad++;
	if (lfd_set(n->d, key, len, tu_v(tu_vid(value) + 1000000), &v) != 1 ||
	    v != value)
		n->bad++;
	if (lfd_barrier(n->d) != -EDEADLK)
		n->bad++;
	return 0;
}

/* The callback pops the entry it visits when its id is even.  The pop
 * retires the entry at once, so the walk's next step meets a next word
 * that is a retire-stack link (LFD_RETIRED, lib/table.c lfd_foreach_next):
 * every key must still be visited exactly once. */
struct popper {
	struct lfd *d;
	unsigned char *seen; /* visits per id */
	size_t n, visits, bad;
};

static int pop_cb(void *arg, const void *key, size_t len, void *value)
{
	struct popper *p = arg;
	uint64_t id = tu_vid(value) - 1;
	void *v = TU_UNSET;

	p->visits++;
	if (id >= p->n) {
		p->bad++;
		return 0;
	}
	p->seen[id]++;
	if (id % 2 == 0 &&
	    (lfd_pop(p->d, key, len, &v) != 0 || v != value))
		p->bad++;
	return 0;
}

START_TEST(test_foreach)
{
	struct fixture fx;
	struct tu_model m;
	enum { N = 5000 };

	fx_open(&fx, NULL);
	tu_model_init(&m, N, "walk-");

	/* empty */
	struct stopper s = { 0, 0, 0 };
	ck_assert_int_eq(lfd_foreach(fx.d, stop_cb, &s), 0);
	ck_assert_uint_eq(s.visits, 0);

	populate(fx.d, &m, N);
	/* every entry once, with its value (tu_model_verify walks too) */
	tu_model_verify(fx.d, &m, "foreach");

	/* early stop returns the callback's value, positive or negative */
	static const struct {
		size_t at;
		int ret;
	} stops[] = { { 1, 42 }, { 10, 42 }, { 2500, -5 }, { N, 7 },
		      { 100, -EINVAL } };
	for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
		struct stopper st = { 0, stops[i].at, stops[i].ret };
		int rc = lfd_foreach(fx.d, stop_cb, &st);
		ck_assert_msg(rc == stops[i].ret,
			      "stop at %zu: foreach -> %d, want %d", stops[i].at,
			      rc, stops[i].ret);
		ck_assert_msg(st.visits == stops[i].at,
			      "stop at %zu: %zu visits after the stop",
			      stops[i].at, st.visits);
	}
	struct stopper all = { 0, N + 1, 99 };
	ck_assert_int_eq(lfd_foreach(fx.d, stop_cb, &all), 0);
	ck_assert_uint_eq(all.visits, N);

	/* calls from inside the callback */
	struct nested nb = { fx.d, 0, 0 };
	ck_assert_int_eq(lfd_foreach(fx.d, nested_cb, &nb), 0);
	ck_assert_msg(nb.bad == 0, "%zu bad nested calls", nb.bad);
	ck_assert_uint_eq(nb.visits, N);
	for (size_t id = 0; id < N; id++)
		tu_model_put(&m, id, tu_v(id + 1 + 1000000));
	tu_model_verify(fx.d, &m, "after nested sets");

	/* the callback pops every other entry as it visits it */
	static unsigned char seen[N];
	struct popper pp = { fx.d, seen, N, 0, 0 };
	fx_close(&fx);
	fx_open(&fx, NULL);
	populate(fx.d, &m, N); /* fresh values id + 1 */
	pp.d = fx.d;
	ck_assert_int_eq(lfd_foreach(fx.d, pop_cb, &pp), 0);
	ck_assert_msg(pp.bad == 0, "%zu bad pops or values", pp.bad);
	ck_assert_uint_eq(pp.visits, N);
	for (size_t id = 0; id < N; id++) {
		ck_assert_msg(seen[id] == 1, "id %zu visited %d times", id,
			      (int)seen[id]);
		if (id % 2 == 0)
			tu_model_del(&m, id);
	}
	tu_model_verify(fx.d, &m, "after popping foreach");
	TU_LOG("  foreach: %d entries\n", (int)N);
	tu_model_fini(&m);
	fx_close(&fx);
}
END_TEST

/* ------------------------------------------------------------------ */
/* misc                                                                */

START_TEST(test_strerror)
{
	static const int errs[] = { -EINVAL, -ENOMEM,	-ENOENT,
				    -EEXIST, -EAGAIN, -EDEADLK };
	for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
		const char *s = lfd_strerror(errs[i]);
		ck_assert_msg(s != NULL, "lfd_strerror(%d) is NULL", errs[i]);
		ck_assert_msg(s[0] != 0, "lfd_strerror(%d) is empty", errs[i]);
	}
	ck_assert_ptr_nonnull(lfd_strerror(-LFD_EMISMATCH));
}
END_TEST

START_TEST(test_read_lock_nesting_and_edeadlk)
{
	struct fixture fx;
	struct tu_dtor dt;
	struct tu_model m;
	struct lfd_config c;

	tu_cfg_init(&c);
	tu_dtor_init(&dt, 1024);
	tu_dtor_install(&dt, &c);
	fx_open(&fx, &c);
	tu_model_init(&m, 100, "rl-");
	cpu_set_t cpus;
	tu_pin_here(&cpus); /* populate's and "inside"'s slots: one stripe */
	populate(fx.d, &m, 100);
	ck_assert_int_eq(lfd_barrier(fx.d), 0);
	long live = atomic_load(&fx.al.live);

	enum { DEPTH = 4 };
	for (int i = 0; i < DEPTH; i++) {
		ck_assert_int_eq(lfd_read_lock(fx.d), 0);
		ck_assert_int_eq(lfd_barrier(fx.d), -EDEADLK);
		ck_assert_int_eq(lfd_destroy(fx.d), -EDEADLK);
		void *v = TU_UNSET;
		ck_assert_int_eq(lfd_get(fx.d, "rl-7", 4, &v), 0);
		ck_assert_ptr_eq(v, tu_v(8));
	}
	/* updates inside the section */
	ck_assert_int_eq(lfd_insert(fx.d, "inside", 6, tu_v(500), NULL), 0);
	ck_assert_int_eq(lfd_pop(fx.d, "inside", 6, NULL), 0);
	for (int i = DEPTH; i > 0; i--) {
		ck_assert_int_eq(lfd_barrier(fx.d), -EDEADLK);
		ck_assert_int_eq(lfd_destroy(fx.d), -EDEADLK);
		ck_assert_int_eq(lfd_read_unlock(fx.d), 0);
	}
	/* -EDEADLK freed nothing and destroyed no value */
	ck_assert_int_eq(lfd_barrier(fx.d), 0);
	ck_assert_int_eq(tu_dtor_calls(&dt, tu_v(500)), 1);
	ck_assert_int_eq(atomic_load(&dt.total), 1);
	ck_assert_msg(atomic_load(&fx.al.live) == live,
		      "live allocations %ld -> %ld", live,
		      atomic_load(&fx.al.live));
	tu_unpin(&cpus);
	tu_model_verify(fx.d, &m, "after -EDEADLK");
	fx_close(&fx);
	ck_assert_int_eq(atomic_load(&dt.total), 101);
	tu_model_fini(&m);
	tu_dtor_fini(&dt);
}
END_TEST

START_TEST(test_stats_and_no_leak)
{
	struct fixture fx;
	struct tu_model m;
	enum { N = 20000 };
	char k[TU_KEYBUF];

	fx_open(&fx, NULL);
	tu_model_init(&m, N, "st-");
	populate(fx.d, &m, N);
	ck_assert_int_eq(lfd_barrier(fx.d), 0);
	struct lfd_stats st = tu_stats(fx.d);
	tu_log_stats("stats after inserts", &st);
	ck_assert_uint_eq(st.count, N);
	ck_assert_msg(st.grows > 0, "no grow with %d entries", (int)N);
	tu_assert_converged(fx.d, "after inserts");
	ck_assert_msg(atomic_load(&fx.al.live_bytes) >= 32L * N,
		      "%ld live bytes for %d entries",
		      atomic_load(&fx.al.live_bytes), (int)N);
	for (size_t id = 0; id < N; id += 2) {
		size_t len = tu_model_key(&m, id, k);
		ck_assert_int_eq(lfd_pop(fx.d, k, len, NULL), 0);
		tu_model_del(&m, id);
	}
	ck_assert_int_eq(lfd_barrier(fx.d), 0);
	st = tu_stats(fx.d);
	ck_assert_uint_eq(st.count, N / 2);
	tu_model_verify(fx.d, &m, "after pops");
	tu_model_fini(&m);
	fx_close(&fx);
}
END_TEST

static Suite *api_suite(void)
{
	Suite *s = suite_create("lfdict-api");
	TCase *tc = tcase_create("api");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_new_defaults);
	tcase_add_test(tc, test_new_invalid_configs);
	tcase_add_test(tc, test_new_copies_config);
	tcase_add_test(tc, test_null_dictionary);
	tcase_add_test(tc, test_entry_footprint);
	tcase_add_test(tc, test_bad_keys);
	tcase_add_test(tc, test_get_insert);
	tcase_add_test(tc, test_set);
	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_cas);
	tcase_add_test(tc, test_pop_and_pop_if);
	tcase_add_test(tc, test_null_values);
	tcase_add_test(tc, test_empty_key);
	tcase_add_test(tc, test_prefix_and_last_byte_keys);
	tcase_add_test(tc, test_keys_are_copied);
	tcase_add_test(tc, test_count_exact);
	tcase_add_test(tc, test_foreach);
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_read_lock_nesting_and_edeadlk);
	tcase_add_test(tc, test_stats_and_no_leak);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(api_suite(), "test_api");
}
