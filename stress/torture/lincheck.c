/*
 * lincheck.c - the torture's per-key linearizability checker (see
 * lincheck.h for what it checks and how a window is given to it).
 *
 * SPDX-License-Identifier: MIT
 *
 * Uses: lincheck.h only (no other torture file, no torture global).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"

/* --- one key, a register (absent, or a value uid) ------------------- */

#define S_ABSENT 0ull
#define S_UNKNOWN UINT64_MAX /* the window's unknown initial state */

struct lc {
	const struct hrec *rec;
	uint32_t n;
	uint64_t *written; /* sorted uids written by the window */
	uint32_t nw;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool lc_written(const struct lc *c, uint64_t u)
{
	return bsearch(&u, c->written, c->nw, sizeof u, cmp_u64) != NULL;
}

/* The state must be u (a value); from UNKNOWN, u must not be written by
 * the window (values are unique, so it would be a later one). */
static bool st_is(const struct lc *c, uint64_t s, uint64_t u)
{
	if (u == S_ABSENT)
		return false;
	if (s == S_UNKNOWN)
		return !lc_written(c, u);
	return s == u;
}

static bool st_absent(uint64_t s)
{
	return s == S_UNKNOWN || s == S_ABSENT;
}

static bool step(const struct lc *c, uint64_t s, const struct hrec *r,
		 uint64_t *ns)
{
	switch (r->op) {
	case OP_NOP:
		*ns = s;
		return true;
	case OP_GET:
		if (r->rc == -ENOENT)
			return *ns = S_ABSENT, st_absent(s);
		return *ns = r->out, r->rc == 0 && st_is(c, s, r->out);
	case OP_INS:
		if (r->rc == 0)
			return *ns = r->a, st_absent(s);
		return *ns = r->out, r->rc == -EEXIST && st_is(c, s, r->out);
	case OP_SET:
		if (r->rc == 0)
			return *ns = r->a, st_absent(s);
		return *ns = r->a, r->rc == 1 && st_is(c, s, r->out);
	case OP_REP:
		if (r->rc == -ENOENT)
			return *ns = S_ABSENT, st_absent(s);
		return *ns = r->a, r->rc == 0 && st_is(c, s, r->out);
	case OP_CAS:
	case OP_CAD: /* cas to absent */
		if (r->rc == -ENOENT)
			return *ns = S_ABSENT, st_absent(s);
		if (r->rc == 0)
			return *ns = r->op == OP_CAS ? r->a : S_ABSENT,
			       st_is(c, s, r->e);
		return *ns = r->out, r->rc == -EAGAIN && r->out != r->e &&
					     st_is(c, s, r->out);
	case OP_POP:
		if (r->rc == -ENOENT)
			return *ns = S_ABSENT, st_absent(s);
		return *ns = S_ABSENT, r->rc == 0 && st_is(c, s, r->out);
	case OP_POPIF:
		if (r->rc == -ENOENT)
			return *ns = S_ABSENT, st_absent(s);
		if (r->rc == 0)
			return *ns = S_ABSENT, st_is(c, s, r->e);
		*ns = s;
		return r->rc == -EAGAIN && s != S_ABSENT && s != r->e;
	case OP_UPD: {
		/* the rule on what its last try saw (out), from that state */
		enum upd_act act = upd_rule(r->out);
		if (r->rc != upd_rc(act))
			return false;
		if (act == UA_INSERT)
			return *ns = r->a, r->a != S_ABSENT && st_absent(s);
		*ns = act == UA_REMOVE ? S_ABSENT
		      : act == UA_FRESH ? r->a : r->out;
		return st_is(c, s, r->out) &&
		       (act != UA_FRESH || (r->a != S_ABSENT && r->a != r->out));
	}
	case OP_GOC:
		if (r->rc == R_INSERTED)
			return *ns = r->a, r->a != S_ABSENT && r->out == r->a &&
					   st_absent(s);
		return *ns = r->out, r->rc == R_KEPT && st_is(c, s, r->out);
	default:
		return false;
	}
}

struct lev {
	struct lev *prev, *next, *match;
	uint64_t t;
	uint32_t id;
	bool call;
};

/* An event's sort key: its stamp (stamps are unique: one global counter),
 * then the record's index and whether it is the call. */
#define EV_SHIFT 9
_Static_assert(HCAP <= 1 << (EV_SHIFT - 1), "record index must fit");

/* Insertion sort: a window's stamps come almost in order (record i's call
 * soon after record i-1's; a return is displaced by the calls that began
 * while it ran, about the number of threads), so this costs about n x
 * threads moves -- a qsort of the events was 40 % of the checker's time. */
static void sort_nearly_sorted(uint64_t *a, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		uint64_t x = a[i];
		uint32_t j = i;

		while (j > 0 && a[j - 1] > x) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = x;
	}
}

#define BSW ((HCAP + 63) / 64)

struct cent {
	uint64_t bits[BSW];
	uint64_t s;
	bool used;
};

struct cache {
	struct cent *t;
	size_t cap, n;
};

static uint64_t cent_hash(const uint64_t *bits, uint64_t s)
{
	uint64_t h = mix64(s);
	for (int i = 0; i < BSW; i++)
		h = mix64(h ^ bits[i]);
	return h;
}

/* Insert (bits, s); false if it was there. */
static bool cache_add(struct cache *c, const uint64_t *bits, uint64_t s)
{
	if (2 * (c->n + 1) > c->cap) {
		struct cache nc = { calloc(c->cap * 2, sizeof(struct cent)),
				    c->cap * 2, 0 };
		if (!nc.t)
			abort();
		for (size_t i = 0; i < c->cap; i++)
			if (c->t[i].used)
				cache_add(&nc, c->t[i].bits, c->t[i].s);
		free(c->t);
		*c = nc;
	}
	size_t i = cent_hash(bits, s) & (c->cap - 1);
	while (c->t[i].used) {
		if (c->t[i].s == s && !memcmp(c->t[i].bits, bits, sizeof c->t[i].bits))
			return false;
		i = (i + 1) & (c->cap - 1);
	}
	c->t[i].used = true;
	c->t[i].s = s;
	memcpy(c->t[i].bits, bits, sizeof c->t[i].bits);
	c->n++;
	return true;
}

static void lift(struct lev *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	struct lev *m = e->match;
	m->prev->next = m->next;
	m->next->prev = m->prev;
}

static void unlift(struct lev *e)
{
	struct lev *m = e->match;
	m->prev->next = m;
	m->next->prev = m;
	e->prev->next = e;
	e->next->prev = e;
}

/* 1: linearizable, 0: not, -1: search budget exceeded. */
int lin_check(const struct hrec *rec, uint32_t n)
{
	struct lc c = { rec, n, malloc((n + 1) * sizeof(uint64_t)), 0 };
	struct lev *ev = calloc(2 * n + 2, sizeof *ev);
	struct lev **stk = malloc((n + 1) * sizeof *stk);
	uint64_t *sst = malloc((n + 1) * sizeof *sst);
	struct cache cache = { calloc(1024, sizeof(struct cent)), 1024, 0 };
	uint64_t bits[BSW] = { 0 };
	int res = 1;

	if (!c.written || !ev || !stk || !sst || !cache.t)
		abort();
	for (uint32_t i = 0; i < n; i++)
		if (rec[i].op == OP_INS || rec[i].op == OP_SET ||
		    rec[i].op == OP_REP || rec[i].op == OP_CAS ||
		    (rec[i].op == OP_UPD && rec[i].a &&
		     rec[i].a != rec[i].out) ||
		    (rec[i].op == OP_GOC && rec[i].rc == R_INSERTED))
			c.written[c.nw++] = rec[i].a;
	qsort(c.written, c.nw, sizeof(uint64_t), cmp_u64);
	uint64_t ord[2 * HCAP];
	for (uint32_t i = 0; i < n; i++) {
		ord[2 * i] = rec[i].inv << EV_SHIFT | i << 1 | 1u;
		ord[2 * i + 1] = rec[i].resp << EV_SHIFT | i << 1;
	}
	sort_nearly_sorted(ord, 2 * n);
	for (uint32_t i = 0; i < 2 * n; i++)
		ev[i] = (struct lev){ .t = ord[i] >> EV_SHIFT,
				      .id = (uint32_t)(ord[i] >> 1) &
					    ((1u << (EV_SHIFT - 1)) - 1),
				      .call = ord[i] & 1u };
	struct lev *callof[HCAP], *retof[HCAP];
	for (uint32_t i = 0; i < 2 * n; i++)
		(ev[i].call ? callof : retof)[ev[i].id] = &ev[i];
	struct lev *head = &ev[2 * n], *tail = &ev[2 * n + 1];
	head->next = n ? &ev[0] : tail;
	tail->prev = n ? &ev[2 * n - 1] : head;
	for (uint32_t i = 0; i < 2 * n; i++) {
		ev[i].prev = i ? &ev[i - 1] : head;
		ev[i].next = i + 1 < 2 * n ? &ev[i + 1] : tail;
	}
	for (uint32_t i = 0; i < n; i++)
		callof[i]->match = retof[i];

	uint64_t s = S_UNKNOWN;
	uint32_t sp = 0;
	long budget = 2000000;
	struct lev *e = head->next;
	while (head->next != tail) {
		if (--budget < 0) {
			res = -1;
			break;
		}
		if (e->call) {
			uint64_t ns;
			uint32_t id = e->id;
			if (step(&c, s, &rec[id], &ns)) {
				bits[id / 64] |= 1ull << (id % 64);
				if (cache_add(&cache, bits, ns)) {
					stk[sp] = e;
					sst[sp++] = s;
					s = ns;
					lift(e);
					e = head->next;
					continue;
				}
				bits[id / 64] &= ~(1ull << (id % 64));
			}
			e = e->next;
		} else {
			if (sp == 0) {
				res = 0;
				break;
			}
			e = stk[--sp];
			s = sst[sp];
			bits[e->id / 64] &= ~(1ull << (e->id % 64));
			unlift(e);
			e = e->next;
		}
	}
	free(c.written);
	free(ev);
	free(stk);
	free(sst);
	free(cache.t);
	return res;
}
