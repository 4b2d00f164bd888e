/*
 * lfdict.h - a lock-free concurrent dictionary (split-ordered hash table
 * with RCU-protected reads).  This header is the whole public contract.
 *
 * SPDX-License-Identifier: MIT
 *
 * Conventions, true of every call unless its comment says otherwise
 * ----------------------------------------------------------------------
 *  - Keys are byte strings (pointer + length, 0 <= length <= LFD_KEY_MAX),
 *    copied into the dictionary.  The empty key is a valid key; `key` may be
 *    NULL only when `len` is 0.  Two keys are equal when their lengths and
 *    bytes are equal.
 *  - Values are `void *`, stored and returned as they are and never
 *    dereferenced by the dictionary.  NULL is a valid value.
 *  - Calls return 0 (or a documented non-negative result) on success and a
 *    negative errno value on failure.  A failed call changes nothing.
 *      -EINVAL  bad input: NULL dictionary, NULL key with len > 0, a key
 *               longer than LFD_KEY_MAX, an invalid configuration.
 *      -ENOMEM  an allocation failed.  Nothing in lfdict aborts or asserts
 *               on allocation failure.
 *  - Output pointers (`value`, `current`, `old`) may be NULL when the caller
 *    does not want the value; each is written only on the returns its call
 *    lists.
 *  - Single-key calls (get, insert, set, replace, cas, pop, pop_if, cad,
 *    update, get_or_create) are
 *    linearizable, on success and on failure alike: each appears to take
 *    effect at one instant inside the call, and that instant's access is a
 *    memory_order_seq_cst atomic operation.  Consequently all single-key
 *    calls on all keys of all dictionaries, together with the caller's own
 *    seq_cst operations, appear in one total order consistent with every
 *    thread's program order (sequential consistency for data-race-free
 *    programs).  doc/memory-model.md gives each call's exact points and the
 *    happens-before edges; doc/man/ has a page per call.
 *  - Publication: everything a thread wrote before a call that stored value
 *    V (insert, set, replace, cas) happens-before everything a thread does
 *    after a call that returned V (get, insert's *current, set's *old, pop,
 *    ...).  So a struct initialized and then published through lfdict is
 *    seen fully initialized by the thread that gets it.
 *  - Progress: every call except lfd_new, lfd_destroy, lfd_barrier and
 *    lfd_trim is lock-free; none waits for another thread's update or for a resize, and
 *    none waits for an RCU grace period.  An update that makes the index
 *    double may do the doubling itself when the new segment has at most 65536
 *    buckets (linking them: about 1-3 ms, once per doubling); bigger grows,
 *    and every shrink, run in RCU callbacks.  The doubled size is in use
 *    at once (a bucket not linked yet is searched from its parent).  An
 *    insert that walks a long chain while a grow runs may link one chunk
 *    of 1024 of its buckets, and if that completes the grow, go on with
 *    the resize within the same 65536-bucket bound.
 *  - Reclamation and backpressure: popped entries and overwritten values
 *    are reclaimed after a grace period, partly by the RCU callback thread
 *    and partly by the updating calls themselves: an update that removed or
 *    overwrote a value (set, replace, cas, pop, pop_if, cad, update) then
 *    frees at most
 *    32 items whose grace period has passed, after its linearization point
 *    and outside its own read-side section.  In a dictionary without
 *    value_free that never removed an entry with a key over 32 bytes it
 *    usually frees none: it hands a chain of such entries, in one step, to
 *    the inserts, which reuse their memory (it frees as above while the
 *    backlog is over its bound or a chain it handed over before still
 *    waits); what no insert reuses is freed by the RCU callback thread
 *    once the updates stop (and, while the backlog is over its bound, up
 *    to 1024 items per callback run while they go on), and by lfd_barrier
 *    and lfd_trim; lfd_destroy frees it with the blocks it lies in.
 *    (The first removal of an entry with a longer key, which is not a
 *    slab slot, turns this off for good.)
 *    When grace periods fall behind (readers preempted inside their
 *    sections, hundreds of threads on few cores, a stalled reader) and more
 *    than about 2^20 + count items wait (checked every 32 such updates per
 *    thread), each such update also pauses before it returns: 1, 2, 4, ...
 *    ms when the backlog has reached 1, 2, 3, ... times that bound (at
 *    most 32 ms) -- or, if the update was made inside a read-side section,
 *    when that section ends: at the caller's outermost lfd_read_unlock, or
 *    at the end of the lfd_foreach or lfd_scan slice whose callback made
 *    it -- so that
 *    readers and reclaimers get the CPU; it never waits for a grace period,
 *    and the pause is bounded, so updates go on (more slowly) even while a
 *    reader stalls.  lfd_stats reports the backlog and the pauses.
 *  - What a slow value destructor costs: destructors run on two kinds of
 *    thread.  (1) An updating call (set, replace, cas, pop, pop_if, cad,
 *    update) may run
 *    up to 32 destructors of earlier departures, of any key, on the
 *    caller's thread before it returns: 32 times the destructor's cost is
 *    added to that call's latency.  (2) liburcu's call_rcu worker, one
 *    thread for the whole process, runs the rest, in runs of at most about
 *    4 ms (checked before each destructor) that yield to the callbacks of
 *    other dictionaries queued meanwhile: one dictionary's slow destructors
 *    delay another dictionary's resizes and frees by about one run, except
 *    while a thread waits in lfd_barrier or lfd_trim on the slow
 *    dictionary, which frees its whole backlog.  A destructor must not
 *    block for long: a blocked destructor holds that worker.
 *  - Memory of entries: an entry whose key is at most 32 bytes (24 with a
 *    value destructor) lives in a slot of a block of 32 to 2048 slots that
 *    the dictionary asks its allocator for; a reclaimed entry's slot goes
 *    back to the dictionary for its next inserts, not to the allocator.
 *    A block goes back to the allocator only whole: at lfd_trim, if every
 *    one of its slots is free then, and at lfd_destroy.  So without
 *    lfd_trim a dictionary keeps the entry memory of the most entries it
 *    held at once (plus the reclaim backlog, plus up to one partly used
 *    block per thread stripe and size class); after a burst of removals,
 *    lfd_trim gives back the blocks that emptied, and orders the free
 *    slots it keeps so that later inserts fill the fullest blocks first
 *    (the others then tend to empty out for a later trim).  Nothing trims
 *    by itself, not even the automatic shrink of the bucket index.  An
 *    insert returns -ENOMEM only if no free slot is left and a new block
 *    cannot be allocated.  A bigger entry is one allocation of its own,
 *    freed when reclaimed.
 *  - Threads: with the default RCU flavour (urcu-bp) any thread may call any
 *    call, including threads that never heard of liburcu, and threads may
 *    come and go freely.  With a caller-supplied flavour, calling threads
 *    must be registered with that flavour (and, for urcu-qsbr, online), as
 *    that flavour's documentation requires; with urcu-qsbr, call
 *    lfd_barrier, lfd_trim and lfd_destroy while offline (rcu_thread_offline()), since
 *    an online QSBR thread counts as inside a read-side section.
 *  - fork(): a process may fork while other threads use its dictionaries
 *    (pre-forking servers).  With the default flavour the program calls
 *    nothing: the first lfd_new registers fork handlers (pthread_atfork)
 *    that wait until no thread is inside the few steps of an lfdict call
 *    that a fork must not cut (handing a retire batch to call_rcu, freeing
 *    a chain of at most 32 items, a resize step on an updating thread,
 *    the grace period an lfd_trim holds the free slots for),
 *    then call liburcu's fork hooks for call_rcu and urcu-bp, and resume
 *    after the fork.  The parent goes on as before.  The child -- its one
 *    thread and the threads it starts -- may use and destroy every
 *    dictionary, as if the other threads had stopped between two calls,
 *    but for this: what those threads held alone at the fork (an entry they
 *    were inserting or retiring, a destructor record, up to 64 free entry
 *    slots each) is never reclaimed, and a value they had removed but not
 *    yet retired never gets its destructor.  The program must not call
 *    urcu_bp_before_fork()/urcu_bp_after_fork_*() or urcu-bp's call_rcu
 *    fork hooks itself (twice would deadlock).  Locks that its value
 *    destructors or allocator take are its own to make fork-safe, with
 *    pthread_atfork handlers registered before the first lfd_new (so that
 *    lfdict prepares the fork first).  With a caller-supplied flavour,
 *    lfdict still makes its own steps safe, but the program must call that
 *    flavour's call_rcu_before_fork() just before fork() and
 *    call_rcu_after_fork_parent() / call_rcu_after_fork_child() just after
 *    it (urcu_memb_call_rcu_before_fork() and so on), and fork only while
 *    no other thread is inside a read-side section of that flavour: liburcu
 *    keeps the parent's reader registrations in the child, and a grace
 *    period would wait for a reader that no longer exists.  Never fork
 *    from inside a read-side section or from a value destructor lfdict
 *    runs: the fork would wait for the calling thread itself.
 *  - liburcu itself: urcu-bp registers a thread on its first read-side
 *    section (a mutex and, rarely, an mmap), and liburcu creates its
 *    call_rcu worker thread on first use; liburcu aborts if those fail.
 *    lfdict's own allocations never abort.
 *  - Lifetime of a returned value: once a call returns a value V, another
 *    thread may pop or replace V at any time; the value destructor (if any)
 *    runs on V only after an RCU grace period.  To keep using V safely,
 *    obtain it inside lfd_read_lock()/lfd_read_unlock(): V stays valid
 *    (its destructor does not run) until the section ends.
 */
#ifndef LFDICT_H
#define LFDICT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The longest key, in bytes. */
#define LFD_KEY_MAX ((size_t)1 << 30)

/* The largest bucket count the index can reach (2^31 buckets; 2^28 where
 * pointers are 32 bits). */
#define LFD_BUCKETS_MAX ((size_t)1 << 31)

/* The mismatch error of lfd_cas(), lfd_pop_if() and lfd_cad(): the key is present but
 * holds another value than `expected`. */
#define LFD_EMISMATCH EAGAIN

/* lfd_config.flags */
#define LFD_FIXED_SIZE 0x1u /* never resize: the bucket count stays as sized
			       at creation from `capacity` */

struct lfd;			 /* the dictionary; opaque */
struct rcu_flavor_struct;	 /* liburcu's flavour vtable, <urcu/flavor.h> */

/*
 * Configuration.  A zero-initialized struct (or a NULL pointer to lfd_new)
 * means every default.  lfd_new copies what it needs; the struct need not
 * outlive the call.
 */
struct lfd_config {
	/* Expected number of entries; the index is sized for it at creation and
	 * never shrinks below that size.  0: start minimal.  At most
	 * LFD_BUCKETS_MAX.  The index's size for n entries, here and as it
	 * grows: four buckets per entry up to 8,192 entries, 32,768 buckets up
	 * to 32,768 entries, one per entry beyond (each rounded up to a power
	 * of two): a small table buys speed with a sparse index, a big one
	 * spends 8 bytes per entry on it. */
	size_t capacity;
	/* Upper bound on the entries the index is sized for: the bucket count
	 * never grows past what this many entries need (more entries may still
	 * be inserted; chains get longer).  0: no bound (up to
	 * LFD_BUCKETS_MAX buckets).  Must be 0 or >= capacity. */
	size_t max_capacity;
	/* LFD_FIXED_SIZE or 0; any other bit is -EINVAL. */
	unsigned int flags;
	/* The liburcu flavour that protects readers and defers frees, e.g.
	 * &urcu_memb_flavor from <urcu/urcu-memb.h>, so that a program that
	 * already uses one flavour shares it.  NULL: urcu-bp (bulletproof),
	 * which needs no thread registration.  The flavour's read_lock,
	 * read_unlock, read_ongoing, update_call_rcu and barrier must be set. */
	const struct rcu_flavor_struct *flavor;
	/* Value destructor, or NULL.  Called exactly once for every value that
	 * leaves the dictionary -- popped (pop, pop_if, cad, update), overwritten (set,
	 * replace, cas) or still present at lfd_destroy -- and only after an RCU
	 * grace period: from an RCU callback thread, from lfd_destroy or
	 * lfd_barrier, or from inside a later set, replace, cas, pop, pop_if, cad or update
	 * on this dictionary by any thread (updates help reclaim; see
	 * "Reclamation" above), possibly inside that caller's read-side
	 * section, and concurrently with other destructor calls.  So it must
	 * be thread-safe and quick, and must not wait for a grace period
	 * (synchronize_rcu; lfd_barrier, lfd_trim and lfd_destroy return
	 * -EDEADLK there)
	 * nor take a lock that a thread may hold while it updates the
	 * dictionary.  Called for NULL values too.  A value overwritten
	 * by the identical pointer (set/replace/cas with the value already
	 * present) has not left, and is not destroyed.  It may update
	 * dictionaries (those updates do not help reclaim in turn); it must not
	 * call any call on a dictionary while lfd_destroy runs on it. */
	void (*value_free)(void *value, void *arg);
	void *value_free_arg;
	/* Allocator hooks used for every allocation the dictionary makes: both
	 * or neither (one alone is -EINVAL).  `alloc` returns memory aligned for
	 * any type, or NULL; `free` gets the pointer and the size asked for.
	 * Either may be called from any thread, including RCU callback threads. */
	void *(*alloc)(size_t size, void *arg);
	void (*free)(void *ptr, size_t size, void *arg);
	void *alloc_arg;
	/* Hash function, or NULL for the default: a keyed pseudorandom
	 * function under random per-dictionary keys -- AES-128 of the key
	 * padded to a block for keys of up to 15 bytes where the CPU has AES
	 * instructions (x86-64 with AES-NI), SipHash-1-3 for every other key
	 * -- so that whoever chooses keys without knowing the seed cannot
	 * make chains long.  A caller's function must
	 * return the same value for equal keys.  lfdict folds the 64-bit value
	 * to 32 bits by multiplying it by 2^64/phi and keeping the top half
	 * (Fibonacci hashing), which picks the bucket and the list order:
	 * every bit of the hash counts, and hashes that differ in a few bits
	 * (an identity hash of integer keys, say) still spread.  With 2^k
	 * buckets, keys whose folds agree in their top k bits share a
	 * bucket's chain. */
	uint64_t (*hash)(const void *key, size_t len, void *arg);
	void *hash_arg;
};

/* Counters for monitoring and tests; see lfd_stats(). */
struct lfd_stats {
	size_t count;	 /* lfd_count()'s value */
	size_t buckets;	 /* current bucket count (a power of two) */
	size_t min_buckets; /* what `capacity` asked for: never shrinks below */
	size_t max_buckets; /* what `max_capacity` allows */
	uint64_t grows;	 /* completed doublings */
	uint64_t shrinks;	 /* completed halvings */
	int resizing;	 /* 1 while a resize is queued or running */
	size_t backlog;	 /* popped entries, and overwritten values when
			  * value_free is set, not yet reclaimed (waiting
			  * for a grace period, a thread to free them, or,
			  * without value_free, an insert to reuse them) */
	uint64_t throttled; /* updates that paused (1-32 ms) because the
			     * backlog was over its bound (see lfd_pop) */
};

/*
 * lfd_new - create a dictionary.
 * Returns the dictionary, or NULL with errno set to EINVAL (invalid
 * configuration) or ENOMEM.  Any thread may call it.  Blocking: no.
 */
struct lfd *lfd_new(const struct lfd_config *cfg);

/*
 * lfd_destroy - free the dictionary and everything in it.
 * Waits for the dictionary's pending deferred work (resize steps, deferred
 * frees and destructor calls) to finish, then calls the value destructor
 * once for every value still held and frees every node.
 * Returns 0; -EINVAL if d is NULL; -EDEADLK (nothing freed) if the calling
 * thread is inside an RCU read-side section of the dictionary's flavour or
 * inside a value destructor run by lfdict.
 * Who may call: one thread, when no other call on d is running or will run,
 * and no thread still uses a value obtained from d.  Blocking: yes (RCU
 * barrier; grace periods).
 */
int lfd_destroy(struct lfd *d);

/*
 * lfd_get - look a key up.
 * Returns 0 with *value = the value; -ENOENT; -EINVAL.
 * Linearization: the seq_cst load of the entry's value slot (found), or a
 * seq_cst load of a list link that shows the key absent (not found).
 * Ordering: on 0, acquire from the call that stored the value (see
 * Publication above).  Progress: lock-free; a get never writes to the
 * dictionary's memory (only the RCU flavour's per-thread reader state).
 */
int lfd_get(struct lfd *d, const void *key, size_t len, void **value);

/*
 * lfd_get_many - look n keys up in one call, overlapping their cache
 * misses (each stage of a group of keys prefetches what the next stage
 * reads), for callers that have many keys at hand: on a table bigger
 * than the caches, 2 to 3.3 times the throughput of n lfd_get calls (8
 * to 32 or more keys per call), for a few more instructions per key
 * (doc/performance.md).
 * Key i is keys[i], lens[i] bytes: keys of any length, as every other
 * call takes (one call, not one per key length: a fixed-length variant
 * would save two sequential loads per key, next to two cache misses).
 * Each key is looked up as by lfd_get: results[i] = 0 with values[i] =
 * its value, or results[i] = -ENOENT with values[i] untouched.  values
 * may be NULL (the caller wants only which keys are present, as with
 * lfd_get's value); keys, lens and results may not, when n > 0.  A key
 * may appear more than once; each is looked up.
 * Returns the number of keys found (0..n); -EINVAL, writing nothing and
 * looking nothing up, if d is NULL, n > INT_MAX (the count must fit the
 * return), keys, lens or results is NULL with n > 0, or any key is bad
 * (NULL with lens[i] > 0, lens[i] > LFD_KEY_MAX): every key is checked
 * before the first lookup.  n = 0 returns 0 (the arrays may be NULL).
 * Linearization: each key's lookup on its own, exactly as lfd_get's (the
 * seq_cst load of its entry's value slot, or the seq_cst link load that
 * shows it absent).  Nothing is promised across keys: the call is not a
 * snapshot, and its lookups are not ordered among themselves (they are
 * interleaved, not made one after another): with concurrent updates it
 * may report key A's new value and key B's old one, or A absent and B
 * present although B was inserted after A.
 * Ordering: per key as lfd_get: on results[i] = 0, acquire from the call
 * that stored values[i].  Progress: lock-free; writes no dictionary
 * memory (only the RCU flavour's per-thread reader state).
 * Who may call: as lfd_get: any thread, concurrently with any call but
 * lfd_destroy, also inside lfd_read_lock sections and lfd_foreach's
 * callback.  The lookups run in groups of 32 keys, each group in a
 * read-side section of its own (a long call does not hold back grace
 * periods); a value found stays valid after the call only inside the
 * caller's own lfd_read_lock section, as with lfd_get.  A caller's hash
 * function (cfg.hash) is called inside those sections (lfd_get calls it
 * just before its own): it must not wait for a grace period.
 */
int lfd_get_many(struct lfd *d, size_t n, const void *const keys[],
		 const size_t lens[], void *values[], int results[]);

/*
 * lfd_insert - insert if absent (Python's dict.setdefault).
 * Returns 0 if inserted, with *current = value; -EEXIST if the key was
 * present, with *current = the value present at the linearization point
 * (nothing changed); -EINVAL; -ENOMEM.
 * Linearization: the seq_cst CAS that links the new entry (0), or the
 * seq_cst load that saw the present value (-EEXIST).
 * Ordering: on 0, the CAS is seq_cst (release of everything written before,
 * and acquire); on -EEXIST, the load is seq_cst (acquire from the call that
 * stored *current).  Progress: lock-free.
 */
int lfd_insert(struct lfd *d, const void *key, size_t len, void *value,
	       void **current);

/*
 * lfd_set - insert, or replace the present value.
 * Returns 0 if inserted; 1 if replaced, with *old = the value replaced (it
 * has left the dictionary: its destructor runs after a grace period unless
 * it is `value` itself); -EINVAL; -ENOMEM.
 * Linearization: the seq_cst CAS that links the entry (0) or that swaps the
 * value slot (1).  Ordering: seq_cst read-modify-write in both cases.
 * Progress: lock-free.
 */
int lfd_set(struct lfd *d, const void *key, size_t len, void *value,
	    void **old);

/*
 * lfd_replace - replace the value only if the key is present.
 * Returns 0 with *old = the value replaced; -ENOENT (nothing changed);
 * -EINVAL; -ENOMEM.
 * Linearization: the seq_cst CAS on the value slot (0).  -ENOENT: a seq_cst
 * link load that showed the key absent, or, when the call found the key's
 * entry already popped, the instant that entry was popped (or the call's
 * start, if later).  A replace never brings back a
 * popped key, and a pop never loses a concurrent replace: both act on the
 * same value-slot word.  Progress: lock-free.
 */
int lfd_replace(struct lfd *d, const void *key, size_t len, void *value,
		void **old);

/*
 * lfd_cas - compare-and-set: replace the value only if it is `expected`.
 * Returns 0 if replaced (*current = expected, the value replaced);
 * -EAGAIN (LFD_EMISMATCH) if the key holds another value, with
 * *current = that value (nothing changed); -ENOENT if absent; -EINVAL;
 * -ENOMEM.  expected == desired succeeds without changing anything.
 * Linearization: the seq_cst compare-exchange on the value slot, successful
 * (0) or failed (-EAGAIN); -ENOENT as lfd_replace.  A retry loop `while (lfd_cas(...) == -EAGAIN)` loses
 * no update.  Progress: lock-free.
 */
int lfd_cas(struct lfd *d, const void *key, size_t len, void *expected,
	    void *desired, void **current);

/*
 * lfd_pop - remove a key and return its value.
 * Returns 0 with *value = the value removed; -ENOENT; -EINVAL.
 * When several threads pop the same key, exactly one gets 0 and the value;
 * the others get -ENOENT (or a later value, if the key was inserted again).
 * Linearization: the seq_cst CAS that swaps the value slot to the tombstone
 * (0); -ENOENT as lfd_replace.
 * The value's destructor runs after a grace period.  Progress: lock-free;
 * may run up to 32 destructors of earlier departures, and pause 1-32 ms when
 * the reclamation backlog is over its bound (see "Reclamation" above).
 */
int lfd_pop(struct lfd *d, const void *key, size_t len, void **value);

/*
 * lfd_pop_if - remove a key only if its value is `expected`.
 * Returns 0 if removed; -EAGAIN (LFD_EMISMATCH) if the key holds another
 * value; -ENOENT; -EINVAL.  Linearization and ordering as lfd_cas.
 */
int lfd_pop_if(struct lfd *d, const void *key, size_t len, void *expected);

/*
 * lfd_cad - compare-and-delete: remove a key only if its value is
 * `expected`, and report the value that won when it is not (lfd_pop_if
 * with lfd_cas's report, so an expiring sweeper needs no second lookup).
 * Returns 0 if removed, with *current = expected (the value removed: its
 * destructor runs after a grace period); -EAGAIN (LFD_EMISMATCH) if the key
 * holds another value, with *current = that value (nothing changed);
 * -ENOENT if absent; -EINVAL.  `current` may be NULL.
 * Linearization: the seq_cst compare-exchange on the value slot, successful
 * (0) or failed (-EAGAIN, or the seq_cst load that saw another value);
 * -ENOENT as lfd_replace.  Ordering: on 0, a seq_cst read-modify-write; on
 * -EAGAIN, acquire from the call that stored *current.  When several
 * threads cad the same key with the same `expected`, exactly one gets 0.
 * Progress: lock-free; reclaims and may pause after its linearization point
 * as lfd_pop.  Who may call: as lfd_pop.
 */
int lfd_cad(struct lfd *d, const void *key, size_t len, void *expected,
	    void **current);

/* What lfd_update's function decides (its return value). */
#define LFD_KEEP 0   /* change nothing */
#define LFD_STORE 1  /* store *desired: insert it, or replace the value */
#define LFD_REMOVE 2 /* remove the key (nothing to do if absent) */

/* What lfd_update and lfd_get_or_create did (their non-negative returns). */
#define LFD_KEPT 0     /* nothing changed */
#define LFD_INSERTED 1 /* the key was absent; a value was inserted */
#define LFD_REPLACED 2 /* the key's value was replaced */
#define LFD_REMOVED 3  /* the key was removed */

/*
 * lfd_update - update a key with a function (compute, merge, upsert): fn
 * sees the key's value, or its absence, and decides what becomes of it; the
 * decision is applied only if the key still holds what fn saw.
 *
 *   int fn(void *arg, const void *key, size_t len, int present,
 *          void *current, void **desired);
 *
 * A try: lfdict looks the key up (present = 1 with its value in current,
 * or present = 0 and current = NULL) and calls fn, which returns LFD_KEEP,
 * LFD_STORE (with the new value in *desired; NULL is a value), LFD_REMOVE,
 * or a negative errno value to give up.  lfdict then applies the decision
 * only where the key still holds what fn saw: a replace or remove by one
 * compare-exchange of the value slot from current; an insert by linking a
 * new entry where the key is absent -- if the list changed next to the key
 * meanwhile (another key linked or unlinked there, or a resize's bucket
 * node), lfdict searches again and links there, without calling fn again,
 * for as long as the key stays absent.  If the key no longer holds what fn
 * saw -- another thread inserted it, or replaced or removed its value --
 * the try is lost and another try begins: fn is called again, on the new
 * state.  (A key changed and changed back, e.g. inserted and popped again,
 * holds what fn saw: the try applies.)  So fn is called once, and again
 * only after another thread changed this key: with one calling thread (and
 * fn not updating the key itself) exactly once.
 * The last call of fn is the one whose decision took effect, on the
 * present/current it was given (the caller learns the outcome there, e.g.
 * through arg).
 * Returns LFD_KEPT (fn said keep, or remove while the key was absent),
 * LFD_INSERTED, LFD_REPLACED (also when *desired was current itself:
 * nothing departs) or LFD_REMOVED; fn's own negative return (nothing
 * changed); -EINVAL, with nothing changed and fn not called, if d or fn is
 * NULL or the key is bad; -EINVAL, nothing changed, if fn returned
 * anything else than the three decisions or a negative value; -ENOMEM
 * (nothing changed) if storing needed an allocation that failed.
 * Values fn built and lfdict did not store are handed back, never leaked
 * and never destroyed by lfdict: a value fn put in *desired with
 * LFD_STORE on a try that was lost, or on the last try when it failed
 * with -ENOMEM, is passed to discard(arg, value) exactly once, after that
 * try and outside the read-side section, before fn is called again --
 * unless it was the try's current value itself (not fn's to give).
 * discard may be NULL (values are not owned: integers, shared objects).
 * A value replaced or removed leaves as with lfd_set / lfd_pop: the
 * dictionary's value destructor runs on it after a grace period.
 * What fn may do: it runs inside the call's RCU read-side section, so
 * `current` (and what it points to, if the caller's values are pointers
 * whose memory the value destructor frees) stays valid while fn runs: fn
 * may read it to build *desired (a copy-on-write update).  It may call
 * lfd_get and other calls on other keys.  It must not wait for a grace
 * period (lfd_barrier, lfd_destroy, synchronize_rcu), must not block for
 * long (it holds back reclamation), and should not update the key itself
 * (its own change makes its try lose, and a fn that always does so makes
 * the call retry forever).  It must tolerate being called again: side
 * effects other than building a value belong after the call, or must be
 * idempotent.
 * Linearization: LFD_KEPT: the seq_cst load that read current (present), or
 * the instant that shows the key absent, as lfd_get; LFD_INSERTED: the
 * seq_cst CAS that links the entry; LFD_REPLACED, LFD_REMOVED: the seq_cst
 * compare-exchange on the value slot.  Ordering: current is read with a
 * seq_cst load (acquire from the call that stored it, on every try and so
 * on every return); a stored value is published with a seq_cst RMW
 * (release: what the caller and fn wrote before it happens-before whoever
 * gets the value).  A loop of lfd_update calls that add to a counter loses
 * no increment.  Progress: lock-free as long as fn returns: a try is lost
 * only when an update of the key by another thread (or by fn itself)
 * succeeded, and an insert searches again only when another change next
 * to the key succeeded.
 * Reclaims and may pause after its linearization point as lfd_set and
 * lfd_pop do.  Who may call: any thread, as lfd_set.
 */
int lfd_update(struct lfd *d, const void *key, size_t len,
	       int (*fn)(void *arg, const void *key, size_t len, int present,
			 void *current, void **desired),
	       void (*discard)(void *arg, void *value), void *arg);

/*
 * lfd_get_or_create - return the key's value, creating and inserting one
 * if the key is absent (Java's computeIfAbsent, lock-free).
 *
 *   int create(void *arg, const void *key, size_t len, void **value);
 *
 * Looks the key up; if present, returns its value and create is not
 * called.  If absent, calls create once (outside any read-side section of
 * lfdict's: it may allocate, block, take locks), which returns 0 with a new
 * value in *value or a negative errno value; then inserts that value if the
 * key is still absent.  Racing callers on an absent key may each create a
 * value; exactly one value is published, every caller gets that one, and
 * each loser's value is passed to discard(arg, value) exactly once (outside
 * the read-side section) before its call returns.  create runs at most once
 * per call (never again after a lost insert: the winner's value is
 * returned).  discard may be NULL.  `value` may not be NULL.
 * Returns LFD_KEPT (0) with *value = the value present (found, or another
 * caller's that won); LFD_INSERTED (1) with *value = the created value,
 * now in the dictionary; create's negative return (nothing changed);
 * -EINVAL (nothing changed, create not called) for a NULL d, create or
 * value, or a bad key; -ENOMEM (nothing changed; the created value was
 * handed to discard).
 * Linearization: LFD_KEPT: the seq_cst load that read the value (the
 * lookup's, or the insert's that found the winner); LFD_INSERTED: the
 * seq_cst CAS that links the entry.  Ordering: as lfd_insert: on
 * LFD_INSERTED, what the caller and create wrote before happens-before
 * whoever gets the value; on LFD_KEPT, acquire from the call that stored
 * *value, so the winner's initialization is seen.  Progress: lock-free
 * (create aside).  Lifetime of *value: as lfd_get's (valid after the call
 * only inside the caller's own lfd_read_lock section, or while the caller
 * holds a reference of its own: doc/recipes.md shows refcounted values).
 * Who may call: any thread.  An "at most once per key" variant would
 * block racing callers of that key; it is not offered: insert a
 * placeholder and replace it (doc/recipes.md) where creation must not be
 * repeated.
 */
int lfd_get_or_create(struct lfd *d, const void *key, size_t len,
		      int (*create)(void *arg, const void *key, size_t len,
				    void **value),
		      void (*discard)(void *arg, void *value), void *arg,
		      void **value);

/*
 * lfd_count - number of entries.
 * Returns 0 with *count; -EINVAL.  Exact when no update overlaps the call.
 * Not linearizable: with U successful updates overlapping the call, *count
 * is within U of the number of entries at the call's start (and never
 * negative).  Reads per-thread-group split counters with relaxed loads; no
 * ordering.  Progress: wait-free.
 */
int lfd_count(struct lfd *d, size_t *count);

/*
 * lfd_foreach - visit every entry.
 * Calls fn(arg, key, len, value) for entries in the dictionary's internal
 * order: a loop of lfd_scan slices (below) from LFD_SCAN_START to
 * LFD_SCAN_END, each slice inside an RCU read-side section of its own, so
 * fn may use key and value until it returns (not after: a value seen by
 * an earlier call of fn may have been destroyed since, unless the caller
 * holds its own lfd_read_lock section around the whole lfd_foreach), and
 * may call any lfdict call except lfd_destroy, lfd_barrier and lfd_trim.
 * If fn
 * returns non-zero the walk stops and lfd_foreach returns that value;
 * otherwise it returns 0 when every entry has been visited.  -EINVAL if d
 * or fn is NULL.
 * Guarantees, concurrently with every call and with resizes: a key present
 * for the whole walk is visited exactly once; no key is visited twice; a key
 * inserted or removed during the walk may or may not be visited.  Each
 * visit reports a value the key held at the visit (a seq_cst load).  Not a
 * snapshot.  Progress: lock-free.  A long walk does not hold back grace
 * periods (it used to run in one section, and did).  If updates made by
 * fn owed a backpressure pause (see "Reclamation"), lfd_foreach sleeps it,
 * 1 to 32 ms, after the slice that made them -- or, inside the caller's
 * lfd_read_lock section, that section's lfd_read_unlock does.
 */
int lfd_foreach(struct lfd *d,
		int (*fn)(void *arg, const void *key, size_t len, void *value),
		void *arg);

/* A scan's position (lfd_scan): the start, and the value once it is done. */
#define LFD_SCAN_START ((uint64_t)0)
#define LFD_SCAN_END ((uint64_t)1 << 32)

/*
 * lfd_scan - one slice of a resumable walk over every entry.
 * The caller keeps the position: *cursor = LFD_SCAN_START, then call
 * lfd_scan until *cursor == LFD_SCAN_END (a read-side section of its own
 * per slice, so a scan does not hold back grace periods, and the caller
 * may do anything between slices, from any thread):
 *     uint64_t c = LFD_SCAN_START;
 *     do r = lfd_scan(d, &c, 100, fn, arg); while (r == 0 && c != LFD_SCAN_END);
 * A slice enters one read-side section, walks the entries in the internal
 * order from *cursor on, calls fn(arg, key, len, value) for each one
 * present, and stops once it has made max calls and finished the group of
 * entries that share the last one's 32-bit split-order key (more than max
 * calls only when keys collide there: with the default keyed hash, a group
 * has one key but with odds of about n / 2^32), or at the end.  It then
 * stores the next position in *cursor (LFD_SCAN_END at the end) and
 * returns 0.  fn runs inside the section: it may use key and value until it
 * returns, and may call any lfdict call except lfd_destroy and
 * lfd_barrier.
 * If fn returns non-zero, the slice stops and returns that value, with
 * *cursor set past the entry fn returned it for, so that a later slice
 * resumes after it -- except when keys that collide with that entry (same
 * split-order key) sort after it: then *cursor is the start of their group,
 * and resuming visits again the group's keys visited before the stop.
 * Returns 0; fn's non-zero value; -EINVAL if d, cursor or fn is NULL, max
 * is 0, or *cursor is not a position lfd_scan stores (odd, or above
 * LFD_SCAN_END): then nothing is visited and *cursor is unchanged.  With
 * *cursor == LFD_SCAN_END it returns 0 at once.  A position is an even
 * number up to LFD_SCAN_END, meaningful only for the dictionary that
 * produced it; it stays valid across any number of resizes and updates.
 * Guarantees of a scan (the slices from LFD_SCAN_START to LFD_SCAN_END,
 * none stopped by fn), concurrently with every call and with resizes,
 * whatever happens between slices: a key present for the whole scan is
 * visited exactly once; no key is visited twice (a key popped and
 * inserted again is one key); a key inserted or removed during the scan
 * may or may not be visited: it is if it sits ahead of the position and
 * the walk reaches it while it is linked, and it is not if inserted behind
 * the position.  Each visit reports a value the key held at the visit (a
 * seq_cst load of its value slot: acquire from the call that stored it).
 * Not linearizable, not a snapshot: two keys may be seen in a combination
 * that never existed at one instant.
 * Progress: lock-free.  Updates made by fn that owed a backpressure pause
 * (see "Reclamation") sleep it, 1 to 32 ms, at the end of the slice --
 * or at the end of the caller's own lfd_read_lock section.
 * Who may call: any thread, also inside lfd_read_lock sections and fn.
 */
int lfd_scan(struct lfd *d, uint64_t *cursor, size_t max,
	     int (*fn)(void *arg, const void *key, size_t len, void *value),
	     void *arg);

/*
 * lfd_clear - remove every entry.
 * Pops (as lfd_pop) every key a scan in slices finds (lfd_scan: a section
 * of its own per slice, so grace periods go on), and returns 0 with
 * *removed (if not NULL) = the number of keys this call removed; -EINVAL if
 * d is NULL.  Each removed value's destructor runs exactly once, after a
 * grace period, as for lfd_pop; each pop may help reclaim and pause as
 * lfd_pop does (see "Reclamation").
 * Not atomic: each key is removed by its own pop (linearized at that pop's
 * seq_cst CAS), in the scan's order, and other calls see the keys go one
 * by one.  A key that no other call inserts or removes during the clear
 * is removed by it (whatever value the key holds when the clear reaches
 * it, if other calls set it meanwhile) and counted.  A key inserted
 * during the clear survives it if the clear's position has passed the
 * key's place, and is removed if the clear reaches it afterwards: a
 * concurrent insert may see -EEXIST for a key the clear has not reached
 * yet, and a concurrent get sees some keys removed and others not.  A key
 * that another call pops first is not counted.  After the call, the
 * dictionary holds only keys inserted during it.
 * Progress: lock-free.  Who may call: any thread, also inside
 * lfd_read_lock sections and fn of lfd_foreach/lfd_scan (then the removed
 * values stay valid until that section ends).
 */
int lfd_clear(struct lfd *d, size_t *removed);

/*
 * lfd_read_lock / lfd_read_unlock - an RCU read-side section of the
 * dictionary's flavour.  Values obtained inside it stay valid (their
 * destructor does not run) until the matching unlock.  Sections nest.  Any
 * lfdict call except lfd_destroy, lfd_barrier and lfd_trim may be made
 * inside.
 * Returns 0; -EINVAL if d is NULL, or, for lfd_read_unlock, if the calling
 * thread has no section open (more unlocks than locks, counted over every
 * dictionary of the thread): then nothing is changed.
 * Progress: lfd_read_lock is wait-free.  lfd_read_unlock is wait-free but
 * in one case: when it ends the thread's outermost section and an update
 * made inside that section owed a backpressure pause (only while a
 * dictionary's reclaim backlog is over its bound, see "Reclamation"
 * above), it sleeps that pause, 1 to 32 ms, before returning.
 */
int lfd_read_lock(struct lfd *d);
int lfd_read_unlock(struct lfd *d);

/*
 * lfd_barrier - wait until the dictionary's deferred work queued before the
 * call (resize steps, and with them the resize that the current count asks
 * for; deferred frees; destructor calls) has completed.
 * Returns 0; -EINVAL; -EDEADLK if called inside a read-side section or
 * inside a value destructor run by lfdict.  Also waits for destructors that
 * other threads' updates are running on the dictionary's behalf.
 * At quiescence, after it returns the bucket count fits the entry count
 * (at least what `capacity` above gives for the count, unless capped; at
 * most what it gives for 8 * count, or min_buckets).  While other threads keep changing the count, it also waits for
 * the resizes they cause.  Blocking: yes (RCU grace periods).  Useful
 * before checking stats, and to bound memory after a burst of removals.
 */
int lfd_barrier(struct lfd *d);

/*
 * lfd_trim - give the entry memory of emptied slab blocks back to the
 * dictionary's allocator (see "Memory of entries" above).
 * First does what lfd_barrier does (waits for the resize the count asks
 * for and reclaims the backlog of entries popped before the call, so
 * their slots are free), then takes every free slot off the dictionary's
 * free lists, waits for one RCU grace period, frees (cfg.free) every block
 * all of whose slots it held, and puts the other free slots back, ordered
 * so that later inserts fill the blocks with the most live entries first.
 * Returns 0 with *freed = the bytes given back to the allocator (0 if no
 * block was empty; freed may be NULL); -EINVAL if d is NULL; -EDEADLK
 * (nothing done) inside a read-side section of the dictionary's flavour
 * or inside a value destructor run by lfdict; -EBUSY (nothing done) if
 * another lfd_trim on d is running: one trim at a time per dictionary,
 * and a second caller returns at once instead of waiting (the running one
 * takes every free slot; call again for what was freed since); -ENOMEM if
 * the trim's own bookkeeping (40 bytes per block, one allocation) could not
 * be allocated: then no block was freed and no slot moved, though the
 * backlog was reclaimed as by lfd_barrier.  *freed is written only on 0.
 * Linearization: none that a caller can observe: no key, value or count
 * changes, and every other call's results are as if no trim ran.
 * Ordering: on 0 and -ENOMEM, as lfd_barrier's (destructors and frees of
 * the backlog happen-before the return); the trim itself orders nothing
 * for the caller (doc/memory-model.md).  The other returns do nothing.
 * Progress: blocking (grace periods, as lfd_barrier; a fork being prepared
 * waits for the running trim's grace period).  Every other call on d
 * stays lock-free while a trim runs; an insert made while the trim holds
 * the free slots (one grace period) may take a new block from the
 * allocator: at most one per thread stripe and size class, unless one
 * stripe inserts more entries than a block holds in that time.
 * Who may call: any thread, concurrently with any call but lfd_destroy;
 * not inside a read-side section (lfd_read_lock, lfd_foreach's callback),
 * nor from a value destructor; with urcu-qsbr, while offline.
 * Cost: O(F log B + B log B) for F free slots and B blocks, all of it on
 * the calling thread.
 */
int lfd_trim(struct lfd *d, size_t *freed);

/*
 * lfd_stats - fill *st with the dictionary's counters (see struct
 * lfd_stats).  Returns 0; -EINVAL.  Values are read without ordering and may
 * be stale by the time they are used.  Wait-free.
 */
int lfd_stats(struct lfd *d, struct lfd_stats *st);

/* lfd_strerror - a static description of one of lfdict's negative returns. */
const char *lfd_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* LFDICT_H */
