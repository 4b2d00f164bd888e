/*
 * density.h - the bucket count that lfdict.h documents for n entries
 * (struct lfd_config, capacity), and the range lfd_barrier leaves a
 * quiescent dictionary's bucket count in.  Shared by the unit tests
 * (testutil.h) and the torture (stress/torture), which check it.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_TEST_DENSITY_H
#define LFD_TEST_DENSITY_H

#include <stddef.h>
#include <stdint.h>

#include "lfdict.h"

/* Four buckets per entry up to 8,192 entries, 32,768 buckets up to 32,768
 * entries, one per entry beyond, as a power of two. */
static inline size_t td_target_buckets(size_t n)
{
	size_t b = 1;

	while (b < n && b < LFD_BUCKETS_MAX)
		b *= 2;
	if (b <= 8192)
		return 4 * b;
	return b < 32768 ? 32768 : b;
}

/* After lfd_barrier with no concurrent call, st->buckets is in [*lo, *hi]:
 * at least what the count asks for (within max_buckets), and, if the table
 * shrank to it, below what eight times the count asks for (or min_buckets,
 * or what the count asks for). */
static inline void td_converged_range(const struct lfd_stats *st,
				      size_t count, size_t *lo, size_t *hi)
{
	size_t need = td_target_buckets(count);
	size_t cap = count > SIZE_MAX / 16 ? SIZE_MAX
					   : td_target_buckets(8 * count + 1) / 2;

	if (need > st->max_buckets)
		need = st->max_buckets;
	if (cap < st->min_buckets)
		cap = st->min_buckets;
	if (cap < need)
		cap = need;
	*lo = need;
	*hi = cap;
}

#endif /* LFD_TEST_DENSITY_H */
