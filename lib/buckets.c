/*
 * buckets.c - the segmented bucket index, grow and shrink.  Uses solist.h
 * (linking and unlinking bucket nodes), index.h, count.h (the entry count a
 * resize aims at) and base.h; nothing of reclaim.c or the public calls.
 *
 * SPDX-License-Identifier: MIT
 *
 * A bucket node is a list node whose split-order key is its bucket's top
 * bits followed by zeros (lfd_bucket_key; the node is only its 8-byte next
 * word, internal.h).  The node of key k lives in segment seg[i], i = 32 -
 * (trailing zeros of k), an array allocated once when the index first
 * reached 2^i buckets.  With the keys' top 4 bits shown:
 *
 *     seg[0]  [0000]
 *     seg[1]  [1000]
 *     seg[2]  [0100 1100]
 *     seg[3]  [0010 0110 1010 1110]
 *     seg[i]  [k = (2j + 1) << (32 - i) at offset j]     (lfd_seg_key)
 *
 * so growing from 2^L to 2^(L+1) buckets allocates seg[L+1], publishes
 * the doubled size, and links the new nodes into the one list, each right
 * after its parent (its key without the lowest set bit: the bucket it
 * splits); nothing is copied or moved.  Until a
 * node is linked it is pending (LFD_PENDING, internal.h) and operations
 * on its bucket start from its parent.  The links are made in chunks of
 * LFD_RESIZE_CHUNK nodes, claimed by the run's thread and by updates that
 * meet long chains meanwhile (lfd_grow_work).  Shrinking from 2^L to 2^(L-1) publishes the
 * smaller size, waits a grace period (no operation still uses an upper
 * bucket as its start), unlinks seg[L]'s nodes, waits another grace period
 * (no traversal still stands on one) and frees seg[L].
 *
 * One resize run at a time per dictionary (resize_busy).  The thread whose
 * update asked for it does mid-sized grows itself (lfd_grow_inline); the
 * rest runs as a chain of RCU callbacks (update_call_rcu); the thread
 * that links a grow's last chunk goes on with the run.  No reader or
 * updater ever waits for a run: they use the published size, starting
 * from a linked ancestor of a pending bucket (longer chains).  A run loops
 * until the bucket count matches the entry count at that time, and before
 * it ends re-checks the count, so the size converges
 * after any workload: with n entries it ends with B >= 2^lfd_log_for(n)
 * buckets (unless capped by max_capacity: n <= B, and 4n <= B up to
 * 8,192 entries) and, when it shrank, fewer than 2^lfd_log_for(8n + 1)
 * (8n >= B for big tables).  A get passes n/2B other entries on average
 * before its own, each a mispredicted branch, and a cache miss once the
 * table outgrows the cache; the bucket nodes cost 8 to 16 bytes per entry
 * in a big table, 32 to 64 in a small one (doc/performance.md).
 */
#include <errno.h>

#include "buckets.h"

/* Bucket nodes linked per read-side section when a resize walks a segment:
 * bounds how long the resizer delays grace periods. */
#ifndef LFD_RESIZE_CHUNK /* the model checker links 1 node per chunk */
#define LFD_RESIZE_CHUNK 1024u
#endif

/* Grows to segments of up to LFD_INLINE_SEG_MAX bucket nodes are done by
 * the thread whose update asked for them, at once: a grow needs no grace
 * period, and under oversubscription the call_rcu worker may wait a
 * fraction of a second for one and then get a sliver of the CPU, while
 * inserts make the chains long (64 threads building 100k keys ran 9x slower
 * than 2).  The cost, linking up to 64k nodes (about 1-3 ms), falls on one
 * update per doubling.  Bigger segments go to the callback, so that no call
 * takes longer; an update that helps a grow links one chunk of it
 * (lfd_grow_help), and if that was the last, continues the run within the
 * same bound. */
#define LFD_INLINE_SEG_MAX (1u << 16)

static size_t lfd_seg_len(unsigned int i)
{
	return i == 0 ? 1 : (size_t)1 << (i - 1);
}

/*
 * The bucket log the index aims at for `entries` entries: four buckets per
 * entry while that takes at most 2^LFD_SPARSE_LOG buckets (8,192 entries),
 * 2^LFD_SPARSE_LOG buckets up to as many entries, and one bucket per entry
 * beyond (rounded up to a power of two; monotone in `entries`).  In a
 * table that fits the cache a get's cost is the walk's exit branch, which
 * mispredicts whenever the get passes another entry of its bucket (at one
 * entry per bucket about a third of the gets do): four buckets per entry
 * make R at 1,000 keys 1.5x faster, for 24 bytes per entry more, 256 KiB
 * at most.  In a table that outgrows the
 * cache every entry passed is a miss too, but there the index's bytes are
 * the memory budget's (doc/performance.md).
 */
#ifndef LFD_SPARSE_LOG /* the model checker's scenarios start from 1 bucket: 0 */
#define LFD_SPARSE_LOG 15u
#endif
#define LFD_SPARSE_EXTRA 2u

unsigned int lfd_log_for(size_t entries)
{
	/* the least log with 2^log >= entries, at most LFD_MAX_LOG */
	unsigned int log =
		entries <= 1 ? 0u
			     : 64u - (unsigned int)__builtin_clzll(
					     (unsigned long long)(entries - 1));

	if (log > LFD_MAX_LOG)
		log = LFD_MAX_LOG;
	if (log + LFD_SPARSE_EXTRA <= LFD_SPARSE_LOG)
		return log + LFD_SPARSE_EXTRA;
	return log < LFD_SPARSE_LOG ? LFD_SPARSE_LOG : log;
}

/* Bucket nodes a grow links ahead of the one it links: it loads the first
 * entry of that node's parent chain early, so the walk that places the node
 * finds the entry in cache.  The nodes are linked in key order, and so
 * are their parents (in lower segments, nearly sequential loads); the
 * parents' chains' entries are scattered, one cache miss each.  Building
 * 1M keys with 1 thread, the call_rcu thread's share of the samples in
 * lfd_list_find fell from 21.6% to 10.5% (perf record, one run each,
 * before the fold; doc/performance.md). */
#define LFD_GROW_PREFETCH 8u

static void lfd_grow_prefetch(struct lfd *d, uint32_t k)
{
	/* relaxed: a hint; the walk that follows loads the word again. */
	LFD_ATOMIC(uintptr_t) *w = &lfd_bucket_at(d, lfd_bucket_parent(k))->next;
	uintptr_t l = lfd_succ(lfd_a_load(w, memory_order_relaxed));

	/* a prefetch never faults, so a stale address costs nothing */
	if (l != 0 && !lfd_is_blink(l))
		__builtin_prefetch(lfd_link_entry(l));
}

/* Chunks of LFD_RESIZE_CHUNK nodes in segment i. */
static uint32_t lfd_grow_chunks(unsigned int i)
{
	return (uint32_t)((lfd_seg_len(i) + LFD_RESIZE_CHUNK - 1) /
			  LFD_RESIZE_CHUNK);
}

/* Link chunk k of segment i's nodes, each after its parent, in one
 * read-side section (`live`: other threads may be using d). */
static void lfd_grow_link_chunk(struct lfd *d, unsigned int i, uint32_t k,
				bool live)
{
	size_t n = lfd_seg_len(i), j = (size_t)k * LFD_RESIZE_CHUNK;
	size_t end = j + LFD_RESIZE_CHUNK < n ? j + LFD_RESIZE_CHUNK : n;

	if (live)
		d->flavor->read_lock();
	for (; j < end; j++) {
		if (j + LFD_GROW_PREFETCH < end)
			lfd_grow_prefetch(d, lfd_seg_key(i, (uint32_t)j +
							       LFD_GROW_PREFETCH));
		lfd_list_insert_bucket(d, lfd_seg_key(i, (uint32_t)j));
	}
	if (live)
		d->flavor->read_unlock();
}

/* grow_claim packs a segment number (<= LFD_MAX_LOG, 5 bits) over a chunk
 * number (< 2^20: a segment has at most 2^30 nodes). */
#define LFD_CLAIM_SHIFT 27u
#ifndef __cplusplus
_Static_assert(LFD_MAX_LOG < 32 && ((uint64_t)1 << (LFD_MAX_LOG - 1)) /
				   LFD_RESIZE_CHUNK <
			   ((uint64_t)1 << LFD_CLAIM_SHIFT),
	       "a chunk number fits under the segment number");
#endif

/*
 * After claiming chunk k of the open grow (segment i, nch chunks): link
 * it and count it.  Returns true for the one thread whose chunk completes
 * the grow: every new node is linked and that thread now owns the resize
 * run.
 */
static bool lfd_grow_claimed(struct lfd *d, unsigned int i, uint32_t k,
			     uint32_t nch)
{
	lfd_grow_link_chunk(d, i, k, true);
	/* DONE_ADD: acq_rel: release our chunk's links; the increment that
	 * completes the count acquires every other chunk's (all in one
	 * release sequence), so whatever the run does next (a grow whose
	 * parents are these nodes, a shrink that unlinks them) happens-after
	 * every link of the grow. */
	if (lfd_a_fetch_add(&d->grow_done, 1u, LFD_MO_DONE_ADD) + 1u != nch)
		return false;
	/* relaxed: a statistic. */
	lfd_a_fetch_add(&d->grows, 1, memory_order_relaxed);
	return true;
}

/*
 * Claim open chunks of the grow in progress and link them, until none is
 * left to claim or `max` are linked.  Any thread may: the run's thread that
 * opened them (lfd_grow_one, no limit), and updates that found a long
 * chain while a resize ran (lfd_grow_help, one chunk), so that a grow does
 * not stall when the thread that began it is preempted (64 threads on 2
 * cores).  Returns the number of chunks this call linked; *last is set
 * for the one thread that linked the grow's last chunk (lfd_grow_claimed).
 * Lock-free: a failed claim means another thread claimed.  A thread that
 * claimed and stalls holds back only the grow's completion, never an
 * operation (lfd_bucket_for; model-checked: mc_relacy's grow_stalled).
 */
static uint32_t lfd_grow_work(struct lfd *d, uint32_t max, bool *last)
{
	/* relaxed: only a guess for the CAS, whose acquire is what counts. */
	uint32_t c = lfd_a_load(&d->grow_claim, memory_order_relaxed);
	uint32_t done = 0;

	*last = false;
	while (done < max) {
		unsigned int i = c >> LFD_CLAIM_SHIFT;
		uint32_t k = c & (((uint32_t)1 << LFD_CLAIM_SHIFT) - 1);
		uint32_t nch;

		if (i == 0 || k >= (nch = lfd_grow_chunks(i)))
			break; /* no grow open, or every chunk taken */
		/* CLAIM_CAS: acquire, pairs with the release that opened the
		 * chunks (lfd_grow_open; the claims in between continue its
		 * release sequence): grow_done's reset happens-before our
		 * increment.  The segment itself we read through SEG_LOAD.  A
		 * claim that succeeds on a value equal to one seen in an
		 * earlier grow of the same segment claims that chunk of the
		 * current grow: nothing from the load is carried over the CAS
		 * but i and k.  Failure relaxed: c is reloaded and claimed
		 * again. */
		if (!lfd_a_cas_weak(&d->grow_claim, &c, c + 1,
				    LFD_MO_CLAIM_CAS, memory_order_relaxed))
			continue;
		done++;
		if (lfd_grow_claimed(d, i, k, nch)) {
			*last = true;
			break;
		}
		/* relaxed: as above */
		c = lfd_a_load(&d->grow_claim, memory_order_relaxed);
	}
	return done;
}

/*
 * Begin doubling the index: allocate the next segment, its nodes pending,
 * and publish it and the doubled size.  `live`: other threads may be
 * using the dictionary; its chunks are then open to them (lfd_grow_work).
 * Returns the new segment's number, or -ENOMEM (nothing changed).
 */
static int lfd_grow_open(struct lfd *d, bool live)
{
	/* relaxed: only the resizer (or lfd_new, alone) writes size_log. */
	unsigned int log = lfd_a_load(&d->size_log, memory_order_relaxed);
	unsigned int i = log + 1;
	size_t n = lfd_seg_len(i), j;
	struct lfd_bnode *seg;

	seg = lfd_mem_alloc_filled(d, n * sizeof(*seg));
	if (seg == NULL)
		return -ENOMEM;
	for (j = 0; j < n; j++)
		lfd_a_init(&seg[j].next, LFD_PENDING);
	/* SEG_STORE: release, pairs with SEG_LOAD (the nodes' next words). */
	lfd_a_store(&d->seg[i], seg, LFD_MO_SEG_STORE);
	/* SIZE_STORE: release, pairs with SIZE_LOAD.  Published now, before
	 * the new nodes are linked: operations on their buckets start from a
	 * linked ancestor until they are (lfd_bucket_for), so no operation
	 * waits for the grow, however long its threads are preempted. */
	lfd_a_store(&d->size_log, i, LFD_MO_SIZE_STORE);
	if (live) {
		/* relaxed: published by the release below.  Every increment
		 * of the previous grow happened-before: the last one was
		 * acquired by the thread that went on with that run
		 * (DONE_ADD), and the run reached us through that thread
		 * (resize_busy's release/acquire or a callback queued by
		 * it). */
		lfd_a_store(&d->grow_done, 0u, memory_order_relaxed);
		/* release: opens the chunks (pairs with CLAIM_CAS). */
		lfd_a_store(&d->grow_claim, (uint32_t)i << LFD_CLAIM_SHIFT,
			    memory_order_release);
	}
	return (int)i;
}

/*
 * Double the index (lfd_grow_open), then link the new nodes, alone or
 * (`live`) with whoever claims chunks meanwhile.  Returns -ENOMEM (nothing
 * changed), 1 when this thread finished the grow (every new node linked),
 * or 0 when another thread will: that thread continues the run (live
 * only).
 */
static int lfd_grow_one(struct lfd *d, bool live)
{
	int i = lfd_grow_open(d, live);
	bool last;

	if (i < 0)
		return i;
	if (!live) { /* lfd_new presizing: not counted in `grows` */
		uint32_t k, nch = lfd_grow_chunks((unsigned int)i);

		for (k = 0; k < nch; k++)
			lfd_grow_link_chunk(d, (unsigned int)i, k, false);
		return 1;
	}
	(void)lfd_grow_work(d, UINT32_MAX, &last);
	return last ? 1 : 0;
}

int lfd_buckets_init(struct lfd *d, unsigned int log)
{
	struct lfd_bnode *b0 = lfd_mem_alloc(d, sizeof(*b0));
	unsigned int i;

	if (b0 == NULL)
		return -ENOMEM;
	lfd_a_init(&b0->next, (uintptr_t)0);
	for (i = 0; i < LFD_NSEG; i++)
		lfd_a_init(&d->seg[i], (struct lfd_bnode *)NULL);
	lfd_a_init(&d->seg[0], b0);
	lfd_a_init(&d->size_log, 0u);
	while (lfd_a_load(&d->size_log, memory_order_relaxed) < log)
		if (lfd_grow_one(d, false) < 0) {
			lfd_buckets_fini(d);
			return -ENOMEM;
		}
	return 0;
}

/* Free every segment.  Only with no other thread using d. */
void lfd_buckets_fini(struct lfd *d)
{
	unsigned int i;

	for (i = 0; i < LFD_NSEG; i++) {
		/* relaxed: no concurrency here. */
		struct lfd_bnode *seg = lfd_a_load(&d->seg[i], memory_order_relaxed);

		if (seg != NULL)
			lfd_mem_free(d, seg, lfd_seg_len(i) * sizeof(*seg));
		lfd_a_store(&d->seg[i], (struct lfd_bnode *)NULL,
			  memory_order_relaxed);
	}
}

/* The bucket log the entry count asks for, within the configured range. */
static unsigned int lfd_target_log(struct lfd *d, size_t n)
{
	unsigned int t = lfd_log_for(n);

	if (t < d->min_log)
		t = d->min_log;
	if (t > d->max_log)
		t = d->max_log;
	return t;
}

/* Grow when the entries ask for more buckets than there are (above 1 per
 * bucket, or 1/4 in a small table: lfd_log_for); shrink when even eight
 * times the entries would ask for fewer than there are.  (n stays far
 * below SIZE_MAX / 8: every entry takes at least 24 bytes.) */
static bool lfd_resize_wanted(struct lfd *d, size_t n, unsigned int log)
{
	unsigned int t = lfd_target_log(d, n);

	return t > log || (t < log && lfd_log_for(n * 8 + 1) <= log);
}

static void lfd_resize_cb(struct rcu_head *head);
static void lfd_shrink_unlink_cb(struct rcu_head *head);
static void lfd_shrink_free_cb(struct rcu_head *head);
static void lfd_resize_run(struct lfd *d, bool caller);

/* May the calling thread do the grow from 2^log buckets itself? */
static bool lfd_grow_inline(unsigned int log)
{
	return lfd_seg_len(log + 1) <= LFD_INLINE_SEG_MAX;
}

void lfd_resize_check(struct lfd *d)
{
	int idle = 0;

	if (d->flags & LFD_FIXED_SIZE)
		return;
	/* seq_cst fence: the caller's counter update (relaxed RMW) and our
	 * load of resize_busy against the resizer's store of resize_busy = 0
	 * and its count (lfd_resize_end's fence): store buffering, so that one
	 * side always sees the other and a needed resize is never missed. */
	atomic_thread_fence(memory_order_seq_cst);
	/* seq_cst on destroying: pairs with lfd_destroy's store, so a run's
	 * final re-check never queues work on a dictionary being destroyed. */
	if (lfd_a_load(&d->resize_busy, memory_order_relaxed) ||
	    lfd_a_load(&d->destroying, memory_order_seq_cst))
		return;
	if (!lfd_resize_wanted(d, lfd_count_sum(d),
			       lfd_a_load(&d->size_log, memory_order_relaxed)))
		return;
	/* Claiming the run and running it here: a window a fork must not
	 * cut (base.h); closed: fork.c asks again after the fork. */
	if (!lfd_gate_enter(d))
		return;
	/* acq_rel: we own the resize state (shrink_log, resize_head) from here;
	 * pairs with the release in lfd_resize_end. */
	if (lfd_a_cas(&d->resize_busy, &idle, 1, memory_order_acq_rel,
		    memory_order_relaxed))
		lfd_resize_run(d, true);
	lfd_gate_exit(d);
}

static void lfd_resize_end(struct lfd *d, bool recheck)
{
	/* relaxed: published by the release on resize_runs below. */
	lfd_a_store(&d->resize_oom, !recheck, memory_order_relaxed);
	/* release: the run's stores happen-before whoever sees the run done
	 * (lfd_resize_wait's acquire). */
	lfd_a_fetch_add(&d->resize_runs, 1, memory_order_release);
	lfd_a_store(&d->resize_busy, 0, memory_order_release);
	if (recheck)
		lfd_resize_check(d); /* its fence: see lfd_resize_check */
}

/* One resize run: loop until the size fits.  `caller`: on the thread of
 * the call that asked (lfd_resize_check), which does only the grows
 * lfd_grow_inline allows and hands the rest of the run to a callback. */
static void lfd_resize_run(struct lfd *d, bool caller)
{
	for (;;) {
		size_t n;
		unsigned int log;

		/* relaxed: lfd_destroy waits for the run anyway; the flag only
		 * stops it early. */
		if (lfd_a_load(&d->destroying, memory_order_relaxed))
			break;
		n = lfd_count_sum(d);
		log = lfd_a_load(&d->size_log, memory_order_relaxed);
		if (!lfd_resize_wanted(d, n, log))
			break;
		if (caller && !(lfd_target_log(d, n) > log &&
				lfd_grow_inline(log))) {
			d->flavor->update_call_rcu(&d->resize_head,
						   lfd_resize_cb);
			return;
		}
		if (lfd_target_log(d, n) > log) {
			int r = lfd_grow_one(d, true);

			if (r < 0) {
				/* Out of memory: stop; a later insert
				 * will ask again. */
				lfd_resize_end(d, false);
				return;
			}
			if (r == 0)
				return; /* the last chunk's linker goes on */
			continue;
		}
		/* Shrink one step: publish the smaller size now, unlink the
		 * upper buckets after a grace period. */
		d->shrink_log = log;
		lfd_a_store(&d->size_log, log - 1, LFD_MO_SIZE_STORE);
#ifdef LFD_BREAK_SHRINK_NO_GRACE /* deliberately broken build for stress/, see doc/torture.md */
		lfd_shrink_unlink_cb(&d->resize_head); /* no grace period */
		return;
#endif
		d->flavor->update_call_rcu(&d->resize_head,
					   lfd_shrink_unlink_cb);
		return;
	}
	lfd_resize_end(d, true);
}

/* Called by an update that walked a long chain while a resize ran: link
 * one chunk of the grow in progress, if one is open (LFD_RESIZE_CHUNK
 * nodes).  The thread that links the grow's last chunk goes on with the
 * run, as the thread that asks for a run does (grows up to
 * lfd_grow_inline's bound here, the rest in a callback).  Returns whether
 * it linked a chunk (if not, the caller may yield instead). */
bool lfd_grow_help(struct lfd *d)
{
	bool last, linked;

	/* A claimed chunk is linked before the fork (base.h's gate). */
	if (!lfd_gate_enter(d))
		return false;
	linked = lfd_grow_work(d, 1, &last) != 0;
	if (linked && last)
		lfd_resize_run(d, true);
	lfd_gate_exit(d);
	return linked;
}

static struct lfd *lfd_of_resize_head(struct rcu_head *head)
{
	return LFD_CONTAINER_OF(head, struct lfd, resize_head);
}

static void lfd_resize_cb(struct rcu_head *head)
{
	lfd_resize_run(lfd_of_resize_head(head), false);
}

/* A grace period after the smaller size was published: no operation starts
 * from an upper bucket any more.  Unlink them all. */
static void lfd_shrink_unlink_cb(struct rcu_head *head)
{
	struct lfd *d = lfd_of_resize_head(head);
	unsigned int log = d->shrink_log;
	size_t n = lfd_seg_len(log), j;

	for (j = 0; j < n; j++) {
		if (j % LFD_RESIZE_CHUNK == 0) {
			if (j)
				d->flavor->read_unlock();
			d->flavor->read_lock();
		}
		uint32_t k = lfd_seg_key(log, (uint32_t)j);

		lfd_list_remove(d, &lfd_bucket_at(d, lfd_bucket_parent(k))->next,
				lfd_blink(k), NULL);
	}
	d->flavor->read_unlock();
	d->flavor->update_call_rcu(&d->resize_head, lfd_shrink_free_cb);
}

/* Another grace period: no traversal stands on an upper bucket node. */
static void lfd_shrink_free_cb(struct rcu_head *head)
{
	struct lfd *d = lfd_of_resize_head(head);
	unsigned int log = d->shrink_log;
	/* relaxed: the resizer itself stored it. */
	struct lfd_bnode *seg = lfd_a_load(&d->seg[log], memory_order_relaxed);

	/* relaxed: nobody reads a segment above the size any more. */
	lfd_a_store(&d->seg[log], (struct lfd_bnode *)NULL, memory_order_relaxed);
	lfd_mem_free(d, seg, lfd_seg_len(log) * sizeof(*seg));
	lfd_a_fetch_add(&d->shrinks, 1, memory_order_relaxed);
	lfd_resize_run(d, false);
}

/*
 * Wait until no resize is running and the count asks for none: ask, wait
 * for the run in progress to end, and ask again (a run that ended may have
 * missed updates that came after its last count).  At quiescence this ends
 * after at most a few runs; while other threads keep changing the count it
 * also waits for the resizes they cause.  A run that stopped for lack of
 * memory ends the wait (asking again would fail again).  Not from a
 * read-side section.
 */
void lfd_resize_wait(struct lfd *d)
{
	for (;;) {
		unsigned long runs;

		lfd_resize_check(d);
		/* acquire: pairs with the release in lfd_resize_end. */
		runs = lfd_a_load(&d->resize_runs, memory_order_acquire);
		if (!lfd_a_load(&d->resize_busy, memory_order_acquire))
			return; /* the check found nothing to do */
		while (lfd_a_load(&d->resize_busy, memory_order_acquire) &&
		       lfd_a_load(&d->resize_runs, memory_order_acquire) == runs)
			d->flavor->barrier();
		/* relaxed: ordered by the acquire of resize_runs above. */
		if (lfd_a_load(&d->resize_oom, memory_order_relaxed))
			return;
	}
}
