/*
 * bench/peer_cxx.hh - what lfd-bench's C++ adapters (bench/peer_*.cc)
 * share: bench_hash as a C++ hash functor, and the functions of struct impl
 * that are the same for every C++ map type.  C++17 and bench/peer.h.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_BENCH_PEER_CXX_HH
#define LFD_BENCH_PEER_CXX_HH

#include "peer.h"

/* bench_hash as the hash functor of a C++ container */
struct bench_hasher {
	size_t operator()(uint64_t k) const noexcept
	{
		return (size_t)bench_hash(k);
	}
};

/* struct impl's functions for a table that is a Map, held by pointer */
template <class Map> struct cxx_table {
	static Map *of(void *t)
	{
		return static_cast<Map *>(t);
	}
	/* no size hint: the table grows by its own policy */
	static void *create(size_t n)
	{
		(void)n;
		return new Map();
	}
	static void destroy(void *t)
	{
		delete of(t);
	}
	/* these tables defer no work */
	static void quiesce(void *t)
	{
		(void)t;
	}
	static size_t size(void *t)
	{
		return of(t)->size();
	}
	/* for maps with an STL-like find() and end(): the value of k, or
	 * NULL */
	static uint64_t *value_of(void *t, uint64_t k)
	{
		auto it = of(t)->find(k);

		return it == of(t)->end() ? nullptr : &it->second;
	}
	static int get(void *t, uint64_t k, uint64_t *v)
	{
		const uint64_t *p = value_of(t, k);

		if (p == nullptr)
			return 0;
		*v = *p;
		return 1;
	}
	/* pop's end for maps whose extract() returns a node handle: 1 and
	 * its value if the node holds an element, else 0 */
	template <class Node> static int take(Node &&node, uint64_t *v)
	{
		if (node.empty())
			return 0;
		*v = node.mapped();
		return 1;
	}
};

#endif /* LFD_BENCH_PEER_CXX_HH */
