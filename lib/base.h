/*
 * base.h - the bottom layer: the dictionary's allocator hooks
 * and this thread's stripe number (base.c).  Uses internal.h only.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_BASE_H
#define LFD_BASE_H

#include "internal.h"

/* The dictionary's allocator (lfd_config.alloc/free, or malloc/free). */
LFD_HIDDEN void *lfd_mem_alloc(struct lfd *d, size_t size);
LFD_HIDDEN void lfd_mem_free(struct lfd *d, void *p, size_t size);
/* This thread's number (from 1), which picks its counter and slab stripe
 * (count.c, slab.c). */
LFD_HIDDEN unsigned int lfd_my_thread_no(void);

#endif /* LFD_BASE_H */
