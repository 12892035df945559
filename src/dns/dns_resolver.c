/*
 * dns_resolver.c - c-ares on the libuv loop, a TTL cache, and the bridge
 * that lets worker threads wait for an answer without blocking the loop.
 *
 * c-ares tells us which sockets to watch (sock_state_cb); each gets a
 * uv_poll_t. A uv_timer drives c-ares' retransmit timeouts. Worker
 * threads queue a struct dns_sync under r->lock and wake the loop with a
 * uv_async; the loop starts the query and, on the answer, signals the
 * waiting thread's condition variable.
 */
#include <ares.h>
#include <arpa/nameser.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gent/dns.h"
#include "gent/log.h"
#include "gent/util.h"

#define DNS_CACHE_BUCKETS 1024
#define DNS_CACHE_MAX_ENTRIES 20000
#define DNS_NAME_MAX 253

struct dns_poll {
	uv_poll_t		 poll;
	ares_socket_t		 fd;
	struct dns_resolver	*r;
	struct dns_poll		*next;
};

struct dns_cache_entry {
	char			*key;		/* "<type>:<lower-case name>" */
	struct dns_result	 res;
	uint64_t		 expires;	/* uv_now() ms */
	struct dns_cache_entry	*next;
};

struct dns_sync {
	struct dns_resolver	*r;
	const char		*name;
	enum dns_type		 type;
	unsigned		 flags;
	struct dns_result	*out;
	bool			 done;
	struct dns_sync		*next;
};

struct dns_query {
	struct dns_resolver	*r;
	char			*key;
	enum dns_type		 type;
	dns_cb			 cb;
	void			*arg;
};

struct dns_resolver {
	uv_loop_t		*loop;
	ares_channel		 channel;
	uv_timer_t		 timer;
	uv_async_t		 wake;
	struct dns_poll		*polls;
	struct dns_cache_entry	*cache[DNS_CACHE_BUCKETS];
	size_t			 cache_entries;
	pthread_mutex_t		 lock;		/* guards sync_head, stopped */
	pthread_cond_t		 done_cv;
	struct dns_sync		*sync_head;
	bool			 stopped;
	int			 handles_open;
};

static void arm_timer(struct dns_resolver *r);

/* --- cache (loop thread only) --- */

static unsigned
hash_key(const char *k)
{
	unsigned h = 5381;

	while (*k)
		h = h * 33 + (unsigned char)*k++;
	return h % DNS_CACHE_BUCKETS;
}

static void
cache_clear(struct dns_resolver *r)
{
	for (unsigned i = 0; i < DNS_CACHE_BUCKETS; i++) {
		while (r->cache[i]) {
			struct dns_cache_entry *e = r->cache[i];
			r->cache[i] = e->next;
			dns_result_free(&e->res);
			free(e->key);
			free(e);
		}
	}
	r->cache_entries = 0;
}

static const struct dns_result *
cache_get(struct dns_resolver *r, const char *key)
{
	uint64_t now = uv_now(r->loop);

	for (struct dns_cache_entry *e = r->cache[hash_key(key)]; e; e = e->next)
		if (strcmp(e->key, key) == 0 && e->expires > now)
			return &e->res;
	return NULL;
}

static void
cache_put(struct dns_resolver *r, const char *key, const struct dns_result *res)
{
	uint32_t ttl = res->status == DNS_OK ? res->ttl : DNS_NEGATIVE_TTL;
	unsigned h = hash_key(key);
	struct dns_cache_entry **pp, *e;

	if (res->status == DNS_TEMPFAIL || res->status == DNS_BADNAME || ttl == 0)
		return;
	if (ttl > DNS_CACHE_MAX_TTL)
		ttl = DNS_CACHE_MAX_TTL;
	/* Replace an expired twin; a full cache starts over (cheap and rare). */
	for (pp = &r->cache[h]; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) == 0) {
			e = *pp;
			*pp = e->next;
			dns_result_free(&e->res);
			free(e->key);
			free(e);
			r->cache_entries--;
			break;
		}
	}
	if (r->cache_entries >= DNS_CACHE_MAX_ENTRIES)
		cache_clear(r);
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	dns_result_copy(&e->res, res);
	e->expires = uv_now(r->loop) + (uint64_t)ttl * 1000;
	e->next = r->cache[h];
	r->cache[h] = e;
	r->cache_entries++;
}

/* --- c-ares socket and timer plumbing --- */

static void
on_poll(uv_poll_t *p, int status, int events)
{
	struct dns_poll *dp = p->data;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	if (status < 0 || (events & UV_READABLE))
		rfd = dp->fd;
	if (status < 0 || (events & UV_WRITABLE))
		wfd = dp->fd;
	ares_process_fd(dp->r->channel, rfd, wfd);
	arm_timer(dp->r);
}

static void
on_poll_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_resolver *r = data;
	struct dns_poll **pp = &r->polls, *dp;

	while (*pp && (*pp)->fd != fd)
		pp = &(*pp)->next;
	dp = *pp;
	if (!readable && !writable) {
		if (dp) {
			*pp = dp->next;
			uv_poll_stop(&dp->poll);
			uv_close((uv_handle_t *)&dp->poll, on_poll_closed);
		}
		return;
	}
	if (!dp) {
		dp = xcalloc(1, sizeof(*dp));
		dp->fd = fd;
		dp->r = r;
		uv_poll_init_socket(r->loop, &dp->poll, fd);
		dp->poll.data = dp;
		dp->next = r->polls;
		r->polls = dp;
	}
	uv_poll_start(&dp->poll, (readable ? UV_READABLE : 0) |
	    (writable ? UV_WRITABLE : 0), on_poll);
}

static void
on_timer(uv_timer_t *t)
{
	struct dns_resolver *r = t->data;

	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	arm_timer(r);
}

static void
arm_timer(struct dns_resolver *r)
{
	struct timeval tv, *next;

	if (r->stopped)
		return;
	next = ares_timeout(r->channel, NULL, &tv);
	if (!next) {
		uv_timer_stop(&r->timer);
		return;
	}
	uv_timer_start(&r->timer, on_timer,
	    (uint64_t)next->tv_sec * 1000 + (uint64_t)next->tv_usec / 1000 + 1, 0);
}

/* --- queries --- */

static enum dns_status
map_status(int status)
{
	switch (status) {
	case ARES_SUCCESS: return DNS_OK;
	case ARES_ENOTFOUND: return DNS_NXDOMAIN;
	case ARES_ENODATA: return DNS_NODATA;
	case ARES_EBADNAME: return DNS_BADNAME;
	default: return DNS_TEMPFAIL;
	}
}

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct dns_result res = { .status = map_status(status) };

	(void)timeouts;
	if (status == ARES_SUCCESS && abuf)
		dns_answer_parse(abuf, (size_t)alen, q->type, &res);
	if (status != ARES_EDESTRUCTION && !q->r->stopped)
		cache_put(q->r, q->key, &res);
	q->cb(q->arg, &res);
	dns_result_free(&res);
	free(q->key);
	free(q);
}

static bool
name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > DNS_NAME_MAX)
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

void
dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type,
    unsigned flags, dns_cb cb, void *arg)
{
	struct dns_result bad = { .status = DNS_BADNAME };
	const struct dns_result *hit;
	struct dns_query *q;
	char *key;

	if (!name_ok(name)) {
		cb(arg, &bad);
		return;
	}
	if (r->stopped) {
		bad.status = DNS_TEMPFAIL;
		cb(arg, &bad);
		return;
	}
	key = xasprintf("%d:%s", (int)type, name);
	str_lower(key);
	if (!(flags & DNS_F_FRESH) && (hit = cache_get(r, key)) != NULL) {
		free(key);
		cb(arg, hit);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	*q = (struct dns_query){ r, key, type, cb, arg };
	ares_query(r->channel, name, ns_c_in, (int)type, on_answer, q);
	arm_timer(r);
}

/* --- worker-thread bridge --- */

static void
sync_done(void *arg, const struct dns_result *res)
{
	struct dns_sync *s = arg;
	struct dns_resolver *r;

	dns_result_copy(s->out, res);
	r = s->r;
	pthread_mutex_lock(&r->lock);
	s->done = true;
	pthread_cond_broadcast(&r->done_cv);
	pthread_mutex_unlock(&r->lock);
}

static void
on_wake(uv_async_t *a)
{
	struct dns_resolver *r = a->data;
	struct dns_sync *list;

	pthread_mutex_lock(&r->lock);
	list = r->sync_head;
	r->sync_head = NULL;
	pthread_mutex_unlock(&r->lock);
	while (list) {
		struct dns_sync *s = list;
		list = s->next;
		dns_lookup(r, s->name, s->type, s->flags, sync_done, s);
	}
}

void
dns_lookup_sync(struct dns_resolver *r, const char *name, enum dns_type type,
    unsigned flags, struct dns_result *out)
{
	struct dns_sync s = { .r = r, .name = name, .type = type, .flags = flags,
	    .out = out };

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&r->lock);
	if (r->stopped) {
		pthread_mutex_unlock(&r->lock);
		out->status = DNS_TEMPFAIL;
		return;
	}
	s.next = r->sync_head;
	r->sync_head = &s;
	pthread_mutex_unlock(&r->lock);
	uv_async_send(&r->wake);
	pthread_mutex_lock(&r->lock);
	while (!s.done)
		pthread_cond_wait(&r->done_cv, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

/* --- life cycle --- */

static void
on_handle_closed(uv_handle_t *h)
{
	struct dns_resolver *r = h->data;

	r->handles_open--;
}

int
dns_resolver_start(struct dns_resolver **r_out, uv_loop_t *loop,
    const char *servers, int timeout_ms, int tries, char **error_r)
{
	struct dns_resolver *r = xcalloc(1, sizeof(*r));
	struct ares_options opts = { 0 };
	int rc;

	ares_library_init(ARES_LIB_INIT_ALL);
	r->loop = loop;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->done_cv, NULL);
	opts.sock_state_cb = sock_state;
	opts.sock_state_cb_data = r;
	opts.timeout = timeout_ms;
	opts.tries = tries;
	rc = ares_init_options(&r->channel, &opts, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		*error_r = xasprintf("dns: %s", ares_strerror(rc));
		free(r);
		return -1;
	}
	if (servers && (rc = ares_set_servers_ports_csv(r->channel, servers)) != ARES_SUCCESS) {
		*error_r = xasprintf("dns_servers %s: %s", servers, ares_strerror(rc));
		ares_destroy(r->channel);
		free(r);
		return -1;
	}
	uv_timer_init(loop, &r->timer);
	uv_async_init(loop, &r->wake, on_wake);
	r->timer.data = r->wake.data = r;
	r->handles_open = 2;
	*r_out = r;
	return 0;
}

void
dns_resolver_stop(struct dns_resolver **rp)
{
	struct dns_resolver *r = *rp;

	if (!r || r->stopped)
		return;
	/* Serve queued sync callers first so no worker waits forever. */
	on_wake(&r->wake);
	pthread_mutex_lock(&r->lock);
	r->stopped = true;
	pthread_mutex_unlock(&r->lock);
	ares_destroy(r->channel);	/* pending callbacks get EDESTRUCTION */
	r->channel = NULL;
	uv_timer_stop(&r->timer);
	r->timer.data = r->wake.data = r;
	uv_close((uv_handle_t *)&r->timer, on_handle_closed);
	uv_close((uv_handle_t *)&r->wake, on_handle_closed);
	cache_clear(r);
}

void
dns_resolver_free(struct dns_resolver **rp)
{
	struct dns_resolver *r = *rp;

	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->done_cv);
	free(r);
	*rp = NULL;
	ares_library_cleanup();
}
