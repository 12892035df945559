/*
 * relay_idle.c - connections kept open between routes. A route that has
 * sent everything leaves its connection here, usable, for
 * RELAY_IDLE_MS; the next route to the same destination (a later claim
 * run, mail sent a moment later) takes it instead of connecting,
 * greeting, EHLO and STARTTLS again (Postfix's connection cache does the
 * same). Connections the server closed meanwhile are dropped by the
 * relay's tick, and a reused one that fails at once sends its route to a
 * fresh connection (relay_deliver.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/smtp_client.h"
#include "gent/util.h"
#include "relay_int.h"

struct relay_idle {
	char			*domain;	/* the route's destination */
	int			 port;
	char			*addr;		/* the address it is connected to */
	struct smtp_client	*client;
	uint64_t		 since;		/* uv_now() when parked */
	struct relay_idle	*next;
};

static void
idle_free(struct relay_idle *e)
{
	smtp_client_close(&e->client);	/* QUIT */
	free(e->domain);
	free(e->addr);
	free(e);
}

static int
idle_count(const struct relay *r)
{
	int n = 0;

	for (const struct relay_idle *e = r->idle; e; e = e->next)
		n++;
	return n;
}

void
relay__idle_put(struct relay *r, const char *domain, int port, const char *addr,
    struct smtp_client **cp)
{
	struct relay_idle *e;

	if (r->stopping || !smtp_client_usable(*cp) || idle_count(r) >= RELAY_IDLE_MAX) {
		smtp_client_close(cp);
		return;
	}
	e = xcalloc(1, sizeof(*e));
	e->domain = xstrdup(domain);
	e->port = port;
	e->addr = xstrdup(addr);
	e->client = *cp;
	e->since = uv_now(r->loop);
	*cp = NULL;
	e->next = r->idle;
	r->idle = e;
}

struct smtp_client *
relay__idle_take(struct relay *r, const char *domain, int port, char **addr_r)
{
	for (struct relay_idle **pp = &r->idle; *pp; pp = &(*pp)->next) {
		struct relay_idle *e = *pp;
		if (e->port != port || strcasecmp(e->domain, domain) != 0 ||
		    !smtp_client_usable(e->client))
			continue;
		struct smtp_client *c = e->client;
		*pp = e->next;
		e->client = NULL;
		*addr_r = e->addr;
		e->addr = NULL;
		idle_free(e);
		return c;
	}
	return NULL;
}

void
relay__idle_sweep(struct relay *r, bool all)
{
	uint64_t now = uv_now(r->loop);

	for (struct relay_idle **pp = &r->idle; *pp;) {
		struct relay_idle *e = *pp;
		if (all || !smtp_client_usable(e->client) || now - e->since >= RELAY_IDLE_MS) {
			*pp = e->next;
			idle_free(e);
		} else {
			pp = &e->next;
		}
	}
}
