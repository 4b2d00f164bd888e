/*
 * test_fork.c - fork() while threads update a dictionary, resize it and
 * reclaim its memory: the child (with the default flavour, calling no
 * fork hook of its own) uses the dictionary, waits for its deferred work
 * (lfd_barrier) and destroys it; the parent goes on and does the same at
 * the end.  5159ee1 hung in the child's lfd_barrier (without liburcu's
 * fork hooks, or with them when a helper held a chain at the fork).
 *
 * Each fork is made at a random moment; the parent records what was in
 * flight just before it (a resize running, a reclaim backlog), and the
 * test fails unless forks met both, so that the race was really run.
 * Skipped (exit 77) under ThreadSanitizer, which does not support a
 * multithreaded fork.
 *
 * The dictionary's allocator is malloc behind a lock that the test takes
 * around every fork (after lfdict has prepared it): clang 14's
 * AddressSanitizer allocator does not lock itself across fork, so a child
 * that allocates (the new call_rcu worker does) would hang on a lock held
 * by a parent thread that was inside malloc.  glibc's malloc needs none of
 * this; a program with an allocator that is not fork-safe does.
 *
 * SPDX-License-Identifier: MIT
 */
#include "testutil.h"

#include <signal.h>
#include <sys/wait.h>

#define FORKS 16
#define WORKERS 3
#define RANGE 20000u
#define CHILD_KEYS_ROUNDS 12u
#define CHILD_KEYS 4096u
#define CHILD_OPS (2u * CHILD_KEYS_ROUNDS * CHILD_KEYS) /* set all, pop all */

static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;

static void *locked_alloc(size_t size, void *arg)
{
	void *p;

	(void)arg;
	pthread_mutex_lock(&alloc_lock);
	p = malloc(size);
	pthread_mutex_unlock(&alloc_lock);
	return p;
}

static void locked_free(void *p, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	pthread_mutex_lock(&alloc_lock);
	free(p);
	pthread_mutex_unlock(&alloc_lock);
}

static void alloc_fork_prepare(void)
{
	pthread_mutex_lock(&alloc_lock);
}

static void alloc_fork_after(void)
{
	pthread_mutex_unlock(&alloc_lock);
}

static atomic_long dtor_calls;
static atomic_int stop;
static struct lfd *d;

static void count_free(void *value, void *arg)
{
	(void)value;
	(void)arg;
	atomic_fetch_add(&dtor_calls, 1);
}

/* Phases of insert-all then pop-all over a range (the index grows and
 * shrinks; pops retire entries), with sets in between (values retire). */
static void *worker(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg * RANGE, k;
	struct tu_rng r;

	tu_rng_init(&r, base);
	while (!atomic_load(&stop)) {
		uint64_t n = 1000 + tu_rng_below(&r, RANGE - 1000);

		for (k = base; k < base + n && !atomic_load(&stop); k++)
			lfd_insert(d, &k, sizeof k, tu_v(k), NULL);
		for (k = base; k < base + n && !atomic_load(&stop); k++) {
			if (k % 3 == 0)
				lfd_set(d, &k, sizeof k, tu_v(k + 1), NULL);
			lfd_pop(d, &k, sizeof k, NULL);
		}
	}
	return NULL;
}

/* The child: updates of its own keys, checked; then barrier, destroy. */
static int child(void)
{
	uint64_t k, base = (uint64_t)WORKERS * RANGE + 1000;
	void *v;

	alarm(60); /* a hang ends as SIGALRM, reported by the parent */
	for (unsigned i = 0; i < CHILD_OPS; i++) {
		k = base + i % CHILD_KEYS;
		if (i / CHILD_KEYS % 2 == 0) {
			if (lfd_set(d, &k, sizeof k, tu_v(i), NULL) < 0)
				return 2;
		} else if (lfd_pop(d, &k, sizeof k, &v) != 0 ||
			   tu_vid(v) % CHILD_KEYS != i % CHILD_KEYS) {
			return 3;
		}
	}
	for (k = base; k < base + CHILD_KEYS; k++)
		if (lfd_get(d, &k, sizeof k, &v) != -ENOENT)
			return 4;
	if (lfd_barrier(d) != 0)
		return 5;
	if (lfd_destroy(d) != 0)
		return 6;
	return 0;
}

START_TEST(fork_during_updates)
{
	struct lfd_config cfg;
	pthread_t t[WORKERS];
	int resizing = 0, backlog = 0, hung = 0, failed = 0;
	struct tu_rng r;
	uint64_t grows0, shrinks0;
	struct lfd_stats st;

	/* before lfd_new: prepare handlers run in reverse order, so lfdict
	 * prepares the fork (its threads finish their allocations) first */
	ck_assert_int_eq(pthread_atfork(alloc_fork_prepare, alloc_fork_after,
					alloc_fork_after), 0);
	tu_cfg_init(&cfg);
	cfg.value_free = count_free;
	cfg.alloc = locked_alloc;
	cfg.free = locked_free;
	d = lfd_new(&cfg);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(lfd_stats(d, &st), 0);
	grows0 = st.grows;
	shrinks0 = st.shrinks;
	for (uintptr_t i = 0; i < WORKERS; i++)
		tu_spawn(&t[i], worker, (void *)i);
	tu_rng_init(&r, 7);
	for (int f = 0; f < FORKS; f++) {
		pid_t pid;
		int status;

		usleep((useconds_t)(2000 + tu_rng_below(&r, 20000)));
		ck_assert_int_eq(lfd_stats(d, &st), 0);
		resizing += st.resizing;
		backlog += st.backlog > 0;
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			_exit(child()); /* not exit: no atexit work of Check */
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
			hung++;
		else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			failed++;
			TU_LOG("child %d: %s %d\n", f,
			       WIFEXITED(status) ? "exit" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status)
						 : WTERMSIG(status));
		}
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < WORKERS; i++)
		tu_join(t[i]);
	ck_assert_int_eq(lfd_barrier(d), 0);
	ck_assert_int_eq(lfd_stats(d, &st), 0);
	TU_LOG("%d forks: %d with a resize running, %d with a reclaim "
	       "backlog; children hung %d, failed %d; parent: %" PRIu64
	       " grows, %" PRIu64 " shrinks\n",
	       FORKS, resizing, backlog, hung, failed, st.grows - grows0,
	       st.shrinks - shrinks0);
	ck_assert_msg(hung == 0 && failed == 0,
		      "%d children hung, %d failed", hung, failed);
	ck_assert_msg(backlog > 0 && resizing > 0,
		      "the forks did not meet both reclamation and resizing");
	ck_assert_int_eq(lfd_destroy(d), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lfdict-fork");
	TCase *tc = tcase_create("fork");

#ifdef LFD_TEST_RCU_PTHREAD
	printf("test_fork: skipped under ThreadSanitizer (no multithreaded "
	       "fork)\n");
	return 77;
#endif
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, fork_during_updates);
	suite_add_tcase(s, tc);
	return tu_run_suite(s, "test_fork");
}
