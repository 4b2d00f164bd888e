/*
 * base.c - the bottom layer of lib/: the allocator hooks, thread stripe
 * numbers, the tombstone.  Uses internal.h and base.h only; every other
 * file of lib/ may use it (the layers: lib/dict.c's design comment).
 *
 * SPDX-License-Identifier: MIT
 */
#include "base.h"

/* The tombstone's address (internal.h, LFD_TOMBSTONE). */
LFD_HIDDEN const unsigned char lfd_tombstone_byte = 0;

void *lfd_mem_alloc(struct lfd *d, size_t size)
{
	return d->alloc(size, d->alloc_arg);
}

void lfd_mem_free(struct lfd *d, void *p, size_t size)
{
	d->free(p, size, d->alloc_arg);
}

/* Thread numbers: 0 = not yet assigned.  relaxed: any distinct-ish number
 * will do; it only spreads threads over stripes. */
static LFD_ATOMIC(unsigned int) lfd_thread_seq;
_Thread_local unsigned int lfd_thread_no;

unsigned int lfd_thread_no_assign(void)
{
	lfd_thread_no =
		lfd_a_fetch_add(&lfd_thread_seq, 1u, memory_order_relaxed) + 1u;
	return lfd_thread_no;
}
