/*
 * so_checks.h - white-box checks of the split order's arithmetic
 * (lib/internal.h, index.h, solist.h): the fold, bucket keys at every size, parents, the
 * place of every node in the segments, and links to bucket nodes.  Plain
 * C with no library beyond libc, so that the same checks run in
 * test_internal (with Check) and in test_so32, built for a 32-bit target
 * (links there hold a bucket key unshifted, LFD_BLINK_SHIFT 0).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_TESTS_SO_CHECKS_H
#define LFD_TESTS_SO_CHECKS_H

#include <stdio.h>
#include <stdlib.h>

#include "solist.h" /* lib/: internal.h, index.h (lfd_bucket_at), lfd_order */
#include "sohash.h"

static char so_msg[160];

#define SO_FAIL(...)                                               \
	do {                                                       \
		snprintf(so_msg, sizeof so_msg, __VA_ARGS__);      \
		return so_msg;                                     \
	} while (0)

/* The fold and the bucket keys: NULL, or what failed. */
static const char *so_check_keys(void)
{
	uint32_t f, x = 12345;
	unsigned int L, i;

	/* The fold: the top half of h * 2^64/phi. */
	if (lfd_so_entry(0) != 1u || lfd_so_entry(1) != UINT32_C(0x9e3779b9) ||
	    lfd_so_entry((uint64_t)1 << 32) != UINT32_C(0x7f4a7c15))
		SO_FAIL("fold of 0, 1, 2^32: %#x %#x %#x",
			(unsigned)lfd_so_entry(0), (unsigned)lfd_so_entry(1),
			(unsigned)lfd_so_entry((uint64_t)1 << 32));
	/* tests/sohash.h inverts it, with its own copy of the constant. */
	if (TU_FOLD_MUL != LFD_FOLD_MUL)
		SO_FAIL("tests/sohash.h's multiplier differs from the library's");
	for (i = 0; i < 20000; i++) {
		x = x * 1103515245u + 12345u;
		f = x ^ (i << 7);
		if (lfd_so_entry(tu_hash_for_fold(f)) != (f | 1u))
			SO_FAIL("fold %#x not inverted", (unsigned)f);
		/* At every size: the bucket key is even, sorts before the
		 * entry, and the next bucket's key sorts after it; the parent
		 * of a node a size added is the node at half the size. */
		for (L = 0; L <= LFD_MAX_LOG; L++) {
			uint32_t so = f | 1u, k = lfd_bucket_key(so, L);
			uint64_t next = (uint64_t)k + ((uint64_t)1 << (32 - L));

			if ((k & 1u) != 0 || k >= so || next <= so)
				SO_FAIL("so %#x at log %u: bucket key %#x",
					(unsigned)so, L, (unsigned)k);
			if (L > 0 && k != lfd_bucket_key(so, L - 1) &&
			    (lfd_bucket_parent(k) != lfd_bucket_key(so, L - 1) ||
			     (unsigned)__builtin_ctz(k) != 32u - L))
				SO_FAIL("so %#x at log %u: key %#x, parent %#x",
					(unsigned)so, L, (unsigned)k,
					(unsigned)lfd_bucket_parent(k));
		}
	}
	return NULL;
}

/* Every node of segments 0..12 at its own place: lfd_seg_key and
 * lfd_bucket_at invert each other, and segment i's keys are the bucket
 * keys the size 2^i adds. */
static const char *so_check_segments(void)
{
	static struct lfd_bnode seg[13][1u << 11];
	struct lfd *d = calloc(1, sizeof(*d));
	const char *r = NULL;
	unsigned int i;
	uint32_t j;

	if (d == NULL)
		SO_FAIL("out of memory");
	for (i = 0; i <= 12; i++)
		lfd_a_init(&d->seg[i], seg[i]);
	if (lfd_bucket_at(d, 0) != &seg[0][0])
		r = "node 0 not at seg[0][0]";
	for (i = 1; i <= 12 && r == NULL; i++)
		for (j = 0; j < (1u << (i - 1)) && r == NULL; j++) {
			uint32_t k = lfd_seg_key(i, j);

			if (lfd_bucket_at(d, k) != &seg[i][j] ||
			    lfd_bucket_key(k | 1u, i) != k ||
			    lfd_bucket_key(k | 1u, i - 1) == k) {
				snprintf(so_msg, sizeof so_msg,
					 "segment %u offset %u: key %#x", i,
					 (unsigned)j, (unsigned)k);
				r = so_msg;
			}
		}
	free(d);
	if (r != NULL)
		return r;
	/* the last segment's first and last keys */
	i = LFD_MAX_LOG;
	if (lfd_seg_key(i, 0) != (uint32_t)1 << (32 - i) ||
	    lfd_seg_key(i, ((uint32_t)1 << (i - 1)) - 1u) !=
		    UINT32_MAX << (32 - i))
		SO_FAIL("segment %u's keys", i);
	return NULL;
}

/* A link to a bucket node survives its word's tags and gives the key
 * back, and orders as the key, with no load. */
static const char *so_check_links(void)
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
	unsigned i;

	for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		uintptr_t l = lfd_blink(ks[i]);
		uintptr_t m = lfd_succ(l | LFD_MARK);

		if (!lfd_is_blink(l) || (l & LFD_LINK_TAGS) != 0 || l == 0 ||
		    m != l || !lfd_is_blink(m) || lfd_blink_key(m) != ks[i])
			SO_FAIL("link to node %#x: %#lx, key back %#x",
				(unsigned)ks[i], (unsigned long)l,
				(unsigned)lfd_blink_key(m));
		if (lfd_order(l, ks[i], NULL, 0) != 0 ||
		    lfd_order(l, ks[i] | 1u, NULL, 0) >= 0 ||
		    (ks[i] > 0 && lfd_order(l, ks[i] - 1u, NULL, 0) <= 0))
			SO_FAIL("link to node %#x: wrong order", (unsigned)ks[i]);
	}
	return NULL;
}

static const char *so_checks(void)
{
	const char *r = so_check_keys();

	if (r == NULL)
		r = so_check_segments();
	if (r == NULL)
		r = so_check_links();
	return r;
}

#endif
