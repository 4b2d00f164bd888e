/*
 * conn.c - lfd-kvserver's connections and event loop: each connection's read
 * and write buffers, the output helpers the commands answer through, and the
 * worker threads (one epoll set each: accept and hand out sockets, adopt
 * them, read, write, close).
 *
 * SPDX-License-Identifier: MIT
 *
 * May use: kvserver.h: protocol.c's process_input for what a connection
 * reads, item_release for a value cut short by a disconnect, the options.
 * Nothing here knows a command.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvserver.h"

#define RBUF_INIT 16384

atomic_long curr_conns;
atomic_ulong total_conns;
atomic_ulong rejected_conns;
atomic_bool stopping;

int listen_fd = -1;
int stop_fd = -1; /* eventfd: readable once shutdown starts */
struct worker *workers;
/* epoll_event.data.ptr markers for the listening socket and stop_fd */
char listen_marker, stop_marker, notify_marker;
static atomic_uint next_worker;

/* ------------------------------------------------------------------------ */
/* Output                                                                     */

static bool out_reserve(struct conn *c, size_t n)
{
	if (c->wend + n <= c->wsize)
		return true;
	if (c->wstart > 0) {
		memmove(c->wbuf, c->wbuf + c->wstart, c->wend - c->wstart);
		c->wend -= c->wstart;
		c->wstart = 0;
		if (c->wend + n <= c->wsize)
			return true;
	}
	size_t ns = c->wsize ? c->wsize : 4096;
	while (ns < c->wend + n)
		ns *= 2;
	char *nb = realloc(c->wbuf, ns);
	if (nb == NULL)
		return false;
	c->wbuf = nb;
	c->wsize = ns;
	return true;
}

void out_mem(struct conn *c, const void *p, size_t n)
{
	if (!out_reserve(c, n)) {
		c->closing = true; /* cannot answer: drop the connection */
		return;
	}
	memcpy(c->wbuf + c->wend, p, n);
	c->wend += n;
}

void out_str(struct conn *c, const char *s)
{
	out_mem(c, s, strlen(s));
}

/* A normal reply, suppressed by noreply. */
void reply(struct conn *c, const char *s)
{
	if (!c->noreply)
		out_str(c, s);
}

/* An error reply.  noreply silences it too, as memcached 1.6 does in the
 * text protocol (its out_string); a command sets c->noreply before it
 * checks its arguments, so that a pipelining noreply client is not sent
 * answers it does not read. */
void reply_err(struct conn *c, const char *s)
{
	reply(c, s);
}

/* ------------------------------------------------------------------------ */
/* Connections and workers                                                    */

static void conn_close(struct conn *c)
{
	struct worker *w = c->w;

	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->yielded) {
		struct conn **pp = &w->yield_head;
		while (*pp != c)
			pp = &(*pp)->ynext;
		*pp = c->ynext;
	}
	item_release(c->it); /* a value cut short by a disconnect */
	free(c->rbuf);
	free(c->wbuf);
	free(c);
	/* relaxed: a count (see accept_conns) */
	atomic_fetch_sub_explicit(&curr_conns, 1, memory_order_relaxed);
}

/* Write what we can.  Returns -1 on a socket error. */
static int conn_flush(struct conn *c)
{
	while (c->wstart < c->wend) {
		ssize_t n = send(c->fd, c->wbuf + c->wstart, c->wend - c->wstart,
				 MSG_NOSIGNAL);
		if (n > 0) {
			c->wstart += (size_t)n;
			stat_inc(&c->w->st.v[ST_bytes_written], (uint64_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		return -1;
	}
	c->wstart = c->wend = 0;
	return 0;
}

static void conn_watch(struct conn *c, bool out)
{
	struct epoll_event ev = { .events = out ? EPOLLOUT : EPOLLIN,
				  .data.ptr = c };

	if (c->want_out == out)
		return;
	c->want_out = out;
	epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Process buffered input and send the answers; returns false if the
 * connection was closed. */
static bool conn_run(struct conn *c)
{
	for (;;) {
		enum input_status st = process_input(c);
		if (conn_flush(c) < 0) {
			conn_close(c);
			return false;
		}
		if (c->wstart < c->wend) {
			conn_watch(c, true); /* wait until the peer reads */
			return true;
		}
		if (c->closing) {
			conn_close(c);
			return false;
		}
		if (st == IN_YIELD) {
			/* the rest of its input waits for the worker's next
			 * round: on the yield list (appended, so that yielded
			 * connections take turns) */
			struct conn **pp = &c->w->yield_head;
			while (*pp != NULL && *pp != c)
				pp = &(*pp)->ynext;
			if (*pp == NULL) {
				c->ynext = NULL;
				*pp = c;
				c->yielded = true;
			}
			break;
		}
		if (st == IN_DONE)
			break;
	}
	conn_watch(c, false);
	return true;
}

/* Give each connection that yielded (-R) its next turn. */
static void run_yielded(struct worker *w)
{
	struct conn *c = w->yield_head;

	w->yield_head = NULL; /* those that yield again are appended anew */
	while (c != NULL) {
		struct conn *next = c->ynext;
		c->yielded = false;
		conn_run(c);
		c = next;
	}
}

static void conn_readable(struct conn *c)
{
	if (c->rend == c->rsize && c->rstart > 0) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	if (c->rend == c->rsize) {
		/* grow, up to a full line plus slack (values are copied out) */
		size_t ns = c->rsize * 2;
		if (ns > GET_LINE_MAX + 2 * RBUF_INIT)
			ns = GET_LINE_MAX + 2 * RBUF_INIT;
		if (ns > c->rsize) {
			char *nb = realloc(c->rbuf, ns + 1);
			if (nb == NULL) {
				conn_close(c);
				return;
			}
			c->rbuf = nb;
			c->rsize = ns;
		}
	}
	ssize_t n = recv(c->fd, c->rbuf + c->rend, c->rsize - c->rend, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(c); /* peer gone, maybe mid-value: nothing stored */
		return;
	}
	if (n < 0)
		return;
	c->rend += (size_t)n;
	stat_inc(&c->w->st.v[ST_bytes_read], (uint64_t)n);
	conn_run(c);
}

/* Adopt a socket accepted by some worker (maybe this one). */
static void adopt_conn(struct worker *w, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	char *rb = malloc(RBUF_INIT + 1);
	int one = 1;

	if (c == NULL || rb == NULL) {
		free(c);
		free(rb);
		close(fd);
		/* relaxed: a count (see accept_conns) */
		atomic_fetch_sub_explicit(&curr_conns, 1, memory_order_relaxed);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->w = w;
	c->rbuf = rb;
	c->rsize = RBUF_INIT;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		conn_close(c);
}

static void adopt_queued(struct worker *w)
{
	uint64_t cnt;
	int *q;
	size_t n;

	if (read(w->notify_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&w->qlock);
	q = w->q;
	n = w->qlen;
	w->q = NULL;
	w->qlen = w->qcap = 0;
	pthread_mutex_unlock(&w->qlock);
	for (size_t i = 0; i < n; i++)
		adopt_conn(w, q[i]);
	free(q);
}

/* The listening socket is in every worker's epoll set (EPOLLEXCLUSIVE: one
 * wakes); the worker that wakes accepts everything pending and deals the
 * sockets out round robin, so a burst of connects does not all land on it. */
static void accept_conns(void)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN (another worker took it), or an error */
		/* relaxed, as every access of curr_conns: a count; the limit
		 * needs only the RMWs' atomicity; nothing is ordered by it */
		if (atomic_fetch_add_explicit(&curr_conns, 1,
					      memory_order_relaxed) >=
		    opt.max_conns) {
			static const char msg[] = "ERROR Too many open connections\r\n";
			ssize_t r = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL);
			(void)r;
			close(fd);
			/* relaxed: a count (see above) */
			atomic_fetch_sub_explicit(&curr_conns, 1,
						  memory_order_relaxed);
			/* relaxed: a lone counter, read by "stats" */
			atomic_fetch_add_explicit(&rejected_conns, 1,
						  memory_order_relaxed);
			continue;
		}
		/* relaxed: a lone counter ("stats"), and a round robin index
		 * that only spreads the sockets (the queue lock hands them) */
		atomic_fetch_add_explicit(&total_conns, 1,
					  memory_order_relaxed);
		struct worker *t = &workers[atomic_fetch_add_explicit(
						    &next_worker, 1,
						    memory_order_relaxed) %
					    (unsigned)opt.threads];
		pthread_mutex_lock(&t->qlock);
		if (t->qlen == t->qcap) {
			size_t nc = t->qcap ? 2 * t->qcap : 16;
			int *nq = realloc(t->q, nc * sizeof(*nq));
			if (nq == NULL) {
				pthread_mutex_unlock(&t->qlock);
				close(fd);
				/* relaxed: a count (see above) */
				atomic_fetch_sub_explicit(&curr_conns, 1,
							  memory_order_relaxed);
				continue;
			}
			t->q = nq;
			t->qcap = nc;
		}
		t->q[t->qlen++] = fd;
		pthread_mutex_unlock(&t->qlock);
		uint64_t one = 1;
		ssize_t r = write(t->notify_fd, &one, sizeof(one));
		(void)r;
	}
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[64];

	KV_FLAVOR->register_thread();

	/* seq_cst: pairs with main.c's store at shutdown */
	while (!atomic_load_explicit(&stopping, memory_order_seq_cst)) {
		/* connections that yielded: only look for new events */
		int n = epoll_wait(w->epfd, evs, 64, w->yield_head ? 0 : -1);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &stop_marker)
				break;
			if (p == &listen_marker) {
				accept_conns();
				continue;
			}
			if (p == &notify_marker) {
				adopt_queued(w);
				continue;
			}
			struct conn *c = p;
			if (evs[i].events & (EPOLLERR | EPOLLHUP) &&
			    !(evs[i].events & EPOLLIN)) {
				conn_close(c);
			} else if (evs[i].events & EPOLLOUT) {
				conn_run(c);
			} else {
				conn_readable(c);
			}
		}
		run_yielded(w);
	}
	while (w->conns)
		conn_close(w->conns);

	KV_FLAVOR->unregister_thread();
	return NULL;
}
