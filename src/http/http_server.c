/*
 * http_server.c - the listening socket, the connection list and the drain
 * that SIGTERM starts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/listener.h"
#include "gent/log.h"
#include "http_int.h"

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

	srv->loop = loop;
	srv->limits = *limits;
	srv->handler = handler;
	srv->ctx = ctx;
	*srv_r = srv;
	if (listener_open(&srv->listener, loop, "http_listen", listen_addr,
	    on_connection, srv, error_r) != 0) {
		srv->listener_closed = true;
		return -1;
	}
	return 0;
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
		drain_check(&srv->drain, srv->conns == NULL);
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
	if (!srv->listener_closed) {
		uv_close((uv_handle_t *)&srv->listener, NULL);
		srv->listener_closed = true;
	}
	for (struct http_conn *c = srv->conns; c; c = c->next)
		if (http__conn_is_idle(c))
			http__conn_close(c);
	drain_begin(&srv->drain, srv->loop, grace_ms, done_cb, arg, on_grace_expired, srv);
	drain_check(&srv->drain, srv->conns == NULL);
}

void
http_server_free(struct http_server **srvp)
{
	free(*srvp);
	*srvp = NULL;
}
