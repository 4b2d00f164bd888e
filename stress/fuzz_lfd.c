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
 * length = index; index 0 is the empty key), value id (0 is NULL).
 * Ops: 0 get, 1 insert, 2 set, 3 replace, 4-5 cas, 6 pop, 7 pop_if, 8-9
 * the full check (9 with lfd_barrier), 10 invalid arguments, 13 lfd_trim
 * (the model unchanged; -ENOMEM only when an allocation was failed), the
 * others a burst that grows or shrinks.
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
		case 10: /* invalid arguments change nothing */
			if (lfd_get(d, NULL, 1, &out) != -EINVAL ||
			    lfd_insert(d, NULL, 3, vp, &out) != -EINVAL ||
			    lfd_insert(NULL, key, kl, vp, &out) != -EINVAL)
				FAIL("EINVAL");
			break;
		case 13: { /* trim: changes nothing the model sees */
			size_t freed = 1;

			rc = lfd_trim(d, &freed);
			if (rc == -ENOMEM && armed && freed == 1)
				break;
			if (rc != 0)
				FAIL("trim -> %d", rc);
			check_all(d, dtor_on, 0);
			break;
		}
		default: { /* a burst that makes the table grow or shrink */
			for (unsigned j = 0; j < NK; j++) {
				unsigned char b[NK];
				size_t l = key_of(j, b);
				if (v & 1) {
					if (!M.present[j] &&
					    lfd_insert(d, l ? b : NULL, l,
						       (void *)(uintptr_t)j,
						       NULL) == 0)
						M.present[j] = 1,
						M.val[j] = j;
				} else if (M.present[j]) {
					if (lfd_pop(d, l ? b : NULL, l, NULL))
						FAIL("burst pop %u", j);
					departed(M.val[j], dtor_on);
					M.present[j] = 0;
				}
			}
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
