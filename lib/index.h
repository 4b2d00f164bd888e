/*
 * index.h - the read side of the segmented bucket index:
 * where bucket node k lives, where a link leads, which bucket node an
 * operation starts from.  Inline, on every operation's path; the index's
 * writers (grow, shrink) are in buckets.c.  Uses internal.h only.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_INDEX_H
#define LFD_INDEX_H

#include "internal.h"

/* The bucket node of key k: segment i = 32 - (trailing zeros of k), the
 * number of bits a size must have for k to be a bucket key, at offset
 * (k >> (32 - i)) / 2 (lfd_seg_key); node 0 is segment 0's only one.
 * Inline: on every operation's path. */
static inline struct lfd_bnode *lfd_bucket_at(struct lfd *d, uint32_t k)
{
	unsigned int z = k ? (unsigned int)__builtin_ctz(k) : 32u;
	unsigned int i = 32u - z;
	/* (a 64-bit shift: z + 1 is 32 for segment 1) */
	uint32_t off = k ? (uint32_t)((uint64_t)k >> (z + 1u)) : 0u;
	/* SEG_LOAD: acquire, pairs with SEG_STORE in lfd_grow_open. */
	struct lfd_bnode *seg = lfd_a_load(&d->seg[i], LFD_MO_SEG_LOAD);

	return &seg[off];
}

/* The next word of the node a link leads to.  A walker that read a link to
 * bucket node k finds k's segment published (the link's release, LINK_CAS, came
 * after the segment's, SEG_STORE) and not yet freed: a segment is freed a
 * grace period after its nodes were unlinked, and by the reachability
 * lemma (doc/design.md) a walker can read a link to a node, even from a
 * marked word, only in a section that began while the node was linked. */
static inline LFD_ATOMIC(uintptr_t) *lfd_link_next(struct lfd *d, uintptr_t l)
{
	if (lfd_is_blink(l))
		return &lfd_bucket_at(d, lfd_blink_key(l))->next;
	return &lfd_link_entry(l)->ln.next;
}

/* lfd_bucket_for in two halves, for lfd_get_many, which prefetches the
 * bucket node's word between them.  The first: the key of the bucket node
 * of split-order key so at the current size.  Call both halves inside the
 * read-side section that walks from the node (a shrink unlinks an upper
 * bucket node only a grace period after publishing the smaller size, so
 * a size read earlier in the section is as good as one read now). */
static inline uint32_t lfd_bucket_key_now(struct lfd *d, uint32_t so)
{
	/* SIZE_LOAD: acquire, pairs with SIZE_STORE in lfd_grow_open: every
	 * bucket node below the size we read is in its published segment,
	 * linked or pending. */
	unsigned int log = lfd_a_load(&d->size_log, LFD_MO_SIZE_LOAD);

	return lfd_bucket_key(so, log);
}

/* The second half: the next word an operation starts from, given bucket
 * node k and its next word s: s, or, while a grow has not linked node k
 * yet (LFD_PENDING), its nearest linked ancestor's (lfd_bucket_parent,
 * and so on; node 0 is always linked).  *first: what that word held.  The
 * walk from an ancestor passes node k if it is linked by then. */
static inline LFD_ATOMIC(uintptr_t) *lfd_bucket_start(struct lfd *d,
							uint32_t k,
							LFD_ATOMIC(uintptr_t) *s,
							uintptr_t *first)
{
	uintptr_t w;

	/* LINK_LOAD: the walk's first load (*first), as in lfd_list_find;
	 * acquire pairs with the release of the CAS that cleared the tag or
	 * of a later one.  The tag is cleared after the node is linked and
	 * never set again while the node is in use, so a node we start from
	 * is linked. */
	w = lfd_a_load(s, LFD_MO_LINK_LOAD);
#ifndef LFD_BREAK_GROW_EARLY /* deliberately broken build for stress/, see doc/torture.md */
	while (lfd_is_pending(w)) {
		k = lfd_bucket_parent(k);
		s = &lfd_bucket_at(d, k)->next;
		w = lfd_a_load(s, LFD_MO_LINK_LOAD);
	}
#else
	(void)d;
	(void)k;
#endif
	*first = w;
	return s;
}

/* The next word of the bucket node an operation on a key of split-order
 * key so starts from (both halves above), and *first, what it held. */
static inline LFD_ATOMIC(uintptr_t) *lfd_bucket_for(struct lfd *d,
						      uint32_t so,
						      uintptr_t *first)
{
	uint32_t k = lfd_bucket_key_now(d, so);

	return lfd_bucket_start(d, k, &lfd_bucket_at(d, k)->next, first);
}

#endif /* LFD_INDEX_H */
