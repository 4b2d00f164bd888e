/*
 * slab.h - entry memory: slab slots for small entries, the
 * allocator for the rest (slab.c).  Uses base.h.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_SLAB_H
#define LFD_SLAB_H

#include "base.h"

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
/* Handed-over chains (slab.c): a chain of retired items past their grace
 * period, of a dictionary without a value destructor, given to the
 * allocator unfreed (with `more`, a list of chains linked by
 * lfd_slab_raw_next, or 0); and every handed-over item, taken back to be freed
 * (a list of chains, linked by lfd_slab_raw_next; the caller frees them
 * with lfd_free_items).  Helpers hand over only while no waiter is
 * announced; a callback's drain may hand its rest back after a waiter
 * announced itself, but callbacks run one at a time (retire_busy), so the
 * waiter's callback, whose take comes later, finds it. */
LFD_HIDDEN void lfd_slab_hand_over(struct lfd *d, uintptr_t chain,
				   uintptr_t more);
LFD_HIDDEN uintptr_t lfd_slab_raw_take_all(struct lfd *d);
LFD_HIDDEN uintptr_t lfd_slab_raw_next(uintptr_t chain);
/* Set by an allocation that moved handed-over chains while no reclaim
 * callback was busy: its caller must queue one (lfd_reclaim_kick) and
 * clear the flag. */
LFD_HIDDEN extern _Thread_local int lfd_slab_kick_due;
/* A trim in progress (slab.c, "Trim"): lfd_slab_trim_take detaches the
 * blocks and takes every free slot (0, or -ENOMEM with nothing taken and
 * nothing changed); after a grace period of d's flavour,
 * lfd_slab_trim_finish frees the blocks found free, gives the other slots
 * back and returns the bytes freed.  One trim at a time per dictionary
 * (the caller's lock), outside any read-side section. */
struct lfd_trim_block;
struct lfd_slab_trim {
	struct lfd_trim_block *blocks; /* sorted by address */
	size_t n;
	/* slots of blocks allocated after the detach, per class */
	struct lfd_entry *stray[LFD_SLAB_CLASSES];
};
LFD_HIDDEN int lfd_slab_trim_take(struct lfd *d, struct lfd_slab_trim *t);
LFD_HIDDEN size_t lfd_slab_trim_finish(struct lfd *d,
				       struct lfd_slab_trim *t);
LFD_HIDDEN void lfd_slab_init(struct lfd *d);
LFD_HIDDEN void lfd_slab_fini(struct lfd *d);

/* Entry memory, slab slot or allocator.  lfd_entry_alloc's caller holds a
 * read-side section of d's flavour (slab.c's ABA argument). */
LFD_HIDDEN struct lfd_entry *lfd_entry_alloc(struct lfd *d, uint32_t klen);
LFD_HIDDEN void lfd_entry_free(struct lfd *d, struct lfd_entry *e,
			       struct lfd_slab_batch *b);
LFD_HIDDEN void lfd_entry_drop(struct lfd *d, struct lfd_entry *e);

/* The popped slot of an entry of a dictionary with a value destructor:
 * the word allocated just before it (see struct lfd_entry). */
static inline void **lfd_entry_popped(struct lfd_entry *e)
{
	return (void **)(void *)((char *)e - sizeof(void *));
}

#endif /* LFD_SLAB_H */
