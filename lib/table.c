/*
 * table.c - lfdict's calls on the whole table: lfd_new and lfd_destroy,
 * count, foreach, the read-side calls, barrier, stats, strerror.  The calls
 * on one key, and the design comment with the layers of lib/, are in
 * dict.c.  Uses api.h, which brings every layer below.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static void *lfd_default_alloc(size_t size, void *arg)
{
	(void)arg;
	return malloc(size);
}

static void lfd_default_free(void *p, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	free(p);
}

LFD_EXPORT int lfd_count(struct lfd *d, size_t *count)
{
	if (d == NULL || count == NULL)
		return -EINVAL;
	*count = lfd_count_sum(d);
	return 0;
}

/* The link foreach follows after link l.  If l's entry was popped and
 * retired meanwhile (fn itself may pop it), its next word no longer leads
 * along the list (LFD_RETIRED): walk again from its bucket node (which
 * sorts before it and stays linked, solist.c I4) to the first node that
 * sorts after it.  Its so_key, klen and key stay readable until the
 * read-side section ends. */
static uintptr_t lfd_foreach_next(struct lfd *d, uintptr_t l)
{
	/* LINK_LOAD: acquire the fields of the node we step to. */
	uintptr_t w = lfd_a_load(lfd_link_next(d, l), LFD_MO_LINK_LOAD);
	LFD_ATOMIC(uintptr_t) *start;
	const struct lfd_entry *e;
	int c;

	if (!lfd_is_retired(w)) /* a pending tag: l is a linked bucket node */
		return lfd_succ(w);
	/* Retired: an entry; its so_key gives its bucket. */
	e = lfd_link_entry(l);
	start = lfd_bucket_for(d, e->ln.so_key, &w);
	return lfd_list_seek(d, start, w, e->ln.so_key, e->key, e->ln.klen, 1,
			     &c);
}

/* A scan slice's stop: the position that resumes right after the group of
 * entries of split-order key `group` (odd), and so after every entry of
 * that group (an even number up to LFD_SCAN_END). */
static uint64_t lfd_scan_after(uint32_t group)
{
	return (uint64_t)group + 1u;
}

/*
 * One slice of a scan (contract in lfdict.h).  Positions are split-order
 * keys: *cursor = c (even) asks for the entries whose so_key is >= c, and
 * every entry's so_key is odd, so c never splits a group of entries that
 * share a so_key.  The slice finds its first node by a read-only seek
 * from c's bucket node at the current size (which sorts at or before c
 * whatever the size, and stays linked while the section lasts: I4 in
 * solist.c), then walks on as lfd_foreach_next does.
 *
 * Why a key K present for the whole scan is visited exactly once: the
 * slices' positions c0 = 0 < c1 < ... < cn = 2^32 only grow, and slice i
 * visits only entries whose so_key lies in [ci, ci+1) (it stops before the
 * first node past its last group, and stores that group's so_key + 1).
 * So at most one slice can visit K, and within it the walk moves strictly
 * forward in the order (I1; a retired node makes lfd_foreach_next seek to
 * the first node after it), so it visits K at most once.  The slice whose
 * range holds K's so_key started before K (its seek starts at a node that
 * sorts at or before ci) and went on past K's group or to the end, moving
 * only along links: with K linked all the while, it met K (the lazy-list
 * argument of foreach, doc/design.md).  Nothing here depends on the size:
 * a position is a place in the order, which grows and shrinks keep.
 */
LFD_EXPORT int lfd_scan(struct lfd *d, uint64_t *cursor, size_t max,
			int (*fn)(void *arg, const void *key, size_t len,
				  void *value),
			void *arg)
{
	LFD_ATOMIC(uintptr_t) *start;
	uint64_t c, next;
	uintptr_t l, w;
	uint32_t group = 0; /* so_key of the last entry walked; 0: none yet */
	size_t n = 0;
	int r = 0, cmp;

	if (d == NULL || cursor == NULL || fn == NULL || max == 0)
		return -EINVAL;
	c = *cursor;
	if (c > LFD_SCAN_END || (c & 1u))
		return -EINVAL;
	if (c == LFD_SCAN_END)
		return 0;
	lfd_rcu_lock(d);
	start = lfd_bucket_for(d, (uint32_t)c, &w);
	/* The first node with so_key >= c (c even: no entry equals it). */
	l = lfd_list_seek(d, start, w, (uint32_t)c, NULL, 0, 0, &cmp);
	next = LFD_SCAN_END;
	while (l != 0) {
		struct lfd_entry *e;
		void *v;

		if (lfd_is_blink(l)) {
			if (n >= max) { /* a bucket node ends every group */
				next = lfd_scan_after(group);
				break;
			}
			l = lfd_foreach_next(d, l);
			continue;
		}
		e = lfd_link_entry(l);
		if (n >= max && e->ln.so_key != group) {
			next = lfd_scan_after(group);
			break;
		}
		group = e->ln.so_key;
		/* VALUE_LOAD: the value the key holds at the visit (acquire
		 * from the call that stored it). */
		v = lfd_a_load(&e->value, LFD_MO_VALUE_LOAD);
		if (v != LFD_TOMBSTONE) {
			n++;
			r = fn(arg, e->key, e->ln.klen, v);
			if (r != 0) {
				/* Past e if no entry of its group follows;
				 * else the group's start (revisited). */
				l = lfd_foreach_next(d, l);
				if (l == 0)
					next = LFD_SCAN_END;
				else if (lfd_is_blink(l) ||
					 lfd_link_entry(l)->ln.so_key != group)
					next = lfd_scan_after(group);
				else
					next = group - 1u;
				break;
			}
		}
		l = lfd_foreach_next(d, l);
	}
	lfd_rcu_unlock(d);
	*cursor = next;
	/* Updates made by fn owed a pause for after the section: this
	 * section, so take it here (unless the caller's own section goes
	 * on: then at its lfd_read_unlock). */
	lfd_reclaim_unlocked(d);
	return r;
}

/* Visits per slice of lfd_foreach and lfd_clear: long enough that a
 * slice's seek is noise, short enough that a section stays short. */
#define LFD_SLICE 256u

/* The whole table in slices of lfd_scan (lfd_foreach, lfd_clear). */
static int lfd_scan_all(struct lfd *d,
			int (*fn)(void *arg, const void *key, size_t len,
				  void *value),
			void *arg)
{
	uint64_t c = LFD_SCAN_START;
	int r;

	do
		r = lfd_scan(d, &c, LFD_SLICE, fn, arg);
	while (r == 0 && c != LFD_SCAN_END);
	return r;
}

LFD_EXPORT int lfd_foreach(struct lfd *d,
			   int (*fn)(void *arg, const void *key, size_t len,
				     void *value),
			   void *arg)
{
	if (d == NULL || fn == NULL)
		return -EINVAL;
	return lfd_scan_all(d, fn, arg);
}

struct lfd_clear_state {
	struct lfd *d;
	size_t removed;
	int err;
};

/* lfd_clear's visit: pop the key (the usual path: count, retire, the
 * value's destructor once, helping and backpressure). */
static int lfd_clear_visit(void *arg, const void *key, size_t len,
			   void *value)
{
	struct lfd_clear_state *st = arg;
	int r = lfd_pop(st->d, key, len, NULL);

	(void)value;
	if (r == 0)
		st->removed++;
	else if (r != -ENOENT) /* (pop has no other error on a valid key) */
		st->err = r;
	return st->err;
}

LFD_EXPORT int lfd_clear(struct lfd *d, size_t *removed)
{
	struct lfd_clear_state st = { d, 0, 0 };
	int r;

	if (d == NULL)
		return -EINVAL;
	r = lfd_scan_all(d, lfd_clear_visit, &st);
	if (removed)
		*removed = st.removed;
	return r;
}

/* Sections this thread opened with lfd_read_lock and has not closed, over
 * every dictionary: an unlock with none open is refused before it reaches
 * the flavour, whose nesting count would underflow (and hold back every
 * grace period of the process). */
static _Thread_local unsigned long lfd_read_depth;

LFD_EXPORT int lfd_read_lock(struct lfd *d)
{
	if (d == NULL)
		return -EINVAL;
	lfd_read_depth++;
	lfd_rcu_lock(d);
	return 0;
}

LFD_EXPORT int lfd_read_unlock(struct lfd *d)
{
	if (d == NULL || lfd_read_depth == 0)
		return -EINVAL;
	lfd_read_depth--;
	lfd_rcu_unlock(d);
	/* The outermost section ended: a pause owed by updates made inside
	 * it is taken now (it ends at once when none is owed). */
	if (lfd_read_depth == 0)
		lfd_reclaim_unlocked(d);
	return 0;
}

LFD_EXPORT int lfd_barrier(struct lfd *d)
{
	if (d == NULL)
		return -EINVAL;
	if (d->flavor->read_ongoing() || lfd_reclaim_in_destructor())
		return -EDEADLK;
	lfd_resize_wait(d);
	lfd_reclaim_wait(d);
	return 0;
}

LFD_EXPORT int lfd_stats(struct lfd *d, struct lfd_stats *st)
{
	if (d == NULL || st == NULL)
		return -EINVAL;
	/* relaxed throughout: monitoring values, documented as unordered. */
	st->count = lfd_count_sum(d);
	st->buckets = (size_t)1 << lfd_a_load(&d->size_log, memory_order_relaxed);
	st->min_buckets = (size_t)1 << d->min_log;
	st->max_buckets = (size_t)1 << d->max_log;
	st->grows = lfd_a_load(&d->grows, memory_order_relaxed);
	st->shrinks = lfd_a_load(&d->shrinks, memory_order_relaxed);
	st->resizing = lfd_a_load(&d->resize_busy, memory_order_relaxed) != 0;
	st->backlog = lfd_backlog_sum(d);
	st->throttled = lfd_a_load(&d->throttled, memory_order_relaxed);
	return 0;
}

static bool lfd_flavor_ok(const struct rcu_flavor_struct *f)
{
	return f->read_lock && f->read_unlock && f->read_ongoing &&
	       f->update_call_rcu && f->barrier;
}

LFD_EXPORT struct lfd *lfd_new(const struct lfd_config *cfg)
{
	static const struct lfd_config defaults;
	void *(*alloc)(size_t, void *) = lfd_default_alloc;
	void (*dealloc)(void *, size_t, void *) = lfd_default_free;
	struct lfd *d;
	int err;

	if (cfg == NULL)
		cfg = &defaults;
	if ((cfg->flags & ~LFD_FIXED_SIZE) != 0 ||
	    (cfg->alloc == NULL) != (cfg->free == NULL) ||
	    (cfg->max_capacity != 0 && cfg->capacity > cfg->max_capacity) ||
	    cfg->capacity > LFD_BUCKETS_MAX ||
	    (cfg->flavor != NULL && !lfd_flavor_ok(cfg->flavor))) {
		errno = EINVAL;
		return NULL;
	}
	if (cfg->alloc != NULL) {
		alloc = cfg->alloc;
		dealloc = cfg->free;
	}
	d = alloc(sizeof(*d), cfg->alloc_arg);
	if (d == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(d, 0, sizeof(*d));
	d->alloc = alloc;
	d->free = dealloc;
	d->alloc_arg = cfg->alloc_arg;
	d->flavor = cfg->flavor ? cfg->flavor : &urcu_bp_flavor;
	d->hash = cfg->hash;
	d->hash_arg = cfg->hash_arg;
	if (d->hash == NULL) {
		lfd_seed_init(d->seed);
		lfd_sip13_prepare(d->sip13, d->seed);
#ifdef LFD_HAVE_AES
		if (lfd_aes_usable()) {
			uint64_t k[2];

			lfd_seed_init(k);
			lfd_aes_prepare(d->aes_rk, k);
			memset(k, 0, sizeof(k));
			d->aes_short = 1;
		}
#endif
	}
	d->value_free = cfg->value_free;
	d->value_free_arg = cfg->value_free_arg;
	d->flags = cfg->flags;
	d->min_log = lfd_log_for(cfg->capacity);
	d->max_log = cfg->max_capacity ? lfd_log_for(cfg->max_capacity)
				       : LFD_MAX_LOG;
	if (d->flags & LFD_FIXED_SIZE)
		d->max_log = d->min_log;
	lfd_a_init(&d->resize_busy, 0);
	lfd_a_init(&d->resize_runs, 0UL);
	lfd_a_init(&d->resize_oom, 0);
	lfd_a_init(&d->destroying, 0);
	lfd_a_init(&d->fork_gate, 0u);
	lfd_a_init(&d->grows, (uint64_t)0);
	lfd_a_init(&d->shrinks, (uint64_t)0);
	lfd_a_init(&d->grow_claim, (uint32_t)0);
	lfd_a_init(&d->grow_done, (uint32_t)0);
	lfd_a_init(&d->retire_busy, 0);
	for (unsigned int i = 0; i < LFD_READY_SLOTS; i++)
		lfd_a_init(&d->ready[i], (uintptr_t)0);
	lfd_a_init(&d->ready_count, 0);
	lfd_a_init(&d->reclaim_helpers, 0);
	lfd_a_init(&d->reclaim_waiters, 0);
	lfd_a_init(&d->help_taken, 0ul);
	d->help_taken_seen = 0;
	lfd_a_init(&d->throttle, 0);
	lfd_a_init(&d->throttled, (uint64_t)0);
	lfd_slab_init(d);
	err = lfd_count_init(d);
	if (err == 0) {
		err = lfd_buckets_init(d, d->min_log);
		if (err == 0) {
			/* last: from here every fork prepares d */
			err = lfd_fork_register(d);
			if (err != 0)
				lfd_buckets_fini(d);
		}
		if (err != 0)
			lfd_count_fini(d);
	}
	if (err != 0) {
		dealloc(d, sizeof(*d), cfg->alloc_arg);
		errno = -err;
		return NULL;
	}
	return d;
}

LFD_EXPORT int lfd_destroy(struct lfd *d)
{
	uintptr_t l;

	if (d == NULL)
		return -EINVAL;
	if (d->flavor->read_ongoing() || lfd_reclaim_in_destructor())
		return -EDEADLK;
	/* first: no fork prepares d any more (waits for one in progress) */
	lfd_fork_unregister(d);
	/* seq_cst: a resize run that clears resize_busy and then re-checks
	 * must see this flag and queue nothing new (lfd_resize_check).  The
	 * reclaim pipeline queues work only while retired items wait, and
	 * the loop below waits until none does; from now on it counts
	 * handed-over items as no work (lfd_any_raw): lfd_slab_fini frees
	 * their blocks whole. */
	lfd_a_store(&d->destroying, 1, memory_order_seq_cst);
	do
		d->flavor->barrier();
	while (lfd_a_load(&d->resize_busy, memory_order_acquire) ||
	       !lfd_reclaim_idle(d));
	/* The callback that cleared the last busy flag may still be running
	 * its tail (the re-check); it was queued before this barrier, so the
	 * barrier returns only after it has returned. */
	d->flavor->barrier();
	/* Alone now: every popped entry was unlinked, and reclaimed by its
	 * popper's batch or handed over (its slot is freed with its block by
	 * lfd_slab_fini); what the list holds is live. */
	l = lfd_succ(lfd_a_load(&lfd_bucket_at(d, 0)->next,
				memory_order_relaxed));
	while (l != 0) {
		uintptr_t next = lfd_succ(lfd_a_load(lfd_link_next(d, l),
						     memory_order_relaxed));

		if (!lfd_is_blink(l)) {
			struct lfd_entry *e = lfd_link_entry(l);
			void *v = lfd_a_load(&e->value, memory_order_relaxed);

			if (d->value_free && v != LFD_TOMBSTONE)
				lfd_reclaim_destroy_value(d, v);
			lfd_entry_drop(d, e);
		}
		l = next;
	}
	lfd_slab_fini(d);
	lfd_buckets_fini(d);
	lfd_count_fini(d);
	d->free(d, sizeof(*d), d->alloc_arg);
	return 0;
}

LFD_EXPORT const char *lfd_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -EINVAL:
		return "invalid argument (NULL dictionary or key, key too long, "
		       "or invalid configuration)";
	case -ENOMEM:
		return "out of memory; nothing was changed";
	case -ENOENT:
		return "key not present";
	case -EEXIST:
		return "key already present";
	case -EAGAIN:
		return "value mismatch: the key holds another value";
	case -EDEADLK:
		return "called inside an RCU read-side section";
	default:
		return "unknown lfdict error";
	}
}
