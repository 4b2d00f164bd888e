/*
 * hash.h - the default keyed hash and the per-dictionary
 * seed (hash.c).  Bottom layer, beside base.h; uses internal.h only.
 *
 * SPDX-License-Identifier: MIT
 *
 * The hash of every call on a dictionary without cfg.hash is lfd_sip13,
 * inline here so that it folds into the call (lfd_op_begin, dict.c): it
 * computes SipHash-1-3 (hash.c's header comment says why that function)
 * from a state prepared once per dictionary, with a straight-line path
 * for keys of up to 16 bytes.  Its output is that of the generic
 * lfd_siphash13 (hash.c), bit for bit: tests/test_internal.c compares the
 * two for every length 0..64 and random seeds, and both with published
 * vectors.
 */
#ifndef LFD_HASH_H
#define LFD_HASH_H

#include "internal.h"

LFD_HIDDEN void lfd_seed_init(uint64_t seed[2]);
/* The generic SipHash-1-3 and -2-4 of the paper, one byte loop for all
 * lengths: the reference lfd_sip13 is checked against, and -2-4 for the
 * paper's vector and the seed's fallback. */
LFD_HIDDEN uint64_t lfd_siphash13(const uint64_t key[2], const void *data,
				  size_t len);
LFD_HIDDEN uint64_t lfd_siphash24(const uint64_t key[2], const void *data,
				  size_t len);
/* st = the state lfd_sip13 starts from, for the 128-bit key seed. */
LFD_HIDDEN void lfd_sip13_prepare(uint64_t st[4], const uint64_t seed[2]);
/* lfd_sip13 of keys longer than 16 bytes (out of line: rare, and long). */
LFD_HIDDEN uint64_t lfd_sip13_long(const uint64_t st[4], const void *data,
				   size_t len);

/*
 * AES-128 for keys of up to 15 bytes, where the CPU has the AES
 * instructions (x86-64 with AES-NI; elsewhere, and on CPUs without them,
 * every key takes SipHash-1-3).  The key's bytes, zeros, and its length in
 * the last byte make one 16-byte block, encrypted under the dictionary's
 * second random key; the hash is the ciphertext's first 8 bytes (hash.c's
 * header says why that keeps the flooding argument).  lfd_aes_short is
 * out of line: the instructions need the function's target attribute,
 * which a caller without it cannot inline.  The cipher itself is inline
 * below, for lfd_aes_short and for tests/test_internal.c's checks of it.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LFD_HAVE_AES 1
/* Whether this CPU has the AES instructions (cpuid). */
LFD_HIDDEN bool lfd_aes_usable(void);
/* rk = the FIPS-197 key expansion of the 16-byte key (little-endian words
 * key[0], key[1]).  Only where lfd_aes_usable. */
LFD_HIDDEN void lfd_aes_prepare(unsigned char rk[11][16],
				const uint64_t key[2]);
/* The hash of data[0..len), len <= 15. */
LFD_HIDDEN uint64_t lfd_aes_short(const unsigned char rk[11][16],
				  const void *data, size_t len);
#define LFD_AES_MAX 15u

#include <wmmintrin.h>

#define LFD_AES_TARGET __attribute__((target("aes,sse2")))

static LFD_AES_TARGET inline __m128i lfd_aes_rk(const unsigned char rk[11][16],
						 int i)
{
	return _mm_loadu_si128((const __m128i *)(const void *)rk[i]);
}

/* The cipher (FIPS-197 5.1): the first round key XORed in, nine rounds,
 * the last round without MixColumns.  Written out: the round keys' loads
 * do not wait for the block, so they issue ahead of the rounds. */
static LFD_AES_TARGET inline __m128i lfd_aes_block(const unsigned char rk[11][16],
						    __m128i b)
{
	b = _mm_xor_si128(b, lfd_aes_rk(rk, 0));
	b = _mm_aesenc_si128(b, lfd_aes_rk(rk, 1));
	b = _mm_aesenc_si128(b, lfd_aes_rk(rk, 2));
	b = _mm_aesenc_si128(b, lfd_aes_rk(rk, 3));
	b = _mm_aesenc_si128(b, lfd_aes_rk(rk, 4));
	b = _mm_aesenc_si128(b, lfd_aes_rk(rk, 5));
	b = _mm_aesenc_si128(b, lfd_aes_rk(rk, 6));
	b = _mm_aesenc_si128(b, lfd_aes_rk(rk, 7));
	b = _mm_aesenc_si128(b, lfd_aes_rk(rk, 8));
	b = _mm_aesenc_si128(b, lfd_aes_rk(rk, 9));
	return _mm_aesenclast_si128(b, lfd_aes_rk(rk, 10));
}
#endif

static inline uint64_t lfd_rotl64(uint64_t x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

/* SipHash's four state words. */
struct lfd_sip {
	uint64_t v0, v1, v2, v3;
};

/* The part of a SipRound that reads only v0 and v1.  In the first round
 * nothing has touched them since initialization (a message word enters
 * through v3), so lfd_sip13_prepare applies it once per dictionary. */
static inline void lfd_sip_round_head(struct lfd_sip *s)
{
	s->v0 += s->v1;
	s->v1 = lfd_rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = lfd_rotl64(s->v0, 32);
}

/* The rest of a SipRound. */
static inline void lfd_sip_round_tail(struct lfd_sip *s)
{
	s->v2 += s->v3;
	s->v3 = lfd_rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = lfd_rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = lfd_rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = lfd_rotl64(s->v2, 32);
}

/* SipRound (the paper, section 2.2). */
static inline void lfd_sip_round(struct lfd_sip *s)
{
	lfd_sip_round_head(s);
	lfd_sip_round_tail(s);
}

/* Little-endian loads of exactly 8 and 4 bytes (no alignment needed). */
static inline uint64_t lfd_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint64_t lfd_le32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

/* Compress message word m with SipHash-1-3's one round. */
static inline void lfd_sip13_word(struct lfd_sip *s, uint64_t m)
{
	s->v3 ^= m;
	lfd_sip_round(s);
	s->v0 ^= m;
}

/* The same for the first word, from the prepared state (whose round head
 * is done). */
static inline void lfd_sip13_first(struct lfd_sip *s, uint64_t m)
{
	s->v3 ^= m;
	lfd_sip_round_tail(s);
	s->v0 ^= m;
}

/* Finalization: three rounds, and the output word. */
static inline uint64_t lfd_sip13_final(struct lfd_sip *s)
{
	s->v2 ^= 0xff;
	lfd_sip_round(s);
	lfd_sip_round(s);
	lfd_sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/* Bytes p[0..n) as a little-endian word, n <= 7, reading no byte past
 * p[n-1] (a key may end at the end of a page): two overlapping 4-byte
 * loads for 4..7 bytes, three single bytes (some twice) for 1..3.  Where
 * two loads overlap they hold the same bytes, so OR joins them. */
static inline uint64_t lfd_sip_bytes7(const unsigned char *p, size_t n)
{
	if (n >= 4)
		return lfd_le32(p) | lfd_le32(p + n - 4) << (8 * (n - 4));
	if (n == 0)
		return 0;
	return (uint64_t)p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) |
	       (uint64_t)p[n - 1] << (8 * (n - 1));
}

/*
 * SipHash-1-3 of data[0..len) under the key st was prepared from.  The
 * paper's message: the whole 8-byte words, then a last word holding the
 * remaining len % 8 bytes with len's low byte on top.  Keys of 0..16 bytes
 * take one of four straight paths with whole loads, none past the key's
 * end: 0..7 (the last word only), 8 and 16 (whole words, a constant last
 * word), 9..15 (one word, and the tail taken from the overlapping load of
 * the key's last 8 bytes, shifted down past the bytes already compressed).
 * Always inlined: gcc otherwise keeps one out-of-line copy for its five
 * callers, and the call, not the hash, was then the dearer part.
 */
static inline __attribute__((always_inline)) uint64_t
lfd_sip13(const uint64_t st[4], const void *data, size_t len)
{
	const unsigned char *p = data;
	struct lfd_sip s = { st[0], st[1], st[2], st[3] };
	uint64_t last = (uint64_t)len << 56;

	if (len > 16)
		return lfd_sip13_long(st, data, len);
	if (len < 8) {
		lfd_sip13_first(&s, last | lfd_sip_bytes7(p, len));
	} else {
		lfd_sip13_first(&s, lfd_le64(p));
		if (len == 16)
			lfd_sip13_word(&s, lfd_le64(p + 8));
		else if (len > 8)
			last |= lfd_le64(p + len - 8) >> (8 * (16 - len));
		lfd_sip13_word(&s, last);
	}
	return lfd_sip13_final(&s);
}

#endif /* LFD_HASH_H */
