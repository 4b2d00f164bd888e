/*
 * solist.c - the split-ordered lock-free list (Harris 2001, with Michael's
 * 2002 refinements; Shalev & Shavit 2006 for the split order).
 *
 * SPDX-License-Identifier: MIT
 *
 * One singly linked list holds every entry and every bucket node, sorted by
 * (so_key, klen, key bytes).  A node is removed in two steps: its `next`
 * word is marked (its successor then stays put), then a CAS on its
 * predecessor's `next` skips it (I2).  Every caller holds an RCU read-side
 * section, so a node seen here is not freed before the caller leaves it;
 * that also rules out ABA on `next` words (a node is never reused while a
 * traversal may still hold it).
 *
 * Invariants used below:
 *  I1. `next` pointers go strictly forward in the sort order.
 *  I2. A node is unlinked only after it is marked; a marked `next` keeps
 *      its successor until the node is unlinked, and changes once more
 *      only after that: when its popper retires it, the word becomes a
 *      retire-stack link with LFD_RETIRED set (reclaim.c).  A walk that
 *      loads such a word starts again: it never follows it.  No CAS here
 *      expects a marked word, so none can succeed on a retired one.
 *  I3. Two nodes of equal order are never both linked: an entry is linked
 *      only after any earlier entry of the same key was unlinked.
 *  I4. The start node handed to these functions (a bucket node in use) is
 *      never marked while the caller's read-side section lasts.
 */
#include <string.h>

#include "internal.h"

void lfd_list_mark(struct lfd_lnode *node)
{
	/* relaxed: the mark's first read only seeds the CAS loop. */
	uintptr_t w = lfd_a_load(&node->next, memory_order_relaxed);

	while (!(w & LFD_MARK) &&
	       !lfd_a_cas_weak(&node->next, &w, w | LFD_MARK, LFD_MO_MARK_CAS,
			     memory_order_relaxed))
		; /* w was reloaded by the failed CAS; a failure means the
		     successor changed (unlinked) or someone else marked it. */
}

/*
 * Find the position of (so, key): on return pos->prev was, at the last load
 * of its next word, unmarked and linked with pos->curr as successor, and
 * pos->curr (NULL at the end of the list) is the first node that does not
 * sort before the target.  Returns true when pos->curr is an entry of that
 * key whose value was not the tombstone when checked.  Marked nodes met on
 * the way are unlinked (helping); an entry of the searched key whose slot is
 * the tombstone is marked first (so an insert never waits for a stalled
 * pop).  Unlinking never frees: the thread that popped an entry retires it
 * (see lfd_list_remove), and bucket nodes belong to their segment.
 * Lock-free: a restart happens only when another thread changed a link.
 */
bool lfd_list_find(struct lfd_lnode *start, uint32_t so, const void *key,
		   uint32_t klen, struct lfd_pos *pos)
{
	struct lfd_lnode *prev, *curr;
	unsigned int steps;

retry:
	prev = start;
	steps = 0;
	/* LINK_LOAD: acquire the fields of the node we step to (pairs with
	 * LINK_CAS / UNLINK_CAS); seq_cst to linearize an absent key. */
	curr = lfd_ptr(lfd_a_load(&prev->next, LFD_MO_LINK_LOAD));
	for (;;) {
		uintptr_t nw;
		int c;

		if (curr == NULL)
			break;
		nw = lfd_a_load(&curr->next, LFD_MO_LINK_LOAD);
		if (nw & LFD_MARK) {
			uintptr_t expect = (uintptr_t)curr;

			/* Retired: curr is unlinked already (I2), so the CAS
			 * below would fail; its word is no successor. */
			if (nw & LFD_RETIRED)
				goto retry;

			/* UNLINK_CAS: release passes on the acquire of nw's
			 * target; fails if prev was marked or changed. */
			if (!lfd_a_cas(&prev->next, &expect, nw & ~LFD_LINK_TAGS,
				     LFD_MO_UNLINK_CAS, memory_order_relaxed))
				goto retry;
			curr = lfd_ptr(nw);
			continue;
		}
		c = lfd_order(curr, so, key, klen);
		if (c < 0) {
			steps += curr->so_key & 1u;
			prev = curr;
			curr = lfd_ptr(nw);
			continue;
		}
		if (c == 0 && (so & 1u)) {
			struct lfd_entry *e = lfd_entry_of(curr);

			/* VALUE_LOAD: a tombstoned entry of our key must go
			 * before the caller may link a new one (I3). */
			if (lfd_a_load(&e->value, LFD_MO_VALUE_LOAD) ==
			    LFD_TOMBSTONE) {
				lfd_list_mark(curr);
				continue; /* reload curr->next: now marked */
			}
			pos->prev = prev;
			pos->curr = curr;
			pos->steps = steps;
			return true;
		}
		break;
	}
	pos->prev = prev;
	pos->curr = curr;
	pos->steps = steps;
	return false;
}

/*
 * Link `node` between pos->prev and pos->curr.  Returns false if the
 * position changed (prev marked, or another node linked after it); the
 * caller searches again.  `node` is not yet visible to anyone, so its next
 * word is set with a relaxed store; LINK_CAS's release publishes it.
 */
bool lfd_list_link(struct lfd_pos *pos, struct lfd_lnode *node)
{
	uintptr_t expect = (uintptr_t)pos->curr;

	lfd_a_store(&node->next, (uintptr_t)pos->curr, memory_order_relaxed);
	return lfd_a_cas(&pos->prev->next, &expect, (uintptr_t)node,
		       LFD_MO_LINK_CAS, memory_order_relaxed);
}

/* Link a new bucket node after its parent (used by the resizer only). */
void lfd_list_insert_bucket(struct lfd_lnode *parent, struct lfd_lnode *bucket)
{
	struct lfd_pos pos;

	do
		(void)lfd_list_find(parent, bucket->so_key, NULL, 0, &pos);
	while (!lfd_list_link(&pos, bucket));
}

/*
 * Make sure a node is unlinked: mark it, then search for its position from
 * `start` (a node that sorts before it and stays linked); the search unlinks
 * it if it is still there.  On return no linked node points to `node`, so a
 * grace period that starts now ends with no reader holding it.  Proof
 * sketch: the search stops at the first node not sorting before `node`; by
 * I1 and I3 `node` can only be linked right there, and the search unlinks
 * marked nodes at the place it stops before it stops.
 */
void lfd_list_remove(struct lfd_lnode *start, struct lfd_lnode *node)
{
	struct lfd_pos pos;
	const struct lfd_entry *e = lfd_entry_of(node);

	lfd_list_mark(node);
#ifdef LFD_BREAK_NO_UNLINK /* deliberately broken build for stress/, see doc/torture.md */
	return; /* retired while perhaps still linked */
#endif
	(void)lfd_list_find(start, node->so_key,
			    (node->so_key & 1u) ? e->key : NULL, node->klen,
			    &pos);
}
