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
/* lfd_mem_alloc for memory the caller writes whole at once: also maps its
 * pages in one call where it can (base.c). */
LFD_HIDDEN void *lfd_mem_alloc_filled(struct lfd *d, size_t size);
LFD_HIDDEN void lfd_mem_free(struct lfd *d, void *p, size_t size);
/* This thread's number (from 1), which picks its counter and slab stripe
 * (count.c, slab.c) where the CPU number cannot (lfd_my_stripe). */
LFD_HIDDEN extern _Thread_local unsigned int lfd_thread_no; /* 0: none yet */
LFD_HIDDEN unsigned int lfd_thread_no_assign(void);
/* Inline: every update asks for it two or three times (its counter, its
 * retire stack, its slab stripe); as a call it cost about 10 instructions
 * each time (callgrind). */
static inline unsigned int lfd_my_thread_no(void)
{
	unsigned int n = lfd_thread_no;

	return n != 0 ? n : lfd_thread_no_assign();
}
/*
 * The stripe of d this thread's updates write (count.c, slab.c,
 * reclaim.c): the one of the CPU it runs on, where the C library has
 * registered the thread's restartable-sequences area (glibc 2.35 and
 * later on Linux 4.18 and later): the kernel keeps the current CPU's number
 * in it, a load away.  Threads that share a stripe then seldom run at the
 * same time, so its words stay in one core's cache (doc/performance.md).
 * Elsewhere, the thread's number.  Either is only a choice of stripe:
 * every stripe's words are atomics that any thread may update, and a
 * thread that migrates in the middle of an update is merely using
 * another CPU's stripe for a moment.  (CPU numbers are taken modulo the
 * stripes, at most LFD_MAX_STRIPES: on a bigger machine, or with sparse
 * CPU numbers in a cpuset, CPUs share stripes.)  LFD_HAVE_RSEQ comes from
 * configure, which checks that the compiler builds and links this code
 * (__builtin_thread_pointer is missing on some compilers and targets).
 */
#if defined(LFD_HAVE_RSEQ) && !defined(LFD_ATOMICS_CUSTOM)
#include <sys/rseq.h>
#define LFD_USE_RSEQ 1
#endif
static inline unsigned int lfd_my_stripe_no(void)
{
#ifdef LFD_USE_RSEQ
	if (__rseq_size > 0) {
		/* glibc places the area __rseq_offset bytes from the
		 * thread pointer, aligned for struct rseq. */
		const struct rseq *rs = (const struct rseq *)(const void *)(
			(const char *)__builtin_thread_pointer() +
			__rseq_offset);
		/* relaxed: the kernel rewrites it when the thread migrates;
		 * any value read is a valid choice (see above). */
		uint32_t cpu = __atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);

		if (cpu < 0x80000000u) /* not RSEQ_CPU_ID_UNINITIALIZED */
			return cpu;
	}
#endif
	return lfd_my_thread_no();
}

static inline struct lfd_stripe *lfd_my_stripe(struct lfd *d)
{
	return &d->stripes[lfd_my_stripe_no() & (d->nstripes - 1)];
}

/*
 * The fork gate.  A thread runs the few windows of lfdict whose state a
 * fork must not cut in two -- a retire batch taken but not yet handed to
 * call_rcu, a resize run or a grow chunk on an updating thread -- inside
 * lfd_gate_enter / lfd_gate_exit.  While a fork is being prepared the gate
 * is closed (fork.c): a thread that finds it closed skips the window (the
 * work is rescheduled after the fork), and the fork waits for the threads
 * inside to leave.  The windows never block, so the wait is short -- but
 * for lfd_trim's (trim.c), which holds every free slot for one grace
 * period, and which waits for the fork instead of skipping.
 */
#define LFD_GATE_CLOSED 1u

static inline bool lfd_gate_enter(struct lfd *d)
{
	/* seq_cst: store buffering against lfd_fork_prepare (close; read
	 * the count) -- either this thread sees the gate closed, or the
	 * fork sees this thread counted and waits for it. */
	if (lfd_a_fetch_add(&d->fork_gate, 2u, memory_order_seq_cst) &
	    LFD_GATE_CLOSED) {
		/* relaxed: nothing was done; the fork only waits for the
		 * count to drop. */
		lfd_a_fetch_add(&d->fork_gate, -2u, memory_order_relaxed);
		return false;
	}
	return true;
}

static inline void lfd_gate_exit(struct lfd *d)
{
	/* release: the window's stores happen-before the forking thread's
	 * acquire load that sees the count drop. */
	lfd_a_fetch_add(&d->fork_gate, -2u, memory_order_release);
}

#endif /* LFD_BASE_H */
