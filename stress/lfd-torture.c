/*
 * lfd-torture.c - a torture test for lfdict (see doc/torture.md).
 *
 * SPDX-License-Identifier: MIT
 *
 * Worker threads run a random mix of every call on a shared dictionary
 * while the program checks, during the run and at its end:
 *  - values: every value is a 64-byte record from a private pool, with a
 *    magic, a unique id (uid) and the id of its key; the value destructor
 *    poisons it.  Readers (inside lfd_read_lock) check that every value they
 *    are handed is a pool record, live, and belongs to the key asked for.
 *  - accounting: every value leaves the dictionary at most once (returned by
 *    exactly one pop/pop_if/set/replace/cas) and is destroyed exactly once;
 *    at the end every value handed out is either present (visited once by
 *    a final lfd_foreach) or departed and destroyed; after lfd_destroy no
 *    value and no byte of the dictionary's allocator is live.
 *  - linearizability: every call on a sample of keys is recorded with
 *    invocation and response timestamps (one global atomic clock) in
 *    windows of HCAP calls; a checker thread checks each window against a
 *    sequential single-key register (Wing & Gong search with Lowe's
 *    memoization).  Linearizability is local, so keys are checked alone.
 *    When the checker's queue is full, the thread that filled a window
 *    checks it itself: every window is checked.
 *  - iteration: pinned keys (present for the whole run) are visited exactly
 *    once by every lfd_foreach; no key is visited twice.
 *  - count: concurrent lfd_count within the bound of lfdict.h; exact at
 *    quiescence.
 *  - resize: bucket count converged after lfd_barrier (storm phases, end).
 *  - progress: a call that has not returned after --hang seconds ends the
 *    run with FAILURE (livelock, deadlock); so does a run that does not end.
 * The last line is SUCCESS or FAILURE with totals; exit 0 only on SUCCESS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include <lfdict.h>

#include "../tests/rcu_pthread.h"

/* urcu-bp's flavour (its header's macros would clash with urcu-memb's). */
extern const struct rcu_flavor_struct urcu_bp_flavor;

#if defined(__SANITIZE_THREAD__)
#define T_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define T_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif
#ifndef T_TSAN
#define T_TSAN 0
#endif
#ifndef T_ASAN
#define T_ASAN 0
#endif

#define RLX memory_order_relaxed

/* ------------------------------------------------------------------ */
/* options                                                             */

enum { OP_GET, OP_INS, OP_SET, OP_REP, OP_CAS, OP_POP, OP_POPIF, OP_ITER,
       OP_COUNT, OP_N, OP_NOP = OP_N };
static const char *const op_names[OP_N] = { "get", "insert", "set",
	"replace", "cas", "pop", "pop_if", "iterate", "count" };

enum mode { M_MIXED, M_STORM, M_CHAIN, M_HOT, M_OVERSUB, M_CHURN, M_STALL,
	    M_ENOMEM, M_RSTALL, M_SSTALL, M_N };
static const char *const mode_names[M_N] = { "mixed", "storm", "chain",
	"hot", "oversub", "churn", "stall", "enomem", "reader-stall",
	"shrink-stall" };

enum flav { F_BP, F_MEMB, F_PTHREAD };
static const char *const flav_names[] = { "bp", "memb", "pthread" };

static struct opts {
	enum mode mode;
	double duration;
	unsigned threads;
	uint32_t keys;
	uint32_t pinned;
	uint32_t hkeys;
	unsigned mix[OP_N];
	bool dtor;
	enum flav flavor;
	size_t capacity, max_capacity;
	bool fixed;
	uint64_t seed;
	int verbose;
	double interval;
	unsigned enomem_rate; /* 1 in N allocations fail; 0: none */
	unsigned churn_ops;
	double hang; /* CPU seconds in one call that make a FAILURE */
} O;

static const struct rcu_flavor_struct *FL;

/* ------------------------------------------------------------------ */
/* time, PRNG, failure reports                                         */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
	struct timespec ts;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct rng {
	uint64_t s;
};

static void rng_init(struct rng *r, uint64_t stream)
{
	r->s = mix64(O.seed ^ mix64(stream * 0x2545f4914f6cdd1dull + 1));
}

static uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	return mix64(r->s);
}

static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

static atomic_long n_viol;
static atomic_int stop_flag;
/* When the run started: reports say how far into it they came (the time to
 * detection of stress/broken-builds.sh). */
static double t_start;

static void viol(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void viol(const char *fmt, ...)
{
	long n = atomic_fetch_add(&n_viol, 1);
	if (n < 20) {
		char buf[512];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, sizeof buf, fmt, ap);
		va_end(ap);
		printf("VIOLATION: %s (seed %" PRIu64 ", t=%.2f s)\n", buf,
		       O.seed, now() - t_start);
		fflush(stdout);
	}
}

/* End the run at once with a FAILURE line: for a hang, where the normal end
 * (joining the workers) would wait forever. */
static void fail_now(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_now(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	printf("FAILURE: mode=%s seed=%" PRIu64 " t=%.2f s %s; violations=%ld\n",
	       mode_names[O.mode], O.seed, now() - t_start, buf,
	       atomic_load(&n_viol));
	fflush(stdout);
	_exit(1);
}

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond))                                                  \
			viol(__VA_ARGS__);                                    \
	} while (0)

/* Set around code that takes a lock (allocator, pool): the stall signal
 * handler does not stall a thread there (it would block the others for a
 * reason that is not lfdict's). */
static _Thread_local volatile sig_atomic_t tl_in_lock;

/* The stall modes stop worker 0 where it is: stall at a SIGUSR1 (anywhere),
 * shrink-stall in the dictionary's allocator (t_alloc, on request).  It
 * stays stopped until the monitor sets stall_release. */
static atomic_int stall_release, stall_in, stall_in_op, stall_skipped;
static atomic_int stall_req; /* shrink-stall: stop at the next allocation */
static _Thread_local volatile sig_atomic_t tl_in_op, tl_stop_in_alloc;

static void stall_block(int in_op)
{
	atomic_store(&stall_in_op, in_op);
	atomic_store(&stall_in, 1);
	while (!atomic_load(&stall_release)) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	atomic_store(&stall_in, 0);
}

static void stall_handler(int sig)
{
	(void)sig;
	if (tl_in_lock) {
		atomic_store(&stall_skipped, 1);
		return;
	}
	stall_block(tl_in_op);
}

/* ------------------------------------------------------------------ */
/* the dictionary's allocator: counting, poisoning, fault injecting    */

#define A_HDR 16
#define A_LIVE 0xa110c8ed5afe1234ull
#define A_DEAD 0xdeadf4eed0000000ull
#define A_QUAR 4096

static atomic_uint a_rate;
static atomic_long a_live, a_live_bytes, a_bad_free, a_injected, a_calls;
static atomic_long a_peak_bytes;
static pthread_mutex_t a_qlock = PTHREAD_MUTEX_INITIALIZER;
static void *a_quar[A_QUAR];
static size_t a_qpos;
static _Thread_local long tl_injected, tl_injected_maybe;
static _Thread_local struct rng tl_arng;
static _Thread_local int tl_arng_init;

static void *t_alloc(size_t size, void *arg)
{
	(void)arg;
	/* shrink-stall: worker 0 stops here when asked.  lfdict allocates an
	 * entry inside an insert or a set, between its search and its link
	 * (and a record before a value swap), inside the call's read-side
	 * section: the stop lands mid-call, at a point where the call has
	 * already chosen its bucket.  The other threads (and the resizer)
	 * go on meanwhile. */
	if (tl_stop_in_alloc && !tl_in_lock &&
	    atomic_load_explicit(&stall_req, RLX) &&
	    atomic_exchange(&stall_req, 0))
		stall_block(1);
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
	atomic_fetch_add_explicit(&a_live, 1, RLX);
	long b = atomic_fetch_add_explicit(&a_live_bytes, (long)size, RLX) +
		 (long)size;
	if (b > atomic_load_explicit(&a_peak_bytes, RLX))
		atomic_store_explicit(&a_peak_bytes, b, RLX);
	return p + A_HDR;
}

static void t_free(void *ptr, size_t size, void *arg)
{
	(void)arg;
	if (!ptr)
		return;
	unsigned char *p = (unsigned char *)ptr - A_HDR;
	uint64_t hdr[2];
	memcpy(hdr, p, sizeof hdr);
	if (hdr[0] != A_LIVE || hdr[1] != size) {
		atomic_fetch_add(&a_bad_free, 1);
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

static void a_quar_flush(void)
{
	for (size_t i = 0; i < A_QUAR; i++) {
		free(a_quar[i]);
		a_quar[i] = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* keys                                                                */

#define KEYMAX 8

static size_t mkkey(uint32_t id, unsigned char *buf)
{
	size_t len = 4 + id % 5;
	memcpy(buf, &id, 4);
	for (size_t i = 4; i < len; i++)
		buf[i] = (unsigned char)(id * 31u + (uint32_t)i);
	return len;
}

/* The id of a key we made, or -1. */
static int64_t parsekey(const void *k, size_t len)
{
	unsigned char buf[KEYMAX];
	uint32_t id;

	if (len < 4 || len > KEYMAX)
		return -1;
	memcpy(&id, k, 4);
	if (id >= O.keys || mkkey(id, buf) != len || memcmp(buf, k, len))
		return -1;
	return id;
}

/* ------------------------------------------------------------------ */
/* values                                                              */

#define V_LIVE 0x11fe5a1e11fe5a1eull
#define V_DEAD 0xdeaddeaddeaddeadull
#define V_DEP 1u
#define V_DTOR 0x10000u
#define V_QUAR 8192
/* The value pool's address space (reserved, touched as used); --pool-mib
 * sets it.  Memcheck spends some 45 s setting up the shadow of 16 GiB. */
static size_t pool_bytes = (size_t)1 << 34;

struct tval {
	_Alignas(64) _Atomic uint64_t magic;
	_Atomic uint64_t uid;
	_Atomic uint32_t key;
	_Atomic uint32_t ev; /* departures (low 16 bits), destructions */
	_Atomic uint32_t st; /* 1: handed out, 0: free */
	uint32_t pad;
	struct rcu_head rh;
	struct tval *next;
};

static struct tval *pool;
static atomic_size_t pool_used;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tval *fifo_head, *fifo_tail;
static size_t fifo_n;
static atomic_int destroying;
static atomic_long n_dtor, n_depart;

static bool valid_val(const void *p)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)pool;
	if (a < b || (a - b) % sizeof(struct tval))
		return false;
	return (a - b) / sizeof(struct tval) <
	       atomic_load_explicit(&pool_used, RLX);
}

static void recycle(struct tval *v)
{
	if (atomic_exchange(&v->st, 0) != 1) {
		viol("value %p recycled twice", (void *)v);
		return;
	}
	tl_in_lock++;
	pthread_mutex_lock(&pool_lock);
	v->next = NULL;
	if (fifo_tail)
		fifo_tail->next = v;
	else
		fifo_head = v;
	fifo_tail = v;
	fifo_n++;
	pthread_mutex_unlock(&pool_lock);
	tl_in_lock--;
}

#define TCACHE 64

struct tcache {
	struct tval *v[TCACHE];
	unsigned n;
	uint64_t uid_hi, uid_lo;
};

static struct tval *val_new(struct tcache *c, uint32_t key)
{
	if (c->n == 0) {
		tl_in_lock++;
		pthread_mutex_lock(&pool_lock);
		while (fifo_n > V_QUAR && c->n < TCACHE / 2) {
			struct tval *v = fifo_head;
			fifo_head = v->next;
			if (!fifo_head)
				fifo_tail = NULL;
			fifo_n--;
			c->v[c->n++] = v;
		}
		pthread_mutex_unlock(&pool_lock);
		tl_in_lock--;
		if (c->n == 0) {
			size_t i = atomic_fetch_add(&pool_used, TCACHE / 2);
			if ((i + TCACHE / 2) * sizeof(struct tval) > pool_bytes) {
				fprintf(stderr, "value pool exhausted\n");
				abort();
			}
			for (unsigned k = 0; k < TCACHE / 2; k++)
				c->v[c->n++] = &pool[i + k];
		}
		for (unsigned k = 0; k < c->n; k++)
			atomic_store(&c->v[k]->st, 1);
	}
	struct tval *v = c->v[--c->n];
	atomic_store_explicit(&v->uid, c->uid_hi | ++c->uid_lo, RLX);
	atomic_store_explicit(&v->key, key, RLX);
	atomic_store_explicit(&v->ev, 0, RLX);
	atomic_store_explicit(&v->magic, V_LIVE, RLX);
	return v;
}

/* An unpublished value back to the thread's cache. */
static void val_unused(struct tcache *c, struct tval *v)
{
	if (c->n < TCACHE) {
		c->v[c->n++] = v;
		return;
	}
	atomic_store_explicit(&v->magic, V_DEAD, RLX);
	recycle(v);
}

static void tcache_drain(struct tcache *c)
{
	while (c->n) {
		struct tval *v = c->v[--c->n];
		atomic_store_explicit(&v->magic, V_DEAD, RLX);
		recycle(v);
	}
}

static void rcu_recycle(struct rcu_head *h)
{
	struct tval *v = (struct tval *)(void *)((char *)h -
						  offsetof(struct tval, rh));
	atomic_store_explicit(&v->magic, V_DEAD, RLX);
	recycle(v);
}

/* The value destructor. */
static void t_dtor(void *p, void *arg)
{
	(void)arg;
	atomic_fetch_add_explicit(&n_dtor, 1, RLX);
	if (!valid_val(p)) {
		viol("destructor called on a foreign pointer %p", p);
		return;
	}
	struct tval *v = p;
	uint64_t m = atomic_exchange_explicit(&v->magic, V_DEAD, RLX);
	CHECK(m == V_LIVE, "destructor called on a %s value %p (uid %" PRIx64
	      ")", m == V_DEAD ? "dead" : "corrupt", p,
	      atomic_load_explicit(&v->uid, RLX));
	uint32_t e = atomic_fetch_add(&v->ev, V_DTOR) + V_DTOR;
	if ((e >> 16) != 1) {
		viol("destructor ran %u times on value %p", e >> 16, p);
		return;
	}
	if ((e & 0xffff) == 1 ||
	    ((e & 0xffff) == 0 && atomic_load(&destroying)))
		recycle(v);
}

/* A call returned v as having left the dictionary. */
static void val_departed(void *p, uint32_t key, const char *what)
{
	atomic_fetch_add_explicit(&n_depart, 1, RLX);
	if (!valid_val(p)) {
		viol("%s returned a foreign pointer %p as the old value of "
		     "key %u", what, p, key);
		return;
	}
	struct tval *v = p;
	uint32_t e = atomic_fetch_add(&v->ev, V_DEP) + V_DEP;
	if ((e & 0xffff) != 1) {
		viol("value %p (key %u) returned as departed by %u calls "
		     "(last: %s)", p, key, e & 0xffff, what);
		return;
	}
	if (O.dtor) {
		if ((e >> 16) == 1)
			recycle(v);
	} else {
		FL->update_call_rcu(&v->rh, rcu_recycle);
	}
}

/* Inside a read-side section: p was handed out for key. Returns uid. */
static uint64_t val_check(const void *p, uint32_t key, const char *what)
{
	if (!valid_val(p)) {
		viol("%s of key %u returned a foreign pointer %p", what, key, p);
		return 0;
	}
	const struct tval *v = p;
	uint64_t m = atomic_load_explicit(&v->magic, RLX);
	uint32_t k = atomic_load_explicit(&v->key, RLX);
	uint64_t uid = atomic_load_explicit(&v->uid, RLX);
	if (m != V_LIVE)
		viol("%s of key %u returned a %s value %p (uid %" PRIx64 ")",
		     what, key, m == V_DEAD ? "freed (poisoned)" : "corrupt",
		     p, uid);
	else if (k != key)
		viol("%s of key %u returned value %p of key %u", what, key, p,
		     k);
	return uid;
}

/* ------------------------------------------------------------------ */
/* histories                                                           */

#define HCAP 128

struct hrec {
	uint64_t inv, resp;
	uint64_t a, e, out; /* uids: argument, expected, returned */
	int8_t op, rc;
};

struct hkey {
	_Atomic uint32_t next, done;
	struct hrec rec[HCAP];
};

struct hwin {
	struct hwin *next;
	uint32_t key, n;
	struct hrec rec[HCAP];
};

static struct hkey *hkeys;
static atomic_uint_fast64_t hclock = 1;
static pthread_mutex_t hq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hq_cond = PTHREAD_COND_INITIALIZER;
static struct hwin *hq_head;
static unsigned hq_len;
static atomic_long h_made, h_windows, h_ops, h_inconclusive, h_own,
	h_skipped, h_viol;
#define HQ_MAX 256

/* Windows this thread filled while the checker's queue was full: it checks
 * them itself (h_check_own), so that no window is ever dropped. */
static _Thread_local struct hwin *tl_own;

static void hq_push(struct hwin *w)
{
	bool queued = false;

	tl_in_lock++;
	pthread_mutex_lock(&hq_lock);
	if (hq_len < HQ_MAX) {
		w->next = hq_head;
		hq_head = w;
		hq_len++;
		pthread_cond_signal(&hq_cond);
		queued = true;
	}
	pthread_mutex_unlock(&hq_lock);
	tl_in_lock--;
	if (!queued) {
		w->next = tl_own;
		tl_own = w;
	}
}

static struct hwin *hwin_take(uint32_t key, uint32_t n)
{
	tl_in_lock++;
	struct hwin *w = malloc(sizeof *w);
	tl_in_lock--;
	if (!w) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	atomic_fetch_add_explicit(&h_made, 1, RLX);
	w->key = key;
	w->n = n;
	memcpy(w->rec, hkeys[key - O.pinned].rec, n * sizeof(struct hrec));
	return w;
}

/* Take a history slot for key, or NULL (not sampled). *skip: the key's
 * window is full; the caller must not touch the key. */
static struct hrec *h_begin(uint32_t key, bool *skip)
{
	*skip = false;
	if (key < O.pinned || key >= O.pinned + O.hkeys)
		return NULL;
	struct hkey *h = &hkeys[key - O.pinned];
	uint32_t i = atomic_fetch_add(&h->next, 1);
	if (i >= HCAP) {
		*skip = true;
		atomic_fetch_add_explicit(&h_skipped, 1, RLX);
		return NULL;
	}
	struct hrec *r = &h->rec[i];
	r->inv = atomic_fetch_add(&hclock, 1);
	return r;
}

static void h_end(uint32_t key, struct hrec *r, int op, int rc, uint64_t a,
		  uint64_t e, uint64_t out)
{
	if (!r)
		return;
	r->resp = atomic_fetch_add(&hclock, 1);
	r->op = (int8_t)(rc == -ENOMEM ? OP_NOP : op);
	r->rc = (int8_t)rc;
	r->a = a;
	r->e = e;
	r->out = out;
	struct hkey *h = &hkeys[key - O.pinned];
	if (atomic_fetch_add(&h->done, 1) + 1 == HCAP) {
		hq_push(hwin_take(key, HCAP));
		atomic_store(&h->done, 0);
		atomic_store(&h->next, 0);
	}
}

/* --- the checker: one key, a register (absent, or a value uid) ---- */

#define S_ABSENT 0ull
#define S_UNKNOWN UINT64_MAX /* the window's unknown initial state */

struct lc {
	const struct hrec *rec;
	uint32_t n;
	uint64_t *written; /* sorted uids written by the window */
	uint32_t nw;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool lc_written(const struct lc *c, uint64_t u)
{
	return bsearch(&u, c->written, c->nw, sizeof u, cmp_u64) != NULL;
}

/* The state must be u (a value); from UNKNOWN, u must not be written by
 * the window (values are unique, so it would be a later one). */
static bool st_is(const struct lc *c, uint64_t s, uint64_t u)
{
	if (u == S_ABSENT)
		return false;
	if (s == S_UNKNOWN)
		return !lc_written(c, u);
	return s == u;
}

static bool st_absent(uint64_t s)
{
	return s == S_UNKNOWN || s == S_ABSENT;
}

static bool step(const struct lc *c, uint64_t s, const struct hrec *r,
		 uint64_t *ns)
{
	switch (r->op) {
	case OP_NOP:
		*ns = s;
		return true;
	case OP_GET:
		if (r->rc == -ENOENT)
			return *ns = S_ABSENT, st_absent(s);
		return *ns = r->out, r->rc == 0 && st_is(c, s, r->out);
	case OP_INS:
		if (r->rc == 0)
			return *ns = r->a, st_absent(s);
		return *ns = r->out, r->rc == -EEXIST && st_is(c, s, r->out);
	case OP_SET:
		if (r->rc == 0)
			return *ns = r->a, st_absent(s);
		return *ns = r->a, r->rc == 1 && st_is(c, s, r->out);
	case OP_REP:
		if (r->rc == -ENOENT)
			return *ns = S_ABSENT, st_absent(s);
		return *ns = r->a, r->rc == 0 && st_is(c, s, r->out);
	case OP_CAS:
		if (r->rc == -ENOENT)
			return *ns = S_ABSENT, st_absent(s);
		if (r->rc == 0)
			return *ns = r->a, st_is(c, s, r->e);
		return *ns = r->out, r->rc == -EAGAIN && r->out != r->e &&
					     st_is(c, s, r->out);
	case OP_POP:
		if (r->rc == -ENOENT)
			return *ns = S_ABSENT, st_absent(s);
		return *ns = S_ABSENT, r->rc == 0 && st_is(c, s, r->out);
	case OP_POPIF:
		if (r->rc == -ENOENT)
			return *ns = S_ABSENT, st_absent(s);
		if (r->rc == 0)
			return *ns = S_ABSENT, st_is(c, s, r->e);
		*ns = s;
		return r->rc == -EAGAIN && s != S_ABSENT && s != r->e;
	default:
		return false;
	}
}

struct lev {
	struct lev *prev, *next, *match;
	uint64_t t;
	uint32_t id;
	bool call;
};

/* An event's sort key: its stamp (stamps are unique: one global counter),
 * then the record's index and whether it is the call. */
#define EV_SHIFT 9
_Static_assert(HCAP <= 1 << (EV_SHIFT - 1), "record index must fit");

/* Insertion sort: a window's stamps come almost in order (record i's call
 * soon after record i-1's; a return is displaced by the calls that began
 * while it ran, about the number of threads), so this costs about n x
 * threads moves -- a qsort of the events was 40 % of the checker's time. */
static void sort_nearly_sorted(uint64_t *a, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		uint64_t x = a[i];
		uint32_t j = i;

		while (j > 0 && a[j - 1] > x) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = x;
	}
}

#define BSW ((HCAP + 63) / 64)

struct cent {
	uint64_t bits[BSW];
	uint64_t s;
	bool used;
};

struct cache {
	struct cent *t;
	size_t cap, n;
};

static uint64_t cent_hash(const uint64_t *bits, uint64_t s)
{
	uint64_t h = mix64(s);
	for (int i = 0; i < BSW; i++)
		h = mix64(h ^ bits[i]);
	return h;
}

/* Insert (bits, s); false if it was there. */
static bool cache_add(struct cache *c, const uint64_t *bits, uint64_t s)
{
	if (2 * (c->n + 1) > c->cap) {
		struct cache nc = { calloc(c->cap * 2, sizeof(struct cent)),
				    c->cap * 2, 0 };
		if (!nc.t)
			abort();
		for (size_t i = 0; i < c->cap; i++)
			if (c->t[i].used)
				cache_add(&nc, c->t[i].bits, c->t[i].s);
		free(c->t);
		*c = nc;
	}
	size_t i = cent_hash(bits, s) & (c->cap - 1);
	while (c->t[i].used) {
		if (c->t[i].s == s && !memcmp(c->t[i].bits, bits, sizeof c->t[i].bits))
			return false;
		i = (i + 1) & (c->cap - 1);
	}
	c->t[i].used = true;
	c->t[i].s = s;
	memcpy(c->t[i].bits, bits, sizeof c->t[i].bits);
	c->n++;
	return true;
}

static void lift(struct lev *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	struct lev *m = e->match;
	m->prev->next = m->next;
	m->next->prev = m->prev;
}

static void unlift(struct lev *e)
{
	struct lev *m = e->match;
	m->prev->next = m;
	m->next->prev = m;
	e->prev->next = e;
	e->next->prev = e;
}

/* 1: linearizable, 0: not, -1: search budget exceeded. */
static int lin_check(const struct hrec *rec, uint32_t n)
{
	struct lc c = { rec, n, malloc((n + 1) * sizeof(uint64_t)), 0 };
	struct lev *ev = calloc(2 * n + 2, sizeof *ev);
	struct lev **stk = malloc((n + 1) * sizeof *stk);
	uint64_t *sst = malloc((n + 1) * sizeof *sst);
	struct cache cache = { calloc(1024, sizeof(struct cent)), 1024, 0 };
	uint64_t bits[BSW] = { 0 };
	int res = 1;

	if (!c.written || !ev || !stk || !sst || !cache.t)
		abort();
	for (uint32_t i = 0; i < n; i++)
		if (rec[i].op == OP_INS || rec[i].op == OP_SET ||
		    rec[i].op == OP_REP || rec[i].op == OP_CAS)
			c.written[c.nw++] = rec[i].a;
	qsort(c.written, c.nw, sizeof(uint64_t), cmp_u64);
	uint64_t ord[2 * HCAP];
	for (uint32_t i = 0; i < n; i++) {
		ord[2 * i] = rec[i].inv << EV_SHIFT | i << 1 | 1u;
		ord[2 * i + 1] = rec[i].resp << EV_SHIFT | i << 1;
	}
	sort_nearly_sorted(ord, 2 * n);
	for (uint32_t i = 0; i < 2 * n; i++)
		ev[i] = (struct lev){ .t = ord[i] >> EV_SHIFT,
				      .id = (uint32_t)(ord[i] >> 1) &
					    ((1u << (EV_SHIFT - 1)) - 1),
				      .call = ord[i] & 1u };
	struct lev *callof[HCAP], *retof[HCAP];
	for (uint32_t i = 0; i < 2 * n; i++)
		(ev[i].call ? callof : retof)[ev[i].id] = &ev[i];
	struct lev *head = &ev[2 * n], *tail = &ev[2 * n + 1];
	head->next = n ? &ev[0] : tail;
	tail->prev = n ? &ev[2 * n - 1] : head;
	for (uint32_t i = 0; i < 2 * n; i++) {
		ev[i].prev = i ? &ev[i - 1] : head;
		ev[i].next = i + 1 < 2 * n ? &ev[i + 1] : tail;
	}
	for (uint32_t i = 0; i < n; i++)
		callof[i]->match = retof[i];

	uint64_t s = S_UNKNOWN;
	uint32_t sp = 0;
	long budget = 2000000;
	struct lev *e = head->next;
	while (head->next != tail) {
		if (--budget < 0) {
			res = -1;
			break;
		}
		if (e->call) {
			uint64_t ns;
			uint32_t id = e->id;
			if (step(&c, s, &rec[id], &ns)) {
				bits[id / 64] |= 1ull << (id % 64);
				if (cache_add(&cache, bits, ns)) {
					stk[sp] = e;
					sst[sp++] = s;
					s = ns;
					lift(e);
					e = head->next;
					continue;
				}
				bits[id / 64] &= ~(1ull << (id % 64));
			}
			e = e->next;
		} else {
			if (sp == 0) {
				res = 0;
				break;
			}
			e = stk[--sp];
			s = sst[sp];
			bits[e->id / 64] &= ~(1ull << (e->id % 64));
			unlift(e);
			e = e->next;
		}
	}
	free(c.written);
	free(ev);
	free(stk);
	free(sst);
	free(cache.t);
	return res;
}

static void dump_window(const struct hwin *w)
{
	char name[128];
	snprintf(name, sizeof name, "lfd-torture-lin-%" PRIu64 "-key%u.txt",
		 O.seed, w->key);
	FILE *f = fopen(name, "w");
	if (!f)
		return;
	fprintf(f, "# key %u: %u calls (inv resp op rc arg expected out; "
		   "uids in hex, 0 = none)\n", w->key, w->n);
	for (uint32_t i = 0; i < w->n; i++) {
		const struct hrec *r = &w->rec[i];
		fprintf(f, "%" PRIu64 " %" PRIu64 " %s %d %" PRIx64 " %" PRIx64
			   " %" PRIx64 "\n", r->inv, r->resp,
			r->op == OP_NOP ? "enomem" : op_names[(int)r->op],
			r->rc, r->a, r->e, r->out);
	}
	fclose(f);
	printf("  history of the failing window written to %s\n", name);
}

static void check_window(struct hwin *w)
{
	int r = lin_check(w->rec, w->n);
	atomic_fetch_add(&h_windows, 1);
	atomic_fetch_add(&h_ops, w->n);
	if (r < 0)
		atomic_fetch_add(&h_inconclusive, 1);
	if (r == 0) {
		atomic_fetch_add(&h_viol, 1);
		viol("history of key %u (%u calls) is not linearizable", w->key,
		     w->n);
		if (atomic_load(&h_viol) == 1)
			dump_window(w);
	}
	free(w);
}

/* Check the windows this thread kept (h_own): the threads that fill windows
 * pay for the checking the checker thread cannot keep up with (hot, chain,
 * oversub fill windows faster than one thread on a shared core checks
 * them), so the run slows down instead of dropping windows.  Called outside
 * any read-side section: a check takes tens of microseconds and would hold
 * back grace periods. */
static void h_check_own(void)
{
	while (tl_own) {
		struct hwin *w = tl_own;

		tl_own = w->next;
		atomic_fetch_add_explicit(&h_own, 1, RLX);
		tl_in_lock++; /* it allocates: no stall signal in there */
		check_window(w);
		tl_in_lock--;
	}
}

static atomic_int checker_stop;

static void *checker_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&hq_lock);
	for (;;) {
		while (!hq_head && !atomic_load(&checker_stop))
			pthread_cond_wait(&hq_cond, &hq_lock);
		if (!hq_head)
			break;
		struct hwin *w = hq_head;
		hq_head = w->next;
		hq_len--;
		pthread_mutex_unlock(&hq_lock);
		check_window(w);
		pthread_mutex_lock(&hq_lock);
	}
	pthread_mutex_unlock(&hq_lock);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* the dictionary, global counters                                     */

static struct lfd *D;
static atomic_long upd_begun, upd_ended, net_count;
static atomic_long tot_ok[OP_N], tot_fail[OP_N], tot_enomem;
static atomic_long n_iter_checked, n_count_checked, n_storm_checks;
static atomic_long threads_started;

struct worker {
	pthread_t tid;
	unsigned idx;
	uint64_t stream;
	struct rng r;
	struct tcache cache;
	_Atomic long ok[OP_N], fail[OP_N], enomem;
	atomic_int finished;
	long limit; /* churn: ops before leaving; 0: until stop */
	unsigned char *seen;
	uint32_t storm_lo, storm_hi; /* this worker's share of storm keys */
};

struct slot_ops {
	_Atomic long v;		/* calls completed */
	_Atomic int in_call;	/* inside do_key_op (the hang check) */
	_Atomic int op;		/* its call and key, for the report */
	_Atomic uint32_t key;
	_Atomic clockid_t clk;	/* the CPU clock of the slot's thread */
	_Atomic int clk_set;
	char pad[36];
};
static struct slot_ops *slot_ops; /* per worker slot, survives churn */
static struct worker **W;
static unsigned nW;
static pthread_barrier_t storm_bar;
static int storm_stop; /* written by worker 0 between barriers */

static void count_op(struct worker *w, int op, int rc)
{
	if (rc == -ENOMEM) {
		atomic_fetch_add_explicit(&w->enomem, 1, RLX);
		return;
	}
	if (rc >= 0)
		atomic_fetch_add_explicit(&w->ok[op], 1, RLX);
	else
		atomic_fetch_add_explicit(&w->fail[op], 1, RLX);
	atomic_fetch_add_explicit(&slot_ops[w->idx].v, 1, RLX);
}

/* Before a call: the calling thread's injected failures so far (definite
 * ones returned; the 16-byte "maybe" ones kept aside, see t_alloc). */
static _Thread_local long tl_maybe_snap;

static long inj_snap(void)
{
	tl_maybe_snap = tl_injected_maybe;
	return tl_injected;
}

static void check_rc(int op, uint32_t key, int rc, long inj_before)
{
	bool injected = tl_injected != inj_before;
	bool maybe = tl_injected_maybe != tl_maybe_snap;
	if (rc == -ENOMEM)
		CHECK(injected || maybe, "%s of key %u returned -ENOMEM with no "
		      "allocation failure injected", op_names[op], key);
	else if (injected)
		viol("%s of key %u: an allocation failed but the call returned "
		     "%d, not -ENOMEM", op_names[op], key, rc);
	static const int ok[OP_N][4] = {
		[OP_GET] = { 0, -ENOENT, 0, 0 },
		[OP_INS] = { 0, -EEXIST, 0, 0 },
		[OP_SET] = { 0, 1, 0, 0 },
		[OP_REP] = { 0, -ENOENT, 0, 0 },
		[OP_CAS] = { 0, -ENOENT, -EAGAIN, 0 },
		[OP_POP] = { 0, -ENOENT, 0, 0 },
		[OP_POPIF] = { 0, -ENOENT, -EAGAIN, 0 },
	};
	if (rc == -ENOMEM)
		return;
	for (int i = 0; i < 3; i++)
		if (ok[op][i] == rc)
			return;
	viol("%s of key %u returned %d (%s)", op_names[op], key, rc,
	     lfd_strerror(rc));
}

/* The count-changing calls: begun/ended around them, net updated. */
static void upd_begin(void)
{
	atomic_fetch_add(&upd_begun, 1);
}

static void upd_end(long delta)
{
	if (delta)
		atomic_fetch_add(&net_count, delta);
	atomic_fetch_add(&upd_ended, 1);
}

struct iter_ctx {
	unsigned char *seen;
	long visits, bad;
};

static int iter_fn(void *arg, const void *key, size_t len, void *value)
{
	struct iter_ctx *c = arg;
	int64_t id = parsekey(key, len);
	c->visits++;
	if (id < 0) {
		viol("lfd_foreach visited a foreign key (len %zu)", len);
		c->bad++;
		return 0;
	}
	if (c->seen[id]) {
		viol("lfd_foreach visited key %" PRId64 " twice", id);
		c->bad++;
	}
	c->seen[id] = 1;
	val_check(value, (uint32_t)id, "lfd_foreach");
	return 0;
}

static void do_iterate(struct worker *w)
{
	struct iter_ctx c = { w->seen, 0, 0 };
	memset(w->seen, 0, O.keys);
	int rc = lfd_foreach(D, iter_fn, &c);
	CHECK(rc == 0, "lfd_foreach returned %d", rc);
	for (uint32_t k = 0; k < O.pinned; k++)
		if (!w->seen[k]) {
			viol("lfd_foreach missed pinned key %u", k);
			break;
		}
	atomic_fetch_add_explicit(&n_iter_checked, 1, RLX);
	count_op(w, OP_ITER, 0);
}

static void do_count(struct worker *w)
{
	long e0 = atomic_load(&upd_ended);
	long n0 = atomic_load(&net_count);
	size_t cnt = 0;
	int rc = lfd_count(D, &cnt);
	long b1 = atomic_load(&upd_begun);
	long slack = b1 - e0;
	CHECK(rc == 0, "lfd_count returned %d", rc);
	long diff = (long)cnt - n0;
	if (diff < 0)
		diff = -diff;
	CHECK(diff <= slack, "lfd_count %zu, expected %ld within %ld (updates "
	      "overlapping)", cnt, n0, slack);
	atomic_fetch_add_explicit(&n_count_checked, 1, RLX);
	count_op(w, OP_COUNT, 0);
}

static uint64_t uid_of(const void *p)
{
	return valid_val(p) ? atomic_load_explicit(
				      &((const struct tval *)p)->uid, RLX)
			    : 0;
}

/* One single-key call (op) on key, with its checks. */
static void key_op(struct worker *w, int op, uint32_t key)
{
	unsigned char kb[KEYMAX];
	size_t klen = mkkey(key, kb);
	bool pinned = key < O.pinned;
	bool skip;
	void *out = NULL;
	struct tval *nv = NULL;
	long inj;
	int rc;

	struct hrec *hr = h_begin(key, &skip);
	if (skip)
		return;
	lfd_read_lock(D);
	switch (op) {
	case OP_GET:
		inj = inj_snap();
		rc = lfd_get(D, kb, klen, &out);
		check_rc(op, key, rc, inj);
		if (pinned && rc == -ENOENT)
			viol("get: pinned key %u absent", key);
		h_end(key, hr, op, rc, 0, 0,
		      rc == 0 ? val_check(out, key, "get") : 0);
		break;
	case OP_INS:
	case OP_SET:
	case OP_REP: {
		/* The three calls that store a new value: the same signature,
		 * different returns (lfdict.h).  stored: nv is in the
		 * dictionary; grew: the count went up by one; has_old: *out
		 * (insert: *current) is the value found there. */
		static int (*const call[])(struct lfd *, const void *, size_t,
					    void *, void **) = {
			[OP_INS] = lfd_insert, [OP_SET] = lfd_set,
			[OP_REP] = lfd_replace,
		};
		static const char *const old_what[] = {
			[OP_INS] = "insert -EEXIST", [OP_SET] = "set's old",
			[OP_REP] = "replace's old",
		};
		nv = val_new(&w->cache, key);
		if (op != OP_REP)
			upd_begin();
		inj = inj_snap();
		rc = call[op](D, kb, klen, nv, &out);
		check_rc(op, key, rc, inj);
		bool stored = op == OP_SET ? rc >= 0 : rc == 0;
		bool grew = op != OP_REP && rc == 0;
		bool has_old = op == OP_INS ? rc == -EEXIST
			       : op == OP_SET ? rc == 1 : rc == 0;
		if (op != OP_REP)
			upd_end(grew);
		if (op == OP_INS && rc == 0)
			CHECK(out == nv, "insert of key %u: *current %p, not the "
			      "value inserted %p", key, out, (void *)nv);
		h_end(key, hr, op, rc, uid_of(nv), 0,
		      has_old ? val_check(out, key, old_what[op]) : 0);
		if (!stored)
			val_unused(&w->cache, nv);
		if (op == OP_REP && pinned && rc == -ENOENT)
			viol("replace: pinned key %u absent", key);
		break;
	}
	case OP_POP:
		upd_begin();
		inj = inj_snap();
		rc = lfd_pop(D, kb, klen, &out);
		check_rc(op, key, rc, inj);
		upd_end(rc == 0 ? -1 : 0);
		h_end(key, hr, op, rc, 0, 0,
		      rc == 0 ? val_check(out, key, "pop") : 0);
		break;
	case OP_CAS:
	case OP_POPIF: {
		/* expected: the value a get sees now (same section: its uid
		 * stays that value's), or, if absent, a value never stored. */
		void *exp = NULL;
		uint64_t euid;
		inj = inj_snap();
		rc = lfd_get(D, kb, klen, &exp);
		check_rc(OP_GET, key, rc, inj);
		if (rc == 0) {
			euid = val_check(exp, key, "get");
		} else {
			exp = nv = val_new(&w->cache, key);
			euid = uid_of(nv);
		}
		h_end(key, hr, OP_GET, rc, 0, 0, rc == 0 ? euid : 0);
		hr = h_begin(key, &skip);
		if (skip) {
			lfd_read_unlock(D);
			count_op(w, OP_GET, rc);
			if (nv)
				val_unused(&w->cache, nv);
			return;
		}
		struct tval *dv = op == OP_CAS ? val_new(&w->cache, key) : NULL;
		if (op == OP_CAS) {
			inj = inj_snap();
			rc = lfd_cas(D, kb, klen, exp, dv, &out);
		} else {
			upd_begin();
			inj = inj_snap();
			rc = lfd_pop_if(D, kb, klen, exp);
			upd_end(rc == 0 ? -1 : 0);
		}
		check_rc(op, key, rc, inj);
		uint64_t o = 0;
		if (op == OP_CAS && rc == 0)
			CHECK(out == exp, "cas of key %u: *current %p, not the "
			      "expected %p", key, out, exp);
		if (op == OP_CAS && rc == -EAGAIN)
			o = val_check(out, key, "cas -EAGAIN");
		h_end(key, hr, op, rc, uid_of(dv), euid, o);
		if (dv && rc != 0)
			val_unused(&w->cache, dv);
		if (rc == 0)
			out = exp;
		break;
	}
	default:
		rc = -1;
	}
	lfd_read_unlock(D);
	count_op(w, op, rc);
	if (rc == 0 && (op == OP_POP || op == OP_POPIF || op == OP_REP ||
			op == OP_CAS))
		val_departed(out, key, op_names[op]);
	if (rc == 1 && op == OP_SET)
		val_departed(out, key, "set");
	if (nv && (op == OP_CAS || op == OP_POPIF) && nv != out)
		val_unused(&w->cache, nv);
}

/* The calling thread takes slot idx: its CPU clock, for the hang check. */
static void slot_take(unsigned idx)
{
	clockid_t c;

	if (pthread_getcpuclockid(pthread_self(), &c) != 0)
		return;
	atomic_store_explicit(&slot_ops[idx].clk, c, RLX);
	/* release: pairs with the hang check's acquire */
	atomic_store_explicit(&slot_ops[idx].clk_set, 1, memory_order_release);
}

/* key_op, with in_call set around it for the hang check (release: whoever
 * sees in_call = 1 sees the count of the calls before, and the clock). */
static void do_key_op(struct worker *w, int op, uint32_t key)
{
	struct slot_ops *s = &slot_ops[w->idx];

	h_check_own();
	if (key < O.pinned && (op == OP_POP || op == OP_POPIF))
		op = OP_REP; /* pinned keys stay present */
	atomic_store_explicit(&s->op, op, RLX);
	atomic_store_explicit(&s->key, key, RLX);
	atomic_store_explicit(&s->in_call, 1, memory_order_release);
	key_op(w, op, key);
	atomic_store_explicit(&s->in_call, 0, memory_order_release);
}

static int pick_op(struct worker *w)
{
	unsigned tot = 0;
	for (int i = 0; i < OP_N; i++)
		tot += O.mix[i];
	unsigned x = (unsigned)rng_below(&w->r, tot);
	for (int i = 0; i < OP_N; i++) {
		if (x < O.mix[i])
			return i;
		x -= O.mix[i];
	}
	return OP_GET;
}

static uint32_t pick_key(struct worker *w)
{
	/* A third of the picks on the sampled keys, so that windows fill. */
	if (O.hkeys && rng_below(&w->r, 3) == 0)
		return O.pinned + (uint32_t)rng_below(&w->r, O.hkeys);
	return (uint32_t)rng_below(&w->r, O.keys);
}

/* One call of the mix; a single-key call on key. */
static void one_op_on(struct worker *w, uint32_t key)
{
	int op = pick_op(w);
	if (op == OP_ITER)
		do_iterate(w);
	else if (op == OP_COUNT)
		do_count(w);
	else
		do_key_op(w, op, key);
}

static void one_op(struct worker *w)
{
	one_op_on(w, pick_key(w));
}

/* resize storm: grow to O.keys, converge, shrink back, converge, ... */
static void storm_check(struct worker *w, const char *what)
{
	pthread_barrier_wait(&storm_bar);
	if (w->idx == 0) {
		int rc = lfd_barrier(D);
		CHECK(rc == 0, "lfd_barrier returned %d", rc);
		struct lfd_stats st;
		size_t cnt = 0;
		lfd_stats(D, &st);
		lfd_count(D, &cnt);
		long net = atomic_load(&net_count);
		CHECK((long)cnt == net, "%s: count %zu at quiescence, expected "
		      "%ld", what, cnt, net);
		size_t need = cnt; /* count <= buckets (lfd_barrier) */
		if (need > st.max_buckets)
			need = st.max_buckets;
		size_t cap = 8 * cnt < st.min_buckets ? st.min_buckets : 8 * cnt;
		CHECK(st.buckets >= need && st.buckets <= cap && !st.resizing,
		      "%s: resize did not converge: buckets %zu for count %zu "
		      "(want [%zu, %zu]), resizing %d", what, st.buckets, cnt,
		      need, cap, st.resizing);
		if (O.verbose)
			printf("  storm %s: count %zu buckets %zu grows %" PRIu64
			       " shrinks %" PRIu64 "\n", what, cnt, st.buckets,
			       st.grows, st.shrinks);
		atomic_fetch_add(&n_storm_checks, 1);
	}
	pthread_barrier_wait(&storm_bar);
}

/*
 * shrink-stall: after the pops, while the table shrinks one step after the
 * other, keep inserting and popping again random keys of the share range,
 * with calls of the mix on them and on the history keys in between.  The
 * table is sparse, so most inserts link right after their bucket's node --
 * the nodes a shrink unlinks -- and the count stays low (every key inserted
 * is popped again), so the shrinking goes on down to a few buckets.  Until
 * the resize is done (or 1.5 s).
 */
static void shrink_linger(struct worker *w)
{
	double deadline = now() + 1.5;
	uint32_t lo = O.pinned + O.hkeys;

	for (unsigned i = 0;; i++) {
		if (i % 64 == 0) {
			struct lfd_stats st;

			lfd_stats(D, &st);
			if ((!st.resizing && (st.buckets <= st.min_buckets ||
					      8 * st.count >= st.buckets)) ||
			    now() > deadline)
				break;
		}
		uint32_t k = lo + (uint32_t)rng_below(&w->r, O.keys - lo);
		do_key_op(w, rng_below(&w->r, 4) ? OP_INS : OP_SET, k);
		if (i % 4 == 0)
			one_op_on(w, i % 8 || !O.hkeys ? k : O.pinned +
				  (uint32_t)rng_below(&w->r, O.hkeys));
		do_key_op(w, rng_below(&w->r, 4) ? OP_POP : OP_POPIF, k);
	}
}

/* shrink-stall runs at least this many cycles, however long they take:
 * on a machine loaded by other work a cycle can take seconds, and a run
 * with one shrink phase proves little. */
#define SSTALL_MIN_CYCLES 3

static void storm_loop(struct worker *w)
{
	for (unsigned cycles = 1;; cycles++) {
		/* grow: insert (or set) every key of our share */
		for (uint32_t k = w->storm_lo; k < w->storm_hi; k++) {
			if (k < O.pinned + O.hkeys)
				continue;
			do_key_op(w, rng_below(&w->r, 4) ? OP_INS : OP_SET, k);
			if ((k & 7) == 0)
				one_op(w);
		}
		storm_check(w, "after growth");
		for (uint32_t k = w->storm_lo; k < w->storm_hi; k++) {
			if (k < O.pinned + O.hkeys)
				continue;
			do_key_op(w, rng_below(&w->r, 4) ? OP_POP : OP_POPIF, k);
			if (rng_below(&w->r, 8) == 0)
				do_key_op(w, OP_POP, k);
			/* (shrink-stall: none, they would leave keys behind
			 * and stop the shrink early; see shrink_linger) */
			if ((k & 7) == 0 && O.mode != M_SSTALL)
				one_op(w);
		}
		if (O.mode == M_SSTALL) {
			pthread_barrier_wait(&storm_bar); /* all popped */
			shrink_linger(w);
		}
		storm_check(w, "after shrink");
		if (w->idx == 0)
			storm_stop = atomic_load(&stop_flag) &&
				     (O.mode != M_SSTALL ||
				      cycles >= SSTALL_MIN_CYCLES);
		pthread_barrier_wait(&storm_bar);
		if (storm_stop)
			break;
	}
}

/* reader-stall mode: the monitor pauses the workers to measure memory. */
static atomic_int pause_req, paused;

static void maybe_pause(void)
{
	if (!atomic_load_explicit(&pause_req, RLX))
		return;
	atomic_fetch_add(&paused, 1);
	while (atomic_load(&pause_req))
		sleep_s(0.001);
	atomic_fetch_sub(&paused, 1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	if (O.flavor == F_MEMB)
		urcu_memb_register_thread();
	atomic_fetch_add(&threads_started, 1);
	slot_take(w->idx);
	if (O.mode == M_SSTALL && w->idx == 0)
		tl_stop_in_alloc = 1;
	if (O.mode == M_STORM || O.mode == M_SSTALL) {
		storm_loop(w);
	} else {
		for (long n = 0; !atomic_load_explicit(&stop_flag, RLX); n++) {
			if (w->limit && n >= w->limit)
				break;
			maybe_pause();
			tl_in_op = 1;
			one_op(w);
			tl_in_op = 0;
		}
	}
	h_check_own();
	tcache_drain(&w->cache);
	if (O.flavor == F_MEMB)
		urcu_memb_unregister_thread();
	atomic_store(&w->finished, 1);
	return NULL;
}

static struct worker *worker_new(unsigned idx, uint64_t stream)
{
	struct worker *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	w->idx = idx;
	w->stream = stream;
	rng_init(&w->r, stream);
	w->cache.uid_hi = (stream + 1) << 40;
	w->seen = calloc(O.keys, 1);
	if (!w->seen)
		abort();
	if (O.mode == M_CHURN)
		w->limit = 100 + (long)rng_below(&w->r, O.churn_ops);
	return w;
}

static void worker_start(struct worker *w)
{
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, O.threads > 64 ? 256 * 1024 : 1 << 20);
	int rc = pthread_create(&w->tid, &at, worker_main, w);
	pthread_attr_destroy(&at);
	if (rc) {
		fprintf(stderr, "pthread_create: %s\n", strerror(rc));
		exit(2);
	}
}

static void worker_fold(struct worker *w)
{
	for (int i = 0; i < OP_N; i++) {
		atomic_fetch_add(&tot_ok[i], atomic_load(&w->ok[i]));
		atomic_fetch_add(&tot_fail[i], atomic_load(&w->fail[i]));
	}
	atomic_fetch_add(&tot_enomem, atomic_load(&w->enomem));
	free(w->seen);
	free(w);
}

static long live_ops(void)
{
	long n = 0;
	for (unsigned i = 0; i <= nW; i++)
		n += atomic_load_explicit(&slot_ops[i].v, RLX);
	return n;
}

/* ------------------------------------------------------------------ */
/* monitor: periodic lines, bucket lag, stalls                         */

static atomic_int mon_stop;
static int max_lag;
/* Reclamation backlog: allocations that are not present entries.  lfdict
 * bounds it near 2^20 + count by pausing retiring updates (lib/reclaim.c);
 * the check allows 4x that for entries + records and the check interval. */
static long max_backlog;
static uint64_t last_throttled;
#define BACKLOG_BOUND(count) (4L * ((1L << 20) + (long)(count)))
/* The allocator's bytes: at most 128 per item of the backlog bound at the
 * largest count seen (slots of <= 56 bytes, 16-byte records, bucket nodes
 * and slab blocks are kept at their peak). */
#define BYTES_BOUND(count) (128L * BACKLOG_BOUND(count))
static size_t max_count;
/* reader-stall: the allocator's bytes and the calls made when the stalled
 * reader's backlog had been reclaimed, and the backlog's peak after. */
static long rs_bytes_after = -1, rs_ops_after, rs_post_peak;
static long stalls, stalls_mid_op, stall_progress_min = -1;
static double stall_return_max = -1;
/* After its release, worker 0 must complete a call within this time: its
 * stopped call is lock-free and runs again.  A spinning call is caught
 * sooner by the hang check (CPU time); this catches one that blocks, which
 * the watchdog alone would see only after 2 x duration + 60 s.  Generous:
 * wall time on 2 shared cores (the longest wait seen: 0.38 s). */
#define STALL_RETURN_SECS 20.0
static long rs_peak_backlog = -1, rs_after_backlog = -1, rs_ops = -1;
static atomic_int rs_hold;

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
static long backlog(void)
{
	struct lfd_stats st;
	lfd_stats(D, &st);
	return (long)st.backlog;
}

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
static void stall_worker0(void)
{
	bool sig = O.mode == M_STALL;
	double ts = now();

	atomic_store(&stall_release, 0);
	atomic_store(&stall_skipped, 0);
	if (sig)
		pthread_kill(W[0]->tid, SIGUSR1);
	else
		atomic_store(&stall_req, 1);
	while (!atomic_load(&stall_in) && !atomic_load(&stall_skipped) &&
	       now() - ts < 1)
		sleep_s(0.001);
	/* No allocation within 1 s (worker 0 waits at a barrier): withdraw
	 * the request -- unless worker 0 took it just now. */
	if (!sig && !atomic_load(&stall_in) &&
	    atomic_exchange(&stall_req, 0) == 0)
		while (!atomic_load(&stall_in))
			sleep_s(0.001);
	if (!atomic_load(&stall_in)) {
		atomic_store(&stall_release, 1);
		return;
	}
	/* worker 0 is stopped: its count of completed calls stands still */
	long c0 = atomic_load(&slot_ops[0].v);
	long o0 = live_ops() - c0;
	sleep_s(sig ? 0.15 : 0.05);
	long o1 = live_ops() - atomic_load(&slot_ops[0].v);
	int mid = atomic_load(&stall_in_op);
	stalls++;
	stalls_mid_op += mid;
	/* Only a window in which the others ran throughout counts: once the
	 * run's end sets stop_flag they finish and complete nothing more (a
	 * stall begun just before the end read as "no call completed", at
	 * t = 6.16 s of a 6 s run).  stop_flag is never cleared, so if it is
	 * still unset now, it was unset for the whole window. */
	if (sig && !atomic_load(&stop_flag)) {
		if (stall_progress_min < 0 || o1 - o0 < stall_progress_min)
			stall_progress_min = o1 - o0;
		CHECK(o1 > o0, "no call completed in 150 ms while worker 0 was "
		      "stopped%s", mid ? " mid-call" : "");
	}
	atomic_store(&stall_release, 1);
	double tr = now();
	while (atomic_load(&stall_in))
		sleep_s(0.0002);
	while (atomic_load(&slot_ops[0].v) == c0 &&
	       !atomic_load(&W[0]->finished)) {
		if (now() - tr > STALL_RETURN_SECS)
			fail_now("worker 0, stopped %s %s of key %u, completed no "
				 "call within %.0f s of its release: a call that "
				 "does not return",
				 mid ? "in its" : "after its",
				 op_names[atomic_load(&slot_ops[0].op)],
				 atomic_load(&slot_ops[0].key), STALL_RETURN_SECS);
		sleep_s(0.0002);
	}
	if (now() - tr > stall_return_max)
		stall_return_max = now() - tr;
}

static void *reader_stall_main(void *arg)
{
	(void)arg;
	if (O.flavor == F_MEMB)
		urcu_memb_register_thread();
	lfd_read_lock(D);
	atomic_store(&rs_hold, 1);
	while (atomic_load(&rs_hold) == 1)
		sleep_s(0.01);
	lfd_read_unlock(D);
	if (O.flavor == F_MEMB)
		urcu_memb_unregister_thread();
	return NULL;
}

static void *monitor_main(void *arg)
{
	double t0 = now(), last = t0, next_stall = t0 + 0.2;
	long last_ops = 0;
	(void)arg;
	pthread_t rs;
	bool rs_started = false;
	while (!atomic_load(&mon_stop)) {
		sleep_s(0.05);
		double t = now();
		struct lfd_stats st;
		lfd_stats(D, &st);
		size_t need = st.count > st.max_buckets ? st.max_buckets
							 : st.count;
		int lag = log2ceil(need) - log2ceil(st.buckets);
		if (lag > max_lag)
			max_lag = lag;
		{
			long b = (long)st.backlog;
			long bytes = atomic_load(&a_live_bytes);

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
		if ((O.mode == M_STALL || O.mode == M_SSTALL) &&
		    t >= next_stall && nW > 1) {
			stall_worker0();
			next_stall = now() + (O.mode == M_STALL ? 0.1 : 0.05);
		}
		if (O.mode == M_RSTALL) {
			double el = t - t0;
			if (!rs_started && el > O.duration * 0.1) {
				pthread_create(&rs, NULL, reader_stall_main, NULL);
				rs_started = true;
				while (!atomic_load(&rs_hold))
					sleep_s(0.001);
				rs_ops = live_ops();
				rs_peak_backlog = backlog();
			} else if (rs_started && atomic_load(&rs_hold) == 1) {
				long b = backlog();
				if (b > rs_peak_backlog)
					rs_peak_backlog = b;
				/* from 10 % to 60 % of the run: the
				 * backlog stays bounded (updates pause) */
				if (el > O.duration * 0.6) {
					rs_ops = live_ops() - rs_ops;
					CHECK(rs_ops > 0, "no update completed "
					      "while a reader was stalled");
					atomic_store(&rs_hold, 2);
					pthread_join(rs, NULL);
					/* pause the workers; then every retired
					 * allocation must be reclaimed */
					atomic_store(&pause_req, 1);
					double tp = now();
					while (atomic_load(&paused) < (int)nW &&
					       now() - tp < 30)
						sleep_s(0.001);
					int rc = lfd_barrier(D);
					CHECK(rc == 0, "lfd_barrier %d", rc);
					rs_after_backlog = backlog();
					rs_bytes_after = atomic_load(&a_live_bytes);
					rs_ops_after = live_ops();
					atomic_store(&pause_req, 0);
					if (O.verbose)
						printf("  reader stall: %ld calls "
						       "during it, backlog peak %ld "
						       "items, %ld after "
						       "release + lfd_barrier\n",
						       rs_ops, rs_peak_backlog,
						       rs_after_backlog);
					CHECK(rs_after_backlog < 1000,
					      "memory not reclaimed after the "
					      "stalled reader left: backlog %ld "
					      "(peak %ld)", rs_after_backlog,
					      rs_peak_backlog);
				}
			}
		}
		if (O.verbose && t - last >= O.interval) {
			long ops = live_ops();
			printf("  t=%.1fs ops=%ld (%.0f/s) count=%zu buckets=%zu "
			       "grows=%" PRIu64 " shrinks=%" PRIu64 " live_allocs=%ld "
			       "live_bytes=%ld backlog=%zu paused=%" PRIu64
			       " windows=%ld checked_ops=%ld "
			       "violations=%ld\n", t - t0, ops,
			       (double)(ops - last_ops) / (t - last), st.count,
			       st.buckets, st.grows, st.shrinks,
			       atomic_load(&a_live), atomic_load(&a_live_bytes),
			       st.backlog, st.throttled,
			       atomic_load(&h_windows), atomic_load(&h_ops),
			       atomic_load(&n_viol));
			fflush(stdout);
			last = t;
			last_ops = ops;
		}
	}
	if (rs_started && atomic_load(&rs_hold) == 1) {
		atomic_store(&rs_hold, 2);
		pthread_join(rs, NULL);
	}
	if (rs_bytes_after >= 0) {
		/* After the reclaim, entries popped are freed to the slab and
		 * reused: the allocator grows only for the backlog in flight,
		 * not with the calls (without reuse: ~5 bytes per call). */
		long growth = atomic_load(&a_live_bytes) - rs_bytes_after;
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
	return NULL;
}

/* ------------------------------------------------------------------ */
/* final checks                                                        */

struct final_ctx {
	unsigned char *kseen, *vseen;
	long visits;
};

static int final_fn(void *arg, const void *key, size_t len, void *value)
{
	struct final_ctx *c = arg;
	int64_t id = parsekey(key, len);
	c->visits++;
	if (id < 0) {
		viol("final walk: foreign key (len %zu)", len);
		return 0;
	}
	CHECK(!c->kseen[id], "final walk: key %" PRId64 " visited twice", id);
	c->kseen[id] = 1;
	val_check(value, (uint32_t)id, "final walk");
	if (valid_val(value)) {
		const struct tval *v = value;
		size_t i = (size_t)(v - pool);
		CHECK(!c->vseen[i], "final walk: value %p held by two keys",
		      value);
		c->vseen[i] = 1;
		CHECK(atomic_load(&v->ev) == 0, "final walk: value %p of key "
		      "%" PRId64 " present but returned as departed or "
		      "destroyed (ev %#x)", value, id, atomic_load(&v->ev));
	}
	return 0;
}

static long final_checks(void)
{
	long leaked = 0;
	int rc = lfd_barrier(D);
	CHECK(rc == 0, "lfd_barrier returned %d", rc);
	struct lfd_stats st;
	size_t cnt = 0;
	lfd_stats(D, &st);
	lfd_count(D, &cnt);
	long net = atomic_load(&net_count);
	CHECK((long)cnt == net, "count %zu at quiescence, expected %ld", cnt,
	      net);
	size_t need = cnt; /* count <= buckets (lfd_barrier) */
	if (need > st.max_buckets)
		need = st.max_buckets;
	size_t cap = 8 * cnt < st.min_buckets ? st.min_buckets : 8 * cnt;
	CHECK(st.buckets >= need && st.buckets <= cap && !st.resizing,
	      "resize did not converge: buckets %zu for count %zu (want [%zu, "
	      "%zu]), resizing %d", st.buckets, cnt, need, cap, st.resizing);
	printf("  end: count %zu buckets %zu (min %zu max %zu) grows %" PRIu64
	       " shrinks %" PRIu64 "\n", cnt, st.buckets, st.min_buckets,
	       st.max_buckets, st.grows, st.shrinks);

	size_t used = atomic_load(&pool_used);
	struct final_ctx c = { calloc(O.keys, 1), calloc(used + 1, 1), 0 };
	if (!c.kseen || !c.vseen)
		abort();
	rc = lfd_foreach(D, final_fn, &c);
	CHECK(rc == 0, "lfd_foreach returned %d", rc);
	CHECK(c.visits == (long)cnt, "final walk visited %ld entries, count "
	      "says %zu", c.visits, cnt);
	for (uint32_t k = 0; k < O.pinned; k++)
		if (!c.kseen[k]) {
			viol("pinned key %u missing at the end", k);
			break;
		}
	/* every value handed out is present, or was recycled (departed
	 * exactly once and destroyed exactly once) */
	long lost = 0;
	for (size_t i = 0; i < used; i++)
		if (atomic_load(&pool[i].st) == 1 && !c.vseen[i]) {
			if (!lost++)
				viol("value %p (key %u, ev %#x) lost: neither "
				     "present nor departed and destroyed",
				     (void *)&pool[i],
				     atomic_load(&pool[i].key),
				     atomic_load(&pool[i].ev));
		}
	if (lost)
		viol("%ld values lost", lost);
	atomic_store(&destroying, 1);
	rc = lfd_destroy(D);
	CHECK(rc == 0, "lfd_destroy returned %d", rc);
	D = NULL;
	if (!O.dtor)
		for (size_t i = 0; i < used; i++)
			if (c.vseen[i])
				recycle(&pool[i]);
	FL->barrier();
	for (size_t i = 0; i < used; i++)
		if (atomic_load(&pool[i].st) != 0)
			leaked++;
	if (leaked)
		viol("%ld values never destroyed (leaked)", leaked);
	if (atomic_load(&a_live) || atomic_load(&a_live_bytes)) {
		viol("dictionary allocator: %ld allocations (%ld bytes) live "
		     "after lfd_destroy", atomic_load(&a_live),
		     atomic_load(&a_live_bytes));
		leaked += atomic_load(&a_live);
	}
	free(c.kseen);
	free(c.vseen);
	return leaked;
}

/* ------------------------------------------------------------------ */
/* main                                                                */

static uint64_t chain_hash(const void *key, size_t len, void *arg)
{
	(void)key;
	(void)len;
	(void)arg;
	return 0x5bd1e995u; /* every key in one chain */
}

static void fatal_handler(int sig)
{
	char buf[160];
	int n = snprintf(buf, sizeof buf, "\nFAILURE: fatal signal %d (%s) "
			 "(seed %" PRIu64 ", t=%.2f s)\n", sig, strsignal(sig),
			 O.seed, now() - t_start);
	if (n > 0 && write(1, buf, (size_t)n) < 0)
		_exit(3);
	_exit(3);
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
static _Atomic double most_cpu_call;
static atomic_int hang_armed; /* slot_ops and nW are set */

/* The CPU seconds used by slot s's thread, or -1. */
static double slot_cpu(struct slot_ops *s)
{
	struct timespec ts;

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
		bool in = atomic_load_explicit(&s->in_call,
					       memory_order_acquire);
		long v = atomic_load_explicit(&s->v, RLX);

		if (!in || v != last_v[i] || since[i] < 0 || before < 0) {
			last_v[i] = v;
			since[i] = in ? slot_cpu(s) : -1;
			continue;
		}
		double used = before - since[i];
		if (used > atomic_load(&most_cpu_call))
			atomic_store(&most_cpu_call, used);
		if (used > O.hang)
			fail_now("worker %u: its %s of key %u has used %.1f s of "
				 "CPU without returning (livelock)", i,
				 op_names[atomic_load(&s->op)],
				 atomic_load(&s->key), used);
	}
}

/* A hung or livelocked run must still end with FAILURE. */
static atomic_int all_done;
static double watchdog_secs;

static void *watchdog_main(void *arg)
{
	double t0 = now();
	long *last_v = NULL;
	double *since = NULL;
	(void)arg;
	while (!atomic_load(&all_done)) {
		sleep_s(0.2);
		if (!last_v && atomic_load(&hang_armed)) {
			last_v = calloc(nW + 1, sizeof *last_v);
			since = calloc(nW + 1, sizeof *since);
			if (!last_v || !since)
				abort();
			for (unsigned i = 0; i <= nW; i++)
				since[i] = -1;
		}
		if (last_v)
			hang_check(last_v, since);
		if (now() - t0 > watchdog_secs && !atomic_load(&all_done))
			fail_now("watchdog: the run did not end within %.0f s "
				 "(hang or livelock)", watchdog_secs);
	}
	free(last_v);
	free(since);
	return NULL;
}

static void set_mix(const char *s)
{
	memset(O.mix, 0, sizeof O.mix);
	char *dup = strdup(s), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *c = strchr(t, ':');
		int i;
		if (!c)
			goto bad;
		*c = 0;
		for (i = 0; i < OP_N; i++)
			if (!strcmp(t, op_names[i]))
				break;
		if (i == OP_N)
			goto bad;
		O.mix[i] = (unsigned)atoi(c + 1);
	}
	free(dup);
	return;
bad:
	fprintf(stderr, "bad --mix %s (name:weight,...; names: get insert set "
		"replace cas pop pop_if iterate count)\n", s);
	exit(2);
}

static void mode_defaults(enum mode m)
{
	O.mode = m;
	O.duration = 10;
	O.threads = 4;
	O.keys = 4096;
	O.pinned = 64;
	O.hkeys = 16;
	set_mix("get:40,insert:12,set:10,replace:8,cas:8,pop:12,pop_if:6,"
		"iterate:0,count:2");
	O.mix[OP_ITER] = 0;
	O.dtor = true;
	O.interval = 1;
	O.churn_ops = 3000;
	switch (m) {
	case M_STORM:
		O.keys = 200000;
		O.pinned = 16;
		O.hkeys = 8;
		O.mix[OP_ITER] = 0;
		break;
	case M_CHAIN:
		O.keys = 256;
		O.pinned = 16;
		O.hkeys = 8;
		break;
	case M_HOT:
		O.keys = 4;
		O.pinned = 0;
		O.hkeys = 4;
		O.threads = 8;
		break;
	case M_OVERSUB:
		O.threads = 256;
		break;
	case M_CHURN:
		O.threads = 8;
		break;
	case M_ENOMEM:
		O.enomem_rate = 16;
		break;
	case M_SSTALL:
		O.keys = 65536;
		O.pinned = 16;
		O.hkeys = 8;
		break;
	default:
		break;
	}
	/* an iteration costs O(keys): about one in 20000 calls' worth */
	O.mix[OP_ITER] = O.keys <= 4096 ? 1 : 0;
}

static void usage(void)
{
	printf("usage: lfd-torture [options]\n"
	       "  --mode=M          mixed|storm|chain|hot|oversub|churn|stall|"
	       "enomem|reader-stall|shrink-stall\n"
	       "  --duration=S      seconds (default 10)\n"
	       "  --threads=N       worker threads\n"
	       "  --keys=N          key-space size\n"
	       "  --pinned=N        keys kept present (iteration check)\n"
	       "  --hist-keys=N     keys whose histories are checked\n"
	       "  --mix=op:w,...    op weights (get insert set replace cas pop "
	       "pop_if iterate count)\n"
	       "  --dtor=on|off     value destructor\n"
	       "  --flavor=F        bp (default) | memb | pthread "
	       "(tests/rcu_pthread.c; default in TSan builds)\n"
	       "  --capacity=N --max-capacity=N --fixed   sizing, resize mode\n"
	       "  --enomem=N        fail 1 in N allocations (enomem mode: 16)\n"
	       "  --hang=S          a call that uses S seconds of CPU without "
	       "returning is a\n"
	       "                    failure (default 1; 3 with sanitizers)\n"
	       "  --seed=N          replay a run\n"
	       "  --pool-mib=N      value pool's address space (default 16384)\n"
	       "  -v, --verbose     periodic counter lines; --interval=S\n"
	       "  --build-info      print the build's sanitizer and default "
	       "flavour\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "mode", 1, 0, 'm' },     { "duration", 1, 0, 'd' },
		{ "threads", 1, 0, 't' },  { "keys", 1, 0, 'k' },
		{ "pinned", 1, 0, 'p' },   { "hist-keys", 1, 0, 'H' },
		{ "mix", 1, 0, 'x' },      { "dtor", 1, 0, 'D' },
		{ "flavor", 1, 0, 'f' },   { "capacity", 1, 0, 'c' },
		{ "max-capacity", 1, 0, 'C' }, { "fixed", 0, 0, 'F' },
		{ "seed", 1, 0, 's' },     { "verbose", 0, 0, 'v' },
		{ "interval", 1, 0, 'i' }, { "enomem", 1, 0, 'e' },
		{ "build-info", 0, 0, 'B' }, { "help", 0, 0, 'h' },
		{ "hang", 1, 0, 'g' },     { "pool-mib", 1, 0, 'P' },
		{ 0, 0, 0, 0 }
	};
	int o;
	enum mode m = M_MIXED;
	bool seed_set = false;

	setvbuf(stdout, NULL, _IOLBF, 0);
	t_start = now();
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--mode=", 7))
			for (int k = 0; k < M_N; k++)
				if (!strcmp(argv[i] + 7, mode_names[k]))
					m = (enum mode)k;
	mode_defaults(m);
	O.flavor = T_TSAN ? F_PTHREAD : F_BP;
#ifdef LFD_TEST_RCU_PTHREAD
	O.flavor = F_PTHREAD;
#endif
	while ((o = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (o) {
		case 'm': {
			int k;
			for (k = 0; k < M_N; k++)
				if (!strcmp(optarg, mode_names[k]))
					break;
			if (k == M_N) {
				fprintf(stderr, "unknown mode %s\n", optarg);
				return 2;
			}
			break;
		}
		case 'd': O.duration = atof(optarg); break;
		case 't': O.threads = (unsigned)atoi(optarg); break;
		case 'k': O.keys = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'p': O.pinned = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'H': O.hkeys = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'x': set_mix(optarg); break;
		case 'D': O.dtor = strcmp(optarg, "off") != 0; break;
		case 'f':
			O.flavor = !strcmp(optarg, "memb") ? F_MEMB
				   : !strcmp(optarg, "pthread") ? F_PTHREAD
								: F_BP;
			break;
		case 'c': O.capacity = strtoull(optarg, NULL, 0); break;
		case 'C': O.max_capacity = strtoull(optarg, NULL, 0); break;
		case 'F': O.fixed = true; break;
		case 'P':
			pool_bytes = (size_t)strtoull(optarg, NULL, 0) << 20;
			if (pool_bytes < ((size_t)1 << 20)) {
				fprintf(stderr, "--pool-mib: at least 1\n");
				return 2;
			}
			break;
		case 's': O.seed = strtoull(optarg, NULL, 0); seed_set = true; break;
		case 'v': O.verbose = 1; break;
		case 'i': O.interval = atof(optarg); break;
		case 'e': O.enomem_rate = (unsigned)atoi(optarg); break;
		case 'g': O.hang = atof(optarg); break;
		case 'B':
			printf("sanitizer=%s default-flavor=%s\n",
			       T_TSAN ? "thread" : T_ASAN ? "address" : "none",
			       flav_names[O.flavor]);
			return 0;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (O.threads < 1)
		O.threads = 1;
	if (O.hang <= 0)
		O.hang = (T_ASAN || T_TSAN) ? 3 : 1;
	if (O.keys < 4)
		O.keys = 4;
	if (O.pinned > O.keys / 2)
		O.pinned = O.keys / 2;
	if (O.hkeys > O.keys - O.pinned)
		O.hkeys = O.keys - O.pinned;
	if ((O.mode == M_STORM || O.mode == M_SSTALL) && O.threads < 2)
		O.threads = 2;
	if (!seed_set) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		O.seed = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
			       (uint64_t)getpid()) % 1000000000000ull;
	}
	FL = O.flavor == F_MEMB ? &urcu_memb_flavor
	     : O.flavor == F_PTHREAD ? &lfd_test_rcu_pthread_flavor
				     : &urcu_bp_flavor;
	if ((O.mode == M_STALL || O.mode == M_RSTALL || O.mode == M_SSTALL) &&
	    O.flavor == F_PTHREAD) {
		printf("lfd-torture: mode %s needs a non-blocking RCU flavour; "
		       "the pthread flavour blocks readers behind a waiting "
		       "grace period\nSKIP\n", mode_names[O.mode]);
		return 77;
	}
	printf("lfd-torture: mode=%s seed=%" PRIu64 " duration=%.1fs threads=%u "
	       "keys=%u pinned=%u hist-keys=%u dtor=%s flavor=%s capacity=%zu "
	       "max-capacity=%zu fixed=%d enomem=1/%u\n"
	       "  replay: lfd-torture --mode=%s --seed=%" PRIu64 " (plus the same "
	       "options)\n", mode_names[O.mode], O.seed, O.duration, O.threads,
	       O.keys, O.pinned, O.hkeys, O.dtor ? "on" : "off",
	       flav_names[O.flavor], O.capacity, O.max_capacity, O.fixed,
	       O.enomem_rate, mode_names[O.mode], O.seed);

	if (!T_ASAN && !T_TSAN) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = fatal_handler;
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		sigaction(SIGFPE, &sa, NULL);
		sigaction(SIGILL, &sa, NULL);
		sigaction(SIGABRT, &sa, NULL);
	}
	if (O.mode == M_STALL) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = stall_handler;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, NULL);
	}
	watchdog_secs = (T_ASAN || T_TSAN) ? 4 * O.duration + 120
					   : 2 * O.duration + 60;
	pthread_t wd;
	pthread_create(&wd, NULL, watchdog_main, NULL);
	pool = mmap(NULL, pool_bytes, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pool == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	hkeys = calloc(O.hkeys ? O.hkeys : 1, sizeof *hkeys);
	if (O.flavor == F_MEMB)
		urcu_memb_register_thread();

	struct lfd_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.capacity = O.capacity;
	cfg.max_capacity = O.max_capacity;
	cfg.flags = O.fixed ? LFD_FIXED_SIZE : 0;
	cfg.flavor = FL;
	if (O.dtor)
		cfg.value_free = t_dtor;
	cfg.alloc = t_alloc;
	cfg.free = t_free;
	if (O.mode == M_CHAIN)
		cfg.hash = chain_hash;
	D = lfd_new(&cfg);
	if (!D) {
		printf("FAILURE: lfd_new: %s\n", strerror(errno));
		return 1;
	}
	nW = O.threads;
	slot_ops = calloc(nW + 1, sizeof *slot_ops);
	slot_take(nW); /* the setup's calls, below */
	atomic_store(&hang_armed, 1);
	/* pinned keys */
	struct worker *w0 = worker_new(nW, 999999);
	for (uint32_t k = 0; k < O.pinned; k++)
		do_key_op(w0, OP_INS, k);
	atomic_store(&a_rate, O.enomem_rate); /* not during setup */

	pthread_t checker, mon;
	pthread_create(&checker, NULL, checker_main, NULL);
	W = calloc(nW, sizeof *W); /* nW was set above, before hang_armed */
	if (O.mode == M_STORM || O.mode == M_SSTALL)
		pthread_barrier_init(&storm_bar, NULL, nW);
	uint64_t stream = 1;
	for (unsigned i = 0; i < nW; i++) {
		W[i] = worker_new(i, stream++);
		W[i]->storm_lo = (uint32_t)((uint64_t)O.keys * i / nW);
		W[i]->storm_hi = (uint32_t)((uint64_t)O.keys * (i + 1) / nW);
	}
	double t0 = now();
	for (unsigned i = 0; i < nW; i++)
		worker_start(W[i]);
	pthread_create(&mon, NULL, monitor_main, NULL);
	while (now() - t0 < O.duration) {
		if (O.mode == M_CHURN) {
			for (unsigned i = 0; i < nW; i++)
				if (atomic_load(&W[i]->finished)) {
					pthread_join(W[i]->tid, NULL);
					worker_fold(W[i]);
					W[i] = worker_new(i, stream++);
					worker_start(W[i]);
				}
			sleep_s(0.005);
		} else {
			sleep_s(0.05);
		}
	}
	atomic_store(&stop_flag, 1);
	atomic_store(&mon_stop, 1);
	pthread_join(mon, NULL);
	for (unsigned i = 0; i < nW; i++) {
		pthread_join(W[i]->tid, NULL);
		worker_fold(W[i]);
		W[i] = NULL;
	}
	double elapsed = now() - t0;
	atomic_store(&a_rate, 0);
	tcache_drain(&w0->cache);
	worker_fold(w0);
	/* the partly filled windows: every call in them has returned */
	for (uint32_t k = 0; k < O.hkeys; k++) {
		uint32_t n = atomic_load(&hkeys[k].next);
		if (n > HCAP)
			n = HCAP;
		if (n)
			hq_push(hwin_take(O.pinned + k, n));
	}
	h_check_own();
	atomic_store(&checker_stop, 1);
	pthread_mutex_lock(&hq_lock);
	pthread_cond_broadcast(&hq_cond);
	pthread_mutex_unlock(&hq_lock);
	pthread_join(checker, NULL);

	long leaked = final_checks();
	a_quar_flush();

	long total = 0;
	char kinds[512];
	size_t kl = 0;
	for (int i = 0; i < OP_N; i++) {
		long ok = atomic_load(&tot_ok[i]), fail = atomic_load(&tot_fail[i]);
		total += ok + fail;
		kl += (size_t)snprintf(kinds + kl, sizeof kinds - kl, "%s%s=%ld/%ld",
				       i ? " " : "", op_names[i], ok, fail);
	}
	printf("  ops (ok/failed): %s enomem=%ld (injected %ld)\n", kinds,
	       atomic_load(&tot_enomem), atomic_load(&a_injected));
	if (O.mode == M_ENOMEM)
		CHECK(atomic_load(&tot_enomem) > 0, "enomem mode: %ld "
		      "allocation failures injected, no call returned -ENOMEM",
		      atomic_load(&a_injected));
	printf("  threads started %ld; iterations checked %ld; counts checked "
	       "%ld; storm convergence checks %ld; destructor calls %ld; "
	       "departures %ld; peak dictionary bytes %ld; most CPU seen in "
	       "one call by the hang check %.3f s\n",
	       atomic_load(&threads_started), atomic_load(&n_iter_checked),
	       atomic_load(&n_count_checked), atomic_load(&n_storm_checks),
	       atomic_load(&n_dtor), atomic_load(&n_depart),
	       atomic_load(&a_peak_bytes), atomic_load(&most_cpu_call));
	if (O.mode == M_STALL)
		printf("  stalls %ld (mid-call %ld), fewest calls completed by "
		       "the others during a 150 ms stall: %ld; longest wait for "
		       "worker 0's next call to return after a release: %.1f "
		       "ms\n", stalls, stalls_mid_op, stall_progress_min,
		       stall_return_max * 1e3);
	if (O.mode == M_SSTALL)
		printf("  stalls %ld (worker 0 stopped for 50 ms in the "
		       "dictionary's allocator, mid-call); longest wait for the "
		       "stopped call to return after a release: %.1f ms\n",
		       stalls, stall_return_max * 1e3);
	if (O.mode == M_STALL || O.mode == M_SSTALL)
		CHECK(stalls > 0, "%s mode: worker 0 was never stopped",
		      mode_names[O.mode]);
	if (O.mode == M_RSTALL) {
		printf("  stalled reader: %ld calls completed during the stall, "
		       "reclaim backlog peak %ld items, %ld after release "
		       "and lfd_barrier (workers paused)\n", rs_ops, rs_peak_backlog,
		       rs_after_backlog);
		CHECK(rs_after_backlog >= 0, "reader-stall mode: the stall did "
		      "not complete");
	}
	atomic_store(&all_done, 1);
	pthread_join(wd, NULL);
	long v = atomic_load(&n_viol);
	printf("%s: mode=%s seed=%" PRIu64 " %.1fs ops=%ld (%.0f ops/s) "
	       "histories: windows=%ld ops_checked=%ld inconclusive=%ld "
	       "by_workers=%ld dropped=%ld; violations=%ld leaked=%ld "
	       "max_bucket_lag=%d "
	       "max_backlog=%ld paused=%" PRIu64 "\n",
	       v == 0 && leaked == 0 ? "SUCCESS" : "FAILURE", mode_names[O.mode],
	       O.seed, elapsed, total, (double)total / elapsed,
	       atomic_load(&h_windows), atomic_load(&h_ops),
	       atomic_load(&h_inconclusive), atomic_load(&h_own),
	       atomic_load(&h_made) - atomic_load(&h_windows), v, leaked,
	       max_lag, max_backlog, last_throttled);
	return v == 0 && leaked == 0 ? 0 : 1;
}
