/*
 * history.c - lfd-torture: histories.  Every call on a sample of keys
 * (--hist-keys, after the pinned ones) is recorded with invocation and
 * response timestamps (one global atomic clock) in windows of HCAP calls;
 * a checker thread checks each window with lin_check (lincheck.c).  When
 * its queue is full, the thread that filled a window checks it itself:
 * every window is checked.  A window that is not linearizable is a
 * VIOLATION, and the first one is written to a file.
 *
 * SPDX-License-Identifier: MIT
 *
 * Uses: torture.h (the options, reports of util.c; tl_in_lock of stall.c)
 * and through it lincheck.h.
 */
#include "torture.h"

/* A sampled key's window being filled: next, the records taken; done,
 * those written. */
struct hkey {
	_Atomic uint32_t next, done;
	struct hrec rec[HCAP];
};

/* A window taken for checking (full; at the end, partly filled). */
struct hwin {
	struct hwin *next;
	uint32_t key, n;
	struct hrec rec[HCAP];
};

static struct hkey *hkeys;
/* The stamps.  seq_cst: hclock's RMWs and lfdict's seq_cst linearization
 * points are in one total order, so each call's point falls between its
 * inv and resp stamps -- the linearizability check relies on it. */
static atomic_uint_fast64_t hclock = 1;
static pthread_mutex_t hq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hq_cond = PTHREAD_COND_INITIALIZER;
static struct hwin *hq_head;
static unsigned hq_len;
/* Counts.  h_made, h_own, h_skipped: relaxed, read for the report after
 * the joins (h_skipped: never).  h_windows, h_ops, h_inconclusive, h_viol:
 * seq_cst RMWs; the monitor prints a recent value, main the totals after
 * h_finish joined the checker; see check_window for h_viol. */
atomic_long h_made, h_windows, h_ops, h_inconclusive, h_own;
static atomic_long h_skipped, h_viol;
#define HQ_MAX 256

/* Windows this thread filled while the checker's queue was full: it checks
 * them itself (h_check_own), so that no window is ever dropped. */
static _Thread_local struct hwin *tl_own;

/* Around a fork (fork.c): no other thread holds the queue's lock. */
void h_fork_lock(bool lock)
{
	if (lock)
		pthread_mutex_lock(&hq_lock);
	else
		pthread_mutex_unlock(&hq_lock);
}

static void hq_push(struct hwin *w)
{
	bool queued = false;

	tl_in_lock++;
	pthread_mutex_lock(&hq_lock);
	if (hq_len < HQ_MAX) {
		w->next = hq_head;
		hq_head = w;
		hq_len++;
		pthread_cond_signal(&hq_cond);
		queued = true;
	}
	pthread_mutex_unlock(&hq_lock);
	tl_in_lock--;
	if (!queued) {
		w->next = tl_own;
		tl_own = w;
	}
}

static struct hwin *hwin_take(uint32_t key, uint32_t n)
{
	tl_in_lock++;
	struct hwin *w = malloc(sizeof *w);
	tl_in_lock--;
	if (!w) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	/* relaxed: see h_made */
	atomic_fetch_add_explicit(&h_made, 1, RLX);
	w->key = key;
	w->n = n;
	memcpy(w->rec, hkeys[key - O.pinned].rec, n * sizeof(struct hrec));
	return w;
}

/* Take a history slot for key, or NULL (not sampled). *skip: the key's
 * window is full; the caller must not touch the key. */
struct hrec *h_begin(uint32_t key, bool *skip)
{
	*skip = false;
	if (key < O.pinned || key >= O.pinned + O.hkeys)
		return NULL;
	struct hkey *h = &hkeys[key - O.pinned];
	/* seq_cst: takes slot i; pairs with h_end's store of next = 0, which
	 * reopens the window once its records were copied */
	uint32_t i = atomic_fetch_add_explicit(&h->next, 1, SEQ);
	if (i >= HCAP) {
		*skip = true;
		/* relaxed: see h_made */
		atomic_fetch_add_explicit(&h_skipped, 1, RLX);
		return NULL;
	}
	struct hrec *r = &h->rec[i];
	/* seq_cst: see hclock */
	r->inv = atomic_fetch_add_explicit(&hclock, 1, SEQ);
	return r;
}

void h_end(uint32_t key, struct hrec *r, int op, int rc, uint64_t a,
		  uint64_t e, uint64_t out)
{
	if (!r)
		return;
	/* seq_cst: see hclock */
	r->resp = atomic_fetch_add_explicit(&hclock, 1, SEQ);
	r->op = (int8_t)(rc == -ENOMEM ? OP_NOP : op);
	r->rc = (int8_t)rc;
	r->a = a;
	r->e = e;
	r->out = out;
	struct hkey *h = &hkeys[key - O.pinned];
	/* seq_cst: each writer's RMW on done comes after its record, and the
	 * RMW that counts the last record reads the others' (one release
	 * sequence), so the copy sees every record.  Then done and next back
	 * to 0, next last: h_begin's RMW that reads it comes after the copy
	 * and the reset of done. */
	if (atomic_fetch_add_explicit(&h->done, 1, SEQ) + 1 == HCAP) {
		hq_push(hwin_take(key, HCAP));
		atomic_store_explicit(&h->done, 0, SEQ);
		atomic_store_explicit(&h->next, 0, SEQ);
	}
}

/* --- checking the windows ---------------------------------------- */

static void dump_window(const struct hwin *w)
{
	char name[128];
	snprintf(name, sizeof name, "lfd-torture-lin-%" PRIu64 "-key%u.txt",
		 O.seed, w->key);
	FILE *f = fopen(name, "w");
	if (!f)
		return;
	fprintf(f, "# key %u: %u calls (inv resp op rc arg expected out; "
		   "uids in hex, 0 = none)\n", w->key, w->n);
	for (uint32_t i = 0; i < w->n; i++) {
		const struct hrec *r = &w->rec[i];
		fprintf(f, "%" PRIu64 " %" PRIu64 " %s %d %" PRIx64 " %" PRIx64
			   " %" PRIx64 "\n", r->inv, r->resp,
			r->op == OP_NOP ? "enomem" : op_names[(int)r->op],
			r->rc, r->a, r->e, r->out);
	}
	fclose(f);
	printf("  history of the failing window written to %s\n", name);
}

static void check_window(struct hwin *w)
{
	int r = lin_check(w->rec, w->n);
	/* seq_cst: counts (see h_windows) */
	atomic_fetch_add_explicit(&h_windows, 1, SEQ);
	atomic_fetch_add_explicit(&h_ops, w->n, SEQ);
	if (r < 0)
		atomic_fetch_add_explicit(&h_inconclusive, 1, SEQ);
	if (r == 0) {
		/* seq_cst: a window that still reads h_viol as 1 after its
		 * report is the only one to fail so far: it is dumped (two
		 * failing at once may both read 2, then none is) */
		atomic_fetch_add_explicit(&h_viol, 1, SEQ);
		viol("history of key %u (%u calls) is not linearizable", w->key,
		     w->n);
		if (atomic_load_explicit(&h_viol, SEQ) == 1)
			dump_window(w);
	}
	free(w);
}

/* Check the windows this thread kept (h_own): the threads that fill windows
 * pay for the checking the checker thread cannot keep up with (hot, chain,
 * oversub fill windows faster than one thread on a shared core checks
 * them), so the run slows down instead of dropping windows.  Called outside
 * any read-side section: a check takes tens of microseconds and would hold
 * back grace periods. */
void h_check_own(void)
{
	while (tl_own) {
		struct hwin *w = tl_own;

		tl_own = w->next;
		/* relaxed: see h_made */
		atomic_fetch_add_explicit(&h_own, 1, RLX);
		tl_in_lock++; /* it allocates: no stall signal in there */
		check_window(w);
		tl_in_lock--;
	}
}

/* Set by h_finish before it takes hq_lock to broadcast; the checker reads
 * it under hq_lock, so it sees it at that wake-up at the latest (seq_cst
 * store and load; the lock orders them anyway). */
static atomic_int checker_stop;

void *checker_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&hq_lock);
	for (;;) {
		/* seq_cst: see checker_stop */
		while (!hq_head && !atomic_load_explicit(&checker_stop, SEQ))
			pthread_cond_wait(&hq_cond, &hq_lock);
		if (!hq_head)
			break;
		struct hwin *w = hq_head;
		hq_head = w->next;
		hq_len--;
		pthread_mutex_unlock(&hq_lock);
		check_window(w);
		pthread_mutex_lock(&hq_lock);
	}
	pthread_mutex_unlock(&hq_lock);
	return NULL;
}

/* The sampled keys' windows, for the run's options. */
void h_init(void)
{
	hkeys = calloc(O.hkeys ? O.hkeys : 1, sizeof *hkeys);
}

/* At the end, the workers joined: check the partly filled windows, then
 * stop the checker thread once its queue is empty. */
void h_finish(pthread_t checker)
{
	/* the partly filled windows: every call in them has returned */
	for (uint32_t k = 0; k < O.hkeys; k++) {
		/* seq_cst: the workers are joined; any order would do */
		uint32_t n = atomic_load_explicit(&hkeys[k].next, SEQ);
		if (n > HCAP)
			n = HCAP;
		if (n)
			hq_push(hwin_take(O.pinned + k, n));
	}
	h_check_own();
	/* seq_cst: see checker_stop */
	atomic_store_explicit(&checker_stop, 1, SEQ);
	pthread_mutex_lock(&hq_lock);
	pthread_cond_broadcast(&hq_cond);
	pthread_mutex_unlock(&hq_lock);
	pthread_join(checker, NULL);
}
