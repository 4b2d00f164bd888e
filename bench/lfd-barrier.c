/*
 * lfd-barrier.c - how long lfd_barrier takes on a dictionary of the
 * default configuration (urcu-bp, no value destructor) that has only
 * ever had keys inserted: 1,000 keys, then 101 rounds of one insert and
 * one timed lfd_barrier, while R threads keep reading (lfd_get).  Prints
 * the median, 10th and 90th percentile in milliseconds.
 *
 *   bench/lfd-barrier [readers]
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <lfdict.h>

#define ROUNDS 101
#define MAX_READERS 16

static atomic_int stop;
static struct lfd *d;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *reader(void *arg)
{
	uint64_t k = 0;
	void *v;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		k = (k + 1) % 1000;
		if (lfd_get(d, &k, sizeof k, &v) != 0) {
			fprintf(stderr, "lfd-barrier: key %llu missing\n",
				(unsigned long long)k);
			exit(1);
		}
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int readers = argc > 1 ? atoi(argv[1]) : 0;
	pthread_t t[MAX_READERS];
	double lat[ROUNDS];

	if (readers < 0 || readers > MAX_READERS) {
		fprintf(stderr, "usage: lfd-barrier [readers, 0..%d]\n",
			MAX_READERS);
		return 2;
	}
	d = lfd_new(NULL);
	if (d == NULL)
		return 1;
	for (uint64_t k = 0; k < 1000; k++)
		if (lfd_insert(d, &k, sizeof k, (void *)(uintptr_t)(k + 1),
			       NULL) != 0)
			return 1;
	for (int i = 0; i < readers; i++)
		if (pthread_create(&t[i], NULL, reader, NULL) != 0)
			return 1;
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t k = 100000 + (uint64_t)i;
		double s;

		if (lfd_insert(d, &k, sizeof k, (void *)1, NULL) != 0)
			return 1;
		s = now();
		if (lfd_barrier(d) != 0)
			return 1;
		lat[i] = now() - s;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < readers; i++)
		pthread_join(t[i], NULL);
	qsort(lat, ROUNDS, sizeof lat[0], cmp);
	printf("readers %d: lfd_barrier median %.3f ms [p10 %.3f, p90 %.3f]\n",
	       readers, lat[ROUNDS / 2] * 1e3, lat[ROUNDS / 10] * 1e3,
	       lat[ROUNDS - 1 - ROUNDS / 10] * 1e3);
	return lfd_destroy(d) == 0 ? 0 : 1;
}
