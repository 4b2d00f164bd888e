/*
 * kvserver.h - what the files of lfd-kvserver share (internal header).
 *
 * SPDX-License-Identifier: MIT
 *
 * lfd-kvserver is a memcached text-protocol server on one shared lfdict
 * (doc/kvserver.md).  N worker threads, each with its own epoll instance,
 * share one listening socket (EPOLLEXCLUSIVE) and one struct lfd.  No lock
 * guards the table: every command is one or a few lfdict calls.
 *
 *   items.c     the immutable items and the table: the lfdict calls each
 *               memcached command makes (its opening comment is the map)
 *   protocol.c  the text protocol: input framing, tokens, one function per
 *               command
 *   conn.c      connections, their buffers, the workers' event loop
 *   main.c      options, startup, the sweeper of expired items, shutdown
 *
 * This header holds only what crosses between them: the RCU flavour, the
 * item, connection and worker structures, the options, the shared globals
 * and functions (each under the file that defines it).  Each .c file
 * defines _GNU_SOURCE before its first #include.
 */
#ifndef LFD_KVSERVER_H
#define LFD_KVSERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <lfdict.h>

/*
 * The RCU flavour.  lfdict's default, urcu-bp, needs no thread registration;
 * a server has a fixed set of long-lived threads, so it uses urcu-memb
 * (membarrier-based) and registers each of them, which shows the
 * caller-supplied flavour part of the API.  (It also keeps the server clean
 * under UBSan: liburcu 0.13's urcu-bp reader records are not as aligned as
 * their type says, which UBSan reports in the inlined urcu-bp read lock; see
 * doc/kvserver.md.)  The ThreadSanitizer build (-DLFD_TEST_RCU_PTHREAD, see
 * .ci/run) uses the test-only flavour TSan understands, tests/rcu_pthread.h.
 */
#ifdef LFD_TEST_RCU_PTHREAD
#include "rcu_pthread.h"
#define KV_FLAVOR (&lfd_test_rcu_pthread_flavor)
#else
#include <urcu/urcu-memb.h>
#define KV_FLAVOR (&urcu_memb_flavor)
#endif

#define KEY_MAX 250		  /* memcached's KEY_MAX_LENGTH */
#define LINE_MAX_LEN (64 * 1024) /* a longer command line closes the conn */
/* but for get, gets, gat and gats, whose lines carry many keys (memcached
 * takes multi-gets of any length; its tests send 187 KB) */
#define GET_LINE_MAX (4 * 1024 * 1024)
#define REALTIME_MAXDELTA (60 * 60 * 24 * 30) /* exptimes up to this are relative */

/* ------------------------------------------------------------------------ */
/* Items (items.c)                                                            */

/* Immutable once published.  data[] holds the value followed by "\r\n", so a
 * get copies nbytes + 2 bytes in one go. */
struct item {
	uint64_t cas;	  /* unique per stored version */
	int64_t exptime;  /* absolute unix time; 0 = never */
	int64_t stime;	  /* unix time when stored (for delayed flush_all) */
	uint64_t birth;	  /* evict_clock() when built (eviction: its age) */
	uint32_t flags;
	uint32_t nbytes;  /* value length, without the trailing \r\n */
	uint32_t klen;	  /* for memory accounting only */
	/* The only mutable fields of a published item (evict.c): */
	_Atomic uint32_t hits;	/* approximate hits since built, from 1 */
	atomic_bool evicted;	/* removed by eviction (its bytes in evicting) */
	char data[];
};

/* The bytes an item counts against the memory limit. */
static inline size_t item_size(uint32_t nbytes, uint32_t klen)
{
	return sizeof(struct item) + nbytes + 2 + klen;
}

static inline size_t item_bytes(const struct item *it)
{
	return item_size(it->nbytes, it->klen);
}

/* ------------------------------------------------------------------------ */
/* Connections and workers (conn.c)                                           */

/* Per-worker counters, summed by "stats". */
#define KV_STATS(X)                                                            \
	X(cmd_get) X(cmd_set) X(cmd_flush) X(cmd_touch) X(get_hits)            \
	X(get_misses) X(delete_misses) X(delete_hits) X(incr_misses)           \
	X(incr_hits) X(decr_misses) X(decr_hits) X(cas_misses) X(cas_hits)     \
	X(cas_badval) X(touch_hits) X(touch_misses) X(store_too_large)         \
	X(store_no_memory) X(bytes_read) X(bytes_written) X(conn_yields)
#define KV_ENUM(n) ST_##n,
enum { KV_STATS(KV_ENUM) ST_COUNT };

struct counters {
	/* Written only by the owning worker, read by "stats" on any worker. */
	atomic_uint_fast64_t v[ST_COUNT];
};

struct worker {
	pthread_t tid;
	int epfd;
	struct counters st;
	struct conn *conns; /* doubly linked list, for shutdown */
	/* Accepted sockets handed to this worker (round robin) by whichever
	 * worker accepted them, as memcached's dispatcher does: */
	pthread_mutex_t qlock;
	int *q;		     /* fds waiting to be adopted */
	size_t qlen, qcap;
	int notify_fd;	     /* eventfd: the queue is not empty */
	/* Connections that stopped after opt.reqs_per_event commands with
	 * input left in their buffer (-R, "stats conn_yields"): run again
	 * after the other ready connections have had their turn. */
	struct conn *yield_head;
};

enum conn_state { ST_LINE, ST_DATA, ST_SWALLOW };
enum store_cmd { CMD_SET, CMD_ADD, CMD_REPLACE, CMD_APPEND, CMD_PREPEND,
		 CMD_CAS };

struct conn {
	int fd;
	struct worker *w;
	struct conn *prev, *next;
	char *rbuf;
	size_t rsize, rstart, rend;
	char *wbuf;
	size_t wsize, wstart, wend;
	enum conn_state state;
	bool noreply;	  /* of the command being processed */
	bool closing;	  /* close once the output is flushed */
	bool want_out;	  /* registered for EPOLLOUT */
	bool yielded;	  /* on its worker's list of input left to process */
	struct conn *ynext; /* that list */
	/* A storage command waiting for its data block. */
	enum store_cmd scmd;
	struct item *it;
	size_t it_have;	  /* bytes of data + \r\n received */
	uint64_t cas_in;
	bool sreply;	  /* !noreply for the pending storage command */
	size_t klen;
	char key[KEY_MAX + 1];
	uint64_t swallow; /* bytes left to discard (ST_SWALLOW) */
};

static inline void stat_inc(atomic_uint_fast64_t *c, uint64_t n)
{
	/* single writer: a relaxed load and store are enough */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* ------------------------------------------------------------------------ */
/* Options and globals, under the file that defines each                      */

/* main.c */
struct kv_options {
	const char *listen_addr;
	int port;
	const char *port_file;
	int threads;
	long max_conns;
	size_t max_item;   /* largest value, bytes */
	size_t mem_limit;  /* bytes of items (including those awaiting free) */
	bool no_evict;	   /* -M: refuse stores when full instead of evicting */
	int verbose;
	int reqs_per_event; /* -R: commands per turn of a connection */
	bool no_flush;	   /* -F: flush_all refused */
	bool no_cas;	   /* -C: no cas uniques (all 0) */
	bool debug_time;   /* --debug-time: the debugtime command */
};
extern struct kv_options opt;
extern time_t start_time;

/* items.c */
extern struct lfd *dict;
extern atomic_size_t mem_used;		/* bytes of live + deferred items */
extern atomic_llong flush_deadline;	/* 0, or time of a delayed flush */
extern atomic_bool have_expiring;	/* some item had an exptime */
extern atomic_ullong reclaimed;		/* dead items removed ("stats") */

/* evict.c */
extern atomic_size_t evicting;		/* bytes evicted, not yet freed */
extern atomic_uint_fast64_t evictions;	/* items evicted */

/* conn.c */
extern atomic_long curr_conns;
extern atomic_ulong total_conns;
extern atomic_ulong rejected_conns;
extern atomic_bool stopping;
extern int listen_fd;
extern int stop_fd;		/* eventfd: readable once shutdown starts */
extern struct worker *workers;	/* opt.threads of them */
/* epoll_event.data.ptr markers for the listening socket and stop_fd */
extern char listen_marker, stop_marker, notify_marker;

/* ------------------------------------------------------------------------ */
/* Functions, under the file that defines each                                */

/* items.c: items, and the lfdict calls of get, the storage commands, incr,
 * decr, touch and flush_all */
int64_t kv_now(void);
void count_reclaimed(void);
void kv_move_time(int64_t delta);
struct item *item_new(uint32_t nbytes, uint32_t klen);
void item_release(struct item *it);
void item_free(void *value, void *arg);
bool item_dead(const struct item *it, int64_t now);
int64_t abs_exptime(int64_t e, int64_t now);
/* keys per get_batch: lfd_get_many's group, so one call is one group and
 * the section of ours around it copies at most this many items */
#define GET_BATCH 32
int get_batch(struct conn *c, size_t n, const void *const keys[],
	      const size_t lens[], bool with_cas, int64_t now);
const char *do_store(struct conn *c, struct item *it);
/* item_cas_update's make: build *nw from old (see items.c) */
typedef const char *(*item_copy_fn)(const struct item *old, uint32_t klen,
				    void *arg, struct item **nw);
const char *item_cas_update(const char *key, size_t klen, int64_t now,
			    item_copy_fn make, void *arg);
void flush_table(bool dead_only);
struct touch_arg {
	int64_t exptime;	/* absolute */
	struct item *made;	/* the copy touch_copy built last */
};
const char *touch_copy(const struct item *old, uint32_t klen, void *arg,
		       struct item **out);
const char *touch_get(struct conn *c, const char *key, size_t klen,
		      int64_t exptime, bool with_cas, int64_t now);

/* evict.c: eviction under -m (hyperbolic caching with size) */
uint64_t evict_clock(void);
void item_hit(struct item *it);
bool evict_room(void);

/* protocol.c: consume a connection's input, answer into its output */
enum input_status { IN_DONE, IN_BLOCKED, IN_YIELD };
enum input_status process_input(struct conn *c);

/* conn.c: a connection's output buffer, the workers */
void out_mem(struct conn *c, const void *p, size_t n);
void out_str(struct conn *c, const char *s);
void reply(struct conn *c, const char *s);
void reply_err(struct conn *c, const char *s);
void *worker_main(void *arg);

#endif /* LFD_KVSERVER_H */
