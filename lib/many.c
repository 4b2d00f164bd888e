/*
 * many.c - lfd_get_many: many lookups in one call, their cache misses
 * overlapped.  The api layer, with dict.c (uses api.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * A get of a key in a big table waits for two dependent cache misses, or
 * more: the bucket node's word, then the entries the walk passes (about
 * 1.25 at one entry per bucket).  The lookups of different keys do not
 * depend on each other, so lfd_get_many does each step for a group of
 * keys before the next step, and prefetches what the next step will read:
 *   stage 1: hash each key, find its bucket node (lfd_bucket_key_now,
 *            lfd_bucket_at: the segment pointer, in the hot struct lfd),
 *            prefetch the node's word;
 *   stage 2: load each bucket word (lfd_bucket_start: lfd_get's
 *            lfd_bucket_for, whose two halves stages 1 and 2 are), and
 *            prefetch the entry it leads to, if it leads to one;
 *   stage 3: walk from each (lfd_list_lookup) and load the value slot
 *            (lfd_entry_value), exactly as lfd_get does.
 * So a group's misses of one stage are in flight together.  The same plan
 * as DPDK's rte_hash bulk lookup (hash, prefetch buckets, compare,
 * prefetch entries), written here from that description.
 *
 * Each group runs in its own read-side section: the three stages of a
 * key are in one section (its bucket node is chosen and walked from in
 * it, as in lfd_get), and a call with a million keys does not hold back
 * grace periods for its whole length.  Each key's lookup is lfd_get's
 * (the same loads, in the same order), so it is linearizable on its own,
 * at the same points (dict.c's design comment, "get"); nothing orders the
 * keys' lookups among themselves (lfdict.h).
 */
#include <errno.h>
#include <limits.h>

#include "api.h"

/* Keys per group: enough misses in flight to cover a miss's latency, few
 * enough that the prefetched lines (64) stay in L1 until used and that
 * the arrays below stay small (768 bytes).  Measured (doc/performance.md,
 * 1,000,000 keys, calls of 32 keys): 32 looks keys up about 3.3 times as
 * fast as lfd_get, 16 about 2.7 times, 8 about 2.3 times. */
#ifndef LFD_MANY_GROUP /* -D: for measuring other sizes */
#define LFD_MANY_GROUP 32u
#endif

/* Look up keys[0..n) (n <= LFD_MANY_GROUP, arguments checked), in one
 * read-side section.  Returns the number found. */
static int lfd_many_group(struct lfd *d, size_t n, const void *const keys[],
			  const size_t lens[], void *values[], int results[])
{
	uint32_t so[LFD_MANY_GROUP], k[LFD_MANY_GROUP];
	LFD_ATOMIC(uintptr_t) *s[LFD_MANY_GROUP];
	uintptr_t first[LFD_MANY_GROUP];
	int found = 0;
	size_t i;

	lfd_rcu_lock(d);
	for (i = 0; i < n; i++) {
		so[i] = lfd_key_so(d, keys[i], lens[i]);
		k[i] = lfd_bucket_key_now(d, so[i]);
		s[i] = &lfd_bucket_at(d, k[i])->next;
		__builtin_prefetch((const void *)s[i], 0, 3);
	}
	for (i = 0; i < n; i++) {
		uintptr_t l;

		s[i] = lfd_bucket_start(d, k[i], s[i], &first[i]);
		l = lfd_succ(first[i]);
		if (l != 0 && !lfd_is_blink(l))
			__builtin_prefetch(lfd_link_entry(l), 0, 3);
	}
	for (i = 0; i < n; i++) {
		void *v;

		/* the key's linearization point: lfd_entry_value's
		 * VALUE_LOAD (found), or as lfd_get's (absent) */
		if (lfd_entry_value(lfd_list_lookup(d, s[i], first[i], so[i],
						    keys[i],
						    (uint32_t)lens[i]),
				    &v)) {
			if (values)
				values[i] = v;
			results[i] = 0;
			found++;
		} else {
			results[i] = -ENOENT;
		}
	}
	lfd_rcu_unlock(d);
	return found;
}

LFD_EXPORT int lfd_get_many(struct lfd *d, size_t n, const void *const keys[],
			    const size_t lens[], void *values[],
			    int results[])
{
	int found = 0;
	size_t i;

	if (d == NULL || n > INT_MAX)
		return -EINVAL;
	if (n == 0)
		return 0;
	if (keys == NULL || lens == NULL || results == NULL)
		return -EINVAL;
	/* every key before any lookup: bad input writes nothing */
	for (i = 0; i < n; i++)
		if (!lfd_key_valid(keys[i], lens[i]))
			return -EINVAL;
	for (i = 0; i < n; i += LFD_MANY_GROUP) {
		size_t m = n - i < LFD_MANY_GROUP ? n - i : LFD_MANY_GROUP;

		found += lfd_many_group(d, m, keys + i, lens + i,
					values ? values + i : NULL,
					results + i);
	}
	return found;
}
