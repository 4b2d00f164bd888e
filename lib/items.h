/*
 * items.h - retired items past their grace period: freeing chains of them
 * within a budget, and the ready slots (items.c).  Uses slab.h, count.h.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_ITEMS_H
#define LFD_ITEMS_H

#include "count.h"
#include "slab.h"

/* What a run of lfd_free_items may still free: items, and a deadline on
 * the monotonic clock (0: none). */
struct lfd_budget {
	unsigned items;
	int64_t deadline;
};

/* A retire-stack item (its address): its link word, its kind
 * (LFD_KIND_RECORD, LFD_KIND_MARKER, or odd: an entry), the next item. */
LFD_HIDDEN LFD_ATOMIC(uintptr_t) *lfd_item_link(uintptr_t w);
LFD_HIDDEN uint32_t lfd_item_kind(uintptr_t w);
LFD_HIDDEN uintptr_t lfd_item_next(uintptr_t w);

/* A destructor record's memory. */
LFD_HIDDEN struct lfd_retired *lfd_record_alloc(struct lfd *d);
LFD_HIDDEN void lfd_record_free(struct lfd *d, struct lfd_retired *r);

LFD_HIDDEN int64_t lfd_now_ns(void);
/* Free items of chain w within budget b: run destructors, free entries and
 * records, move markers onto *markers.  Returns the rest of the chain. */
LFD_HIDDEN uintptr_t lfd_free_items(struct lfd *d, uintptr_t w,
				    struct lfd_budget *b,
				    struct lfd_retired **markers);
/* Take a chain from some ready slot, from slot `from` on (0: none); put
 * one into an empty slot (false: all full). */
LFD_HIDDEN uintptr_t lfd_ready_take(struct lfd *d, unsigned from);
LFD_HIDDEN bool lfd_ready_put(struct lfd *d, uintptr_t w, unsigned from);
/* Tell the waiters of markers that everything before them was freed. */
LFD_HIDDEN void lfd_signal_markers(struct lfd_retired *markers);

#endif /* LFD_ITEMS_H */
