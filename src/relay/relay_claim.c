/*
 * relay_claim.c - the threadpool half of a claim run: lease due rows of
 * every tenant, sign each with its sending domain's active DKIM key, and
 * group them by destination with the addresses to try (MX by preference,
 * then A/AAAA; the domain itself when it has no MX, RFC 5321 5.1; a null
 * MX "0 ." means the domain takes no mail, RFC 7505).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/dns.h"
#include "gent/gent_dkim.h"
#include "gent/log.h"
#include "gent/store_accounts.h"
#include "gent/store_domains.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "relay_int.h"

static char *
read_small_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = xcalloc(1, 65536);
	n = fread(buf, 1, 65535, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* The active key of domain (of tenant): selector and PEM, or -1. */
static int
active_key(struct store_db *control, const char *tenant_id, const char *domain,
    char **selector_r, char **pem_r)
{
	struct dkim_key_row *keys = NULL;
	struct domain_row d;
	int n = 0, rc = -1;

	if (store_domains_get(control, tenant_id, domain, &d) != STORE_OK)
		return -1;
	store_dkim_keys_list(control, d.id, &keys, &n);
	for (int i = 0; i < n && rc != 0; i++) {
		if (strcmp(keys[i].status, "active") != 0 || !keys[i].key_path)
			continue;
		if ((*pem_r = read_small_file(keys[i].key_path))) {
			*selector_r = xstrdup(keys[i].selector);
			rc = 0;
		}
	}
	dkim_key_rows_free(keys, n);
	domain_row_free(&d);
	return rc;
}

/* The active keys a claim run has read, by tenant and sending domain
 * (found or not): a batch of a domain's mail reads its key file once. */
struct key_cache {
	char			 tenant_id[64];
	char			*domain;
	char			*selector, *pem;	/* NULL: the domain has no key */
	struct key_cache	*next;
};

static void
key_cache_free(struct key_cache **cp)
{
	struct key_cache *c = *cp, *next;

	for (; c; c = next) {
		next = c->next;
		free(c->domain);
		free(c->selector);
		if (c->pem) {
			OPENSSL_cleanse(c->pem, strlen(c->pem));	/* keys do not linger */
			free(c->pem);
		}
		free(c);
	}
	*cp = NULL;
}

static const struct key_cache *
key_for(struct app *app, struct key_cache **cache, const char *tenant_id,
    const char *domain)
{
	struct key_cache *c;

	for (c = *cache; c; c = c->next)
		if (strcmp(c->tenant_id, tenant_id) == 0 && strcasecmp(c->domain, domain) == 0)
			return c;
	c = xcalloc(1, sizeof(*c));
	snprintf(c->tenant_id, sizeof(c->tenant_id), "%s", tenant_id);
	c->domain = xstrdup(domain);
	if (active_key(store_control(app->store), tenant_id, domain, &c->selector,
	    &c->pem) != 0)
		c->selector = c->pem = NULL;
	c->next = *cache;
	*cache = c;
	return c;
}

/*
 * raw with every line end as smtp_client_body.c puts it on the wire:
 * CRLF, a bare CR and a bare LF each become CRLF, and a last line without
 * one gets it (an empty row stays empty). The writers of the queue store
 * CRLF text, but the relay must not depend on it: gent_dkim_sign() takes
 * CRLF lines, hashes a bare LF or CR as it is (not as the CRLF the wire
 * carries, so the signature fails at the peer) and refuses a message that
 * does not end in CRLF (which then went out unsigned, silently). Signing
 * and sending this form makes the signature cover exactly what the peer
 * receives (RELIABILITY.md row 3; Postfix cleanup_replace_stray_cr_lf).
 */
static char *
crlf_copy(const char *raw, size_t len, size_t *len_r)
{
	struct buf b = { 0 };
	size_t i = 0;

	buf_append(&b, "", 0);	/* never NULL, even for an emptied row */
	while (i < len) {
		size_t run = 0;
		while (i + run < len && raw[i + run] != '\r' && raw[i + run] != '\n')
			run++;
		buf_append(&b, raw + i, run);
		i += run;
		if (i < len) {
			i += raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n' ? 2 : 1;
			buf_append(&b, "\r\n", 2);
		}
	}
	if (b.len > 0 && b.data[b.len - 1] != '\n')
		buf_append(&b, "\r\n", 2);
	*len_r = b.len;
	return b.data;
}

/* The bytes to send: the row in CRLF form, signed by its domain, or
 * unsigned when the inbox has no domain key (operator-made inboxes). */
static void
sign_item(struct app *app, struct key_cache **cache, struct relay_item *it)
{
	const char *at = strrchr(it->q.mail_from, '@'), *why = NULL;
	const struct key_cache *k = at ? key_for(app, cache, it->tenant_id, at + 1) : NULL;
	struct buf wire = { 0 };
	size_t len;
	char *msg = crlf_copy(it->q.raw, it->q.raw_len, &len), *sig = NULL;

	if (k && k->pem && len > 0) {
		sig = gent_dkim_sign(msg, len, at + 1, k->selector, k->pem, &why);
		if (!sig)
			log_warn("relay", NULL, "%s goes unsigned: %s", it->q.id,
			    why ? why : "DKIM signing failed");
	}
	if (!sig) {
		it->wire = msg;
		it->wire_len = len;
		return;
	}
	buf_append_str(&wire, sig);
	buf_append(&wire, msg, len);
	it->wire = wire.data;
	it->wire_len = wire.len;
	free(sig);
	free(msg);
}

static void
add_addrs(struct app *app, struct relay_route *rt, const char *host)
{
	static const enum dns_type types[] = { DNS_T_A, DNS_T_AAAA };
	struct in6_addr probe;

	if (inet_pton(AF_INET, host, &probe) == 1 || inet_pton(AF_INET6, host, &probe) == 1) {
		rt->hosts[rt->n_addrs] = xstrdup(host);
		rt->addrs[rt->n_addrs++] = xstrdup(host);
		return;
	}
	for (size_t t = 0; t < 2; t++) {
		struct dns_result res;
		dns_lookup_sync(app->dns, host, types[t], 0, &res);
		for (size_t i = 0; res.status == DNS_OK && i < res.n_records &&
		    rt->n_addrs < RELAY_ADDRS_MAX; i++) {
			rt->hosts[rt->n_addrs] = xstrdup(host);
			rt->addrs[rt->n_addrs++] = xstrdup(res.records[i]);
		}
		if (res.status == DNS_TEMPFAIL && rt->dest == RELAY_DEST_NONE)
			rt->dest = RELAY_DEST_TEMP;
		dns_result_free(&res);
	}
}

static int
mx_cmp(const void *a, const void *b)
{
	long pa = strtol(*(char *const *)a, NULL, 10), pb = strtol(*(char *const *)b, NULL, 10);

	return (pa > pb) - (pa < pb);
}

/* Fill rt's addresses from DNS (blocking: threadpool only). */
static void
resolve(struct app *app, struct relay_route *rt)
{
	struct dns_result mx;

	rt->dest = RELAY_DEST_NONE;
	rt->port = (int)app->conf->relay_port;
	if (app->conf->relay_host) {
		char *host = xstrdup(app->conf->relay_host), *colon = strrchr(host, ':');
		if (colon) {
			*colon = '\0';
			rt->port = (int)strtol(colon + 1, NULL, 10);
		}
		add_addrs(app, rt, host);
		free(host);
	} else {
		dns_lookup_sync(app->dns, rt->domain, DNS_T_MX, 0, &mx);
		if (mx.status == DNS_OK) {
			qsort(mx.records, mx.n_records, sizeof(char *), mx_cmp);
			for (size_t i = 0; i < mx.n_records && rt->n_addrs < RELAY_ADDRS_MAX; i++) {
				const char *sp = strchr(mx.records[i], ' ');
				if (sp && strcmp(sp + 1, ".") != 0 && sp[1])
					add_addrs(app, rt, sp + 1);
			}
		} else if (mx.status == DNS_NODATA) {
			add_addrs(app, rt, rt->domain);
		} else if (mx.status == DNS_TEMPFAIL) {
			rt->dest = RELAY_DEST_TEMP;
		}
		dns_result_free(&mx);
	}
	if (rt->n_addrs > 0)
		rt->dest = RELAY_DEST_OK;
}

/* The route for the item's destination, made on first use. */
static struct relay_route *
route_for(struct relay *r, struct relay_route **list, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	const char *domain = r->app->conf->relay_host ? r->app->conf->relay_host :
	    at ? at + 1 : "";
	struct relay_route *rt;

	for (rt = *list; rt; rt = rt->next)
		if (strcasecmp(rt->domain, domain) == 0)
			return rt;
	rt = xcalloc(1, sizeof(*rt));
	rt->relay = r;
	rt->domain = xstrdup(domain);
	str_lower(rt->domain);
	rt->next = *list;
	*list = rt;
	return rt;
}

static void
release_tenant(struct relay *r, const char *tenant_id)
{
	struct store_db *db;
	char *err = NULL;

	if (store_tenant(r->app->store, tenant_id, &db, &err) != 0 ||
	    store_queue_release_leases(db, time_now_ms()) != STORE_OK)
		log_error("relay", NULL, "cannot release the leases of %s", tenant_id);
	free(err);
}

/* Lease one tenant's due rows into routes; returns how many. */
static int
claim_tenant(struct relay *r, const char *tenant_id, int budget,
    struct relay_route **routes, struct key_cache **keys)
{
	struct queue_item *items = NULL;
	struct store_db *db;
	char *err = NULL;
	int n = 0;

	if (store_tenant(r->app->store, tenant_id, &db, &err) != 0) {
		log_error("relay", NULL, "%s", err);
		free(err);
		return 0;
	}
	if (store_queue_claim(db, time_now_ms(), RELAY_LEASE_MS, budget, &items, &n)
	    != STORE_OK)
		return 0;
	for (int i = 0; i < n; i++) {
		struct relay_item *it = xcalloc(1, sizeof(*it));
		struct relay_route *rt;
		snprintf(it->tenant_id, sizeof(it->tenant_id), "%s", tenant_id);
		it->q = items[i];	/* takes the strings */
		sign_item(r->app, keys, it);
		rt = route_for(r, routes, it->q.rcpt_to);
		it->next = rt->items;
		rt->items = it;
	}
	free(items);
	return n;
}

void
relay__claim_run(uv_work_t *w)
{
	struct relay *r = w->data;
	struct relay_route *routes = NULL;
	struct key_cache *keys = NULL;
	char **ids = NULL;
	int n = 0, budget = RELAY_CLAIM_MAX;

	if (store_tenants_ids(store_control(r->app->store), &ids, &n) != STORE_OK)
		log_error("relay", NULL, "cannot list tenants; will retry");
	/* The first run after start-up: the leases of the last run are void. */
	for (int i = 0; i < n && !r->leases_released; i++)
		release_tenant(r, ids[i]);
	r->leases_released = true;
	for (int i = 0; i < n; i++) {
		if (budget > 0)
			budget -= claim_tenant(r, ids[i], budget, &routes, &keys);
		free(ids[i]);
	}
	free(ids);
	key_cache_free(&keys);
	for (struct relay_route *rt = routes; rt; rt = rt->next)
		resolve(r->app, rt);
	r->claimed = routes;
	/* A full batch means more is due: claim again as soon as possible. */
	r->backlog = budget <= 0;
}
