/*
 * stall.c - lfd-torture: the stall modes.  stall and shrink-stall stop
 * worker 0 (at a signal, anywhere; or in the dictionary's allocator,
 * mid-call) and check that the others go on and that its call returns once
 * released; reader-stall keeps a reader inside its read-side section and
 * checks that memory stays bounded meanwhile and is reclaimed after.  The
 * monitor (monitor.c) drives them; stall_report prints their end lines.
 *
 * SPDX-License-Identifier: MIT
 *
 * Uses: torture.h (the options, reports, the allocator's bytes, the
 * workers' slots, the monitor's backlog()).
 */
#include <unistd.h>

#include "torture.h"

/* Set around code that takes a lock (torture.h). */
_Thread_local volatile sig_atomic_t tl_in_lock;

/* The stall modes stop worker 0 where it is: stall at a SIGUSR1 (anywhere),
 * shrink-stall in the dictionary's allocator (t_alloc, on request).  It
 * stays stopped until the monitor sets stall_release.
 * The handshake between the monitor (stall_worker0) and worker 0
 * (stall_block, stall_handler, t_alloc) is seq_cst throughout: one total
 * order of these flags' stores, loads and RMWs.  Worker 0 stores
 * stall_in_op, then stall_in (or stall_skipped); the monitor, once it
 * reads stall_in, reads stall_in_op and worker 0's count, then stores
 * stall_release, which worker 0 polls; worker 0 then clears stall_in. */
static atomic_int stall_release, stall_in, stall_in_op, stall_skipped;
atomic_int stall_req; /* shrink-stall: stop at the next allocation */
_Thread_local volatile sig_atomic_t tl_in_op, tl_stop_in_alloc;

void stall_block(int in_op)
{
	/* seq_cst: the handshake (see stall_release) */
	atomic_store_explicit(&stall_in_op, in_op, SEQ);
	atomic_store_explicit(&stall_in, 1, SEQ);
	while (!atomic_load_explicit(&stall_release, SEQ)) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	atomic_store_explicit(&stall_in, 0, SEQ);
}

void stall_handler(int sig)
{
	(void)sig;
	if (tl_in_lock) {
		/* seq_cst: tells the monitor it declined (see stall_release) */
		atomic_store_explicit(&stall_skipped, 1, SEQ);
		return;
	}
	stall_block(tl_in_op);
}

/* ------------------------------------------------------------------ */
/* stall, shrink-stall: worker 0 stopped                               */

static long stalls, stalls_mid_op, stall_progress_min = -1;
static double stall_return_max = -1;
/* After its release, worker 0 must complete a call within this time: its
 * stopped call is lock-free and runs again.  A spinning call is caught
 * sooner by the hang check (CPU time); this catches one that blocks, which
 * the watchdog alone would see only after 2 x duration + 60 s.  Generous:
 * wall time on 2 shared cores (the longest wait seen: 0.38 s). */
#define STALL_RETURN_SECS 20.0

/*
 * The stall modes: stop worker 0 -- where it is (stall: SIGUSR1), or at its
 * next allocation by the dictionary, inside an insert or a set
 * (shrink-stall) -- for 150 ms or 50 ms, then release it.
 *  - stall: the others must complete calls meanwhile (lock-free progress).
 *    Not in shrink-stall, where they may be waiting at a storm barrier for
 *    worker 0.
 *  - both: once released, worker 0 must complete its call (or finish)
 *    within STALL_RETURN_SECS, else the run ends at once with FAILURE; a
 *    call that spins instead (e.g. one that resumed at a bucket node
 *    unlinked under it and retries a CAS that can never succeed) is caught
 *    by the hang check meanwhile.
 */
void stall_worker0(void)
{
	bool sig = O.mode->stall == STALL_SIGNAL;
	double ts = now();

	/* seq_cst, every access to the handshake's flags below: see
	 * stall_release.  The reset comes before the request. */
	atomic_store_explicit(&stall_release, 0, SEQ);
	atomic_store_explicit(&stall_skipped, 0, SEQ);
	if (sig)
		pthread_kill(W[0]->tid, SIGUSR1);
	else
		atomic_store_explicit(&stall_req, 1, SEQ);
	while (!atomic_load_explicit(&stall_in, SEQ) &&
	       !atomic_load_explicit(&stall_skipped, SEQ) && now() - ts < 1)
		sleep_s(0.001);
	/* No allocation within 1 s (worker 0 waits at a barrier): withdraw
	 * the request -- unless worker 0 took it just now (the exchange
	 * races with t_alloc's: reading 0, it lost, and worker 0 stops). */
	if (!sig && !atomic_load_explicit(&stall_in, SEQ) &&
	    atomic_exchange_explicit(&stall_req, 0, SEQ) == 0)
		while (!atomic_load_explicit(&stall_in, SEQ))
			sleep_s(0.001);
	if (!atomic_load_explicit(&stall_in, SEQ)) {
		atomic_store_explicit(&stall_release, 1, SEQ);
		return;
	}
	/* worker 0 is stopped: its count of completed calls stands still
	 * (seq_cst loads of it, after the load that saw stall_in; the
	 * others' counts, live_ops: a recent sum) */
	long c0 = atomic_load_explicit(&slot_ops[0].v, SEQ);
	long o0 = live_ops() - c0;
	sleep_s(sig ? 0.15 : 0.05);
	long o1 = live_ops() - atomic_load_explicit(&slot_ops[0].v, SEQ);
	int mid = atomic_load_explicit(&stall_in_op, SEQ);
	stalls++;
	stalls_mid_op += mid;
	/* Only a window in which the others ran throughout counts: once the
	 * run's end sets stop_flag they finish and complete nothing more (a
	 * stall begun just before the end read as "no call completed", at
	 * t = 6.16 s of a 6 s run).  stop_flag is never cleared, so if it is
	 * still unset now, it was unset for the whole window (a seq_cst
	 * load, after the window's loads). */
	if (sig && !atomic_load_explicit(&stop_flag, SEQ)) {
		if (stall_progress_min < 0 || o1 - o0 < stall_progress_min)
			stall_progress_min = o1 - o0;
		CHECK(o1 > o0, "no call completed in 150 ms while worker 0 was "
		      "stopped%s", mid ? " mid-call" : "");
	}
	/* seq_cst: the release, then worker 0's count (see stall_release)
	 * and its finished flag (pairs with worker_main's store); op and
	 * key for the report, published by in_call's release */
	atomic_store_explicit(&stall_release, 1, SEQ);
	double tr = now();
	while (atomic_load_explicit(&stall_in, SEQ))
		sleep_s(0.0002);
	while (atomic_load_explicit(&slot_ops[0].v, SEQ) == c0 &&
	       !atomic_load_explicit(&W[0]->finished, SEQ)) {
		if (now() - tr > STALL_RETURN_SECS)
			fail_now("worker 0, stopped %s %s of key %u, completed no "
				 "call within %.0f s of its release: a call that "
				 "does not return",
				 mid ? "in its" : "after its",
				 op_names[atomic_load_explicit(&slot_ops[0].op,
							       SEQ)],
				 atomic_load_explicit(&slot_ops[0].key, SEQ),
				 STALL_RETURN_SECS);
		sleep_s(0.0002);
	}
	if (now() - tr > stall_return_max)
		stall_return_max = now() - tr;
}

/* ------------------------------------------------------------------ */
/* reader-stall: a reader held inside its section                      */

/* reader-stall: the allocator's bytes and the calls made when the stalled
 * reader's backlog had been reclaimed, and the backlog's peak after. */
long rs_bytes_after = -1, rs_post_peak;
static long rs_ops_after;
static long rs_peak_backlog = -1, rs_after_backlog = -1, rs_ops = -1;
/* 1 once the stalled reader is inside its section, 2 when the monitor lets
 * it go: seq_cst stores and loads between the two threads; the join orders
 * the rest. */
static atomic_int rs_hold;
/* The stalled reader's thread (the monitor starts it: reader_stall_step). */
static pthread_t rs;
static bool rs_started;

static void *reader_stall_main(void *arg)
{
	(void)arg;
	if (O.flavor == F_MEMB)
		urcu_memb_register_thread();
	lfd_read_lock(D);
	/* seq_cst: see rs_hold */
	atomic_store_explicit(&rs_hold, 1, SEQ);
	while (atomic_load_explicit(&rs_hold, SEQ) == 1)
		sleep_s(0.01);
	lfd_read_unlock(D);
	if (O.flavor == F_MEMB)
		urcu_memb_unregister_thread();
	return NULL;
}

/* reader-stall mode: the monitor pauses the workers to measure memory.
 * seq_cst: a worker counts itself in paused after its last call; the
 * monitor, once it reads paused == nW, knows every call before has
 * returned, and measures; the workers go on once they read pause_req 0. */
static atomic_int pause_req, paused;

void maybe_pause(void)
{
	/* relaxed: a cheap look before every call; a worker that misses the
	 * request makes one more call and sees it at its next look */
	if (!atomic_load_explicit(&pause_req, RLX))
		return;
	/* seq_cst: see pause_req */
	atomic_fetch_add_explicit(&paused, 1, SEQ);
	while (atomic_load_explicit(&pause_req, SEQ))
		sleep_s(0.001);
	atomic_fetch_sub_explicit(&paused, 1, SEQ);
}

/* A round of the monitor, el seconds into the run: start the stalled
 * reader at 10 %, release it at 60 % and check the memory is reclaimed. */
void reader_stall_step(double el)
{
	if (!rs_started && el > O.duration * 0.1) {
		pthread_create(&rs, NULL, reader_stall_main, NULL);
		rs_started = true;
		/* seq_cst: see rs_hold */
		while (!atomic_load_explicit(&rs_hold, SEQ))
			sleep_s(0.001);
		rs_ops = live_ops();
		rs_peak_backlog = backlog();
	} else if (rs_started && atomic_load_explicit(&rs_hold, SEQ) == 1) {
		long b = backlog();
		if (b > rs_peak_backlog)
			rs_peak_backlog = b;
		/* from 10 % to 60 % of the run: the backlog stays bounded
		 * (updates pause) */
		if (el > O.duration * 0.6) {
			rs_ops = live_ops() - rs_ops;
			CHECK(rs_ops > 0, "no update completed while a reader "
			      "was stalled");
			/* seq_cst: see rs_hold */
			atomic_store_explicit(&rs_hold, 2, SEQ);
			pthread_join(rs, NULL);
			/* pause the workers; then every retired allocation
			 * must be reclaimed (seq_cst: see pause_req; the
			 * allocator's bytes: a figure taken while they
			 * wait) */
			atomic_store_explicit(&pause_req, 1, SEQ);
			double tp = now();
			while (atomic_load_explicit(&paused, SEQ) < (int)nW &&
			       now() - tp < 30)
				sleep_s(0.001);
			int rc = lfd_barrier(D);
			CHECK(rc == 0, "lfd_barrier %d", rc);
			rs_after_backlog = backlog();
			rs_bytes_after = atomic_load_explicit(&a_live_bytes,
							      SEQ);
			rs_ops_after = live_ops();
			/* seq_cst: the workers go on (see pause_req) */
			atomic_store_explicit(&pause_req, 0, SEQ);
			if (O.verbose)
				printf("  reader stall: %ld calls during it, "
				       "backlog peak %ld items, %ld after "
				       "release + lfd_barrier\n", rs_ops,
				       rs_peak_backlog, rs_after_backlog);
			CHECK(rs_after_backlog < 1000, "memory not reclaimed "
			      "after the stalled reader left: backlog %ld "
			      "(peak %ld)", rs_after_backlog, rs_peak_backlog);
		}
	}
}

/* At the monitor's end: the stalled reader gone, and the memory reused
 * after it left. */
void reader_stall_end(void)
{
	/* seq_cst: see rs_hold */
	if (rs_started && atomic_load_explicit(&rs_hold, SEQ) == 1) {
		atomic_store_explicit(&rs_hold, 2, SEQ);
		pthread_join(rs, NULL);
	}
	if (rs_bytes_after >= 0) {
		/* After the reclaim, entries popped are freed to the slab and
		 * reused: the allocator grows only for the backlog in flight,
		 * not with the calls (without reuse: ~5 bytes per call). */
		/* seq_cst: a recent figure (the workers may still run) */
		long growth = atomic_load_explicit(&a_live_bytes, SEQ) -
			      rs_bytes_after;
		long calls = live_ops() - rs_ops_after;
		long slack = (1L << 20) + 64 * rs_post_peak + calls / 4;

		if (O.verbose)
			printf("  after the reader stall: allocator +%ld bytes "
			       "over %ld calls (allowed %ld)\n", growth, calls,
			       slack);
		CHECK(growth <= slack,
		      "memory not reused after the stalled reader left: the "
		      "allocator grew by %ld bytes over %ld calls (allowed %ld; "
		      "backlog peak since %ld)", growth, calls, slack,
		      rs_post_peak);
	}
}

/* The end lines (and checks) of the stall modes, before the last line. */
void stall_report(void)
{
	if (O.mode->stall == STALL_SIGNAL)
		printf("  stalls %ld (mid-call %ld), fewest calls completed by "
		       "the others during a 150 ms stall: %ld; longest wait for "
		       "worker 0's next call to return after a release: %.1f "
		       "ms\n", stalls, stalls_mid_op, stall_progress_min,
		       stall_return_max * 1e3);
	if (O.mode->stall == STALL_ALLOC)
		printf("  stalls %ld (worker 0 stopped for 50 ms in the "
		       "dictionary's allocator, mid-call); longest wait for the "
		       "stopped call to return after a release: %.1f ms\n",
		       stalls, stall_return_max * 1e3);
	if (O.mode->stall == STALL_SIGNAL || O.mode->stall == STALL_ALLOC)
		CHECK(stalls > 0, "%s mode: worker 0 was never stopped",
		      O.mode->name);
	if (O.mode->stall == STALL_READER) {
		printf("  stalled reader: %ld calls completed during the stall, "
		       "reclaim backlog peak %ld items, %ld after release "
		       "and lfd_barrier (workers paused)\n", rs_ops, rs_peak_backlog,
		       rs_after_backlog);
		CHECK(rs_after_backlog >= 0, "reader-stall mode: the stall did "
		      "not complete");
	}
}
