/*
 * util.c - lfd-torture: time, the PRNG, failure reports (VIOLATION lines,
 * and the FAILURE line of a run that must end at once).
 *
 * SPDX-License-Identifier: MIT
 *
 * Uses: torture.h (the options O; mix64 of lincheck.h).
 */
#include <stdarg.h>
#include <unistd.h>

#include "torture.h"

double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void sleep_s(double s)
{
	struct timespec ts;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void rng_init(struct rng *r, uint64_t stream)
{
	r->s = mix64(O.seed ^ mix64(stream * 0x2545f4914f6cdd1dull + 1));
}

uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	return mix64(r->s);
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

atomic_long n_viol;
atomic_int stop_flag;
/* When the run started: reports say how far into it they came (the time to
 * detection of stress/broken-builds.sh). */
double t_start;

void viol(const char *fmt, ...)
{
	/* seq_cst: the RMW numbers each violation (the first 20 print);
	 * main reads the total after the joins */
	long n = atomic_fetch_add_explicit(&n_viol, 1, SEQ);
	if (n < 20) {
		char buf[512];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, sizeof buf, fmt, ap);
		va_end(ap);
		printf("VIOLATION: %s (seed %" PRIu64 ", t=%.2f s)\n", buf,
		       O.seed, now() - t_start);
		fflush(stdout);
	}
}

/* End the run at once with a FAILURE line: for a hang, where the normal end
 * (joining the workers) would wait forever. */
void fail_now(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	/* seq_cst load of n_viol: a count for this line; any recent value */
	printf("FAILURE: mode=%s seed=%" PRIu64 " t=%.2f s %s; violations=%ld\n",
	       O.mode->name, O.seed, now() - t_start, buf,
	       atomic_load_explicit(&n_viol, SEQ));
	fflush(stdout);
	_exit(1);
}
