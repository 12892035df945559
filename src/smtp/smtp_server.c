/*
 * smtp_server.c - the listener, session accounting, the drain and the
 * TLS context.
 *
 * The server holds its own reference to the TLS context. A new one
 * (certificate reload) replaces it for sessions that start TLS from then
 * on; a session already in TLS keeps the context its SSL references, so
 * the old one is freed with its last session.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/listener.h"
#include "gent/log.h"
#include "smtp_int.h"

void
smtp_reply_set(struct smtp_reply *r, int code, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

static void
on_connection(uv_stream_t *l, int status)
{
	struct smtp_server *srv = l->data;

	if (status < 0) {
		log_warn("smtp", NULL, "accept failed: %s", uv_strerror(status));
		return;
	}
	smtp__session_accept(srv);
}

int
smtp_server_start(struct smtp_server **srv_r, uv_loop_t *loop,
    const char *listen_addr, const char *hostname,
    const struct smtp_limits *limits, const struct smtp_hooks *hooks,
    struct ssl_ctx_st *tls, char **error_r)
{
	struct smtp_server *srv = xcalloc(1, sizeof(*srv));

	srv->loop = loop;
	srv->hostname = xstrdup(hostname);
	srv->limits = *limits;
	srv->hooks = *hooks;
	smtp_server_set_tls(srv, tls);
	*srv_r = srv;
	if (listener_open(&srv->listener, loop, "smtp_listen", listen_addr,
	    on_connection, srv, error_r) != 0) {
		srv->listener_closed = true;
		return -1;
	}
	return 0;
}

void
smtp_server_set_tls(struct smtp_server *srv, struct ssl_ctx_st *tls)
{
	SSL_CTX *old = srv->tls;

	if (tls)
		SSL_CTX_up_ref(tls);
	srv->tls = tls;
	SSL_CTX_free(old);	/* sessions in TLS hold their own references */
}

int64_t
smtp__server_count_ip(struct smtp_server *srv, const char *ip)
{
	int64_t n = 0;

	for (struct smtp_session *s = srv->sessions; s; s = s->next)
		n += strcmp(s->client_ip, ip) == 0;
	return n;
}

void
smtp__server_session_gone(struct smtp_server *srv, struct smtp_session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->n_sessions--;
	if (srv->draining)
		drain_check(&srv->drain, srv->sessions == NULL);
}

static void
on_grace(uv_timer_t *t)
{
	struct smtp_server *srv = t->data;

	for (struct smtp_session *s = srv->sessions; s; s = s->next)
		smtp__close(s);
}

void
smtp_server_drain(struct smtp_server *srv, uint64_t grace_ms,
    void (*done_cb)(void *arg), void *arg)
{
	srv->draining = true;
	if (!srv->listener_closed) {
		uv_close((uv_handle_t *)&srv->listener, NULL);
		srv->listener_closed = true;
	}
	/* Idle sessions are told 421 now; busy ones finish their transaction. */
	for (struct smtp_session *s = srv->sessions; s; s = s->next)
		if (smtp__is_idle(s)) {
			smtp__reply(s, 421, "4.3.2 %s shutting down", srv->hostname);
			smtp__set_state(s, SMTP_S_CLOSING);
			smtp__process(s);
		}
	drain_begin(&srv->drain, srv->loop, grace_ms, done_cb, arg, on_grace, srv);
	drain_check(&srv->drain, srv->sessions == NULL);
}

void
smtp_server_free(struct smtp_server **srvp)
{
	struct smtp_server *srv = *srvp;

	if (!srv)
		return;
	SSL_CTX_free(srv->tls);
	free(srv->hostname);
	free(srv);
	*srvp = NULL;
}
