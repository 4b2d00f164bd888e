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
atomic_size_t pool_used;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tval *fifo_head, *fifo_tail;
static size_t fifo_n;
atomic_int destroying;
atomic_long n_dtor, n_depart;

bool valid_val(const void *p)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)pool;
	if (a < b || (a - b) % sizeof(struct tval))
		return false;
	return (a - b) / sizeof(struct tval) <
	       atomic_load_explicit(&pool_used, RLX);
}

void recycle(struct tval *v)
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
void val_unused(struct tcache *c, struct tval *v)
{
	if (c->n < TCACHE) {
		c->v[c->n++] = v;
		return;
	}
	atomic_store_explicit(&v->magic, V_DEAD, RLX);
	recycle(v);
}

void tcache_drain(struct tcache *c)
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
void t_dtor(void *p, void *arg)
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
	/* never returned as departed (a call's departure is counted inside
	 * its read-side section, so before this runs: workers.c, key_op):
	 * lfd_destroy's, or (mode clear) an lfd_clear's, which returns no
	 * values */
	if ((e & 0xffff) == 1 ||
	    ((e & 0xffff) == 0 &&
	     (atomic_load(&destroying) || O.mode->clears)))
		recycle(v);
}

/* A call returned v as having left the dictionary. */
void val_departed(void *p, uint32_t key, const char *what)
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
uint64_t val_check(const void *p, uint32_t key, const char *what)
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
