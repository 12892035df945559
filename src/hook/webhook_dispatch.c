/*
 * webhook_dispatch.c - the dispatcher's loop side (webhook_dispatch.h): a
 * timer and a wake-up start claim runs, one at a time; each claimed
 * delivery is posted through the webhook engine; each outcome is recorded
 * by a job on the threadpool, which decides what it means:
 *   2xx                     delivered
 *   refused (address, URL)  undelivered at once: trying again cannot help
 *   anything else           again after the backoff, or undelivered when
 *                           the round's attempts are spent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/log.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "gent/webhook_dispatch.h"
#include "webhook_dispatch_int.h"

static void start_claim(struct webhook_dispatch *w);

int64_t
webhook_retry_delay_ms(const char *backoff, int64_t n, uint64_t base_ms)
{
	int64_t d = (int64_t)base_ms;

	if (strcmp(backoff, "immediate") == 0)
		return 0;
	if (strcmp(backoff, "fixed") == 0 || n <= 1)
		return d < WEBHOOK_RETRY_MAX_MS ? d : WEBHOOK_RETRY_MAX_MS;
	for (int64_t i = 1; i < n && d < WEBHOOK_RETRY_MAX_MS; i++)
		d *= 2;
	return d < WEBHOOK_RETRY_MAX_MS ? d : WEBHOOK_RETRY_MAX_MS;
}

/* What the attempt in it->result makes of the delivery. */
static void
decide(const struct webhook_item *it, uint64_t base_ms, struct delivery_outcome *o)
{
	const struct delivery_row *d = &it->d;
	int64_t made = d->attempts + 1;
	int64_t in_round = made - (d->attempt_limit - d->round_attempts);

	o->id = d->id;
	o->next_attempt_at = d->next_attempt_at;
	if (it->result.status == WEBHOOK_DELIVERED)
		o->status = "delivered";
	else if (it->result.status == WEBHOOK_REFUSED || made >= d->attempt_limit)
		o->status = "undelivered";
	else {
		o->status = "pending";
		o->next_attempt_at = time_now_ms() + webhook_retry_delay_ms(d->backoff,
		    in_round, base_ms);
	}
}

static void
record_run(uv_work_t *req)
{
	struct webhook_item *it = req->data;
	struct app *app = it->w->app;
	const struct webhook_result *r = &it->result;
	struct delivery_attempt_row a = { .at = time_now_ms(),
	    .http_code = r->http_code, .error = (char *)r->error,
	    .connected_ip = (char *)r->connected_ip, .elapsed_ms = (int64_t)r->elapsed_ms };
	struct delivery_outcome o = { .attempt = &a };
	struct store_db *db;
	char *err = NULL;

	snprintf(a.result, sizeof(a.result), "%s", webhook_status_name(r->status));
	decide(it, app->conf->webhook_retry_delay, &o);
	if (store_tenant(app->store, it->tenant_id, &db, &err) != 0 ||
	    store_deliveries_record(db, &o) != STORE_OK)
		log_error("webhook", NULL, "cannot record delivery %s: %s", it->d.id,
		    err ? err : "store error");	/* the lease ends; it is tried again */
	else
		log_info("webhook", NULL, "delivery %s (%s) attempt %lld: %s %ld -> %s",
		    it->d.id, it->d.event_type, (long long)it->d.attempts + 1,
		    a.result, r->http_code, o.status);
	free(err);
}

static void
record_done(uv_work_t *req, int status)
{
	struct webhook_item *it = req->data;
	struct webhook_dispatch *w = it->w;

	(void)status;
	webhook__item_free(it);
	w->in_flight--;
	start_claim(w);		/* an immediate retry is due now */
}

static void
on_posted(const struct webhook_result *r, void *arg)
{
	struct webhook_item *it = arg;

	if (r->status == WEBHOOK_CANCELLED) {	/* stopping: the lease stays */
		it->w->in_flight--;
		webhook__item_free(it);
		return;
	}
	it->result = *r;
	it->record.data = it;
	uv_queue_work(it->w->loop, &it->record, record_run, record_done);
}

static void
post_item(struct webhook_dispatch *w, struct webhook_item *it)
{
	struct webhook_request req = { .url = it->d.url, .body = it->d.body,
	    .body_len = strlen(it->d.body), .headers = it->headers,
	    .n_headers = it->n_headers, .resolve = it->resolve };

	w->in_flight++;
	if (it->refused[0]) {
		struct webhook_result r = { .status = WEBHOOK_REFUSED };
		snprintf(r.error, sizeof(r.error), "%s", it->refused);
		it->result = r;
		it->record.data = it;
		uv_queue_work(w->loop, &it->record, record_run, record_done);
		return;
	}
	if (webhook_http_post(w->http, &req, on_posted, it) != 0) {
		struct webhook_result r = { .status = WEBHOOK_NETWORK_ERROR };
		snprintf(r.error, sizeof(r.error), "the webhook engine refused the "
		    "request (queue full or request malformed)");
		it->result = r;
		it->record.data = it;
		uv_queue_work(w->loop, &it->record, record_run, record_done);
	}
}

static void
claim_done(uv_work_t *req, int status)
{
	struct webhook_dispatch *w = req->data;
	struct webhook_item *it = w->claimed, *next;

	(void)status;
	w->claimed = NULL;
	w->claiming = false;
	for (; it; it = next) {
		next = it->next;
		it->next = NULL;
		if (w->stopping)	/* claimed during shutdown: leave it leased */
			webhook__item_free(it);
		else
			post_item(w, it);
	}
	if (w->backlog || w->kick_pending)
		start_claim(w);
}

static void
start_claim(struct webhook_dispatch *w)
{
	/* A wake-up during a run is kept for its end, never dropped. */
	if (w->claiming || w->in_flight >= WEBHOOK_IN_FLIGHT_MAX) {
		w->kick_pending = true;
		return;
	}
	if (w->stopping)
		return;
	w->kick_pending = false;
	w->claiming = true;
	w->budget = WEBHOOK_IN_FLIGHT_MAX - w->in_flight;
	w->claim.data = w;
	uv_queue_work(w->loop, &w->claim, webhook__claim_run, claim_done);
}

static void
on_tick(uv_timer_t *t)
{
	start_claim(t->data);
}

static void
on_kick(uv_async_t *a)
{
	start_claim(a->data);
}

int
webhook_dispatch_start(uv_loop_t *loop, struct app *app, char **error_r)
{
	struct webhook_dispatch *w = xcalloc(1, sizeof(*w));

	w->loop = loop;
	w->app = app;
	if (webhook_http_start(&w->http, loop, app->conf->webhook_allow_private,
	    error_r) != 0) {
		free(w);
		return -1;
	}
	uv_timer_init(loop, &w->timer);
	uv_async_init(loop, &w->kick, on_kick);
	w->timer.data = w->kick.data = w;
	uv_timer_start(&w->timer, on_tick, 0, WEBHOOK_TICK_MS);
	app->webhooks = w;
	return 0;
}

static void
on_closed(uv_handle_t *h)
{
	(void)h;
}

void
webhook_dispatch_stop(struct app *app)
{
	struct webhook_dispatch *w = app->webhooks;

	if (!w || w->stopping)
		return;
	w->stopping = true;
	webhook_http_stop(&w->http);	/* pending posts end CANCELLED */
	uv_timer_stop(&w->timer);
	uv_close((uv_handle_t *)&w->timer, on_closed);
	uv_close((uv_handle_t *)&w->kick, on_closed);
}

void
webhook_dispatch_free(struct app *app)
{
	free(app->webhooks);
	app->webhooks = NULL;
}

void
webhook_dispatch_kick(struct app *app)
{
	if (app->webhooks && !app->webhooks->stopping)
		uv_async_send(&app->webhooks->kick);
}
