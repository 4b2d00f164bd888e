/*
 * dict.c - lfdict's calls on one key (get, insert, set, replace, cas, pop,
 * pop_if, cad, update, get_or_create): argument checks, the value-slot state machine, linearization.
 * The calls on the whole table are in table.c, lfd_get_many in many.c.
 * Uses api.h, which brings every layer below.
 *
 * SPDX-License-Identifier: MIT
 *
 * References
 *   [SS06] O. Shalev, N. Shavit, "Split-ordered lists: lock-free extensible
 *          hash tables", JACM 53(3), 2006.
 *   [H01]  T. Harris, "A pragmatic implementation of non-blocking linked
 *          lists", DISC 2001.
 *   [M02]  M. Michael, "High performance dynamic lock-free hash tables and
 *          list-based sets", SPAA 2002.
 *   [C07]  C. Click, "A lock-free hash table", JavaOne 2007 (value-slot
 *          states with a tombstone).
 *   [HHLMSS05] S. Heller et al., "A lazy concurrent list-based set
 *          algorithm", OPODIS 2005 (read-only lookups).
 *   [D10]  M. Desnoyers, liburcu and its rculfhash (RCU, flavours, and the
 *          idea of resizing from RCU callbacks).
 *
 * Design
 *   - One lock-free singly linked list [H01,M02] holds every entry, sorted
 *     by split-order key so_key = fold(hash) | 1 (32 bits), then by key
 *     length and bytes.  At 2^L buckets, an entry's bucket is its so_key's
 *     top L bits, and the bucket is a node in the same list whose so_key is
 *     those bits followed by zeros (even), so a bucket's entries follow its
 *     node, and doubling the bucket count only inserts new bucket nodes
 *     between existing ones: nothing moves.  [SS06] sort by the bit
 *     reversal of a hash whose low bits pick the bucket; sorting by a
 *     hash whose top bits pick it is the same order without reversing
 *     anything (internal.h, "The split order").  (solist.c)
 *   - Bucket nodes live in segments, one per power of two (buckets.c has the
 *     picture): grow allocates a segment and links its nodes; shrink unlinks
 *     them and frees the segment after grace periods.  A bucket node is
 *     only a next word: links to it carry its split-order key, from which a
 *     walker knows its order and finds it (internal.h, LFD_TO_BUCKET).  Resizing runs
 *     one run at a time, on the updating thread that asked (grows up to
 *     64k buckets) or in RCU callbacks, with updates linking chunks of a
 *     grow that lags; no call waits for it.  (buckets.c)
 *   - Each entry's state is one word, its value slot: a user value (NULL
 *     included) or the tombstone, which is terminal [C07].  Every call that
 *     changes a present key's state -- set (present), replace, cas, pop,
 *     pop_if -- does one compare-exchange on that word, so a pop cannot lose
 *     a concurrent replace (one of the two CASes fails and retries or
 *     reports) and a replace cannot bring back a popped key (no CAS starts
 *     from the tombstone).  After the tombstone, the popping thread marks
 *     the node's next word and makes sure it is unlinked, then retires it.
 *     A new entry for the same key is linked only after the tombstoned one
 *     is unlinked, and anyone who meets a tombstoned entry of the key it
 *     works on marks it itself, so no call waits for a stalled pop.
 *   - Readers hold an RCU read-side section of the configured liburcu
 *     flavour (default urcu-bp: no registration needed).  Removed entries
 *     and overwritten values are freed / destroyed after a grace period, in
 *     batches of one call_rcu each.  (reclaim.c)
 *   - The entry count is split over cache-line stripes (count.c).
 *
 * Layers of lib/ (`make layers` checks this picture against the code: a
 * file may include the headers of, and call, only its own layer and those
 * below it; each row is a layer, the top one first)
 *   api       dict.c table.c api.h        the public calls; fork()
 *             fork.c many.c trim.c
 *   reclaim   reclaim.c reclaim.h         retire stack, batches, helping,
 *             items.c items.h             backpressure; freeing items
 *   resize    buckets.c buckets.h         index allocation, grow, shrink
 *   list      solist.c solist.h           the split-ordered list
 *   index     index.h                     the index's read side (inline)
 *   slab      slab.c slab.h               entry memory
 *   count     count.c count.h             split counter, backlog gauge
 *   base      base.c base.h hash.c hash.h allocator hooks, thread
 *                                         numbers, tombstone; the hash
 *   types     internal.h atomics.h        types, links, split order
 * Nothing below asks anything above: the counter tells its caller when a
 * resize check is due (lfd_count_update), and the updates in dict.c ask.
 *
 * Linearization points (every one a seq_cst access, see atomics.h)
 *   get      found: VALUE_LOAD of the entry's slot returning a value.
 *            not found: the read-only walk [HHLMSS05] either stops past the
 *            key (a LINK_LOAD while the predecessor was linked, or, if the
 *            predecessor had been removed, the instant it was marked or the
 *            walk's start, whichever is later) or finds the key's entry
 *            tombstoned (the later of the tombstone CAS and the walk's
 *            start: no live entry of the key can be linked before the
 *            tombstoned one is unlinked).  A walk that meets a retired
 *            node starts again; the last walk's start is inside the call.
 *   insert   inserted: LINK_CAS.  -EEXIST: VALUE_LOAD seeing a value.
 *   set      inserted: LINK_CAS.  replaced: VALUE_CAS.
 *   replace, cas, pop, pop_if, cad
 *            success: VALUE_CAS.  -EAGAIN: VALUE_LOAD or the failed
 *            VALUE_CAS that saw another value.  -ENOENT: as get's not found.
 *   update   the last try's: INSERTED: LINK_CAS; REPLACED, REMOVED:
 *            VALUE_CAS from the value fn saw; KEPT: the VALUE_LOAD fn's
 *            `current` came from, or as get's not found.
 *   get_or_create
 *            INSERTED: LINK_CAS.  KEPT: the lookup's VALUE_LOAD, or the
 *            losing insert's (-EEXIST).
 *   count, foreach: not linearizable (see lfdict.h).
 *
 * Progress guarantees
 *   - get: lock-free, and it never writes shared memory.  (Not wait-free: an
 *     unbounded stream of inserts ahead of it can lengthen its walk, and
 *     pops of the entries it stands on can restart it.)
 *   - insert, set, replace, cas, pop, pop_if, cad, update, get_or_create,
 *     foreach: lock-free (update as long as its fn returns).  A retry
 *     happens only because another thread's CAS on the same word succeeded.
 *     They never wait for a resize, a grace period or another update.
 *   - count, stats, read_lock/unlock: wait-free.
 *   - Blocking: lfd_barrier and lfd_destroy (RCU barrier, grace periods);
 *     lfd_new only allocates.  Memory of removed entries waits for grace
 *     periods: a reader stalled inside a read-side section delays it, but
 *     never blocks an update.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "api.h"

/* An insert that walked past this many entries of its bucket asks whether
 * the table should grow (catches small tables before the counter does). */
#define LFD_CHAIN_CHECK 8u

/* The state of one single-key call: the key, where it lives in the split
 * order, and the bucket node its walks start from. */
struct lfd_op {
	struct lfd *d;
	const void *key;
	uint32_t klen;
	uint32_t so;
	LFD_ATOMIC(uintptr_t) *start; /* the bucket node's next word */
	uintptr_t first; /* what it held when chosen (lfd_bucket_for) */
};

/* Check the arguments and hash the key (lfd_op_begin's first half). */
static inline __attribute__((always_inline)) int lfd_op_prepare(struct lfd_op *op, struct lfd *d,
			       const void *key, size_t len)
{
	if (d == NULL || !lfd_key_valid(key, len))
		return -EINVAL;
	op->so = lfd_key_so(d, key, len);
	op->d = d;
	op->key = key;
	op->klen = (uint32_t)len;
	return 0;
}

/* Enter the section and choose the bucket, for a prepared op (again for
 * each try of lfd_update, which hashes once). */
static inline __attribute__((always_inline)) void lfd_op_enter(struct lfd_op *op)
{
	lfd_rcu_lock(op->d);
	/* The bucket is chosen inside the section: a shrink unlinks an upper
	 * bucket only a grace period after publishing the smaller size. */
	op->start = lfd_bucket_for(op->d, op->so, &op->first);
}

/* Check the arguments, hash, enter the read-side section.  On error nothing
 * was entered.  Always inlined: as a call it cost lfd_get about 15 of its
 * instructions (callgrind), and the op struct stays in registers. */
static inline __attribute__((always_inline)) int lfd_op_begin(struct lfd_op *op, struct lfd *d,
			       const void *key, size_t len)
{
	int r = lfd_op_prepare(op, d, key, len);

	if (r == 0)
		lfd_op_enter(op);
	return r;
}

static void lfd_op_end(struct lfd_op *op)
{
	lfd_rcu_unlock(op->d);
}

static bool lfd_op_find(struct lfd_op *op, struct lfd_pos *pos)
{
	return lfd_list_find(op->d, op->start, op->so, op->key, op->klen, pos);
}

static struct lfd_entry *lfd_entry_new(struct lfd_op *op, void *value)
{
	struct lfd_entry *e = lfd_entry_alloc(op->d, op->klen);

	/* The allocation moved handed-over chains and no callback is busy:
	 * queue one for them (slab.c, lfd_raw_refill; inside the read-side
	 * section, as call_rcu allows). */
	if (lfd_slab_kick_due) {
		lfd_slab_kick_due = 0;
		lfd_reclaim_kick(op->d);
	}
	if (e == NULL)
		return NULL;
	/* relaxed stores, not initialization: a slab slot's next and value
	 * words may still be read by a popper that lost the slot (slab.c);
	 * published by LINK_CAS's release. */
	lfd_a_store(&e->ln.next, (uintptr_t)0, memory_order_relaxed);
	e->ln.so_key = op->so;
	e->ln.klen = op->klen;
	lfd_a_store(&e->value, value, memory_order_relaxed);
	if (op->klen)
		memcpy(e->key, op->key, op->klen);
	return e;
}

/*
 * Link a new entry at pos (found absent).  Returns 0, or -EAGAIN if the
 * position changed (search again), or -ENOMEM.  *node is allocated on first
 * need and kept across retries; it is NULL after a successful link.
 */
static int lfd_op_link(struct lfd_op *op, struct lfd_pos *pos, void *value,
		       struct lfd_entry **node)
{
	if (*node == NULL) {
		*node = lfd_entry_new(op, value);
		if (*node == NULL)
			return -ENOMEM;
	}
	if (!lfd_list_link(pos, &(*node)->ln.next, lfd_elink(*node), 0))
		return -EAGAIN;
	*node = NULL;
	return 0;
}

/*
 * After a successful link, outside the read-side section: count it, and if
 * the walk was long, ask for a resize.  A long walk while a resize runs
 * means the index lags the entries: the caller then helps the grow (links
 * a chunk of its bucket nodes, lfd_grow_help), or, with none to hand out,
 * yields its CPU once, so that the threads doing the grow are not starved
 * by the updates that make the chains longer (64 threads on 2 cores:
 * doc/performance.md).  Helping links one chunk (1024 nodes, and if that
 * completes the grow, goes on with the run within lfd_grow_inline's
 * bound) and a yield waits for nothing, so the call stays lock-free.
 */
static void lfd_op_inserted(struct lfd_op *op, const struct lfd_pos *pos)
{
	if (lfd_count_update(op->d, +1))
		lfd_resize_check(op->d);
	if (pos->steps >= LFD_CHAIN_CHECK) {
		lfd_resize_check(op->d);
		/* A grow is running while chains grow long: link a chunk of
		 * its buckets.  If it has none left to hand out (its last chunks
		 * are being linked, or the run is between steps), give the
		 * CPU to the threads that are resizing.
		 * relaxed: a hint; a stale value costs one yield or one
		 * missed, nothing else. */
		if (!lfd_grow_help(op->d) &&
		    lfd_a_load(&op->d->resize_busy, memory_order_relaxed))
			sched_yield();
	}
}

/*
 * The value-slot state machine.  Swap e's slot from its current value
 * (match: only if that is `expected`) to `desired` (LFD_TOMBSTONE: pop).
 * Returns 0 with *seen = the value replaced; -EAGAIN with *seen = the other
 * value found (match only); -ENOENT if the slot is the tombstone; -ENOMEM.
 * When the departing value needs its destructor deferred, a record is
 * allocated (*rec) *before* the CAS, so running out of memory changes
 * nothing.
 */
static int lfd_slot_swap(struct lfd *d, struct lfd_entry *e, bool match,
			 void *expected, void *desired, void **seen,
			 struct lfd_retired **rec)
{
	/* VALUE_LOAD: seq_cst, the linearization point of a mismatch or a
	 * tombstone seen here; acquire for the value returned in *seen. */
	void *cur = lfd_a_load(&e->value, LFD_MO_VALUE_LOAD);

	for (;;) {
#ifndef LFD_BREAK_TOMBSTONE /* deliberately broken build for stress/, see doc/torture.md */
		if (cur == LFD_TOMBSTONE)
			return -ENOENT;
#endif
		if (match && cur != expected) {
			*seen = cur;
			return -EAGAIN;
		}
		if (d->value_free && desired != LFD_TOMBSTONE &&
		    desired != cur && *rec == NULL) {
			*rec = lfd_record_alloc(d);
			if (*rec == NULL)
				return -ENOMEM;
		}
		/* VALUE_CAS: seq_cst on success (the linearization point;
		 * release of the new value, acquire of the old) and on failure
		 * (cur is reloaded and may be returned). */
#ifdef LFD_BREAK_PLAIN_STORE /* deliberately broken build for stress/, see doc/torture.md */
		lfd_a_store(&e->value, desired, memory_order_seq_cst);
		*seen = cur;
		return 0;
#endif
		if (lfd_a_cas(&e->value, &cur, desired, LFD_MO_VALUE_CAS,
			    LFD_MO_VALUE_CAS_FAIL)) {
			*seen = cur;
			return 0;
		}
	}
}

/* A value left the slot (not by pop): defer its destructor. */
static void lfd_value_departed(struct lfd *d, void *old, void *desired,
			       struct lfd_retired **rec)
{
	if (d->value_free && old != desired) {
		lfd_record_retire(d, *rec, old);
		*rec = NULL;
	}
}

/*
 * After a successful swap of a present key's slot from `seen` to `desired`
 * (LFD_TOMBSTONE: a removal), outside the read-side section: count a
 * removal (and ask for a resize check when due), and help reclaim if
 * something was retired -- the entry, or `seen` for its destructor.
 */
static void lfd_op_departed(struct lfd *d, void *seen, void *desired)
{
	if (desired == LFD_TOMBSTONE && lfd_count_update(d, -1))
		lfd_resize_check(d);
	if (desired == LFD_TOMBSTONE || (d->value_free && seen != desired))
		lfd_reclaim_help(d);
}

/*
 * Shared by replace, cas, pop, pop_if and cad: act on the key only if
 * present.
 */
static int lfd_update_present(struct lfd *d, const void *key, size_t len,
			      bool match, void *expected, void *desired,
			      void **seen_out)
{
	struct lfd_op op;
	struct lfd_pos pos;
	struct lfd_retired *rec = NULL;
	void *seen = NULL;
	int r = lfd_op_begin(&op, d, key, len);

	if (r != 0)
		return r;
	if (!lfd_op_find(&op, &pos)) {
		r = -ENOENT;
	} else {
		struct lfd_entry *e = lfd_link_entry(pos.curr);

		r = lfd_slot_swap(d, e, match, expected, desired, &seen, &rec);
		if (r == 0 && desired == LFD_TOMBSTONE) {
			lfd_list_remove(d, op.start, lfd_elink(e), &pos);
			lfd_retire_entry(d, e, seen);
		} else if (r == 0) {
			lfd_value_departed(d, seen, desired, &rec);
		}
	}
	lfd_op_end(&op);
	if (rec != NULL)
		lfd_record_free(d, rec);
#ifdef LFD_BREAK_COUNT /* deliberately broken build for stress/, see doc/torture.md */
	if (r == 0 && (desired != LFD_TOMBSTONE || !match))
#else
	if (r == 0)
#endif
		lfd_op_departed(d, seen, desired);
	if (seen_out && (r == 0 || r == -EAGAIN))
		*seen_out = seen;
	return r;
}

/* lfd_get's work on a prepared op (lfd_get; lfd_get_or_create, which
 * hashes once for its look-up and its insert). */
static inline __attribute__((always_inline)) int lfd_get_op(struct lfd_op *op,
							    void **value)
{
	void *v;
	int r = -ENOENT;

	lfd_op_enter(op);
	/* the linearization point: lfd_entry_value's VALUE_LOAD (found),
	 * or as "get" in the design comment above (absent) */
	if (lfd_entry_value(lfd_list_lookup(op->d, op->start, op->first,
					    op->so, op->key, op->klen),
			    &v)) {
		if (value)
			*value = v;
		r = 0;
	}
	lfd_op_end(op);
	return r;
}

LFD_EXPORT int lfd_get(struct lfd *d, const void *key, size_t len,
		       void **value)
{
	struct lfd_op op;
	int r = lfd_op_prepare(&op, d, key, len);

	return r != 0 ? r : lfd_get_op(&op, value);
}

/* lfd_insert's work on a prepared op (lfd_insert, lfd_get_or_create). */
static inline __attribute__((always_inline)) int
lfd_insert_op(struct lfd_op *op, void *value, void **current)
{
	struct lfd_pos pos;
	struct lfd_entry *node = NULL;
	void *cur = value;
	int r;

	lfd_op_enter(op);
	do {
		if (lfd_op_find(op, &pos)) {
			/* VALUE_LOAD: seq_cst, -EEXIST's linearization point;
			 * acquire for the value returned. */
			cur = lfd_a_load(&lfd_link_entry(pos.curr)->value,
				       LFD_MO_VALUE_LOAD);
			/* A tombstone: the next search unlinks it. */
			r = cur == LFD_TOMBSTONE ? -EAGAIN : -EEXIST;
		} else {
			r = lfd_op_link(op, &pos, value, &node);
			cur = value; /* not a tombstone seen on an earlier try */
		}
	} while (r == -EAGAIN);
	lfd_op_end(op);
	if (node != NULL)
		lfd_entry_discard(op->d, node); /* never published */
	if (r == 0)
		lfd_op_inserted(op, &pos);
	if (current && (r == 0 || r == -EEXIST))
		*current = cur;
	return r;
}

LFD_EXPORT int lfd_insert(struct lfd *d, const void *key, size_t len,
			  void *value, void **current)
{
	struct lfd_op op;
	int r = lfd_op_prepare(&op, d, key, len);

	return r != 0 ? r : lfd_insert_op(&op, value, current);
}

LFD_EXPORT int lfd_set(struct lfd *d, const void *key, size_t len,
		       void *value, void **old)
{
	struct lfd_op op;
	struct lfd_pos pos;
	struct lfd_entry *node = NULL;
	struct lfd_retired *rec = NULL;
	void *seen = NULL;
	int r = lfd_op_begin(&op, d, key, len);

	if (r != 0)
		return r;
	do {
		if (lfd_op_find(&op, &pos)) {
			r = lfd_slot_swap(d, lfd_link_entry(pos.curr), false,
					  NULL, value, &seen, &rec);
			if (r == 0) {
				lfd_value_departed(d, seen, value, &rec);
				r = 1;
			} else if (r == -ENOENT) {
				r = -EAGAIN; /* tombstone: unlink it, insert */
			}
		} else {
			r = lfd_op_link(&op, &pos, value, &node);
		}
	} while (r == -EAGAIN);
	lfd_op_end(&op);
	if (node != NULL)
		lfd_entry_discard(d, node); /* never published */
	if (rec != NULL)
		lfd_record_free(d, rec);
	if (r == 0)
		lfd_op_inserted(&op, &pos);
	if (r == 1) {
		if (d->value_free && seen != value)
			lfd_reclaim_help(d); /* a record was retired */
		if (old)
			*old = seen;
	}
	return r;
}

LFD_EXPORT int lfd_replace(struct lfd *d, const void *key, size_t len,
			   void *value, void **old)
{
	return lfd_update_present(d, key, len, false, NULL, value, old);
}

LFD_EXPORT int lfd_cas(struct lfd *d, const void *key, size_t len,
		       void *expected, void *desired, void **current)
{
	return lfd_update_present(d, key, len, true, expected, desired,
				  current);
}

LFD_EXPORT int lfd_pop(struct lfd *d, const void *key, size_t len,
		       void **value)
{
	return lfd_update_present(d, key, len, false, NULL, LFD_TOMBSTONE,
				  value);
}

LFD_EXPORT int lfd_pop_if(struct lfd *d, const void *key, size_t len,
			  void *expected)
{
	return lfd_update_present(d, key, len, true, expected, LFD_TOMBSTONE,
				  NULL);
}

LFD_EXPORT int lfd_cad(struct lfd *d, const void *key, size_t len,
		       void *expected, void **current)
{
	return lfd_update_present(d, key, len, true, expected, LFD_TOMBSTONE,
				  current);
}

/*
 * lfd_update: one try per loop turn.  Each try looks the key up, asks fn,
 * and applies fn's decision where the key still holds what fn saw: the
 * value slot by a compare-exchange from `cur` (VALUE_CAS, match), or, for
 * an absent key, a link (LINK_CAS) at a position found absent -- if the
 * list changed next to the key meanwhile, the search is redone and the
 * link retried without asking fn again, as long as the key stays absent
 * (fn's decision was made on absence, which still holds where the link
 * succeeds).  So a try is lost only when another thread changed the key,
 * and a lost try costs only that thread's success.  A value fn built on a
 * lost try goes back to the caller (discard) outside the read-side
 * section, which the next try enters anew.
 */
struct lfd_try {
	bool present;
	void *cur;	/* present: the value fn saw */
	void *desired;	/* LFD_STORE: fn's value */
	int verdict;	/* fn's return */
};

/* Look the key up and ask fn.  Returns fn's verdict (or its negative
 * return), after re-reading a tombstoned entry's key as absent: the search
 * that finds it again unlinks it. */
static int lfd_try_ask(struct lfd_op *op, struct lfd_pos *pos,
		       struct lfd_try *t,
		       int (*fn)(void *, const void *, size_t, int, void *,
				 void **),
		       void *arg)
{
	for (;;) {
		t->present = lfd_op_find(op, pos);
		t->cur = NULL;
		if (t->present) {
			/* VALUE_LOAD: seq_cst, KEPT's linearization point
			 * when the key is present; acquire for the value fn
			 * reads (and for *desired built from it). */
			t->cur = lfd_a_load(&lfd_link_entry(pos->curr)->value,
					    LFD_MO_VALUE_LOAD);
			if (t->cur == LFD_TOMBSTONE)
				continue; /* popped: search again, unlinking it */
		}
		t->desired = NULL;
		t->verdict = fn(arg, op->key, op->klen, t->present, t->cur,
				&t->desired);
		return t->verdict;
	}
}

/* Apply a try's decision.  Returns LFD_KEPT, LFD_INSERTED, LFD_REPLACED or
 * LFD_REMOVED; -EAGAIN if the try was lost; -ENOMEM; -EINVAL for a verdict
 * that is none of fn's three. */
static int lfd_try_apply(struct lfd_op *op, struct lfd_pos *pos,
			 struct lfd_try *t, struct lfd_entry **node,
			 struct lfd_retired **rec)
{
	struct lfd *d = op->d;
	struct lfd_entry *e;
	void *seen;
	int r;

	if (t->verdict == LFD_KEEP || (t->verdict == LFD_REMOVE && !t->present))
		return LFD_KEPT;
	if (t->verdict != LFD_STORE && t->verdict != LFD_REMOVE)
		return -EINVAL;
	if (!t->present) {
		/* relaxed: the entry is not published yet (a node kept from
		 * a lost try gets this try's value); LINK_CAS releases it. */
		if (*node != NULL)
			lfd_a_store(&(*node)->value, t->desired,
				    memory_order_relaxed);
		while ((r = lfd_op_link(op, pos, t->desired, node)) ==
		       -EAGAIN) {
			/* The list changed next to the key (a key linked or
			 * unlinked there, a resize's bucket node): search
			 * again.  Found: another thread inserted the key
			 * (the search unlinks an entry it sees popped), so
			 * the try is lost; absent: link there. */
			if (lfd_op_find(op, pos))
				return -EAGAIN;
		}
		return r == 0 ? LFD_INSERTED : r;
	}
	e = lfd_link_entry(pos->curr);
	if (t->verdict == LFD_REMOVE) {
		r = lfd_slot_swap(d, e, true, t->cur, LFD_TOMBSTONE, &seen, rec);
		if (r != 0)
			return -EAGAIN; /* another value, or popped */
		lfd_list_remove(d, op->start, lfd_elink(e), pos);
		lfd_retire_entry(d, e, seen);
		return LFD_REMOVED;
	}
#ifdef LFD_BREAK_UPDATE_MATCH /* deliberately broken build for stress/, see doc/torture.md */
	r = lfd_slot_swap(d, e, false, t->cur, t->desired, &seen, rec);
#else
	r = lfd_slot_swap(d, e, true, t->cur, t->desired, &seen, rec);
#endif
	if (r == -ENOMEM)
		return r;
	if (r != 0)
		return -EAGAIN;
	lfd_value_departed(d, seen, t->desired, rec);
	return LFD_REPLACED;
}

LFD_EXPORT int lfd_update(struct lfd *d, const void *key, size_t len,
			  int (*fn)(void *arg, const void *key, size_t len,
				    int present, void *current,
				    void **desired),
			  void (*discard)(void *arg, void *value), void *arg)
{
	struct lfd_op op;
	struct lfd_pos pos;
	struct lfd_entry *node = NULL;
	struct lfd_retired *rec = NULL;
	struct lfd_try t;
	int r;

	if (fn == NULL)
		return -EINVAL;
	r = lfd_op_prepare(&op, d, key, len);
	if (r != 0)
		return r;
	for (;;) {
		lfd_op_enter(&op);
		r = lfd_try_ask(&op, &pos, &t, fn, arg);
		if (r < 0) { /* fn gave up: its error, nothing changed */
			lfd_op_end(&op);
			break;
		}
		r = lfd_try_apply(&op, &pos, &t, &node, &rec);
		lfd_op_end(&op);
		if (r != -EAGAIN && r != -ENOMEM)
			break;
		/* Lost, or out of memory: hand back what fn built. */
		if (t.verdict == LFD_STORE && discard != NULL &&
		    !(t.present && t.desired == t.cur))
			discard(arg, t.desired);
		if (r == -ENOMEM)
			break;
	}
	if (node != NULL)
		lfd_entry_discard(d, node); /* never published */
	if (rec != NULL)
		lfd_record_free(d, rec);
	if (r == LFD_INSERTED)
		lfd_op_inserted(&op, &pos);
	else if (r == LFD_REPLACED || r == LFD_REMOVED)
		lfd_op_departed(d, t.cur,
				r == LFD_REMOVED ? LFD_TOMBSTONE : t.desired);
	return r;
}

LFD_EXPORT int lfd_get_or_create(struct lfd *d, const void *key, size_t len,
				 int (*create)(void *arg, const void *key,
					       size_t len, void **value),
				 void (*discard)(void *arg, void *value),
				 void *arg, void **value)
{
	struct lfd_op op;
	void *v = NULL, *cur = NULL;
	int r;

	if (create == NULL || value == NULL)
		return -EINVAL;
	/* Checks d and the key and hashes once, for the look-up and the
	 * insert. */
	r = lfd_op_prepare(&op, d, key, len);
	if (r != 0)
		return r;
	/* The look-up's linearization point is KEPT's when the key is
	 * present. */
	r = lfd_get_op(&op, &v);
	if (r == 0) {
		*value = v;
		return LFD_KEPT;
	}
	if (r != -ENOENT)
		return r;
	r = create(arg, key, len, &v);
	if (r < 0)
		return r;
	/* Linked (LINK_CAS), or lost to a winner whose value the insert's
	 * VALUE_LOAD returns; a popped entry of the key makes the insert
	 * search again, never create again. */
	r = lfd_insert_op(&op, v, &cur);
	if (r == 0) {
		*value = v;
		return LFD_INSERTED;
	}
	if (discard != NULL)
		discard(arg, v); /* lost, or -ENOMEM: never published */
	if (r == -EEXIST) {
		*value = cur;
		return LFD_KEPT;
	}
	return r;
}
