/*
 * api.h - what the top layer's files (dict.c, many.c, table.c, fork.c) share:
 * entering and leaving a read-side section of a dictionary's flavour,
 * LFD_EXPORT, the fork registry.
 * Include it first: it defines _LGPL_SOURCE before any liburcu header.
 * Uses every layer below (the layers: lib/dict.c's design comment).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_API_H
#define LFD_API_H

/* _LGPL_SOURCE: inline urcu-bp's read_lock/read_unlock (liburcu's static
 * functions of under ten lines, which liburcu offers to non-LGPL code) on
 * the default flavour's path: two indirect calls fewer per operation.
 * -DLFD_NO_INLINE_RCU calls the same functions out of line instead: the
 * UndefinedBehaviorSanitizer build needs it, because liburcu 0.13.2 places
 * its per-thread reader records off their declared 128-byte alignment and
 * UBSan flags that access inside liburcu's inline code (the same access
 * happens, unseen, inside liburcu-bp.so when it is not inlined). */
#ifndef LFD_NO_INLINE_RCU
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-bp.h>

#include "buckets.h"
#include "hash.h"
#include "reclaim.h"
#include "solist.h"

#define LFD_EXPORT __attribute__((visibility("default")))

/* fork.c: the registry of live dictionaries that every fork prepares
 * (lfd_new registers: 0 or -ENOMEM; lfd_destroy unregisters). */
LFD_HIDDEN int lfd_fork_register(struct lfd *d);
LFD_HIDDEN void lfd_fork_unregister(struct lfd *d);

/* Enter / leave a read-side section of d's flavour. */
static inline void lfd_rcu_lock(const struct lfd *d)
{
	if (d->flavor == &urcu_bp_flavor)
		urcu_bp_read_lock();
	else
		d->flavor->read_lock();
}

static inline void lfd_rcu_unlock(const struct lfd *d)
{
	if (d->flavor == &urcu_bp_flavor)
		urcu_bp_read_unlock();
	else
		d->flavor->read_unlock();
}

/* The argument checks every call makes of a key (lfdict.h): key may be
 * NULL only when len is 0, and len is at most LFD_KEY_MAX. */
static inline bool lfd_key_valid(const void *key, size_t len)
{
	return !((key == NULL && len != 0) || len > LFD_KEY_MAX);
}

/* The split-order key of a key: its hash (the caller's function, or the
 * default keyed hash: AES-128 for keys of up to 15 bytes where the CPU has
 * it, SipHash-1-3 otherwise; hash.h), folded.  Always inlined:
 * on the path of every call on a key. */
static inline __attribute__((always_inline)) uint32_t
lfd_key_so(const struct lfd *d, const void *key, size_t len)
{
	uint64_t h;

	if (d->hash)
		h = d->hash(key, len, d->hash_arg);
#ifdef LFD_HAVE_AES
	else if (len <= LFD_AES_MAX && d->aes_short)
		h = lfd_aes_short(d->aes_rk, key, len);
#endif
	else
		h = lfd_sip13(d->sip13, key, len);
	return lfd_so_entry(h);
}

/* A lookup's last step, after lfd_list_lookup returned e (NULL: no entry
 * of the key): true, with *v, if e holds a value; false if there is no
 * entry or it is tombstoned (the key is absent). */
static inline bool lfd_entry_value(struct lfd_entry *e, void **v)
{
	void *x;

	if (e == NULL)
		return false;
	/* VALUE_LOAD: seq_cst, the lookup's linearization point (found, or
	 * a tombstone: absent); acquire pairs with the release of the call
	 * that stored the value (VALUE_CAS or LINK_CAS). */
	x = lfd_a_load(&e->value, LFD_MO_VALUE_LOAD);
	if (x == LFD_TOMBSTONE)
		return false;
	*v = x;
	return true;
}

#endif /* LFD_API_H */
