/*
 * test_many.c - lfd_get_many against its contract in <lfdict.h>: every
 * key answered as lfd_get answers it (found with its value, or -ENOENT),
 * for every mix of present and absent keys, any n (0, 1, around and far
 * past the group of 32), duplicates, keys of any length, popped keys;
 * bad input refused before anything is written; stable keys always found
 * while other threads' updates make the table grow and shrink under the
 * calls.  The ordering claim is a litmus test (tests/litmus/, lit_mp_many).
 *
 * SPDX-License-Identifier: MIT
 */
#include "testutil.h"

#include <limits.h>

/* A key of any length: its bytes and length. */
struct mkey {
	unsigned char *b;
	size_t len;
};

/* Key i of a family: length lens_of[i % 5] (0, 8, 33, 200, 5000), bytes
 * from i, so that keys of one length differ. */
static const size_t lens_of[] = { 8, 33, 0, 200, 5000 };

static struct mkey mkey_make(uint64_t i, bool varied)
{
	struct mkey k;

	k.len = varied ? lens_of[i % 5] : 8;
	if (k.len == 0 && i >= 5)
		k.len = 1 + (size_t)(i % 7); /* one empty key in a family */
	k.b = malloc(k.len >= 8 ? k.len : 8);
	ck_assert_ptr_nonnull(k.b);
	for (size_t j = 8; j < k.len; j++)
		k.b[j] = (unsigned char)(tu_mix64(i * 131 + j / 8) >> (8 * (j % 8)));
	/* the first bytes are i's: keys of one length differ (those of 1
	 * byte too: their i differ by less than 256 * 35) */
	memcpy(k.b, &i, sizeof i);
	return k;
}

struct family {
	size_t n;
	struct mkey *k;
	const void **kp;
	size_t *lens;
};

static void family_init(struct family *f, size_t n, bool varied)
{
	f->n = n;
	f->k = calloc(n, sizeof *f->k);
	f->kp = calloc(n, sizeof *f->kp);
	f->lens = calloc(n, sizeof *f->lens);
	ck_assert(f->k && f->kp && f->lens);
	for (size_t i = 0; i < n; i++) {
		f->k[i] = mkey_make(i, varied);
		f->kp[i] = f->k[i].b;
		f->lens[i] = f->k[i].len;
	}
}

static void family_fini(struct family *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->k[i].b);
	free(f->k);
	free(f->kp);
	free(f->lens);
}

/* Key i absent from family_dict's dictionary: every `absent`-th key
 * (i % absent == 1; absent 0: none). */
static bool family_absent(size_t i, size_t absent)
{
	return absent && i % absent == 1;
}

/* A new dictionary holding the keys of a new family of n keys, key i with
 * value tu_v(i + 1), but for the family_absent ones. */
static struct lfd *family_dict(struct family *f, size_t n, bool varied,
			       size_t absent)
{
	struct lfd *d = tu_new_default();

	ck_assert_ptr_nonnull(d);
	family_init(f, n, varied);
	for (size_t i = 0; i < n; i++)
		if (!family_absent(i, absent))
			ck_assert_int_eq(lfd_insert(d, f->kp[i], f->lens[i],
						    tu_v(i + 1), NULL),
					 0);
	return d;
}

/* Outputs pre-filled with sentinels: an output still holding one was not
 * written. */
struct outs {
	void **v;
	int *r;
};

#define R_UNSET 0x5eed

static void outs_init(struct outs *o, size_t n)
{
	o->v = malloc((n ? n : 1) * sizeof *o->v);
	o->r = malloc((n ? n : 1) * sizeof *o->r);
	ck_assert(o->v && o->r);
	for (size_t i = 0; i < n; i++) {
		o->v[i] = TU_UNSET;
		o->r[i] = R_UNSET;
	}
}

static void outs_fini(struct outs *o)
{
	free(o->v);
	free(o->r);
}

/* lfd_get_many of kp[0..n) must answer every key as lfd_get does (the
 * table is not changing), write values only where found, and return the
 * number found. */
static void check_as_get(struct lfd *d, size_t n, const void *const kp[],
			 const size_t lens[], const char *what)
{
	struct outs o;
	int expect = 0;

	outs_init(&o, n);
	int rc = lfd_get_many(d, n, kp, lens, o.v, o.r);
	for (size_t i = 0; i < n; i++) {
		void *v = TU_UNSET;
		int g = lfd_get(d, kp[i], lens[i], &v);

		ck_assert_msg(o.r[i] == g, "%s: key %zu (len %zu): %d, lfd_get %d",
			      what, i, lens[i], o.r[i], g);
		ck_assert_msg(o.v[i] == (g == 0 ? v : TU_UNSET),
			      "%s: key %zu: value %p, lfd_get's %p", what, i,
			      o.v[i], g == 0 ? v : TU_UNSET);
		expect += g == 0;
	}
	ck_assert_msg(rc == expect, "%s: returned %d, %d found", what, rc,
		      expect);
	outs_fini(&o);
}

START_TEST(test_n0_and_n1)
{
	struct lfd *d = tu_new_default();
	uint64_t k = 42;
	const void *kp[1] = { &k };
	size_t len[1] = { sizeof k };
	void *v[1] = { TU_UNSET };
	int r[1] = { R_UNSET };

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(lfd_get_many(d, 0, NULL, NULL, NULL, NULL), 0);
	ck_assert_int_eq(lfd_get_many(d, 0, kp, len, v, r), 0);
	ck_assert(v[0] == TU_UNSET && r[0] == R_UNSET);
	ck_assert_int_eq(lfd_get_many(d, 1, kp, len, v, r), 0);
	ck_assert_int_eq(r[0], -ENOENT);
	ck_assert_ptr_eq(v[0], TU_UNSET);
	ck_assert_int_eq(lfd_insert(d, &k, sizeof k, tu_v(7), NULL), 0);
	ck_assert_int_eq(lfd_get_many(d, 1, kp, len, v, r), 1);
	ck_assert_int_eq(r[0], 0);
	ck_assert_ptr_eq(v[0], tu_v(7));
	/* values NULL: presence only */
	r[0] = R_UNSET;
	ck_assert_int_eq(lfd_get_many(d, 1, kp, len, NULL, r), 1);
	ck_assert_int_eq(r[0], 0);
	/* NULL is a value like any other */
	ck_assert_int_eq(lfd_set(d, &k, sizeof k, NULL, NULL), 1);
	ck_assert_int_eq(lfd_get_many(d, 1, kp, len, v, r), 1);
	ck_assert_ptr_eq(v[0], NULL);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/* Every mix of present and absent over n keys, n = 1..6, with 8-byte and
 * with varied keys, and with every key in one chain (a constant hash):
 * the walk then passes the other keys' entries. */
static uint64_t const_hash(const void *key, size_t len, void *arg)
{
	(void)key;
	(void)len;
	(void)arg;
	return 12345;
}

static void all_mixes(bool varied, bool one_chain)
{
	struct lfd_config cfg;
	struct family f;

	tu_cfg_init(&cfg);
	if (one_chain)
		cfg.hash = const_hash;
	for (size_t n = 1; n <= 6; n++) {
		family_init(&f, n, varied);
		for (unsigned mask = 0; mask < (1u << n); mask++) {
			struct lfd *d = lfd_new(&cfg);
			ck_assert_ptr_nonnull(d);
			for (size_t i = 0; i < n; i++)
				if (mask & (1u << i))
					ck_assert_int_eq(
						lfd_insert(d, f.kp[i], f.lens[i],
							   tu_v(100 + i), NULL),
						0);
			struct outs o;
			outs_init(&o, n);
			int rc = lfd_get_many(d, n, f.kp, f.lens, o.v, o.r);
			ck_assert_int_eq(rc, __builtin_popcount(mask));
			for (size_t i = 0; i < n; i++) {
				bool in = mask & (1u << i);
				ck_assert_msg(o.r[i] == (in ? 0 : -ENOENT),
					      "n %zu mask %x key %zu: %d", n,
					      mask, i, o.r[i]);
				ck_assert_ptr_eq(o.v[i],
						 in ? tu_v(100 + i) : TU_UNSET);
			}
			outs_fini(&o);
			check_as_get(d, n, f.kp, f.lens, "mix");
			ck_assert_int_eq(lfd_destroy(d), 0);
		}
		family_fini(&f);
	}
}

START_TEST(test_all_mixes)
{
	all_mixes(false, false);
	all_mixes(true, false);
	all_mixes(true, true);
}
END_TEST

/* 1000 keys, a third absent, in one call and in calls of every n from 1 to
 * 70 (groups of 32 full, partial, one past, two and more); then popped
 * keys. */
START_TEST(test_many_keys)
{
	struct family f;
	size_t n = 1000;
	struct lfd *d = family_dict(&f, n, true, 3);

	check_as_get(d, n, f.kp, f.lens, "1000 keys");
	for (size_t m = 1; m <= 70; m++)
		for (size_t s = 0; s + m <= n; s += 97)
			check_as_get(d, m, f.kp + s, f.lens + s, "slice");
	{
		struct outs o;
		outs_init(&o, n);
		ck_assert_int_eq(lfd_get_many(d, n, f.kp, f.lens, o.v, o.r),
				 (int)(n - n / 3));
		for (size_t i = 0; i < n; i++) {
			bool out = family_absent(i, 3);
			ck_assert_int_eq(o.r[i], out ? -ENOENT : 0);
			ck_assert_ptr_eq(o.v[i], out ? TU_UNSET : tu_v(i + 1));
		}
		outs_fini(&o);
	}
	/* popped keys (tombstoned, then unlinked): absent, also inside the
	 * caller's section, which keeps their memory from reclamation */
	ck_assert_int_eq(lfd_read_lock(d), 0);
	for (size_t i = 0; i < n; i += 5)
		if (!family_absent(i, 3))
			ck_assert_int_eq(lfd_pop(d, f.kp[i], f.lens[i], NULL), 0);
	check_as_get(d, n, f.kp, f.lens, "after pops, in a section");
	ck_assert_int_eq(lfd_read_unlock(d), 0);
	{
		struct outs o;
		int expect = 0;
		outs_init(&o, n);
		int rc = lfd_get_many(d, n, f.kp, f.lens, o.v, o.r);
		for (size_t i = 0; i < n; i++) {
			bool in = !family_absent(i, 3) && i % 5 != 0;
			expect += in;
			ck_assert_int_eq(o.r[i], in ? 0 : -ENOENT);
		}
		ck_assert_int_eq(rc, expect);
		outs_fini(&o);
	}
	family_fini(&f);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/* A key more than once in one call: each answered. */
START_TEST(test_duplicates)
{
	struct lfd *d = tu_new_default();
	uint64_t a = 1, b = 2;
	const void *kp[40];
	size_t lens[40];
	struct outs o;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(lfd_insert(d, &a, sizeof a, tu_v(11), NULL), 0);
	for (size_t i = 0; i < 40; i++) {
		kp[i] = i % 3 == 2 ? (const void *)&b : (const void *)&a;
		lens[i] = sizeof a;
	}
	outs_init(&o, 40);
	ck_assert_int_eq(lfd_get_many(d, 40, kp, lens, o.v, o.r), 27);
	for (size_t i = 0; i < 40; i++) {
		ck_assert_int_eq(o.r[i], i % 3 == 2 ? -ENOENT : 0);
		ck_assert_ptr_eq(o.v[i], i % 3 == 2 ? TU_UNSET : tu_v(11));
	}
	outs_fini(&o);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/* Bad input: -EINVAL, no output written, whichever key is bad (the first,
 * or one in a later group than the first). */
static void refused(struct lfd *d, size_t n, const void *const kp[],
		    const size_t lens[], bool with_outs, const char *what)
{
	struct outs o;
	/* n > INT_MAX: refused before any output is touched */
	size_t m = n > 64 ? 64 : n;

	outs_init(&o, m);
	int rc = lfd_get_many(d, n, kp, lens, o.v, with_outs ? o.r : NULL);
	ck_assert_msg(rc == -EINVAL, "%s: %d, not -EINVAL", what, rc);
	for (size_t i = 0; i < m; i++)
		ck_assert_msg(o.v[i] == TU_UNSET && o.r[i] == R_UNSET,
			      "%s: output %zu written", what, i);
	outs_fini(&o);
}

START_TEST(test_bad_input)
{
	struct family f;
	size_t n = 50;
	struct lfd *d = family_dict(&f, n, false, 0);

	refused(NULL, n, f.kp, f.lens, true, "d NULL");
	refused(NULL, 0, NULL, NULL, true, "d NULL, n 0");
	refused(d, n, NULL, f.lens, true, "keys NULL");
	refused(d, n, f.kp, NULL, true, "lens NULL");
	refused(d, n, f.kp, f.lens, false, "results NULL");
	refused(d, (size_t)INT_MAX + 1, f.kp, f.lens, true, "n > INT_MAX");
	for (size_t bad = 0; bad < n; bad += 7) {
		const void *kp = f.kp[bad];
		size_t len = f.lens[bad];

		f.kp[bad] = NULL; /* NULL key, len 8 */
		refused(d, n, f.kp, f.lens, true, "a NULL key");
		f.kp[bad] = kp;
		f.lens[bad] = LFD_KEY_MAX + 1;
		refused(d, n, f.kp, f.lens, true, "a key too long");
		f.lens[bad] = len;
	}
	/* NULL with length 0 is the empty key */
	{
		const void *kp[2] = { NULL, f.kp[0] };
		size_t lens[2] = { 0, 8 };
		struct outs o;

		outs_init(&o, 2);
		ck_assert_int_eq(lfd_get_many(d, 2, kp, lens, o.v, o.r), 1);
		ck_assert_int_eq(o.r[0], -ENOENT);
		ck_assert_int_eq(o.r[1], 0);
		ck_assert_int_eq(lfd_insert(d, NULL, 0, tu_v(99), NULL), 0);
		ck_assert_int_eq(lfd_get_many(d, 2, kp, lens, o.v, o.r), 2);
		ck_assert_ptr_eq(o.v[0], tu_v(99));
		outs_fini(&o);
	}
	check_as_get(d, n, f.kp, f.lens, "after the refusals");
	family_fini(&f);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/* Inside the caller's read-side sections (nested), as lfd_get. */
START_TEST(test_in_section)
{
	struct family f;
	struct lfd *d = family_dict(&f, 100, true, 2);

	ck_assert_int_eq(lfd_read_lock(d), 0);
	ck_assert_int_eq(lfd_read_lock(d), 0);
	check_as_get(d, 100, f.kp, f.lens, "nested section");
	ck_assert_int_eq(lfd_read_unlock(d), 0);
	check_as_get(d, 100, f.kp, f.lens, "section");
	ck_assert_int_eq(lfd_read_unlock(d), 0);
	/* the sections were balanced: no section is left open */
	ck_assert_int_eq(lfd_read_unlock(d), -EINVAL);
	ck_assert_int_eq(lfd_barrier(d), 0);
	family_fini(&f);
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

/* --- stable keys always found while the table grows and shrinks ---- */

#define STABLE 600
#define CHURN 20000

struct churn {
	struct lfd *d;
	atomic_int stop;
	atomic_long rounds;
};

static void *churn_fn(void *arg)
{
	struct churn *c = arg;

	while (!atomic_load(&c->stop)) {
		/* grow: insert CHURN keys (ids from 1 << 32, never stable),
		 * then shrink: pop them all */
		for (uint64_t i = 0; i < CHURN && !atomic_load(&c->stop); i++) {
			uint64_t k = (1ull << 32) + i;
			(void)lfd_insert(c->d, &k, sizeof k, tu_v(1), NULL);
		}
		for (uint64_t i = 0; i < CHURN; i++) {
			uint64_t k = (1ull << 32) + i;
			(void)lfd_pop(c->d, &k, sizeof k, NULL);
		}
		atomic_fetch_add(&c->rounds, 1);
	}
	return NULL;
}

START_TEST(test_during_resizes)
{
	struct churn c = { .d = tu_new_default() };
	uint64_t ids[STABLE];
	const void *kp[STABLE];
	size_t lens[STABLE];
	struct outs o;
	pthread_t t;
	long calls = 0, overlapped = 0;
	double t0 = tu_now();

	ck_assert_ptr_nonnull(c.d);
	atomic_init(&c.stop, 0);
	atomic_init(&c.rounds, 0);
	for (size_t i = 0; i < STABLE; i++) {
		ids[i] = i;
		kp[i] = &ids[i];
		lens[i] = sizeof ids[i];
		ck_assert_int_eq(lfd_insert(c.d, &ids[i], sizeof ids[i],
					    tu_v(i + 1), NULL),
				 0);
	}
	outs_init(&o, STABLE);
	tu_spawn(&t, churn_fn, &c);
	/* at least 2 s and 100 calls that overlapped a resize; at most 60 s */
	while (tu_now() - t0 < 60 &&
	       (tu_now() - t0 < 2 || overlapped < 100)) {
		struct lfd_stats s0 = tu_stats(c.d), s1;
		int rc = lfd_get_many(c.d, STABLE, kp, lens, o.v, o.r);

		s1 = tu_stats(c.d);
		calls++;
		/* a resize was queued or running at the call's start or end,
		 * or one completed during the call */
		if (s0.resizing || s1.resizing || s0.grows != s1.grows ||
		    s0.shrinks != s1.shrinks)
			overlapped++;
		ck_assert_msg(rc == STABLE, "call %ld: %d of %d found", calls,
			      rc, STABLE);
		for (size_t i = 0; i < STABLE; i++)
			ck_assert_msg(o.r[i] == 0 && o.v[i] == tu_v(i + 1),
				      "call %ld, key %zu: %d %p", calls, i,
				      o.r[i], o.v[i]);
	}
	atomic_store(&c.stop, 1);
	tu_join(t);
	struct lfd_stats st = tu_stats(c.d);
	TU_LOG("during resizes: %ld calls of %d keys, %ld overlapped a "
	       "resize; %ld churn rounds, %" PRIu64 " grows, %" PRIu64
	       " shrinks\n",
	       calls, STABLE, overlapped, atomic_load(&c.rounds), st.grows,
	       st.shrinks);
	ck_assert_msg(overlapped > 0, "no call overlapped a resize");
	ck_assert_msg(st.grows > 0 && st.shrinks > 0, "no grow or no shrink");
	outs_fini(&o);
	ck_assert_int_eq(lfd_destroy(c.d), 0);
}
END_TEST

static Suite *many_suite(void)
{
	Suite *s = suite_create("lfdict-get-many");
	TCase *tc = tcase_create("get_many");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_n0_and_n1);
	tcase_add_test(tc, test_all_mixes);
	tcase_add_test(tc, test_many_keys);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_in_section);
	tcase_add_test(tc, test_during_resizes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(many_suite(), "test_many");
}
