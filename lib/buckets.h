/*
 * buckets.h - the bucket index's allocation and resizing
 * (buckets.c).  Uses count.h, solist.h, base.h.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_BUCKETS_H
#define LFD_BUCKETS_H

#include "base.h"
#include "count.h"
#include "solist.h"

LFD_HIDDEN int lfd_buckets_init(struct lfd *d, unsigned int log);
LFD_HIDDEN void lfd_buckets_fini(struct lfd *d);
LFD_HIDDEN void lfd_resize_check(struct lfd *d);
LFD_HIDDEN bool lfd_grow_help(struct lfd *d);
LFD_HIDDEN void lfd_resize_wait(struct lfd *d);
LFD_HIDDEN unsigned int lfd_log_for(size_t entries);

#endif /* LFD_BUCKETS_H */
