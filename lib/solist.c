/*
 * solist.c - the split-ordered lock-free list (Harris 2001, with Michael's
 * 2002 refinements; Shalev & Shavit 2006 for the split order).  Uses
 * index.h (where a link leads) and internal.h; it neither allocates nor
 * frees: its callers do.
 *
 * SPDX-License-Identifier: MIT
 *
 * One singly linked list holds every entry and every bucket node, sorted by
 * (so_key, klen, key bytes).  A `next` word leads to an entry by its address
 * and to a bucket node by its split-order key (LFD_TO_BUCKET, internal.h):
 * a bucket node's order is known without loading it, so a search that ends
 * at the next bucket (every search for an absent key) does not touch it.
 * A node is removed in two steps: its `next`
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
 *  I4. The start node handed to these functions (a bucket node in use:
 *      the key's own, or, while that one is pending, a linked ancestor)
 *      is never marked while the caller's read-side section lasts.
 *  I5. A next word tagged LFD_PENDING (bit 1 without the mark) belongs to
 *      a bucket node that a grow is linking.  Its successor does not
 *      change while the tag is set (every CAS that links, unlinks or marks
 *      expects an untagged word); the tag is cleared once, after the node
 *      is linked, by the linker or by a walker that reached the node
 *      through a link, and is not set again while the node is in use.
 */
#include <string.h>

#include "solist.h"

void lfd_list_mark(LFD_ATOMIC(uintptr_t) *next)
{
	/* relaxed: the mark's first read only seeds the CAS loop. */
	uintptr_t w = lfd_a_load(next, memory_order_relaxed);

	while (!(w & LFD_MARK) &&
	       !lfd_a_cas_weak(next, &w, w | LFD_MARK, LFD_MO_MARK_CAS,
			     memory_order_relaxed))
		; /* w was reloaded by the failed CAS; a failure means the
		     successor changed (unlinked) or someone else marked it. */
}

/*
 * Find the position of (so, key) after the node whose next word is `start`:
 * on return *pos->prev was, at its last load, unmarked and held pos->curr,
 * the link to the first node that does not sort before the target (0 at the
 * end of the list).  Returns true when pos->curr leads to an entry of that
 * key whose value was not the tombstone when checked.  Marked nodes met on
 * the way are unlinked (helping); an entry of the searched key whose slot is
 * the tombstone is marked first (so an insert never waits for a stalled
 * pop).  A bucket node that sorts after the target ends the search without
 * being loaded: whether it is marked concerns only its shrink, which
 * unlinks it itself (lfd_list_remove).  Unlinking never frees: the thread
 * that popped an entry retires it (see lfd_list_remove), and bucket nodes
 * belong to their segment.  Lock-free: a restart happens only when another
 * thread changed a link.
 */
bool lfd_list_find(struct lfd *d, LFD_ATOMIC(uintptr_t) *start, uint32_t so,
		   const void *key, uint32_t klen, struct lfd_pos *pos)
{
	LFD_ATOMIC(uintptr_t) *prev;
	uintptr_t curr;
	unsigned int steps;

retry:
	prev = start;
	steps = 0;
	/* LINK_LOAD: acquire the fields of the node we step to (pairs with
	 * LINK_CAS / UNLINK_CAS); seq_cst to linearize an absent key. */
	curr = lfd_succ(lfd_a_load(prev, LFD_MO_LINK_LOAD));
	for (;;) {
		LFD_ATOMIC(uintptr_t) *cnext;
		uintptr_t nw;
		int c;

		if (curr == 0)
			break;
		if (lfd_is_blink(curr) && lfd_order(curr, so, key, klen) > 0)
			break;
		cnext = lfd_link_next(d, curr);
		nw = lfd_a_load(cnext, LFD_MO_LINK_LOAD);
		/* One test on the common path: a tagged word is pending (bit 1
		 * alone), marked, or retired (both bits). */
		if (nw & LFD_LINK_TAGS) {
			uintptr_t expect;

			if (!(nw & LFD_MARK)) {
				/* Pending: curr, a bucket node we reached by a
				 * link, is linked; its linker has not cleared
				 * the tag yet.  Clear it for the linker, so
				 * that a CAS on the word (ours or anyone's) can
				 * succeed.  CLEAR_CAS: release, as the
				 * linker's.  A failure means the word changed:
				 * reload it. */
				expect = nw;
				(void)lfd_a_cas(cnext, &expect, lfd_succ(nw),
						LFD_MO_CLEAR_CAS,
						memory_order_relaxed);
				continue;
			}
			/* Retired: curr is unlinked already (I2), so the CAS
			 * below would fail; its word is no successor. */
			if (nw & LFD_RETIRED)
				goto retry;

			/* Marked.  UNLINK_CAS: release passes on the acquire
			 * of nw's target; fails if prev was marked or
			 * changed. */
			expect = curr;
			if (!lfd_a_cas(prev, &expect, lfd_succ(nw),
				       LFD_MO_UNLINK_CAS, memory_order_relaxed))
				goto retry;
			curr = lfd_succ(nw);
			continue;
		}
		c = lfd_order(curr, so, key, klen);
		if (c < 0) {
			steps += !lfd_is_blink(curr);
			prev = cnext;
			curr = lfd_succ(nw);
			continue;
		}
		if (c == 0 && (so & 1u)) {
			struct lfd_entry *e = lfd_link_entry(curr);

			/* VALUE_LOAD: a tombstoned entry of our key must go
			 * before the caller may link a new one (I3). */
			if (lfd_a_load(&e->value, LFD_MO_VALUE_LOAD) ==
			    LFD_TOMBSTONE) {
				lfd_list_mark(cnext);
				continue; /* reload curr's next: now marked */
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
 * Link the node with next word `node_next` and link `node` between
 * pos->prev and pos->curr; the node's next word gets pos->curr | tag (0, or
 * LFD_PENDING for a grow's bucket node).  Returns false if the position
 * changed (prev marked, or another node linked after it); the caller
 * searches again.  The node is not yet visible to anyone, so its next word
 * is set with a relaxed store; LINK_CAS's release publishes it.
 */
bool lfd_list_link(struct lfd_pos *pos, LFD_ATOMIC(uintptr_t) *node_next,
		   uintptr_t node, uintptr_t tag)
{
	uintptr_t expect = pos->curr;

	lfd_a_store(node_next, pos->curr | tag, memory_order_relaxed);
	return lfd_a_cas(pos->prev, &expect, node, LFD_MO_LINK_CAS,
			 memory_order_relaxed);
}

/* Link bucket node k, pending (LFD_PENDING), after its parent, then clear
 * its tag.  Only by the thread that claimed k's chunk of a grow (or
 * lfd_new's, alone). */
void lfd_list_insert_bucket(struct lfd *d, uint32_t k)
{
	struct lfd_pos pos;
	LFD_ATOMIC(uintptr_t) *start =
		&lfd_bucket_at(d, lfd_bucket_parent(k))->next;
	LFD_ATOMIC(uintptr_t) *next = &lfd_bucket_at(d, k)->next;
	uintptr_t expect;

	do
		(void)lfd_list_find(d, start, k, NULL, 0, &pos);
	while (!lfd_list_link(&pos, next, lfd_blink(k), LFD_PENDING));
	expect = pos.curr | LFD_PENDING;
	/* CLEAR_CAS: release, pairs with the LINK_LOAD of whoever reads the
	 * cleared word (lfd_bucket_for: a start from this node, which is
	 * linked).  Fails only when a walker cleared the tag first (then the
	 * word may have changed since). */
	(void)lfd_a_cas(next, &expect, pos.curr, LFD_MO_CLEAR_CAS,
			memory_order_relaxed);
}

/*
 * Make sure the node `node` leads to is unlinked: mark it, then, if the
 * caller's own search found it at `at` (or NULL), try to swing at->prev past
 * it; if that word changed since (a node linked or unlinked next to it, or
 * its node marked) or there is no `at`, search for its position from the
 * node whose next word is `start` (a node that sorts before it and stays
 * linked), which unlinks it if it is still there.  On return no linked node
 * leads to it, so a grace period that starts now ends with no reader
 * holding it.  Proof sketch: a node is linked at one place at most (I1,
 * I3), so the successful CAS, which found at->prev unmarked and leading to
 * it, took it out.  Otherwise the search stops at the first node not
 * sorting before `node`; by I1 and I3 `node` can only be linked right
 * there, and the search loads that node and unlinks it if marked before it
 * stops (it stops unloaded only at a bucket node sorting after the target,
 * never at the target).
 */
void lfd_list_remove(struct lfd *d, LFD_ATOMIC(uintptr_t) *start,
		     uintptr_t node, const struct lfd_pos *at)
{
	struct lfd_pos pos;
	LFD_ATOMIC(uintptr_t) *next = lfd_link_next(d, node);

	lfd_list_mark(next);
#ifdef LFD_BREAK_NO_UNLINK /* deliberately broken build for stress/, see doc/torture.md */
	return; /* retired while perhaps still linked */
#endif
	if (at != NULL && at->curr == node) {
		uintptr_t expect = node;
		/* LINK_LOAD: acquire the successor we are about to link to
		 * (it reads the mark, an RMW in the release sequence of the
		 * CAS that linked the successor there). */
		uintptr_t nw = lfd_a_load(next, LFD_MO_LINK_LOAD);

		/* UNLINK_CAS: as in lfd_list_find. */
		if (lfd_a_cas(at->prev, &expect, lfd_succ(nw),
			      LFD_MO_UNLINK_CAS, memory_order_relaxed))
			return;
	}
	if (lfd_is_blink(node)) {
		(void)lfd_list_find(d, start, lfd_blink_key(node), NULL, 0,
				    &pos);
	} else {
		const struct lfd_entry *e = lfd_link_entry(node);

		(void)lfd_list_find(d, start, e->ln.so_key, e->key,
				    e->ln.klen, &pos);
	}
}
