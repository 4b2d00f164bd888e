/*
 * fuzz_lfd.c - libFuzzer target: decode an operation sequence from the
 * input, run it on a dictionary (one thread) and compare every result,
 * every output value, the count, a walk, and the destructor calls with a
 * plain sequential model.  Build and run: stress/fuzz.sh (doc/torture.md).
 *
 * SPDX-License-Identifier: MIT
 *
 * Input: byte 0 chooses the configuration (capacity, fixed size, value
 * destructor, one-chain hash, max_capacity); then each operation is 3 bytes:
 * op (low 4 bits; bit 4: fail the next allocation), key index (0..15, key
 * length = index; index 0 is the empty key), value id (0 is NULL).  Ops:
 * 0-7 the single-key calls, 8-9 full checks (9 with lfd_barrier), 10 bad
 * arguments, 11 a scan in slices (lfd_scan) -- or, when value bit 2 is
 * set, a burst that grows or shrinks the table (value bit 0) --, 12
 * lfd_clear when the value's top four bits are all set (clear empties the
 * model: kept rare), else lfd_trim when value bit 3 is set (the model
 * unchanged; -ENOMEM only when an allocation was failed), else a burst;
 * 13 lfd_cad, 14 lfd_update, 15 lfd_get_or_create.  For lfd_update the
 * value byte also picks what fn decides (upd_fn), for lfd_get_or_create
 * whether create fails, for lfd_cad whether *current is asked for.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lfdict.h>

/* The test-only pthread RCU flavour: a grace period with no reader costs
 * microseconds, where urcu-bp's costs milliseconds (the run is one thread;
 * the default flavour is exercised by lfd-torture). */
#include "../tests/rcu_pthread.h"

#define NK 16
#define NV 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	int present[NK];
	uintptr_t val[NK];
	long dtor_expect[NV]; /* departures so far, per value id */
} M;

static long dtor_calls[NV];
static long dtor_bad;
static int fail_next; /* fail the next allocation */
static long live_allocs;

static void dtor(void *v, void *arg)
{
	(void)arg;
	uintptr_t id = (uintptr_t)v;
	if (id >= NV)
		dtor_bad++;
	else
		dtor_calls[id]++;
}

static void *f_alloc(size_t size, void *arg)
{
	(void)arg;
	if (__atomic_exchange_n(&fail_next, 0, __ATOMIC_SEQ_CST))
		return NULL;
	void *p = malloc(size);
	if (p)
		__atomic_fetch_add(&live_allocs, 1, __ATOMIC_SEQ_CST);
	return p;
}

static void f_free(void *p, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (p)
		__atomic_fetch_sub(&live_allocs, 1, __ATOMIC_SEQ_CST);
	free(p);
}

static uint64_t chain_hash(const void *k, size_t len, void *arg)
{
	(void)k;
	(void)len;
	(void)arg;
	return 42;
}

static size_t key_of(unsigned k, unsigned char *buf)
{
	for (unsigned i = 0; i < k; i++)
		buf[i] = (unsigned char)(k * 7 + i);
	return k;
}

#define FAIL(...)                                                             \
	do {                                                                  \
		fprintf(stderr, "fuzz_lfd: mismatch: " __VA_ARGS__);          \
		fprintf(stderr, "\n");                                        \
		abort();                                                      \
	} while (0)

/* lfd_update's fn and discard: fn decides by rule (UR_*), storing nv; the
 * model checks what fn saw, that it ran once (one calling thread loses no
 * try, even when a resize on lfdict's call_rcu thread links or unlinks a
 * bucket node next to the key: lfdict.h, lfd_update), and what came back
 * through discard. */
enum { UR_KEEP, UR_STORE, UR_REMOVE, UR_FAIL, UR_SAME, UR_BAD, UR_N };

struct fz_upd {
	int rule;
	uintptr_t nv;
	int calls, present;
	void *cur;
	int discards;
	void *discarded;
};

static int upd_fn(void *arg, const void *key, size_t len, int present,
		  void *current, void **desired)
{
	struct fz_upd *u = arg;
	(void)key;
	(void)len;
	u->calls++;
	u->present = present;
	u->cur = current;
	switch (u->rule) {
	case UR_KEEP:
		return LFD_KEEP;
	case UR_STORE:
		*desired = (void *)u->nv;
		return LFD_STORE;
	case UR_REMOVE:
		return LFD_REMOVE;
	case UR_FAIL:
		return -ECANCELED;
	case UR_SAME:
		*desired = current;
		return LFD_STORE;
	default:
		return 7; /* no decision: -EINVAL */
	}
}

/* discard of lfd_update and lfd_get_or_create */
static void fz_discard(void *arg, void *value)
{
	struct fz_upd *u = arg;
	u->discards++;
	u->discarded = value;
}

/* lfd_get_or_create's create: fails (rule UR_FAIL) or makes nv. */
static int goc_create(void *arg, const void *key, size_t len, void **value)
{
	struct fz_upd *u = arg;
	(void)key;
	(void)len;
	u->calls++;
	if (u->rule == UR_FAIL)
		return -ECANCELED;
	*value = (void *)u->nv;
	return 0;
}

struct walk {
	int seen[NK];
	int n;
};

static int walk_fn(void *arg, const void *key, size_t len, void *value)
{
	struct walk *w = arg;
	unsigned char buf[NK];
	if (len >= NK || memcmp(key, buf, key_of((unsigned)len, buf)))
		FAIL("foreach: foreign key of length %zu", len);
	if (w->seen[len]++)
		FAIL("foreach: key %zu twice", len);
	if (!M.present[len] || (uintptr_t)value != M.val[len])
		FAIL("foreach: key %zu value %p, model %d/%p", len, value,
		     M.present[len], (void *)M.val[len]);
	w->n++;
	return 0;
}

/* A full scan in slices of 1 + v % 5 calls: exactly the model's keys,
 * each once, with its value.  With v & 8 the callback stops the scan at
 * its third call and the scan is resumed: then a key may come twice, but
 * only when it shares its so_key with the stopped key (the one-chain
 * hash: every key). */
struct scan_walk {
	int seen[NK];
	int calls, stop_at;
};

static int scan_fn(void *arg, const void *key, size_t len, void *value)
{
	struct scan_walk *s = arg;
	unsigned char buf[NK];

	if (len >= NK || memcmp(key, buf, key_of((unsigned)len, buf)))
		FAIL("scan: foreign key of length %zu", len);
	if (!M.present[len] || (uintptr_t)value != M.val[len])
		FAIL("scan: key %zu value %p, model %d/%p", len, value,
		     M.present[len], (void *)M.val[len]);
	s->seen[len]++;
	return ++s->calls == s->stop_at;
}

static void check_scan(struct lfd *d, uintptr_t v, int one_chain)
{
	struct scan_walk s;
	uint64_t c = LFD_SCAN_START, bad = 1;
	int rc, stopped = 0;

	memset(&s, 0, sizeof s);
	s.stop_at = v & 8 ? 3 : -1;
	do {
		rc = lfd_scan(d, &c, 1 + v % 5, scan_fn, &s);
		if (rc == 1 && s.calls == s.stop_at)
			stopped = 1;
		else if (rc != 0)
			FAIL("scan -> %d", rc);
		if (c > LFD_SCAN_END || (c & 1))
			FAIL("scan: cursor %llx", (unsigned long long)c);
	} while (c != LFD_SCAN_END);
	for (unsigned k = 0; k < NK; k++)
		if (M.present[k] ? s.seen[k] < 1 ||
					   (s.seen[k] > 1 &&
					    !(stopped && one_chain && s.seen[k] == 2))
				 : s.seen[k] != 0)
			FAIL("scan: key %u seen %d times, model %d%s", k,
			     s.seen[k], M.present[k], stopped ? " (stopped)" : "");
	if (lfd_scan(d, &bad, 1, scan_fn, &s) != -EINVAL || bad != 1)
		FAIL("scan: odd cursor accepted");
}

static void departed(uintptr_t v, int dtor_on)
{
	if (dtor_on)
		M.dtor_expect[v]++;
}

static void check_all(struct lfd *d, int dtor_on, int with_barrier)
{
	size_t cnt = 0, mc = 0;
	for (unsigned k = 0; k < NK; k++) {
		unsigned char kb[NK];
		size_t kl = key_of(k, kb);
		void *v = (void *)1;
		int rc = lfd_get(d, kl ? kb : NULL, kl, &v);
		if (M.present[k] ? (rc != 0 || (uintptr_t)v != M.val[k])
				 : rc != -ENOENT)
			FAIL("get key %u -> %d %p, model %d %p", k, rc, v,
			     M.present[k], (void *)M.val[k]);
		mc += (size_t)M.present[k];
	}
	if (lfd_count(d, &cnt) != 0 || cnt != mc)
		FAIL("count %zu, model %zu", cnt, mc);
	struct walk w;
	memset(&w, 0, sizeof w);
	if (lfd_foreach(d, walk_fn, &w) != 0 || (size_t)w.n != mc)
		FAIL("foreach visited %d, model %zu", w.n, mc);
	if (with_barrier) {
		if (lfd_barrier(d) != 0)
			FAIL("lfd_barrier");
		if (dtor_on)
			for (unsigned i = 0; i < NV; i++)
				if (dtor_calls[i] != M.dtor_expect[i])
					FAIL("value %u destroyed %ld times, "
					     "model %ld", i, dtor_calls[i],
					     M.dtor_expect[i]);
	}
}

/* A burst that makes the table grow (value bit 0: insert every absent
 * key) or shrink (pop every present one). */
static void burst(struct lfd *d, uintptr_t v, int dtor_on)
{
	for (unsigned j = 0; j < NK; j++) {
		unsigned char b[NK];
		size_t l = key_of(j, b);
		if (v & 1) {
			if (!M.present[j] &&
			    lfd_insert(d, l ? b : NULL, l, (void *)(uintptr_t)j,
				       NULL) == 0)
				M.present[j] = 1, M.val[j] = j;
		} else if (M.present[j]) {
			if (lfd_pop(d, l ? b : NULL, l, NULL))
				FAIL("burst pop %u", j);
			departed(M.val[j], dtor_on);
			M.present[j] = 0;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t c = data[0];
	struct lfd_config cfg;
	memset(&cfg, 0, sizeof cfg);
	int dtor_on = c & 1;
	if (dtor_on)
		cfg.value_free = dtor;
	if (c & 2)
		cfg.hash = chain_hash;
	cfg.capacity = (c >> 2) & 3 ? (size_t)1 << (((c >> 2) & 3) * 3) : 0;
	if (c & 16)
		cfg.flags = LFD_FIXED_SIZE;
	if (c & 32)
		cfg.max_capacity = cfg.capacity + 8;
	cfg.flavor = &lfd_test_rcu_pthread_flavor;
	cfg.alloc = f_alloc;
	cfg.free = f_free;
	memset(&M, 0, sizeof M);
	memset(dtor_calls, 0, sizeof dtor_calls);
	dtor_bad = 0;
	fail_next = 0;
	struct lfd *d = lfd_new(&cfg);
	if (!d)
		FAIL("lfd_new: %d", errno);

	for (size_t i = 1; i + 3 <= size; i += 3) {
		unsigned op = data[i] & 15, k = data[i + 1] % NK;
		int armed = (data[i] & 16) != 0;
		uintptr_t v = data[i + 2];
		void *vp = (void *)v, *out = (void *)1;
		unsigned char kb[NK];
		size_t kl = key_of(k, kb);
		const void *key = kl ? kb : NULL;
		int rc, want;

		if (armed)
			__atomic_store_n(&fail_next, 1, __ATOMIC_SEQ_CST);
		switch (op) {
		case 0: /* get */
			rc = lfd_get(d, key, kl, &out);
			want = M.present[k] ? 0 : -ENOENT;
			if (rc != want || (rc == 0 && (uintptr_t)out != M.val[k]))
				FAIL("get %u -> %d %p", k, rc, out);
			break;
		case 1: /* insert */
			rc = lfd_insert(d, key, kl, vp, &out);
			want = M.present[k] ? -EEXIST : 0;
			if (rc == -ENOMEM && armed)
				break;
			if (rc != want)
				FAIL("insert %u -> %d, want %d", k, rc, want);
			if ((uintptr_t)out != (rc ? M.val[k] : v))
				FAIL("insert %u: *current %p", k, out);
			if (rc == 0)
				M.present[k] = 1, M.val[k] = v;
			break;
		case 2: /* set */
			rc = lfd_set(d, key, kl, vp, &out);
			want = M.present[k] ? 1 : 0;
			if (rc == -ENOMEM && armed)
				break;
			if (rc != want || (rc == 1 && (uintptr_t)out != M.val[k]))
				FAIL("set %u -> %d %p, want %d", k, rc, out, want);
			if (rc == 1 && M.val[k] != v)
				departed(M.val[k], dtor_on);
			M.present[k] = 1, M.val[k] = v;
			break;
		case 3: /* replace */
			rc = lfd_replace(d, key, kl, vp, &out);
			want = M.present[k] ? 0 : -ENOENT;
			if (rc == -ENOMEM && armed)
				break;
			if (rc != want || (rc == 0 && (uintptr_t)out != M.val[k]))
				FAIL("replace %u -> %d %p", k, rc, out);
			if (rc == 0) {
				if (M.val[k] != v)
					departed(M.val[k], dtor_on);
				M.val[k] = v;
			}
			break;
		case 4:   /* cas with the right expected value */
		case 5: { /* cas with a byte-derived expected value */
			uintptr_t e = op == 4 && M.present[k] ? M.val[k]
							       : (v * 7) & 255;
			rc = lfd_cas(d, key, kl, (void *)e, vp, &out);
			want = !M.present[k]	   ? -ENOENT
			       : M.val[k] == e ? 0
					       : -EAGAIN;
			if (rc == -ENOMEM && armed)
				break;
			if (rc != want ||
			    (rc != -ENOENT && (uintptr_t)out != M.val[k]))
				FAIL("cas %u (%p -> %p) -> %d %p, want %d", k,
				     (void *)e, vp, rc, out, want);
			if (rc == 0) {
				if (e != v)
					departed(e, dtor_on);
				M.val[k] = v;
			}
			break;
		}
		case 6: /* pop */
			rc = lfd_pop(d, key, kl, &out);
			want = M.present[k] ? 0 : -ENOENT;
			if (rc != want || (rc == 0 && (uintptr_t)out != M.val[k]))
				FAIL("pop %u -> %d %p", k, rc, out);
			if (rc == 0) {
				departed(M.val[k], dtor_on);
				M.present[k] = 0;
			}
			break;
		case 7: { /* pop_if */
			uintptr_t e = (v & 1) && M.present[k] ? M.val[k] : v;
			rc = lfd_pop_if(d, key, kl, (void *)e);
			want = !M.present[k]	   ? -ENOENT
			       : M.val[k] == e ? 0
					       : -EAGAIN;
			if (rc != want)
				FAIL("pop_if %u -> %d, want %d", k, rc, want);
			if (rc == 0) {
				departed(e, dtor_on);
				M.present[k] = 0;
			}
			break;
		}
		case 8:
			check_all(d, dtor_on, 0);
			break;
		case 9:
			check_all(d, dtor_on, 1);
			break;
		case 11: /* a full scan in slices, or a burst */
			if (v & 4) {
				burst(d, v, dtor_on);
				break;
			}
			check_scan(d, v, (c & 2) != 0);
			break;
		case 12: { /* clear (the model becomes empty), trim, or a burst */
			if ((v & 0xf0) != 0xf0 && (v & 8)) {
				/* trim: changes nothing the model sees */
				size_t freed = 1;

				rc = lfd_trim(d, &freed);
				if (rc == -ENOMEM && armed && freed == 1)
					break;
				if (rc != 0)
					FAIL("trim -> %d", rc);
				check_all(d, dtor_on, 0);
				break;
			}
			if ((v & 0xf0) != 0xf0) {
				burst(d, v, dtor_on);
				break;
			}
			size_t removed = 0, mc = 0;

			if (lfd_clear(d, &removed) != 0)
				FAIL("clear");
			for (unsigned j = 0; j < NK; j++)
				if (M.present[j]) {
					mc++;
					departed(M.val[j], dtor_on);
					M.present[j] = 0;
				}
			if (removed != mc)
				FAIL("clear removed %zu, model %zu", removed, mc);
			break;
		}
		case 10: /* invalid arguments change nothing */
			if (lfd_get(d, NULL, 1, &out) != -EINVAL ||
			    lfd_insert(d, NULL, 3, vp, &out) != -EINVAL ||
			    lfd_insert(NULL, key, kl, vp, &out) != -EINVAL ||
			    lfd_cad(d, NULL, 2, vp, &out) != -EINVAL ||
			    lfd_update(d, key, kl, NULL, NULL, NULL) != -EINVAL ||
			    lfd_update(d, NULL, 1, upd_fn, NULL, NULL) !=
				    -EINVAL ||
			    lfd_get_or_create(d, key, kl, goc_create, NULL,
					      NULL, NULL) != -EINVAL ||
			    lfd_get_or_create(d, key, kl, NULL, NULL, NULL,
					      &out) != -EINVAL)
				FAIL("EINVAL");
			break;
		case 13: { /* cad; *current asked for unless v & 2 */
			uintptr_t e = (v & 1) && M.present[k] ? M.val[k] : v;
			rc = lfd_cad(d, key, kl, (void *)e, v & 2 ? NULL : &out);
			want = !M.present[k]	   ? -ENOENT
			       : M.val[k] == e ? 0
					       : -EAGAIN;
			if (rc != want || (!(v & 2) && rc != -ENOENT &&
					   (uintptr_t)out != M.val[k]))
				FAIL("cad %u (%p) -> %d %p, want %d", k,
				     (void *)e, rc, out, want);
			if (rc == 0) {
				departed(e, dtor_on);
				M.present[k] = 0;
			}
			break;
		}
		case 14: { /* update: fn decides by v % UR_N */
			struct fz_upd u = { .rule = (int)(v % UR_N),
					    .nv = (v * 37 + 11) & 255 };
			int had = M.present[k];
			uintptr_t old = had ? M.val[k] : 0;
			/* what fn stores (UR_SAME: the current value) */
			uintptr_t nv = u.rule == UR_SAME ? old : u.nv;
			rc = lfd_update(d, key, kl, upd_fn, fz_discard, &u);
			want = u.rule == UR_FAIL ? -ECANCELED
			       : u.rule == UR_BAD ? -EINVAL
			       : u.rule == UR_KEEP ? LFD_KEPT
			       : u.rule == UR_REMOVE
				       ? (had ? LFD_REMOVED : LFD_KEPT)
			       : had ? LFD_REPLACED
				     : LFD_INSERTED;
			if (u.calls != 1 || u.present != had ||
			    (uintptr_t)u.cur != old)
				FAIL("update %u: fn called %d times, saw %d "
				     "%p, model %d %p", k, u.calls, u.present,
				     u.cur, had, (void *)old);
			/* -ENOMEM: a store that needed an allocation (a new
			 * entry; a destructor record for a replace) hands
			 * its value back */
			if (rc == -ENOMEM && armed && want != LFD_KEPT &&
			    want != LFD_REMOVED && want >= 0) {
				if (u.discards != 1 ||
				    (uintptr_t)u.discarded != nv)
					FAIL("update %u -ENOMEM: %d discards "
					     "(%p), want 1 (%p)", k,
					     u.discards, u.discarded,
					     (void *)nv);
				break;
			}
			if (rc != want || u.discards != 0)
				FAIL("update %u (rule %d) -> %d, want %d; %d "
				     "discards, want 0", k, u.rule, rc, want,
				     u.discards);
			if (rc == LFD_REMOVED) {
				departed(old, dtor_on);
				M.present[k] = 0;
			} else if (rc == LFD_REPLACED || rc == LFD_INSERTED) {
				if (rc == LFD_REPLACED && old != nv)
					departed(old, dtor_on);
				M.present[k] = 1, M.val[k] = nv;
			}
			break;
		}
		case 15: { /* get_or_create: create fails if v % UR_N is
			      UR_FAIL, else makes v */
			struct fz_upd u = { .rule = (int)(v % UR_N), .nv = v };
			int had = M.present[k];
			rc = lfd_get_or_create(d, key, kl, goc_create,
					       fz_discard, &u, &out);
			want = had ? LFD_KEPT
			       : u.rule == UR_FAIL ? -ECANCELED : LFD_INSERTED;
			if (u.calls != !had)
				FAIL("get_or_create %u: create called %d "
				     "times, key present %d", k, u.calls, had);
			if (rc == -ENOMEM && armed && want == LFD_INSERTED) {
				if (u.discards != 1 ||
				    (uintptr_t)u.discarded != v)
					FAIL("get_or_create %u -ENOMEM: %d "
					     "discards (%p)", k, u.discards,
					     u.discarded);
				break;
			}
			if (rc != want || u.discards ||
			    (rc >= 0 && (uintptr_t)out != (had ? M.val[k] : v)))
				FAIL("get_or_create %u -> %d %p, want %d; %d "
				     "discards", k, rc, out, want, u.discards);
			if (rc == LFD_INSERTED)
				M.present[k] = 1, M.val[k] = v;
			break;
		}
		}
		__atomic_store_n(&fail_next, 0, __ATOMIC_SEQ_CST);
	}
	check_all(d, dtor_on, 1);
	for (unsigned k = 0; k < NK; k++)
		if (M.present[k])
			departed(M.val[k], dtor_on);
	if (lfd_destroy(d) != 0)
		FAIL("lfd_destroy");
	if (dtor_on)
		for (unsigned i = 0; i < NV; i++)
			if (dtor_calls[i] != M.dtor_expect[i])
				FAIL("after destroy: value %u destroyed %ld "
				     "times, model %ld", i, dtor_calls[i],
				     M.dtor_expect[i]);
	if (dtor_bad)
		FAIL("destructor on a foreign value");
	if (__atomic_load_n(&live_allocs, __ATOMIC_SEQ_CST) != 0)
		FAIL("%ld allocations live after lfd_destroy", live_allocs);
	return 0;
}
