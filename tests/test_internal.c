/*
 * test_internal.c - white-box checks of lib/ helpers the public API cannot
 * observe: SipHash against the paper's test vector, and the split-order
 * keys.  It includes lib/internal.h on purpose (and links lib/hash.c
 * directly); every other test uses only <lfdict.h>.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

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
	uint32_t b;

	ck_assert_uint_eq(lfd_rev32(1), UINT32_C(0x80000000));
	ck_assert_uint_eq(lfd_rev32(UINT32_C(0x12345678)), UINT32_C(0x1e6a2c48));
	/* Bucket keys are even, entry keys odd; a bucket's node sorts before
	 * every entry that hashes to it, at any table size. */
	for (b = 0; b < 4096; b++) {
		uint64_t h = b | ((uint64_t)0x5a5a5 << 12);

		ck_assert_uint_eq(lfd_so_bucket(b) & 1u, 0);
		ck_assert_uint_eq(lfd_so_entry(h) & 1u, 1);
		ck_assert_uint_lt(lfd_so_bucket(b), lfd_so_entry(h));
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
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
