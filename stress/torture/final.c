/*
 * final.c - lfd-torture: the checks at the end of the run, the workers
 * joined: the count exact and the table's size converged; a last
 * lfd_foreach finds every pinned key, each key and each value once; every
 * value handed out is present, or departed and destroyed exactly once;
 * after lfd_destroy no value and no byte of the dictionary's allocator is
 * live.
 *
 * SPDX-License-Identifier: MIT
 *
 * Uses: torture.h (the options, reports; the value pool of values.c; the
 * allocator's counts of alloc.c; the dictionary and net_count of
 * workers.c).
 */
#include "torture.h"

struct final_ctx {
	unsigned char *kseen, *vseen;
	long visits;
};

static int final_fn(void *arg, const void *key, size_t len, void *value)
{
	struct final_ctx *c = arg;
	int64_t id = parsekey(key, len);
	c->visits++;
	if (id < 0) {
		viol("final walk: foreign key (len %zu)", len);
		return 0;
	}
	CHECK(!c->kseen[id], "final walk: key %" PRId64 " visited twice", id);
	c->kseen[id] = 1;
	val_check(value, (uint32_t)id, "final walk");
	if (valid_val(value)) {
		const struct tval *v = value;
		size_t i = (size_t)(v - pool);
		CHECK(!c->vseen[i], "final walk: value %p held by two keys",
		      value);
		c->vseen[i] = 1;
		/* seq_cst: the workers are joined and lfd_barrier ran; any
		 * order would do */
		CHECK(atomic_load_explicit(&v->ev, SEQ) == 0, "final walk: "
		      "value %p of key %" PRId64 " present but returned as "
		      "departed or destroyed (ev %#x)", value, id,
		      atomic_load_explicit(&v->ev, SEQ));
	}
	return 0;
}

size_t quiescent_check(const char *what, struct lfd_stats *st)
{
	size_t cnt = 0, need, cap;

	lfd_stats(D, st);
	lfd_count(D, &cnt);
	/* seq_cst: at quiescence (a storm barrier, or the joins) net is
	 * exact; see upd_begun (workers.c) */
	long net = atomic_load_explicit(&net_count, SEQ);
	CHECK((long)cnt == net, "%s: count %zu at quiescence, expected %ld",
	      what, cnt, net);
	td_converged_range(st, cnt, &need, &cap);
	CHECK(st->buckets >= need && st->buckets <= cap && !st->resizing,
	      "%s: resize did not converge: buckets %zu for count %zu (want "
	      "[%zu, %zu]), resizing %d", what, st->buckets, cnt, need, cap,
	      st->resizing);
	return cnt;
}

/* The checks; returns the values and allocations leaked. */
long final_checks(void)
{
	long leaked = 0;
	int rc = lfd_barrier(D);
	CHECK(rc == 0, "lfd_barrier returned %d", rc);
	struct lfd_stats st;
	size_t cnt = quiescent_check("end", &st);
	printf("  end: count %zu buckets %zu (min %zu max %zu) grows %" PRIu64
	       " shrinks %" PRIu64 "\n", cnt, st.buckets, st.min_buckets,
	       st.max_buckets, st.grows, st.shrinks);

	/* seq_cst: every load and store below comes after the joins,
	 * lfd_barrier and, from lfd_destroy on, the RCU barrier: any order
	 * would do */
	size_t used = atomic_load_explicit(&pool_used, SEQ);
	struct final_ctx c = { calloc(O.keys, 1), calloc(used + 1, 1), 0 };
	if (!c.kseen || !c.vseen)
		abort();
	rc = lfd_foreach(D, final_fn, &c);
	CHECK(rc == 0, "lfd_foreach returned %d", rc);
	CHECK(c.visits == (long)cnt, "final walk visited %ld entries, count "
	      "says %zu", c.visits, cnt);
	for (uint32_t k = 0; k < O.pinned; k++)
		if (!c.kseen[k]) {
			viol("pinned key %u missing at the end", k);
			break;
		}
	/* every value handed out is present, or was recycled (departed
	 * exactly once and destroyed exactly once) */
	long lost = 0;
	for (size_t i = 0; i < used; i++)
		if (atomic_load_explicit(&pool[i].st, SEQ) == 1 &&
		    !c.vseen[i]) { /* seq_cst: as above */
			if (!lost++)
				viol("value %p (key %u, ev %#x) lost: neither "
				     "present nor departed and destroyed",
				     (void *)&pool[i],
				     atomic_load_explicit(&pool[i].key, SEQ),
				     atomic_load_explicit(&pool[i].ev, SEQ));
		}
	if (lost)
		viol("%ld values lost", lost);
	/* seq_cst: see destroying (values.c) */
	atomic_store_explicit(&destroying, 1, SEQ);
	rc = lfd_destroy(D);
	CHECK(rc == 0, "lfd_destroy returned %d", rc);
	D = NULL;
	if (!O.dtor)
		for (size_t i = 0; i < used; i++)
			if (c.vseen[i])
				recycle(&pool[i]);
	FL->barrier();
	/* seq_cst: past the RCU barrier, every destructor and free has
	 * run; any order would do */
	for (size_t i = 0; i < used; i++)
		if (atomic_load_explicit(&pool[i].st, SEQ) != 0)
			leaked++;
	if (leaked)
		viol("%ld values never destroyed (leaked)", leaked);
	if (atomic_load_explicit(&a_live, SEQ) ||
	    atomic_load_explicit(&a_live_bytes, SEQ)) {
		viol("dictionary allocator: %ld allocations (%ld bytes) live "
		     "after lfd_destroy", atomic_load_explicit(&a_live, SEQ),
		     atomic_load_explicit(&a_live_bytes, SEQ));
		leaked += atomic_load_explicit(&a_live, SEQ);
	}
	free(c.kseen);
	free(c.vseen);
	return leaked;
}
