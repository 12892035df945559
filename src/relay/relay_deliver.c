/*
 * relay_deliver.c - one route on the wire: connect to its addresses in
 * order (MX preference), send its items one transaction each over the
 * same connection, and hand every outcome to relay__item_done().
 *
 * An address that cannot be reached, greets with an error or drops the
 * connection is left for the next one; the item in flight goes with the
 * remaining items. When no address is left every item gets the last
 * reply (or a 4xx saying what failed), so a dead destination is retried
 * later rather than bounced.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/log.h"
#include "gent/smtp_client.h"
#include "gent/util.h"
#include "relay_int.h"

static void try_next_addr(struct relay_route *rt);
static void send_next(struct relay_route *rt);
static void reconnect(struct relay_route *rt);

static void
unlink_route(struct relay_route *rt)
{
	struct relay *r = rt->relay;

	if (rt->prev)
		rt->prev->next = rt->next;
	else if (r->active == rt)
		r->active = rt->next;
	if (rt->next)
		rt->next->prev = rt->prev;
	rt->next = rt->prev = NULL;
}

void
relay__route_free(struct relay_route **rtp)
{
	struct relay_route *rt = *rtp;

	if (!rt)
		return;
	*rtp = NULL;
	smtp_client_close(&rt->client);
	while (rt->items) {
		struct relay_item *it = rt->items;
		rt->items = it->next;
		relay__item_free(&it);
	}
	for (size_t i = 0; i < rt->n_addrs; i++) {
		free(rt->hosts[i]);
		free(rt->addrs[i]);
	}
	free(rt->domain);
	free(rt->last_error);
	free(rt);
}

/* The route is done: every item was handed on. */
static void
finish(struct relay_route *rt)
{
	struct relay *r = rt->relay;

	unlink_route(rt);
	relay__route_free(&rt);
	relay__route_finished(r);
}

void
relay__route_abort(struct relay_route *rt)
{
	finish(rt);
}

/* Every remaining item gets this outcome. */
static void
fail_all(struct relay_route *rt, int code, const char *text)
{
	const char *host = rt->next_addr > 0 && rt->next_addr <= rt->n_addrs ?
	    rt->hosts[rt->next_addr - 1] : NULL;

	while (rt->items) {
		struct relay_item *it = rt->items;
		rt->items = it->next;
		it->next = NULL;
		relay__item_done(rt->relay, it, code, text, host, false);
	}
	finish(rt);
}

static void
note_failure(struct relay_route *rt, int code, const char *text)
{
	rt->last_code = code;
	free(rt->last_error);
	rt->last_error = xstrdup(text);
}

static const char *
current_host(const struct relay_route *rt)
{
	return rt->hosts[rt->next_addr - 1];
}

static void
on_sent(struct smtp_client *c, const struct smtp_send_result *res, void *arg)
{
	struct relay_route *rt = arg;
	struct relay_item *it = rt->items;
	const struct smtp_client_reply *rep = &res->reply;

	(void)c;
	/* A recipient refused at RCPT answers for itself. */
	if (res->n_rcpts == 1 && res->rcpts[0].reply.code >= 400)
		rep = &res->rcpts[0].reply;
	if (res->outcome == SMTP_SEND_DEFERRED && !smtp_client_usable(rt->client) &&
	    (rt->reused || rt->next_addr < rt->n_addrs)) {
		/* The connection broke: this item goes on with the next address
		 * (all of them again when it was a kept one the server had
		 * given up on). */
		note_failure(rt, rep->code, rep->text ? rep->text : "connection lost");
		reconnect(rt);
		return;
	}
	rt->reused = false;
	rt->items = it->next;
	it->next = NULL;
	relay__item_done(rt->relay, it, rep->code, rep->text, current_host(rt), res->tls);
	if (!smtp_client_usable(rt->client)) {
		smtp_client_close(&rt->client);
		if (rt->items)
			try_next_addr(rt);
		else
			finish(rt);
		return;
	}
	send_next(rt);
}

/* Drop the connection and go on with the next address; a kept
 * connection that failed before its first send starts over at the first. */
static void
reconnect(struct relay_route *rt)
{
	smtp_client_close(&rt->client);
	if (rt->reused)
		rt->next_addr = 0;
	rt->reused = false;
	try_next_addr(rt);
}

static void
send_next(struct relay_route *rt)
{
	struct relay_item *it = rt->items;
	const char *rcpts[1];

	if (!it || rt->relay->stopping) {
		/* Done: the connection waits for the next route there. */
		if (rt->client && rt->next_addr > 0)
			relay__idle_put(rt->relay, rt->domain, rt->port,
			    rt->addrs[rt->next_addr - 1], &rt->client);
		finish(rt);
		return;
	}
	rcpts[0] = it->q.rcpt_to;
	if (smtp_client_send(rt->client, it->q.mail_from, rcpts, 1, it->wire,
	    it->wire_len, on_sent, rt) != 0) {
		note_failure(rt, 451, "4.3.0 could not start the transaction");
		reconnect(rt);
	}
}

static void
on_ready(struct smtp_client *c, int status, const struct smtp_client_reply *why,
    void *arg)
{
	struct relay_route *rt = arg;

	(void)c;
	if (status == 0) {
		send_next(rt);
		return;
	}
	note_failure(rt, why ? why->code : 421, why && why->text ? why->text :
	    "4.4.1 connection failed");
	log_info("relay", NULL, "%s [%s]: %d %s", current_host(rt),
	    rt->addrs[rt->next_addr - 1], rt->last_code, rt->last_error);
	smtp_client_close(&rt->client);
	try_next_addr(rt);
}

static int
make_addr(const char *ip, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -1;
}

static void
try_next_addr(struct relay_route *rt)
{
	struct relay *r = rt->relay;
	struct sockaddr_storage ss;

	while (rt->next_addr < rt->n_addrs) {
		size_t k = rt->next_addr++;
		const struct conf *cf = r->app->conf;
		/* Credentials go to the smarthost only, and only over TLS. */
		bool auth = cf->relay_host && cf->relay_user && cf->relay_password;
		struct smtp_client_opts o = { .helo_name = cf->hostname,
		    .server_name = rt->hosts[k], .tls_ctx = r->tls, .require_tls = auth,
		    .auth_user = auth ? cf->relay_user : NULL,
		    .auth_pass = auth ? cf->relay_password : NULL };
		if (make_addr(rt->addrs[k], rt->port, &ss) == 0 &&
		    smtp_client_connect(r->loop, (struct sockaddr *)&ss, &o, on_ready, rt,
		    &rt->client) == 0)
			return;
		note_failure(rt, 421, "4.4.1 cannot connect");
	}
	fail_all(rt, rt->last_code ? rt->last_code : 421, rt->last_error ?
	    rt->last_error : "4.4.1 no address could be reached");
}

/* A kept connection to one of rt's addresses, if there is one. */
static bool
take_idle(struct relay_route *rt)
{
	char *addr = NULL;
	struct smtp_client *c = relay__idle_take(rt->relay, rt->domain, rt->port, &addr);

	for (size_t i = 0; c && i < rt->n_addrs; i++) {
		if (strcmp(rt->addrs[i], addr) == 0) {
			rt->client = c;
			rt->next_addr = i + 1;
			rt->reused = true;
			free(addr);
			return true;
		}
	}
	smtp_client_close(&c);	/* the destination's addresses changed */
	free(addr);
	return false;
}

void
relay__route_start(struct relay_route *rt)
{
	if (rt->dest == RELAY_DEST_NONE) {
		fail_all(rt, 550, "5.1.2 the domain has no mail servers");
		return;
	}
	if (rt->dest == RELAY_DEST_TEMP) {
		fail_all(rt, 451, "4.4.3 DNS lookup failed; will retry");
		return;
	}
	if (take_idle(rt))
		send_next(rt);
	else
		try_next_addr(rt);
}
