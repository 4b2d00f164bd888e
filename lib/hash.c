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
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"

static inline uint64_t lfd_rotl(uint64_t x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

struct lfd_sip {
	uint64_t v0, v1, v2, v3;
};

static inline void lfd_sip_round(struct lfd_sip *s)
{
	s->v0 += s->v1;
	s->v1 = lfd_rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = lfd_rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = lfd_rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = lfd_rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = lfd_rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = lfd_rotl(s->v2, 32);
}

static inline uint64_t lfd_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint64_t lfd_siphash(const uint64_t key[2], const void *data,
				   size_t len, int c, int d)
{
	const unsigned char *p = data;
	struct lfd_sip s = {
		key[0] ^ UINT64_C(0x736f6d6570736575),
		key[1] ^ UINT64_C(0x646f72616e646f6d),
		key[0] ^ UINT64_C(0x6c7967656e657261),
		key[1] ^ UINT64_C(0x7465646279746573),
	};
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
