/*
 * workers.c - lfd-torture: the dictionary, the workers, and one call with
 * its checks: every value a call hands out is checked (values.c), its
 * return code and -ENOMEM against the failures injected (alloc.c), its
 * record written to the key's history (history.c); lfd_foreach and a scan
 * in lfd_scan slices visit each pinned key once and no key twice (a scan's
 * outcome on each sampled key goes to its history); lfd_clear's count
 * keeps the net count; lfd_count stays within the bound of lfdict.h.  What a worker calls, and how long, is its mode's loop
 * (modes.c).
 *
 * SPDX-License-Identifier: MIT
 *
 * Uses: torture.h (util.c, alloc.c, values.c, history.c; the mode's loop
 * of modes.c; the thread flags of stall.c).
 */
#include "torture.h"

struct lfd *D;
/* Around every count-changing call: upd_begun before it, net_count and
 * upd_ended after.  seq_cst: do_count loads ended, net, then begun around
 * lfd_count, and with these RMWs in one total order begun - ended at its
 * loads bounds the calls net may have missed or counted early; at
 * quiescence (storm barrier, joins) net is exact (quiescent_check). */
static atomic_long upd_begun, upd_ended;
atomic_long net_count;
/* main folds a joined worker's counts into these (seq_cst; main alone
 * touches them, so any order would do). */
atomic_long tot_ok[OP_N], tot_fail[OP_N], tot_enomem;
/* Counts for the report, read after the joins: relaxed (n_storm_checks:
 * seq_cst, modes.c). */
atomic_long n_iter_checked, n_count_checked, n_storm_checks;
atomic_long n_upd_lost, n_goc_lost;
atomic_long n_scan_checked, n_scan_slices, n_clears;
/* seq_cst: a count for the report, read after the joins. */
atomic_long threads_started;
struct slot_ops *slot_ops; /* per worker slot, survives churn */
struct worker **W;
unsigned nW;

static void count_op(struct worker *w, int op, int rc)
{
	/* relaxed: the worker's own counts, folded after its join; slot v, a
	 * progress count: do_key_op's release store of in_call orders it for
	 * the hang check, and the monitor and stall checks want only a
	 * recent value */
	if (rc == -ENOMEM) {
		atomic_fetch_add_explicit(&w->enomem, 1, RLX);
		return;
	}
	if (rc >= 0)
		atomic_fetch_add_explicit(&w->ok[op], 1, RLX);
	else
		atomic_fetch_add_explicit(&w->fail[op], 1, RLX);
	atomic_fetch_add_explicit(&slot_ops[w->idx].v, 1, RLX);
}

/* Before a call: the calling thread's injected failures so far (definite
 * ones returned; the 16-byte "maybe" ones kept aside, see t_alloc). */
static _Thread_local long tl_maybe_snap;

static long inj_snap(void)
{
	tl_maybe_snap = tl_injected_maybe;
	return tl_injected;
}

static void check_rc(int op, uint32_t key, int rc, long inj_before)
{
	bool injected = tl_injected != inj_before;
	bool maybe = tl_injected_maybe != tl_maybe_snap;
	if (rc == -ENOMEM)
		CHECK(injected || maybe, "%s of key %u returned -ENOMEM with no "
		      "allocation failure injected", op_names[op], key);
	else if (injected)
		viol("%s of key %u: an allocation failed but the call returned "
		     "%d, not -ENOMEM", op_names[op], key, rc);
	static const int ok[OP_N][4] = {
		[OP_GET] = { 0, -ENOENT, 0, 0 },
		[OP_INS] = { 0, -EEXIST, 0, 0 },
		[OP_SET] = { 0, 1, 0, 0 },
		[OP_REP] = { 0, -ENOENT, 0, 0 },
		[OP_CAS] = { 0, -ENOENT, -EAGAIN, 0 },
		[OP_POP] = { 0, -ENOENT, 0, 0 },
		[OP_POPIF] = { 0, -ENOENT, -EAGAIN, 0 },
		[OP_CAD] = { 0, -ENOENT, -EAGAIN, 0 },
		[OP_UPD] = { R_KEPT, R_INSERTED, R_REPLACED, R_REMOVED },
		[OP_GOC] = { R_KEPT, R_INSERTED, 0, 0 },
	};
	if (rc == -ENOMEM)
		return;
	for (int i = 0; i < 4; i++)
		if (ok[op][i] == rc)
			return;
	viol("%s of key %u returned %d (%s)", op_names[op], key, rc,
	     lfd_strerror(rc));
}

/* The count-changing calls: begun/ended around them, net updated. */
static void upd_begin(void)
{
	/* seq_cst: see upd_begun */
	atomic_fetch_add_explicit(&upd_begun, 1, SEQ);
}

static void upd_end(long delta)
{
	/* seq_cst: see upd_begun (net first, then ended) */
	if (delta)
		atomic_fetch_add_explicit(&net_count, delta, SEQ);
	atomic_fetch_add_explicit(&upd_ended, 1, SEQ);
}

struct iter_ctx {
	unsigned char *seen;
	long visits, bad;
	const char *what; /* the call, for reports */
	uint64_t uid[64]; /* lfd_scan: the value uid of the sampled keys */
};

static int iter_fn(void *arg, const void *key, size_t len, void *value)
{
	struct iter_ctx *c = arg;
	int64_t id = parsekey(key, len);
	c->visits++;
	if (id < 0) {
		viol("%s visited a foreign key (len %zu)", c->what, len);
		c->bad++;
		return 0;
	}
	if (c->seen[id]) {
		viol("%s visited key %" PRId64 " twice", c->what, id);
		c->bad++;
	}
	c->seen[id] = 1;
	val_check(value, (uint32_t)id, c->what);
	return 0;
}

/* lfd_scan's visit: as lfd_foreach's, and the sampled keys' values. */
static int scan_fn(void *arg, const void *key, size_t len, void *value)
{
	struct iter_ctx *c = arg;
	int64_t id = parsekey(key, len);

	iter_fn(arg, key, len, value);
	if (id >= (int64_t)O.pinned && id < (int64_t)O.pinned + 64 &&
	    id < (int64_t)(O.pinned + O.hkeys))
		c->uid[id - O.pinned] = val_check(value, (uint32_t)id,
						  "lfd_scan");
	return 0;
}

static void do_iterate(struct worker *w)
{
	struct iter_ctx c = { .seen = w->seen, .what = "lfd_foreach" };
	memset(w->seen, 0, O.keys);
	int rc = lfd_foreach(D, iter_fn, &c);
	CHECK(rc == 0, "lfd_foreach returned %d", rc);
	for (uint32_t k = 0; k < O.pinned; k++)
		if (!w->seen[k]) {
			viol("lfd_foreach missed pinned key %u", k);
			break;
		}
	/* relaxed: see n_iter_checked */
	atomic_fetch_add_explicit(&n_iter_checked, 1, RLX);
	count_op(w, OP_ITER, 0);
}

/*
 * A scan in lfd_scan slices of 1 to 64 calls, from start to end.  Checks
 * as do_iterate (pinned keys once, no key twice), and on each sampled key
 * whose window has room, records what the scan implies as a get spanning
 * the whole scan: visited with value v, some instant of the scan had v
 * (the visit's load); not visited, some instant of the scan had the key
 * absent (lfdict.h: a key present for the whole scan is visited).  The
 * key's linearizability check then holds the scan to both.
 */
static void do_scan(struct worker *w)
{
	struct iter_ctx c = { .seen = w->seen, .what = "lfd_scan" };
	struct hrec *hr[64] = { 0 };
	uint32_t nh = O.hkeys < 64 ? O.hkeys : 64;
	uint64_t cur = LFD_SCAN_START, uid[64] = { 0 };
	long slices = 0;
	bool skip;
	int rc;

	memset(w->seen, 0, O.keys);
	for (uint32_t i = 0; i < nh; i++)
		hr[i] = h_begin(O.pinned + i, &skip);
	do {
		rc = lfd_scan(D, &cur, 1 + (size_t)rng_below(&w->r, 64),
			      scan_fn, &c);
		slices++;
		CHECK(rc == 0, "lfd_scan returned %d", rc);
		CHECK(cur <= LFD_SCAN_END && !(cur & 1), "lfd_scan: cursor "
		      "%#" PRIx64, cur);
	} while (rc == 0 && cur != LFD_SCAN_END);
	for (uint32_t i = 0; i < nh; i++) {
		uid[i] = w->seen[O.pinned + i] ? c.uid[i] : 0;
		h_end(O.pinned + i, hr[i], OP_GET,
		      w->seen[O.pinned + i] ? 0 : -ENOENT, 0, 0, uid[i]);
	}
	for (uint32_t k = 0; k < O.pinned; k++)
		if (!w->seen[k]) {
			viol("lfd_scan missed pinned key %u", k);
			break;
		}
	/* relaxed: see n_iter_checked */
	atomic_fetch_add_explicit(&n_scan_checked, 1, RLX);
	atomic_fetch_add_explicit(&n_scan_slices, slices, RLX);
	count_op(w, OP_SCAN, 0);
}

/* lfd_clear (mode clear): the keys it removed leave the net count. */
static void do_clear(struct worker *w)
{
	size_t removed = 0;

	upd_begin();
	int rc = lfd_clear(D, &removed);
	CHECK(rc == 0, "lfd_clear returned %d", rc);
	upd_end(-(long)removed);
	/* relaxed: see n_iter_checked */
	atomic_fetch_add_explicit(&n_clears, 1, RLX);
	count_op(w, OP_CLEAR, 0);
}

static void do_count(struct worker *w)
{
	/* seq_cst: the check's loads, in this order (see upd_begun) */
	long e0 = atomic_load_explicit(&upd_ended, SEQ);
	long n0 = atomic_load_explicit(&net_count, SEQ);
	size_t cnt = 0;
	int rc = lfd_count(D, &cnt);
	long b1 = atomic_load_explicit(&upd_begun, SEQ);
	long slack = b1 - e0;
	CHECK(rc == 0, "lfd_count returned %d", rc);
	long diff = (long)cnt - n0;
	if (diff < 0)
		diff = -diff;
	CHECK(diff <= slack, "lfd_count %zu, expected %ld within %ld (updates "
	      "overlapping)", cnt, n0, slack);
	/* relaxed: see n_iter_checked */
	atomic_fetch_add_explicit(&n_count_checked, 1, RLX);
	count_op(w, OP_COUNT, 0);
}

static uint64_t uid_of(const void *p)
{
	/* relaxed: a value of ours or one lfdict handed out (see the
	 * record's fields, values.c) */
	return valid_val(p) ? atomic_load_explicit(
				      &((const struct tval *)p)->uid, RLX)
			    : 0;
}

_Static_assert(LFD_KEPT == R_KEPT && LFD_INSERTED == R_INSERTED &&
		       LFD_REPLACED == R_REPLACED && LFD_REMOVED == R_REMOVED,
	       "lincheck.h's returns are lfdict.h's");

/* The values an update's fn or a get_or_create's create builds: each one
 * lfdict does not store comes back through discard (hb_discard) once,
 * before the function is called again; after the call every value built
 * is either stored or was handed back.  The first member of the calls'
 * contexts (arg is the context for both the function and discard). */
struct handback {
	struct tcache *cache;
	uint32_t key;
	const char *call;
	struct tval *built;	/* the value of the function's last call */
	bool back;		/* ... handed back through discard */
	long n_built, n_back;
};

/* At each call of the function: the previous call's value is back. */
static void hb_next(struct handback *h)
{
	if (h->built && !h->back)
		viol("%s of key %u: its function called again before the "
		     "value of the lost try (%p) was handed back", h->call,
		     h->key, (void *)h->built);
	h->built = NULL;
	h->back = false;
}

static struct tval *hb_build(struct handback *h)
{
	h->n_built++;
	return h->built = val_new(h->cache, h->key);
}

static void hb_discard(void *arg, void *value)
{
	struct handback *h = arg;

	if (value != h->built || h->back) {
		viol("%s of key %u: discard got %p, not the value of the "
		     "function's last call (%p%s)", h->call, h->key, value,
		     (void *)h->built, h->back ? ", already handed back" : "");
		return;
	}
	h->back = true;
	h->n_back++;
	val_unused(h->cache, value);
}

/* After the call (rc): stored, the last value built is in the dictionary. */
static void hb_check(const struct handback *h, int rc, bool stored)
{
	if (h->built)
		CHECK(h->back != stored, "%s of key %u (%d): the value of "
		      "its function's last call was %s", h->call, h->key, rc,
		      stored ? "stored and handed back"
			     : "neither stored nor handed back");
	CHECK(h->n_back == h->n_built - stored, "%s of key %u (%d): %ld "
	      "values built, %ld handed back, %d stored", h->call, h->key, rc,
	      h->n_built, h->n_back, (int)stored);
}

/* lfd_update's fn (the rule: lincheck.h's upd_rule).  The context records
 * what the last call saw and decided: the call whose decision took
 * effect. */
struct upd_ctx {
	struct handback hb;	/* first: discard's arg */
	bool pinned;
	long calls;
	uint64_t cur_uid;	/* what the last call saw (0: absent) */
	void *cur;
	enum upd_act act;	/* and what it decided */
};

static int upd_fn(void *arg, const void *key, size_t len, int present,
		  void *current, void **desired)
{
	struct upd_ctx *u = arg;
	uint32_t k = u->hb.key;

	CHECK(parsekey(key, len) == k, "update of key %u: fn got another "
	      "key", k);
	hb_next(&u->hb);
	u->calls++;
	u->cur = present ? current : NULL;
	u->cur_uid = present ? val_check(current, k, "update's current") : 0;
	CHECK(present || !current, "update of key %u: fn got absent with "
	      "a current value %p", k, current);
	CHECK(present || !u->pinned, "update: pinned key %u absent", k);
	u->act = upd_rule(u->cur_uid);
	if (u->pinned && u->act == UA_REMOVE)
		u->act = UA_FRESH; /* pinned keys stay present */
	switch (u->act) {
	case UA_INSERT:
	case UA_FRESH:
		*desired = hb_build(&u->hb);
		return LFD_STORE;
	case UA_SAME:
		*desired = current;
		return LFD_STORE;
	case UA_REMOVE:
		return LFD_REMOVE;
	default:
		return LFD_KEEP;
	}
}

/* lfd_update of key with upd_fn.  Returns its return; *departed: the
 * value that left the dictionary (replaced or removed), or NULL. */
static int update_op(struct worker *w, uint32_t key, const void *kb,
		     size_t klen, struct hrec *hr, void **departed)
{
	struct upd_ctx u = { .hb = { .cache = &w->cache, .key = key,
				    .call = "update" },
			     .pinned = key < O.pinned };

	upd_begin();
	long inj = inj_snap();
	int rc = lfd_update(D, kb, klen, upd_fn, hb_discard, &u);
	check_rc(OP_UPD, key, rc, inj);
	upd_end(rc == R_INSERTED ? 1 : rc == R_REMOVED ? -1 : 0);
	CHECK(u.calls >= 1, "update of key %u returned %d without calling "
	      "fn", key, rc);
	if (rc >= 0)
		CHECK(rc == upd_rc(u.act), "update of key %u returned %d, its "
		      "fn decided %d on %" PRIx64, key, rc, (int)u.act,
		      u.cur_uid);
	bool stored = u.hb.built && (rc == R_INSERTED || rc == R_REPLACED);
	hb_check(&u.hb, rc, stored);
	if (u.calls > 1) /* relaxed: see n_iter_checked */
		atomic_fetch_add_explicit(&n_upd_lost, u.calls - 1, RLX);
	h_end(key, hr, OP_UPD, rc,
	      u.act == UA_SAME ? u.cur_uid : stored ? uid_of(u.hb.built) : 0,
	      0, u.cur_uid);
	*departed = rc == R_REMOVED || (rc == R_REPLACED && u.act == UA_FRESH)
		    ? u.cur : NULL;
	return rc;
}

/* lfd_get_or_create's create: runs at most once per call. */
struct goc_ctx {
	struct handback hb;	/* first: discard's arg */
	unsigned created;
};

static int goc_create(void *arg, const void *key, size_t len, void **value)
{
	struct goc_ctx *g = arg;

	CHECK(parsekey(key, len) == g->hb.key, "get_or_create of key %u: "
	      "create got another key", g->hb.key);
	if (g->created++)
		viol("get_or_create of key %u called create twice", g->hb.key);
	hb_next(&g->hb);
	*value = hb_build(&g->hb);
	return 0;
}

static int goc_op(struct worker *w, uint32_t key, const void *kb,
		  size_t klen, struct hrec *hr)
{
	struct goc_ctx g = { .hb = { .cache = &w->cache, .key = key,
				    .call = "get_or_create" } };
	void *out = NULL;
	uint64_t o = 0;

	upd_begin();
	long inj = inj_snap();
	int rc = lfd_get_or_create(D, kb, klen, goc_create, hb_discard, &g,
				   &out);
	check_rc(OP_GOC, key, rc, inj);
	upd_end(rc == R_INSERTED);
	if (rc >= 0)
		o = val_check(out, key, "get_or_create");
	hb_check(&g.hb, rc, rc == R_INSERTED);
	if (rc == R_INSERTED)
		CHECK(out == g.hb.built, "get_or_create of key %u inserted "
		      "%p, created %p", key, out, (void *)g.hb.built);
	CHECK(key >= O.pinned || rc != R_INSERTED, "get_or_create: pinned "
	      "key %u absent", key);
	if (rc == R_KEPT && g.created) /* relaxed: see n_iter_checked */
		atomic_fetch_add_explicit(&n_goc_lost, 1, RLX);
	h_end(key, hr, OP_GOC, rc, g.hb.built ? uid_of(g.hb.built) : 0, 0, o);
	return rc;
}

/* One single-key call (op) on key, with its checks. */
static void key_op(struct worker *w, int op, uint32_t key)
{
	unsigned char kb[KEYMAX];
	size_t klen = mkkey(key, kb);
	bool pinned = key < O.pinned;
	bool skip;
	void *out = NULL;
	struct tval *nv = NULL;
	long inj;
	int rc;

	struct hrec *hr = h_begin(key, &skip);
	if (skip)
		return;
	lfd_read_lock(D);
	switch (op) {
	case OP_GET:
		inj = inj_snap();
		rc = lfd_get(D, kb, klen, &out);
		check_rc(op, key, rc, inj);
		if (pinned && rc == -ENOENT)
			viol("get: pinned key %u absent", key);
		h_end(key, hr, op, rc, 0, 0,
		      rc == 0 ? val_check(out, key, "get") : 0);
		break;
	case OP_INS:
	case OP_SET:
	case OP_REP: {
		/* The three calls that store a new value: the same signature,
		 * different returns (lfdict.h).  stored: nv is in the
		 * dictionary; grew: the count went up by one; has_old: *out
		 * (insert: *current) is the value found there. */
		static int (*const call[])(struct lfd *, const void *, size_t,
					    void *, void **) = {
			[OP_INS] = lfd_insert, [OP_SET] = lfd_set,
			[OP_REP] = lfd_replace,
		};
		static const char *const old_what[] = {
			[OP_INS] = "insert -EEXIST", [OP_SET] = "set's old",
			[OP_REP] = "replace's old",
		};
		nv = val_new(&w->cache, key);
		if (op != OP_REP)
			upd_begin();
		inj = inj_snap();
		rc = call[op](D, kb, klen, nv, &out);
		check_rc(op, key, rc, inj);
		bool stored = op == OP_SET ? rc >= 0 : rc == 0;
		bool grew = op != OP_REP && rc == 0;
		bool has_old = op == OP_INS ? rc == -EEXIST
			       : op == OP_SET ? rc == 1 : rc == 0;
		if (op != OP_REP)
			upd_end(grew);
		if (op == OP_INS && rc == 0)
			CHECK(out == nv, "insert of key %u: *current %p, not the "
			      "value inserted %p", key, out, (void *)nv);
		h_end(key, hr, op, rc, uid_of(nv), 0,
		      has_old ? val_check(out, key, old_what[op]) : 0);
		if (!stored)
			val_unused(&w->cache, nv);
		if (op == OP_REP && pinned && rc == -ENOENT)
			viol("replace: pinned key %u absent", key);
		break;
	}
	case OP_POP:
		upd_begin();
		inj = inj_snap();
		rc = lfd_pop(D, kb, klen, &out);
		check_rc(op, key, rc, inj);
		upd_end(rc == 0 ? -1 : 0);
		h_end(key, hr, op, rc, 0, 0,
		      rc == 0 ? val_check(out, key, "pop") : 0);
		break;
	case OP_UPD:
		rc = update_op(w, key, kb, klen, hr, &out);
		break;
	case OP_GOC:
		rc = goc_op(w, key, kb, klen, hr);
		break;
	case OP_CAS:
	case OP_POPIF:
	case OP_CAD: {
		/* expected: the value a get sees now (same section: its uid
		 * stays that value's), or, if absent, a value never stored. */
		void *exp = NULL;
		uint64_t euid;
		inj = inj_snap();
		rc = lfd_get(D, kb, klen, &exp);
		check_rc(OP_GET, key, rc, inj);
		if (rc == 0) {
			euid = val_check(exp, key, "get");
		} else {
			exp = nv = val_new(&w->cache, key);
			euid = uid_of(nv);
		}
		h_end(key, hr, OP_GET, rc, 0, 0, rc == 0 ? euid : 0);
		hr = h_begin(key, &skip);
		if (skip) {
			lfd_read_unlock(D);
			count_op(w, OP_GET, rc);
			if (nv)
				val_unused(&w->cache, nv);
			return;
		}
		struct tval *dv = op == OP_CAS ? val_new(&w->cache, key) : NULL;
		if (op == OP_CAS) {
			inj = inj_snap();
			rc = lfd_cas(D, kb, klen, exp, dv, &out);
		} else {
			upd_begin();
			inj = inj_snap();
			rc = op == OP_CAD ? lfd_cad(D, kb, klen, exp, &out)
					  : lfd_pop_if(D, kb, klen, exp);
			upd_end(rc == 0 ? -1 : 0);
		}
		check_rc(op, key, rc, inj);
		uint64_t o = 0;
		if (op != OP_POPIF && rc == 0) /* cas, cad: *current */
			CHECK(out == exp, "%s of key %u: *current %p, not the "
			      "expected %p", op_names[op], key, out, exp);
		if (op != OP_POPIF && rc == -EAGAIN)
			o = val_check(out, key, op == OP_CAS ? "cas -EAGAIN"
							     : "cad -EAGAIN");
		h_end(key, hr, op, rc, uid_of(dv), euid, o);
		if (dv && rc != 0)
			val_unused(&w->cache, dv);
		if (rc == 0)
			out = exp;
		break;
	}
	default:
		rc = -1;
	}
	/* Departures are counted inside the section, before the value's
	 * destructor can run: a destructor that finds none counted knows the
	 * value was never returned as departed (mode clear: lfd_clear took
	 * it; values.c, t_dtor). */
	if (rc == 0 && (op == OP_POP || op == OP_POPIF || op == OP_REP ||
			op == OP_CAS || op == OP_CAD))
		val_departed(out, key, op_names[op]);
	if (rc == 1 && op == OP_SET)
		val_departed(out, key, "set");
	if (op == OP_UPD && out)
		val_departed(out, key, "update");
	lfd_read_unlock(D);
	count_op(w, op, rc);
	if (nv && (op == OP_CAS || op == OP_POPIF || op == OP_CAD) &&
	    nv != out)
		val_unused(&w->cache, nv);
}

/* The calling thread takes slot idx: its CPU clock, for the hang check. */
void slot_take(unsigned idx)
{
	clockid_t c;

	if (pthread_getcpuclockid(pthread_self(), &c) != 0)
		return;
	/* relaxed: published by the release store of clk_set below */
	atomic_store_explicit(&slot_ops[idx].clk, c, RLX);
	/* release: pairs with the hang check's acquire */
	atomic_store_explicit(&slot_ops[idx].clk_set, 1, memory_order_release);
}

static uint32_t pick_key(struct worker *w);

/* A get of key and up to 5 more keys (picked as the mix picks them, the
 * same key again now and then) in one lfd_get_many call, for the modes
 * that ask (mode->get_many).  lfdict.h: each key's lookup is linearizable
 * on its own, with nothing across keys, so each is recorded as a get of
 * its own in its key's history, its interval the whole call, and checked
 * as a get. */
#define MANY_KEYS 6
static void get_many_op(struct worker *w, uint32_t key)
{
	uint32_t ks[MANY_KEYS];
	unsigned char kb[MANY_KEYS][KEYMAX];
	const void *kp[MANY_KEYS];
	size_t lens[MANY_KEYS];
	void *vals[MANY_KEYS];
	int res[MANY_KEYS];
	struct hrec *hr[MANY_KEYS];
	size_t n = 1 + (size_t)rng_below(&w->r, MANY_KEYS);
	int found = 0;
	bool skip;

	for (size_t i = 0; i < n; i++) {
		ks[i] = i == 0 ? key
			: rng_below(&w->r, 4) == 0 ? ks[i - 1]
						  : pick_key(w);
		lens[i] = mkkey(ks[i], kb[i]);
		kp[i] = kb[i];
		/* a key whose history window is full is looked up, not
		 * recorded (a get changes nothing) */
		hr[i] = h_begin(ks[i], &skip);
	}
	lfd_read_lock(D);
	long inj = inj_snap();
	int rc = lfd_get_many(D, n, kp, lens, vals, res);
	for (size_t i = 0; i < n; i++) {
		check_rc(OP_GET, ks[i], res[i], inj);
		if (ks[i] < O.pinned && res[i] == -ENOENT)
			viol("get_many: pinned key %u absent", ks[i]);
		h_end(ks[i], hr[i], OP_GET, res[i], 0, 0,
		      res[i] == 0 ? val_check(vals[i], ks[i], "get_many") : 0);
		found += res[i] == 0;
		count_op(w, OP_GET, res[i]);
	}
	CHECK(rc == found, "lfd_get_many returned %d, %d keys found", rc,
	      found);
	lfd_read_unlock(D);
}

/* key_op, with in_call set around it for the hang check (release: whoever
 * sees in_call = 1 sees the count of the calls before, and the clock). */
void do_key_op(struct worker *w, int op, uint32_t key)
{
	struct slot_ops *s = &slot_ops[w->idx];

	h_check_own();
	if (key < O.pinned &&
	    (op == OP_POP || op == OP_POPIF || op == OP_CAD))
		op = OP_REP; /* pinned keys stay present */
	/* relaxed: op and key, for the hang report, are published by the
	 * release store of in_call that follows (above: it pairs with the
	 * hang check's acquire load) */
	atomic_store_explicit(&s->op, op, RLX);
	atomic_store_explicit(&s->key, key, RLX);
	atomic_store_explicit(&s->in_call, 1, memory_order_release);
	if (op == OP_GET && O.mode->get_many && rng_below(&w->r, 4) == 0)
		get_many_op(w, key);
	else
		key_op(w, op, key);
	/* release: as above; the count of this call goes with it */
	atomic_store_explicit(&s->in_call, 0, memory_order_release);
}

static int pick_op(struct worker *w)
{
	unsigned tot = 0;
	for (int i = 0; i < OP_N; i++)
		tot += O.mix[i];
	unsigned x = (unsigned)rng_below(&w->r, tot);
	for (int i = 0; i < OP_N; i++) {
		if (x < O.mix[i])
			return i;
		x -= O.mix[i];
	}
	return OP_GET;
}

static uint32_t pick_key(struct worker *w)
{
	/* A third of the picks on the sampled keys, so that windows fill. */
	if (O.hkeys && rng_below(&w->r, 3) == 0)
		return O.pinned + (uint32_t)rng_below(&w->r, O.hkeys);
	return (uint32_t)rng_below(&w->r, O.keys);
}

/* One call of the mix; a single-key call on key. */
void one_op_on(struct worker *w, uint32_t key)
{
	int op = pick_op(w);
	if (op == OP_ITER)
		do_iterate(w);
	else if (op == OP_SCAN)
		do_scan(w);
	else if (op == OP_CLEAR)
		do_clear(w);
	else if (op == OP_COUNT)
		do_count(w);
	else
		do_key_op(w, op, key);
}

void one_op(struct worker *w)
{
	one_op_on(w, pick_key(w));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	if (O.flavor == F_MEMB)
		urcu_memb_register_thread();
	/* seq_cst: see threads_started */
	atomic_fetch_add_explicit(&threads_started, 1, SEQ);
	slot_take(w->idx);
	if (O.mode->stall == STALL_ALLOC && w->idx == 0)
		tl_stop_in_alloc = 1;
	O.mode->loop(w);
	h_check_own();
	tcache_drain(&w->cache);
	if (O.flavor == F_MEMB)
		urcu_memb_unregister_thread();
	/* seq_cst: pairs with the loads of main's churn loop and of
	 * stall_worker0; main joins the thread before it frees w */
	atomic_store_explicit(&w->finished, 1, SEQ);
	return NULL;
}

struct worker *worker_new(unsigned idx, uint64_t stream)
{
	struct worker *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	w->idx = idx;
	w->stream = stream;
	rng_init(&w->r, stream);
	w->cache.uid_hi = (stream + 1) << 40;
	w->seen = calloc(O.keys, 1);
	if (!w->seen)
		abort();
	if (O.mode->churn)
		w->limit = 100 + (long)rng_below(&w->r, O.churn_ops);
	return w;
}

void worker_start(struct worker *w)
{
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, O.threads > 64 ? 256 * 1024 : 1 << 20);
	int rc = pthread_create(&w->tid, &at, worker_main, w);
	pthread_attr_destroy(&at);
	if (rc) {
		fprintf(stderr, "pthread_create: %s\n", strerror(rc));
		exit(2);
	}
}

void worker_fold(struct worker *w)
{
	/* seq_cst: main alone, w joined (or w0, main's own; see tot_ok) */
	for (int i = 0; i < OP_N; i++) {
		atomic_fetch_add_explicit(&tot_ok[i],
			atomic_load_explicit(&w->ok[i], SEQ), SEQ);
		atomic_fetch_add_explicit(&tot_fail[i],
			atomic_load_explicit(&w->fail[i], SEQ), SEQ);
	}
	atomic_fetch_add_explicit(&tot_enomem,
		atomic_load_explicit(&w->enomem, SEQ), SEQ);
	free(w->seen);
	free(w);
}

long live_ops(void)
{
	long n = 0;
	/* relaxed: a recent sum is all the monitor and the stall checks need
	 * (stall_worker0 reads worker 0's own count with seq_cst) */
	for (unsigned i = 0; i <= nW; i++)
		n += atomic_load_explicit(&slot_ops[i].v, RLX);
	return n;
}
