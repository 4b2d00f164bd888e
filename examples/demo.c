/*
 * demo.c - lfdict answering the questions people ask about shared
 * dictionaries, with threads racing on purpose (more threads than cores).
 *
 *   1. Is insert-if-absent (setdefault) atomic?
 *   2. Can two threads pop the same key?
 *   3. Are counter updates lost?
 *   4. If I publish a pointer, does the reader see the fields I set?
 *   5. Does the table grow and shrink by itself while all this runs?
 *
 * Each answer is checked; the program exits non-zero if any check fails.
 */
#include <lfdict.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 8
#define ROUNDS 2000
#define KEYS 100000
#define INCS 20000

static struct lfd *d;
static pthread_barrier_t start;
static int failures;

static void check(int ok, const char *what)
{
	printf("  %-58s %s\n", what, ok ? "yes" : "NO (bug)");
	if (!ok)
		failures++;
}

/* 1. Every thread tries to be first to set each round's key. */
static long winners[ROUNDS];
static void *setdefault_worker(void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	int r;

	pthread_barrier_wait(&start);
	for (r = 0; r < ROUNDS; r++) {
		char key[32];
		void *cur;
		int n = snprintf(key, sizeof(key), "round-%d", r);

		if (lfd_insert(d, key, (size_t)n, (void *)(me + 1), &cur) == 0)
			__atomic_fetch_add(&winners[r], 1, __ATOMIC_RELAXED);
		else if (lfd_get(d, key, (size_t)n, &cur) != 0)
			__atomic_fetch_add(&winners[r], 1000, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* 2. Every thread pops every key; count how often each key is won. */
static unsigned char popped[KEYS];
static void *pop_worker(void *arg)
{
	uint32_t k;

	(void)arg;
	pthread_barrier_wait(&start);
	for (k = 0; k < KEYS; k++) {
		void *v;

		if (lfd_pop(d, &k, sizeof(k), &v) == 0 &&
		    (uintptr_t)v == (uintptr_t)k + 1)
			__atomic_fetch_add(&popped[k], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* 3. Increment one shared counter with compare-and-set retry loops. */
static void *counter_worker(void *arg)
{
	int i;

	(void)arg;
	pthread_barrier_wait(&start);
	for (i = 0; i < INCS; i++) {
		void *cur;

		if (lfd_get(d, "hits", 4, &cur) != 0)
			abort();
		while (lfd_cas(d, "hits", 4, cur, (void *)((uintptr_t)cur + 1),
			       &cur) == -EAGAIN)
			; /* cur now holds the value that beat us: retry */
	}
	return NULL;
}

/* 4. Publish initialized structs; readers check every field. */
struct account {
	long id;
	char owner[32];
	long balance;
};
static long torn;
static void *publisher(void *arg)
{
	long i;

	(void)arg;
	pthread_barrier_wait(&start);
	for (i = 0; i < ROUNDS; i++) {
		struct account *a = malloc(sizeof(*a));

		if (a == NULL)
			abort();
		a->id = i; /* plain, non-atomic writes ... */
		snprintf(a->owner, sizeof(a->owner), "owner-%ld", i);
		a->balance = 100 * i;
		lfd_insert(d, &i, sizeof(i), a, NULL); /* ... then publish */
	}
	return NULL;
}
static void *reader(void *arg)
{
	long i;

	(void)arg;
	pthread_barrier_wait(&start);
	for (i = 0; i < ROUNDS; i++) {
		void *v;
		char want[32];

		while (lfd_get(d, &i, sizeof(i), &v) != 0)
			; /* spin until published */
		struct account *a = v;
		snprintf(want, sizeof(want), "owner-%ld", i);
		if (a->id != i || a->balance != 100 * i || strcmp(a->owner, want))
			__atomic_fetch_add(&torn, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void run(void *(*fn)(void *), void *(*fn2)(void *), int n)
{
	pthread_t t[NTHREADS];
	int i;

	pthread_barrier_init(&start, NULL, (unsigned)n);
	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, (fn2 && i % 2) ? fn2 : fn,
			       (void *)(uintptr_t)i);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
}

static void free_value(void *v, void *arg)
{
	(void)arg;
	free(v);
}

int main(void)
{
	struct lfd_config cfg = { 0 };
	struct lfd_stats st;
	size_t n;
	uint32_t k;
	int r, ok;
	void *v;

	printf("lfdict demo: %d threads racing on 2 cores\n\n", NTHREADS);

	d = lfd_new(NULL);
	run(setdefault_worker, NULL, NTHREADS);
	for (ok = 1, r = 0; r < ROUNDS; r++)
		ok &= winners[r] == 1;
	printf("1. setdefault race, %d rounds of %d threads:\n", ROUNDS, NTHREADS);
	check(ok, "exactly one winner per key, everyone sees it");
	lfd_destroy(d);

	d = lfd_new(NULL);
	for (k = 0; k < KEYS; k++)
		lfd_insert(d, &k, sizeof(k), (void *)((uintptr_t)k + 1), NULL);
	lfd_stats(d, &st);
	printf("2. pop race, %d keys, every thread pops every key "
	       "(table grew to %zu buckets):\n", KEYS, st.buckets);
	run(pop_worker, NULL, NTHREADS);
	for (ok = 1, k = 0; k < KEYS; k++)
		ok &= popped[k] == 1;
	check(ok, "each key popped exactly once, with its value");
	lfd_barrier(d); /* let the shrink the pops asked for finish */
	lfd_count(d, &n);
	lfd_stats(d, &st);
	check(n == 0 && st.shrinks > 0, "empty afterwards, and the table shrank");
	printf("     (now %zu buckets after %llu grows, %llu shrinks)\n",
	       st.buckets, (unsigned long long)st.grows,
	       (unsigned long long)st.shrinks);

	lfd_insert(d, "hits", 4, (void *)0, NULL);
	run(counter_worker, NULL, NTHREADS);
	lfd_get(d, "hits", 4, &v);
	printf("3. counter, %d threads x %d lfd_cas increments:\n", NTHREADS, INCS);
	printf("     final value %lu\n", (unsigned long)(uintptr_t)v);
	check((uintptr_t)v == (uintptr_t)NTHREADS * INCS, "no update lost");
	lfd_destroy(d);

	cfg.value_free = free_value; /* frees each struct after a grace period */
	d = lfd_new(&cfg);
	run(publisher, reader, 2);
	printf("4. publication, %d structs initialized then lfd_insert-ed:\n",
	       ROUNDS);
	check(torn == 0, "reader always sees every field initialized");
	lfd_destroy(d);

	printf("\n%s\n", failures ? "FAILED" : "all answers checked");
	return failures ? 1 : 0;
}
