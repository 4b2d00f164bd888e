/*
 * test_hash.c - caller-supplied hash functions: a constant hash (every key
 * in one chain) and an identity-like hash on 8-byte integer keys.  Every
 * call must stay correct however bad the hash.
 *
 * SPDX-License-Identifier: MIT
 */
#include "testutil.h"
#include "sohash.h"

#define HASH_MAGIC 0x4a5b6c7du

struct hash_arg {
	unsigned magic;
	uint64_t constant;
	atomic_long calls;
	atomic_long bad; /* wrong arg or key/len never used by the test */
};

static uint64_t const_hash(const void *key, size_t len, void *arg)
{
	struct hash_arg *h = arg;
	(void)key;
	if (!h || h->magic != HASH_MAGIC)
		abort(); /* hash_arg not passed through: fail loudly */
	atomic_fetch_add(&h->calls, 1);
	if (len >= TU_KEYBUF)
		atomic_fetch_add(&h->bad, 1);
	return h->constant;
}

/* identity on 8-byte keys (the integer itself), something else for the
 * other lengths */
static uint64_t ident_hash(const void *key, size_t len, void *arg)
{
	struct hash_arg *h = arg;
	uint64_t v = 0;
	if (!h || h->magic != HASH_MAGIC)
		abort();
	atomic_fetch_add(&h->calls, 1);
	if (len == sizeof v) {
		memcpy(&v, key, sizeof v);
		return v;
	}
	atomic_fetch_add(&h->bad, 1);
	return len;
}

/* Drive every call on ids [0, n) of the model (which starts empty), check
 * each return code and output against the model, and verify the whole
 * dictionary (get, count, foreach) between the phases. */
static void exercise(struct lfd *d, struct tu_model *m, size_t n,
		     const char *what)
{
	char k[TU_KEYBUF];
	char msg[96];
	size_t len;
	void *v;
	int rc;
	double t0 = tu_now();

	ck_assert_uint_le(n + n / 100 + 1, m->n);
	/* insert */
	for (size_t id = 0; id < n; id++) {
		len = tu_model_key(m, id, k);
		v = TU_UNSET;
		rc = lfd_insert(d, k, len, tu_v(id + 1), &v);
		ck_assert_msg(rc == 0 && v == tu_v(id + 1),
			      "%s: insert id %zu -> %d current %p", what, id, rc,
			      v);
		tu_model_put(m, id, tu_v(id + 1));
	}
	snprintf(msg, sizeof msg, "%s: after inserts", what);
	tu_model_verify(d, m, msg);

	/* insert of present keys: -EEXIST, *current, nothing changed */
	for (size_t id = 0; id < n; id += 10) {
		len = tu_model_key(m, id, k);
		v = TU_UNSET;
		rc = lfd_insert(d, k, len, tu_v(0xbad), &v);
		ck_assert_msg(rc == -EEXIST && v == m->val[id],
			      "%s: re-insert id %zu -> %d current %p", what, id,
			      rc, v);
	}
	/* set: replace every 2nd, plus some new keys */
	for (size_t id = 0; id < n; id += 2) {
		len = tu_model_key(m, id, k);
		v = TU_UNSET;
		rc = lfd_set(d, k, len, tu_v(id + 1000001), &v);
		ck_assert_msg(rc == 1 && v == m->val[id],
			      "%s: set id %zu -> %d old %p", what, id, rc, v);
		tu_model_put(m, id, tu_v(id + 1000001));
	}
	for (size_t id = n; id < n + n / 100 + 1; id++) {
		len = tu_model_key(m, id, k);
		v = TU_UNSET;
		rc = lfd_set(d, k, len, tu_v(id + 1), &v);
		ck_assert_msg(rc == 0 && v == TU_UNSET,
			      "%s: set new id %zu -> %d", what, id, rc);
		tu_model_put(m, id, tu_v(id + 1));
	}
	/* replace every 3rd; replace absent keys */
	for (size_t id = 0; id < n; id += 3) {
		len = tu_model_key(m, id, k);
		v = TU_UNSET;
		rc = lfd_replace(d, k, len, tu_v(id + 2000001), &v);
		ck_assert_msg(rc == 0 && v == m->val[id],
			      "%s: replace id %zu -> %d old %p", what, id, rc,
			      v);
		tu_model_put(m, id, tu_v(id + 2000001));
	}
	snprintf(msg, sizeof msg, "%s: after set/replace", what);
	tu_model_verify(d, m, msg);

	/* cas: match on every 4th, mismatch on the next one */
	for (size_t id = 0; id + 1 < n; id += 4) {
		len = tu_model_key(m, id, k);
		v = TU_UNSET;
		rc = lfd_cas(d, k, len, m->val[id], tu_v(id + 3000001), &v);
		ck_assert_msg(rc == 0 && v == m->val[id],
			      "%s: cas id %zu -> %d current %p", what, id, rc, v);
		tu_model_put(m, id, tu_v(id + 3000001));
		len = tu_model_key(m, id + 1, k);
		v = TU_UNSET;
		rc = lfd_cas(d, k, len, tu_v(0xbad), tu_v(0xbad2), &v);
		ck_assert_msg(rc == -EAGAIN && v == m->val[id + 1],
			      "%s: cas mismatch id %zu -> %d current %p", what,
			      id + 1, rc, v);
	}
	/* pop every 5th; pop_if every 7th, once mismatching, once matching */
	for (size_t id = 0; id < n; id += 5) {
		len = tu_model_key(m, id, k);
		v = TU_UNSET;
		rc = lfd_pop(d, k, len, &v);
		ck_assert_msg(rc == 0 && v == m->val[id],
			      "%s: pop id %zu -> %d value %p", what, id, rc, v);
		tu_model_del(m, id);
		v = TU_UNSET;
		rc = lfd_pop(d, k, len, &v);
		ck_assert_msg(rc == -ENOENT && v == TU_UNSET,
			      "%s: second pop id %zu -> %d", what, id, rc);
	}
	for (size_t id = 1; id < n; id += 7) {
		if (!m->present[id])
			continue;
		len = tu_model_key(m, id, k);
		rc = lfd_pop_if(d, k, len, tu_v(0xbad));
		ck_assert_msg(rc == -EAGAIN, "%s: pop_if mismatch id %zu -> %d",
			      what, id, rc);
		rc = lfd_pop_if(d, k, len, m->val[id]);
		ck_assert_msg(rc == 0, "%s: pop_if id %zu -> %d", what, id, rc);
		tu_model_del(m, id);
	}
	/* calls on absent keys */
	for (size_t id = 0; id < n; id += 5) {
		len = tu_model_key(m, id, k);
		ck_assert_int_eq(lfd_get(d, k, len, NULL), -ENOENT);
		ck_assert_int_eq(lfd_replace(d, k, len, tu_v(1), NULL), -ENOENT);
		ck_assert_int_eq(lfd_cas(d, k, len, NULL, tu_v(1), NULL),
				 -ENOENT);
		ck_assert_int_eq(lfd_pop_if(d, k, len, NULL), -ENOENT);
	}
	snprintf(msg, sizeof msg, "%s: after cas/pop", what);
	tu_model_verify(d, m, msg);

	/* re-insert half of the popped keys */
	for (size_t id = 0; id < n; id += 10) {
		len = tu_model_key(m, id, k);
		rc = lfd_insert(d, k, len, tu_v(id + 4000001), NULL);
		ck_assert_msg(rc == 0, "%s: re-insert popped id %zu -> %d", what,
			      id, rc);
		tu_model_put(m, id, tu_v(id + 4000001));
	}
	snprintf(msg, sizeof msg, "%s: final", what);
	tu_model_verify(d, m, msg);
	ck_assert_int_eq(lfd_barrier(d), 0);
	tu_assert_converged(d, msg);
	struct lfd_stats st = tu_stats(d);
	TU_LOG("  %s: %zu keys, final count %zu, buckets %zu, grows %" PRIu64
	       " shrinks %" PRIu64 ", %.2f s\n",
	       what, n, m->count, st.buckets, st.grows, st.shrinks,
	       tu_now() - t0);
}

static void run_const(uint64_t constant, size_t n)
{
	struct hash_arg h = { .magic = HASH_MAGIC, .constant = constant };
	struct tu_alloc al;
	struct lfd_config c;
	struct tu_model m;
	char what[64];

	tu_alloc_init(&al);
	tu_cfg_init(&c);
	tu_alloc_install(&al, &c);
	c.hash = const_hash;
	c.hash_arg = &h;
	struct lfd *d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);
	tu_model_init(&m, n + n / 100 + 1, "const-key-");
	snprintf(what, sizeof what, "constant hash 0x%" PRIx64, constant);
	exercise(d, &m, n, what);
	ck_assert_msg(atomic_load(&h.calls) > 0, "hash never called");
	ck_assert_msg(atomic_load(&h.bad) == 0,
		      "hash called with a length the test never used");
	ck_assert_int_eq(lfd_destroy(d), 0);
	tu_alloc_assert_clean(&al);
	tu_model_fini(&m);
}

/* One chain makes every call walk all of it: n^2 steps.  ThreadSanitizer
 * runs each atomic load some 50x slower: 20,000 keys took 236-256 s of the
 * test's 300 s there on the 2-core machine, and 6,000 with the rest of this
 * file at full size 120 s of CI's time.  So under TSan every size here is
 * halved (HASH_DIV) and the one-chain test has 3,000 keys. */
#if defined(__SANITIZE_THREAD__)
#define HASH_DIV 2
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HASH_DIV 2
#endif
#endif
#ifndef HASH_DIV
#define HASH_DIV 1
#endif
#define CONST_KEYS (HASH_DIV == 1 ? 20000 : 3000)

START_TEST(test_constant_hash)
{
	run_const(0x2a, CONST_KEYS);
}
END_TEST

START_TEST(test_constant_hash_edges)
{
	/* the ends of the split order: hashes that fold to 0 (every key
	 * in bucket node 0's chain, at any size) and to all ones (after the
	 * last bucket node); then other constants (as many keys in all as
	 * before the fold: the TSan run's time is tight, see HASH_DIV) */
	run_const(tu_hash_for_fold(0), 4000 / HASH_DIV);
	run_const(tu_hash_for_fold(UINT32_MAX), 4000 / HASH_DIV);
	run_const(0x7fffffff, 2000 / HASH_DIV);
	run_const(UINT64_MAX, 2000 / HASH_DIV);
	run_const(0xffffffff80000000ull, 2000 / HASH_DIV);
}
END_TEST

static void run_ident(uint64_t shift, size_t n, const char *what)
{
	struct hash_arg h = { .magic = HASH_MAGIC };
	struct tu_alloc al;
	struct lfd_config c;
	struct tu_model m;

	tu_alloc_init(&al);
	tu_cfg_init(&c);
	tu_alloc_install(&al, &c);
	c.hash = ident_hash;
	c.hash_arg = &h;
	struct lfd *d = lfd_new(&c);
	ck_assert_ptr_nonnull(d);

	/* the model's 8-byte keys are the ids; shifted ids go through a
	 * second model-free pass below */
	if (shift == 0) {
		tu_model_init(&m, n + n / 100 + 1, NULL);
		exercise(d, &m, n, what);
		tu_model_fini(&m);
	} else {
		/* keys id << shift: equal low bits, which the fold spreads */
		double t0 = tu_now();
		for (uint64_t id = 0; id < n; id++) {
			uint64_t key = id << shift;
			void *v = TU_UNSET;
			int rc = lfd_insert(d, &key, sizeof key, tu_v(id + 1), &v);
			ck_assert_msg(rc == 0 && v == tu_v(id + 1),
				      "%s: insert %" PRIu64 " -> %d", what, id,
				      rc);
		}
		for (uint64_t id = 0; id < n; id++) {
			uint64_t key = id << shift;
			void *v = TU_UNSET;
			ck_assert_int_eq(lfd_get(d, &key, sizeof key, &v), 0);
			ck_assert_ptr_eq(v, tu_v(id + 1));
			if (id % 3 == 0) {
				ck_assert_int_eq(
					lfd_cas(d, &key, sizeof key, tu_v(id + 1),
						tu_v(id + 2), NULL),
					0);
				ck_assert_int_eq(lfd_pop_if(d, &key, sizeof key,
							    tu_v(id + 1)),
						 -EAGAIN);
				ck_assert_int_eq(lfd_pop(d, &key, sizeof key, &v),
						 0);
				ck_assert_ptr_eq(v, tu_v(id + 2));
			} else if (id % 3 == 1) {
				ck_assert_int_eq(lfd_set(d, &key, sizeof key,
							 tu_v(id + 5), &v),
						 1);
				ck_assert_ptr_eq(v, tu_v(id + 1));
			}
		}
		size_t count = 0, want = 0;
		for (uint64_t id = 0; id < n; id++) {
			uint64_t key = id << shift;
			void *v = TU_UNSET;
			int rc = lfd_get(d, &key, sizeof key, &v);
			if (id % 3 == 0) {
				ck_assert_msg(rc == -ENOENT,
					      "%s: popped %" PRIu64 " -> %d",
					      what, id, rc);
			} else {
				want++;
				ck_assert_msg(rc == 0 &&
						      v == tu_v(id % 3 == 1
									? id + 5
									: id + 1),
					      "%s: %" PRIu64 " -> %d %p", what,
					      id, rc, v);
			}
		}
		ck_assert_int_eq(lfd_count(d, &count), 0);
		ck_assert_uint_eq(count, want);
		ck_assert_int_eq(lfd_barrier(d), 0);
		tu_assert_converged(d, what);
		TU_LOG("  %s: %zu keys, %.2f s\n", what, n, tu_now() - t0);
	}
	ck_assert_msg(atomic_load(&h.bad) == 0,
		      "identity hash got a key that is not 8 bytes");
	ck_assert_int_eq(lfd_destroy(d), 0);
	tu_alloc_assert_clean(&al);
}

START_TEST(test_identity_hash)
{
	run_ident(0, 200000 / HASH_DIV, "identity hash, keys 0..n-1");
	run_ident(24, 4096 / HASH_DIV, "identity hash, keys i<<24");
	run_ident(31, 2000 / HASH_DIV, "identity hash, keys i<<31");
	run_ident(1, 100000 / HASH_DIV, "identity hash, even keys");
}
END_TEST

static Suite *hash_suite(void)
{
	Suite *s = suite_create("lfdict-hash");
	TCase *tc = tcase_create("hash");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_constant_hash);
	tcase_add_test(tc, test_constant_hash_edges);
	tcase_add_test(tc, test_identity_hash);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(hash_suite(), "test_hash");
}
