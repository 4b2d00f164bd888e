/*
 * slab.c - entry memory.  Entries of up to 56 bytes (24-byte head, key and
 * popped word up to LFD_SLAB_EXTRA) live in slots of blocks that the
 * dictionary keeps until lfd_destroy; bigger ones come from the
 * dictionary's allocator (lfd_entry_alloc, lfd_entry_free).  Uses base.h
 * (allocator hooks, thread numbers) and nothing above it.
 *
 * SPDX-License-Identifier: MIT
 *
 * Why.  A 32-byte entry (8-byte key) from malloc is a 48-byte chunk (glibc:
 * 8 bytes of header, rounded to 16): a third of the memory of a dictionary
 * of small keys would be allocator overhead (doc/performance.md).  A slot costs its size rounded up to 8 bytes, plus
 * one 16-byte block header per block of 32 to 2048 slots.
 *
 * Shape.  One size class per 8 bytes from 24 to 56.  Free slots of a class
 * sit on
 *   - a per-stripe stack (lfd_stripe.slab[c]), from which a thread of that
 *     stripe allocates (the stripe of the CPU it runs on, base.h): seldom
 *     contended, since the threads of one CPU do not run at once;
 *   - a per-dictionary stack of chains (lfd.slab_chains[c]): a thread that
 *     frees entries after their grace period (reclaim.c) links up to
 *     LFD_SLAB_CHAIN of them into a chain and pushes the chain, one CAS;
 *     a thread whose stripe stack is empty pops one chain and moves it to
 *     its stripe stack, one CAS each (the chain's head records its tail);
 *   - failing both, a new block from the dictionary's allocator, carved
 *     into slots: one for the caller, the rest onto the stripe stack;
 *   - and if that fails, a slot from another stripe's stack: -ENOMEM only
 *     when the dictionary has no free slot of the class at all.
 * A slot goes back to the allocator only with its whole block: when
 * lfd_trim finds every slot of a block free (see "Trim" below), or at
 * lfd_destroy, which frees every block.
 *
 * Links.  A free slot is an entry-shaped thing: its `value` word links the
 * stripe stacks and the chains, its `ln.next` word links the chain stack,
 * and a chain's head keeps the chain's tail where an entry has its so_key
 * and klen (lfd_chain_tail).
 *
 * ABA.  Both stacks are popped with a plain load/CAS (Treiber), which is
 * safe here because every pop runs inside a read-side section of the
 * dictionary's RCU flavour (lfd_entry_alloc's caller holds one) and a slot
 * taken from a stack comes back to any stack only after it has been an
 * entry, retired, and waited for a grace period -- which cannot end while
 * a popper that read it as the top is still in its section.  So a popper
 * whose CAS finds its top unchanged knows the top was never taken meanwhile
 * and the successor it read is still right.  (Moving a chain from the chain
 * stack to a stripe stack happens without a grace period; that is fine:
 * the chain was popped by its mover and is pushed once, never taken back
 * out of a stack except by a pop.)  An entry that was allocated but never
 * linked is therefore not freed at once but retired like a popped one
 * (lfd_entry_discard).  A stale popper reads only the link word of a slot
 * that may meanwhile be an entry again; those words are atomics, and entry
 * initialization stores them atomically (lfd_entry_new).
 *
 * Trim (lfd_slab_trim_take, lfd_slab_trim_finish; lfd_trim in trim.c runs
 * them, one trim at a time per dictionary, and waits for a grace period
 * between the two).  A block can be freed only when every one of its
 * slots is free, and only a thread that holds every one of them knows
 * that.  So the trimmer
 *   1. detaches the whole block list (one exchange: blocks allocated from
 *      then on go on a fresh list) and sorts the detached blocks by
 *      address, in an array from the dictionary's allocator -- if that
 *      allocation fails, the list goes back and nothing else was touched;
 *   2. takes every free slot: each stripe stack and chain stack of every
 *      class, by exchanging its top with 0 (an exchange has no ABA), and
 *      sorts each slot into a list per block (binary search of its
 *      address; a slot of a block allocated after step 1 is a stray, kept
 *      as it is).  A block whose free slots number its slots is held
 *      entirely by the trimmer: no entry lives in it and no thread holds
 *      one of its slots (a slot is in one place at a time: an entry, the
 *      retire stack, a freeing thread's batch, handed over (see below),
 *      a stack, or the trimmer);
 *   3. waits for a grace period.  The Treiber argument above needs it: a
 *      stale popper may hold a taken slot as the top it read; a slot
 *      taken off a stack may come back onto one only after a grace period
 *      (so that stale CAS still fails), and its block may be freed only
 *      after one (the stale popper reads the slot's link word).  The
 *      trimmer relinks the slots it holds before that (step 2): only link
 *      words, which are atomics, and a stale popper's CAS fails whatever
 *      it read from them;
 *   4. frees each block whose slots are all free (the bytes counted), and
 *      pushes the other taken slots back onto the chain stacks, in chains
 *      of LFD_SLAB_CHAIN, fullest block first: blocks in ascending order
 *      of live slots, each block's slots prepended to the chain being
 *      built, so the chain pushed last (the stack's top) and the head of
 *      each chain hold the slots of the blocks with the most live entries.
 *      Later inserts fill those first, and the blocks with few live
 *      entries, left to the bottom, tend to empty out for a later trim.
 *      The kept blocks go back on the block list.
 * Between steps 2 and 4 the stacks lack what the trimmer holds: an
 * allocation that finds its stripe stack and the chain stack empty takes
 * a new block, at most one per stripe and class unless a stripe uses up a
 * whole block during that grace period.  Every other call runs on,
 * lock-free.  Steps 1-4 are one fork window (base.h): a fork waits for
 * the trim's grace period instead of cutting the trimmer's slots off.
 * The automatic shrink does not trim: see doc/design.md.
 */
#include <errno.h>
#include <stdlib.h>

#include "slab.h"
#include "count.h"

#if defined(__SANITIZE_ADDRESS__)
#define LFD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LFD_ASAN 1
#endif
#endif
#ifdef LFD_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* Slots per chain a freeing thread pushes at once. */
#define LFD_SLAB_CHAIN 64u
/* Slots per block: 32 for the first blocks of a dictionary, doubling every
 * 4 blocks up to 2048 (64 KiB for 32-byte slots), and at most
 * LFD_SLAB_BLOCK_MAX bytes: below glibc's mmap threshold (128 KiB), so a
 * block costs one 16-byte chunk header. */
#define LFD_SLAB_MIN_SLOTS 32u
#define LFD_SLAB_MAX_SHIFT 6u
#define LFD_SLAB_BLOCK_MAX ((size_t)120 * 1024)

struct lfd_slab_block {
	struct lfd_slab_block *next; /* the dictionary's block list */
	size_t size;		     /* bytes asked of the allocator */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct lfd_slab_block) % LFD_ENTRY_ALIGN == 0,
	       "slots start aligned (LFD_TO_BUCKET, internal.h)");
#endif

static size_t lfd_slot_size(int c)
{
	return sizeof(struct lfd_entry) + 8u * (size_t)c;
}

/* Mark the words of a free slot that nothing may read as unaddressable
 * (ASan builds), leaving the link words (ln.next, value). */
static void lfd_slot_poison(const struct lfd *d, struct lfd_entry *e, int c)
{
#ifdef LFD_ASAN
	size_t pre = lfd_entry_prefix(d);
	char *slot = (char *)e - pre;

	ASAN_POISON_MEMORY_REGION(slot, pre);
	ASAN_POISON_MEMORY_REGION(&e->ln.so_key, 8);
	ASAN_POISON_MEMORY_REGION(e->key, lfd_slot_size(c) - pre -
						  sizeof(struct lfd_entry));
#else
	(void)d;
	(void)e;
	(void)c;
#endif
}

static void lfd_slot_unpoison(const struct lfd *d, struct lfd_entry *e,
			      int c)
{
#ifdef LFD_ASAN
	ASAN_UNPOISON_MEMORY_REGION((char *)e - lfd_entry_prefix(d), lfd_slot_size(c));
#else
	(void)d;
	(void)e;
	(void)c;
#endif
}

static struct lfd_entry *lfd_slot_entry(uintptr_t w)
{
	return (struct lfd_entry *)w;
}

/* A chain's tail, kept by its head in the bytes of so_key and klen: plain
 * accesses, published and acquired with the chain's links (a stale popper
 * reads only link words).  Unpoisoned for the store: lfd_slot_poison
 * covered those bytes. */
#ifndef __cplusplus
_Static_assert(offsetof(struct lfd_lnode, klen) ==
			       offsetof(struct lfd_lnode, so_key) + 4 &&
		       sizeof(uintptr_t) <= 8,
	       "so_key and klen hold a pointer");
#endif
static void lfd_chain_set_tail(struct lfd_entry *head, struct lfd_entry *tail)
{
	uintptr_t t = (uintptr_t)tail;

#ifdef LFD_ASAN
	ASAN_UNPOISON_MEMORY_REGION(&head->ln.so_key, 8);
#endif
	memcpy(&head->ln.so_key, &t, sizeof(t));
}

static struct lfd_entry *lfd_chain_tail(const struct lfd_entry *head)
{
	uintptr_t t;

	memcpy(&t, &head->ln.so_key, sizeof(t));
	return lfd_slot_entry(t);
}

/* The next slot in a stripe stack or chain. */
static uintptr_t lfd_slot_next(struct lfd_entry *e)
{
	/* relaxed: the pop that made e reachable to us (an acquire load or
	 * CAS of a stack top, or the chain's acquire pop) ordered the store
	 * of this link before us; a stale popper's read may be of a slot
	 * that is an entry again, and its CAS then fails (see ABA above). */
	return (uintptr_t)lfd_a_load(&e->value, memory_order_relaxed);
}

static void lfd_slot_set_next(struct lfd_entry *e, uintptr_t next)
{
	/* relaxed: published by the release of the CAS that pushes e. */
	lfd_a_store(&e->value, (void *)next, memory_order_relaxed);
}

/* Push the chain first..last (linked by value) on stripe stack *top. */
static void lfd_stack_push(LFD_ATOMIC(uintptr_t) *top,
			   struct lfd_entry *first, struct lfd_entry *last)
{
	/* relaxed: only seeds the CAS loop. */
	uintptr_t t = lfd_a_load(top, memory_order_relaxed);

	do
		lfd_slot_set_next(last, t);
	/* release: the links (and, for a carved block, nothing else) are
	 * visible to the popper's acquire. */
	while (!lfd_a_cas_weak(top, &t, (uintptr_t)first,
			     memory_order_release, memory_order_relaxed));
}

/* Pop one slot of stripe stack *top, or NULL.  Inside a read-side section. */
static struct lfd_entry *lfd_stack_pop(LFD_ATOMIC(uintptr_t) *top)
{
	/* acquire: pairs with lfd_stack_push's release (the slot's link). */
	uintptr_t t = lfd_a_load(top, memory_order_acquire);

	while (t != 0) {
		uintptr_t next = lfd_slot_next(lfd_slot_entry(t));

		/* acquire on both: the slot we take (or the new top we retry
		 * with) was published by a push's release. */
		if (lfd_a_cas_weak(top, &t, next, memory_order_acquire,
				 memory_order_acquire)) {
			/* The next allocation of this stripe takes `next` and
			 * writes it whole: start fetching its line now (a
			 * hint that never faults; if another thread takes
			 * the slot first, or readers of the live entry that
			 * shares the line lose it, that is the fetch's cost:
			 * a net gain measured, doc/performance.md). */
			if (next != 0)
				__builtin_prefetch((void *)next, 1);
			return lfd_slot_entry(t);
		}
	}
	return NULL;
}

/* Pop one chain of the chain stack of class c, or NULL.  Inside a
 * read-side section. */
static struct lfd_entry *lfd_chains_pop(struct lfd *d, int c)
{
	/* acquire: pairs with lfd_chain_flush's release (the chain's links and
	 * its tail). */
	uintptr_t t = lfd_a_load(&d->slab_chains[c], memory_order_acquire);

	while (t != 0) {
		/* relaxed: as lfd_slot_next, for the chain stack's link. */
		uintptr_t next =
			lfd_a_load(&lfd_slot_entry(t)->ln.next, memory_order_relaxed);

		/* acquire: as in lfd_stack_pop. */
		if (lfd_a_cas_weak(&d->slab_chains[c], &t, next,
				 memory_order_acquire, memory_order_acquire))
			return lfd_slot_entry(t);
	}
	return NULL;
}

/*
 * Handed-over chains.  Freeing a retired entry loads it, and by then it is
 * cold: it waited a grace period or two (10-40 ms with urcu-bp under load,
 * doc/performance.md), so a freer walking a chain of them waits for one
 * miss per item.  A dictionary without a value destructor has nothing to
 * do for an entry but give its memory back, so its helpers hand each chain
 * past its grace period over as it is (lfd_slab_hand_over, one CAS), and
 * allocations take its items one by one (lfd_raw_alloc): an item is
 * loaded once, by the insert that reuses it, whose previous allocation
 * prefetched it.
 *
 *   - d->raw_chains: a stack of chains; a chain is retire-stack items linked
 *     by their link words (ln.next, with LFD_LINK_TAGS), and a head links
 *     the next chain through its `value` word (free: the chain is past its
 *     grace period, so no reader or cas holds it).
 *   - stripe->raw: the chain this stripe's allocations take items from, a
 *     stack popped like the slot stacks (same ABA argument: every pop runs
 *     in a read-side section, and an item comes back only after being an
 *     entry, retired and waited for).
 *   - An item stays in the backlog (count.h) until an allocation takes it
 *     or a drain frees it (lfd_slab_raw_take_all), so lfd_stats and the
 *     backpressure see it as not yet freed.
 *   - An item of another class is freed, to its class's slots, when an
 *     allocation meets it (at most LFD_RAW_FOREIGN per allocation).
 *   - Only slab slots are ever handed over.  An allocation or a drain frees
 *     the items it takes while a stale popper of the same stack may still
 *     read their link words: a slot stays the dictionary's memory (a trim
 *     frees its block only after a grace period), a big entry would go
 *     back to the allocator under the popper.  So the first retire of an
 *     entry too big for the slab turns hand-over off for good (d->raw_off,
 *     set in lfd_retire_entry before the push that publishes the entry;
 *     a helper checks it after taking the chain the entry is in).
 *   - ABA on stripe->raw: besides the pops, a drain takes a whole stack by
 *     exchange and may hand it over again unchanged, to be installed
 *     again by a refill; a stale popper whose CAS then succeeds takes the
 *     item it read with the successor it read, both unchanged -- still
 *     right.  A drain that frees the top first changes the top; the freed
 *     item comes back only through a grace period.
 *   - A thread that moves a chain from raw_chains to its stripe holds it
 *     for two CASes; it counts itself in d->reclaim_helpers and backs off if
 *     a waiter is announced, as a helper does (reclaim.c, "Waiting"), so
 *     that lfd_barrier and lfd_trim find every handed-over item in
 *     raw_chains or a stripe's raw stack, where their drain takes it, and
 *     a fork's child finds none in the middle of a move.  lfd_destroy does
 *     not drain them: lfd_slab_fini frees their blocks whole.
 */
#define LFD_RAW_FOREIGN 8u

_Thread_local int lfd_slab_kick_due;

/* Push the list of chains that starts at `first` (heads linked by their
 * value words) onto raw_chains. */
static void lfd_raw_push_list(struct lfd *d, uintptr_t first)
{
	uintptr_t last = first, next;
	/* relaxed: only seeds the CAS loop. */
	uintptr_t t = lfd_a_load(&d->raw_chains, memory_order_relaxed);

	while ((next = lfd_slab_raw_next(last)) != 0)
		last = next;
	do
		/* relaxed: published by the CAS's release. */
		lfd_a_store(&lfd_slot_entry(last)->value, (void *)t,
			    memory_order_relaxed);
	/* release: the chains' links (written before their grace period,
	 * and acquired by this thread with them) and the heads' value
	 * words, to the takers' acquire exchange; seq_cst for the
	 * store-buffering pair of reclaim.c's lfd_retire_schedule (the
	 * hand-over, then its caller checks busy). */
	while (!lfd_a_cas_weak(&d->raw_chains, &t, first, LFD_MO_RAW_PUSH_CAS,
			     memory_order_relaxed));
}

void lfd_slab_hand_over(struct lfd *d, uintptr_t chain, uintptr_t more)
{
	/* relaxed, set once: the push below publishes it with the chain
	 * (its release), so whoever holds a handed-over item -- through the
	 * takers' acquires -- reads it set (lfd_reclaim_wait relies on it). */
	if (!lfd_a_load(&d->raw_used, memory_order_relaxed))
		lfd_a_store(&d->raw_used, 1, memory_order_relaxed);
	/* relaxed: the chain is this thread's; the list goes on with more. */
	lfd_a_store(&lfd_slot_entry(chain)->value, (void *)more,
		    memory_order_relaxed);
	lfd_raw_push_list(d, chain);
}

/* Pop one item of a stack of retired items linked by their link words, or
 * 0.  Inside a read-side section. */
static uintptr_t lfd_raw_pop(LFD_ATOMIC(uintptr_t) *top)
{
	/* acquire: pairs with the release that installed the chain. */
	uintptr_t t = lfd_a_load(top, LFD_MO_RAW_POP_LOAD);

	while (t != 0) {
		/* relaxed: the item's link was published with its chain; a
		 * stale popper's CAS fails, or succeeds only where its top
		 * and successor are still right ("ABA on stripe->raw"). */
		uintptr_t next = lfd_a_load(&lfd_slot_entry(t)->ln.next,
					    memory_order_relaxed) &
				 ~LFD_LINK_TAGS;

		/* acquire on both: as in lfd_stack_pop. */
		if (lfd_a_cas_weak(top, &t, next, LFD_MO_RAW_POP_CAS,
				 LFD_MO_RAW_POP_CAS)) {
			/* The next allocation of this stripe loads `next`:
			 * start fetching it (a hint that never faults). */
			if (next != 0)
				__builtin_prefetch((void *)next, 1);
			return t;
		}
	}
	return 0;
}

/* Move a chain from raw_chains to stripe s's raw stack; false if there was
 * none or a waiter is announced.  Inside a read-side section. */
static bool lfd_raw_refill(struct lfd *d, struct lfd_stripe *s)
{
	bool moved = false;

	/* relaxed: a hint; the exchange below decides. */
	if (lfd_a_load(&d->raw_chains, memory_order_relaxed) == 0)
		return false;
	/* seq_cst: the store-buffering pair with the waiter's announcement
	 * (lfd_reclaim_wait, fork.c): either this thread sees the waiter and
	 * backs off, or the waiter sees it and waits for it to leave. */
	lfd_a_fetch_add(&d->reclaim_helpers, 1, memory_order_seq_cst);
	if (lfd_a_load(&d->reclaim_waiters, memory_order_seq_cst) == 0) {
		/* Taken whole, never popped by CAS: chains are pushed back
		 * (below, and by drains that stop short) without a grace
		 * period, so a CAS pop would have an ABA window.
		 * acquire: pairs with the pushes' release (the chains' links
		 * and the heads' value words). */
		uintptr_t h = lfd_a_xchg(&d->raw_chains, (uintptr_t)0,
					 LFD_MO_RAW_TAKE_XCHG);

		if (h != 0) {
			uintptr_t rest = lfd_slab_raw_next(h), empty = 0;

			/* release: the chain, to this stripe's poppers;
			 * seq_cst: the store-buffering pair below. */
			if (lfd_a_cas(&s->raw, &empty, h, LFD_MO_RAW_PLACE_CAS,
				      memory_order_relaxed)) {
				if (rest != 0)
					lfd_raw_push_list(d, rest);
			} else {
				lfd_raw_push_list(d, h); /* refilled meanwhile */
			}
			moved = true;
		}
	}
	/* release: the chains placed above happen-before a waiter that sees
	 * the count drop (its seq_cst load acquires). */
	lfd_a_fetch_add(&d->reclaim_helpers, -1, memory_order_release);
	/* The chains were out of sight between the exchange and their
	 * placing: a callback that looked then for work (lfd_any_raw) and
	 * found none queued nothing.  seq_cst, with the placing: store
	 * buffering against the callback (clear retire_busy; look for work)
	 * -- either it saw the chains, or this load sees busy clear and the
	 * allocation's caller queues the callback (lfd_slab_kick_due; the
	 * reclaim layer is above this one). */
	if (moved && lfd_a_load(&d->retire_busy, memory_order_seq_cst) == 0)
		lfd_slab_kick_due = 1;
	return moved;
}

/* A slot of class c from stripe s's handed-over items, or NULL.  Inside a
 * read-side section. */
static struct lfd_entry *lfd_raw_alloc(struct lfd *d, struct lfd_stripe *s,
				       int c)
{
	struct lfd_slab_batch batch;
	unsigned int foreign = 0;
	struct lfd_entry *e = NULL;

	while (foreign < LFD_RAW_FOREIGN) {
		uintptr_t t = lfd_raw_pop(&s->raw);
		struct lfd_entry *x;

		if (t == 0) {
			if (!lfd_raw_refill(d, s))
				break;
			continue;
		}
		x = lfd_slot_entry(t);
		lfd_backlog_add(d, -1);
		/* klen: written before the entry was linked or discarded;
		 * the pop's acquire made it visible, and x is ours now. */
		if (lfd_slab_class(d, x->ln.klen) == c) {
			e = x;
			break;
		}
		if (foreign++ == 0)
			memset(&batch, 0, sizeof(batch));
		lfd_entry_free(d, x, &batch);
	}
	if (foreign != 0)
		lfd_slab_flush(d, &batch);
	return e;
}

uintptr_t lfd_slab_raw_take_all(struct lfd *d)
{
	/* acquire: pairs with lfd_slab_hand_over's release. */
	uintptr_t list = lfd_a_xchg(&d->raw_chains, (uintptr_t)0,
				    LFD_MO_RAW_TAKE_XCHG);
	unsigned int i;

	for (i = 0; i < d->nstripes; i++) {
		/* acquire: pairs with lfd_raw_refill's release. */
		uintptr_t t = lfd_a_xchg(&d->stripes[i].raw, (uintptr_t)0,
					 LFD_MO_RAW_TAKE_XCHG);

		if (t != 0) {
			/* relaxed: this thread's list. */
			lfd_a_store(&lfd_slot_entry(t)->value, (void *)list,
				    memory_order_relaxed);
			list = t;
		}
	}
	return list;
}

uintptr_t lfd_slab_raw_next(uintptr_t chain)
{
	/* relaxed: the list was taken by this thread (lfd_slab_raw_take_all). */
	return (uintptr_t)lfd_a_load(&lfd_slot_entry(chain)->value,
				     memory_order_relaxed);
}

/* Push the blocks first..last (linked by next) on the dictionary's list. */
static void lfd_blocks_push(struct lfd *d, struct lfd_slab_block *first,
			    struct lfd_slab_block *last)
{
	/* relaxed: only seeds the CAS loop. */
	struct lfd_slab_block *head =
		lfd_a_load(&d->slab_blocks, memory_order_relaxed);

	do
		last->next = head;
	/* release: the blocks' headers (next, size), to the trimmer's
	 * acquire exchange (lfd_slab_trim_take); lfd_slab_fini reads the
	 * list after every other call has returned (lfd_destroy's
	 * contract), which orders it after every push anyway. */
	while (!lfd_a_cas_weak(&d->slab_blocks, &head, first,
			     memory_order_release, memory_order_relaxed));
}

/* A new block of class c: one slot for the caller, the rest on *top. */
static struct lfd_entry *lfd_block_new(struct lfd *d, int c,
				       LFD_ATOMIC(uintptr_t) *top)
{
	/* relaxed: a sizing heuristic, no ordering needed. */
	unsigned long nb = lfd_a_load(&d->slab_nblocks, memory_order_relaxed);
	unsigned int shift = nb / 4 < LFD_SLAB_MAX_SHIFT ? (unsigned)(nb / 4)
							   : LFD_SLAB_MAX_SHIFT;
	size_t slots = (size_t)LFD_SLAB_MIN_SLOTS << shift;
	size_t ssz = lfd_slot_size(c), pre = lfd_entry_prefix(d), i;
	size_t size;
	struct lfd_slab_block *b;
	char *base;

	if (sizeof(struct lfd_slab_block) + slots * ssz > LFD_SLAB_BLOCK_MAX)
		slots = (LFD_SLAB_BLOCK_MAX - sizeof(struct lfd_slab_block)) /
			ssz;
	size = sizeof(struct lfd_slab_block) + slots * ssz;
	b = lfd_mem_alloc_filled(d, size);
	if (b == NULL)
		return NULL;
	/* relaxed: as above.  Counted only once allocated, so that failed
	 * attempts under memory pressure do not make later blocks bigger. */
	lfd_a_fetch_add(&d->slab_nblocks, 1ul, memory_order_relaxed);
	b->size = size;
	/* On the list before any of its slots is on a stack: a trimmer that
	 * took a slot (acquire) finds its block in the list it detaches
	 * after (coherence), unless the block came after its detach. */
	lfd_blocks_push(d, b, b);
	base = (char *)(b + 1) + pre;
	/* i = 0 is the caller's: its link words are initialized too (the
	 * entry's stores to them are stores, not initializations). */
	for (i = 0; i < slots; i++) {
		struct lfd_entry *e = (struct lfd_entry *)(void *)(base + i * ssz);

		lfd_a_init(&e->ln.next, (uintptr_t)0);
		lfd_a_init(&e->value,
			   i > 0 && i + 1 < slots ? (void *)(base + (i + 1) * ssz)
						  : NULL);
		if (i > 0)
			lfd_slot_poison(d, e, c);
	}
	if (slots > 1)
		lfd_stack_push(top, (struct lfd_entry *)(void *)(base + ssz),
			       (struct lfd_entry *)(void *)(base +
							    (slots - 1) * ssz));
	return (struct lfd_entry *)(void *)base;
}

/* Out of memory: a free slot of class c on any stripe's stack, or NULL,
 * so that an insert fails only when the dictionary has no slot left --
 * but for handed-over items still in raw_chains while a waiter (lfd_barrier,
 * lfd_trim, fork) is announced: a refill backs off then, and the waiter's
 * drain frees them.  Only on the out-of-memory path, and only for the
 * wait's length. */
static struct lfd_entry *lfd_steal(struct lfd *d, int c)
{
	unsigned int i;

	for (i = 0; i < d->nstripes; i++) {
		struct lfd_entry *e = lfd_stack_pop(&d->stripes[i].slab[c]);

		/* relaxed: as in lfd_slab_alloc. */
		if (e == NULL && lfd_a_load(&d->raw_used, memory_order_relaxed))
			e = lfd_raw_alloc(d, &d->stripes[i], c);
		if (e != NULL)
			return e;
	}
	return NULL;
}

struct lfd_entry *lfd_slab_alloc(struct lfd *d, int c)
{
	struct lfd_stripe *s = lfd_my_stripe(d);
	struct lfd_entry *e = lfd_stack_pop(&s->slab[c]);

	/* relaxed: a hint -- a stale 0 only leaves handed-over items to the
	 * next allocation or the callback's drain (reclaim.c). */
	if (e == NULL && lfd_a_load(&d->raw_used, memory_order_relaxed))
		e = lfd_raw_alloc(d, s, c);
	if (e == NULL) {
		e = lfd_chains_pop(d, c);
		if (e != NULL) {
			uintptr_t rest = lfd_slot_next(e);

			if (rest != 0)
				lfd_stack_push(&s->slab[c], lfd_slot_entry(rest),
					       lfd_chain_tail(e));
		} else {
			e = lfd_block_new(d, c, &s->slab[c]);
			if (e == NULL)
				e = lfd_steal(d, c);
			if (e == NULL)
				return NULL;
		}
	}
	lfd_slot_unpoison(d, e, c);
	return e;
}

void lfd_slab_free(struct lfd *d, struct lfd_slab_batch *b,
		   struct lfd_entry *e, int c)
{
	struct lfd_entry *first = b->first[c];

	lfd_slot_set_next(e, (uintptr_t)first);
	if (first == NULL)
		b->last[c] = e;
	b->first[c] = e;
	lfd_slot_poison(d, e, c);
	if (++b->n[c] == LFD_SLAB_CHAIN)
		lfd_slab_flush(d, b);
}

void lfd_slab_flush(struct lfd *d, struct lfd_slab_batch *b)
{
	int c;

	for (c = 0; c < LFD_SLAB_CLASSES; c++) {
		struct lfd_entry *first = b->first[c];
		uintptr_t t;

		if (first == NULL)
			continue;
		lfd_chain_set_tail(first, b->last[c]);
		/* relaxed: only seeds the CAS loop. */
		t = lfd_a_load(&d->slab_chains[c], memory_order_relaxed);
		do
			/* relaxed: published by the CAS's release. */
			lfd_a_store(&first->ln.next, t, memory_order_relaxed);
		/* release: the chain's links and tail, to lfd_chains_pop's
		 * acquire. */
		while (!lfd_a_cas_weak(&d->slab_chains[c], &t, (uintptr_t)first,
				     memory_order_release,
				     memory_order_relaxed));
		b->first[c] = b->last[c] = NULL;
		b->n[c] = 0;
	}
}

void lfd_slab_init(struct lfd *d)
{
	int c;

	for (c = 0; c < LFD_SLAB_CLASSES; c++)
		lfd_a_init(&d->slab_chains[c], (uintptr_t)0);
	lfd_a_init(&d->raw_chains, (uintptr_t)0);
	lfd_a_init(&d->raw_off, 0);
	lfd_a_init(&d->raw_used, 0);
	lfd_a_init(&d->slab_blocks, (struct lfd_slab_block *)NULL);
	lfd_a_init(&d->slab_nblocks, 0ul);
	lfd_a_init(&d->slab_trimming, 0);
}

void lfd_slab_fini(struct lfd *d)
{
	/* relaxed: see lfd_block_new. */
	struct lfd_slab_block *b =
		lfd_a_load(&d->slab_blocks, memory_order_relaxed);

	while (b != NULL) {
		struct lfd_slab_block *next = b->next;

#ifdef LFD_ASAN
		ASAN_UNPOISON_MEMORY_REGION(b, b->size);
#endif
		lfd_mem_free(d, b, b->size);
		b = next;
	}
}

/* --- trim: blocks all of whose slots are free go back (see "Trim") --- */

/* A detached block in the trimmer's array, with the free slots of it the
 * trimmer took. */
struct lfd_trim_block {
	struct lfd_slab_block *b;
	struct lfd_entry *free; /* linked by value, as on a stack */
	size_t nfree, live;	/* live: its slots not in `free` */
	int c;			/* its class; -1 while no slot was found */
};

static int lfd_trim_by_addr(const void *x, const void *y)
{
	uintptr_t a = (uintptr_t)((const struct lfd_trim_block *)x)->b;
	uintptr_t b = (uintptr_t)((const struct lfd_trim_block *)y)->b;

	return a < b ? -1 : a > b;
}

/* Ascending live slots; ties by address, so that the order is total. */
static int lfd_trim_by_live(const void *x, const void *y)
{
	const struct lfd_trim_block *p = (const struct lfd_trim_block *)x;
	const struct lfd_trim_block *q = (const struct lfd_trim_block *)y;

	if (p->live != q->live)
		return p->live < q->live ? -1 : 1;
	return lfd_trim_by_addr(x, y);
}

/* The record of the detached block that slot e lies in, or NULL. */
static struct lfd_trim_block *lfd_trim_find(struct lfd_slab_trim *t,
					    const struct lfd_entry *e)
{
	uintptr_t a = (uintptr_t)e;
	size_t lo = 0, hi = t->n; /* the block is in [lo, hi) */

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uintptr_t b = (uintptr_t)t->blocks[mid].b;

		if (a < b)
			hi = mid;
		else if (a >= b + t->blocks[mid].b->size)
			lo = mid + 1;
		else
			return &t->blocks[mid];
	}
	return NULL;
}

/* Sort the free slots of one taken stripe stack or chain (w: its first
 * slot; lfd_slab_trim_take walks a chain stack's chains) into their
 * blocks' lists, or the strays' of class c.  The links rewritten are the
 * trimmer's own: a stale popper may read them, and its CAS then fails
 * (see "Trim", step 3). */
static void lfd_trim_sort_slots(struct lfd_slab_trim *t, uintptr_t w, int c)
{
	while (w != 0) {
		struct lfd_entry *e = lfd_slot_entry(w);
		struct lfd_trim_block *r = lfd_trim_find(t, e);

		w = lfd_slot_next(e);
		if (r != NULL) {
			r->c = c;
			r->nfree++;
			lfd_slot_set_next(e, (uintptr_t)r->free);
			r->free = e;
		} else {
			lfd_slot_set_next(e, (uintptr_t)t->stray[c]);
			t->stray[c] = e;
		}
	}
}

int lfd_slab_trim_take(struct lfd *d, struct lfd_slab_trim *t)
{
	struct lfd_slab_block *b, *list;
	size_t n = 0, i;
	unsigned int s;
	int c;

	memset(t, 0, sizeof(*t));
	/* acquire: pairs with lfd_blocks_push's release (the headers). */
	list = lfd_a_xchg(&d->slab_blocks, (struct lfd_slab_block *)NULL,
			  memory_order_acquire);
	for (b = list; b != NULL; b = b->next)
		n++;
	if (n == 0)
		return 0;
	t->blocks = (struct lfd_trim_block *)lfd_mem_alloc(
		d, n * sizeof(struct lfd_trim_block));
	if (t->blocks == NULL) {
		struct lfd_slab_block *last = list;

		while (last->next != NULL)
			last = last->next;
		lfd_blocks_push(d, list, last);
		return -ENOMEM;
	}
	t->n = n;
	for (i = 0, b = list; b != NULL; b = b->next, i++) {
		t->blocks[i].b = b;
		t->blocks[i].free = NULL;
		t->blocks[i].nfree = 0;
		t->blocks[i].live = 0; /* counted by lfd_slab_trim_finish */
		t->blocks[i].c = -1;
	}
	qsort(t->blocks, n, sizeof(struct lfd_trim_block), lfd_trim_by_addr);
	for (c = 0; c < LFD_SLAB_CLASSES; c++) {
		/* acquire on every exchange: pairs with the pushes' release
		 * (the slots' links, a chain's tail). */
		uintptr_t w = lfd_a_xchg(&d->slab_chains[c], (uintptr_t)0,
					 memory_order_acquire);

		while (w != 0) {
			/* relaxed: as lfd_chains_pop's read of the link. */
			uintptr_t next = lfd_a_load(
				&lfd_slot_entry(w)->ln.next, memory_order_relaxed);

			lfd_trim_sort_slots(t, w, c);
			w = next;
		}
		for (s = 0; s < d->nstripes; s++)
			lfd_trim_sort_slots(t,
					    lfd_a_xchg(&d->stripes[s].slab[c],
						       (uintptr_t)0,
						       memory_order_acquire),
					    c);
	}
	return 0;
}

/* Push the slots of list e (linked by value) back as chains (batch b). */
static void lfd_trim_give_back(struct lfd *d, struct lfd_slab_batch *b,
			       struct lfd_entry *e, int c)
{
	while (e != NULL) {
		struct lfd_entry *next = lfd_slot_entry(lfd_slot_next(e));

		lfd_slab_free(d, b, e, c);
		e = next;
	}
}

size_t lfd_slab_trim_finish(struct lfd *d, struct lfd_slab_trim *t)
{
	struct lfd_slab_block *kept = NULL, *last = NULL;
	struct lfd_slab_batch batch;
	size_t bytes = 0, i, k = 0;
	unsigned long nfreed = 0;
	int c;

	if (t->n == 0)
		return 0; /* no block: nothing was taken */
	memset(&batch, 0, sizeof(batch));
	/* Strays first: slots of blocks newer than the trim, which are the
	 * emptiest (see lfd_trim_give_back's order below). */
	for (c = 0; c < LFD_SLAB_CLASSES; c++)
		lfd_trim_give_back(d, &batch, t->stray[c], c);
	for (i = 0; i < t->n; i++) {
		struct lfd_trim_block *r = &t->blocks[i];
		struct lfd_slab_block *b = r->b;
		size_t slots = r->c < 0 ? 0
					: (b->size - sizeof(struct lfd_slab_block)) /
						  lfd_slot_size(r->c);

		if (r->c >= 0 && r->nfree == slots) {
			bytes += b->size;
			nfreed++;
#ifdef LFD_ASAN
			ASAN_UNPOISON_MEMORY_REGION(b, b->size);
#endif
			lfd_mem_free(d, b, b->size);
			continue;
		}
		b->next = kept;
		kept = b;
		if (last == NULL)
			last = b;
		if (r->c >= 0) {
			r->live = slots - r->nfree;
			t->blocks[k++] = *r;
		}
	}
	/* The kept blocks with free slots, fewest live entries first: each
	 * block's slots are prepended to the chain being built, and each
	 * full chain is pushed on top of the last, so the fullest blocks'
	 * slots come off the stacks first. */
	qsort(t->blocks, k, sizeof(struct lfd_trim_block), lfd_trim_by_live);
	for (i = 0; i < k; i++)
		lfd_trim_give_back(d, &batch, t->blocks[i].free,
				   t->blocks[i].c);
	lfd_slab_flush(d, &batch);
	if (kept != NULL)
		lfd_blocks_push(d, kept, last);
	/* relaxed: the sizing heuristic of lfd_block_new. */
	lfd_a_fetch_add(&d->slab_nblocks, -nfreed, memory_order_relaxed);
	lfd_mem_free(d, t->blocks, t->n * sizeof(struct lfd_trim_block));
	t->blocks = NULL;
	return bytes;
}

/* --- entry memory: a slab slot, or the allocator for a big entry --- */

/* Caller holds a read-side section of d's flavour (the ABA argument
 * above). */
struct lfd_entry *lfd_entry_alloc(struct lfd *d, uint32_t klen)
{
	size_t pre = lfd_entry_prefix(d);
	int c = lfd_slab_class(d, klen);
	char *p;

	if (c >= 0)
		return lfd_slab_alloc(d, c);
	p = lfd_mem_alloc(d, lfd_entry_size(d, klen));
	/* The allocator's alignment is at least the pointer's: so is the
	 * entry's, whose members are pointer-sized or smaller. */
	return p ? (struct lfd_entry *)(void *)(p + pre) : NULL;
}

/* An entry too big for the slab: back to the allocator. */
static void lfd_entry_free_big(struct lfd *d, struct lfd_entry *e)
{
	lfd_mem_free(d, (char *)e - lfd_entry_prefix(d),
		     lfd_entry_size(d, e->ln.klen));
}

/* Free e now: a slab slot joins batch b, anything else goes back to the
 * allocator. */
void lfd_entry_free(struct lfd *d, struct lfd_entry *e,
		    struct lfd_slab_batch *b)
{
	int c = lfd_slab_class(d, e->ln.klen);

	if (c >= 0)
		lfd_slab_free(d, b, e, c);
	else
		lfd_entry_free_big(d, e);
}

/* Free e now unless it is a slab slot: lfd_destroy's entries still in the
 * list (slab slots go with their blocks, lfd_slab_fini), and a big entry
 * that was never linked (lfd_entry_discard, reclaim.c). */
void lfd_entry_drop(struct lfd *d, struct lfd_entry *e)
{
	if (lfd_slab_class(d, e->ln.klen) < 0)
		lfd_entry_free_big(d, e);
}
