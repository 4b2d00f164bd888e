/*
 * base.c - the bottom layer of lib/: the allocator hooks, thread stripe
 * numbers, the tombstone.  Uses internal.h and base.h only; every other
 * file of lib/ may use it (the layers: lib/dict.c's design comment).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base.h"

/* The tombstone's address (internal.h, LFD_TOMBSTONE). */
LFD_HIDDEN const unsigned char lfd_tombstone_byte = 0;

void *lfd_mem_alloc(struct lfd *d, size_t size)
{
	return d->alloc(size, d->alloc_arg);
}

/*
 * Memory its caller writes whole right away (a slab block carved into
 * slots, an index segment filled with pending words): lfd_mem_alloc, then,
 * where the system has it (Linux 5.14 on), one madvise(MADV_POPULATE_WRITE)
 * over the pages wholly inside it, so that fresh memory is mapped in one
 * call instead of one page fault per page as the writes reach it.  The
 * memory's contents do not change (the call only maps pages, as a write
 * would), and nothing depends on it: if it fails (an older kernel, memory
 * that cannot be populated) the writes fault as before.  Only for blocks
 * of LFD_PREFAULT_MIN bytes and more: below that, a few faults cost less
 * than the call.  Building 1M keys with 1 thread (perf record, this VM,
 * where a fault is dear): page faults were 10.8% of the samples, most in
 * carving slab blocks; with the call, faults and madvise together 3.4%,
 * and the build 14% faster (paired runs, doc/performance.md).
 */
#define LFD_PREFAULT_MIN ((size_t)64 * 1024)

void *lfd_mem_alloc_filled(struct lfd *d, size_t size)
{
	void *p = lfd_mem_alloc(d, size);

#ifdef MADV_POPULATE_WRITE
	if (p != NULL && size >= LFD_PREFAULT_MIN) {
		long ps = sysconf(_SC_PAGESIZE);
		uintptr_t mask = ps > 0 ? (uintptr_t)ps - 1u : 4095u;
		uintptr_t lo = ((uintptr_t)p + mask) & ~mask;
		uintptr_t hi = ((uintptr_t)p + size) & ~mask;

		if (hi > lo)
			(void)madvise((void *)lo, hi - lo,
				      MADV_POPULATE_WRITE);
	}
#endif
	return p;
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
