/*
 * bench/peer_libcuckoo.cc - lfd-bench's adapter for libcuckoo's
 * cuckoohash_map: concurrent cuckoo hashing, 4 slots per bucket, striped
 * spinlocks (a get locks the key's two candidate buckets; an insert may
 * move keys along a cuckoo path; a full table doubles, all locks taken).
 * C++17, header-only libcuckoo (Debian libcuckoo-dev) and
 * bench/peer_cxx.hh; the harness sees only peer_libcuckoo[], with C
 * linkage.
 *
 * Every operation is one call of libcuckoo's own, so it is atomic as the
 * harness needs: pop is erase_fn, whose functor reads the value under the
 * bucket locks before the erase; incr is update_fn (locked, never retries).
 * The table starts at libcuckoo's default size, 2^16 buckets (2^18
 * slots), and grows by its own policy from there.  It cannot start smaller:
 * libcuckoo 0.3.1 (Debian's) crashes when threads run while the table
 * doubles below 2^16 buckets.  Below that size every doubling also grows
 * the lock array (one lock per bucket up to 2^16 locks) and appends the new
 * array to a list; a doubling locks only the newest array; and
 * cuckoo_fast_double swaps buckets_ with old_buckets_ before it assigns the
 * new buckets, so for a moment hashpower() reads the size from two
 * doublings ago.  A thread that computed its buckets and picked the lock
 * array two doublings ago, and takes its lock in that moment, passes
 * check_hashpower() while holding a lock the doubling thread does not hold,
 * and reads freed bucket memory.  (Upstream fixed this after 0.3.1 with a
 * resize counter: libcuckoo commit 91b9c2d "Fix segfault", 2024-11.)  With
 * 2^16 buckets from the start the lock array is already at its maximum, so
 * it is never replaced, a doubling holds every lock there is, and that
 * window cannot be reached.  The price is a fixed 8.9 MB (4.7 MB of
 * buckets, 4 MiB of locks), about 8,900 bytes per entry at N = 1,000:
 * libcuckoo's mem_bytes_per_entry at small N is this floor, not growth.
 *
 * SPDX-License-Identifier: MIT
 */
#include <functional>
#include <memory>
#include <utility>

#include <libcuckoo/cuckoohash_map.hh>

#include "peer_cxx.hh"

namespace {

using cuckoo_map =
	libcuckoo::cuckoohash_map<uint64_t, uint64_t, bench_hasher,
				  std::equal_to<uint64_t>,
				  std::allocator<std::pair<const uint64_t,
							   uint64_t>>>;
using cuckoo = cxx_table<cuckoo_map>;

/* libcuckoo's default, 2^16 buckets of 4 slots: the smallest size whose
 * lock array never grows (see the top of this file) */
void *cuckoo_create(size_t n)
{
	(void)n;
	return new cuckoo_map(libcuckoo::DEFAULT_SIZE);
}

int cuckoo_get(void *t, uint64_t k, uint64_t *v)
{
	return cuckoo::of(t)->find(k, *v);
}

int cuckoo_insert(void *t, uint64_t k, uint64_t v)
{
	return cuckoo::of(t)->insert(k, v);
}

int cuckoo_pop(void *t, uint64_t k, uint64_t *v)
{
	return cuckoo::of(t)->erase_fn(k, [v](uint64_t &val) {
		*v = val;
		return true; /* erase it */
	});
}

unsigned cuckoo_incr(void *t, uint64_t k)
{
	if (!cuckoo::of(t)->update_fn(k, [](uint64_t &val) { val++; }))
		fail("libcuckoo hot key", k, 0, 0);
	return 0;
}

} // namespace

extern "C" const struct impl peer_libcuckoo[] = {
	{ "libcuckoo", "libcuckoo cuckoohash_map, striped locks, from 2^18 slots",
	  cuckoo_create, cuckoo::destroy, nop_thread, nop_thread, cuckoo_get,
	  cuckoo_insert, cuckoo_pop, cuckoo_incr, cuckoo::quiesce, cuckoo::size,
	  0, 0, nullptr },
	{},
};
