/*
 * bench/peer_ghash.c - lfd-bench's adapter for GLib's GHashTable behind a
 * pthread_mutex (ghash-mutex) or a pthread_rwlock (ghash-rwlock).  Uses
 * GLib, pthreads and bench/peer.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <glib.h>

#include "peer.h"

struct gt {
	GHashTable *h;
	bool rw;
	pthread_mutex_t m;
	pthread_rwlock_t rwl;
};

static guint g_bench_hash(gconstpointer k)
{
	return (guint)bench_hash((uint64_t)(uintptr_t)k);
}

static void *g_create(bool rw)
{
	struct gt *g = calloc(1, sizeof(*g));

	if (g == NULL)
		exit(2);
	g->h = g_hash_table_new(g_bench_hash, g_direct_equal);
	g->rw = rw;
	pthread_mutex_init(&g->m, NULL);
	pthread_rwlock_init(&g->rwl, NULL);
	return g;
}

static void *g_create_mutex(size_t n)
{
	(void)n;
	return g_create(false);
}

static void *g_create_rw(size_t n)
{
	(void)n;
	return g_create(true);
}

static void g_destroy(void *t)
{
	struct gt *g = t;

	g_hash_table_destroy(g->h);
	free(g);
}

static void g_rlock(struct gt *g)
{
	if (g->rw)
		pthread_rwlock_rdlock(&g->rwl);
	else
		pthread_mutex_lock(&g->m);
}

static void g_wlock(struct gt *g)
{
	if (g->rw)
		pthread_rwlock_wrlock(&g->rwl);
	else
		pthread_mutex_lock(&g->m);
}

static void g_unlock(struct gt *g)
{
	if (g->rw)
		pthread_rwlock_unlock(&g->rwl);
	else
		pthread_mutex_unlock(&g->m);
}

static int g_get(void *t, uint64_t k, uint64_t *v)
{
	struct gt *g = t;
	gpointer ok, ov;
	gboolean r;

	g_rlock(g);
	r = g_hash_table_lookup_extended(g->h, (gconstpointer)(uintptr_t)k,
					 &ok, &ov);
	g_unlock(g);
	if (r)
		*v = (uint64_t)(uintptr_t)ov;
	return r ? 1 : 0;
}

static int g_insert(void *t, uint64_t k, uint64_t v)
{
	struct gt *g = t;
	int r = 0;

	g_wlock(g);
	if (!g_hash_table_contains(g->h, (gconstpointer)(uintptr_t)k)) {
		g_hash_table_insert(g->h, (gpointer)(uintptr_t)k,
				    (gpointer)(uintptr_t)v);
		r = 1;
	}
	g_unlock(g);
	return r;
}

static int g_pop(void *t, uint64_t k, uint64_t *v)
{
	struct gt *g = t;
	gpointer ok, ov;
	gboolean r;

	g_wlock(g);
	r = g_hash_table_steal_extended(g->h, (gconstpointer)(uintptr_t)k,
					&ok, &ov);
	g_unlock(g);
	if (r)
		*v = (uint64_t)(uintptr_t)ov;
	return r ? 1 : 0;
}

static unsigned g_incr(void *t, uint64_t k)
{
	struct gt *g = t;
	gpointer ok, ov;

	g_wlock(g);
	if (!g_hash_table_lookup_extended(g->h, (gconstpointer)(uintptr_t)k,
					  &ok, &ov))
		fail("ghash hot key", k, 0, 0);
	else
		g_hash_table_insert(g->h, ok,
				    (gpointer)((uintptr_t)ov + 1));
	g_unlock(g);
	return 0;
}

static void g_quiesce(void *t)
{
	(void)t;
}

static size_t g_size(void *t)
{
	return g_hash_table_size(((struct gt *)t)->h);
}

const struct impl peer_ghash[] = {
	{ "ghash-mutex", "GLib GHashTable behind a pthread_mutex", g_create_mutex,
	  g_destroy, nop_thread, nop_thread, g_get, g_insert, g_pop, g_incr,
	  g_quiesce, g_size, 0, 0, NULL },
	{ "ghash-rwlock", "GLib GHashTable behind a pthread_rwlock", g_create_rw,
	  g_destroy, nop_thread, nop_thread, g_get, g_insert, g_pop, g_incr,
	  g_quiesce, g_size, 0, 0, NULL },
	{ .name = NULL },
};
