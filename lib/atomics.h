/*
 * atomics.h - the thin layer between lfdict's core and <stdatomic.h>, which
 * is all it uses (the bottom layer of lib/, with internal.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * Every atomic access in lib/ goes through these macros, and every memory
 * order the algorithm relies on is named here as a *site*, so that
 *  - a C++ model-checker harness can map LFD_ATOMIC/lfd_a_load/... onto its own
 *    atomics while the library stays plain C11, and
 *  - a build can weaken one site at a time (-DLFD_MO_<SITE>=memory_order_x)
 *    to show which check catches the weakening.
 * Each site's comment says what it pairs with, or why relaxed is enough.
 */
#ifndef LFD_ATOMICS_H
#define LFD_ATOMICS_H

#ifndef LFD_ATOMICS_CUSTOM
#include <stdatomic.h>

#define LFD_ATOMIC(T) _Atomic(T)
#define lfd_a_init(p, v) atomic_init((p), (v))
#define lfd_a_load(p, mo) atomic_load_explicit((p), (mo))
#define lfd_a_store(p, v, mo) atomic_store_explicit((p), (v), (mo))
#define lfd_a_xchg(p, v, mo) atomic_exchange_explicit((p), (v), (mo))
#define lfd_a_fetch_add(p, v, mo) atomic_fetch_add_explicit((p), (v), (mo))
#define lfd_a_cas(p, expp, des, mos, mof) \
	atomic_compare_exchange_strong_explicit((p), (expp), (des), (mos), (mof))
#define lfd_a_cas_weak(p, expp, des, mos, mof) \
	atomic_compare_exchange_weak_explicit((p), (expp), (des), (mos), (mof))
#endif

/*
 * --- Sites of the split-ordered list (lib/solist.c) ---
 *
 * LINK_LOAD: every load of a node's `next` during a traversal.
 *   acquire: pairs with the release of LINK_CAS (and UNLINK_CAS), so that the
 *   fields of the node it points to (so_key, klen, key bytes, initial value)
 *   are visible before they are read.
 *   seq_cst: a lookup that finds no key is linearized at one of these loads,
 *   and lfdict promises that every linearizing access is seq_cst (one total
 *   order for all calls: store-buffering between an insert and a later
 *   lookup of another key is forbidden).  On x86 a seq_cst load is a plain
 *   mov, so the choice costs nothing there (doc/memory-model.md).
 */
#ifndef LFD_MO_LINK_LOAD
#define LFD_MO_LINK_LOAD memory_order_seq_cst
#endif
/*
 * LINK_CAS: the CAS on prev->next that links a new entry or bucket node.
 *   release: publishes the new node's fields, and everything the inserting
 *   thread wrote before the call (the value's pointee), to LINK_LOAD.
 *   seq_cst: it is the linearization point of a successful insert/set.
 *   On failure nothing read is used (the caller searches again): relaxed.
 */
#ifndef LFD_MO_LINK_CAS
#define LFD_MO_LINK_CAS memory_order_seq_cst
#endif
/*
 * UNLINK_CAS: the CAS on prev->next that skips a marked node.
 *   release: the successor pointer it installs was obtained by an acquire
 *   (LINK_LOAD) of the marked node's next; the release passes that
 *   happens-before on to the next LINK_LOAD of prev->next, so readers of the
 *   new link see the successor's fields.  Not a linearization point.
 *   On failure: relaxed (the traversal restarts).
 */
#ifndef LFD_MO_UNLINK_CAS
#define LFD_MO_UNLINK_CAS memory_order_release
#endif
/*
 * MARK_CAS: setting the mark bit on a node's next (logical removal from the
 *   list, after the value slot became the tombstone or, for a bucket node,
 *   after a shrink).  release: the mark tells whoever sees it that the
 *   entry was popped, and that thread may act on it (unlink the entry, link
 *   a new entry of the key, answer -ENOENT to a third thread through its
 *   unlink); the release makes the tombstone CAS (and everything before the
 *   pop) happen-before those actions, which the promised sequential
 *   consistency needs under C11 (with relaxed, a thread that saw only the
 *   mark would not happen-after the pop).  Pairs with LINK_LOAD.  Free on
 *   x86 (the CAS is a locked instruction either way).
 */
#ifndef LFD_MO_MARK_CAS
#define LFD_MO_MARK_CAS memory_order_release
#endif
/*
 * --- Sites of the value slot (lib/dict.c) ---
 *
 * VALUE_LOAD: the load of an entry's value slot by get/insert/cas/... .
 *   acquire: pairs with the release of VALUE_CAS or LINK_CAS that stored the
 *   value, so the pointee is seen as the storing thread initialized it.
 *   seq_cst: it is the linearization point of get (found), of insert's
 *   -EEXIST and of the -ENOENT of calls that found a tombstone.
 */
#ifndef LFD_MO_VALUE_LOAD
#define LFD_MO_VALUE_LOAD memory_order_seq_cst
#endif
/*
 * VALUE_CAS: the compare-exchange on the value slot (set's replace, replace,
 *   cas, pop, pop_if).  seq_cst on success: release publishes the new value's
 *   pointee; acquire gives the caller the old value's pointee; it is the
 *   linearization point.  seq_cst on failure: a failed cas/pop_if is
 *   linearized at this read (-EAGAIN), and the value it returns must be
 *   acquired like any other returned value.
 */
#ifndef LFD_MO_VALUE_CAS
#define LFD_MO_VALUE_CAS memory_order_seq_cst
#endif
/* VALUE_CAS_FAIL: acquire would do (a failed CAS follows a seq_cst
 * VALUE_LOAD of the same slot, so it reads a newer value); seq_cst keeps
 * "every linearizing access is seq_cst" literally true (doc/memory-model.md). */
#ifndef LFD_MO_VALUE_CAS_FAIL
#define LFD_MO_VALUE_CAS_FAIL memory_order_seq_cst
#endif
/*
 * --- Sites of the bucket index (lib/buckets.c) ---
 *
 * SIZE_STORE / SIZE_LOAD: the published log2 of the bucket count.  A grow
 *   stores its segment pointer, with every new node pending, before it
 *   stores the new size with release; operations acquire the size, so a
 *   bucket they compute is always present, linked or pending (they then
 *   start from its parent).  (A shrink publishes the smaller size first
 *   and removes bucket nodes only after a grace period, so ordering there
 *   comes from RCU, not from this pair.)
 */
#ifndef LFD_MO_SIZE_STORE
#define LFD_MO_SIZE_STORE memory_order_release
#endif
#ifndef LFD_MO_SIZE_LOAD
#define LFD_MO_SIZE_LOAD memory_order_acquire
#endif
/*
 * SEG_STORE / SEG_LOAD: a segment pointer.  Stored with release before the
 *   segment's bucket nodes are linked; loaded with acquire.  Stronger than
 *   needed on purpose: the SIZE pair already orders it for operations and
 *   seg[0] never changes after lfd_new (the weakening table in
 *   doc/memory-model.md shows relaxed passes every check); kept so that a
 *   future reader of seg[] without the size is safe, and free on x86.
 */
#ifndef LFD_MO_SEG_STORE
#define LFD_MO_SEG_STORE memory_order_release
#endif
#ifndef LFD_MO_SEG_LOAD
#define LFD_MO_SEG_LOAD memory_order_acquire
#endif

/*
 * CLEAR_CAS: the CAS that clears LFD_PENDING from a bucket node's next word
 *   after the node was linked (by its linker, lfd_list_insert_bucket, or by
 *   a walker that reached it, lfd_list_find).  release: an operation that
 *   starts from the node reads the cleared word with LINK_LOAD and must
 *   acquire the node its successor link leads to, which the linker (or
 *   walker) acquired when it read that link.
 * CLAIM_CAS: a claim of a grow's chunk (grow_claim).  acquire: pairs with
 *   the release store that opened the chunks, so the claimer's increment
 *   of grow_done comes after that grow's reset of it.
 * DONE_ADD: the increment of grow_done after a chunk is linked.  acq_rel:
 *   each releases its chunk's links; the one that completes the count
 *   acquires every other's, and goes on with the run (the next grow links
 *   after these nodes, a shrink unlinks them).
 */
#ifndef LFD_MO_CLEAR_CAS
#define LFD_MO_CLEAR_CAS memory_order_release
#endif
#ifndef LFD_MO_CLAIM_CAS
#define LFD_MO_CLAIM_CAS memory_order_acquire
#endif
#ifndef LFD_MO_DONE_ADD
#define LFD_MO_DONE_ADD memory_order_acq_rel
#endif

/*
 * --- Sites of the handed-over chains (lib/slab.c, "Handed-over chains") ---
 *
 * RAW_PUSH_CAS: the CAS that pushes a list of chains onto raw_chains (a
 *   hand-over, a refill giving back what it did not place, a drain's
 *   rest).  release: publishes the chains' link words and the heads'
 *   value words (the list links) to RAW_TAKE_XCHG.  seq_cst: the
 *   store-buffering pair of lfd_retire_schedule (reclaim.c): a hand-over
 *   pushes, then its caller loads retire_busy; the callback clears
 *   retire_busy, then loads raw_chains -- one of them sees the other.
 * RAW_TAKE_XCHG: the exchanges that take raw_chains whole (a refill, a
 *   drain) or a stripe's raw stack (a drain).  acquire: pairs with
 *   RAW_PUSH_CAS or RAW_PLACE_CAS, so the taker reads the links it walks.
 * RAW_PLACE_CAS: a refill's CAS that installs a chain as a stripe's raw
 *   stack.  release: the chain's links, to the poppers (RAW_POP_LOAD,
 *   RAW_POP_CAS) and a drain (RAW_TAKE_XCHG).  seq_cst: the store-buffering
 *   pair of the refill (place, then load retire_busy) and the callback (as
 *   above, but its lfd_any_raw loads the stripes' raw words).
 * RAW_POP_LOAD, RAW_POP_CAS: a pop of a stripe's raw stack (lfd_raw_pop;
 *   the CAS's success and failure orders).  acquire: pairs with
 *   RAW_PLACE_CAS (and with a successful pop's CAS, whose read-modify-write
 *   continues the release sequence), so the popper reads the link of the
 *   top it saw, and the item's klen, written before it was linked.
 */
#ifndef LFD_MO_RAW_PUSH_CAS
#define LFD_MO_RAW_PUSH_CAS memory_order_seq_cst
#endif
#ifndef LFD_MO_RAW_TAKE_XCHG
#define LFD_MO_RAW_TAKE_XCHG memory_order_acquire
#endif
#ifndef LFD_MO_RAW_PLACE_CAS
#define LFD_MO_RAW_PLACE_CAS memory_order_seq_cst
#endif
#ifndef LFD_MO_RAW_POP_LOAD
#define LFD_MO_RAW_POP_LOAD memory_order_acquire
#endif
#ifndef LFD_MO_RAW_POP_CAS
#define LFD_MO_RAW_POP_CAS memory_order_acquire
#endif

#endif /* LFD_ATOMICS_H */
