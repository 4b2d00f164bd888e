/*
 * monitor.c - lfd-torture: the threads that watch the run.  The monitor
 * checks the bucket lag, the reclamation backlog and the allocator's bytes
 * against their bounds, prints the periodic lines (-v) and drives the
 * stall modes (stall.c).  The hang check and the watchdog end a run whose
 * calls spin or do not return with FAILURE.
 *
 * SPDX-License-Identifier: MIT
 *
 * The trimmer thread calls lfd_trim now and then.
 *
 * Uses: torture.h (the options, reports; the allocator's counts; the
 * workers' slots; the stall modes' steps and the reader-stall's figures of
 * stall.c; the histories' counts).
 */
#include "torture.h"

atomic_int mon_stop;
int max_lag;
/* Reclamation backlog: allocations that are not present entries.  lfdict
 * bounds it near 2^20 + count by pausing retiring updates (lib/reclaim.c);
 * the check allows 4x that for entries + records and the check interval. */
long max_backlog;
uint64_t last_throttled;
#define BACKLOG_BOUND(count) (4L * ((1L << 20) + (long)(count)))
/* The allocator's bytes: at most 128 per item of the backlog bound at the
 * largest count seen (slots of <= 56 bytes, 16-byte records, bucket nodes
 * and slab blocks are kept at their peak). */
#define BYTES_BOUND(count) (128L * BACKLOG_BOUND(count))
static size_t max_count;

static int log2ceil(size_t x)
{
	int l = 0;
	while (((size_t)1 << l) < x)
		l++;
	return l;
}

/* Retired items not yet freed, as the library counts them.  (Until the
 * slab, this was the allocator's live allocations minus the count; slab
 * slots are freed to the dictionary, not to the allocator, so the allocator
 * no longer sees reclamation.  The allocator's view is checked in bytes:
 * BYTES_BOUND in the monitor, and reuse after a reader stall.) */
long backlog(void)
{
	struct lfd_stats st;
	lfd_stats(D, &st);
	return (long)st.backlog;
}

/* The monitor thread: a round every 50 ms until mon_stop. */
void *monitor_main(void *arg)
{
	double t0 = now(), last = t0, next_stall = t0 + 0.2;
	long last_ops = 0;
	(void)arg;
	/* seq_cst: pairs with main's store (the stop flags) */
	while (!atomic_load_explicit(&mon_stop, SEQ)) {
		sleep_s(0.05);
		double t = now();
		struct lfd_stats st;
		lfd_stats(D, &st);
		size_t need = td_target_buckets(st.count);
		if (need > st.max_buckets)
			need = st.max_buckets;
		int lag = log2ceil(need) - log2ceil(st.buckets);
		if (lag > max_lag)
			max_lag = lag;
		{
			long b = (long)st.backlog;
			/* seq_cst: a recent figure for the bound */
			long bytes = atomic_load_explicit(&a_live_bytes, SEQ);

			if (b > max_backlog)
				max_backlog = b;
			if (st.count > max_count)
				max_count = st.count;
			if (rs_bytes_after >= 0 && b > rs_post_peak)
				rs_post_peak = b;
			CHECK(b <= BACKLOG_BOUND(st.count),
			      "reclamation backlog %ld items (count %zu): over "
			      "the bound %ld", b, st.count,
			      BACKLOG_BOUND(st.count));
			CHECK(bytes <= BYTES_BOUND(max_count),
			      "allocator holds %ld bytes (largest count %zu): "
			      "over the bound %ld", bytes, max_count,
			      BYTES_BOUND(max_count));
			last_throttled = st.throttled;
		}
		if ((O.mode->stall == STALL_SIGNAL ||
		     O.mode->stall == STALL_ALLOC) && t >= next_stall && nW > 1) {
			stall_worker0();
			next_stall = now() +
				     (O.mode->stall == STALL_SIGNAL ? 0.1 : 0.05);
		}
		if (O.mode->stall == STALL_READER)
			reader_stall_step(t - t0);
		if (O.verbose && t - last >= O.interval) {
			long ops = live_ops();
			/* seq_cst loads: recent figures for the line */
			printf("  t=%.1fs ops=%ld (%.0f/s) count=%zu buckets=%zu "
			       "grows=%" PRIu64 " shrinks=%" PRIu64 " live_allocs=%ld "
			       "live_bytes=%ld backlog=%zu paused=%" PRIu64
			       " windows=%ld checked_ops=%ld "
			       "violations=%ld\n", t - t0, ops,
			       (double)(ops - last_ops) / (t - last), st.count,
			       st.buckets, st.grows, st.shrinks,
			       atomic_load_explicit(&a_live, SEQ),
			       atomic_load_explicit(&a_live_bytes, SEQ),
			       st.backlog, st.throttled,
			       atomic_load_explicit(&h_windows, SEQ),
			       atomic_load_explicit(&h_ops, SEQ),
			       atomic_load_explicit(&n_viol, SEQ));
			fflush(stdout);
			last = t;
			last_ops = ops;
		}
	}
	reader_stall_end();
	return NULL;
}

/* The trimmer thread: lfd_trim every 100-300 ms until mon_stop, every
 * return 0 (it is the only trimmer: never -EBUSY), or -ENOMEM when the
 * allocator failed its allocation (enomem mode).  The blocks it frees
 * go through the torture's allocator, which poisons and quarantines them:
 * a slot still in use in a freed block shows as a bad key or value. */
/* seq_cst RMWs: counts, read after the trimmer is joined. */
atomic_long trims, trim_bytes, trims_enomem;

void *trimmer_main(void *arg)
{
	struct rng r;

	(void)arg;
	rng_init(&r, 0x7472696dull); /* its own stream */
	if (O.flavor == F_MEMB)
		urcu_memb_register_thread();
	/* seq_cst, both loads of mon_stop: see monitor_main */
	while (!atomic_load_explicit(&mon_stop, SEQ)) {
		size_t freed = 0;
		int rc;

		sleep_s(0.1 + 0.2 * (double)rng_below(&r, 1000) / 1000.0);
		if (atomic_load_explicit(&mon_stop, SEQ))
			break;
		long inj = tl_injected + tl_injected_maybe;
		rc = lfd_trim(D, &freed);
		/* -ENOMEM only when this thread's allocation was failed
		 * (enomem mode: the trim's array of blocks) */
		CHECK(rc == 0 || (rc == -ENOMEM &&
				  tl_injected + tl_injected_maybe != inj),
		      "lfd_trim returned %d", rc);
		/* seq_cst: see trims */
		if (rc == -ENOMEM)
			atomic_fetch_add_explicit(&trims_enomem, 1, SEQ);
		if (rc == 0) {
			atomic_fetch_add_explicit(&trims, 1, SEQ);
			atomic_fetch_add_explicit(&trim_bytes, (long)freed,
						  SEQ);
		}
	}
	if (O.flavor == F_MEMB)
		urcu_memb_unregister_thread();
	return NULL;
}

/*
 * The hang check, every watchdog round (also while the workers are joined
 * at the end): a worker that has used O.hang seconds of CPU inside one call
 * (in_call, no call completed) ends the run with FAILURE.  Lock-free calls
 * return after microseconds of CPU; one that spins (a CAS retried forever:
 * livelock) would otherwise hold the run up until the watchdog's
 * 2 x duration + 60 s.  CPU time, not wall time: a thread preempted or
 * waiting for the torture's own locks uses none, however long it waits (256
 * threads on 2 shared cores: calls of 7.8 s wall were seen), so the limit
 * can be short without false alarms.  A call blocked for good uses none
 * either: that is the watchdog's.  since[i]: the thread's CPU time when
 * slot i was first seen in its current call, read after the loads; the use
 * is measured with a time read before them -- never more than the real use.
 */
/* seq_cst: the watchdog alone writes it (a load, then a store); main reads
 * it for the report. */
_Atomic double most_cpu_call;
/* slot_ops and nW are set: main's seq_cst store, after them, pairs with
 * the watchdog's seq_cst load before it reads them. */
atomic_int hang_armed;

/* The CPU seconds used by slot s's thread, or -1. */
static double slot_cpu(struct slot_ops *s)
{
	struct timespec ts;

	/* acquire: pairs with slot_take's release of clk_set, which
	 * publishes clk (so relaxed is enough for it) */
	if (!atomic_load_explicit(&s->clk_set, memory_order_acquire) ||
	    clock_gettime(atomic_load_explicit(&s->clk, RLX), &ts) != 0)
		return -1;
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void hang_check(long *last_v, double *since)
{
	for (unsigned i = 0; i <= nW; i++) { /* slot nW: the setup, in main */
		struct slot_ops *s = &slot_ops[i];
		double before = slot_cpu(s);
		/* acquire: pairs with do_key_op's release stores of in_call,
		 * so v (relaxed) is at least the count of the calls before */
		bool in = atomic_load_explicit(&s->in_call,
					       memory_order_acquire);
		long v = atomic_load_explicit(&s->v, RLX);

		if (!in || v != last_v[i] || since[i] < 0 || before < 0) {
			last_v[i] = v;
			since[i] = in ? slot_cpu(s) : -1;
			continue;
		}
		double used = before - since[i];
		/* seq_cst: see most_cpu_call */
		if (used > atomic_load_explicit(&most_cpu_call, SEQ))
			atomic_store_explicit(&most_cpu_call, used, SEQ);
		/* seq_cst: op and key, for the report; in_call's release
		 * published them */
		if (used > O.hang)
			fail_now("worker %u: its %s of key %u has used %.1f s of "
				 "CPU without returning (livelock)", i,
				 op_names[atomic_load_explicit(&s->op, SEQ)],
				 atomic_load_explicit(&s->key, SEQ), used);
	}
}

/* A hung or livelocked run must still end with FAILURE. */
/* main's seq_cst store at the end pairs with the watchdog's loads. */
atomic_int all_done;
double watchdog_secs; /* main sets it */

void *watchdog_main(void *arg)
{
	double t0 = now();
	long *last_v = NULL;
	double *since = NULL;
	(void)arg;
	/* seq_cst: see all_done and hang_armed */
	while (!atomic_load_explicit(&all_done, SEQ)) {
		sleep_s(0.2);
		if (!last_v && atomic_load_explicit(&hang_armed, SEQ)) {
			last_v = calloc(nW + 1, sizeof *last_v);
			since = calloc(nW + 1, sizeof *since);
			if (!last_v || !since)
				abort();
			for (unsigned i = 0; i <= nW; i++)
				since[i] = -1;
		}
		if (last_v)
			hang_check(last_v, since);
		/* seq_cst: see all_done */
		if (now() - t0 > watchdog_secs &&
		    !atomic_load_explicit(&all_done, SEQ))
			fail_now("watchdog: the run did not end within %.0f s "
				 "(hang or livelock)", watchdog_secs);
	}
	free(last_v);
	free(since);
	return NULL;
}
