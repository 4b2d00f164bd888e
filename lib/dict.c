/*
 * dict.c - lfdict's public calls: argument checks, the value-slot state
 * machine, linearization.
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
 *   replace, cas, pop, pop_if
 *            success: VALUE_CAS.  -EAGAIN: VALUE_LOAD or the failed
 *            VALUE_CAS that saw another value.  -ENOENT: as get's not found.
 *   count, foreach: not linearizable (see lfdict.h).
 *
 * Progress guarantees
 *   - get: lock-free, and it never writes shared memory.  (Not wait-free: an
 *     unbounded stream of inserts ahead of it can lengthen its walk, and
 *     pops of the entries it stands on can restart it.)
 *   - insert, set, replace, cas, pop, pop_if, foreach: lock-free.  A retry
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
#include <stdlib.h>
#include <string.h>

/* _LGPL_SOURCE: inline urcu-bp's read_lock/read_unlock (liburcu's static
 * functions of under ten lines, which liburcu offers to non-LGPL code) on
 * the default flavour's path: two indirect calls fewer per operation.
 * -DLFD_NO_INLINE_RCU calls the same functions out of line instead: the
 * UndefinedBehaviorSanitizer build needs it, because liburcu 0.13.2 places
 * its per-thread reader records off their declared 128-byte alignment and
 * UBSan flags that access inside liburcu's inline code (the same access
 * happens, unseen, inside liburcu-bp.so when it is not inlined). */
#ifndef LFD_NO_INLINE_RCU
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-bp.h>

#include "internal.h"

#define LFD_EXPORT __attribute__((visibility("default")))

/* An insert that walked past this many entries of its bucket asks whether
 * the table should grow (catches small tables before the counter does). */
#define LFD_CHAIN_CHECK 8u

LFD_HIDDEN const unsigned char lfd_tombstone_byte = 0;

static void *lfd_default_alloc(size_t size, void *arg)
{
	(void)arg;
	return malloc(size);
}

static void lfd_default_free(void *p, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	free(p);
}

/* Enter / leave a read-side section of d's flavour. */
static inline void lfd_rcu_lock(const struct lfd *d)
{
	if (d->flavor == &urcu_bp_flavor)
		urcu_bp_read_lock();
	else
		d->flavor->read_lock();
}

static inline void lfd_rcu_unlock(const struct lfd *d)
{
	if (d->flavor == &urcu_bp_flavor)
		urcu_bp_read_unlock();
	else
		d->flavor->read_unlock();
}

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

/* Check the arguments, hash, enter the read-side section.  On error nothing
 * was entered.  Always inlined: as a call it cost lfd_get about 15 of its
 * instructions (callgrind), and the op struct stays in registers. */
static inline __attribute__((always_inline)) int lfd_op_begin(struct lfd_op *op, struct lfd *d,
			       const void *key, size_t len)
{
	uint64_t h;

	if (d == NULL || (key == NULL && len != 0) || len > LFD_KEY_MAX)
		return -EINVAL;
	h = d->hash ? d->hash(key, len, d->hash_arg)
		    : lfd_siphash13(d->seed, key, len);
	op->d = d;
	op->key = key;
	op->klen = (uint32_t)len;
	op->so = lfd_so_entry(h);
	lfd_rcu_lock(d);
	/* The bucket is chosen inside the section: a shrink unlinks an upper
	 * bucket only a grace period after publishing the smaller size. */
	op->start = lfd_bucket_for(d, op->so, &op->first);
	return 0;
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
	lfd_count_update(op->d, +1);
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
 * Shared by replace, cas, pop and pop_if: act on the key only if present.
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
	if (r == 0 && desired == LFD_TOMBSTONE && !match)
#else
	if (r == 0 && desired == LFD_TOMBSTONE)
#endif
		lfd_count_update(d, -1);
	/* Something was retired: an entry, or a value for its destructor. */
	if (r == 0 && (desired == LFD_TOMBSTONE ||
		       (d->value_free && seen != desired)))
		lfd_reclaim_help(d);
	if (seen_out && (r == 0 || r == -EAGAIN))
		*seen_out = seen;
	return r;
}

LFD_EXPORT int lfd_get(struct lfd *d, const void *key, size_t len,
		       void **value)
{
	struct lfd_op op;
	struct lfd_entry *e;
	int r = lfd_op_begin(&op, d, key, len);

	if (r != 0)
		return r;
	r = -ENOENT;
	e = lfd_list_lookup(d, op.start, op.first, op.so, key, op.klen);
	if (e != NULL) {
		/* VALUE_LOAD: seq_cst, get's linearization point; acquire
		 * pairs with the release of the call that stored v. */
		void *v = lfd_a_load(&e->value, LFD_MO_VALUE_LOAD);

		if (v != LFD_TOMBSTONE) {
			if (value)
				*value = v;
			r = 0;
		}
	}
	lfd_op_end(&op);
	return r;
}

LFD_EXPORT int lfd_insert(struct lfd *d, const void *key, size_t len,
			  void *value, void **current)
{
	struct lfd_op op;
	struct lfd_pos pos;
	struct lfd_entry *node = NULL;
	void *cur = value;
	int r = lfd_op_begin(&op, d, key, len);

	if (r != 0)
		return r;
	do {
		if (lfd_op_find(&op, &pos)) {
			/* VALUE_LOAD: seq_cst, -EEXIST's linearization point;
			 * acquire for the value returned. */
			cur = lfd_a_load(&lfd_link_entry(pos.curr)->value,
				       LFD_MO_VALUE_LOAD);
			/* A tombstone: the next search unlinks it. */
			r = cur == LFD_TOMBSTONE ? -EAGAIN : -EEXIST;
		} else {
			r = lfd_op_link(&op, &pos, value, &node);
			cur = value; /* not a tombstone seen on an earlier try */
		}
	} while (r == -EAGAIN);
	lfd_op_end(&op);
	if (node != NULL)
		lfd_entry_discard(d, node); /* never published */
	if (r == 0)
		lfd_op_inserted(&op, &pos);
	if (current && (r == 0 || r == -EEXIST))
		*current = cur;
	return r;
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

LFD_EXPORT int lfd_count(struct lfd *d, size_t *count)
{
	if (d == NULL || count == NULL)
		return -EINVAL;
	*count = lfd_count_sum(d);
	return 0;
}

/* The link foreach follows after link l.  If l's entry was popped and
 * retired meanwhile (fn itself may pop it), its next word no longer leads
 * along the list (LFD_RETIRED): walk again from its bucket node (which
 * sorts before it and stays linked, solist.c I4) to the first node that
 * sorts after it.  Its so_key, klen and key stay readable until the
 * read-side section ends. */
static uintptr_t lfd_foreach_next(struct lfd *d, uintptr_t l)
{
	/* LINK_LOAD: acquire the fields of the node we step to. */
	uintptr_t w = lfd_a_load(lfd_link_next(d, l), LFD_MO_LINK_LOAD);
	LFD_ATOMIC(uintptr_t) *start;
	const struct lfd_entry *e;
	int c;

	if (!lfd_is_retired(w)) /* a pending tag: l is a linked bucket node */
		return lfd_succ(w);
	/* Retired: an entry; its so_key gives its bucket. */
	e = lfd_link_entry(l);
	start = lfd_bucket_for(d, e->ln.so_key, &w);
	return lfd_list_seek(d, start, w, e->ln.so_key, e->key, e->ln.klen, 1,
			     &c);
}

LFD_EXPORT int lfd_foreach(struct lfd *d,
			   int (*fn)(void *arg, const void *key, size_t len,
				     void *value),
			   void *arg)
{
	uintptr_t l;
	int r = 0;

	if (d == NULL || fn == NULL)
		return -EINVAL;
	lfd_rcu_lock(d);
	/* Walk the one list from bucket 0's node.  next pointers go strictly
	 * forward in the split order and a key's order is fixed, so no key is
	 * met twice; a key linked for the whole walk is met once: every node
	 * reached sorts before it or is it (doc/design.md).
	 * LINK_LOAD: acquire each node's fields. */
	l = lfd_succ(lfd_a_load(&lfd_bucket_at(d, 0)->next, LFD_MO_LINK_LOAD));
	while (l != 0) {
		if (!lfd_is_blink(l)) {
			struct lfd_entry *e = lfd_link_entry(l);
			/* VALUE_LOAD: the value the key holds at the visit. */
			void *v = lfd_a_load(&e->value, LFD_MO_VALUE_LOAD);

			if (v != LFD_TOMBSTONE) {
				r = fn(arg, e->key, e->ln.klen, v);
				if (r != 0)
					break;
			}
		}
		l = lfd_foreach_next(d, l);
	}
	lfd_rcu_unlock(d);
	return r;
}

LFD_EXPORT int lfd_read_lock(struct lfd *d)
{
	if (d == NULL)
		return -EINVAL;
	lfd_rcu_lock(d);
	return 0;
}

LFD_EXPORT int lfd_read_unlock(struct lfd *d)
{
	if (d == NULL)
		return -EINVAL;
	lfd_rcu_unlock(d);
	lfd_reclaim_unlocked(d);
	return 0;
}

LFD_EXPORT int lfd_barrier(struct lfd *d)
{
	if (d == NULL)
		return -EINVAL;
	if (d->flavor->read_ongoing() || lfd_reclaim_in_destructor())
		return -EDEADLK;
	lfd_resize_wait(d);
	lfd_reclaim_wait(d);
	return 0;
}

LFD_EXPORT int lfd_stats(struct lfd *d, struct lfd_stats *st)
{
	if (d == NULL || st == NULL)
		return -EINVAL;
	/* relaxed throughout: monitoring values, documented as unordered. */
	st->count = lfd_count_sum(d);
	st->buckets = (size_t)1 << lfd_a_load(&d->size_log, memory_order_relaxed);
	st->min_buckets = (size_t)1 << d->min_log;
	st->max_buckets = (size_t)1 << d->max_log;
	st->grows = lfd_a_load(&d->grows, memory_order_relaxed);
	st->shrinks = lfd_a_load(&d->shrinks, memory_order_relaxed);
	st->resizing = lfd_a_load(&d->resize_busy, memory_order_relaxed) != 0;
	st->backlog = lfd_backlog_sum(d);
	st->throttled = lfd_a_load(&d->throttled, memory_order_relaxed);
	return 0;
}

static bool lfd_flavor_ok(const struct rcu_flavor_struct *f)
{
	return f->read_lock && f->read_unlock && f->read_ongoing &&
	       f->update_call_rcu && f->barrier;
}

LFD_EXPORT struct lfd *lfd_new(const struct lfd_config *cfg)
{
	static const struct lfd_config defaults;
	void *(*alloc)(size_t, void *) = lfd_default_alloc;
	void (*dealloc)(void *, size_t, void *) = lfd_default_free;
	struct lfd *d;
	int err;

	if (cfg == NULL)
		cfg = &defaults;
	if ((cfg->flags & ~LFD_FIXED_SIZE) != 0 ||
	    (cfg->alloc == NULL) != (cfg->free == NULL) ||
	    (cfg->max_capacity != 0 && cfg->capacity > cfg->max_capacity) ||
	    cfg->capacity > LFD_BUCKETS_MAX ||
	    (cfg->flavor != NULL && !lfd_flavor_ok(cfg->flavor))) {
		errno = EINVAL;
		return NULL;
	}
	if (cfg->alloc != NULL) {
		alloc = cfg->alloc;
		dealloc = cfg->free;
	}
	d = alloc(sizeof(*d), cfg->alloc_arg);
	if (d == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(d, 0, sizeof(*d));
	d->alloc = alloc;
	d->free = dealloc;
	d->alloc_arg = cfg->alloc_arg;
	d->flavor = cfg->flavor ? cfg->flavor : &urcu_bp_flavor;
	d->hash = cfg->hash;
	d->hash_arg = cfg->hash_arg;
	if (d->hash == NULL)
		lfd_seed_init(d->seed);
	d->value_free = cfg->value_free;
	d->value_free_arg = cfg->value_free_arg;
	d->flags = cfg->flags;
	d->min_log = lfd_log_for(cfg->capacity);
	d->max_log = cfg->max_capacity ? lfd_log_for(cfg->max_capacity)
				       : LFD_MAX_LOG;
	if (d->flags & LFD_FIXED_SIZE)
		d->max_log = d->min_log;
	lfd_a_init(&d->resize_busy, 0);
	lfd_a_init(&d->resize_runs, 0UL);
	lfd_a_init(&d->resize_oom, 0);
	lfd_a_init(&d->destroying, 0);
	lfd_a_init(&d->grows, (uint64_t)0);
	lfd_a_init(&d->shrinks, (uint64_t)0);
	lfd_a_init(&d->grow_claim, (uint32_t)0);
	lfd_a_init(&d->grow_done, (uint32_t)0);
	lfd_a_init(&d->retire_pending, (uintptr_t)0);
	lfd_a_init(&d->retire_busy, 0);
	for (unsigned int i = 0; i < LFD_READY_SLOTS; i++)
		lfd_a_init(&d->ready[i], (uintptr_t)0);
	lfd_a_init(&d->ready_count, 0);
	lfd_a_init(&d->reclaim_helpers, 0);
	lfd_a_init(&d->reclaim_waiters, 0);
	lfd_a_init(&d->help_taken, 0ul);
	d->help_taken_seen = 0;
	lfd_a_init(&d->throttle, 0);
	lfd_a_init(&d->throttled, (uint64_t)0);
	lfd_slab_init(d);
	err = lfd_count_init(d);
	if (err == 0) {
		err = lfd_buckets_init(d, d->min_log);
		if (err != 0)
			lfd_count_fini(d);
	}
	if (err != 0) {
		dealloc(d, sizeof(*d), cfg->alloc_arg);
		errno = -err;
		return NULL;
	}
	return d;
}

LFD_EXPORT int lfd_destroy(struct lfd *d)
{
	uintptr_t l;

	if (d == NULL)
		return -EINVAL;
	if (d->flavor->read_ongoing() || lfd_reclaim_in_destructor())
		return -EDEADLK;
	/* seq_cst: a resize run that clears resize_busy and then re-checks
	 * must see this flag and queue nothing new (lfd_resize_check).  The
	 * reclaim pipeline needs no flag: it queues work only while items
	 * wait, and the loop below waits until none does. */
	lfd_a_store(&d->destroying, 1, memory_order_seq_cst);
	do
		d->flavor->barrier();
	while (lfd_a_load(&d->resize_busy, memory_order_acquire) ||
	       !lfd_reclaim_idle(d));
	/* The callback that cleared the last busy flag may still be running
	 * its tail (the re-check); it was queued before this barrier, so the
	 * barrier returns only after it has returned. */
	d->flavor->barrier();
	/* Alone now: every popped entry was unlinked and reclaimed by its
	 * popper's batch; what the list holds is live. */
	l = lfd_succ(lfd_a_load(&lfd_bucket_at(d, 0)->next,
				memory_order_relaxed));
	while (l != 0) {
		uintptr_t next = lfd_succ(lfd_a_load(lfd_link_next(d, l),
						     memory_order_relaxed));

		if (!lfd_is_blink(l)) {
			struct lfd_entry *e = lfd_link_entry(l);
			void *v = lfd_a_load(&e->value, memory_order_relaxed);

			if (d->value_free && v != LFD_TOMBSTONE)
				d->value_free(v, d->value_free_arg);
			lfd_entry_drop(d, e);
		}
		l = next;
	}
	lfd_slab_fini(d);
	lfd_buckets_fini(d);
	lfd_count_fini(d);
	d->free(d, sizeof(*d), d->alloc_arg);
	return 0;
}

LFD_EXPORT const char *lfd_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -EINVAL:
		return "invalid argument (NULL dictionary or key, key too long, "
		       "or invalid configuration)";
	case -ENOMEM:
		return "out of memory; nothing was changed";
	case -ENOENT:
		return "key not present";
	case -EEXIST:
		return "key already present";
	case -EAGAIN:
		return "value mismatch: the key holds another value";
	case -EDEADLK:
		return "called inside an RCU read-side section";
	default:
		return "unknown lfdict error";
	}
}
