/*
 * sohash.h - hashes with a chosen split-order key, for the tests that
 * place keys in chosen buckets and list positions (tests/litmus,
 * test_hash.c, test_internal.c).  C and C++.
 *
 * lfdict folds a caller's hash h to f = (h * M) >> 32 (64-bit product,
 * M = LFD_FOLD_MUL in lib/internal.h); an entry sorts by f | 1 and at 2^L
 * buckets lives in the bucket of f's top L bits.  M is odd, so it has an
 * inverse mod 2^64, and h = (f << 32) * M^-1 folds to exactly f.  The
 * constant is repeated here because these tests use only <lfdict.h>;
 * test_internal.c checks that the two agree.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_TESTS_SOHASH_H
#define LFD_TESTS_SOHASH_H

#include <stdint.h>

#define TU_FOLD_MUL UINT64_C(0x9e3779b97f4a7c15)

/* The hash that lfdict folds to f. */
static inline uint64_t tu_hash_for_fold(uint32_t f)
{
	/* Newton's iteration for the inverse mod 2^64: M * M = 1 mod 8
	 * (3 correct bits), and each step doubles them (6, 12, 24, 48, 96). */
	uint64_t inv = TU_FOLD_MUL;
	int i;

	for (i = 0; i < 5; i++)
		inv *= 2 - TU_FOLD_MUL * inv;
	return ((uint64_t)f << 32) * inv;
}

#endif
