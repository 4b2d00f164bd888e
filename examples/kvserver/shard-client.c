/*
 * shard-client - one libmemcached client over several lfd-kvserver (or
 * memcached) processes, keys placed by consistent hashing (ketama).
 *
 * SPDX-License-Identifier: MIT
 *
 * usage: shard-client NKEYS host:port [host:port...]
 *   Stores NKEYS keys through one memcached_st configured with
 *   --DISTRIBUTION=consistent (ketama, libmemcached's libketama-compatible
 *   continuum), reads them all back through the same client, then asks each
 *   server alone how many of the keys it holds.  Then drops the last server
 *   from the client's list and counts how many keys still map to the same
 *   server: with ketama only the dropped server's share moves.
 *
 * Built by shard-demo.sh (needs libmemcached-dev); not part of `make`.
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXS 8

static memcached_st *client(int nsrv, char **srv)
{
	char conf[1024] = "--DISTRIBUTION=consistent";
	for (int i = 0; i < nsrv; i++) {
		strcat(conf, " --SERVER=");
		strncat(conf, srv[i], 100);
	}
	memcached_st *m = memcached(conf, strlen(conf));
	if (m == NULL) {
		fprintf(stderr, "shard-client: bad configuration \"%s\"\n", conf);
		exit(1);
	}
	return m;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc - 2 > MAXS) {
		fprintf(stderr, "usage: shard-client NKEYS host:port host:port...\n");
		return 2;
	}
	int nkeys = atoi(argv[1]), nsrv = argc - 2, bad = 0;
	char **srv = argv + 2;
	memcached_st *all = client(nsrv, srv);
	memcached_return_t rc;
	char key[64], val[64];
	static int where[100000];

	if (nkeys <= 0 || nkeys > 100000)
		return 2;
	printf("client: %s, %d servers\n", "ketama (--DISTRIBUTION=consistent)", nsrv);
	for (int i = 0; i < nkeys; i++) {
		int kl = snprintf(key, sizeof(key), "user:%d", i);
		int vl = snprintf(val, sizeof(val), "profile-%d", i);
		rc = memcached_set(all, key, (size_t)kl, val, (size_t)vl, 0, 0);
		if (rc != MEMCACHED_SUCCESS) {
			fprintf(stderr, "set %s: %s\n", key, memcached_strerror(all, rc));
			bad++;
		}
		where[i] = (int)memcached_generate_hash(all, key, (size_t)kl);
	}
	/* read back through the sharded client */
	for (int i = 0; i < nkeys; i++) {
		size_t len;
		uint32_t fl;
		int kl = snprintf(key, sizeof(key), "user:%d", i);
		int vl = snprintf(val, sizeof(val), "profile-%d", i);
		char *v = memcached_get(all, key, (size_t)kl, &len, &fl, &rc);
		if (v == NULL || len != (size_t)vl || memcmp(v, val, len) != 0)
			bad++;
		free(v);
	}
	printf("stored and read back %d keys through one client: %d errors\n",
	       nkeys, bad);
	/* each server alone: how many of the keys does it hold? */
	int total = 0;
	for (int s = 0; s < nsrv; s++) {
		memcached_st *one = client(1, &srv[s]);
		int have = 0, predicted = 0;
		for (int i = 0; i < nkeys; i++) {
			size_t len;
			uint32_t fl;
			int kl = snprintf(key, sizeof(key), "user:%d", i);
			char *v = memcached_get(one, key, (size_t)kl, &len, &fl, &rc);
			if (v != NULL)
				have++;
			free(v);
			predicted += where[i] == s;
		}
		printf("  server %d (%s): %d keys (ketama placed %d there)\n", s, srv[s],
		       have, predicted);
		if (have != predicted)
			bad++;
		total += have;
		memcached_free(one);
	}
	printf("  total %d (each key on exactly one server: %s)\n", total,
	       total == nkeys ? "yes" : "NO");
	if (total != nkeys)
		bad++;
	/* remove the last server: which keys move? */
	if (nsrv > 1) {
		memcached_st *fewer = client(nsrv - 1, srv);
		int stay = 0, lost = 0;
		for (int i = 0; i < nkeys; i++) {
			int kl = snprintf(key, sizeof(key), "user:%d", i);
			int s = (int)memcached_generate_hash(fewer, key, (size_t)kl);
			if (where[i] == nsrv - 1)
				lost++;
			else if (s == where[i])
				stay++;
		}
		printf("without server %d: %d of the %d keys on the others keep their "
		       "server (%d keys had to move: the removed server's)\n",
		       nsrv - 1, stay, nkeys - lost, lost);
		if (stay != nkeys - lost)
			bad++;
		memcached_free(fewer);
	}
	memcached_free(all);
	return bad ? 1 : 0;
}
