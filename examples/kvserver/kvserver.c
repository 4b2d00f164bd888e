/*
 * lfd-kvserver - a memcached text-protocol server on one shared lfdict.
 *
 * SPDX-License-Identifier: MIT
 *
 * What this example shows
 * -----------------------
 * N worker threads, each with its own epoll instance, share one listening
 * socket (EPOLLEXCLUSIVE) and one struct lfd.  No lock guards the table: every
 * command is one or a few lfdict calls, and the memcached commands map onto
 * them as follows.
 *
 *   The value stored under a key is a pointer to an immutable `struct item`
 *   (flags, expiry, cas unique, the bytes).  An item is never changed once
 *   published: every write builds a new item and swaps the pointer.  The item
 *   that leaves the table (overwritten, popped) is freed by the dictionary's
 *   value destructor (item_free) after an RCU grace period, so a reader that
 *   found it inside lfd_read_lock()/lfd_read_unlock() can still copy it.
 *
 *   get/gets  lfd_get inside a read-side section; the item is copied into the
 *             connection's output buffer before the section ends.
 *   set       lfd_set: insert or overwrite, unconditionally.
 *   add       lfd_insert (insert if absent).  If the present item has expired
 *             it counts as absent: lfd_cas from that dead item to the new one.
 *   delete    lfd_pop.  Popping an expired item answers NOT_FOUND (the key
 *             was logically absent, and is absent after the pop either way).
 *   replace, cas, append, prepend, incr, decr, touch
 *             lfd_cas loops: read the current item, build the new item from
 *             it, lfd_cas(current -> new); on -EAGAIN another write won, retry
 *             from the item that won.  replace is not lfd_replace: memcached's
 *             replace must fail on an expired item that is still physically
 *             in the table, and only a compare-and-set on the live item it
 *             checked gives that exactly (lfd_replace would swap out whatever
 *             is there, dead or alive).
 *   flush_all lfd_foreach + lfd_pop_if(key, the item visited): each visited
 *             item is removed only if it is still the one visited.  With a
 *             delay, items stored before the deadline are dead from then on
 *             and the sweeper (main thread) removes them.
 *
 *   Why every loop runs inside lfd_read_lock(): lfd_cas and lfd_pop_if compare
 *   pointers.  Inside a read-side section the item we read cannot be freed, so
 *   its address cannot be reused by a newer item for the same key (no ABA): a
 *   successful lfd_cas really replaced the item we built from.
 *
 *   Expiry is lazy, as in memcached: an expired item is treated as absent by
 *   every command (and popped with lfd_pop_if when met); the main thread also
 *   sweeps expired items every few seconds so that memory comes back.
 *
 * Protocol details follow memcached 1.6 (proto_text.c) where clients can see
 * them: error strings, the swallowing of a too-large value, errors sent even
 * with noreply, "stats <unknown>" -> ERROR.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

#define KV_VERSION "1.6.0-lfdict-kvserver-0.1"
#define KEY_MAX 250		  /* memcached's KEY_MAX_LENGTH */
#define LINE_MAX_LEN (64 * 1024) /* a longer command line closes the conn */
#define RBUF_INIT 16384
#define WBUF_HIGH (256 * 1024)	  /* stop parsing while this much is unsent */
#define REALTIME_MAXDELTA (60 * 60 * 24 * 30)
#define SWEEP_PERIOD 5		  /* seconds between sweeps of expired items */

/* ------------------------------------------------------------------------ */
/* Items                                                                      */

/* Immutable once published.  data[] holds the value followed by "\r\n", so a
 * get copies nbytes + 2 bytes in one go. */
struct item {
	uint64_t cas;	  /* unique per stored version */
	int64_t exptime;  /* absolute unix time; 0 = never */
	int64_t stime;	  /* unix time when stored (for delayed flush_all) */
	uint32_t flags;
	uint32_t nbytes;  /* value length, without the trailing \r\n */
	uint32_t klen;	  /* for memory accounting only */
	char data[];
};

static struct {
	const char *listen_addr;
	int port;
	const char *port_file;
	int threads;
	long max_conns;
	size_t max_item;   /* largest value, bytes */
	size_t mem_limit;  /* bytes of items (including those awaiting free) */
	int verbose;
} opt = { "127.0.0.1", 11211, NULL, 4, 1024, 1024 * 1024,
	  64 * 1024 * 1024, 0 };

static struct lfd *dict;
static atomic_size_t mem_used;		/* bytes of live + deferred items */
static atomic_uint_fast64_t next_cas = 1;
static atomic_llong flush_deadline;	/* 0, or time of a delayed flush */
static atomic_bool have_expiring;	/* some item had an exptime */
static atomic_long curr_conns;
static atomic_ulong total_conns;
static atomic_bool stopping;
static time_t start_time;

static size_t item_size(uint32_t nbytes, uint32_t klen)
{
	return sizeof(struct item) + nbytes + 2 + klen;
}

/* Allocate an unpublished item; NULL when over the memory limit or out of
 * memory. */
static struct item *item_new(uint32_t nbytes, uint32_t klen)
{
	size_t sz = item_size(nbytes, klen);
	struct item *it;

	if (atomic_fetch_add_explicit(&mem_used, sz, memory_order_relaxed) + sz >
	    opt.mem_limit) {
		atomic_fetch_sub_explicit(&mem_used, sz, memory_order_relaxed);
		return NULL;
	}
	it = malloc(sizeof(*it) + nbytes + 2);
	if (it == NULL) {
		atomic_fetch_sub_explicit(&mem_used, sz, memory_order_relaxed);
		return NULL;
	}
	it->nbytes = nbytes;
	it->klen = klen;
	it->flags = 0;
	it->exptime = 0;
	it->stime = time(NULL);
	it->cas = atomic_fetch_add_explicit(&next_cas, 1, memory_order_relaxed);
	it->data[nbytes] = '\r';
	it->data[nbytes + 1] = '\n';
	return it;
}

/* Free an item that was never published, or (as the value destructor) one
 * that left the table a grace period ago. */
static void item_release(struct item *it)
{
	if (it == NULL)
		return;
	atomic_fetch_sub_explicit(&mem_used, item_size(it->nbytes, it->klen),
				  memory_order_relaxed);
	free(it);
}

static void item_free(void *value, void *arg)
{
	(void)arg;
	item_release(value);
}

/* Expired, or invalidated by a delayed flush_all whose time has come. */
static bool item_dead(const struct item *it, int64_t now)
{
	long long fl = atomic_load_explicit(&flush_deadline,
					    memory_order_relaxed);

	if (it->exptime != 0 && it->exptime <= now)
		return true;
	return fl != 0 && now >= fl && it->stime < fl;
}

/* memcached's exptime: 0 never, negative already expired, up to 30 days
 * relative, else an absolute unix time. */
static int64_t abs_exptime(int64_t e, int64_t now)
{
	if (e == 0)
		return 0;
	atomic_store_explicit(&have_expiring, true, memory_order_relaxed);
	if (e < 0)
		return 1; /* long past */
	if (e <= REALTIME_MAXDELTA)
		return now + e;
	return e;
}

/* ------------------------------------------------------------------------ */
/* Connections and workers                                                    */

/* Per-worker counters, summed by "stats". */
#define KV_STATS(X)                                                            \
	X(cmd_get) X(cmd_set) X(cmd_flush) X(cmd_touch) X(get_hits)            \
	X(get_misses) X(delete_misses) X(delete_hits) X(incr_misses)           \
	X(incr_hits) X(decr_misses) X(decr_hits) X(cas_misses) X(cas_hits)     \
	X(cas_badval) X(touch_hits) X(touch_misses) X(bytes_read)              \
	X(bytes_written)
#define KV_ENUM(n) ST_##n,
enum { KV_STATS(KV_ENUM) ST_COUNT };
#define KV_NAME(n) #n,
static const char *const stat_names[] = { KV_STATS(KV_NAME) };

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

static void stat_inc(atomic_uint_fast64_t *c, uint64_t n)
{
	/* single writer: a relaxed load and store are enough */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static int listen_fd = -1;
static int stop_fd = -1; /* eventfd: readable once shutdown starts */
static struct worker *workers;
/* epoll_event.data.ptr markers for the listening socket and stop_fd */
static char listen_marker, stop_marker, notify_marker;
static atomic_uint next_worker;

static bool out_reserve(struct conn *c, size_t n)
{
	if (c->wend + n <= c->wsize)
		return true;
	if (c->wstart > 0) {
		memmove(c->wbuf, c->wbuf + c->wstart, c->wend - c->wstart);
		c->wend -= c->wstart;
		c->wstart = 0;
		if (c->wend + n <= c->wsize)
			return true;
	}
	size_t ns = c->wsize ? c->wsize : 4096;
	while (ns < c->wend + n)
		ns *= 2;
	char *nb = realloc(c->wbuf, ns);
	if (nb == NULL)
		return false;
	c->wbuf = nb;
	c->wsize = ns;
	return true;
}

static void out_mem(struct conn *c, const void *p, size_t n)
{
	if (!out_reserve(c, n)) {
		c->closing = true; /* cannot answer: drop the connection */
		return;
	}
	memcpy(c->wbuf + c->wend, p, n);
	c->wend += n;
}

static void out_str(struct conn *c, const char *s)
{
	out_mem(c, s, strlen(s));
}

/* A normal reply, suppressed by noreply. */
static void reply(struct conn *c, const char *s)
{
	if (!c->noreply)
		out_str(c, s);
}

/* Errors are sent even with noreply, as memcached does. */
static void reply_err(struct conn *c, const char *s)
{
	out_str(c, s);
}

/* ------------------------------------------------------------------------ */
/* Parsing helpers                                                            */

#define MAX_TOKENS 24

struct tokens {
	char *t[MAX_TOKENS];
	size_t len[MAX_TOKENS];
	int n;
	char *rest; /* first unsplit byte when more than MAX_TOKENS words */
};

/* Split on spaces, up to MAX_TOKENS words; the rest stays in `rest`. */
static void tokenize(char *s, size_t n, struct tokens *tk)
{
	size_t i = 0;

	tk->n = 0;
	tk->rest = NULL;
	while (i < n) {
		while (i < n && s[i] == ' ')
			i++;
		if (i >= n)
			break;
		if (tk->n == MAX_TOKENS) {
			tk->rest = s + i;
			break;
		}
		size_t b = i;
		while (i < n && s[i] != ' ')
			i++;
		tk->t[tk->n] = s + b;
		tk->len[tk->n] = i - b;
		s[i < n ? i : n] = '\0'; /* s has room for one byte past n */
		tk->n++;
		i++;
	}
}

/* Strict decimal parsers: the whole token, no sign unless allowed. */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool parse_i64(const char *s, size_t len, int64_t *out)
{
	uint64_t v;
	bool neg = len > 0 && s[0] == '-';

	if (!parse_u64(s + neg, len - neg, &v))
		return false;
	if (v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

static bool is_noreply(const struct tokens *tk, int i)
{
	return tk->n > i && tk->len[i] == 7 && memcmp(tk->t[i], "noreply", 7) == 0;
}

static bool key_ok(size_t len)
{
	return len > 0 && len <= KEY_MAX;
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                   */

static void append_value(struct conn *c, const char *key, size_t klen,
			 const struct item *it, bool with_cas)
{
	char hdr[64];
	int n;

	out_mem(c, "VALUE ", 6);
	out_mem(c, key, klen);
	if (with_cas)
		n = snprintf(hdr, sizeof(hdr), " %" PRIu32 " %" PRIu32 " %" PRIu64 "\r\n",
			     it->flags, it->nbytes, it->cas);
	else
		n = snprintf(hdr, sizeof(hdr), " %" PRIu32 " %" PRIu32 "\r\n",
			     it->flags, it->nbytes);
	out_mem(c, hdr, (size_t)n);
	out_mem(c, it->data, (size_t)it->nbytes + 2); /* value and \r\n */
}

/* get/gets: one lfd_get per key inside a read-side section; the item is
 * copied into the output buffer before the section ends, so a concurrent
 * set or delete cannot free it under us. */
static void get_one(struct conn *c, const char *key, size_t klen, bool with_cas,
		    int64_t now)
{
	void *v;

	stat_inc(&c->w->st.v[ST_cmd_get], 1);
	lfd_read_lock(dict);
	if (lfd_get(dict, key, klen, &v) == 0) {
		const struct item *it = v;
		if (!item_dead(it, now)) {
			append_value(c, key, klen, it, with_cas);
			stat_inc(&c->w->st.v[ST_get_hits], 1);
			lfd_read_unlock(dict);
			return;
		}
		lfd_pop_if(dict, key, klen, v); /* lazy expiry */
	}
	lfd_read_unlock(dict);
	stat_inc(&c->w->st.v[ST_get_misses], 1);
}

/* get/gets <key>*: keys scanned straight from the line (any number). */
static void cmd_get(struct conn *c, const char *s, size_t n, bool with_cas)
{
	int64_t now = time(NULL);
	size_t mark = c->wend - c->wstart, i = 0;
	int nkeys = 0;

	for (;;) {
		while (i < n && s[i] == ' ')
			i++;
		if (i >= n)
			break;
		size_t b = i;
		while (i < n && s[i] != ' ')
			i++;
		if (!key_ok(i - b)) {
			/* memcached drops the partial answer */
			c->wend = c->wstart + mark;
			reply_err(c, "CLIENT_ERROR bad command line format\r\n");
			return;
		}
		get_one(c, s + b, i - b, with_cas, now);
		nkeys++;
	}
	if (nkeys == 0) {
		reply_err(c, "ERROR\r\n");
		return;
	}
	out_mem(c, "END\r\n", 5);
}

/* Store the completed item `it` under c->key according to c->scmd.  Takes
 * ownership of `it`.  Returns the reply. */
static const char *do_store(struct conn *c, struct item *it)
{
	const char *key = c->key;
	size_t klen = c->klen;
	int64_t now = time(NULL);
	void *cur, *v;
	const char *res;
	int r;

	stat_inc(&c->w->st.v[ST_cmd_set], 1);
	switch (c->scmd) {
	case CMD_SET:
		/* set = lfd_set; the item replaced is freed after a grace period */
		r = lfd_set(dict, key, klen, it, NULL);
		if (r < 0) {
			item_release(it);
			return "SERVER_ERROR out of memory storing object\r\n";
		}
		return "STORED\r\n";
	case CMD_ADD:
		/* add = lfd_insert; an expired item in the way counts as absent */
		lfd_read_lock(dict);
		for (;;) {
			r = lfd_insert(dict, key, klen, it, &cur);
			if (r == 0) {
				res = "STORED\r\n";
				break;
			}
			if (r != -EEXIST) {
				item_release(it);
				res = "SERVER_ERROR out of memory storing object\r\n";
				break;
			}
			if (!item_dead(cur, now)) {
				item_release(it);
				res = "NOT_STORED\r\n";
				break;
			}
			r = lfd_cas(dict, key, klen, cur, it, NULL);
			if (r == 0) {
				res = "STORED\r\n";
				break;
			}
			/* -EAGAIN or -ENOENT: someone else wrote; look again */
		}
		lfd_read_unlock(dict);
		return res;
	case CMD_REPLACE:
	case CMD_APPEND:
	case CMD_PREPEND:
	case CMD_CAS:
		break;
	}

	/* replace / append / prepend / cas: an lfd_cas loop on the live item */
	lfd_read_lock(dict);
	r = lfd_get(dict, key, klen, &cur);
	for (;;) {
		struct item *old = cur, *nw = it;

		if (r == -ENOENT || item_dead(old, now)) {
			if (r == 0)
				lfd_pop_if(dict, key, klen, cur);
			res = c->scmd == CMD_CAS ? "NOT_FOUND\r\n" : "NOT_STORED\r\n";
			if (c->scmd == CMD_CAS)
				stat_inc(&c->w->st.v[ST_cas_misses], 1);
			break;
		}
		if (c->scmd == CMD_CAS && old->cas != c->cas_in) {
			res = "EXISTS\r\n";
			stat_inc(&c->w->st.v[ST_cas_badval], 1);
			break;
		}
		if (c->scmd == CMD_APPEND || c->scmd == CMD_PREPEND) {
			/* a new item: old bytes + new bytes, old flags and expiry */
			size_t total = (size_t)old->nbytes + it->nbytes;
			if (total > opt.max_item) {
				res = "SERVER_ERROR object too large for cache\r\n";
				break;
			}
			nw = item_new((uint32_t)total, (uint32_t)klen);
			if (nw == NULL) {
				res = "SERVER_ERROR out of memory storing object\r\n";
				break;
			}
			nw->flags = old->flags;
			nw->exptime = old->exptime;
			if (c->scmd == CMD_APPEND) {
				memcpy(nw->data, old->data, old->nbytes);
				memcpy(nw->data + old->nbytes, it->data, it->nbytes);
			} else {
				memcpy(nw->data, it->data, it->nbytes);
				memcpy(nw->data + it->nbytes, old->data, old->nbytes);
			}
		}
		r = lfd_cas(dict, key, klen, cur, nw, &v);
		if (r == 0) {
			res = "STORED\r\n";
			if (c->scmd == CMD_CAS)
				stat_inc(&c->w->st.v[ST_cas_hits], 1);
			if (nw != it)
				item_release(it);
			it = NULL; /* published (or merged into nw) */
			break;
		}
		if (nw != it)
			item_release(nw);
		if (r == -EAGAIN) {
			cur = v; /* retry from the item that won */
			r = 0;
		} else if (r != -ENOENT) {
			res = "SERVER_ERROR out of memory storing object\r\n";
			break;
		}
	}
	lfd_read_unlock(dict);
	item_release(it); /* not stored: never published, free it now */
	return res;
}

/* set/add/replace/append/prepend <key> <flags> <exptime> <bytes> [noreply]
 * cas <key> <flags> <exptime> <bytes> <cas unique> [noreply] */
static void cmd_store(struct conn *c, struct tokens *tk, enum store_cmd sc)
{
	int need = sc == CMD_CAS ? 6 : 5;
	uint64_t flags, cas_in = 0;
	int64_t exptime, vlen;

	if (tk->n < need || tk->n > need + 1 || tk->rest != NULL) {
		reply_err(c, "ERROR\r\n");
		return;
	}
	if (!key_ok(tk->len[1]) ||
	    !parse_u64(tk->t[2], tk->len[2], &flags) || flags > UINT32_MAX ||
	    !parse_i64(tk->t[3], tk->len[3], &exptime) ||
	    !parse_i64(tk->t[4], tk->len[4], &vlen) ||
	    (sc == CMD_CAS && !parse_u64(tk->t[5], tk->len[5], &cas_in)) ||
	    (tk->n == need + 1 && !is_noreply(tk, need))) {
		/* like memcached: no swallowing, the data line will be parsed as
		 * a command (and usually answered ERROR) */
		reply_err(c, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	if (vlen < 0 || vlen > INT_MAX - 2) {
		reply_err(c, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	c->noreply = is_noreply(tk, need);
	struct item *it = NULL;
	const char *err = "SERVER_ERROR object too large for cache\r\n";
	if ((uint64_t)vlen <= opt.max_item) {
		it = item_new((uint32_t)vlen, (uint32_t)tk->len[1]);
		err = "SERVER_ERROR out of memory storing object\r\n";
	}
	if (it == NULL) {
		reply_err(c, err);
		/* read and drop the data block, as memcached does; and, as it
		 * does for set, do not leave the old value behind */
		c->state = ST_SWALLOW;
		c->swallow = (uint64_t)vlen + 2;
		if (sc == CMD_SET) {
			lfd_pop(dict, tk->t[1], tk->len[1], NULL);
		}
		return;
	}
	it->flags = (uint32_t)flags;
	it->exptime = abs_exptime(exptime, time(NULL));
	c->scmd = sc;
	c->it = it;
	c->it_have = 0;
	c->cas_in = cas_in;
	c->sreply = !c->noreply;
	c->klen = tk->len[1];
	memcpy(c->key, tk->t[1], c->klen);
	c->state = ST_DATA;
}

/* The data block of a storage command is complete. */
static void finish_store(struct conn *c)
{
	struct item *it = c->it;

	c->it = NULL;
	c->state = ST_LINE;
	c->noreply = !c->sreply;
	if (it->data[it->nbytes] != '\r' || it->data[it->nbytes + 1] != '\n') {
		/* a value longer than announced (or a bad terminator) */
		item_release(it);
		reply_err(c, "CLIENT_ERROR bad data chunk\r\n");
		return;
	}
	const char *res = do_store(c, it);
	if (strncmp(res, "SERVER_ERROR", 12) == 0)
		reply_err(c, res);
	else
		reply(c, res);
}

/* delete <key> [0] [noreply] = lfd_pop */
static void cmd_delete(struct conn *c, struct tokens *tk)
{
	int n = tk->n;
	void *v;

	if (n > 2 && is_noreply(tk, n - 1)) {
		c->noreply = true;
		n--;
	}
	if (n < 2 || n > 3 || tk->rest != NULL ||
	    (n == 3 && !(tk->len[2] == 1 && tk->t[2][0] == '0'))) {
		reply_err(c, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
		return;
	}
	if (!key_ok(tk->len[1])) {
		reply_err(c, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	/* inside a read-side section so that the popped item can be looked at */
	lfd_read_lock(dict);
	int r = lfd_pop(dict, tk->t[1], tk->len[1], &v);
	bool hit = r == 0 && !item_dead(v, time(NULL));
	lfd_read_unlock(dict);
	stat_inc(hit ? &c->w->st.v[ST_delete_hits] : &c->w->st.v[ST_delete_misses], 1);
	reply(c, hit ? "DELETED\r\n" : "NOT_FOUND\r\n");
}

/* The shape "<cmd> <key> <arg> [noreply]" (incr, decr, touch): check it,
 * set c->noreply, and answer the client's error if it is off. */
static bool check_key_arg_line(struct conn *c, const struct tokens *tk)
{
	if (tk->n < 3 || tk->n > 4 || tk->rest != NULL ||
	    (tk->n == 4 && !is_noreply(tk, 3))) {
		reply_err(c, "ERROR\r\n");
		return false;
	}
	c->noreply = tk->n == 4;
	if (!key_ok(tk->len[1])) {
		reply_err(c, "CLIENT_ERROR bad command line format\r\n");
		return false;
	}
	return true;
}

/*
 * Replace the live item under key by make(old)'s copy of it, with an
 * lfd_cas loop (a racing update makes make run again on the newer item).
 * make returns NULL and sets *nw, or returns the error reply.  Returns
 * NULL once the copy is stored, "NOT_FOUND\r\n" when there is no live item
 * (a dead one is popped), or an error reply ("SERVER_ERROR ...", or make's).
 */
typedef const char *(*item_copy_fn)(const struct item *old, uint32_t klen,
				    void *arg, struct item **nw);

static const char *item_cas_update(const char *key, size_t klen, int64_t now,
				   item_copy_fn make, void *arg)
{
	const char *res = NULL;
	void *cur, *v;
	int r;

	lfd_read_lock(dict);
	r = lfd_get(dict, key, klen, &cur);
	for (;;) {
		const struct item *old = cur;
		struct item *nw;

		if (r == -ENOENT || item_dead(old, now)) {
			if (r == 0)
				lfd_pop_if(dict, key, klen, cur);
			res = "NOT_FOUND\r\n";
			break;
		}
		res = make(old, (uint32_t)klen, arg, &nw);
		if (res != NULL)
			break;
		r = lfd_cas(dict, key, klen, cur, nw, &v);
		if (r == 0)
			break;
		item_release(nw);
		if (r == -EAGAIN) {
			cur = v;
			r = 0;
		} else if (r != -ENOENT) {
			res = "SERVER_ERROR out of memory\r\n";
			break;
		}
	}
	lfd_read_unlock(dict);
	return res;
}

struct arith_arg {
	uint64_t delta;
	bool incr;
	char buf[32]; /* the new value, in decimal */
};

/* incr/decr's copy: the new decimal value, the old flags and expiry. */
static const char *arith_copy(const struct item *old, uint32_t klen,
			      void *arg, struct item **out)
{
	struct arith_arg *a = arg;
	uint64_t val;

	if (!parse_u64(old->data, old->nbytes, &val))
		return "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
	if (a->incr)
		val += a->delta; /* wraps at 2^64, as memcached */
	else
		val = a->delta > val ? 0 : val - a->delta;
	int n = snprintf(a->buf, sizeof(a->buf), "%" PRIu64, val);
	struct item *nw = item_new((uint32_t)n, klen);
	if (nw == NULL)
		return "SERVER_ERROR out of memory\r\n";
	memcpy(nw->data, a->buf, (size_t)n);
	nw->flags = old->flags;
	nw->exptime = old->exptime;
	*out = nw;
	return NULL;
}

/* incr/decr <key> <delta> [noreply]. */
static void cmd_arith(struct conn *c, struct tokens *tk, bool incr)
{
	struct arith_arg a = { .incr = incr };

	if (!check_key_arg_line(c, tk))
		return;
	if (!parse_u64(tk->t[2], tk->len[2], &a.delta)) {
		reply_err(c, "CLIENT_ERROR invalid numeric delta argument\r\n");
		return;
	}
	const char *res = item_cas_update(tk->t[1], tk->len[1], time(NULL),
					  arith_copy, &a);
	if (res == NULL) {
		stat_inc(incr ? &c->w->st.v[ST_incr_hits] : &c->w->st.v[ST_decr_hits], 1);
		if (!c->noreply) {
			out_str(c, a.buf);
			out_mem(c, "\r\n", 2);
		}
	} else if (res[0] == 'N') {
		stat_inc(incr ? &c->w->st.v[ST_incr_misses] : &c->w->st.v[ST_decr_misses], 1);
		reply(c, res);
	} else {
		reply_err(c, res);
	}
}

/* touch's copy: the same data, flags and cas unique (as memcached keeps
 * it), the new expiry. */
static const char *touch_copy(const struct item *old, uint32_t klen,
			      void *arg, struct item **out)
{
	struct item *nw = item_new(old->nbytes, klen);

	if (nw == NULL)
		return "SERVER_ERROR out of memory\r\n";
	memcpy(nw->data, old->data, old->nbytes);
	nw->flags = old->flags;
	nw->cas = old->cas;
	nw->exptime = *(const int64_t *)arg;
	*out = nw;
	return NULL;
}

/* touch <key> <exptime> [noreply]. */
static void cmd_touch(struct conn *c, struct tokens *tk)
{
	int64_t exptime, now = time(NULL);

	if (!check_key_arg_line(c, tk))
		return;
	if (!parse_i64(tk->t[2], tk->len[2], &exptime)) {
		reply_err(c, "CLIENT_ERROR invalid exptime argument\r\n");
		return;
	}
	exptime = abs_exptime(exptime, now);
	stat_inc(&c->w->st.v[ST_cmd_touch], 1);
	const char *res = item_cas_update(tk->t[1], tk->len[1], now,
					  touch_copy, &exptime);
	if (res == NULL)
		res = "TOUCHED\r\n";
	stat_inc(&c->w->st.v[res[0] == 'T' ? ST_touch_hits : ST_touch_misses], 1);
	if (res[0] == 'S')
		reply_err(c, res);
	else
		reply(c, res);
}

struct flush_arg {
	int64_t before; /* pop items stored before this time; 0: all */
	int64_t now;
	bool dead_only;
};

static int flush_one(void *arg, const void *key, size_t len, void *value)
{
	const struct flush_arg *fa = arg;
	const struct item *it = value;

	if (fa->dead_only && !item_dead(it, fa->now))
		return 0;
	/* only if still the item visited: a newer one set meanwhile stays */
	lfd_pop_if(dict, key, len, value);
	return 0;
}

static void flush_table(bool dead_only)
{
	struct flush_arg fa = { 0, time(NULL), dead_only };

	lfd_foreach(dict, flush_one, &fa);
}

/* flush_all [delay] [noreply] */
static void cmd_flush(struct conn *c, struct tokens *tk)
{
	int n = tk->n;
	int64_t delay = 0;

	if (n > 1 && is_noreply(tk, n - 1)) {
		c->noreply = true;
		n--;
	}
	if (n > 2 || tk->rest != NULL ||
	    (n == 2 && (!parse_i64(tk->t[1], tk->len[1], &delay) || delay < 0))) {
		reply_err(c, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	stat_inc(&c->w->st.v[ST_cmd_flush], 1);
	if (delay == 0) {
		atomic_store(&flush_deadline, 0);
		flush_table(false);
	} else {
		atomic_store(&flush_deadline,
			     (long long)abs_exptime(delay, time(NULL)));
	}
	reply(c, "OK\r\n");
}

static uint64_t sum_stat(int k)
{
	uint64_t s = 0;

	for (int i = 0; i < opt.threads; i++)
		s += atomic_load_explicit(&workers[i].st.v[k], memory_order_relaxed);
	return s;
}

static void cmd_stats(struct conn *c, struct tokens *tk)
{
	char buf[128];
	size_t count = 0;
	struct rusage ru;

	if (tk->n != 1) {
		reply_err(c, "ERROR\r\n");
		return;
	}
	lfd_count(dict, &count);
	getrusage(RUSAGE_SELF, &ru);
#define S(fmt, ...)                                                           \
	do {                                                                  \
		int n_ = snprintf(buf, sizeof(buf), "STAT " fmt "\r\n",       \
				  __VA_ARGS__);                               \
		out_mem(c, buf, (size_t)n_);                                  \
	} while (0)
	time_t now = time(NULL);
	S("pid %ld", (long)getpid());
	S("uptime %ld", (long)(now - start_time));
	S("time %ld", (long)now);
	S("version %s", KV_VERSION);
	S("pointer_size %d", (int)(8 * sizeof(void *)));
	S("rusage_user %ld.%06ld", (long)ru.ru_utime.tv_sec,
	  (long)ru.ru_utime.tv_usec);
	S("rusage_system %ld.%06ld", (long)ru.ru_stime.tv_sec,
	  (long)ru.ru_stime.tv_usec);
	S("max_connections %ld", opt.max_conns);
	S("curr_connections %ld", atomic_load(&curr_conns));
	S("total_connections %lu", atomic_load(&total_conns));
	for (int k = 0; k < ST_COUNT; k++)
		S("%s %" PRIu64, stat_names[k], sum_stat(k));
	S("limit_maxbytes %zu", opt.mem_limit);
	S("threads %d", opt.threads);
	S("bytes %zu", atomic_load_explicit(&mem_used, memory_order_relaxed));
	S("curr_items %zu", count);
	S("item_size_max %zu", opt.max_item);
#undef S
	out_mem(c, "END\r\n", 5);
}

/* One command line (without \r\n; line[len] is writable). */
static void process_line(struct conn *c, char *line, size_t len)
{
	struct tokens tk;

	c->noreply = false;
	/* get and gets take any number of keys: scan the line itself */
	size_t w = 0;
	while (w < len && line[w] == ' ')
		w++;
	if (len - w >= 4 && memcmp(line + w, "get ", 4) == 0) {
		cmd_get(c, line + w + 4, len - w - 4, false);
		return;
	}
	if (len - w >= 5 && memcmp(line + w, "gets ", 5) == 0) {
		cmd_get(c, line + w + 5, len - w - 5, true);
		return;
	}
	tokenize(line, len, &tk);
	if (tk.n == 0) {
		reply_err(c, "ERROR\r\n");
		return;
	}
	const char *cmd = tk.t[0];
#define IS(s) (tk.len[0] == sizeof(s) - 1 && memcmp(cmd, s, sizeof(s) - 1) == 0)
	if (IS("set"))
		cmd_store(c, &tk, CMD_SET);
	else if (IS("add"))
		cmd_store(c, &tk, CMD_ADD);
	else if (IS("replace"))
		cmd_store(c, &tk, CMD_REPLACE);
	else if (IS("append"))
		cmd_store(c, &tk, CMD_APPEND);
	else if (IS("prepend"))
		cmd_store(c, &tk, CMD_PREPEND);
	else if (IS("cas"))
		cmd_store(c, &tk, CMD_CAS);
	else if (IS("delete"))
		cmd_delete(c, &tk);
	else if (IS("incr"))
		cmd_arith(c, &tk, true);
	else if (IS("decr"))
		cmd_arith(c, &tk, false);
	else if (IS("touch"))
		cmd_touch(c, &tk);
	else if (IS("flush_all"))
		cmd_flush(c, &tk);
	else if (IS("stats"))
		cmd_stats(c, &tk);
	else if (IS("version"))
		out_str(c, "VERSION " KV_VERSION "\r\n"); /* 1.6: args ignored */
	else if (IS("verbosity") && tk.rest == NULL &&
		 (tk.n == 2 || (tk.n == 3 && is_noreply(&tk, 2)))) {
		/* accepted and ignored: this server has no log levels */
		c->noreply = is_noreply(&tk, tk.n - 1);
		reply(c, "OK\r\n");
	} else if (IS("quit"))
		c->closing = true;
	else
		reply_err(c, "ERROR\r\n");
#undef IS
}

/* Consume what the read buffer holds.  Returns false when output has piled
 * up and parsing must wait for the socket to drain. */
static bool process_input(struct conn *c)
{
	while (!c->closing && c->rstart < c->rend) {
		if (c->wend - c->wstart > WBUF_HIGH)
			return false;
		char *p = c->rbuf + c->rstart;
		size_t avail = c->rend - c->rstart;

		if (c->state == ST_SWALLOW) {
			size_t n = avail < c->swallow ? avail : (size_t)c->swallow;
			c->swallow -= n;
			c->rstart += n;
			if (c->swallow == 0)
				c->state = ST_LINE;
			continue;
		}
		if (c->state == ST_DATA) {
			size_t want = (size_t)c->it->nbytes + 2 - c->it_have;
			size_t n = avail < want ? avail : want;
			memcpy(c->it->data + c->it_have, p, n);
			c->it_have += n;
			c->rstart += n;
			if (n == want)
				finish_store(c);
			continue;
		}
		char *nl = memchr(p, '\n', avail);
		if (nl == NULL) {
			if (avail > LINE_MAX_LEN) {
				reply_err(c, "CLIENT_ERROR line too long\r\n");
				c->closing = true;
			}
			break;
		}
		size_t len = (size_t)(nl - p);
		c->rstart += len + 1;
		if (len > LINE_MAX_LEN) {
			reply_err(c, "CLIENT_ERROR line too long\r\n");
			c->closing = true;
			break;
		}
		if (len > 0 && p[len - 1] == '\r')
			len--;
		process_line(c, p, len); /* p[len] is '\r' or '\n': writable */
	}
	/* compact the read buffer */
	if (c->rstart == c->rend) {
		c->rstart = c->rend = 0;
	} else if (c->rstart > 0 && c->rstart > c->rsize / 2) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	return true;
}

static void conn_close(struct conn *c)
{
	struct worker *w = c->w;

	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	item_release(c->it); /* a value cut short by a disconnect */
	free(c->rbuf);
	free(c->wbuf);
	free(c);
	atomic_fetch_sub(&curr_conns, 1);
}

/* Write what we can.  Returns -1 on a socket error. */
static int conn_flush(struct conn *c)
{
	while (c->wstart < c->wend) {
		ssize_t n = send(c->fd, c->wbuf + c->wstart, c->wend - c->wstart,
				 MSG_NOSIGNAL);
		if (n > 0) {
			c->wstart += (size_t)n;
			stat_inc(&c->w->st.v[ST_bytes_written], (uint64_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		return -1;
	}
	c->wstart = c->wend = 0;
	return 0;
}

static void conn_watch(struct conn *c, bool out)
{
	struct epoll_event ev = { .events = out ? EPOLLOUT : EPOLLIN,
				  .data.ptr = c };

	if (c->want_out == out)
		return;
	c->want_out = out;
	epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Process buffered input and send the answers; returns false if the
 * connection was closed. */
static bool conn_run(struct conn *c)
{
	for (;;) {
		bool done = process_input(c);
		if (conn_flush(c) < 0) {
			conn_close(c);
			return false;
		}
		if (c->wstart < c->wend) {
			conn_watch(c, true); /* wait until the peer reads */
			return true;
		}
		if (c->closing) {
			conn_close(c);
			return false;
		}
		if (done)
			break;
	}
	conn_watch(c, false);
	return true;
}

static void conn_readable(struct conn *c)
{
	if (c->rend == c->rsize && c->rstart > 0) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	if (c->rend == c->rsize) {
		/* grow, up to a full line plus slack (values are copied out) */
		size_t ns = c->rsize * 2;
		if (ns > 2 * LINE_MAX_LEN + 2 * RBUF_INIT)
			ns = 2 * LINE_MAX_LEN + 2 * RBUF_INIT;
		if (ns > c->rsize) {
			char *nb = realloc(c->rbuf, ns + 1);
			if (nb == NULL) {
				conn_close(c);
				return;
			}
			c->rbuf = nb;
			c->rsize = ns;
		}
	}
	ssize_t n = recv(c->fd, c->rbuf + c->rend, c->rsize - c->rend, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(c); /* peer gone, maybe mid-value: nothing stored */
		return;
	}
	if (n < 0)
		return;
	c->rend += (size_t)n;
	stat_inc(&c->w->st.v[ST_bytes_read], (uint64_t)n);
	conn_run(c);
}

/* Adopt a socket accepted by some worker (maybe this one). */
static void adopt_conn(struct worker *w, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	char *rb = malloc(RBUF_INIT + 1);
	int one = 1;

	if (c == NULL || rb == NULL) {
		free(c);
		free(rb);
		close(fd);
		atomic_fetch_sub(&curr_conns, 1);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->w = w;
	c->rbuf = rb;
	c->rsize = RBUF_INIT;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		conn_close(c);
}

static void adopt_queued(struct worker *w)
{
	uint64_t cnt;
	int *q;
	size_t n;

	if (read(w->notify_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&w->qlock);
	q = w->q;
	n = w->qlen;
	w->q = NULL;
	w->qlen = w->qcap = 0;
	pthread_mutex_unlock(&w->qlock);
	for (size_t i = 0; i < n; i++)
		adopt_conn(w, q[i]);
	free(q);
}

/* The listening socket is in every worker's epoll set (EPOLLEXCLUSIVE: one
 * wakes); the worker that wakes accepts everything pending and deals the
 * sockets out round robin, so a burst of connects does not all land on it. */
static void accept_conns(void)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN (another worker took it), or an error */
		if (atomic_fetch_add(&curr_conns, 1) >= opt.max_conns) {
			static const char msg[] = "ERROR Too many open connections\r\n";
			ssize_t r = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL);
			(void)r;
			close(fd);
			atomic_fetch_sub(&curr_conns, 1);
			continue;
		}
		atomic_fetch_add(&total_conns, 1);
		struct worker *t = &workers[atomic_fetch_add(&next_worker, 1) %
					    (unsigned)opt.threads];
		pthread_mutex_lock(&t->qlock);
		if (t->qlen == t->qcap) {
			size_t nc = t->qcap ? 2 * t->qcap : 16;
			int *nq = realloc(t->q, nc * sizeof(*nq));
			if (nq == NULL) {
				pthread_mutex_unlock(&t->qlock);
				close(fd);
				atomic_fetch_sub(&curr_conns, 1);
				continue;
			}
			t->q = nq;
			t->qcap = nc;
		}
		t->q[t->qlen++] = fd;
		pthread_mutex_unlock(&t->qlock);
		uint64_t one = 1;
		ssize_t r = write(t->notify_fd, &one, sizeof(one));
		(void)r;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[64];

	KV_FLAVOR->register_thread();

	while (!atomic_load(&stopping)) {
		int n = epoll_wait(w->epfd, evs, 64, -1);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &stop_marker)
				break;
			if (p == &listen_marker) {
				accept_conns();
				continue;
			}
			if (p == &notify_marker) {
				adopt_queued(w);
				continue;
			}
			struct conn *c = p;
			if (evs[i].events & (EPOLLERR | EPOLLHUP) &&
			    !(evs[i].events & EPOLLIN)) {
				conn_close(c);
			} else if (evs[i].events & EPOLLOUT) {
				conn_run(c);
			} else {
				conn_readable(c);
			}
		}
	}
	while (w->conns)
		conn_close(w->conns);

	KV_FLAVOR->unregister_thread();
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Startup, sweeping, shutdown                                                */

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return 0;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	return *end == '\0' ? (size_t)v : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: lfd-kvserver [options]\n"
"  -p, --port N          TCP port (default 11211; 0: any free port)\n"
"  -l, --listen ADDR     IPv4 address to listen on (default 127.0.0.1)\n"
"  -t, --threads N       worker threads (default 4)\n"
"  -c, --max-conns N     maximum simultaneous connections (default 1024)\n"
"  -m, --memory-limit MB item memory limit in megabytes (default 64)\n"
"  -I, --max-item-size S largest value, bytes, k/m suffix (default 1m)\n"
"  -P, --port-file FILE  write the port listened on to FILE when ready\n"
"  -v, --verbose         log connections and shutdown to stderr\n"
"  -h, --help\n"
"SIGINT or SIGTERM: stop accepting, close connections, free everything.\n");
}

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-conns", required_argument, NULL, 'c' },
		{ "memory-limit", required_argument, NULL, 'm' },
		{ "max-item-size", required_argument, NULL, 'I' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	char *end;
	long v;

	while ((ch = getopt_long(argc, argv, "p:l:t:c:m:I:P:vh", lo, NULL)) != -1) {
		switch (ch) {
		case 'p':
			v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 65535)
				goto bad;
			opt.port = (int)v;
			break;
		case 'l':
			opt.listen_addr = optarg;
			break;
		case 't':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 256)
				goto bad;
			opt.threads = (int)v;
			break;
		case 'c':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 1000000)
				goto bad;
			opt.max_conns = v;
			break;
		case 'm':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 1024 * 1024)
				goto bad;
			opt.mem_limit = (size_t)v << 20;
			break;
		case 'I':
			opt.max_item = parse_size(optarg);
			if (opt.max_item == 0 || opt.max_item > (size_t)1 << 30)
				goto bad;
			break;
		case 'P':
			opt.port_file = optarg;
			break;
		case 'v':
			opt.verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	return 0;
bad:
	usage(stderr);
	return -1;
}

static int open_listener(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)opt.port) };
	socklen_t sl = sizeof(sa);
	int one = 1;

	if (inet_pton(AF_INET, opt.listen_addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "lfd-kvserver: bad listen address %s\n",
			opt.listen_addr);
		return -1;
	}
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 ||
	    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listen_fd, 1024) ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &sl)) {
		perror("lfd-kvserver: listen");
		return -1;
	}
	opt.port = ntohs(sa.sin_port);
	return 0;
}

int main(int argc, char **argv)
{
	struct lfd_config cfg = { 0 };
	sigset_t sigs;
	int rc = 1, started = 0;

	if (parse_args(argc, argv))
		return 2;
	start_time = time(NULL);
	/* Signals: SIGPIPE ignored (send uses MSG_NOSIGNAL anyway); SIGINT and
	 * SIGTERM blocked in every thread and taken by sigtimedwait below. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	cfg.value_free = item_free;
	cfg.flavor = KV_FLAVOR;
	KV_FLAVOR->register_thread(); /* the main thread sweeps (lfd_foreach) */
	dict = lfd_new(&cfg);
	if (dict == NULL) {
		perror("lfd-kvserver: lfd_new");
		return 1;
	}
	workers = calloc((size_t)opt.threads, sizeof(*workers));
	stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (workers == NULL || stop_fd < 0 || open_listener() < 0)
		goto out;
	/* set every worker up before any starts: any may hand sockets to any */
	for (int i = 0; i < opt.threads; i++) {
		struct worker *w = &workers[i];
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
					  .data.ptr = &listen_marker };
		struct epoll_event sev = { .events = EPOLLIN,
					   .data.ptr = &stop_marker };
		struct epoll_event nev = { .events = EPOLLIN,
					   .data.ptr = &notify_marker };
		pthread_mutex_init(&w->qlock, NULL);
		w->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0 || w->notify_fd < 0 ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, listen_fd, &ev) ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, stop_fd, &sev) ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->notify_fd, &nev)) {
			perror("lfd-kvserver: worker");
			goto stop;
		}
	}
	for (int i = 0; i < opt.threads; i++) {
		if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i])) {
			perror("lfd-kvserver: pthread_create");
			goto stop;
		}
		started++;
	}
	if (opt.port_file) {
		/* write then rename, so a reader never sees a partial file */
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", opt.port_file);
		FILE *f = fopen(tmp, "w");
		if (f == NULL || fprintf(f, "%d\n", opt.port) < 0 || fclose(f) ||
		    rename(tmp, opt.port_file)) {
			perror("lfd-kvserver: port file");
			goto stop;
		}
	}
	if (opt.verbose)
		fprintf(stderr, "lfd-kvserver: %s:%d, %d threads\n",
			opt.listen_addr, opt.port, opt.threads);

	/* The main thread waits for a signal and sweeps expired items. */
	for (int tick = 0;; tick++) {
		struct timespec ts = { 1, 0 };
		int sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM) {
			if (opt.verbose)
				fprintf(stderr, "lfd-kvserver: signal %d, stopping\n", sig);
			break;
		}
		long long fl = atomic_load(&flush_deadline);
		if ((fl != 0 && time(NULL) >= fl) ||
		    (tick % SWEEP_PERIOD == 0 &&
		     atomic_load_explicit(&have_expiring, memory_order_relaxed)))
			flush_table(true);
	}
	rc = 0;
stop:
	atomic_store(&stopping, true);
	{
		uint64_t one = 1;
		ssize_t r = write(stop_fd, &one, sizeof(one));
		(void)r;
	}
	for (int i = 0; i < started; i++)
		pthread_join(workers[i].tid, NULL);
	for (int i = 0; workers != NULL && i < opt.threads; i++) {
		struct worker *w = &workers[i];
		for (size_t j = 0; j < w->qlen; j++)
			close(w->q[j]); /* handed over, never adopted */
		free(w->q);
		if (w->epfd > 0)
			close(w->epfd);
		if (w->notify_fd > 0)
			close(w->notify_fd);
		pthread_mutex_destroy(&w->qlock);
	}
out:
	if (listen_fd >= 0)
		close(listen_fd);
	if (stop_fd >= 0)
		close(stop_fd);
	free(workers);
	if (lfd_destroy(dict) != 0)
		rc = 1;
	KV_FLAVOR->unregister_thread();
	if (opt.verbose)
		fprintf(stderr, "lfd-kvserver: stopped\n");
	return rc;
}
