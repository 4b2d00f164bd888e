/*
 * alloc.c - lfd-torture: the dictionary's allocator (lfd_config.alloc and
 * .free): it counts live allocations and bytes, checks every free, poisons
 * freed memory and keeps it in quarantine a while, and fails allocations
 * on request (--enomem; the calling thread counts what it injected).
 * shrink-stall stops worker 0 in here (stall.c).
 *
 * SPDX-License-Identifier: MIT
 *
 * Uses: torture.h (the PRNG and reports of util.c; stall_block and the
 * thread's stall flags of stall.c).
 */
#include "torture.h"

#define A_HDR 16
#define A_LIVE 0xa110c8ed5afe1234ull
#define A_DEAD 0xdeadf4eed0000000ull
#define A_QUAR 4096

/* The failure rate: main sets it before it starts the workers and clears
 * it after their join (pthread_create and join order that for them).
 * relaxed loads: a thread that reads a stale rate fails an allocation or
 * not, either is fine, as each thread counts what it injected itself
 * (tl_injected, checked by the calling thread alone). */
atomic_uint a_rate;
/* Counts: live allocations and bytes, failures injected, the bytes' peak.
 * relaxed: each is one RMW and orders nothing; readers want a figure (the
 * monitor's bounds, the report) or read them at the end after the joins,
 * lfd_destroy and the RCU barrier, which order every update before them.
 * a_peak_bytes is a racy maximum (load, then store): close enough for the
 * report. */
atomic_long a_live, a_live_bytes, a_injected, a_peak_bytes;
/* a_bad_free: seq_cst RMW, a count (the violation is the report); a_calls:
 * relaxed, a count that nothing reads in order. */
static atomic_long a_bad_free, a_calls;
static pthread_mutex_t a_qlock = PTHREAD_MUTEX_INITIALIZER;
static void *a_quar[A_QUAR];
static size_t a_qpos;
_Thread_local long tl_injected, tl_injected_maybe;
static _Thread_local struct rng tl_arng;
static _Thread_local int tl_arng_init;

void *t_alloc(size_t size, void *arg)
{
	(void)arg;
	/* shrink-stall: worker 0 stops here when asked.  lfdict allocates an
	 * entry inside an insert or a set, between its search and its link
	 * (and a record before a value swap), inside the call's read-side
	 * section: the stop lands mid-call, at a point where the call has
	 * already chosen its bucket.  The other threads (and the resizer)
	 * go on meanwhile.  stall_req: a relaxed look first (every
	 * allocation pays for it), then the seq_cst exchange that takes the
	 * request; the monitor withdraws a request with an exchange of its
	 * own (stall.c, stall_worker0): exactly one of the two RMWs gets the
	 * 1, and seq_cst keeps them in one order with stall_in's store and
	 * loads. */
	if (tl_stop_in_alloc && !tl_in_lock &&
	    atomic_load_explicit(&stall_req, RLX) &&
	    atomic_exchange_explicit(&stall_req, 0, SEQ))
		stall_block(1);
	/* relaxed: see a_calls and a_rate above */
	atomic_fetch_add_explicit(&a_calls, 1, RLX);
	unsigned rate = atomic_load_explicit(&a_rate, RLX);
	if (rate) {
		if (!tl_arng_init) {
			rng_init(&tl_arng, (uint64_t)(uintptr_t)&tl_arng);
			tl_arng_init = 1;
		}
		if (rng_below(&tl_arng, rate) == 0) {
			/* A power of two >= 32 bytes is a bucket segment: a
			 * grow that an update may do itself (lib/buckets.c),
			 * optional -- its failure only postpones the grow,
			 * and the update still succeeds.  16 bytes is a
			 * destructor record (its failure must give -ENOMEM)
			 * or the 1-node segment of the first grow (optional):
			 * either is accepted, and a record failure absorbed
			 * would still be caught by the destructor accounting.
			 * Over 64 bytes and no power of two is a slab block
			 * (our entries, 32 + a 4-8 byte key + 8 with a
			 * destructor, are slab slots): optional too, the
			 * insert then takes a free slot of another stripe if
			 * there is one (lib/slab.c); -ENOMEM for want of any
			 * slot is checked by tests/test_alloc_fail.  Every
			 * other failure must make the call return -ENOMEM. */
			if (size == 16 ||
			    (size > 64 && (size & (size - 1)) != 0))
				tl_injected_maybe++;
			else if (size < 32 || (size & (size - 1)) != 0)
				tl_injected++;
			/* relaxed: a count (see a_live) */
			atomic_fetch_add_explicit(&a_injected, 1, RLX);
			return NULL;
		}
	}
	tl_in_lock++;
	unsigned char *p = malloc(size + A_HDR);
	tl_in_lock--;
	if (!p)
		return NULL;
	uint64_t hdr[2] = { A_LIVE, (uint64_t)size };
	memcpy(p, hdr, sizeof hdr);
	/* relaxed: counts, and the racy peak (see a_live) */
	atomic_fetch_add_explicit(&a_live, 1, RLX);
	long b = atomic_fetch_add_explicit(&a_live_bytes, (long)size, RLX) +
		 (long)size;
	if (b > atomic_load_explicit(&a_peak_bytes, RLX))
		atomic_store_explicit(&a_peak_bytes, b, RLX);
	return p + A_HDR;
}

void t_free(void *ptr, size_t size, void *arg)
{
	(void)arg;
	if (!ptr)
		return;
	unsigned char *p = (unsigned char *)ptr - A_HDR;
	uint64_t hdr[2];
	memcpy(hdr, p, sizeof hdr);
	if (hdr[0] != A_LIVE || hdr[1] != size) {
		/* seq_cst: see a_bad_free */
		atomic_fetch_add_explicit(&a_bad_free, 1, SEQ);
		viol("allocator: free of a %s pointer %p (size %zu, header "
		     "size %" PRIu64 ")",
		     hdr[0] == A_DEAD ? "freed" : "foreign", ptr, size, hdr[1]);
		return;
	}
	hdr[0] = A_DEAD;
	memcpy(p, hdr, sizeof hdr);
	/* Poison, and keep it a while: a walk that still reaches a freed
	 * node reads garbage keys and values instead of a reused node. */
	memset(p + A_HDR, 0x6b, size);
	/* relaxed: counts (see a_live) */
	atomic_fetch_sub_explicit(&a_live, 1, RLX);
	atomic_fetch_sub_explicit(&a_live_bytes, (long)size, RLX);
	tl_in_lock++;
	pthread_mutex_lock(&a_qlock);
	void *old = a_quar[a_qpos];
	a_quar[a_qpos] = p;
	a_qpos = (a_qpos + 1) % A_QUAR;
	pthread_mutex_unlock(&a_qlock);
	free(old);
	tl_in_lock--;
}

/* Around a fork (fork.c): no other thread holds the quarantine's lock. */
void a_fork_lock(bool lock)
{
	if (lock)
		pthread_mutex_lock(&a_qlock);
	else
		pthread_mutex_unlock(&a_qlock);
}

void a_quar_flush(void)
{
	for (size_t i = 0; i < A_QUAR; i++) {
		free(a_quar[i]);
		a_quar[i] = NULL;
	}
}
