/*
 * main.c - lfd-kvserver's options, startup and shutdown: parse the command
 * line, create the table and the listening socket, set every worker up and
 * start them, then sweep expired items until SIGINT or SIGTERM, and free
 * everything.
 *
 * SPDX-License-Identifier: MIT
 *
 * May use: everything kvserver.h declares.  It owns the options and
 * start_time; the rest of the server's state is items.c's and conn.c's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kvserver.h"

#define SWEEP_PERIOD 5		  /* seconds between sweeps of expired items */

struct kv_options opt = {
	.listen_addr = "127.0.0.1",
	.port = 11211,
	.threads = 4,
	.max_conns = 1024,
	.max_item = 1024 * 1024,
	.mem_limit = 64 * 1024 * 1024,
	.reqs_per_event = 20,
};
time_t start_time;

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return 0;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	return *end == '\0' ? (size_t)v : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: lfd-kvserver [options]\n"
"  -p, --port N          TCP port (default 11211; 0: any free port)\n"
"  -l, --listen ADDR     IPv4 address to listen on (default 127.0.0.1)\n"
"  -t, --threads N       worker threads (default 4)\n"
"  -c, --max-conns N     maximum simultaneous connections (default 1024)\n"
"  -m, --memory-limit MB item memory limit in megabytes (default 64); when\n"
"                        full, a store evicts the least valuable items\n"
"  -M, --disable-evictions  when full, refuse stores with an error instead\n"
"  -I, --max-item-size S largest value, bytes, k/m suffix (default 1m)\n"
"  -R, --max-reqs-per-event N  commands a connection runs before the others\n"
"                        get a turn (default 20; \"stats conn_yields\")\n"
"  -F, --disable-flush-all  flush_all answers CLIENT_ERROR\n"
"  -C, --disable-cas     no cas uniques (gets shows 0)\n"
"      --debug-time      enable \"debugtime <seconds>\", which moves the\n"
"                        server's clock forward (for memcached's tests)\n"
"  -P, --port-file FILE  write the port listened on to FILE when ready\n"
"  -v, --verbose         log connections and shutdown to stderr\n"
"  -h, --help\n"
"SIGINT or SIGTERM: stop accepting, close connections, free everything.\n");
}

/* *v = the decimal number s, if it is one in [lo, hi]. */
static bool parse_long(const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return end != s && *end == '\0' && errno == 0 && *v >= lo && *v <= hi;
}

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-conns", required_argument, NULL, 'c' },
		{ "memory-limit", required_argument, NULL, 'm' },
		{ "disable-evictions", no_argument, NULL, 'M' },
		{ "max-item-size", required_argument, NULL, 'I' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "max-reqs-per-event", required_argument, NULL, 'R' },
		{ "disable-flush-all", no_argument, NULL, 'F' },
		{ "disable-cas", no_argument, NULL, 'C' },
		{ "debug-time", no_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	long v;

	while ((ch = getopt_long(argc, argv, "p:l:t:c:m:I:P:R:FCMvh", lo, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (!parse_long(optarg, 0, 65535, &v))
				goto bad;
			opt.port = (int)v;
			break;
		case 'l':
			opt.listen_addr = optarg;
			break;
		case 't':
			if (!parse_long(optarg, 1, 256, &v))
				goto bad;
			opt.threads = (int)v;
			break;
		case 'c':
			if (!parse_long(optarg, 1, 1000000, &v))
				goto bad;
			opt.max_conns = v;
			break;
		case 'm':
			if (!parse_long(optarg, 1, 1024 * 1024, &v))
				goto bad;
			opt.mem_limit = (size_t)v << 20;
			break;
		case 'I':
			opt.max_item = parse_size(optarg);
			if (opt.max_item == 0 || opt.max_item > (size_t)1 << 30)
				goto bad;
			break;
		case 'P':
			opt.port_file = optarg;
			break;
		case 'R':
			if (!parse_long(optarg, 1, 1000000, &v))
				goto bad;
			opt.reqs_per_event = (int)v;
			break;
		case 'F':
			opt.no_flush = true;
			break;
		case 'C':
			opt.no_cas = true;
			break;
		case 'M':
			opt.no_evict = true;
			break;
		case 'D':
			opt.debug_time = true;
			break;
		case 'v':
			opt.verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	return 0;
bad:
	usage(stderr);
	return -1;
}

/* Room for opt.max_conns connections and our own descriptors: raise the
 * soft limit (and, as root, the hard one) as memcached does; if that fails
 * the limit stays, and a connection over it waits in the listen queue. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)opt.max_conns + 64 + 4 * (rlim_t)opt.threads;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int open_listener(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)opt.port) };
	socklen_t sl = sizeof(sa);
	int one = 1;

	if (inet_pton(AF_INET, opt.listen_addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "lfd-kvserver: bad listen address %s\n",
			opt.listen_addr);
		return -1;
	}
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 ||
	    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listen_fd, 1024) ||
	    getsockname(listen_fd, (struct sockaddr *)&sa, &sl)) {
		perror("lfd-kvserver: listen");
		return -1;
	}
	opt.port = ntohs(sa.sin_port);
	return 0;
}

int main(int argc, char **argv)
{
	struct lfd_config cfg = { 0 };
	sigset_t sigs;
	int rc = 1, started = 0;

	if (parse_args(argc, argv))
		return 2;
	start_time = time(NULL);
	raise_fd_limit();
	/* Signals: SIGPIPE ignored (send uses MSG_NOSIGNAL anyway); SIGINT and
	 * SIGTERM blocked in every thread and taken by sigtimedwait below. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	cfg.value_free = item_free;
	cfg.flavor = KV_FLAVOR;
	KV_FLAVOR->register_thread(); /* the main thread sweeps (lfd_foreach) */
	dict = lfd_new(&cfg);
	if (dict == NULL) {
		perror("lfd-kvserver: lfd_new");
		return 1;
	}
	workers = calloc((size_t)opt.threads, sizeof(*workers));
	stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (workers == NULL || stop_fd < 0 || open_listener() < 0)
		goto out;
	/* set every worker up before any starts: any may hand sockets to any */
	for (int i = 0; i < opt.threads; i++) {
		struct worker *w = &workers[i];
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
					  .data.ptr = &listen_marker };
		struct epoll_event sev = { .events = EPOLLIN,
					   .data.ptr = &stop_marker };
		struct epoll_event nev = { .events = EPOLLIN,
					   .data.ptr = &notify_marker };
		pthread_mutex_init(&w->qlock, NULL);
		w->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0 || w->notify_fd < 0 ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, listen_fd, &ev) ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, stop_fd, &sev) ||
		    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->notify_fd, &nev)) {
			perror("lfd-kvserver: worker");
			goto stop;
		}
	}
	for (int i = 0; i < opt.threads; i++) {
		if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i])) {
			perror("lfd-kvserver: pthread_create");
			goto stop;
		}
		started++;
	}
	if (opt.port_file) {
		/* write then rename, so a reader never sees a partial file */
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", opt.port_file);
		FILE *f = fopen(tmp, "w");
		if (f == NULL || fprintf(f, "%d\n", opt.port) < 0 || fclose(f) ||
		    rename(tmp, opt.port_file)) {
			perror("lfd-kvserver: port file");
			goto stop;
		}
	}
	if (opt.verbose)
		fprintf(stderr, "lfd-kvserver: %s:%d, %d threads\n",
			opt.listen_addr, opt.port, opt.threads);

	/* The main thread waits for a signal and sweeps expired items. */
	for (int tick = 0;; tick++) {
		struct timespec ts = { 1, 0 };
		int sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM) {
			if (opt.verbose)
				fprintf(stderr, "lfd-kvserver: signal %d, stopping\n", sig);
			break;
		}
		/* seq_cst: pairs with cmd_flush's stores; relaxed
		 * have_expiring: a hint, a store missed now is seen later */
		long long fl = atomic_load_explicit(&flush_deadline,
						    memory_order_seq_cst);
		if ((fl != 0 && kv_now() >= fl) ||
		    (tick % SWEEP_PERIOD == 0 &&
		     atomic_load_explicit(&have_expiring, memory_order_relaxed)))
			flush_table(true);
	}
	rc = 0;
stop:
	/* seq_cst: pairs with the load in worker_main */
	atomic_store_explicit(&stopping, true, memory_order_seq_cst);
	{
		uint64_t one = 1;
		ssize_t r = write(stop_fd, &one, sizeof(one));
		(void)r;
	}
	for (int i = 0; i < started; i++)
		pthread_join(workers[i].tid, NULL);
	for (int i = 0; workers != NULL && i < opt.threads; i++) {
		struct worker *w = &workers[i];
		for (size_t j = 0; j < w->qlen; j++)
			close(w->q[j]); /* handed over, never adopted */
		free(w->q);
		if (w->epfd > 0)
			close(w->epfd);
		if (w->notify_fd > 0)
			close(w->notify_fd);
		pthread_mutex_destroy(&w->qlock);
	}
out:
	if (listen_fd >= 0)
		close(listen_fd);
	if (stop_fd >= 0)
		close(stop_fd);
	free(workers);
	if (lfd_destroy(dict) != 0)
		rc = 1;
	KV_FLAVOR->unregister_thread();
	if (opt.verbose)
		fprintf(stderr, "lfd-kvserver: stopped\n");
	return rc;
}
