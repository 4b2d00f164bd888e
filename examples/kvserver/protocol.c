/*
 * protocol.c - lfd-kvserver's memcached text protocol: the framing of a
 * connection's input (command lines, data blocks, swallowed values), the
 * tokenizer and number parsers, and one function per command that checks
 * its arguments and words the reply.
 *
 * SPDX-License-Identifier: MIT
 *
 * May use: kvserver.h: items.c for the table work (and the table itself for
 * delete's lfd_pop and the stats), conn.c's output helpers, the options.  It
 * never touches a socket: conn.c hands it what a connection read
 * (process_input) and sends what it wrote into the output buffer.
 *
 * Protocol details follow memcached 1.6 (proto_text.c) where clients can see
 * them: error strings, the swallowing of a too-large value, noreply that
 * silences errors too, "stats <unknown>" -> ERROR, an HTTP request line
 * closes the connection.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "kvserver.h"

#define KV_VERSION "1.6.0-lfdict-kvserver-0.1"
#define WBUF_HIGH (256 * 1024)	  /* stop parsing while this much is unsent */

/* ------------------------------------------------------------------------ */
/* Parsing helpers                                                            */

#define MAX_TOKENS 24

struct tokens {
	char *t[MAX_TOKENS];
	size_t len[MAX_TOKENS];
	int n;
	char *rest; /* first unsplit byte when more than MAX_TOKENS words */
};

/* Split on spaces, up to MAX_TOKENS words; the rest stays in `rest`. */
static void tokenize(char *s, size_t n, struct tokens *tk)
{
	size_t i = 0;

	tk->n = 0;
	tk->rest = NULL;
	while (i < n) {
		while (i < n && s[i] == ' ')
			i++;
		if (i >= n)
			break;
		if (tk->n == MAX_TOKENS) {
			tk->rest = s + i;
			break;
		}
		size_t b = i;
		while (i < n && s[i] != ' ')
			i++;
		tk->t[tk->n] = s + b;
		tk->len[tk->n] = i - b;
		s[i < n ? i : n] = '\0'; /* s has room for one byte past n */
		tk->n++;
		i++;
	}
}

/* Strict decimal parsers: the whole token, no sign unless allowed. */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool parse_i64(const char *s, size_t len, int64_t *out)
{
	uint64_t v;
	bool neg = len > 0 && s[0] == '-';

	if (!parse_u64(s + neg, len - neg, &v))
		return false;
	if (v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

static bool is_noreply(const struct tokens *tk, int i)
{
	return tk->n > i && tk->len[i] == 7 && memcmp(tk->t[i], "noreply", 7) == 0;
}

static bool key_ok(size_t len)
{
	return len > 0 && len <= KEY_MAX;
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                   */

/*
 * get/gets <key>*: keys scanned straight from the line (any number), looked
 * up GET_BATCH at a time by get_batch (one lfd_get_many each), answered in
 * the order asked.  A bad key drops the partial answer, as memcached does;
 * the keys before it are still looked up and counted first, as memcached
 * (and one lookup per key) would.  get_batch failing (a negative errno
 * from lfd_get_many or lfd_get: only -EINVAL, which key_ok rules out) is
 * answered like a bad key but as the server's fault: the partial answer
 * dropped, "SERVER_ERROR lookup failed", the rest of the line ignored.
 */
static void cmd_get(struct conn *c, const char *s, size_t n, bool with_cas)
{
	int64_t now = kv_now();
	size_t mark = c->wend - c->wstart, i = 0, nb = 0, nkeys = 0;
	const void *keys[GET_BATCH];
	size_t lens[GET_BATCH];
	const char *err = NULL;
	bool last = false;

	while (!last) {
		while (i < n && s[i] == ' ')
			i++;
		last = i >= n;
		if (!last) {
			size_t b = i;
			while (i < n && s[i] != ' ')
				i++;
			if (key_ok(i - b)) {
				keys[nb] = s + b;
				lens[nb++] = i - b;
				nkeys++;
			} else {
				err = "CLIENT_ERROR bad command line format\r\n";
				last = true;
			}
		}
		/* a full batch, or what is left at the end of the line */
		if (nb == GET_BATCH || (last && nb > 0)) {
			if (get_batch(c, nb, keys, lens, with_cas, now) < 0) {
				err = "SERVER_ERROR lookup failed\r\n";
				last = true;
			}
			nb = 0;
		}
	}
	if (err != NULL) {
		c->wend = c->wstart + mark; /* drop the partial answer */
		reply_err(c, err);
		return;
	}
	if (nkeys == 0) {
		reply_err(c, "ERROR\r\n");
		return;
	}
	out_mem(c, "END\r\n", 5);
}

/*
 * gat/gats <exptime> <key>*: get and touch, each key on its own (touch_get:
 * an lfd_cas loop that gives the item the new expiry, then the touched item
 * is answered).  A bad key drops the partial answer, as get does (the keys
 * before it have been touched); a bad exptime is answered before any key.
 */
static void cmd_gat(struct conn *c, const char *s, size_t n, bool with_cas)
{
	int64_t now = kv_now(), exptime;
	size_t mark = c->wend - c->wstart, i = 0, b, nkeys = 0;
	uint64_t hits = 0;

	while (i < n && s[i] == ' ')
		i++;
	b = i;
	while (i < n && s[i] != ' ')
		i++;
	if (i == b) {
		reply_err(c, "ERROR\r\n");
		return;
	}
	if (!parse_i64(s + b, i - b, &exptime)) {
		reply_err(c, "CLIENT_ERROR invalid exptime argument\r\n");
		return;
	}
	exptime = abs_exptime(exptime, now);
	for (;;) {
		while (i < n && s[i] == ' ')
			i++;
		if (i >= n)
			break;
		b = i;
		while (i < n && s[i] != ' ')
			i++;
		const char *res = NULL;
		if (key_ok(i - b))
			res = touch_get(c, s + b, i - b, exptime, with_cas, now);
		if (!key_ok(i - b) || (res != NULL && res[0] != 'N')) {
			c->wend = c->wstart + mark; /* drop the partial answer */
			reply_err(c, res != NULL ? res :
				  "CLIENT_ERROR bad command line format\r\n");
			return;
		}
		nkeys++;
		hits += res == NULL;
	}
	if (nkeys == 0) {
		reply_err(c, "ERROR\r\n");
		return;
	}
	stat_inc(&c->w->st.v[ST_cmd_touch], nkeys);
	stat_inc(&c->w->st.v[ST_touch_hits], hits);
	stat_inc(&c->w->st.v[ST_touch_misses], nkeys - hits);
	stat_inc(&c->w->st.v[ST_cmd_get], nkeys);
	stat_inc(&c->w->st.v[ST_get_hits], hits);
	stat_inc(&c->w->st.v[ST_get_misses], nkeys - hits);
	out_mem(c, "END\r\n", 5);
}

/* set/add/replace/append/prepend <key> <flags> <exptime> <bytes> [noreply]
 * cas <key> <flags> <exptime> <bytes> <cas unique> [noreply] */
static void cmd_store(struct conn *c, struct tokens *tk, enum store_cmd sc)
{
	int need = sc == CMD_CAS ? 6 : 5;
	uint64_t flags, cas_in = 0;
	int64_t exptime, vlen;

	if (tk->n < need || tk->n > need + 1 || tk->rest != NULL) {
		reply_err(c, "ERROR\r\n");
		return;
	}
	c->noreply = is_noreply(tk, need);
	if (!key_ok(tk->len[1]) ||
	    !parse_u64(tk->t[2], tk->len[2], &flags) || flags > UINT32_MAX ||
	    !parse_i64(tk->t[3], tk->len[3], &exptime) ||
	    !parse_i64(tk->t[4], tk->len[4], &vlen) ||
	    (sc == CMD_CAS && !parse_u64(tk->t[5], tk->len[5], &cas_in)) ||
	    (tk->n == need + 1 && !is_noreply(tk, need))) {
		/* like memcached: no swallowing, the data line will be parsed as
		 * a command (and usually answered ERROR) */
		reply_err(c, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	if (vlen < 0 || vlen > INT_MAX - 2) {
		reply_err(c, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	struct item *it = NULL;
	const char *err = "SERVER_ERROR object too large for cache\r\n";
	if ((uint64_t)vlen <= opt.max_item) {
		/* item_new evicts first if it would not fit (evict.c), and
		 * so does append's or prepend's copy in do_store */
		it = item_new((uint32_t)vlen, (uint32_t)tk->len[1]);
		err = "SERVER_ERROR out of memory storing object\r\n";
	}
	if (it == NULL) {
		stat_inc(&c->w->st.v[(uint64_t)vlen > opt.max_item ?
				     ST_store_too_large : ST_store_no_memory], 1);
		reply_err(c, err);
		/* read and drop the data block, as memcached does; and, as it
		 * does for set, do not leave the old value behind */
		c->state = ST_SWALLOW;
		c->swallow = (uint64_t)vlen + 2;
		if (sc == CMD_SET) {
			lfd_pop(dict, tk->t[1], tk->len[1], NULL);
		}
		return;
	}
	it->flags = (uint32_t)flags;
	it->exptime = abs_exptime(exptime, kv_now());
	c->scmd = sc;
	c->it = it;
	c->it_have = 0;
	c->cas_in = cas_in;
	c->sreply = !c->noreply;
	c->klen = tk->len[1];
	memcpy(c->key, tk->t[1], c->klen);
	c->state = ST_DATA;
}

/* The data block of a storage command is complete. */
static void finish_store(struct conn *c)
{
	struct item *it = c->it;

	c->it = NULL;
	c->state = ST_LINE;
	c->noreply = !c->sreply;
	if (it->data[it->nbytes] != '\r' || it->data[it->nbytes + 1] != '\n') {
		/* a value longer than announced (or a bad terminator) */
		item_release(it);
		reply_err(c, "CLIENT_ERROR bad data chunk\r\n");
		return;
	}
	const char *res = do_store(c, it);
	if (strncmp(res, "SERVER_ERROR", 12) == 0) {
		stat_inc(&c->w->st.v[strstr(res, "too large") ?
				     ST_store_too_large : ST_store_no_memory], 1);
		reply_err(c, res);
	} else {
		reply(c, res);
	}
}

/* delete <key> [0] [noreply] = lfd_pop */
static void cmd_delete(struct conn *c, struct tokens *tk)
{
	int n = tk->n;
	void *v;

	if (n > 2 && is_noreply(tk, n - 1)) {
		c->noreply = true;
		n--;
	}
	if (n < 2 || n > 3 || tk->rest != NULL ||
	    (n == 3 && !(tk->len[2] == 1 && tk->t[2][0] == '0'))) {
		reply_err(c, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
		return;
	}
	if (!key_ok(tk->len[1])) {
		reply_err(c, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	/* inside a read-side section so that the popped item can be looked at */
	lfd_read_lock(dict);
	int r = lfd_pop(dict, tk->t[1], tk->len[1], &v);
	bool hit = r == 0 && !item_dead(v, kv_now());
	lfd_read_unlock(dict);
	if (r == 0 && !hit)
		count_reclaimed(); /* it had expired */
	stat_inc(hit ? &c->w->st.v[ST_delete_hits] : &c->w->st.v[ST_delete_misses], 1);
	reply(c, hit ? "DELETED\r\n" : "NOT_FOUND\r\n");
}

/* The shape "<cmd> <key> <arg> [noreply]" (incr, decr, touch): check it,
 * set c->noreply, and answer the client's error if it is off. */
static bool check_key_arg_line(struct conn *c, const struct tokens *tk)
{
	if (tk->n < 3 || tk->n > 4 || tk->rest != NULL ||
	    (tk->n == 4 && !is_noreply(tk, 3))) {
		reply_err(c, "ERROR\r\n");
		return false;
	}
	c->noreply = tk->n == 4; /* before the checks: errors are silenced too */
	if (!key_ok(tk->len[1])) {
		reply_err(c, "CLIENT_ERROR bad command line format\r\n");
		return false;
	}
	return true;
}

struct arith_arg {
	uint64_t delta;
	bool incr;
	char buf[32]; /* the new value, in decimal */
};

/* incr/decr's copy: the new decimal value, the old flags and expiry. */
static const char *arith_copy(const struct item *old, uint32_t klen,
			      void *arg, struct item **out)
{
	struct arith_arg *a = arg;
	uint64_t val;

	if (!parse_u64(old->data, old->nbytes, &val))
		return "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
	if (a->incr)
		val += a->delta; /* wraps at 2^64, as memcached */
	else
		val = a->delta > val ? 0 : val - a->delta;
	int n = snprintf(a->buf, sizeof(a->buf), "%" PRIu64, val);
	struct item *nw = item_new((uint32_t)n, klen);
	if (nw == NULL)
		return "SERVER_ERROR out of memory\r\n";
	memcpy(nw->data, a->buf, (size_t)n);
	nw->flags = old->flags;
	nw->exptime = old->exptime;
	*out = nw;
	return NULL;
}

/* incr/decr <key> <delta> [noreply]. */
static void cmd_arith(struct conn *c, struct tokens *tk, bool incr)
{
	struct arith_arg a = { .incr = incr };

	if (!check_key_arg_line(c, tk))
		return;
	if (!parse_u64(tk->t[2], tk->len[2], &a.delta)) {
		reply_err(c, "CLIENT_ERROR invalid numeric delta argument\r\n");
		return;
	}
	const char *res = item_cas_update(tk->t[1], tk->len[1], kv_now(),
					  arith_copy, &a);
	if (res == NULL) {
		stat_inc(incr ? &c->w->st.v[ST_incr_hits] : &c->w->st.v[ST_decr_hits], 1);
		if (!c->noreply) {
			out_str(c, a.buf);
			out_mem(c, "\r\n", 2);
		}
	} else if (res[0] == 'N') {
		stat_inc(incr ? &c->w->st.v[ST_incr_misses] : &c->w->st.v[ST_decr_misses], 1);
		reply(c, res);
	} else {
		reply_err(c, res);
	}
}

/* touch <key> <exptime> [noreply]. */
static void cmd_touch(struct conn *c, struct tokens *tk)
{
	int64_t exptime, now = kv_now();

	if (!check_key_arg_line(c, tk))
		return;
	if (!parse_i64(tk->t[2], tk->len[2], &exptime)) {
		reply_err(c, "CLIENT_ERROR invalid exptime argument\r\n");
		return;
	}
	struct touch_arg a = { abs_exptime(exptime, now), NULL };
	stat_inc(&c->w->st.v[ST_cmd_touch], 1);
	const char *res = item_cas_update(tk->t[1], tk->len[1], now,
					  touch_copy, &a);
	if (res == NULL)
		res = "TOUCHED\r\n";
	stat_inc(&c->w->st.v[res[0] == 'T' ? ST_touch_hits : ST_touch_misses], 1);
	if (res[0] == 'S')
		reply_err(c, res);
	else
		reply(c, res);
}

/* flush_all [delay] [noreply] */
static void cmd_flush(struct conn *c, struct tokens *tk)
{
	int n = tk->n;
	int64_t delay = 0;

	if (n > 1 && is_noreply(tk, n - 1)) {
		c->noreply = true;
		n--;
	}
	if (n > 2 || tk->rest != NULL) {
		reply_err(c, "ERROR\r\n");
		return;
	}
	stat_inc(&c->w->st.v[ST_cmd_flush], 1); /* counted even if refused */
	if (opt.no_flush) {
		reply_err(c, "CLIENT_ERROR flush_all not allowed\r\n");
		return;
	}
	/* as memcached: a delay of 0 or less is now */
	if (n == 2 && !parse_i64(tk->t[1], tk->len[1], &delay)) {
		reply_err(c, "CLIENT_ERROR invalid exptime argument\r\n");
		return;
	}
	if (delay <= 0) {
		/* -C: the rest of this second's stores go too (item_dead) */
		/* seq_cst, as the other stores of the deadline */
		atomic_store_explicit(&flush_deadline,
				      opt.no_cas ? (long long)kv_now() : 0,
				      memory_order_seq_cst);
		flush_table(false);
	} else {
		/* seq_cst, as the store above: main.c's load */
		atomic_store_explicit(&flush_deadline,
				      (long long)abs_exptime(delay, kv_now()),
				      memory_order_seq_cst);
	}
	reply(c, "OK\r\n");
}

#define KV_NAME(n) #n,
static const char *const stat_names[] = { KV_STATS(KV_NAME) };

static uint64_t sum_stat(int k)
{
	uint64_t s = 0;

	/* relaxed: statistics (stat_inc); nothing is ordered by them */
	for (int i = 0; i < opt.threads; i++)
		s += atomic_load_explicit(&workers[i].st.v[k], memory_order_relaxed);
	return s;
}

static void cmd_stats(struct conn *c, struct tokens *tk)
{
	char buf[128];
	size_t count = 0;
	struct rusage ru;

	if (tk->n != 1) {
		reply_err(c, "ERROR\r\n");
		return;
	}
	lfd_count(dict, &count);
	getrusage(RUSAGE_SELF, &ru);
#define S(fmt, ...)                                                           \
	do {                                                                  \
		int n_ = snprintf(buf, sizeof(buf), "STAT " fmt "\r\n",       \
				  __VA_ARGS__);                               \
		out_mem(c, buf, (size_t)n_);                                  \
	} while (0)
	time_t now = (time_t)kv_now();
	S("pid %ld", (long)getpid());
	S("uptime %ld", (long)(now - start_time));
	S("time %ld", (long)now);
	S("version %s", KV_VERSION);
	S("pointer_size %d", (int)(8 * sizeof(void *)));
	S("rusage_user %ld.%06ld", (long)ru.ru_utime.tv_sec,
	  (long)ru.ru_utime.tv_usec);
	S("rusage_system %ld.%06ld", (long)ru.ru_stime.tv_sec,
	  (long)ru.ru_stime.tv_usec);
	S("max_connections %ld", opt.max_conns);
	/* relaxed: lone counts (conn.c); nothing is ordered by them */
	S("curr_connections %ld",
	  atomic_load_explicit(&curr_conns, memory_order_relaxed));
	S("total_connections %lu",
	  atomic_load_explicit(&total_conns, memory_order_relaxed));
	S("rejected_connections %lu", /* relaxed: a lone counter */
	  atomic_load_explicit(&rejected_conns, memory_order_relaxed));
	for (int k = 0; k < ST_COUNT; k++)
		S("%s %" PRIu64, stat_names[k], sum_stat(k));
	S("limit_maxbytes %zu", opt.mem_limit);
	S("threads %d", opt.threads);
	/* the items stored: not those evicted and waiting for their grace
	 * period (relaxed: gauges, as in evict.c) */
	S("bytes %zu", atomic_load_explicit(&mem_used, memory_order_relaxed) -
			       atomic_load_explicit(&evicting,
						    memory_order_relaxed));
	S("curr_items %zu", count);
	/* relaxed: lone counters (evict.c, count_reclaimed), these two */
	S("evictions %" PRIu64, (uint64_t)atomic_load_explicit(
					  &evictions, memory_order_relaxed));
	S("reclaimed %llu", atomic_load_explicit(&reclaimed, memory_order_relaxed));
	S("item_size_max %zu", opt.max_item);
#undef S
	out_mem(c, "END\r\n", 5);
}

/*
 * verbosity <level> [noreply], slabs automove <0|1|2> [noreply]: settings of
 * memcached's that this server has nothing to apply to (no log levels, no
 * slabs); the level is checked as memcached checks it (a number up to max,
 * else CLIENT_ERROR), then accepted and ignored.
 */
static void cmd_level(struct conn *c, const struct tokens *tk, int at,
		      uint64_t max)
{
	uint64_t level;

	c->noreply = is_noreply(tk, tk->n - 1);
	if (!parse_u64(tk->t[at], tk->len[at], &level) || level > max) {
		reply_err(c, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	reply(c, "OK\r\n");
}

/* debugtime <seconds> (only with --debug-time): move the server's clock,
 * which every expiry, flush deadline and "stats time" reads (kv_now), by
 * that many seconds, as a debug build of memcached does for its tests. */
static void cmd_debugtime(struct conn *c, const struct tokens *tk)
{
	int64_t delta;

	if (!parse_i64(tk->t[1], tk->len[1], &delta) ||
	    delta > REALTIME_MAXDELTA || delta < -REALTIME_MAXDELTA) {
		reply_err(c, "CLIENT_ERROR bad command line format\r\n");
		return;
	}
	kv_move_time(delta);
	reply(c, "OK\r\n");
}

/* One command line (without \r\n; line[len] is writable). */
static void process_line(struct conn *c, char *line, size_t len)
{
	struct tokens tk;

	c->noreply = false;
	/* get and gets take any number of keys: scan the line itself */
	size_t w = 0;
	while (w < len && line[w] == ' ')
		w++;
	static const struct {
		const char *word; /* with its space */
		size_t n;
		bool touch, cas; /* gat(s) / get(s); gets, gats */
	} multi[] = {
		{ "get ", 4, false, false },
		{ "gets ", 5, false, true },
		{ "gat ", 4, true, false },
		{ "gats ", 5, true, true },
	};
	for (size_t i = 0; i < sizeof multi / sizeof multi[0]; i++) {
		size_t n = multi[i].n;

		if (len - w < n || memcmp(line + w, multi[i].word, n) != 0)
			continue;
		if (multi[i].touch)
			cmd_gat(c, line + w + n, len - w - n, multi[i].cas);
		else
			cmd_get(c, line + w + n, len - w - n, multi[i].cas);
		return;
	}
	tokenize(line, len, &tk);
	if (tk.n == 0) {
		reply_err(c, "ERROR\r\n");
		return;
	}
	const char *cmd = tk.t[0];
#define IS(s) (tk.len[0] == sizeof(s) - 1 && memcmp(cmd, s, sizeof(s) - 1) == 0)
	if (IS("set"))
		cmd_store(c, &tk, CMD_SET);
	else if (IS("add"))
		cmd_store(c, &tk, CMD_ADD);
	else if (IS("replace"))
		cmd_store(c, &tk, CMD_REPLACE);
	else if (IS("append"))
		cmd_store(c, &tk, CMD_APPEND);
	else if (IS("prepend"))
		cmd_store(c, &tk, CMD_PREPEND);
	else if (IS("cas"))
		cmd_store(c, &tk, CMD_CAS);
	else if (IS("delete"))
		cmd_delete(c, &tk);
	else if (IS("incr"))
		cmd_arith(c, &tk, true);
	else if (IS("decr"))
		cmd_arith(c, &tk, false);
	else if (IS("touch"))
		cmd_touch(c, &tk);
	else if (IS("flush_all"))
		cmd_flush(c, &tk);
	else if (IS("stats"))
		cmd_stats(c, &tk);
	else if (IS("version"))
		out_str(c, "VERSION " KV_VERSION "\r\n"); /* 1.6: args ignored */
	else if (IS("verbosity") && tk.rest == NULL &&
		 (tk.n == 2 || (tk.n == 3 && is_noreply(&tk, 2))))
		cmd_level(c, &tk, 1, UINT32_MAX);
	else if (IS("slabs") && tk.n >= 3 && tk.len[1] == 8 &&
		 memcmp(tk.t[1], "automove", 8) == 0 && tk.rest == NULL &&
		 (tk.n == 3 || (tk.n == 4 && is_noreply(&tk, 3))))
		cmd_level(c, &tk, 2, 2);
	else if (IS("debugtime") && opt.debug_time && tk.n == 2)
		cmd_debugtime(c, &tk);
	else if (IS("quit"))
		c->closing = true;
	else if (tk.len[tk.n - 1] >= 5 && memcmp(tk.t[tk.n - 1], "HTTP/", 5) == 0)
		c->closing = true; /* an HTTP request: hang up, as memcached */
	else
		reply_err(c, "ERROR\r\n");
#undef IS
}

/* The longest line allowed for a line starting with p (n bytes so far). */
static size_t line_limit(const char *p, size_t n)
{
	size_t w = 0;

	while (w < n && p[w] == ' ')
		w++;
	p += w;
	n -= w;
	if ((n >= 4 && (memcmp(p, "get ", 4) == 0 || memcmp(p, "gat ", 4) == 0)) ||
	    (n >= 5 && (memcmp(p, "gets ", 5) == 0 || memcmp(p, "gats ", 5) == 0)))
		return GET_LINE_MAX;
	return LINE_MAX_LEN;
}

/*
 * Consume what the read buffer holds.  Returns IN_DONE when it is used up
 * (or the connection is closing), IN_BLOCKED when output has piled up and
 * parsing must wait for the socket to drain, IN_YIELD after
 * opt.reqs_per_event commands with input left (the worker lets its other
 * connections run first and counts "conn_yields").
 */
enum input_status process_input(struct conn *c)
{
	int reqs = 0;

	while (!c->closing && c->rstart < c->rend) {
		if (c->wend - c->wstart > WBUF_HIGH)
			return IN_BLOCKED;
		char *p = c->rbuf + c->rstart;
		size_t avail = c->rend - c->rstart;

		if (c->state == ST_SWALLOW) {
			size_t n = avail < c->swallow ? avail : (size_t)c->swallow;
			c->swallow -= n;
			c->rstart += n;
			if (c->swallow == 0)
				c->state = ST_LINE;
			continue;
		}
		if (c->state == ST_DATA) {
			size_t want = (size_t)c->it->nbytes + 2 - c->it_have;
			size_t n = avail < want ? avail : want;
			memcpy(c->it->data + c->it_have, p, n);
			c->it_have += n;
			c->rstart += n;
			if (n == want)
				finish_store(c);
			continue;
		}
		if (reqs == opt.reqs_per_event) {
			stat_inc(&c->w->st.v[ST_conn_yields], 1);
			return IN_YIELD;
		}
		char *nl = memchr(p, '\n', avail);
		size_t len = nl != NULL ? (size_t)(nl - p) : avail;
		if (len > line_limit(p, len)) {
			reply_err(c, "CLIENT_ERROR line too long\r\n");
			c->closing = true;
			break;
		}
		if (nl == NULL)
			break;
		c->rstart += len + 1;
		reqs++;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		process_line(c, p, len); /* p[len] is '\r' or '\n': writable */
	}
	/* compact the read buffer */
	if (c->rstart == c->rend) {
		c->rstart = c->rend = 0;
	} else if (c->rstart > 0 && c->rstart > c->rsize / 2) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	return IN_DONE;
}
