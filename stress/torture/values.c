/*
 * values.c - lfd-torture: keys (made from an id, checked back) and values.
 * Every value is a 64-byte record (struct tval) from a private pool, with
 * a magic, a unique id (uid) and the id of its key; the value destructor
 * poisons it.  Each record counts its departures (returned by a call as
 * having left the dictionary) and destructions: at most one of each.
 *
 * SPDX-License-Identifier: MIT
 *
 * Uses: torture.h (the options, reports of util.c, FL; tl_in_lock of
 * stall.c).
 */
#include "torture.h"

/* ------------------------------------------------------------------ */
/* keys                                                                */

size_t mkkey(uint32_t id, unsigned char *buf)
{
	size_t len = 4 + id % 5;
	memcpy(buf, &id, 4);
	for (size_t i = 4; i < len; i++)
		buf[i] = (unsigned char)(id * 31u + (uint32_t)i);
	return len;
}

/* The id of a key we made, or -1. */
int64_t parsekey(const void *k, size_t len)
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

#define V_DEP 1u
#define V_DTOR 0x10000u
#define V_QUAR 8192
/* The value pool's address space (reserved, touched as used); --pool-mib
 * sets it.  Memcheck spends some 45 s setting up the shadow of 16 GiB. */
size_t pool_bytes = (size_t)1 << 34;

struct tval *pool;
/* The records handed to the caches so far: val_new's seq_cst RMW gives
 * each cache records of its own; valid_val's relaxed load is enough (see
 * there); fork.c and final.c read it with no other thread running. */
atomic_size_t pool_used;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tval *fifo_head, *fifo_tail;
static size_t fifo_n;
/* Set (seq_cst) before lfd_destroy by the thread that calls it (final.c,
 * a fork child); t_dtor's seq_cst load pairs with it: the destructors
 * lfd_destroy runs come after the store, in its thread or through
 * call_rcu, which orders them after it. */
atomic_int destroying;
/* Counts for the report, read after the joins: relaxed. */
atomic_long n_dtor, n_depart;

/*
 * A record's fields (struct tval).  uid, key, magic: relaxed.  The thread
 * that holds a record alone writes them (val_new; the poison); a thread
 * that reads them got the value from lfdict, whose publication (rule 2 of
 * doc/memory-model.md: the call that stored it, the call that returned
 * it) orders val_new's stores before its loads; a record reaches its next
 * owner under pool_lock.  A poisoned magic seen by a reader is a bug to
 * report, not something to order.  ev and st: seq_cst RMWs, see t_dtor
 * and recycle.
 */

bool valid_val(const void *p)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)pool;
	if (a < b || (a - b) % sizeof(struct tval))
		return false;
	/* relaxed: p reached this thread after the pool_used RMW that covered
	 * it (made here, or published by lfdict: rule 2 of
	 * doc/memory-model.md), so coherence gives at least that count */
	return (a - b) / sizeof(struct tval) <
	       atomic_load_explicit(&pool_used, RLX);
}

void recycle(struct tval *v)
{
	/* seq_cst: the RMW catches a second recycle (only one exchange can
	 * read 1); the record reaches its next owner under pool_lock */
	if (atomic_exchange_explicit(&v->st, 0, SEQ) != 1) {
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

/* Around a fork (fork.c): no other thread holds the pool's lock. */
void val_fork_lock(bool lock)
{
	if (lock)
		pthread_mutex_lock(&pool_lock);
	else
		pthread_mutex_unlock(&pool_lock);
}

struct tval *val_new(struct tcache *c, uint32_t key)
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
			/* seq_cst: see pool_used */
			size_t i = atomic_fetch_add_explicit(&pool_used,
							     TCACHE / 2, SEQ);
			if ((i + TCACHE / 2) * sizeof(struct tval) > pool_bytes) {
				fprintf(stderr, "value pool exhausted\n");
				abort();
			}
			for (unsigned k = 0; k < TCACHE / 2; k++)
				c->v[c->n++] = &pool[i + k];
		}
		/* seq_cst: these records are this thread's alone now (taken
		 * under pool_lock, or fresh); recycle's exchange comes after
		 * it in this thread or after v's publication, final.c's loads
		 * after the joins */
		for (unsigned k = 0; k < c->n; k++)
			atomic_store_explicit(&c->v[k]->st, 1, SEQ);
	}
	struct tval *v = c->v[--c->n];
	/* relaxed: published by the call that stores v (see the fields) */
	atomic_store_explicit(&v->uid, c->uid_hi | ++c->uid_lo, RLX);
	atomic_store_explicit(&v->key, key, RLX);
	atomic_store_explicit(&v->ev, 0, RLX);
	atomic_store_explicit(&v->magic, V_LIVE, RLX);
	return v;
}

/* An unpublished value back to the thread's cache. */
void val_unused(struct tcache *c, struct tval *v)
{
	if (c->n < TCACHE) {
		c->v[c->n++] = v;
		return;
	}
	/* relaxed: v was never published; pool_lock orders its reuse */
	atomic_store_explicit(&v->magic, V_DEAD, RLX);
	recycle(v);
}

void tcache_drain(struct tcache *c)
{
	while (c->n) {
		struct tval *v = c->v[--c->n];
		/* relaxed: as in val_unused */
		atomic_store_explicit(&v->magic, V_DEAD, RLX);
		recycle(v);
	}
}

static void rcu_recycle(struct rcu_head *h)
{
	struct tval *v = (struct tval *)(void *)((char *)h -
						  offsetof(struct tval, rh));
	/* relaxed: past a grace period, no reader holds v any more;
	 * pool_lock orders its reuse */
	atomic_store_explicit(&v->magic, V_DEAD, RLX);
	recycle(v);
}

/* The value destructor. */
void t_dtor(void *p, void *arg)
{
	(void)arg;
	/* relaxed: see n_dtor */
	atomic_fetch_add_explicit(&n_dtor, 1, RLX);
	if (!valid_val(p)) {
		viol("destructor called on a foreign pointer %p", p);
		return;
	}
	struct tval *v = p;
	/* relaxed: the RMW alone tells a second destruction (it reads
	 * V_DEAD); uid only names the value in the report */
	uint64_t m = atomic_exchange_explicit(&v->magic, V_DEAD, RLX);
	CHECK(m == V_LIVE, "destructor called on a %s value %p (uid %" PRIx64
	      ")", m == V_DEAD ? "dead" : "corrupt", p,
	      atomic_load_explicit(&v->uid, RLX));
	/* seq_cst: departures and destructions are counted in one word, so
	 * of the two last events exactly one RMW sees both and recycles; the
	 * RMWs' order puts the other event's accesses before the recycle */
	uint32_t e = atomic_fetch_add_explicit(&v->ev, V_DTOR, SEQ) + V_DTOR;
	if ((e >> 16) != 1) {
		viol("destructor ran %u times on value %p", e >> 16, p);
		return;
	}
	/* never returned as departed (a call's departure is counted inside
	 * its read-side section, so before this runs: workers.c, key_op):
	 * lfd_destroy's, or (mode clear) an lfd_clear's, which returns no
	 * values */
	/* seq_cst load of destroying: see there */
	if ((e & 0xffff) == 1 ||
	    ((e & 0xffff) == 0 &&
	     (atomic_load_explicit(&destroying, SEQ) || O.mode->clears)))
		recycle(v);
}

/* A call returned v as having left the dictionary. */
void val_departed(void *p, uint32_t key, const char *what)
{
	/* relaxed: see n_depart */
	atomic_fetch_add_explicit(&n_depart, 1, RLX);
	if (!valid_val(p)) {
		viol("%s returned a foreign pointer %p as the old value of "
		     "key %u", what, p, key);
		return;
	}
	struct tval *v = p;
	/* seq_cst: see t_dtor */
	uint32_t e = atomic_fetch_add_explicit(&v->ev, V_DEP, SEQ) + V_DEP;
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
uint64_t val_check(const void *p, uint32_t key, const char *what)
{
	if (!valid_val(p)) {
		viol("%s of key %u returned a foreign pointer %p", what, key, p);
		return 0;
	}
	const struct tval *v = p;
	/* relaxed: lfdict's publication orders val_new's stores before these
	 * loads (see the fields, above) */
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
