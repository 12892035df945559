/*
 * webhook_claim.c - the threadpool half of a dispatcher claim run: for
 * every tenant with work, fan new events out to deliveries, lease the due
 * ones, and make each ready to post: the addresses of its host from
 * gentd's resolver (the same servers every other lookup uses) and its
 * signature headers.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/dns.h"
#include "gent/log.h"
#include "gent/seal.h"
#include "gent/store_accounts.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "webhook_dispatch_int.h"

#define RESOLVE_ADDRS_MAX 8

void
webhook__item_free(struct webhook_item *it)
{
	if (!it)
		return;
	delivery_row_free(&it->d);
	free(it->resolve);
	memset(&it->sig, 0, sizeof(it->sig));
	free(it);
}

static bool
is_ip_literal(const char *host)
{
	unsigned char probe[16];
	char buf[64];
	size_t n = strlen(host);

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		return inet_pton(AF_INET6, buf, probe) == 1;
	}
	return inet_pton(AF_INET, host, probe) == 1 || inet_pton(AF_INET6, host, probe) == 1;
}

/* "host:port:a,b" for CURLOPT_RESOLVE, or NULL to let curl look it up
 * (an IP literal, or a name our resolver has no address for: curl's own
 * lookup then fails or finds one, and the connect-time policy holds). */
static char *
resolve_entry(struct app *app, const char *url)
{
	static const enum dns_type types[] = { DNS_T_A, DNS_T_AAAA };
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *entry = NULL;
	struct buf addrs = { 0 };
	int n = 0;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    is_ip_literal(host))
		goto out;
	for (size_t t = 0; t < GENT_ARRAY_LEN(types); t++) {
		struct dns_result res;
		dns_lookup_sync(app->dns, host, types[t], 0, &res);
		for (size_t i = 0; res.status == DNS_OK && i < res.n_records &&
		    n < RESOLVE_ADDRS_MAX; i++, n++)
			buf_printf(&addrs, types[t] == DNS_T_AAAA ? "%s[%s]" : "%s%s",
			    n ? "," : "", res.records[i]);
		dns_result_free(&res);
	}
	if (n)
		entry = xasprintf("%s:%s:%s", host, port, addrs.data);
out:
	free(addrs.data);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return entry;
}

/* While a rotated secret's grace lasts, webhook-signature carries a
 * second v1 made with the previous secret (Standard Webhooks lists
 * signatures space-separated), so receivers still on it accept. */
static void
add_previous_signature(struct webhook_item *it, int64_t now_s)
{
	const struct delivery_row *d = &it->d;
	char old[48];
	const char *why;

	if (!d->previous_secret || !*d->previous_secret ||
	    webhook_sign_v1(d->previous_secret, d->id, now_s, d->body, strlen(d->body),
	    old, &why) != 0)
		return;
	snprintf(it->sig.lines[3], WEBHOOK_SIGN_LINE_MAX, "webhook-signature: %s %s",
	    it->sig.v1, old);
	OPENSSL_cleanse(old, sizeof(old));
}

/* The headers of one post: event and delivery ids, then the signatures
 * (or only webhook-id and webhook-timestamp when there is no secret). */
static void
prepare_headers(struct webhook_item *it)
{
	const struct delivery_row *d = &it->d;
	const char *why = NULL;
	int64_t now_s = time_now_ms() / 1000;

	snprintf(it->event_line, sizeof(it->event_line), "X-Gent-Event: %s",
	    d->event_type);
	it->headers[it->n_headers++] = it->event_line;
	if (d->secret && *d->secret && webhook_sign(&it->sig, d->secret, d->id, now_s,
	    d->body, strlen(d->body), &why) == 0) {
		add_previous_signature(it, now_s);
		for (size_t i = 0; i < WEBHOOK_SIGN_NLINES; i++)
			it->headers[it->n_headers++] = it->sig.lines[i];
		return;
	}
	if (why)
		log_warn("webhook", NULL, "delivery %s is sent unsigned: %s", d->id, why);
	snprintf(it->sig.lines[0], WEBHOOK_SIGN_LINE_MAX, "webhook-id: %s", d->id);
	snprintf(it->sig.lines[1], WEBHOOK_SIGN_LINE_MAX, "webhook-timestamp: %lld",
	    (long long)now_s);
	it->headers[it->n_headers++] = it->sig.lines[0];
	it->headers[it->n_headers++] = it->sig.lines[1];
}

/* The subscription's secrets as stored (sealed) become usable here, on
 * the threadpool, and only for the time of the claim and post. */
/* The subscription's secrets as stored (sealed) become usable here, on
 * the threadpool, for the time of the claim and post. False when one
 * does not open (another server's key, a changed byte). */
static bool
unseal_secret(struct app *app, char **secret)
{
	char *plain;

	if (!*secret)
		return true;
	plain = unseal_text(app->seal_key, SEAL_PURPOSE_WEBHOOK, *secret);
	OPENSSL_cleanse(*secret, strlen(*secret));
	free(*secret);
	*secret = plain;
	return plain != NULL;
}

/* A delivery whose secret does not open is not sent (unsigned it would
 * pass for a delivery from a rule without a secret). */
static void
unseal_secrets(struct app *app, struct webhook_item *it)
{
	bool current = unseal_secret(app, &it->d.secret);

	unseal_secret(app, &it->d.previous_secret);
	if (!current)
		snprintf(it->refused, sizeof(it->refused), "the stored secret does "
		    "not open with this server's key (webhook_seal in control.db)");
}

static void
fan_out_tenant(struct store_db *db, const char *tenant_id)
{
	for (int run = 0; run < WEBHOOK_FAN_OUT_RUNS; run++) {
		int n = 0;
		if (store_deliveries_fan_out(db, &n) != STORE_OK) {
			log_error("webhook", NULL, "fan-out of %s failed; will retry",
			    tenant_id);
			return;
		}
		if (n < DELIVERY_FAN_OUT_MAX)
			return;
	}
}

/* Lease one tenant's due deliveries into w->claimed; how many. */
static int
claim_tenant(struct webhook_dispatch *w, const char *tenant_id, int budget)
{
	struct delivery_row *rows = NULL;
	struct store_db *db;
	char *err = NULL;
	int n = 0;

	if (store_tenant(w->app->store, tenant_id, &db, &err) != 0) {
		log_error("webhook", NULL, "%s", err);
		free(err);
		return 0;
	}
	if (!w->leases_released)
		store_deliveries_release_all(db);
	if (!store_deliveries_have_work(db, time_now_ms()))
		return 0;
	fan_out_tenant(db, tenant_id);
	if (store_deliveries_claim(db, time_now_ms(), WEBHOOK_LEASE_MS, budget, &rows,
	    &n) != STORE_OK)
		return 0;
	for (int i = 0; i < n; i++) {
		struct webhook_item *it = xcalloc(1, sizeof(*it));
		it->w = w;
		snprintf(it->tenant_id, sizeof(it->tenant_id), "%s", tenant_id);
		it->d = rows[i];	/* takes the strings */
		unseal_secrets(w->app, it);
		it->resolve = resolve_entry(w->app, it->d.url);
		prepare_headers(it);
		it->next = w->claimed;
		w->claimed = it;
	}
	free(rows);
	return n;
}

void
webhook__claim_run(uv_work_t *req)
{
	struct webhook_dispatch *w = req->data;
	char **ids = NULL;
	int n = 0, budget = w->budget;

	if (store_tenants_ids(store_control(w->app->store), &ids, &n) != STORE_OK)
		log_error("webhook", NULL, "cannot list tenants; will retry");
	for (int i = 0; i < n; i++) {
		if (budget > 0 || !w->leases_released)
			budget -= claim_tenant(w, ids[i], budget > 0 ? budget : 0);
		free(ids[i]);
	}
	free(ids);
	w->leases_released = true;
	w->backlog = budget <= 0;
}
