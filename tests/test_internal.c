/*
 * test_internal.c - white-box checks of lib/ helpers the public API cannot
 * observe: SipHash against the paper's test vector, the split-order
 * keys (the fold, bucket keys, parents, segment places), and the encoding
 * of links to bucket nodes.  It includes lib/internal.h on purpose (and links lib/hash.c
 * directly); every other test uses only <lfdict.h>.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"
#include "sohash.h"

/* Key 00 01 .. 0f, as two little-endian words. */
static const uint64_t k_paper[2] = { UINT64_C(0x0706050403020100),
				     UINT64_C(0x0f0e0d0c0b0a0908) };

START_TEST(siphash24_paper_vector)
{
	unsigned char msg[15];
	unsigned i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)i;
	/* Aumasson & Bernstein 2012, Appendix A: 15-byte message. */
	ck_assert_uint_eq(lfd_siphash24(k_paper, msg, sizeof(msg)),
			  UINT64_C(0xa129ca6149be45e5));
	/* The reference implementation's first vector: empty message. */
	ck_assert_uint_eq(lfd_siphash24(k_paper, msg, 0),
			  UINT64_C(0x726fdb47dd0e0e31));
}
END_TEST

START_TEST(siphash13_keyed)
{
	uint64_t k2[2] = { k_paper[0] ^ 1, k_paper[1] };
	const char *m = "lfdict";

	/* Deterministic for one seed, different for another. */
	ck_assert_uint_eq(lfd_siphash13(k_paper, m, 6),
			  lfd_siphash13(k_paper, m, 6));
	ck_assert_uint_ne(lfd_siphash13(k_paper, m, 6), lfd_siphash13(k2, m, 6));
	ck_assert_uint_ne(lfd_siphash13(k_paper, m, 6),
			  lfd_siphash24(k_paper, m, 6));
}
END_TEST

START_TEST(seed_differs)
{
	uint64_t a[2], b[2];

	lfd_seed_init(a);
	lfd_seed_init(b);
	ck_assert(a[0] != b[0] || a[1] != b[1]);
}
END_TEST

START_TEST(split_order_keys)
{
	uint32_t f, x = 12345;
	unsigned int L, i;

	/* The fold: the top half of h * 2^64/phi. */
	ck_assert_uint_eq(lfd_so_entry(0), 1u);
	ck_assert_uint_eq(lfd_so_entry(1), UINT32_C(0x9e3779b9));
	ck_assert_uint_eq(lfd_so_entry((uint64_t)1 << 32), UINT32_C(0x7f4a7c15));
	/* tests/sohash.h inverts it, with its own copy of the constant. */
	ck_assert(TU_FOLD_MUL == LFD_FOLD_MUL);
	/* (plain tests in the loop: each passing ck_assert writes to check's
	 * pipe, and 3 million of them outlast the test's time limit) */
	for (i = 0; i < 20000; i++) {
		x = x * 1103515245u + 12345u;
		f = x ^ (i << 7);
		if (lfd_so_entry(tu_hash_for_fold(f)) != (f | 1u))
			ck_abort_msg("fold %#x not inverted", f);
		/* At every size: the bucket key is even, sorts before the
		 * entry, and the next bucket's key sorts after it; the parent
		 * of a node a size added is the node at half the size. */
		for (L = 0; L <= LFD_MAX_LOG; L++) {
			uint32_t so = f | 1u, k = lfd_bucket_key(so, L);
			uint64_t next = (uint64_t)k + ((uint64_t)1 << (32 - L));

			if ((k & 1u) != 0 || k >= so || next <= so)
				ck_abort_msg("so %#x at log %u: bucket key %#x",
					     so, L, k);
			if (L > 0 && k != lfd_bucket_key(so, L - 1) &&
			    (lfd_bucket_parent(k) != lfd_bucket_key(so, L - 1) ||
			     (unsigned)__builtin_ctz(k) != 32u - L))
				ck_abort_msg("so %#x at log %u: key %#x, parent %#x",
					     so, L, k, lfd_bucket_parent(k));
		}
	}
}
END_TEST

/* Every node of segments 0..12 at its own place: lfd_seg_key and
 * lfd_bucket_at invert each other, and segment i's keys are the bucket
 * keys the size 2^i adds. */
START_TEST(segment_keys)
{
	struct lfd *d = calloc(1, sizeof(*d));
	static struct lfd_bnode seg[13][1u << 11];
	unsigned int i;
	uint32_t j;

	ck_assert_ptr_nonnull(d);
	for (i = 0; i <= 12; i++)
		lfd_a_init(&d->seg[i], seg[i]);
	ck_assert_ptr_eq(lfd_bucket_at(d, 0), &seg[0][0]);
	for (i = 1; i <= 12; i++)
		for (j = 0; j < (1u << (i - 1)); j++) {
			uint32_t k = lfd_seg_key(i, j);

			ck_assert_ptr_eq(lfd_bucket_at(d, k), &seg[i][j]);
			ck_assert_uint_eq(lfd_bucket_key(k | 1u, i), k);
			ck_assert_uint_ne(lfd_bucket_key(k | 1u, i - 1), k);
		}
	/* the last segment's first and last keys */
	i = LFD_MAX_LOG;
	ck_assert_uint_eq(lfd_seg_key(i, 0), (uint32_t)1 << (32 - i));
	ck_assert_uint_eq(lfd_seg_key(i, ((uint32_t)1 << (i - 1)) - 1u),
			  UINT32_MAX << (32 - i));
	free(d);
}
END_TEST

START_TEST(bucket_links)
{
	const uint32_t ks[] = { 0,
				lfd_seg_key(1, 0),
				lfd_seg_key(2, 0),
				lfd_seg_key(2, 1),
				lfd_seg_key(14, 4097),
				lfd_seg_key(LFD_MAX_LOG, 0),
				lfd_seg_key(LFD_MAX_LOG,
					    ((uint32_t)1 << (LFD_MAX_LOG - 1)) -
						    1u) };
	_Alignas(8) static struct lfd_entry e;
	uintptr_t el = lfd_elink(&e);
	unsigned i;

	/* An entry link is its address, untagged, never read as a bucket. */
	ck_assert(!lfd_is_blink(el));
	ck_assert_ptr_eq(lfd_link_entry(el), &e);
	ck_assert_uint_eq(lfd_succ(el | LFD_MARK | LFD_RETIRED), el);
	for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		uintptr_t l = lfd_blink(ks[i]);

		/* A bucket link survives its word's tags and gives k back. */
		ck_assert(lfd_is_blink(l));
		ck_assert_uint_eq(l & LFD_LINK_TAGS, 0);
		ck_assert_uint_eq(lfd_succ(l | LFD_MARK), l);
		ck_assert(lfd_is_blink(lfd_succ(l | LFD_MARK)));
		ck_assert_uint_eq(lfd_blink_key(lfd_succ(l | LFD_MARK)), ks[i]);
		ck_assert(l != 0);
		/* Its order is its key's, no load. */
		ck_assert_int_eq(lfd_order(l, ks[i], NULL, 0), 0);
		ck_assert_int_lt(lfd_order(l, ks[i] | 1u, NULL, 0), 0);
		if (ks[i] > 0)
			ck_assert_int_gt(lfd_order(l, ks[i] - 1u, NULL, 0), 0);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("internal");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, siphash24_paper_vector);
	tcase_add_test(tc, siphash13_keyed);
	tcase_add_test(tc, seed_differs);
	tcase_add_test(tc, split_order_keys);
	tcase_add_test(tc, segment_keys);
	tcase_add_test(tc, bucket_links);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
