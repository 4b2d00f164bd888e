/*
 * internal.h - lfdict's private types, shared by the files of lib/: the
 * dictionary, its nodes and entries, the link encoding, the split order's
 * arithmetic.  Types and pure inline arithmetic only: each layer's calls
 * are declared in its own header (base.h, count.h, ..., the layers: the
 * design comment at the top of lib/dict.c).  Uses atomics.h and the
 * public lfdict.h.  Never installed.
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

/* The most stripes a dictionary has (count.c: twice the CPUs, at most
 * this). */
#define LFD_MAX_STRIPES 64u

/* One stripe of the split entry counter, of the slab's free slots and of
 * the retire stack: what the updates running on one CPU (or, without
 * rseq, one thread's updates: base.h, lfd_my_stripe) write, alone on its
 * first cache line; the second line keeps the next stripe's writers (and
 * the adjacent-line prefetch) off it, and holds `raw`, which the same
 * threads write (others only when they steal or drain). */
struct lfd_stripe {
	LFD_ATOMIC(long) n;
	/* retired items pushed minus items freed, by the stripe's threads */
	LFD_ATOMIC(long) backlog;
	/* free slab slots per class, for this stripe's threads (slab.c) */
	LFD_ATOMIC(uintptr_t) slab[LFD_SLAB_CLASSES];
	/* items the stripe's threads retired, not yet in a batch: a
	 * lock-free stack (reclaim.c) */
	LFD_ATOMIC(uintptr_t) retire;
	/* what the batch in flight took from `retire`; owned by that batch
	 * (written when it is taken, read by its callback) */
	uintptr_t inflight;
	/* retired items past their grace period, handed over unfreed, that
	 * this stripe's allocations take one by one (slab.c, "Handed-over
	 * chains") */
	LFD_ATOMIC(uintptr_t) raw;
	char pad[2 * LFD_CACHELINE - 2 * sizeof(long) -
		 (LFD_SLAB_CLASSES + 3) * sizeof(uintptr_t)];
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
	uint64_t sip13[4]; /* SipHash-1-3 keyed by seed, prepared (hash.h) */
	/* AES-128 round keys under a second random key, for keys of up to 15
	 * bytes where the CPU has AES instructions (hash.h); aes_short says
	 * whether they are in use */
	unsigned char aes_rk[11][16];
	int aes_short;
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
	/* The fork gate (fork.c, base.h): 2 per thread inside a window that a
	 * fork must not cut; LFD_GATE_CLOSED while a fork is prepared.  A
	 * line's worth of padding on each side (the dictionary itself may be
	 * only malloc-aligned): every thread entering a window writes it. */
	char gate_pad0[LFD_CACHELINE];
	LFD_ATOMIC(unsigned int) fork_gate;
	char gate_pad1[LFD_CACHELINE];
	/* the registry of live dictionaries (fork.c), under its mutex */
	struct lfd *fork_prev, *fork_next;
	unsigned int shrink_log; /* owned by the running resize */
	LFD_ATOMIC(uint64_t) grows, shrinks;
	struct rcu_head resize_head;
	/* a grow's open chunks: i << LFD_CLAIM_SHIFT | next chunk to claim,
	 * while segment i is being linked (buckets.c, lfd_grow_work) */
	LFD_ATOMIC(uint32_t) grow_claim;
	LFD_ATOMIC(uint32_t) grow_done; /* chunks of that grow linked */

	/* --- reclaim pipeline (one batch in flight; see reclaim.c) --- */
	/* (the retire stacks and the batch in flight: in the stripes) */
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
	/* chains of retired items handed over unfreed (slab.c) */
	LFD_ATOMIC(uintptr_t) raw_chains;
	/* 1 once an entry too big for the slab was retired: from then on
	 * nothing is handed over (slab.c, "Handed-over chains") */
	LFD_ATOMIC(int) raw_off;
	/* 1 once a chain was handed over: until then (and always in a
	 * dictionary with a value destructor) allocations skip the
	 * handed-over stacks and lfd_reclaim_wait its extra grace period.
	 * Only those two may read it: the callback's last look and the
	 * drains (lfd_any_raw, lfd_free_all) must not, since a hand-over's
	 * relaxed store may not be visible yet where its chain is. */
	LFD_ATOMIC(int) raw_used;
	/* freed by lfd_trim when all their slots are free, or at destroy */
	LFD_ATOMIC(struct lfd_slab_block *) slab_blocks;
	LFD_ATOMIC(unsigned long) slab_nblocks;
	LFD_ATOMIC(int) slab_trimming; /* 1 while an lfd_trim runs (trim.c) */
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


/* Bytes allocated before an entry: the popped word (see lfd_entry), in
 * LFD_ENTRY_ALIGN bytes to keep the entry aligned (4 of them unused where
 * pointers are 4 bytes). */
static inline size_t lfd_entry_prefix(const struct lfd *d)
{
	return d->value_free ? LFD_ENTRY_ALIGN : 0;
}

#endif /* LFD_INTERNAL_H */
