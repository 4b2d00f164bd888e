/*
 * test_dlopen.c - liblfdict.so loaded with dlopen() by a program that links
 * neither lfdict nor liburcu, with a thread that already runs before the
 * load and uses the dictionary after it.
 *
 * Why: the library reaches thread-local data (urcu-bp's reader record,
 * its own counters) through the initial-exec TLS model unless configured
 * with --disable-static-tls (configure.ac).  That model needs the static
 * TLS block of every thread, including threads created before the load,
 * to be set up by the dynamic loader at dlopen time; this test is the
 * proof that it is, on the platform the tests run on.
 *
 * The library's path: $LFD_DLOPEN_LIB, else lib/.libs/liblfdict.so (the
 * libtool build tree; tests run in the build directory).  Exit 77 (skip)
 * when there is no shared library (--disable-shared builds).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lfdict.h> /* types only: the calls go through dlsym */

/* The calls' types; each is checked against the header at compile time
 * (_Generic does not evaluate &fn: no link-time reference to the library). */
typedef struct lfd *lfd_new_fn(const struct lfd_config *cfg);
typedef int lfd_destroy_fn(struct lfd *d);
typedef int lfd_insert_fn(struct lfd *d, const void *key, size_t len,
			  void *value, void **current);
typedef int lfd_take_fn(struct lfd *d, const void *key, size_t len,
			void **value);
#define LFD_HAS_TYPE(fn, type) \
	_Static_assert(_Generic(&fn, type *: 1, default: 0), \
		       #fn " is not of type " #type)
LFD_HAS_TYPE(lfd_new, lfd_new_fn);
LFD_HAS_TYPE(lfd_destroy, lfd_destroy_fn);
LFD_HAS_TYPE(lfd_insert, lfd_insert_fn);
LFD_HAS_TYPE(lfd_get, lfd_take_fn);
LFD_HAS_TYPE(lfd_pop, lfd_take_fn);

struct lfd_api {
	lfd_new_fn *new_;
	lfd_destroy_fn *destroy;
	lfd_insert_fn *insert;
	lfd_take_fn *get, *pop;
};

static struct lfd_api api;
static struct lfd *dict;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int loaded;

#define N 2000

static int fail(const char *what)
{
	fprintf(stderr, "FAIL: %s\n", what);
	return 1;
}

/* Insert keys [lo, lo+N) with value key+1, check each, pop each. */
static int work(uint64_t lo)
{
	for (uint64_t k = lo; k < lo + N; k++) {
		if (api.insert(dict, &k, sizeof(k), (void *)(uintptr_t)(k + 1),
			       NULL) != 0)
			return fail("insert");
	}
	for (uint64_t k = lo; k < lo + N; k++) {
		void *v = NULL;

		if (api.get(dict, &k, sizeof(k), &v) != 0 ||
		    v != (void *)(uintptr_t)(k + 1))
			return fail("get");
		if (api.pop(dict, &k, sizeof(k), &v) != 0 ||
		    v != (void *)(uintptr_t)(k + 1))
			return fail("pop");
		if (api.get(dict, &k, sizeof(k), &v) != -ENOENT)
			return fail("get after pop");
	}
	return 0;
}

/* Started before dlopen: its TLS was laid out without the library's. */
static void *early_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!loaded)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return (void *)(intptr_t)work(1000000);
}

int main(void)
{
	const char *path = getenv("LFD_DLOPEN_LIB");
	pthread_t t;
	void *h, *tr;
	int r;

	if (path == NULL)
		path = "lib/.libs/liblfdict.so";
	if (access(path, R_OK) != 0) {
		printf("SKIP: no shared library at %s\n", path);
		return 77;
	}
	if (pthread_create(&t, NULL, early_thread, NULL) != 0)
		return fail("pthread_create");
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		fprintf(stderr, "FAIL: dlopen %s: %s\n", path, dlerror());
		return 1;
	}
	*(void **)&api.new_ = dlsym(h, "lfd_new");
	*(void **)&api.destroy = dlsym(h, "lfd_destroy");
	*(void **)&api.insert = dlsym(h, "lfd_insert");
	*(void **)&api.get = dlsym(h, "lfd_get");
	*(void **)&api.pop = dlsym(h, "lfd_pop");
	if (!api.new_ || !api.destroy || !api.insert || !api.get || !api.pop)
		return fail("dlsym");
	dict = api.new_(NULL);
	if (dict == NULL)
		return fail("lfd_new");
	pthread_mutex_lock(&mu);
	loaded = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	r = work(0);
	pthread_join(t, &tr);
	if (r != 0 || tr != NULL)
		return 1;
	if (api.destroy(dict) != 0)
		return fail("lfd_destroy");
	printf("dlopen %s: 2 threads (one started before the load), "
	       "%d inserts, gets and pops each: ok\n", path, N);
	return 0;
}
