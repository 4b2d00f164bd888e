/*
 * bench/peer_ck_ht.c - lfd-bench's adapter for ConcurrencyKit's ck_ht
 * (direct mode, SPMC: one writer at a time, by mutex; maps retired by a
 * grow freed once the table is quiescent).  Uses ck_ht, pthreads and
 * bench/peer.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <ck_ht.h>

#include "peer.h"

struct deferred {
	struct deferred *next;
};

struct ckt {
	ck_ht_t ht;
	pthread_mutex_t wlock;
	struct deferred *deferred; /* maps retired by a grow (under wlock) */
};

/* ck's allocator interface has no context pointer; one table per process */
static struct ckt *ck_current;

static void *ck_malloc_cb(size_t r)
{
	return malloc(r < sizeof(struct deferred) ? sizeof(struct deferred)
						  : r);
}

static void ck_free_cb(void *p, size_t b, bool r)
{
	(void)b;
	if (r && ck_current) {
		/* Readers may still be in the old map: free it once the
		 * table is quiescent (what ck_epoch would do). */
		struct deferred *d = p;

		d->next = ck_current->deferred;
		ck_current->deferred = d;
		return;
	}
	free(p);
}

static void *ck_realloc_cb(void *p, size_t a, size_t b, bool r)
{
	(void)a;
	(void)r;
	return realloc(p, b);
}

static struct ck_malloc ck_alloc = {
	.malloc = ck_malloc_cb, .realloc = ck_realloc_cb, .free = ck_free_cb
};

static void ck_hash_cb(ck_ht_hash_t *h, const void *key, size_t len,
		       uint64_t seed)
{
	(void)len;
	(void)seed;
	h->value = bench_hash(load_u64(key));
}

static void *ck_create(size_t n)
{
	struct ckt *c = calloc(1, sizeof(*c));

	(void)n;
	if (c == NULL)
		exit(2);
	pthread_mutex_init(&c->wlock, NULL);
	ck_current = c;
	if (!ck_ht_init(&c->ht, CK_HT_MODE_DIRECT, ck_hash_cb, &ck_alloc, 8,
			0)) {
		fprintf(stderr, "ck_ht_init failed\n");
		exit(2);
	}
	return c;
}

static void ck_quiesce(void *t)
{
	struct ckt *c = t;

	pthread_mutex_lock(&c->wlock);
	while (c->deferred) {
		struct deferred *d = c->deferred;

		c->deferred = d->next;
		free(d);
	}
	pthread_mutex_unlock(&c->wlock);
}

static void ck_destroy(void *t)
{
	struct ckt *c = t;

	ck_quiesce(c);
	ck_ht_destroy(&c->ht);
	ck_current = NULL;
	free(c);
}

static int ck_get(void *t, uint64_t k, uint64_t *v)
{
	struct ckt *c = t;
	ck_ht_entry_t e;
	ck_ht_hash_t h;

	ck_ht_hash_direct(&h, &c->ht, (uintptr_t)k);
	ck_ht_entry_key_set_direct(&e, (uintptr_t)k);
	if (!ck_ht_get_spmc(&c->ht, h, &e))
		return 0;
	*v = ck_ht_entry_value_direct(&e);
	return 1;
}

static int ck_insert(void *t, uint64_t k, uint64_t v)
{
	struct ckt *c = t;
	ck_ht_entry_t e;
	ck_ht_hash_t h;
	bool ok;

	ck_ht_hash_direct(&h, &c->ht, (uintptr_t)k);
	ck_ht_entry_set_direct(&e, h, (uintptr_t)k, (uintptr_t)v);
	pthread_mutex_lock(&c->wlock);
	ok = ck_ht_put_spmc(&c->ht, h, &e); /* fails if present */
	pthread_mutex_unlock(&c->wlock);
	return ok;
}

static int ck_pop(void *t, uint64_t k, uint64_t *v)
{
	struct ckt *c = t;
	ck_ht_entry_t e;
	ck_ht_hash_t h;
	bool ok;

	ck_ht_hash_direct(&h, &c->ht, (uintptr_t)k);
	ck_ht_entry_key_set_direct(&e, (uintptr_t)k);
	pthread_mutex_lock(&c->wlock);
	ok = ck_ht_remove_spmc(&c->ht, h, &e);
	pthread_mutex_unlock(&c->wlock);
	if (ok)
		*v = ck_ht_entry_value_direct(&e);
	return ok;
}

static unsigned ck_incr(void *t, uint64_t k)
{
	struct ckt *c = t;
	ck_ht_entry_t e;
	ck_ht_hash_t h;

	ck_ht_hash_direct(&h, &c->ht, (uintptr_t)k);
	ck_ht_entry_key_set_direct(&e, (uintptr_t)k);
	pthread_mutex_lock(&c->wlock);
	if (!ck_ht_get_spmc(&c->ht, h, &e)) {
		fail("ck hot key", k, 0, 0);
	} else {
		uint64_t v = ck_ht_entry_value_direct(&e) + 1;

		ck_ht_entry_set_direct(&e, h, (uintptr_t)k, (uintptr_t)v);
		ck_ht_set_spmc(&c->ht, h, &e);
	}
	pthread_mutex_unlock(&c->wlock);
	return 0;
}

static size_t ck_size(void *t)
{
	return (size_t)ck_ht_count(&((struct ckt *)t)->ht);
}

const struct impl peer_ck_ht[] = {
	{ "ck_ht", "ConcurrencyKit ck_ht direct mode, SPMC, writers by mutex",
	  ck_create, ck_destroy, nop_thread, nop_thread, ck_get, ck_insert,
	  ck_pop, ck_incr, ck_quiesce, ck_size, 0, 0, NULL },
	{ .name = NULL },
};
