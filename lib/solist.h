/*
 * solist.h - the split-ordered list (solist.c), and its
 * read-only walk, inline.  Uses index.h.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_SOLIST_H
#define LFD_SOLIST_H

#include "index.h"

/* A search's result: prev is the next word of the node before the position,
 * curr the link that word held (0: the end of the list). */
struct lfd_pos {
	LFD_ATOMIC(uintptr_t) *prev;
	uintptr_t curr;
	unsigned int steps; /* entries passed from the start node */
};
LFD_HIDDEN bool lfd_list_find(struct lfd *d, LFD_ATOMIC(uintptr_t) *start,
			      uint32_t so, const void *key, uint32_t klen,
			      struct lfd_pos *pos);
LFD_HIDDEN bool lfd_list_link(struct lfd_pos *pos,
			      LFD_ATOMIC(uintptr_t) *node_next, uintptr_t node,
			      uintptr_t tag);
LFD_HIDDEN void lfd_list_mark(LFD_ATOMIC(uintptr_t) *next);
LFD_HIDDEN void lfd_list_insert_bucket(struct lfd *d, uint32_t k);
LFD_HIDDEN void lfd_list_remove(struct lfd *d, LFD_ATOMIC(uintptr_t) *start,
				uintptr_t node, const struct lfd_pos *at);

/* --- solist: the walk of lfd_get, inline (as a call it cost each get a
 * prologue of pushes and pops; doc/performance.md) --- */

/* <0, 0, >0: the node link l leads to sorts before, equal to, after
 * (so, key, klen).  A bucket node's order costs no load.  An entry and a
 * target of equal so are both entries (odd so). */
static inline int lfd_order(uintptr_t l, uint32_t so, const void *key,
			    uint32_t klen)
{
	const struct lfd_lnode *n;

	if (lfd_is_blink(l)) {
		uint32_t s = lfd_blink_key(l);

		return s == so ? 0 : (s < so ? -1 : 1);
	}
	n = &lfd_link_entry(l)->ln;
	if (n->so_key != so)
		return n->so_key < so ? -1 : 1;
	if (n->klen != klen)
		return n->klen < klen ? -1 : 1;
	if (klen == 8) {
		/* Any total order will do among keys of one length and
		 * so_key; for 8-byte keys, the native word order. */
		uint64_t a, b;

		memcpy(&a, lfd_link_entry(l)->key, 8);
		memcpy(&b, key, 8);
		return a == b ? 0 : (a < b ? -1 : 1);
	}
	if (klen == 0)
		return 0;
	return memcmp(lfd_link_entry(l)->key, key, klen);
}

/*
 * Read-only walk from the node whose next word is `start`, which held w
 * (lfd_bucket_for's *first), to the first node
 * with lfd_order >= min (min 0: the first node that does not sort before
 * the target; 1: the first that sorts after it); returns its link, or 0 at
 * the end of the list; *cmp is that node's lfd_order.  Writes no shared
 * memory.  Linearizable by the lazy-list argument: every node reached was
 * linked at some instant inside the walk (doc/design.md).  A retired node's
 * next word no longer leads along the list (LFD_RETIRED): the walk starts
 * again from `start`, a bucket node in use (never marked or retired, I4).
 * A restart means that some pop completed, so the walk is lock-free
 * (reclaim.c, lfd_retire_push).
 */
static inline uintptr_t lfd_list_seek(struct lfd *d,
				      LFD_ATOMIC(uintptr_t) *start,
				      uintptr_t w, uint32_t so,
				      const void *key, uint32_t klen, int min,
				      int *cmp)
{
	for (;;) {
		uintptr_t l = lfd_succ(w);

		if (l == 0)
			return 0;
		*cmp = lfd_order(l, so, key, klen);
		if (*cmp >= min)
			return l;
		w = lfd_a_load(lfd_link_next(d, l), LFD_MO_LINK_LOAD);
#ifdef LFD_BREAK_WALK_RETIRED /* deliberately broken build for stress/, see doc/torture.md */
		w &= ~LFD_RETIRED; /* follows a retire link as if a successor */
#endif
		/* Bit 1: retired (restart) or pending (a bucket node we
		 * reached by a link, so linked: lfd_succ drops the tag). */
		if ((w & LFD_RETIRED) && lfd_is_retired(w))
			/* LINK_LOAD: as in lfd_list_find. */
			w = lfd_a_load(start, LFD_MO_LINK_LOAD);
	}
}

/* get's lookup: the entry of the target key (so odd), or NULL.  The entry
 * may be marked or tombstoned: the caller's load of its value slot
 * decides. */
static inline struct lfd_entry *lfd_list_lookup(struct lfd *d,
						LFD_ATOMIC(uintptr_t) *start,
						uintptr_t first, uint32_t so,
						const void *key, uint32_t klen)
{
	int c;
	uintptr_t l = lfd_list_seek(d, start, first, so, key, klen, 0, &c);

	/* c == 0 with an odd so: l leads to an entry */
	return l != 0 && c == 0 ? lfd_link_entry(l) : NULL;
}

#endif /* LFD_SOLIST_H */
