/*
 * rcu_pthread.c - see rcu_pthread.h.  Test scaffolding: never in lib/.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "rcu_pthread.h"

/* Writer preference, so grace periods end under constant reading; safe
 * because a thread takes the read lock only at its outermost section. */
static pthread_rwlock_t gp_lock =
	PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Thread_local int nesting;

/* The callback queue, FIFO, linked through rcu_head's own node. */
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t q_done = PTHREAD_COND_INITIALIZER;
static struct rcu_head *q_head, **q_tail = &q_head;
static unsigned long q_queued, q_finished;

static void rp_read_lock(void)
{
	if (nesting++ == 0)
		pthread_rwlock_rdlock(&gp_lock);
}

static void rp_read_unlock(void)
{
	if (--nesting == 0)
		pthread_rwlock_unlock(&gp_lock);
}

static int rp_read_ongoing(void)
{
	return nesting > 0;
}

static void rp_synchronize(void)
{
	if (nesting > 0) {
		fprintf(stderr, "rcu_pthread: synchronize inside a read-side section\n");
		abort();
	}
	/* Every reader that held the read lock has released it. */
	pthread_rwlock_wrlock(&gp_lock);
	pthread_rwlock_unlock(&gp_lock);
}

static void *rp_worker(void *arg)
{
	(void)arg;
	for (;;) {
		struct rcu_head *batch;
		unsigned long n = 0;

		pthread_mutex_lock(&q_lock);
		while (q_head == NULL)
			pthread_cond_wait(&q_work, &q_lock);
		batch = q_head;
		q_head = NULL;
		q_tail = &q_head;
		pthread_mutex_unlock(&q_lock);

		rp_synchronize();
		while (batch != NULL) {
			struct rcu_head *next =
				(struct rcu_head *)batch->next.next;

			batch->func(batch);
			batch = next;
			n++;
		}
		pthread_mutex_lock(&q_lock);
		q_finished += n;
		pthread_cond_broadcast(&q_done);
		pthread_mutex_unlock(&q_lock);
	}
	return NULL;
}

static void rp_init(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, rp_worker, NULL) != 0) {
		fprintf(stderr, "rcu_pthread: cannot start the worker\n");
		abort();
	}
	pthread_detach(t);
}

static void rp_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *))
{
	pthread_once(&once, rp_init);
	head->func = func;
	head->next.next = NULL;
	pthread_mutex_lock(&q_lock);
	*q_tail = head;
	q_tail = (struct rcu_head **)&head->next.next;
	q_queued++;
	pthread_cond_signal(&q_work);
	pthread_mutex_unlock(&q_lock);
}

static void rp_barrier(void)
{
	unsigned long target;

	pthread_once(&once, rp_init);
	pthread_mutex_lock(&q_lock);
	target = q_queued;
	while (q_finished < target)
		pthread_cond_wait(&q_done, &q_lock);
	pthread_mutex_unlock(&q_lock);
}

static void rp_nop(void)
{
}

static void rp_defer(void (*fct)(void *p), void *p)
{
	rp_synchronize();
	fct(p);
}

static void rp_atfork_nop(struct urcu_atfork *atfork)
{
	(void)atfork;
}

const struct rcu_flavor_struct lfd_test_rcu_pthread_flavor = {
	.read_lock = rp_read_lock,
	.read_unlock = rp_read_unlock,
	.read_ongoing = rp_read_ongoing,
	.read_quiescent_state = rp_nop,
	.update_call_rcu = rp_call_rcu,
	.update_synchronize_rcu = rp_synchronize,
	.update_defer_rcu = rp_defer,
	.thread_offline = rp_nop,
	.thread_online = rp_nop,
	.register_thread = rp_nop,
	.unregister_thread = rp_nop,
	.barrier = rp_barrier,
	.register_rculfhash_atfork = rp_atfork_nop,
	.unregister_rculfhash_atfork = rp_atfork_nop,
};
