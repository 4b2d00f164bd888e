/*
 * fork.c - lfd-torture: the fork mode.  Worker 0 forks every 20-100 ms
 * while the other workers run the mix (resizes, reclamation, destructors
 * in flight; lfdict prepares each fork itself, lib/fork.c).  Each child --
 * the forking thread alone -- checks what it inherited and uses it: a walk
 * of every entry (each value a live value of the pool, once), inserts,
 * gets and pops of keys of its own, then lfd_barrier, lfd_trim and
 * lfd_destroy, within 30 s (a hang ends as SIGALRM).  The parent waits for each child;
 * one that does not exit 0 is a VIOLATION, with its exit code's reason.
 * The child writes nothing (a parent thread may have held stdout's lock)
 * and takes the torture's own locks only because fork_setup made them
 * safe: its handlers take them around every fork, after lfdict's.
 *
 * SPDX-License-Identifier: MIT
 *
 * Uses: torture.h (the options, D, reports of util.c; keys and values of
 * values.c; the locks of alloc.c, values.c and history.c).
 */
#include "torture.h"

#include <sys/wait.h>
#include <unistd.h>

#define FORK_KEYS 2000u /* the child's own keys: ids O.keys + 1 .. */

/* seq_cst RMWs: counts of worker 0's, read for the report after the
 * joins. */
static atomic_long n_forks, n_forks_ok;

static const char *const child_why[] = {
	[1] = "a walk met a value that is not live",
	[2] = "a walk met a key twice",
	[3] = "an insert of an absent key failed",
	[4] = "a get did not return the value inserted",
	[5] = "a pop did not return the value inserted",
	[6] = "lfd_barrier failed",
	[7] = "lfd_destroy failed",
	[8] = "lfd_trim failed (a parent's trim left its flag set?)",
};

static void fork_prepare(void)
{
	flockfile(stdout);
	flockfile(stderr);
	a_fork_lock(true);
	val_fork_lock(true);
	h_fork_lock(true);
}

static void fork_after(void)
{
	h_fork_lock(false);
	val_fork_lock(false);
	a_fork_lock(false);
	funlockfile(stderr);
	funlockfile(stdout);
}

/* Registered before lfd_new, so that lfdict's own prepare runs first
 * (prepare handlers run in reverse order): lfdict waits for threads in
 * its windows, which may take these locks (an allocation, a destructor),
 * before this one takes them. */
void fork_setup(void)
{
	if (pthread_atfork(fork_prepare, fork_after, fork_after) != 0) {
		printf("FAILURE: pthread_atfork\n");
		exit(1);
	}
}

struct walk {
	unsigned char *seen; /* per value of the pool: walked already */
	bool bad, twice;
};

static int walk_fn(void *arg, const void *key, size_t len, void *value)
{
	struct walk *w = arg;
	const struct tval *v = value;
	size_t i;

	(void)key;
	(void)len;
	/* relaxed: the child has one thread; nothing to order against */
	if (!valid_val(value) ||
	    atomic_load_explicit(&v->magic, RLX) != V_LIVE) {
		w->bad = true;
		return 1;
	}
	i = (size_t)(v - pool);
	if (w->seen[i / 8] & (1u << (i % 8)))
		w->twice = true;
	w->seen[i / 8] |= (unsigned char)(1u << (i % 8));
	return 0;
}

static int fork_child(struct worker *wk)
{
	/* seq_cst: the child is alone (one thread); any order would do */
	size_t nvals = atomic_load_explicit(&pool_used, SEQ);
	struct walk w = { calloc(nvals / 8 + 1, 1), false, false };
	unsigned char kb[KEYMAX];
	void *got;

	alarm(30);
	if (w.seen == NULL)
		return 100;
	lfd_foreach(D, walk_fn, &w);
	if (w.bad)
		return 1;
	if (w.twice)
		return 2;
	for (uint32_t i = 0; i < FORK_KEYS; i++) {
		uint32_t id = O.keys + 1 + i;
		size_t len = mkkey(id, kb);
		struct tval *v = val_new(&wk->cache, id);

		if (lfd_insert(D, kb, len, v, NULL) != 0)
			return 3;
		if (lfd_get(D, kb, len, &got) != 0 || got != v)
			return 4;
		if (i % 2 == 0) {
			if (lfd_pop(D, kb, len, &got) != 0 || got != v)
				return 5;
			val_departed(got, id, "pop");
		}
	}
	if (lfd_barrier(D) != 0)
		return 6;
	if (lfd_trim(D, NULL) != 0)
		return 8;
	/* seq_cst: see destroying (values.c); the child is alone */
	atomic_store_explicit(&destroying, 1, SEQ);
	if (lfd_destroy(D) != 0)
		return 7;
	return 0;
}

void fork_once(struct worker *w)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		viol("fork: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		_exit(fork_child(w));
	/* seq_cst: see n_forks */
	atomic_fetch_add_explicit(&n_forks, 1, SEQ);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			viol("waitpid: %s", strerror(errno));
			return;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		/* seq_cst: see n_forks */
		atomic_fetch_add_explicit(&n_forks_ok, 1, SEQ);
		return;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		viol("fork child hung (no exit within 30 s)");
	else if (WIFEXITED(status) && WEXITSTATUS(status) < 9 &&
		 child_why[WEXITSTATUS(status)])
		viol("fork child: %s", child_why[WEXITSTATUS(status)]);
	else
		viol("fork child ended with %s %d",
		     WIFEXITED(status) ? "exit" : "signal",
		     WIFEXITED(status) ? WEXITSTATUS(status)
				       : WTERMSIG(status));
}

void fork_report(void)
{
	printf("  forks %ld: children that walked, updated, waited for and "
	       "destroyed the dictionary %ld\n",
	       /* seq_cst: worker 0 is joined; any order would do */
	       atomic_load_explicit(&n_forks, SEQ),
	       atomic_load_explicit(&n_forks_ok, SEQ));
	CHECK(atomic_load_explicit(&n_forks, SEQ) > 0, "fork mode: no fork "
	      "was made");
}
