/*
 * bench/peer_absl.cc - lfd-bench's adapter for Abseil's
 * absl::flat_hash_map (SwissTable: open addressing, a control byte per
 * slot probed 16 at a time with SIMD), not thread-safe: one thread only,
 * the single-thread ceiling of a tuned library table beside seq.  C++17,
 * Abseil (Debian libabsl-dev) and bench/peer_cxx.hh; the harness sees only
 * peer_absl[], with C linkage.  No size hint; std::allocator (malloc).
 *
 * SPDX-License-Identifier: MIT
 */
#include <functional>
#include <memory>
#include <utility>

#include <absl/container/flat_hash_map.h>

#include "peer_cxx.hh"

namespace {

using swiss = cxx_table<
	absl::flat_hash_map<uint64_t, uint64_t, bench_hasher,
			    std::equal_to<uint64_t>,
			    std::allocator<std::pair<const uint64_t, uint64_t>>>>;

int swiss_insert(void *t, uint64_t k, uint64_t v)
{
	return swiss::of(t)->try_emplace(k, v).second;
}

/* one probe: extract() finds the slot and frees it */
int swiss_pop(void *t, uint64_t k, uint64_t *v)
{
	return swiss::take(swiss::of(t)->extract(k), v);
}

unsigned swiss_incr(void *t, uint64_t k)
{
	uint64_t *p = swiss::value_of(t, k);

	if (p == nullptr)
		fail("absl hot key", k, 0, 0);
	else
		(*p)++;
	return 0;
}

} // namespace

extern "C" const struct impl peer_absl[] = {
	{ "absl", "Abseil flat_hash_map (SwissTable), not thread-safe, 1 thread",
	  swiss::create, swiss::destroy, nop_thread, nop_thread, swiss::get,
	  swiss_insert, swiss_pop, swiss_incr, swiss::quiesce, swiss::size, 1,
	  0, nullptr },
	{},
};
