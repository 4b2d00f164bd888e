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
 * The table starts small (a hint of 16 entries) and grows by its own
 * policy, like ck_ht and seq: libcuckoo's default presizes 2^18 slots,
 * 4 MiB, which would be a size hint the other tables do not get.
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

/* a hint of 16 entries: 4 buckets of 4 slots */
void *cuckoo_create(size_t n)
{
	(void)n;
	return new cuckoo_map(16);
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
	{ "libcuckoo", "libcuckoo cuckoohash_map, striped locks, from 16 slots",
	  cuckoo_create, cuckoo::destroy, nop_thread, nop_thread, cuckoo_get,
	  cuckoo_insert, cuckoo_pop, cuckoo_incr, cuckoo::quiesce, cuckoo::size,
	  0, 0, nullptr },
	{},
};
