/*
 * torture.h - the internal header of lfd-torture, the torture test of
 * lfdict (stress/torture/, doc/torture.md; main.c says what the run checks).
 *
 * SPDX-License-Identifier: MIT
 *
 * What the torture's files share: the options, the run's globals (each
 * defined in the file its group names) and the calls each file offers the
 * others.  Every torture file includes it first; it includes lincheck.h,
 * the checker that stands alone.  The files:
 *   main.c     options, the run's start and end, the last line
 *   util.c     time, PRNG, failure reports
 *   alloc.c    the dictionary's allocator: counting, poisoning, faults
 *   values.c   keys; values (a pool of records), their accounting
 *   history.c  histories of the sampled keys, the checker thread
 *   lincheck.c the per-key linearizability checker (lincheck.h)
 *   workers.c  the dictionary, the workers, one call with its checks
 *   modes.c    the modes: names, defaults, what each asks of the others
 *   monitor.c  the monitor (bounds, periodic lines), hang check, watchdog
 *   stall.c    the stall modes: stopping worker 0, the stalled reader
 *   final.c    the checks at the end of the run
 */
#ifndef LFD_TORTURE_H
#define LFD_TORTURE_H

#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu/urcu-memb.h>

#include <lfdict.h>

#include "lincheck.h"
#include "../../tests/density.h"

/* The memory orders, named at every atomic access with a comment saying
 * what it pairs with or why it is enough.  SEQ: the order of the implicit
 * forms, kept where the torture used them. */
#define RLX memory_order_relaxed
#define SEQ memory_order_seq_cst

/* ------------------------------------------------------------------ */
/* options (main.c; each mode's defaults: modes.c)                     */

extern const char *const op_names[OP_N];

enum flav { F_BP, F_MEMB, F_PTHREAD };
extern const char *const flav_names[];

struct worker;

/* What a stall mode stops (stall.c): worker 0 at a signal (anywhere) or in
 * the dictionary's allocator (mid-call), or a reader inside its section. */
enum stall_kind { STALL_NONE, STALL_SIGNAL, STALL_ALLOC, STALL_READER };

/* A mode (modes.c's table): its name and what it asks of the other files.
 * A mode that asks nothing new of them is added in modes.c alone. */
struct mode {
	const char *name;
	void (*loop)(struct worker *w); /* a worker's calls, until the end */
	bool storm;	/* workers meet at storm_bar (storm_loop): >= 2 */
	bool churn;	/* workers leave after w->limit calls; main replaces */
	bool expect_enomem; /* some call must return -ENOMEM */
	enum stall_kind stall;
	uint64_t (*hash)(const void *key, size_t len, void *arg); /* or NULL */
	bool forks;	/* worker 0 forks (fork.c): fork_setup before lfd_new */
	bool clears;	/* lfd_clear in the mix: values depart unseen (the
			 * destructor counts them, values.c); no pinned or
			 * sampled keys, no count checks */
	bool get_many;	/* a quarter of the gets are lfd_get_many calls of
			 * 1-6 keys, each key's lookup recorded as a get */
	void (*report)(void); /* the mode's lines in the end report, or NULL */
};

struct opts {
	const struct mode *mode;
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
};
extern struct opts O;
extern const struct rcu_flavor_struct *FL;

void set_mix(const char *s);

/* ------------------------------------------------------------------ */
/* time, PRNG, failure reports (util.c)                                */

double now(void);
void sleep_s(double s);

struct rng {
	uint64_t s;
};

void rng_init(struct rng *r, uint64_t stream);
uint64_t rng_next(struct rng *r);
uint64_t rng_below(struct rng *r, uint64_t n);

extern atomic_long n_viol;
extern atomic_int stop_flag;
extern double t_start;

void viol(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fail_now(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond))                                                  \
			viol(__VA_ARGS__);                                    \
	} while (0)

/* ------------------------------------------------------------------ */
/* the dictionary's allocator (alloc.c)                                */

extern atomic_uint a_rate;
extern atomic_long a_live, a_live_bytes, a_injected, a_peak_bytes;
/* The calling thread's injected failures: definite, and the optional
 * ones a call may absorb (t_alloc says which). */
extern _Thread_local long tl_injected, tl_injected_maybe;

void *t_alloc(size_t size, void *arg);
void t_free(void *ptr, size_t size, void *arg);
void a_quar_flush(void);

/* ------------------------------------------------------------------ */
/* keys, values (values.c)                                             */

#define KEYMAX 8

size_t mkkey(uint32_t id, unsigned char *buf);
int64_t parsekey(const void *k, size_t len);

extern size_t pool_bytes;

/* A value: a record of the pool (values.c says what it checks). */
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

extern struct tval *pool;
extern atomic_size_t pool_used;
extern atomic_int destroying;
extern atomic_long n_dtor, n_depart;

/* A worker's cache of free records, and its uids (hi: the worker). */
#define TCACHE 64

struct tcache {
	struct tval *v[TCACHE];
	unsigned n;
	uint64_t uid_hi, uid_lo;
};

/* A value's magic while it is live, and once destroyed or recycled. */
#define V_LIVE 0x11fe5a1e11fe5a1eull
#define V_DEAD 0xdeaddeaddeaddeadull
bool valid_val(const void *p);
void recycle(struct tval *v);
struct tval *val_new(struct tcache *c, uint32_t key);
void val_unused(struct tcache *c, struct tval *v);
void tcache_drain(struct tcache *c);
void t_dtor(void *p, void *arg);
void val_departed(void *p, uint32_t key, const char *what);
uint64_t val_check(const void *p, uint32_t key, const char *what);

/* ------------------------------------------------------------------ */
/* histories (history.c)                                               */

extern atomic_long h_made, h_windows, h_ops, h_inconclusive, h_own;

void h_init(void);
struct hrec *h_begin(uint32_t key, bool *skip);
void h_end(uint32_t key, struct hrec *r, int op, int rc, uint64_t a,
	   uint64_t e, uint64_t out);
void h_check_own(void);
void *checker_main(void *arg);
void h_finish(pthread_t checker);

/* ------------------------------------------------------------------ */
/* the dictionary, the workers (workers.c)                             */

extern struct lfd *D;
extern atomic_long net_count;
extern atomic_long tot_ok[OP_N], tot_fail[OP_N], tot_enomem;
extern atomic_long n_iter_checked, n_count_checked, n_storm_checks;
/* update tries lost (fn called again), get_or_create inserts lost */
extern atomic_long n_upd_lost, n_goc_lost;
extern atomic_long n_scan_checked, n_scan_slices, n_clears;
extern atomic_long threads_started;

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
extern struct slot_ops *slot_ops; /* per worker slot, survives churn */
extern struct worker **W;
extern unsigned nW;

void slot_take(unsigned idx);
void do_key_op(struct worker *w, int op, uint32_t key);
void one_op_on(struct worker *w, uint32_t key);
void one_op(struct worker *w);
struct worker *worker_new(unsigned idx, uint64_t stream);
void worker_start(struct worker *w);
void worker_fold(struct worker *w);
long live_ops(void);

/* ------------------------------------------------------------------ */
/* the modes (modes.c)                                                 */

extern pthread_barrier_t storm_bar;

int mode_find(const char *name);
void mode_defaults(int m);
void mode_names_print(void);

/* ------------------------------------------------------------------ */
/* the monitor, the hang check, the watchdog (monitor.c)               */

extern atomic_int mon_stop;
extern int max_lag;
extern long max_backlog;
extern uint64_t last_throttled;
extern _Atomic double most_cpu_call;
extern atomic_int hang_armed;
extern atomic_int all_done;
extern double watchdog_secs;

extern atomic_long trims, trim_bytes, trims_enomem;

long backlog(void);
void *monitor_main(void *arg);
void *trimmer_main(void *arg);
void *watchdog_main(void *arg);

/* ------------------------------------------------------------------ */
/* the stall modes (stall.c)                                           */

/* Set around code that takes a lock (allocator, pool): the stall signal
 * handler does not stall a thread there (it would block the others for a
 * reason that is not lfdict's). */
extern _Thread_local volatile sig_atomic_t tl_in_lock;
/* tl_in_op: inside a call of the mix; tl_stop_in_alloc: worker 0 of
 * shrink-stall, which stops in t_alloc when stall_req is set. */
extern _Thread_local volatile sig_atomic_t tl_in_op, tl_stop_in_alloc;
extern atomic_int stall_req;
/* reader-stall: the allocator's bytes once the stalled reader's backlog
 * was reclaimed (-1 before), and the backlog's peak after (the monitor). */
extern long rs_bytes_after, rs_post_peak;

void stall_block(int in_op);
void stall_handler(int sig);
void stall_worker0(void);
void reader_stall_step(double el);
void reader_stall_end(void);
void maybe_pause(void);
void stall_report(void);

/* ------------------------------------------------------------------ */
/* the fork mode (fork.c); the locks it makes fork-safe                */

void fork_setup(void);
void fork_once(struct worker *w);
void fork_report(void);
void a_fork_lock(bool lock);
void val_fork_lock(bool lock);
void h_fork_lock(bool lock);

/* ------------------------------------------------------------------ */
/* final checks (final.c)                                              */

long final_checks(void);
/* After lfd_barrier, with no other call running: the count equals the
 * torture's own (net_count) and the bucket count fits it
 * (tests/density.h).  Returns the count, *st the stats. */
size_t quiescent_check(const char *what, struct lfd_stats *st);

#endif
