/*
 * bench/peer.h - lfd-bench's internal interface between the harness
 * (bench/harness.c) and the peer adapters (bench/peer_*.c): struct impl,
 * the table of peers, the hash every table gets, and the few helpers the
 * harness lends the adapters.  Uses the C standard library only, and is
 * C++-clean, so that an adapter written in C++ can include it.
 *
 * Adding a peer: its adapter bench/peer_NAME.c defining peer_NAME[] (see
 * BENCH_PEERS), one line in BENCH_PEERS, one line in bench/local.mk.  A
 * C++ peer (bench/peer_NAME.cc, defining extern "C" peer_NAME[]) is built
 * only if configure found its package: its line in BENCH_PEERS goes through
 * a macro that is empty unless bench/local.mk defines LFD_BENCH_NAME.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_BENCH_PEER_H
#define LFD_BENCH_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An implementation: a peer table set up one way.  Keys are 8 bytes and
 * never 0; values are 8 bytes; the harness checks every value returned. */
struct impl {
	const char *name;
	const char *about;
	/* n: the final size (used only by presized tables) */
	void *(*create)(size_t n);
	void (*destroy)(void *t);
	void (*thread_enter)(void *t);
	void (*thread_exit)(void *t);
	/* 1 found (*v set), 0 absent */
	int (*get)(void *t, uint64_t k, uint64_t *v);
	/* 1 inserted, 0 already present */
	int (*insert)(void *t, uint64_t k, uint64_t v);
	/* 1 removed (*v set), 0 absent */
	int (*pop)(void *t, uint64_t k, uint64_t *v);
	/* compare-and-set increment of a present key; returns the retries */
	unsigned (*incr)(void *t, uint64_t k);
	/* wait until deferred work is done (no operation runs) */
	void (*quiesce)(void *t);
	size_t (*size)(void *t);
	int max_threads; /* 0: any */
	/* 1: pop is not thread-safe, so the harness refuses M and U */
	int no_concurrent_pop;
	/* Look n keys up in one call (workload G); values[i] set and found[i]
	 * = 1 for each key present, found[i] = 0 otherwise; returns the
	 * number found.  NULL: the table has no such call (G refused). */
	size_t (*get_many)(void *t, size_t n, const uint64_t *keys,
			   uint64_t *values, unsigned char *found);
};

/* The C++ peers configure found (bench/local.mk defines LFD_BENCH_NAME
 * for each one it builds); the others expand to nothing. */
#ifdef LFD_BENCH_LIBCUCKOO
#define BENCH_PEER_LIBCUCKOO(X) X(libcuckoo)
#else
#define BENCH_PEER_LIBCUCKOO(X)
#endif
#ifdef LFD_BENCH_TBB
#define BENCH_PEER_TBB(X) X(tbb)
#else
#define BENCH_PEER_TBB(X)
#endif
#ifdef LFD_BENCH_ABSL
#define BENCH_PEER_ABSL(X) X(absl)
#else
#define BENCH_PEER_ABSL(X)
#endif

/* The peers, in the order `lfd-bench -l` lists them: one line per adapter
 * file bench/peer_NAME.c (or .cc), which defines peer_NAME[], its
 * implementations, ended by an entry whose name is NULL. */
#define BENCH_PEERS(X)                                                     \
	X(lfdict)                                                          \
	X(rculfhash)                                                       \
	X(ck_ht)                                                           \
	BENCH_PEER_LIBCUCKOO(X)                                            \
	BENCH_PEER_TBB(X)                                                  \
	X(ghash)                                                           \
	BENCH_PEER_ABSL(X)                                                 \
	X(seq)

#define BENCH_PEER_DECLARE(p) extern const struct impl peer_##p[];
BENCH_PEERS(BENCH_PEER_DECLARE)

/* the hash every table gets where it takes one (murmur3's 64-bit
 * finalizer of the key) */
static inline uint64_t bench_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static inline uint64_t load_u64(const void *p)
{
	uint64_t k;

	memcpy(&k, p, sizeof(k));
	return k;
}

/* in bench/harness.c */
/* a check failed: the run exits 1; the first failure is printed */
void fail(const char *what, uint64_t key, uint64_t got, uint64_t want);
/* thread_enter and thread_exit: nothing to do; register with urcu-memb */
void nop_thread(void *t);
void memb_enter(void *t);
void memb_exit(void *t);

#ifdef __cplusplus
}
#endif

#endif /* LFD_BENCH_PEER_H */
