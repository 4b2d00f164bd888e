/*
 * items.c - lfd-kvserver's items and the table mapping: the immutable item
 * (allocation against the memory limit, expiry), and the lfdict calls that
 * get, the storage commands, incr/decr/touch and flush_all make.
 *
 * SPDX-License-Identifier: MIT
 *
 * May use: kvserver.h: the options, conn.c's output helpers and counters (get
 * copies an item into the connection's output buffer; a storage command's
 * key and cas unique wait on its connection).  Parsing the commands and
 * wording most replies is protocol.c's; nothing here touches a socket.
 *
 * How the memcached commands map onto lfdict (the table is one struct lfd,
 * `dict`; no lock guards it):
 *
 *   The value stored under a key is a pointer to an immutable `struct item`
 *   (flags, expiry, cas unique, the bytes).  An item is never changed once
 *   published: every write builds a new item and swaps the pointer.  The item
 *   that leaves the table (overwritten, popped) is freed by the dictionary's
 *   value destructor (item_free) after an RCU grace period, so a reader that
 *   found it inside lfd_read_lock()/lfd_read_unlock() can still copy it.
 *
 *   get/gets  lfd_get_many on the keys of the line, up to GET_BATCH at a
 *             time, inside a read-side section; the items found are copied
 *             into the connection's output buffer before the section ends.
 *   set       lfd_set: insert or overwrite, unconditionally.
 *   add       lfd_insert (insert if absent).  If the present item has expired
 *             it counts as absent: lfd_cas from that dead item to the new one.
 *   delete    lfd_pop (in protocol.c's cmd_delete).  Popping an expired item
 *             answers NOT_FOUND (the key was logically absent, and is absent
 *             after the pop either way).
 *   replace, cas, append, prepend, incr, decr, touch
 *             lfd_cas loops: read the current item, build the new item from
 *             it, lfd_cas(current -> new); on -EAGAIN another write won, retry
 *             from the item that won.  replace is not lfd_replace: memcached's
 *             replace must fail on an expired item that is still physically
 *             in the table, and only a compare-and-set on the live item it
 *             checked gives that exactly (lfd_replace would swap out whatever
 *             is there, dead or alive).
 *   flush_all lfd_foreach + lfd_pop_if(key, the item visited): each visited
 *             item is removed only if it is still the one visited.  With a
 *             delay, items stored before the deadline are dead from then on
 *             and the sweeper (main thread, main.c) removes them.
 *
 *   Why every loop runs inside lfd_read_lock(): lfd_cas and lfd_pop_if compare
 *   pointers.  Inside a read-side section the item we read cannot be freed, so
 *   its address cannot be reused by a newer item for the same key (no ABA): a
 *   successful lfd_cas really replaced the item we built from.
 *
 *   Expiry is lazy, as in memcached: an expired item is treated as absent by
 *   every command (and popped with lfd_pop_if when met); the main thread also
 *   sweeps expired items every few seconds so that memory comes back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvserver.h"


struct lfd *dict;
atomic_size_t mem_used;			/* bytes of live + deferred items */
static atomic_uint_fast64_t next_cas = 1;
atomic_llong flush_deadline;		/* 0, or time of a delayed flush */
atomic_bool have_expiring;		/* some item had an exptime */
atomic_ullong reclaimed;		/* dead items removed */
/* Seconds added to the clock by "debugtime" (--debug-time only). */
static atomic_llong time_offset;

/* The server's clock: unix seconds, plus what debugtime added.  Relaxed:
 * the offset is a lone number, and a command that reads it just before a
 * debugtime changes it sees the old time, as it would a moment earlier. */
int64_t kv_now(void)
{
	return (int64_t)time(NULL) +
	       atomic_load_explicit(&time_offset, memory_order_relaxed);
}

void kv_move_time(int64_t delta)
{
	/* relaxed: see kv_now */
	atomic_fetch_add_explicit(&time_offset, delta, memory_order_relaxed);
}

/* Allocate an unpublished item; NULL when over the memory limit (after
 * evicting, unless -M) or out of memory. */
struct item *item_new(uint32_t nbytes, uint32_t klen)
{
	size_t sz = item_size(nbytes, klen);
	struct item *it;

	/* relaxed: a gauge (see evict.c, "Memory") */
	if (atomic_fetch_add_explicit(&mem_used, sz, memory_order_relaxed) + sz >
		    opt.mem_limit +
			    atomic_load_explicit(&evicting, memory_order_relaxed) &&
	    (opt.no_evict || !evict_room())) {
		atomic_fetch_sub_explicit(&mem_used, sz, memory_order_relaxed);
		return NULL;
	}
	it = malloc(sizeof(*it) + nbytes + 2);
	if (it == NULL) {
		/* relaxed: the gauge, as above */
		atomic_fetch_sub_explicit(&mem_used, sz, memory_order_relaxed);
		return NULL;
	}
	it->nbytes = nbytes;
	it->klen = klen;
	it->flags = 0;
	it->exptime = 0;
	it->stime = kv_now();
	it->birth = evict_clock();
	atomic_init(&it->hits, 1);
	atomic_init(&it->evicted, false);
	/* -C: no cas uniques, as memcached's (gets shows 0).  Relaxed: the
	 * RMW alone makes each unique; nothing is ordered by it. */
	it->cas = opt.no_cas ? 0 :
		  atomic_fetch_add_explicit(&next_cas, 1, memory_order_relaxed);
	it->data[nbytes] = '\r';
	it->data[nbytes + 1] = '\n';
	return it;
}

/* Free an item that was never published, or (as the value destructor) one
 * that left the table a grace period ago. */
void item_release(struct item *it)
{
	if (it == NULL)
		return;
	/* relaxed: evicted was stored inside the evicting thread's read-side
	 * section, which the grace period before this free waited for */
	if (atomic_load_explicit(&it->evicted, memory_order_relaxed))
		atomic_fetch_sub_explicit(&evicting, item_bytes(it),
					  memory_order_relaxed);
	/* relaxed: gauges, evicting above too (evict.c, "Memory") */
	atomic_fetch_sub_explicit(&mem_used, item_bytes(it),
				  memory_order_relaxed);
	free(it);
}

void item_free(void *value, void *arg)
{
	(void)arg;
	item_release(value);
}

/* Expired, or invalidated by a delayed flush_all whose time has come. */
bool item_dead(const struct item *it, int64_t now)
{
	/* relaxed: a lone time, compared with the clock; no data is
	 * published with it (a reader missing a new one acts just before) */
	long long fl = atomic_load_explicit(&flush_deadline,
					    memory_order_relaxed);

	if (it->exptime != 0 && it->exptime <= now)
		return true;
	/* Without cas uniques (-C) a flush cannot tell the items stored in its
	 * own second before it from those stored after it, and takes them all,
	 * as memcached -C does (its flush-all.t checks it). */
	return fl != 0 && now >= fl &&
	       (it->stime < fl || (opt.no_cas && it->stime == fl));
}

/* memcached's exptime: 0 never, negative already expired, up to 30 days
 * relative, else an absolute unix time. */
int64_t abs_exptime(int64_t e, int64_t now)
{
	if (e == 0)
		return 0;
	/* relaxed: a hint for main.c's sweep, which a later tick sees */
	atomic_store_explicit(&have_expiring, true, memory_order_relaxed);
	if (e < 0)
		return 1; /* long past */
	if (e <= REALTIME_MAXDELTA)
		return now + e;
	return e;
}

/* ------------------------------------------------------------------------ */
/* The table: get, store, the lfd_cas loops, flush                            */

/* "stats reclaimed": items removed because they had expired or were
 * flushed (memcached counts the stores that reuse such an item's memory;
 * here the memory goes back to malloc).  Relaxed: a lone counter. */
void count_reclaimed(void)
{
	atomic_fetch_add_explicit(&reclaimed, 1, memory_order_relaxed);
}

/* Remove `it` from under key if it is still there (lazy expiry, flush). */
static void pop_dead(const void *key, size_t len, void *it)
{
	if (lfd_pop_if(dict, key, len, it) == 0)
		count_reclaimed();
}

static void append_value(struct conn *c, const char *key, size_t klen,
			 const struct item *it, bool with_cas)
{
	char hdr[64];
	int n;

	out_mem(c, "VALUE ", 6);
	out_mem(c, key, klen);
	if (with_cas)
		n = snprintf(hdr, sizeof(hdr), " %" PRIu32 " %" PRIu32 " %" PRIu64 "\r\n",
			     it->flags, it->nbytes, it->cas);
	else
		n = snprintf(hdr, sizeof(hdr), " %" PRIu32 " %" PRIu32 "\r\n",
			     it->flags, it->nbytes);
	out_mem(c, hdr, (size_t)n);
	out_mem(c, it->data, (size_t)it->nbytes + 2); /* value and \r\n */
}

/*
 * get/gets of n keys (1..GET_BATCH): one lfd_get_many call inside a
 * read-side section of ours; every live item found is copied into the
 * output buffer, in the order of the keys (duplicates included), before
 * the section ends, so that a concurrent set or delete cannot free it
 * under us (lfd_get_many's own sections end before it returns).  A dead
 * item is popped with lfd_pop_if inside the same section: out of it, the
 * item could be freed and its address reused by a newer item for the
 * same key, which lfd_pop_if would then remove (ABA).  Each key is
 * looked up on its own, as by lfd_get: the batch is not a snapshot.
 * Returns 0, or lfd_get_many's (lfd_get's) negative errno (nothing
 * appended, nothing counted).
 */
int get_batch(struct conn *c, size_t n, const void *const keys[],
	      const size_t lens[], bool with_cas, int64_t now)
{
	void *vals[GET_BATCH];
	int res[GET_BATCH];
	uint64_t hits = 0;
	int r;

	lfd_read_lock(dict);
	if (n == 1) {
		/* one key (a one-key get, or a line's last key after full
		 * batches): lfd_get, which is the same lookup in fewer
		 * instructions (callgrind: about 220 a key against
		 * lfd_get_many's 370), made to answer as lfd_get_many would */
		res[0] = lfd_get(dict, keys[0], lens[0], &vals[0]);
		r = res[0] == 0 ? 1 : res[0] == -ENOENT ? 0 : res[0];
	} else {
		r = lfd_get_many(dict, n, keys, lens, vals, res);
	}
	if (r < 0) {
		lfd_read_unlock(dict);
		return r;
	}
	for (size_t i = 0; r > 0 && i < n; i++) {
		const struct item *it = vals[i];

		if (res[i] != 0)
			continue;
		if (item_dead(it, now)) {
			pop_dead(keys[i], lens[i], vals[i]); /* lazy expiry */
			continue;
		}
		append_value(c, keys[i], lens[i], it, with_cas);
		item_hit((struct item *)it); /* the hit counter is mutable */
		hits++;
	}
	lfd_read_unlock(dict);
	stat_inc(&c->w->st.v[ST_cmd_get], n);
	stat_inc(&c->w->st.v[ST_get_hits], hits);
	stat_inc(&c->w->st.v[ST_get_misses], n - hits);
	return 0;
}

/* Store the completed item `it` under c->key according to c->scmd.  Takes
 * ownership of `it`.  Returns the reply. */
const char *do_store(struct conn *c, struct item *it)
{
	const char *key = c->key;
	size_t klen = c->klen;
	int64_t now = kv_now();
	void *cur, *v;
	const char *res;
	int r;

	stat_inc(&c->w->st.v[ST_cmd_set], 1);
	switch (c->scmd) {
	case CMD_SET:
		/* set = lfd_set; the item replaced is freed after a grace period */
		r = lfd_set(dict, key, klen, it, NULL);
		if (r < 0) {
			item_release(it);
			return "SERVER_ERROR out of memory storing object\r\n";
		}
		return "STORED\r\n";
	case CMD_ADD:
		/* add = lfd_insert; an expired item in the way counts as absent */
		lfd_read_lock(dict);
		for (;;) {
			r = lfd_insert(dict, key, klen, it, &cur);
			if (r == 0) {
				res = "STORED\r\n";
				break;
			}
			if (r != -EEXIST) {
				item_release(it);
				res = "SERVER_ERROR out of memory storing object\r\n";
				break;
			}
			if (!item_dead(cur, now)) {
				item_release(it);
				res = "NOT_STORED\r\n";
				break;
			}
			r = lfd_cas(dict, key, klen, cur, it, NULL);
			if (r == 0) {
				count_reclaimed();
				res = "STORED\r\n";
				break;
			}
			/* -EAGAIN or -ENOENT: someone else wrote; look again */
		}
		lfd_read_unlock(dict);
		return res;
	case CMD_REPLACE:
	case CMD_APPEND:
	case CMD_PREPEND:
	case CMD_CAS:
		break;
	}

	/* replace / append / prepend / cas: an lfd_cas loop on the live item */
	lfd_read_lock(dict);
	r = lfd_get(dict, key, klen, &cur);
	for (;;) {
		struct item *old = cur, *nw = it;

		if (r == -ENOENT || item_dead(old, now)) {
			if (r == 0)
				pop_dead(key, klen, cur);
			res = c->scmd == CMD_CAS ? "NOT_FOUND\r\n" : "NOT_STORED\r\n";
			if (c->scmd == CMD_CAS)
				stat_inc(&c->w->st.v[ST_cas_misses], 1);
			break;
		}
		if (c->scmd == CMD_CAS && old->cas != c->cas_in) {
			res = "EXISTS\r\n";
			stat_inc(&c->w->st.v[ST_cas_badval], 1);
			break;
		}
		if (c->scmd == CMD_APPEND || c->scmd == CMD_PREPEND) {
			/* a new item: old bytes + new bytes, old flags and expiry */
			size_t total = (size_t)old->nbytes + it->nbytes;
			if (total > opt.max_item) {
				res = "SERVER_ERROR object too large for cache\r\n";
				break;
			}
			nw = item_new((uint32_t)total, (uint32_t)klen);
			if (nw == NULL) {
				res = "SERVER_ERROR out of memory storing object\r\n";
				break;
			}
			nw->flags = old->flags;
			nw->exptime = old->exptime;
			if (c->scmd == CMD_APPEND) {
				memcpy(nw->data, old->data, old->nbytes);
				memcpy(nw->data + old->nbytes, it->data, it->nbytes);
			} else {
				memcpy(nw->data, it->data, it->nbytes);
				memcpy(nw->data + it->nbytes, old->data, old->nbytes);
			}
		}
		r = lfd_cas(dict, key, klen, cur, nw, &v);
		if (r == 0) {
			res = "STORED\r\n";
			if (c->scmd == CMD_CAS)
				stat_inc(&c->w->st.v[ST_cas_hits], 1);
			if (nw != it)
				item_release(it);
			it = NULL; /* published (or merged into nw) */
			break;
		}
		if (nw != it)
			item_release(nw);
		if (r == -EAGAIN) {
			cur = v; /* retry from the item that won */
			r = 0;
		} else if (r != -ENOENT) {
			res = "SERVER_ERROR out of memory storing object\r\n";
			break;
		}
	}
	lfd_read_unlock(dict);
	item_release(it); /* not stored: never published, free it now */
	return res;
}

/*
 * Replace the live item under key by make(old)'s copy of it, with an
 * lfd_cas loop (a racing update makes make run again on the newer item).
 * make returns NULL and sets *nw, or returns the error reply.  Returns
 * NULL once the copy is stored, "NOT_FOUND\r\n" when there is no live item
 * (a dead one is popped), or an error reply ("SERVER_ERROR ...", or make's).
 */
const char *item_cas_update(const char *key, size_t klen, int64_t now,
			    item_copy_fn make, void *arg)
{
	const char *res = NULL;
	void *cur, *v;
	int r;

	lfd_read_lock(dict);
	r = lfd_get(dict, key, klen, &cur);
	for (;;) {
		const struct item *old = cur;
		struct item *nw;

		if (r == -ENOENT || item_dead(old, now)) {
			if (r == 0)
				pop_dead(key, klen, cur);
			res = "NOT_FOUND\r\n";
			break;
		}
		res = make(old, (uint32_t)klen, arg, &nw);
		if (res != NULL)
			break;
		r = lfd_cas(dict, key, klen, cur, nw, &v);
		if (r == 0)
			break;
		item_release(nw);
		if (r == -EAGAIN) {
			cur = v;
			r = 0;
		} else if (r != -ENOENT) {
			res = "SERVER_ERROR out of memory\r\n";
			break;
		}
	}
	lfd_read_unlock(dict);
	return res;
}

struct flush_arg {
	int64_t before; /* pop items stored before this time; 0: all */
	int64_t now;
	bool dead_only;
};

static int flush_one(void *arg, const void *key, size_t len, void *value)
{
	const struct flush_arg *fa = arg;
	const struct item *it = value;

	if (fa->dead_only && !item_dead(it, fa->now))
		return 0;
	/* only if still the item visited: a newer one set meanwhile stays */
	pop_dead(key, len, value);
	return 0;
}

void flush_table(bool dead_only)
{
	struct flush_arg fa = { 0, kv_now(), dead_only };

	lfd_foreach(dict, flush_one, &fa);
}

/* touch's and gat's copy of an item: the same data, flags and cas unique
 * (as memcached keeps it), the new expiry; arg is a struct touch_arg, whose
 * `made` is the copy last built. */
const char *touch_copy(const struct item *old, uint32_t klen, void *arg,
		       struct item **out)
{
	struct touch_arg *a = arg;
	struct item *nw = item_new(old->nbytes, klen);

	if (nw == NULL)
		return "SERVER_ERROR out of memory\r\n";
	memcpy(nw->data, old->data, old->nbytes);
	nw->flags = old->flags;
	nw->cas = old->cas;
	nw->exptime = a->exptime;
	a->made = nw;
	*out = nw;
	return NULL;
}

/*
 * gat/gats of one key: touch it (item_cas_update with touch_copy) and
 * append the touched item to the answer.  The read-side section of ours
 * around item_cas_update's keeps the published copy from being freed (a
 * concurrent set may replace it at once) until it is copied out.  Returns
 * NULL (the value appended), "NOT_FOUND\r\n" (a miss), or an error reply.
 */
const char *touch_get(struct conn *c, const char *key, size_t klen,
		      int64_t exptime, bool with_cas, int64_t now)
{
	struct touch_arg a = { exptime, NULL };
	const char *res;

	lfd_read_lock(dict);
	res = item_cas_update(key, klen, now, touch_copy, &a);
	if (res == NULL)
		append_value(c, key, klen, a.made, with_cas);
	lfd_read_unlock(dict);
	return res;
}
