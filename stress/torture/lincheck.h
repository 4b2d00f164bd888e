/*
 * lincheck.h - the torture's per-key linearizability checker (lincheck.c).
 *
 * SPDX-License-Identifier: MIT
 *
 * A window of up to HCAP calls on one key, each with its invocation and
 * response stamps, is checked against a sequential single-key register
 * (absent, or a value uid): Wing & Gong search with Lowe's memoization.
 * Linearizability is local, so keys are checked alone.  The window's
 * initial state is unknown; values are unique (no uid is written twice).
 *
 * Stands alone: it uses no other torture file and none of the torture's
 * globals (a test may link lincheck.c by itself).  The torture's files get
 * it through torture.h.
 */
#ifndef LFD_LINCHECK_H
#define LFD_LINCHECK_H

#include <stdint.h>

/* The calls (the torture's op codes).  A history records the single-key
 * ones, and OP_NOP for a call that returned -ENOMEM (it had no effect);
 * OP_ITER, OP_COUNT and OP_CLEAR are never recorded; an OP_SCAN is
 * recorded on each sampled key as the OP_GET it implies (workers.c). */
enum { OP_GET, OP_INS, OP_SET, OP_REP, OP_CAS, OP_POP, OP_POPIF, OP_ITER,
       OP_COUNT, OP_SCAN, OP_CLEAR, OP_N, OP_NOP = OP_N };

/* The most calls in one window. */
#define HCAP 128

/* One call.  inv, resp: its invocation and response stamps, from one
 * counter (every stamp unique).  rc: its return (0, 1 or -errno).  The
 * values are uids, 0 = none: a, the value the call stores; e, the value it
 * expects (cas, pop_if); out, the value it returned or found. */
struct hrec {
	uint64_t inv, resp;
	uint64_t a, e, out; /* uids: argument, expected, returned */
	int8_t op, rc;
};

/* The SplitMix64 finalizer: the checker's memo hash (and the torture's
 * PRNG, util.c). */
static inline uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The n calls of rec (n <= HCAP), on one key: 1, linearizable; 0, not;
 * -1, search budget exceeded (inconclusive).  Aborts if out of memory. */
int lin_check(const struct hrec *rec, uint32_t n);

#endif
