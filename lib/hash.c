/*
 * hash.c - the default keyed hash (SipHash) and the per-dictionary seed.
 * Uses internal.h only (bottom layer).
 *
 * SPDX-License-Identifier: MIT
 *
 * SipHash-c-d (Aumasson & Bernstein, "SipHash: a fast short-input PRF",
 * INDOCRYPT 2012), written from the paper's description.  lfdict uses
 * SipHash-1-3 (one compression round per word, three finalization rounds),
 * the variant CPython and Rust use for their hash tables; SipHash-2-4 is
 * kept for checking this implementation against the paper's test vector.
 * With a secret 128-bit seed per dictionary, someone who chooses keys but
 * not the seed cannot aim them at one chain (hash flooding).
 *
 * Two implementations of the same function: lfd_siphash13 here, the
 * paper's algorithm as written (the reference), and lfd_sip13 in hash.h,
 * the one calls use: it starts from a state computed once per dictionary
 * from the seed (lfd_sip13_prepare: the key XOR the constants, and the
 * first round's steps that do not involve the message), and takes keys of
 * up to 16 bytes without loops.  Both compute SipHash-1-3 keyed by the
 * seed, so the argument above holds for either; tests/test_internal.c
 * checks that they agree and match published vectors.
 *
 * Keys of up to 15 bytes, on x86-64 CPUs with the AES instructions, take
 * AES-128 instead (FIPS-197, "Advanced Encryption Standard", NIST 2001)
 * under a second random 128-bit key: the block is the key's bytes, zeros,
 * and the key's length in byte 15, so distinct keys are distinct blocks;
 * the hash is the ciphertext's first 8 bytes.  The flooding argument
 * needs of the hash what it needs of SipHash: that someone who does not
 * know the key cannot tell it from a random function.  AES-128 is a
 * pseudorandom permutation, and a random permutation of 2^128 blocks
 * cannot be told from a random function with fewer than about 2^64
 * queries (the PRP/PRF switching lemma; Bellare and Rogaway, "The security
 * of triple encryption and a framework for code-based game-playing
 * proofs", EUROCRYPT 2006, lemma 1).  Why: an 8-byte key's SipHash-1-3 is
 * about 90 instructions and AES-128 about 25, and where gets are waiting
 * for cache misses (a big table) the fewer instructions let more gets'
 * misses overlap (doc/performance.md).  tests/test_internal.c checks this
 * code against FIPS-197's vectors (appendices A.1, B and C.1) and its
 * block layout against a byte-by-byte construction.
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"

#ifdef LFD_HAVE_AES
#include <cpuid.h>
#endif

/* SipHash's initialization: the key XOR "somepseudorandomlygeneratedbytes". */
static inline struct lfd_sip lfd_sip_init(const uint64_t key[2])
{
	struct lfd_sip s = {
		key[0] ^ UINT64_C(0x736f6d6570736575),
		key[1] ^ UINT64_C(0x646f72616e646f6d),
		key[0] ^ UINT64_C(0x6c7967656e657261),
		key[1] ^ UINT64_C(0x7465646279746573),
	};

	return s;
}

static inline uint64_t lfd_siphash(const uint64_t key[2], const void *data,
				   size_t len, int c, int d)
{
	const unsigned char *p = data;
	struct lfd_sip s = lfd_sip_init(key);
	uint64_t m, last = (uint64_t)len << 56;
	size_t i, tail = len & 7;
	int r;

	for (i = 0; i + 8 <= len; i += 8) {
		m = lfd_le64(p + i);
		s.v3 ^= m;
		for (r = 0; r < c; r++)
			lfd_sip_round(&s);
		s.v0 ^= m;
	}
	for (i = 0; i < tail; i++)
		last |= (uint64_t)p[len - tail + i] << (8 * i);
	s.v3 ^= last;
	for (r = 0; r < c; r++)
		lfd_sip_round(&s);
	s.v0 ^= last;
	s.v2 ^= 0xff;
	for (r = 0; r < d; r++)
		lfd_sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t lfd_siphash13(const uint64_t key[2], const void *data, size_t len)
{
	return lfd_siphash(key, data, len, 1, 3);
}

uint64_t lfd_siphash24(const uint64_t key[2], const void *data, size_t len)
{
	return lfd_siphash(key, data, len, 2, 4);
}

/* The initialization of lfd_siphash, then the head of the first
 * compression round (hash.h: it does not read the message). */
void lfd_sip13_prepare(uint64_t st[4], const uint64_t seed[2])
{
	struct lfd_sip s = lfd_sip_init(seed);

	lfd_sip_round_head(&s);
	st[0] = s.v0;
	st[1] = s.v1;
	st[2] = s.v2;
	st[3] = s.v3;
}

/* lfd_sip13 for len > 16: the whole words in a loop, and the last word's
 * tail bytes from an overlapping load of the key's last 8 bytes. */
uint64_t lfd_sip13_long(const uint64_t st[4], const void *data, size_t len)
{
	const unsigned char *p = data;
	struct lfd_sip s = { st[0], st[1], st[2], st[3] };
	uint64_t last = (uint64_t)len << 56;
	size_t i, tail = len & 7;

	lfd_sip13_first(&s, lfd_le64(p));
	for (i = 8; i + 8 <= len; i += 8)
		lfd_sip13_word(&s, lfd_le64(p + i));
	if (tail)
		last |= lfd_le64(p + len - 8) >> (8 * (8 - tail));
	lfd_sip13_word(&s, last);
	return lfd_sip13_final(&s);
}

#ifdef LFD_HAVE_AES
bool lfd_aes_usable(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_AES) != 0;
}

/* The next round key from k and AESKEYGENASSIST's output for k (FIPS-197
 * 5.2, key words w[i] = w[i-4] ^ w[i-1], and the first of four also
 * ^ SubWord(RotWord(w[i-1])) ^ Rcon: word 3 of the assist).  The two
 * shifted XORs make word j of k the XOR of k's words 0..j. */
static LFD_AES_TARGET inline __m128i lfd_aes_next_key(__m128i k, __m128i assist)
{
	assist = _mm_shuffle_epi32(assist, 0xff);
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 8));
	return _mm_xor_si128(k, assist);
}

/* (AESKEYGENASSIST takes its round constant as an immediate.) */
#define LFD_AES_EXPAND(i, rcon)                                               \
	do {                                                                  \
		k = lfd_aes_next_key(k, _mm_aeskeygenassist_si128(k, rcon));  \
		_mm_storeu_si128((__m128i *)(void *)rk[i], k);                \
	} while (0)

LFD_AES_TARGET void lfd_aes_prepare(unsigned char rk[11][16],
				    const uint64_t key[2])
{
	__m128i k = _mm_set_epi64x((long long)key[1], (long long)key[0]);

	_mm_storeu_si128((__m128i *)(void *)rk[0], k);
	LFD_AES_EXPAND(1, 0x01);
	LFD_AES_EXPAND(2, 0x02);
	LFD_AES_EXPAND(3, 0x04);
	LFD_AES_EXPAND(4, 0x08);
	LFD_AES_EXPAND(5, 0x10);
	LFD_AES_EXPAND(6, 0x20);
	LFD_AES_EXPAND(7, 0x40);
	LFD_AES_EXPAND(8, 0x80);
	LFD_AES_EXPAND(9, 0x1b);
	LFD_AES_EXPAND(10, 0x36);
}

/* The block: bytes 0-7 the key's first 8 (or all of a shorter key, zeros
 * after), bytes 8-14 the rest from an overlapping load of the key's last 8
 * bytes shifted down past the 8 already taken, byte 15 the length; no load
 * reads past the key's end. */
LFD_AES_TARGET uint64_t lfd_aes_short(const unsigned char rk[11][16],
				      const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t lo, hi = (uint64_t)len << 56;

	if (len < 8) {
		lo = lfd_sip_bytes7(p, len);
	} else {
		lo = lfd_le64(p);
		if (len > 8)
			hi |= lfd_le64(p + len - 8) >> (8 * (16 - len));
	}
	return (uint64_t)_mm_cvtsi128_si64(
		lfd_aes_block(rk, _mm_set_epi64x((long long)hi, (long long)lo)));
}
#endif /* LFD_HAVE_AES */

/*
 * 128 random bits from the kernel.  If getrandom and /dev/urandom both
 * fail (a sandbox), fall back to mixing the clock, addresses and a counter
 * through SipHash: weaker against a determined attacker, but never an
 * error -- a dictionary is still usable.
 */
void lfd_seed_init(uint64_t seed[2])
{
	static LFD_ATOMIC(uint64_t) counter;
	unsigned char *buf = (unsigned char *)seed;
	size_t got = 0;

	while (got < 16) {
		ssize_t n = getrandom(buf + got, 16 - got, GRND_NONBLOCK);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < 16) {
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			while (got < 16) {
				ssize_t n = read(fd, buf + got, 16 - got);

				if (n <= 0)
					break;
				got += (size_t)n;
			}
			close(fd);
		}
	}
	if (got < 16) {
		struct timespec ts;
		uint64_t mix[4], k[2] = { 0x6c66646963742121u, 0 };

		clock_gettime(CLOCK_REALTIME, &ts);
		mix[0] = (uint64_t)ts.tv_sec;
		mix[1] = (uint64_t)ts.tv_nsec;
		mix[2] = (uint64_t)(uintptr_t)seed;
		/* relaxed: only needs to differ between calls. */
		mix[3] = lfd_a_fetch_add(&counter, 1, memory_order_relaxed);
		seed[0] = lfd_siphash24(k, mix, sizeof(mix));
		k[1] = seed[0];
		seed[1] = lfd_siphash24(k, mix, sizeof(mix));
	}
}
