/*
 * count.h - the split entry counter and the reclaim
 * backlog gauge (count.c).  Uses base.h.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_COUNT_H
#define LFD_COUNT_H

#include "base.h"

LFD_HIDDEN int lfd_count_init(struct lfd *d);
LFD_HIDDEN void lfd_count_fini(struct lfd *d);
/* Adds delta to this thread's stripe (lfd_my_stripe); true when the
 * caller should ask for a resize (lfd_resize_check, buckets.h): the
 * counter sits below the resizer, so the caller that changed the count
 * asks. */
LFD_HIDDEN bool lfd_count_update(struct lfd *d, long delta);
LFD_HIDDEN size_t lfd_count_sum(struct lfd *d);
/* Adds delta to this thread's stripe (lfd_my_stripe) of the backlog
 * gauge.  Inline: every retire calls it. */
static inline void lfd_backlog_add(struct lfd *d, long delta)
{
	/* relaxed: a gauge for backpressure and lfd_stats; orders nothing. */
	lfd_a_fetch_add(&lfd_my_stripe(d)->backlog, delta,
			memory_order_relaxed);
}
LFD_HIDDEN size_t lfd_backlog_sum(struct lfd *d);

#endif /* LFD_COUNT_H */
