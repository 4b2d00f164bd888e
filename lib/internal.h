/*
 * internal.h - lfdict's private types, shared by the files of lib/.
 * Never installed.  See the design comment at the top of lib/dict.c.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_INTERNAL_H
#define LFD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <urcu/call-rcu.h>
#include <urcu/flavor.h>

#include "lfdict.h"
#include "atomics.h"

#define LFD_HIDDEN __attribute__((visibility("hidden")))
#define LFD_CACHELINE 64

/* The struct of type T whose member m is at address p (through void *:
 * the member's address is as aligned as T is). */
#define LFD_CONTAINER_OF(p, T, m) ((T *)(void *)((char *)(p) - offsetof(T, m)))

/* The low bit of a `next` word marks its node as removed from the list. */
#define LFD_MARK ((uintptr_t)1)
/* Bit 1 of a marked `next` word: the node was unlinked and retired, and the
 * word now links the retire stack (reclaim.c), not the list.  A walker that
 * loads such a word starts its walk again (solist.c). */
#define LFD_RETIRED ((uintptr_t)2)
#define LFD_LINK_TAGS (LFD_MARK | LFD_RETIRED)
/* Bit 1 without bit 0: LFD_PENDING, the next word of a bucket node that a
 * grow has not finished linking (buckets.c).  The index publishes a grown
 * size before linking the new bucket nodes; an operation whose bucket node
 * is still pending starts from the node's parent, which sorts before it
 * and is linked (lfd_bucket_for).  The node's linker stores its successor
 * with the tag before linking it and clears the tag after; a walker that
 * reaches the node through a link knows it is linked and clears the tag
 * itself if the linker has not yet (solist.c), so no CAS on the word waits
 * for the linker. */
#define LFD_PENDING LFD_RETIRED
/*
 * Bit 2 of a `next` word: its successor is a bucket node, and the word
 * holds that node's split-order key k, not its address:
 * (k << LFD_BLINK_SHIFT) | LFD_TO_BUCKET (lfd_blink).  A walker learns a
 * bucket node's order without touching the node, and finds the node from
 * k (lfd_bucket_at), so the node needs no field but `next`.
 * Otherwise the successor is an entry, whose address has bits 0-2 clear
 * (entries are 8-byte aligned, see lfd_entry), or 0: the end of the list.
 *
 * A "link" below is a successor without the word's own tags: 0, an entry's
 * address, or lfd_blink(k).  Every CAS on a next word compares links,
 * except the two that clear LFD_PENDING (solist.c), which compare
 * link | LFD_PENDING.
 */
#define LFD_TO_BUCKET ((uintptr_t)4)

/* A bucket index of 2^31 buckets needs segments 0..31.  A bucket key k
 * (32 bits) at 2^log buckets has 32 - log trailing zeros.  A link holds
 * k << 3 in a 64-bit word; a 32-bit word holds k itself, whose bits 0-2 are
 * clear while log <= 29: there the index stops at 2^28 buckets
 * (LFD_BUCKETS_MAX is a bound, the platform's may be lower). */
#define LFD_NSEG 32
#if UINTPTR_MAX > 0xffffffffu
#define LFD_MAX_LOG 31
#define LFD_BLINK_SHIFT 3
#else
#define LFD_MAX_LOG 28
#define LFD_BLINK_SHIFT 0
#endif

/*
 * A bucket node: its next word, nothing else (one word).  Its split-order
 * key k is even (lfd_bucket_key); links to it carry k.  It lives
 * in its segment of the bucket index (buckets.c) for as long as the
 * segment does.
 */
struct lfd_bnode {
	/* successor link | LFD_MARK (shrink), or | LFD_PENDING (grow) */
	LFD_ATOMIC(uintptr_t) next;
};

/*
 * An entry's list head.  so_key (odd: lfd_so_entry) and klen are written
 * before the entry is linked and never change while it is.
 */
struct lfd_lnode {
	/* successor | LFD_MARK; once unlinked and retired, an entry's next
	 * word is its retire-stack link | LFD_MARK | LFD_RETIRED */
	LFD_ATOMIC(uintptr_t) next;
	uint32_t so_key; /* split-order key: folded hash | 1 */
	uint32_t klen;	 /* key length */
};

/*
 * Something waiting for a grace period before it is freed: an entry, or a
 * deferred-destructor record for a value that left its slot, or a marker.
 * The retire stack links them through their first word (an entry's `next`)
 * and a stack item is that word's address, untagged.  A link word holds the
 * next item's address | LFD_MARK | LFD_RETIRED.  What an item is, the word
 * after the link tells: an entry's so_key is odd, a record's or a marker's
 * `kind` is even (the layouts are checked in reclaim.c).
 */
struct lfd_retired {
	LFD_ATOMIC(uintptr_t) link;
	uint32_t kind; /* LFD_KIND_RECORD or LFD_KIND_MARKER */
	void *value;
};
#define LFD_KIND_RECORD 0u
/* A marker pushed by lfd_reclaim_wait: the batch that takes it has taken
 * everything pushed before it; its callback sets `done`. */
#define LFD_KIND_MARKER 2u
struct lfd_marker {
	struct lfd_retired r;
	LFD_ATOMIC(int) done;
};

/*
 * An entry: a key and the value slot that carries its state.  24 bytes and
 * the key (32 for an 8-byte key: a 32-byte slab slot, slab.c).  No word of
 * its own links it into the retire stack: its `next` word does, once it is
 * unlinked (struct lfd_lnode).  A dictionary with a value destructor
 * allocates each entry with a word before it, the popped slot
 * (lfd_entry_popped), where pop leaves the value for the destructor;
 * without one, nothing needs it and no entry pays for it.
 */
struct lfd_entry {
	struct lfd_lnode ln;
	/* A user value, or LFD_TOMBSTONE once popped (terminal). */
	LFD_ATOMIC(void *) value;
	unsigned char key[];
};

/* Entries start at multiples of LFD_ENTRY_ALIGN bytes, so LFD_TO_BUCKET
 * (bit 2) is clear in every entry's address: slab slots are multiples of it
 * after a header that is one (slab.c), big entries come from allocations
 * aligned for any type, and the popped word before an entry takes a whole
 * LFD_ENTRY_ALIGN (lfd_entry_prefix). */
#define LFD_ENTRY_ALIGN 8u
#ifndef __cplusplus
_Static_assert(_Alignof(max_align_t) >= LFD_ENTRY_ALIGN &&
		       sizeof(struct lfd_entry) % LFD_ENTRY_ALIGN == 0 &&
		       sizeof(void *) <= LFD_ENTRY_ALIGN &&
		       sizeof(struct lfd_bnode) == sizeof(uintptr_t),
	       "entry addresses keep bit 2 clear; a bucket node is one word");
#endif

/* The tombstone: an address no caller can hold (internal, not exported). */
LFD_HIDDEN extern const unsigned char lfd_tombstone_byte;
#define LFD_TOMBSTONE ((void *)&lfd_tombstone_byte)

/* Entries whose key and popped word take at most LFD_SLAB_EXTRA bytes come
 * from slab slots of one of LFD_SLAB_CLASSES sizes: the 24-byte entry head
 * plus 0, 8, .. 32 bytes (slab.c). */
#define LFD_SLAB_EXTRA 32u
#define LFD_SLAB_CLASSES 5

/* One stripe of the split entry counter and of the slab's free slots, alone
 * on its cache line. */
struct lfd_stripe {
	LFD_ATOMIC(long) n;
	/* retired items pushed minus items freed, by the stripe's threads */
	LFD_ATOMIC(long) backlog;
	/* free slab slots per class, for this stripe's threads (slab.c) */
	LFD_ATOMIC(uintptr_t) slab[LFD_SLAB_CLASSES];
	char pad[LFD_CACHELINE - 2 * sizeof(long) -
		 LFD_SLAB_CLASSES * sizeof(uintptr_t)];
};

struct lfd_slab_block;

/* Ready slots per dictionary (reclaim.c). */
#define LFD_READY_SLOTS 16u

struct lfd {
	/* --- read-mostly, set at creation --- */
	const struct rcu_flavor_struct *flavor;
	uint64_t (*hash)(const void *key, size_t len, void *arg);
	void *hash_arg;
	uint64_t seed[2];
	void (*value_free)(void *value, void *arg);
	void *value_free_arg;
	void *(*alloc)(size_t size, void *arg);
	void (*free)(void *ptr, size_t size, void *arg);
	void *alloc_arg;
	unsigned int flags;
	unsigned int min_log, max_log;
	unsigned int nstripes; /* a power of two */
	struct lfd_stripe *stripes;
	void *stripes_raw;
	size_t stripes_raw_size;

	/* --- the bucket index --- */
	LFD_ATOMIC(unsigned int) size_log;
	LFD_ATOMIC(struct lfd_bnode *) seg[LFD_NSEG];

	/* --- resize pipeline (one run at a time; see buckets.c) --- */
	LFD_ATOMIC(int) resize_busy;
	LFD_ATOMIC(unsigned long) resize_runs; /* completed runs */
	LFD_ATOMIC(int) resize_oom; /* the last run stopped on ENOMEM */
	LFD_ATOMIC(int) destroying;
	unsigned int shrink_log; /* owned by the running resize */
	LFD_ATOMIC(uint64_t) grows, shrinks;
	struct rcu_head resize_head;
	/* a grow's open chunks: i << LFD_CLAIM_SHIFT | next chunk to claim,
	 * while segment i is being linked (buckets.c, lfd_grow_work) */
	LFD_ATOMIC(uint32_t) grow_claim;
	LFD_ATOMIC(uint32_t) grow_done; /* chunks of that grow linked */

	/* --- reclaim pipeline (one batch in flight; see reclaim.c) --- */
	LFD_ATOMIC(uintptr_t) retire_pending;
	uintptr_t retire_inflight; /* owned by the batch in flight */
	LFD_ATOMIC(int) retire_busy;
	struct rcu_head retire_head;
	/* chains past their grace period, freed by helpers and callbacks */
	LFD_ATOMIC(uintptr_t) ready[LFD_READY_SLOTS];
	LFD_ATOMIC(int) ready_count; /* >= slots in use (a put counts first) */
	LFD_ATOMIC(int) reclaim_helpers; /* helpers that may hold a chain */
	LFD_ATOMIC(int) reclaim_waiters; /* in lfd_reclaim_wait */
	LFD_ATOMIC(unsigned long) help_taken; /* chains helpers took */
	unsigned long help_taken_seen; /* owned by the callback chain */
	LFD_ATOMIC(int) throttle; /* pause in ms; 0: backlog under its bound */
	LFD_ATOMIC(uint64_t) throttled; /* updates that slept for it */

	/* --- slab (see slab.c); off the throttle's cache line, which every
	 * retiring update reads --- */
	char slab_pad[LFD_CACHELINE];
	LFD_ATOMIC(uintptr_t) slab_chains[LFD_SLAB_CLASSES]; /* freed chains */
	LFD_ATOMIC(struct lfd_slab_block *) slab_blocks; /* freed at destroy */
	LFD_ATOMIC(unsigned long) slab_nblocks;
};

/* The successor link of a next word (its node's own tags dropped). */
static inline uintptr_t lfd_succ(uintptr_t w)
{
	return w & ~LFD_LINK_TAGS;
}

/* The link to the bucket node of split-order key k. */
static inline uintptr_t lfd_blink(uint32_t k)
{
	return ((uintptr_t)k << LFD_BLINK_SHIFT) | LFD_TO_BUCKET;
}

/* A next word of an unlinked and retired entry (a retire-stack link). */
static inline bool lfd_is_retired(uintptr_t w)
{
	return (w & LFD_LINK_TAGS) == LFD_LINK_TAGS;
}

/* A next word of a bucket node whose link is not finished. */
static inline bool lfd_is_pending(uintptr_t w)
{
	return (w & LFD_LINK_TAGS) == LFD_PENDING;
}

static inline bool lfd_is_blink(uintptr_t l)
{
	return (l & LFD_TO_BUCKET) != 0;
}

/* The split-order key of the bucket node a link leads to (the mask drops
 * LFD_TO_BUCKET where the shift does not: 32-bit words). */
static inline uint32_t lfd_blink_key(uintptr_t l)
{
	return (uint32_t)((l & ~(LFD_LINK_TAGS | LFD_TO_BUCKET)) >>
			  LFD_BLINK_SHIFT);
}

/* The link to an entry, and back (ln is the entry's first member). */
static inline uintptr_t lfd_elink(struct lfd_entry *e)
{
	return (uintptr_t)e;
}

static inline struct lfd_entry *lfd_link_entry(uintptr_t l)
{
	return (struct lfd_entry *)l;
}

/*
 * The split order.  A hash h is folded to 32 bits by Fibonacci hashing
 * (Knuth, TAOCP vol. 3, 6.4): the top half of h times 2^64/phi, so every
 * bit of h reaches the top bits of the fold.  The list is sorted by the
 * fold itself, not by its bit reversal as in Shalev and Shavit's paper: at
 * 2^log buckets, an entry's bucket is the fold's top log bits, and a
 * bucket node's key is those bits followed by zeros, so the node sorts
 * just before its entries, as in the paper.  Doubling splits each bucket
 * in two at the midpoint of its range of keys; the new node's key is the
 * old one with the next bit set.  The same order as the paper's on
 * rev32(fold): no reversal on any path (it cost a get about 17 of its
 * instructions, doc/performance.md).
 */
#define LFD_FOLD_MUL UINT64_C(0x9e3779b97f4a7c15)

/* Split-order key of an entry whose hash is h: odd. */
static inline uint32_t lfd_so_entry(uint64_t h)
{
	return (uint32_t)((h * LFD_FOLD_MUL) >> 32) | 1u;
}

/* The key of the bucket node that entries of split-order key so start
 * from at 2^log buckets (log <= LFD_MAX_LOG < 32): so's top log bits.
 * Even. */
static inline uint32_t lfd_bucket_key(uint32_t so, unsigned int log)
{
	return so & ~(UINT32_MAX >> log);
}

/* The parent of bucket node k (k != 0): the node it was split from, k
 * without its lowest set bit; it sorts before k. */
static inline uint32_t lfd_bucket_parent(uint32_t k)
{
	return k & (k - 1u);
}

/* The key of the node at offset j of segment i (i >= 1; segment 0 holds
 * node 0): the odd number 2j + 1 in the top i bits.  lfd_bucket_at
 * inverts it. */
static inline uint32_t lfd_seg_key(unsigned int i, uint32_t j)
{
	return (2u * j + 1u) << (32u - i);
}

/* --- hash.c --- */
LFD_HIDDEN void lfd_seed_init(uint64_t seed[2]);
LFD_HIDDEN uint64_t lfd_siphash13(const uint64_t key[2], const void *data,
				  size_t len);
LFD_HIDDEN uint64_t lfd_siphash24(const uint64_t key[2], const void *data,
				  size_t len);

/* Bytes allocated before an entry: the popped word (see lfd_entry), in
 * LFD_ENTRY_ALIGN bytes to keep the entry aligned (4 of them unused where
 * pointers are 4 bytes). */
static inline size_t lfd_entry_prefix(const struct lfd *d)
{
	return d->value_free ? LFD_ENTRY_ALIGN : 0;
}

/* --- slab.c --- */
/* Entries freed by one thread in one go, per class: pushed as chains. */
struct lfd_slab_batch {
	struct lfd_entry *first[LFD_SLAB_CLASSES], *last[LFD_SLAB_CLASSES];
	unsigned int n[LFD_SLAB_CLASSES];
};

/* An entry's bytes with its popped word. */
static inline size_t lfd_entry_size(const struct lfd *d, uint32_t klen)
{
	return lfd_entry_prefix(d) + sizeof(struct lfd_entry) + klen;
}

/* The slab class of an entry with a key of klen bytes, or -1: too big for
 * the slab.  Class c's slots are the entry head and 8c bytes of popped word
 * and key.  (Relative to the head's size, which is 24 bytes in the library
 * and bigger in the model checker's build, tests/litmus/mc_relacy.cpp.)
 * Inline: on every entry allocation and free. */
static inline int lfd_slab_class(const struct lfd *d, uint32_t klen)
{
	size_t extra;

	if (klen > LFD_SLAB_EXTRA)
		return -1;
	extra = (lfd_entry_prefix(d) + klen + 7u) & ~(size_t)7u;
	return extra > LFD_SLAB_EXTRA ? -1 : (int)(extra / 8u);
}
LFD_HIDDEN struct lfd_entry *lfd_slab_alloc(struct lfd *d, int c);
LFD_HIDDEN void lfd_slab_free(struct lfd *d, struct lfd_slab_batch *b,
			      struct lfd_entry *e, int c);
LFD_HIDDEN void lfd_slab_flush(struct lfd *d, struct lfd_slab_batch *b);
LFD_HIDDEN void lfd_slab_init(struct lfd *d);
LFD_HIDDEN void lfd_slab_fini(struct lfd *d);

/* --- reclaim.c: memory and RCU --- */
LFD_HIDDEN void *lfd_mem_alloc(struct lfd *d, size_t size);
LFD_HIDDEN void lfd_mem_free(struct lfd *d, void *p, size_t size);
LFD_HIDDEN void lfd_retire_entry(struct lfd *d, struct lfd_entry *e,
				 void *popped);
LFD_HIDDEN struct lfd_entry *lfd_entry_alloc(struct lfd *d, uint32_t klen);
LFD_HIDDEN void lfd_entry_discard(struct lfd *d, struct lfd_entry *e);
LFD_HIDDEN void lfd_entry_drop(struct lfd *d, struct lfd_entry *e);
LFD_HIDDEN struct lfd_retired *lfd_record_alloc(struct lfd *d);
LFD_HIDDEN void lfd_record_retire(struct lfd *d, struct lfd_retired *r,
				  void *value);
LFD_HIDDEN void lfd_record_free(struct lfd *d, struct lfd_retired *r);
LFD_HIDDEN void lfd_reclaim_wait(struct lfd *d);
LFD_HIDDEN void lfd_reclaim_help(struct lfd *d);
LFD_HIDDEN void lfd_reclaim_unlocked(struct lfd *d);
LFD_HIDDEN bool lfd_reclaim_in_destructor(void);
LFD_HIDDEN bool lfd_reclaim_idle(struct lfd *d);

/* --- count.c: split counters --- */
LFD_HIDDEN int lfd_count_init(struct lfd *d);
LFD_HIDDEN void lfd_count_fini(struct lfd *d);
LFD_HIDDEN void lfd_count_update(struct lfd *d, long delta);
LFD_HIDDEN size_t lfd_count_sum(struct lfd *d);
LFD_HIDDEN unsigned int lfd_my_thread_no(void);
LFD_HIDDEN void lfd_backlog_add(struct lfd *d, long delta);
LFD_HIDDEN size_t lfd_backlog_sum(struct lfd *d);

/* --- solist.c: the split-ordered list --- */
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

/* --- buckets.c: the segmented bucket index and resizing --- */
LFD_HIDDEN int lfd_buckets_init(struct lfd *d, unsigned int log);
LFD_HIDDEN void lfd_buckets_fini(struct lfd *d);
LFD_HIDDEN void lfd_resize_check(struct lfd *d);
LFD_HIDDEN bool lfd_grow_help(struct lfd *d);
LFD_HIDDEN void lfd_resize_wait(struct lfd *d);
LFD_HIDDEN unsigned int lfd_log_for(size_t entries);

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

/* The next word of the bucket node an operation on a key of split-order
 * key so starts from: its bucket's, or, while a grow has not linked that
 * node yet (LFD_PENDING), its nearest linked ancestor's (lfd_bucket_parent,
 * and so on; node 0 is always linked).  The walk from an ancestor passes
 * the key's own bucket node if it is linked by then. */
static inline LFD_ATOMIC(uintptr_t) *lfd_bucket_for(struct lfd *d,
						      uint32_t so,
						      uintptr_t *first)
{
	/* SIZE_LOAD: acquire, pairs with SIZE_STORE in lfd_grow_open: every
	 * bucket node below the size we read is in its published segment,
	 * linked or pending. */
	unsigned int log = lfd_a_load(&d->size_log, LFD_MO_SIZE_LOAD);
	uint32_t k = lfd_bucket_key(so, log);
	LFD_ATOMIC(uintptr_t) *s = &lfd_bucket_at(d, k)->next;
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
#endif
	*first = w;
	return s;
}

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

#endif /* LFD_INTERNAL_H */
