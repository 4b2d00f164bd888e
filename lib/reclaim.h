/*
 * reclaim.h - deferred reclamation through the RCU
 * flavour: the retire stack, batches, helping, backpressure, waiting
 * (reclaim.c).  Uses items.h (same layer), count.h, slab.h, base.h.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_RECLAIM_H
#define LFD_RECLAIM_H

#include "items.h"

LFD_HIDDEN void lfd_retire_entry(struct lfd *d, struct lfd_entry *e,
				 void *popped);
LFD_HIDDEN void lfd_entry_discard(struct lfd *d, struct lfd_entry *e);
LFD_HIDDEN void lfd_record_retire(struct lfd *d, struct lfd_retired *r,
				  void *value);
LFD_HIDDEN void lfd_reclaim_wait(struct lfd *d);
LFD_HIDDEN void lfd_reclaim_help(struct lfd *d);
LFD_HIDDEN void lfd_reclaim_unlocked(struct lfd *d);
LFD_HIDDEN bool lfd_reclaim_in_destructor(void);
/* Run d's value destructor on a value now (lfd_destroy), as a destructor
 * lfdict runs: lfd_barrier and lfd_destroy inside it get -EDEADLK. */
LFD_HIDDEN void lfd_reclaim_destroy_value(struct lfd *d, void *value);
LFD_HIDDEN bool lfd_reclaim_idle(struct lfd *d);
/* Queue a reclaim batch if work waits and none is in flight (after a
 * fork, fork.c). */
LFD_HIDDEN void lfd_reclaim_kick(struct lfd *d);
/* Wait for a grace period of d's flavour (not from a read-side section
 * nor a callback). */
LFD_HIDDEN void lfd_reclaim_grace_period(struct lfd *d);

#endif /* LFD_RECLAIM_H */
