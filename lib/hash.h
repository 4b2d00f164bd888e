/*
 * hash.h - the default keyed hash and the per-dictionary
 * seed (hash.c).  Bottom layer, beside base.h; uses internal.h only.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LFD_HASH_H
#define LFD_HASH_H

#include "internal.h"

LFD_HIDDEN void lfd_seed_init(uint64_t seed[2]);
LFD_HIDDEN uint64_t lfd_siphash13(const uint64_t key[2], const void *data,
				  size_t len);
LFD_HIDDEN uint64_t lfd_siphash24(const uint64_t key[2], const void *data,
				  size_t len);

#endif /* LFD_HASH_H */
