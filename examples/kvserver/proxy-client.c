/*
 * proxy-client - a verifying libmemcached client of one endpoint (a proxy
 * such as twemproxy in front of several lfd-kvservers), for
 * proxy-test.sh.
 *
 * SPDX-License-Identifier: MIT
 *
 * usage: proxy-client host:port NKEYS load [host:port...]
 *   Stores keys user:0 .. user:NKEYS-1 (value "profile-<i>") through the
 *   endpoint, reads every one back (each must be right), then asks each
 *   server given after "load" alone which of the keys it holds: every key
 *   on exactly one server, every server holding at least a tenth of them.
 * usage: proxy-client host:port NKEYS run SECONDS
 *   Random gets for SECONDS, a miss followed by a set of the right value;
 *   every hit must carry the right value (a wrong value fails the run).
 *   Prints, per half second, the gets answered, the misses and the errors
 *   (a request the endpoint could not serve: a server just killed), and
 *   fails unless the last second had answers and no error (the endpoint
 *   keeps serving).
 * usage: proxy-client host:port NKEYS verify
 *   Gets every key (right value or a miss: the keys of a server that left),
 *   then sets every key and reads every one back: all right, no error.
 *
 * Built by proxy-test.sh (needs libmemcached-dev); not part of `make`.
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXKEYS 1000000
#define SLOTS 240 /* half seconds */

static memcached_st *client(const char *hostport)
{
	char conf[256];

	snprintf(conf, sizeof conf, "--SERVER=%s", hostport);
	memcached_st *m = memcached(conf, strlen(conf));
	if (m == NULL) {
		fprintf(stderr, "proxy-client: bad server \"%s\"\n", hostport);
		exit(2);
	}
	/* one endpoint: never mark it dead and back off after an error
	 * (the errors the test expects come from behind it) */
	memcached_behavior_set(m, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 0);
	memcached_behavior_set(m, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 0);
	return m;
}

static int key_of(int i, char *key, size_t n)
{
	return snprintf(key, n, "user:%d", i);
}

static int val_of(int i, char *val, size_t n)
{
	return snprintf(val, n, "profile-%d", i);
}

enum answer { RIGHT, MISS, WRONG, ERROR };

static enum answer get_one(memcached_st *m, int i)
{
	char key[32], val[32];
	int kl = key_of(i, key, sizeof key), vl = val_of(i, val, sizeof val);
	size_t len;
	uint32_t fl;
	memcached_return_t rc;
	char *v = memcached_get(m, key, (size_t)kl, &len, &fl, &rc);
	enum answer a = v != NULL ? (len == (size_t)vl &&
				     memcmp(v, val, len) == 0 ? RIGHT : WRONG)
		      : rc == MEMCACHED_NOTFOUND ? MISS : ERROR;

	free(v);
	return a;
}

static int set_one(memcached_st *m, int i)
{
	char key[32], val[32];
	int kl = key_of(i, key, sizeof key), vl = val_of(i, val, sizeof val);

	return memcached_set(m, key, (size_t)kl, val, (size_t)vl, 0, 0) ==
	       MEMCACHED_SUCCESS;
}

/* Set every key, read every one back: the number of failures. */
static int set_all(memcached_st *m, int nkeys)
{
	int bad = 0;

	for (int i = 0; i < nkeys; i++)
		bad += !set_one(m, i);
	for (int i = 0; i < nkeys; i++)
		bad += get_one(m, i) != RIGHT;
	return bad;
}

static int load(memcached_st *m, int nkeys, int nsrv, char **srv)
{
	int bad = set_all(m, nkeys), total = 0;

	printf("stored and read back %d keys through the proxy: %d errors\n",
	       nkeys, bad);
	for (int s = 0; s < nsrv; s++) {
		memcached_st *one = client(srv[s]);
		int have = 0;

		for (int i = 0; i < nkeys; i++)
			have += get_one(one, i) == RIGHT;
		printf("  server %d (%s) holds %d keys\n", s, srv[s], have);
		bad += have < nkeys / 10;
		total += have;
		memcached_free(one);
	}
	printf("  total %d: each key on exactly one server: %s\n", total,
	       total == nkeys ? "yes" : "NO");
	return bad + (total != nkeys);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int run(memcached_st *m, int nkeys, double seconds)
{
	static long n[SLOTS][4];
	double t0 = now(), t;
	unsigned long r = 88172645463325252ul;
	int last = 0;

	while ((t = now() - t0) < seconds) {
		int slot = (int)(t * 2), i;
		enum answer a;

		if (slot >= SLOTS)
			break;
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		i = (int)(r % (unsigned long)nkeys);
		a = get_one(m, i);
		if (a == MISS && !set_one(m, i))
			a = ERROR;
		n[slot][a]++;
		last = slot;
	}
	long wrong = 0, err = 0;
	printf("half-second slots: answered (right+miss) / misses / errors\n");
	for (int s = 0; s <= last; s++) {
		printf("  %4.1f s: %6ld / %5ld / %4ld\n", s / 2.0,
		       n[s][RIGHT] + n[s][MISS], n[s][MISS], n[s][ERROR]);
		wrong += n[s][WRONG];
		err += n[s][ERROR];
	}
	long tail_ok = 0, tail_err = 0;
	for (int s = last - 2; s >= 0 && s < last; s++) { /* the last second */
		tail_ok += n[s][RIGHT] + n[s][MISS];
		tail_err += n[s][ERROR];
	}
	printf("wrong values: %ld; errors: %ld; last second: %ld answered, %ld "
	       "errors\n", wrong, err, tail_ok, tail_err);
	return wrong != 0 || tail_ok == 0 || tail_err != 0;
}

static int verify(memcached_st *m, int nkeys)
{
	long c[4] = { 0 };

	for (int i = 0; i < nkeys; i++)
		c[get_one(m, i)]++;
	printf("after the run: %ld keys right, %ld missing (the killed "
	       "server's, not set again), %ld wrong, %ld errors\n",
	       c[RIGHT], c[MISS], c[WRONG], c[ERROR]);
	int bad = set_all(m, nkeys);
	printf("set again and read back %d keys: %d errors\n", nkeys, bad);
	return bad != 0 || c[WRONG] != 0 || c[ERROR] != 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: proxy-client host:port NKEYS "
				"load [host:port...] | run SECONDS | verify\n");
		return 2;
	}
	int nkeys = atoi(argv[2]), rc;
	memcached_st *m = client(argv[1]);

	if (nkeys <= 0 || nkeys > MAXKEYS)
		return 2;
	if (strcmp(argv[3], "load") == 0)
		rc = load(m, nkeys, argc - 4, argv + 4);
	else if (strcmp(argv[3], "run") == 0 && argc == 5)
		rc = run(m, nkeys, atof(argv[4]));
	else if (strcmp(argv[3], "verify") == 0)
		rc = verify(m, nkeys);
	else
		rc = 2;
	memcached_free(m);
	return rc;
}
