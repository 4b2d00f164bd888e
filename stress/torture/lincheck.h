/*
 * lincheck.h - the torture's per-key linearizability checker (lincheck.c).
 *
 * SPDX-License-Identifier: MIT
 *
 * A window of up to HCAP calls on one key, each with its invocation and
 * response stamps, is checked against a sequential single-key register
 * (absent, or a value uid): Wing & Gong search with Lowe's memoization.
 * Linearizability is local, so keys are checked alone.  The window's
 * initial state is unknown; values are unique (no uid is written twice;
 * an update that stores the value it saw again writes nothing new).
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
 * recorded on each sampled key as the OP_GET it implies (workers.c).
 * OP_CAD, OP_UPD, OP_GOC: lfd_cad, lfd_update, lfd_get_or_create. */
enum { OP_GET, OP_INS, OP_SET, OP_REP, OP_CAS, OP_POP, OP_POPIF, OP_CAD,
       OP_UPD, OP_GOC, OP_ITER, OP_COUNT, OP_SCAN, OP_CLEAR, OP_N,
       OP_NOP = OP_N };

/* lfd_update's and lfd_get_or_create's returns, as lfdict.h's LFD_KEPT,
 * LFD_INSERTED, LFD_REPLACED, LFD_REMOVED (workers.c asserts they agree). */
enum { R_KEPT, R_INSERTED, R_REPLACED, R_REMOVED };

/* The torture's update function (workers.c) decides from what it sees: on
 * an absent key it stores a fresh value; on a value of uid u, by u % 4 it
 * removes the key, stores a fresh value, keeps the value, or stores the
 * value it saw again (replaced, nothing departs).  A pinned key is never
 * removed (workers.c stores a fresh value instead; pinned keys have no
 * history).  The checker's specification of OP_UPD is this rule. */
enum upd_act { UA_INSERT, UA_REMOVE, UA_FRESH, UA_KEEP, UA_SAME };

static inline enum upd_act upd_rule(uint64_t u)
{
	static const enum upd_act by_u[4] = { UA_REMOVE, UA_FRESH, UA_KEEP,
					      UA_SAME };
	return u == 0 ? UA_INSERT : by_u[u % 4];
}

/* The return of an update that decided act. */
static inline int upd_rc(enum upd_act act)
{
	static const int rc[] = { [UA_INSERT] = R_INSERTED,
		[UA_REMOVE] = R_REMOVED, [UA_FRESH] = R_REPLACED,
		[UA_KEEP] = R_KEPT, [UA_SAME] = R_REPLACED };
	return rc[act];
}

/* The most calls in one window. */
#define HCAP 128

/* One call.  inv, resp: its invocation and response stamps, from one
 * counter (every stamp unique).  rc: its return (0-3 or -errno).  The
 * values are uids, 0 = none: a, the value the call stores (update: the
 * value its last try stored, get_or_create: the value it created); e, the
 * value it expects (cas, pop_if, cad); out, the value it returned or found
 * (cad -EAGAIN: the value reported; update: the value its last try saw). */
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
