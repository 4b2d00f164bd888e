/*
 * bench/peer_tbb.cc - lfd-bench's adapters for oneTBB's two concurrent
 * maps.  C++17, oneTBB (Debian libtbb-dev) and bench/peer_cxx.hh; the harness
 * sees only peer_tbb[], with C linkage.
 *
 * tbb-chm: tbb::concurrent_hash_map, a chained table with a reader-writer
 *   lock per bucket and per element.  Reads go through a const_accessor
 *   (read lock on the element); pop finds the key with a write accessor,
 *   copies the value and erases through that accessor, so no other thread
 *   sees or removes the element in between; incr writes under the accessor.
 * tbb-cum: tbb::concurrent_unordered_map, a split-ordered list like
 *   lfdict: lock-free get and insert, but erase (unsafe_erase) is not
 *   thread-safe, so the harness refuses M and U for it (no_concurrent_pop).
 *   incr is an atomic add on the value in place (the C workload runs only
 *   increments concurrently); pop (unsafe_extract) is for one thread at a
 *   time.
 *
 * Both get std::allocator: oneTBB's default, tbb_allocator, goes to
 * tbbmalloc when libtbbmalloc is loaded, and memory taken there is not in
 * glibc's mallinfo2, which the harness's bytes per entry reads.  Neither
 * gets a size hint.
 *
 * SPDX-License-Identifier: MIT
 */
#include <functional>
#include <memory>
#include <utility>

#include <tbb/concurrent_hash_map.h>
/* gcc 12 -Warray-bounds flags oneTBB 2021.8's own code once inlined here:
 * ~value_node() run on a dummy list_node, which is smaller (in
 * _concurrent_unordered_base.h, not in this file); silenced for that
 * header only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#include <tbb/concurrent_unordered_map.h>
#pragma GCC diagnostic pop

#include "peer_cxx.hh"

namespace {

using entry = std::pair<const uint64_t, uint64_t>;

struct chm_hash_compare {
	size_t hash(uint64_t k) const
	{
		return bench_hasher()(k);
	}
	bool equal(uint64_t a, uint64_t b) const
	{
		return a == b;
	}
};

/* --- tbb-chm ------------------------------------------------------- */

using chm_map = tbb::concurrent_hash_map<uint64_t, uint64_t,
					 chm_hash_compare,
					 std::allocator<entry>>;
using chm = cxx_table<chm_map>;

int chm_get(void *t, uint64_t k, uint64_t *v)
{
	chm_map::const_accessor a;

	if (!chm::of(t)->find(a, k))
		return 0;
	*v = a->second;
	return 1;
}

int chm_insert(void *t, uint64_t k, uint64_t v)
{
	return chm::of(t)->insert(entry(k, v));
}

int chm_pop(void *t, uint64_t k, uint64_t *v)
{
	chm_map::accessor a;

	if (!chm::of(t)->find(a, k))
		return 0;
	*v = a->second;
	return chm::of(t)->erase(a);
}

unsigned chm_incr(void *t, uint64_t k)
{
	chm_map::accessor a;

	if (!chm::of(t)->find(a, k))
		fail("tbb-chm hot key", k, 0, 0);
	else
		a->second++;
	return 0;
}

/* --- tbb-cum ------------------------------------------------------- */

using cum = cxx_table<tbb::concurrent_unordered_map<
	uint64_t, uint64_t, bench_hasher, std::equal_to<uint64_t>,
	std::allocator<entry>>>;

int cum_insert(void *t, uint64_t k, uint64_t v)
{
	return cum::of(t)->insert(entry(k, v)).second;
}

/* not thread-safe: never called concurrently (no_concurrent_pop) */
int cum_pop(void *t, uint64_t k, uint64_t *v)
{
	return cum::take(cum::of(t)->unsafe_extract(k), v);
}

unsigned cum_incr(void *t, uint64_t k)
{
	uint64_t *p = cum::value_of(t, k);

	if (p == nullptr)
		fail("tbb-cum hot key", k, 0, 0);
	else
		__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
	return 0;
}

} // namespace

extern "C" const struct impl peer_tbb[] = {
	{ "tbb-chm", "oneTBB concurrent_hash_map, per-bucket/element rwlocks",
	  chm::create, chm::destroy, nop_thread, nop_thread, chm_get,
	  chm_insert, chm_pop, chm_incr, chm::quiesce, chm::size, 0, 0, nullptr },
	{ "tbb-cum", "oneTBB concurrent_unordered_map (split-ordered), R C B only",
	  cum::create, cum::destroy, nop_thread, nop_thread, cum::get,
	  cum_insert, cum_pop, cum_incr, cum::quiesce, cum::size, 0, 1, nullptr },
	{},
};
