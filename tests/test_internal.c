/*
 * test_internal.c - white-box checks of lib/ helpers the public API cannot
 * observe: SipHash against the paper's test vector, the split-order
 * keys (the fold, bucket keys, parents, segment places), and the encoding
 * of links to bucket nodes.  It includes lib/hash.h and lib/solist.h on purpose (and links lib/hash.c
 * directly); every other test uses only <lfdict.h>.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "hash.h"
#include "so_checks.h"

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

/* The split order's arithmetic and the links to bucket nodes
 * (tests/so_checks.h; tests/test_so32.c runs the same checks built for a
 * 32-bit target, where links hold the key unshifted). */
START_TEST(split_order_keys)
{
	const char *msg = so_checks();

	ck_assert_msg(msg == NULL, "%s", msg);
}
END_TEST

START_TEST(entry_links)
{
	_Alignas(8) static struct lfd_entry e;
	uintptr_t el = lfd_elink(&e);

	/* An entry link is its address, untagged, never read as a bucket. */
	ck_assert(!lfd_is_blink(el));
	ck_assert_ptr_eq(lfd_link_entry(el), &e);
	ck_assert_uint_eq(lfd_succ(el | LFD_MARK | LFD_RETIRED), el);
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
	tcase_add_test(tc, entry_links);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
