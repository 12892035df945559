/*
 * http_server.c - the listening socket, the connection list and the drain
 * that SIGTERM starts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/log.h"
#include "http_int.h"

static int
parse_listen(const char *addr, struct sockaddr_storage *ss)
{
	char host[256];
	const char *colon;
	int port;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || (size_t)(close - addr - 1) >= sizeof(host))
			return -1;
		memcpy(host, addr + 1, (size_t)(close - addr - 1));
		host[close - addr - 1] = '\0';
		port = (int)strtol(close + 2, NULL, 10);
		return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss);
	}
	colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	port = (int)strtol(colon + 1, NULL, 10);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	return uv_ip4_addr(host, port, (struct sockaddr_in *)ss);
}

static void
on_connection(uv_stream_t *listener, int status)
{
	struct http_server *srv = listener->data;

	if (status < 0) {
		log_warn("http", NULL, "accept failed: %s", uv_strerror(status));
		return;
	}
	http__conn_accept(srv);
}

int
http_server_start(struct http_server **srv_r, uv_loop_t *loop,
    const char *listen_addr, const struct http_limits *limits,
    http_handler_fn handler, void *ctx, char **error_r)
{
	struct http_server *srv = xcalloc(1, sizeof(*srv));
	struct sockaddr_storage ss;
	int rc;

	srv->loop = loop;
	srv->limits = *limits;
	srv->handler = handler;
	srv->ctx = ctx;
	if (parse_listen(listen_addr, &ss) != 0) {
		*error_r = xasprintf("http_listen %s: not an IP address and port", listen_addr);
		free(srv);
		return -1;
	}
	uv_tcp_init(loop, &srv->listener);
	srv->listener.data = srv;
	if ((rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection)) != 0) {
		*error_r = xasprintf("http_listen %s: %s", listen_addr, uv_strerror(rc));
		/* The handle is closed by the caller's loop teardown. */
		srv->draining = true;
		uv_close((uv_handle_t *)&srv->listener, NULL);
		srv->listener_closed = true;
		*srv_r = srv;
		return -1;
	}
	*srv_r = srv;
	return 0;
}

static void
drain_finished(struct http_server *srv)
{
	void (*cb)(void *) = srv->drain_cb;

	if (!cb || srv->conns)
		return;
	srv->drain_cb = NULL;
	if (srv->grace_timer_active) {
		uv_timer_stop(&srv->grace_timer);
		uv_close((uv_handle_t *)&srv->grace_timer, NULL);
		srv->grace_timer_active = false;
	}
	cb(srv->drain_arg);
}

void
http__server_conn_gone(struct http_server *srv, struct http_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->n_conns--;
	if (srv->draining)
		drain_finished(srv);
}

static void
on_grace_expired(uv_timer_t *t)
{
	struct http_server *srv = t->data;

	log_warn("http", NULL, "shutdown grace expired; closing %lld connections",
	    (long long)srv->n_conns);
	for (struct http_conn *c = srv->conns; c; c = c->next)
		http__conn_close(c);
}

void
http_server_drain(struct http_server *srv, uint64_t grace_ms,
    void (*done_cb)(void *arg), void *arg)
{
	srv->draining = true;
	srv->drain_cb = done_cb;
	srv->drain_arg = arg;
	if (!srv->listener_closed) {
		uv_close((uv_handle_t *)&srv->listener, NULL);
		srv->listener_closed = true;
	}
	for (struct http_conn *c = srv->conns; c; c = c->next)
		if (http__conn_is_idle(c))
			http__conn_close(c);
	uv_timer_init(srv->loop, &srv->grace_timer);
	srv->grace_timer.data = srv;
	srv->grace_timer_active = true;
	uv_timer_start(&srv->grace_timer, on_grace_expired, grace_ms, 0);
	drain_finished(srv);
}

void
http_server_free(struct http_server **srvp)
{
	free(*srvp);
	*srvp = NULL;
}
