/*
 * test_internal.c - white-box checks of lib/ helpers the public API cannot
 * observe: SipHash against published test vectors (and the inline
 * SipHash-1-3 of every call against the generic one), AES-128 against
 * FIPS-197's and the short-key hash against its block layout, the split-order
 * keys (the fold, bucket keys, parents, segment places), and the encoding
 * of links to bucket nodes, and the stripe a thread's updates use (the
 * CPU's where glibc registered restartable sequences).  It includes
 * lib/hash.h, lib/base.h and lib/solist.h on purpose (and links lib/hash.c
 * and lib/base.c directly); every other test but test_budget uses only
 * <lfdict.h>.
 */
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#include <check.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base.h"
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

/*
 * SipHash-1-3 under the paper's key (00 01 .. 0f) of the messages 00 01 ..
 * of lengths 0..63, the layout of the reference implementation's vectors.
 * The paper publishes vectors for SipHash-2-4 only; these were computed
 * with the reference implementation (github.com/veorq/SipHash, commit
 * f26d35e964c6290ffe23d9043475ad3129f409e0, siphash.c built with
 * -DcROUNDS=1 -DdROUNDS=3, which gives its published SipHash-2-4 vectors
 * without those flags), and agree with two other public sources: the low
 * 32 bits of all 64 are the Linux kernel's test vectors for hsiphash on
 * 64-bit machines (lib/siphash_kunit.c: SipHash-1-3, truncated), and under
 * the all-zero key the reference gives all 64 vectors of OCaml's testsuite
 * for its SipHash-1-3 (testsuite/tests/hashing, "obtained with the SIP-1-3
 * reference implementation"; six of them in sip13_zero_key below).
 */
static const uint64_t sip13_vectors[64] = {
	UINT64_C(0xabac0158050fc4dc), UINT64_C(0xc9f49bf37d57ca93),
	UINT64_C(0x82cb9b024dc7d44d), UINT64_C(0x8bf80ab8e7ddf7fb),
	UINT64_C(0xcf75576088d38328), UINT64_C(0xdef9d52f49533b67),
	UINT64_C(0xc50d2b50c59f22a7), UINT64_C(0xd3927d989bb11140),
	UINT64_C(0x369095118d299a8e), UINT64_C(0x25a48eb36c063de4),
	UINT64_C(0x79de85ee92ff097f), UINT64_C(0x70c118c1f94dc352),
	UINT64_C(0x78a384b157b4d9a2), UINT64_C(0x306f760c1229ffa7),
	UINT64_C(0x605aa111c0f95d34), UINT64_C(0xd320d86d2a519956),
	UINT64_C(0xcc4fdd1a7d908b66), UINT64_C(0x9cf2689063dbd80c),
	UINT64_C(0x8ffc389cb473e63e), UINT64_C(0xf21f9de58d297d1c),
	UINT64_C(0xc0dc2f46a6cce040), UINT64_C(0xb992abfe2b45f844),
	UINT64_C(0x7ffe7b9ba320872e), UINT64_C(0x525a0e7fdae6c123),
	UINT64_C(0xf464aeb267349c8c), UINT64_C(0x45cd5928705b0979),
	UINT64_C(0x3a3e35e3ca9913a5), UINT64_C(0xa91dc74e4ade3b35),
	UINT64_C(0xfb0bed02ef6cd00d), UINT64_C(0x88d93cb44ab1e1f4),
	UINT64_C(0x540f11d643c5e663), UINT64_C(0x2370dd1f8c21d1bc),
	UINT64_C(0x81157b6c16a7b60d), UINT64_C(0x4d54b9e57a8ff9bf),
	UINT64_C(0x759f12781f2a753e), UINT64_C(0xcea1a3bebf186b91),
	UINT64_C(0x2cf508d3ada26206), UINT64_C(0xb6101c2da3c33057),
	UINT64_C(0xb3f47496ae3a36a1), UINT64_C(0x626b57547b108392),
	UINT64_C(0xc1d2363299e41531), UINT64_C(0x667cc1923f1ad944),
	UINT64_C(0x65704ffec8138825), UINT64_C(0x24f280d1c28949a6),
	UINT64_C(0xc2ca1cedfaf8876b), UINT64_C(0xc2164bfc9f042196),
	UINT64_C(0xa16e9c9368b1d623), UINT64_C(0x49fb169c8b5114fd),
	UINT64_C(0x9f3143f8df074c46), UINT64_C(0xc6fdaf2412cc86b3),
	UINT64_C(0x7eaf49d10a52098f), UINT64_C(0x1cf313559d292f9a),
	UINT64_C(0xc44a30dda2f41f12), UINT64_C(0x36fae98943a71ed0),
	UINT64_C(0x318fb34c73f0bce6), UINT64_C(0xa27abf3670a7e980),
	UINT64_C(0xb4bcc0db243c6d75), UINT64_C(0x23f8d852fdb71513),
	UINT64_C(0x8f035f4da67d8a08), UINT64_C(0xd89cd0e5b7e8f148),
	UINT64_C(0xf6f4e6bcf7a644ee), UINT64_C(0xaec59ad80f1837f2),
	UINT64_C(0xc3b2f6154b6694e0), UINT64_C(0x9d199062b7bbb3a8),
};

/* (length, hash) under the all-zero key: from OCaml's testsuite (above). */
static const uint64_t sip13_zero_key[][2] = {
	{ 0, UINT64_C(0xd1fba762150c532c) },  { 7, UINT64_C(0x2f098ab0c751325a) },
	{ 8, UINT64_C(0xead411e67ebe2eea) },  { 15, UINT64_C(0xf30eb725bb91c9ea) },
	{ 16, UINT64_C(0x8972188433a5c5b7) }, { 63, UINT64_C(0x385d3e39e5f37359) },
};

/* Both implementations of SipHash-1-3 (hash.h says why two). */
START_TEST(siphash13_vectors)
{
	static const uint64_t zero[2] = { 0, 0 };
	unsigned char msg[64];
	uint64_t st[4];
	size_t i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)i;
	lfd_sip13_prepare(st, k_paper);
	for (i = 0; i < 64; i++) {
		ck_assert_uint_eq(lfd_siphash13(k_paper, msg, i), sip13_vectors[i]);
		ck_assert_uint_eq(lfd_sip13(st, msg, i), sip13_vectors[i]);
	}
	lfd_sip13_prepare(st, zero);
	for (i = 0; i < sizeof(sip13_zero_key) / sizeof(*sip13_zero_key); i++) {
		size_t len = (size_t)sip13_zero_key[i][0];

		ck_assert_uint_eq(lfd_siphash13(zero, msg, len),
				  sip13_zero_key[i][1]);
		ck_assert_uint_eq(lfd_sip13(st, msg, len),
				  sip13_zero_key[i][1]);
	}
}
END_TEST

/* splitmix64: the test's deterministic random numbers. */
static uint64_t mix_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* lfd_sip13 (the straight paths and lfd_sip13_long) equals the generic
 * lfd_siphash13 for every length 0..64, random keys and seeds from
 * lfd_seed_init.  Each key is copied into a buffer of exactly its length
 * (under ASan an over-read fails), and placed against an inaccessible
 * page on either side (an over-read faults in any build). */
START_TEST(siphash13_fast_matches_reference)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *map, *lo, *hi;
	uint64_t rs = 0x6c66646963742121u, seed[2], st[4];
	int round;
	size_t len, i;

	ck_assert(page >= 128);
	map = mmap(NULL, 3 * (size_t)page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(map != MAP_FAILED);
	ck_assert(mprotect(map, (size_t)page, PROT_NONE) == 0);
	ck_assert(mprotect(map + 2 * page, (size_t)page, PROT_NONE) == 0);
	lo = map + page; /* a key starting at a page's start */
	hi = map + 2 * page; /* and one ending at a page's end: hi - len */
	for (round = 0; round < 200; round++) {
		if (round % 2) {
			lfd_seed_init(seed);
		} else {
			seed[0] = mix_next(&rs);
			seed[1] = mix_next(&rs);
		}
		lfd_sip13_prepare(st, seed);
		for (len = 0; len <= 64; len++) {
			unsigned char *buf = malloc(len ? len : 1);
			uint64_t want;

			ck_assert(buf != NULL);
			for (i = 0; i < len; i++)
				buf[i] = (unsigned char)mix_next(&rs);
			want = lfd_siphash13(seed, buf, len);
			ck_assert_uint_eq(lfd_sip13(st, buf, len), want);
			memcpy(lo, buf, len);
			memcpy(hi - len, buf, len);
			ck_assert_uint_eq(lfd_sip13(st, lo, len), want);
			ck_assert_uint_eq(lfd_sip13(st, hi - len, len), want);
			free(buf);
		}
		/* no key at all (lfd_get(d, NULL, 0, ..) is valid) */
		ck_assert_uint_eq(lfd_sip13(st, NULL, 0),
				  lfd_siphash13(seed, NULL, 0));
	}
	munmap(map, 3 * (size_t)page);
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

#ifdef LFD_HAVE_AES
/* Bytes from hex. */
static void hex16(const char *h, unsigned char out[16])
{
	for (int i = 0; i < 16; i++) {
		unsigned int b;

		ck_assert(sscanf(h + 2 * i, "%2x", &b) == 1);
		out[i] = (unsigned char)b;
	}
}

/* out = AES-128 of in under the expanded key rk: the library's cipher
 * (lfd_aes_block, hash.h) on a whole block. */
static LFD_AES_TARGET void aes_encrypt(const unsigned char rk[11][16],
				       const unsigned char in[16],
				       unsigned char out[16])
{
	__m128i b = _mm_loadu_si128((const __m128i *)(const void *)in);

	_mm_storeu_si128((__m128i *)(void *)out, lfd_aes_block(rk, b));
}

/* The 16-byte key as lfd_aes_prepare takes it: two little-endian words. */
static void key_words(const unsigned char k[16], uint64_t w[2])
{
	memcpy(&w[0], k, 8);
	memcpy(&w[1], k + 8, 8);
}

/* FIPS-197's AES-128 examples: the key expansion's last round key
 * (appendix A.1), the cipher example (appendix B) and the example vector
 * (appendix C.1). */
START_TEST(aes128_fips197_vectors)
{
	static const char *const v[][3] = {
		{ "2b7e151628aed2a6abf7158809cf4f3c",
		  "3243f6a8885a308d313198a2e0370734",
		  "3925841d02dc09fbdc118597196a0b32" },
		{ "000102030405060708090a0b0c0d0e0f",
		  "00112233445566778899aabbccddeeff",
		  "69c4e0d86a7b0430d8cdb78070b4c55a" },
	};
	unsigned char rk[11][16], k[16], in[16], out[16], want[16];
	uint64_t w[2];

	if (!lfd_aes_usable()) {
		printf("aes128_fips197_vectors: this CPU has no AES "
		       "instructions; every key takes SipHash-1-3 (checked "
		       "above)\n");
		return;
	}
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hex16(v[i][0], k);
		hex16(v[i][1], in);
		hex16(v[i][2], want);
		key_words(k, w);
		lfd_aes_prepare(rk, w);
		aes_encrypt(rk, in, out);
		ck_assert(memcmp(out, want, 16) == 0);
		if (i == 0) {
			hex16("d014f9a8c9ee2589e13f0cc8b6630ca6", want);
			ck_assert(memcmp(rk[10], want, 16) == 0);
		}
	}
}
END_TEST

/* lfd_aes_short of every length 0..15 equals AES-128 of the block built
 * byte by byte (the key, zeros, the length in byte 15), first 8 bytes
 * little-endian; keys placed against an inaccessible page on either side
 * (an over-read faults), random keys from lfd_seed_init. */
START_TEST(aes_short_matches_block)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *map, *lo, *hi, rk[11][16];
	uint64_t rs = 0x6165732d73686f72u, key[2];

	if (!lfd_aes_usable())
		return; /* said by aes128_fips197_vectors */
	map = mmap(NULL, 3 * (size_t)page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(map != MAP_FAILED);
	ck_assert(mprotect(map, (size_t)page, PROT_NONE) == 0);
	ck_assert(mprotect(map + 2 * page, (size_t)page, PROT_NONE) == 0);
	lo = map + page;
	hi = map + 2 * page;
	for (int round = 0; round < 200; round++) {
		lfd_seed_init(key);
		lfd_aes_prepare(rk, key);
		for (size_t len = 0; len <= LFD_AES_MAX; len++) {
			unsigned char block[16] = { 0 }, out[16];
			uint64_t want;

			for (size_t i = 0; i < len; i++)
				block[i] = (unsigned char)mix_next(&rs);
			block[15] = (unsigned char)len;
			aes_encrypt(rk, block, out);
			want = 0;
			for (int i = 7; i >= 0; i--)
				want = want << 8 | out[i];
			memcpy(lo, block, len);
			memcpy(hi - len, block, len);
			ck_assert_uint_eq(lfd_aes_short(rk, lo, len), want);
			ck_assert_uint_eq(lfd_aes_short(rk, hi - len, len), want);
		}
		ck_assert_uint_eq(lfd_aes_short(rk, NULL, 0),
				  lfd_aes_short(rk, lo, 0));
	}
	munmap(map, 3 * (size_t)page);
}
END_TEST
#endif

/* The stripe number is the CPU's where the rseq area is registered, else
 * the thread's number: pinned to each allowed CPU in turn (up to 8), the
 * thread must read that CPU (the thread's number cannot match two). */
START_TEST(stripe_is_cpu)
{
	cpu_set_t all, one;
	int c, checked = 0;
	bool rseq = false;

#ifdef LFD_USE_RSEQ
	rseq = __rseq_size > 0;
#endif
	ck_assert_int_eq(sched_getaffinity(0, sizeof(all), &all), 0);
	for (c = 0; c < CPU_SETSIZE && checked < 8; c++) {
		if (!CPU_ISSET(c, &all))
			continue;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		if (sched_setaffinity(0, sizeof(one), &one) != 0)
			continue;
		if (rseq)
			ck_assert_uint_eq(lfd_my_stripe_no(), (unsigned int)c);
		else
			ck_assert_uint_eq(lfd_my_stripe_no(),
					  lfd_my_thread_no());
		checked++;
	}
	ck_assert_int_eq(sched_setaffinity(0, sizeof(all), &all), 0);
	fprintf(stderr, "  stripe choice: %s, checked on %d CPUs\n",
		rseq ? "the CPU (rseq)" : "the thread's number", checked);
	ck_assert_int_gt(checked, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("internal");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, siphash24_paper_vector);
	tcase_add_test(tc, siphash13_vectors);
	tcase_add_test(tc, siphash13_fast_matches_reference);
	tcase_add_test(tc, siphash13_keyed);
	tcase_add_test(tc, seed_differs);
#ifdef LFD_HAVE_AES
	tcase_add_test(tc, aes128_fips197_vectors);
	tcase_add_test(tc, aes_short_matches_block);
#endif
	tcase_add_test(tc, split_order_keys);
	tcase_add_test(tc, entry_links);
	tcase_add_test(tc, stripe_is_cpu);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
