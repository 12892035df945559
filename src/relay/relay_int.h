/*
 * relay_int.h - private to src/relay/: the relay, a route (the rows for
 * one destination, tried over one connection) and its items.
 *
 * Ownership: a claim run builds routes on the threadpool and hands them
 * to the loop; a route owns its items and lives until its last item's
 * outcome is handed to a record job; record jobs own the item they
 * record. The relay outlives every route (stop waits for them).
 */
#ifndef GENT_RELAY_INT_H
#define GENT_RELAY_INT_H

#include <openssl/ssl.h>
#include <uv.h>

#include "gent/app.h"
#include "gent/store_queue.h"

#define RELAY_ADDRS_MAX 8	/* addresses tried per destination */
#define RELAY_CLAIM_MAX 200	/* rows claimed per run (all tenants) */
#define RELAY_ROUTES_MAX 32	/* destinations in flight */
#define RELAY_LEASE_MS (10 * 60 * 1000)
#define RELAY_IDLE_MS 10000	/* an unused connection stays open this long */
#define RELAY_IDLE_MAX 32	/* connections kept open at once */

struct relay_idle;
struct smtp_client;

struct relay_item {
	char			 tenant_id[64];
	struct queue_item	 q;
	char			*wire;		/* DKIM-signed copy to send */
	size_t			 wire_len;
	struct relay_item	*next;
};

enum relay_dest_status {
	RELAY_DEST_OK,		/* addrs holds where to connect */
	RELAY_DEST_NONE,	/* the domain does not exist or has no hosts: bounce */
	RELAY_DEST_TEMP,	/* DNS failed for now: retry */
};

struct relay_route {
	struct relay		*relay;
	char			*domain;	/* recipient domain (or the smarthost) */
	enum relay_dest_status	 dest;
	char			*hosts[RELAY_ADDRS_MAX];	/* MX name per address */
	char			*addrs[RELAY_ADDRS_MAX];	/* IP text */
	size_t			 n_addrs, next_addr;
	int			 port;		/* relay_port, or the smarthost's */
	struct relay_item	*items;		/* still to send */
	struct smtp_client	*client;
	char			*last_error;	/* why the last address failed */
	int			 last_code;
	struct relay_route	*next, *prev;	/* claim list, then relay->active */
	bool			 reused;	/* client came from the idle pool
						 * and has not sent yet */
};

struct relay {
	uv_loop_t		*loop;
	struct app		*app;
	uv_timer_t		 timer;
	uv_async_t		 kick;
	uv_work_t		 claim;
	struct relay_route	*claimed;	/* handed from the claim run */
	struct relay_route	*active;	/* being delivered */
	SSL_CTX			*tls;		/* client context, opportunistic */
	int			 routes;	/* in flight */
	int			 records;	/* record jobs in flight */
	bool			 claiming, stopping;
	bool			 leases_released;	/* done once after start-up */
	bool			 backlog;	/* the last claim filled its batch */
	bool			 kick_pending;	/* a kick came during a claim */
	int			 closed;	/* handles closed (2 = all) */
	struct relay_idle	*idle;		/* open connections between routes */
};

/* relay_claim.c: the threadpool half of a claim run. */
void relay__claim_run(uv_work_t *w);

/* relay_deliver.c: connect and send a route's items, then free it. */
void relay__route_start(struct relay_route *rt);
/* Close the connection and drop what is left unrecorded (shutdown). */
void relay__route_abort(struct relay_route *rt);
/* Free a route and its items (unlinks it from relay->active). */
void relay__route_free(struct relay_route **rt);
void relay__item_free(struct relay_item **it);
/* relay_idle.c: connections kept open between routes. put takes *c
 * (closing it when it cannot be kept); take returns a usable connection
 * to domain:port and the address it is connected to (caller frees), or
 * NULL; sweep drops the idle-too-long and the broken (all: every one). */
void relay__idle_put(struct relay *r, const char *domain, int port,
    const char *addr, struct smtp_client **c);
struct smtp_client *relay__idle_take(struct relay *r, const char *domain,
    int port, char **addr_r);
void relay__idle_sweep(struct relay *r, bool all);

/* relay.c: a route ended (room for another claim). */
void relay__route_finished(struct relay *r);

/* relay.c: an item's outcome (reply code and text, the MX that gave it). */
void relay__item_done(struct relay *r, struct relay_item *it, int code,
    const char *text, const char *mx_host, bool tls);

#endif
