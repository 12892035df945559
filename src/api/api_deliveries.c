/*
 * api_deliveries.c - the webhook delivery log and replay:
 *
 *   GET  /v1/webhook-deliveries/                 ?inbox_id=&alert_id=&status=&event_id=
 *   GET  /v1/webhook-deliveries/{delivery_id}/   with every attempt
 *   POST /v1/webhook-deliveries/{delivery_id}/replay/
 *   POST /v1/webhook-deliveries/replay/          every undelivered one
 *                                                {inbox_id?, alert_id?}
 *   POST /v1/alerts/test/                        {alert_id}: one sample delivery
 *
 * A replay grants the delivery another round of its rule's attempts, due
 * now, with the same webhook-id, so a receiver that saw it already can
 * tell. Agent tokens see their inbox's deliveries only; sessions see the
 * tenant's, or one inbox's with inbox_id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/ids.h"
#include "gent/store_alerts.h"
#include "gent/store_deliveries.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "gent/webhook_dispatch.h"

static const char *const STATUSES[] = { "pending", "delivering", "delivered",
    "undelivered", NULL };

static json_t *
attempt_json(const struct delivery_attempt_row *a)
{
	return json_pack("{s:I, s:o, s:s, s:o, s:o, s:o, s:I}", "n", (json_int_t)a->n,
	    "at", api_time(a->at), "result", a->result,
	    "http_code", a->http_code ? json_integer(a->http_code) : json_null(),
	    "error", a->error ? json_string(a->error) : json_null(),
	    "connected_ip", a->connected_ip ? json_string(a->connected_ip) : json_null(),
	    "elapsed_ms", (json_int_t)a->elapsed_ms);
}

static json_t *
delivery_json(const struct delivery_row *d)
{
	json_t *body = json_loads(d->body, 0, NULL);
	bool pending = strcmp(d->status, "pending") == 0;

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:s, "
	    "s:o, s:o, s:o, s:o, s:o, s:o}", "id", d->id, "delivery_id", d->id,
	    "inbox_id", d->inbox_id, "event_id", d->event_id, "event_type",
	    d->event_type, "alert_id", d->alert_id ? json_string(d->alert_id) :
	    json_null(), "url", d->url, "status", d->status,
	    "attempts", (json_int_t)d->attempts,
	    "attempts_per_round", (json_int_t)d->round_attempts, "backoff", d->backoff,
	    "next_attempt_at", pending ? api_time(d->next_attempt_at) : json_null(),
	    "last_http_code", d->last_code ? json_integer(d->last_code) : json_null(),
	    "last_error", d->last_error ? json_string(d->last_error) : json_null(),
	    "payload", body ? body : json_null(),
	    "created_at", api_time(d->created_at), "updated_at", api_time(d->updated_at));
}

/* ?inbox_id= for a session is optional here (the tenant's deliveries). */
static int
scope_inbox(struct api_ctx *ctx, char **inbox_id_r)
{
	char *q = api_query(ctx, "inbox_id");
	bool named = q || api_body_str(ctx, "inbox_id");

	free(q);
	*inbox_id_r = NULL;
	if (ctx->who.kind != API_TOKEN && !named)
		return 0;
	return (*inbox_id_r = api_inbox_id(ctx)) ? 0 : -1;
}

static int
status_param(struct api_ctx *ctx, char **status_r)
{
	if (!(*status_r = api_query(ctx, "status")))
		return 0;
	for (int i = 0; STATUSES[i]; i++)
		if (strcmp(*status_r, STATUSES[i]) == 0)
			return 0;
	api_error_field(ctx, "status", "'status' is pending, delivering, delivered "
	    "or undelivered");
	return -1;
}

static void
deliveries_list(struct api_ctx *ctx)
{
	static const char *const params[] = { "inbox_id", "alert_id", "status",
	    "event_id", "limit", "cursor", NULL };
	char *inbox_id = NULL, *alert_id = NULL, *status = NULL, *event_id = NULL;
	char *cursor_id = NULL;
	struct delivery_row *rows = NULL;
	struct store_db *db;
	int64_t cursor_ms = 0;
	int limit, n = 0;

	if (api_query_check(ctx, params) != 0 || scope_inbox(ctx, &inbox_id) != 0 ||
	    status_param(ctx, &status) != 0 ||
	    api_list_params(ctx, &limit, &cursor_ms, &cursor_id) != 0 ||
	    !(db = api_tenant_db(ctx)))
		goto out;
	alert_id = api_query(ctx, "alert_id");
	event_id = api_query(ctx, "event_id");
	struct delivery_filter f = { inbox_id, alert_id, status, event_id };
	if (store_deliveries_list(db, &f, limit + 1, cursor_ms, cursor_id, &rows, &n)
	    != STORE_OK) {
		api_error_internal(ctx);
		goto out;
	}
	json_t *items = json_array();
	bool more = n > limit;
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(items, delivery_json(&rows[i]));
	api_list_reply(ctx, items, more, more ? rows[limit - 1].created_at : 0,
	    more ? rows[limit - 1].id : NULL);
out:
	delivery_rows_free(rows, n);
	free(inbox_id);
	free(alert_id);
	free(status);
	free(event_id);
	free(cursor_id);
}

/* The {delivery_id} delivery if the caller may see it; 404 answered. */
static int
load(struct api_ctx *ctx, struct store_db **db_r, struct delivery_row *d,
    struct delivery_attempt_row **attempts_r, int *n_r)
{
	int rc;

	memset(d, 0, sizeof(*d));
	*attempts_r = NULL;
	*n_r = 0;
	if (!(*db_r = api_tenant_db(ctx)))
		return -1;
	rc = store_deliveries_get(*db_r, api_param(ctx, "delivery_id"), d, attempts_r, n_r);
	if (rc == STORE_OK && !api_inbox_visible(ctx, d->inbox_id)) {
		rc = STORE_ERR_NOT_FOUND;
	}
	if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "webhook delivery not found");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	return rc == STORE_OK ? 0 : -1;
}

static void
deliveries_get(struct api_ctx *ctx)
{
	struct delivery_attempt_row *attempts;
	struct delivery_row d;
	struct store_db *db;
	int n;

	if (load(ctx, &db, &d, &attempts, &n) == 0) {
		json_t *o = delivery_json(&d), *list = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(list, attempt_json(&attempts[i]));
		json_object_set_new(o, "attempt_log", list);
		api_reply(ctx, 200, o);
	}
	delivery_attempt_rows_free(attempts, n);
	delivery_row_free(&d);
}

static void
deliveries_replay(struct api_ctx *ctx)
{
	struct delivery_attempt_row *attempts;
	struct delivery_row d;
	struct store_db *db;
	int n, rc;

	if (load(ctx, &db, &d, &attempts, &n) != 0)
		goto out;
	struct store_audit a = api_audit(ctx, "webhook_delivery.replayed",
	    "webhook_delivery", d.id);
	rc = store_deliveries_replay(db, d.id, &a);
	if (rc == STORE_ERR_CONFLICT) {
		api_error(ctx, 409, "conflict", "delivery %s is %s: only delivered or "
		    "undelivered deliveries can be replayed", d.id, d.status);
	} else if (rc != STORE_OK) {
		api_error_internal(ctx);
	} else {
		webhook_dispatch_kick(ctx->app);
		api_reply(ctx, 202, json_pack("{s:s, s:s}", "delivery_id", d.id,
		    "status", "pending"));
	}
out:
	delivery_attempt_rows_free(attempts, n);
	delivery_row_free(&d);
}

static void
deliveries_replay_undelivered(struct api_ctx *ctx)
{
	char *inbox_id = NULL;
	struct store_db *db;
	int n = 0;

	if (scope_inbox(ctx, &inbox_id) != 0 || !(db = api_tenant_db(ctx)))
		goto out;
	struct delivery_filter f = { inbox_id, api_body_str(ctx, "alert_id"), NULL, NULL };
	struct store_audit a = api_audit(ctx, "webhook_delivery.replayed_undelivered",
	    inbox_id ? "inbox" : "tenant", inbox_id ? inbox_id : ctx->who.tenant_id);
	if (store_deliveries_replay_undelivered(db, &f, &a, &n) != STORE_OK) {
		api_error_internal(ctx);
		goto out;
	}
	webhook_dispatch_kick(ctx->app);
	api_reply(ctx, 202, json_pack("{s:i}", "replayed", n));
out:
	free(inbox_id);
}

/* The sample event a test delivery carries. */
static char *
test_body(const struct alert_row *r, const char *event_id)
{
	char when[TIMEFMT_ISO_LEN];
	json_t *e;
	char *body;

	time_format_iso(time_now_ms(), when);
	e = json_pack("{s:s, s:s, s:s, s:n, s:n, s:{s:s, s:b}, s:s}", "id", event_id,
	    "type", "alert.test", "inbox_id", r->inbox_id, "message_id", "thread_id",
	    "payload", "alert_id", r->id, "test", 1, "created_at", when);
	body = json_dumps(e, JSON_COMPACT);
	json_decref(e);
	return body;
}

static void
alerts_test(struct api_ctx *ctx)
{
	const char *alert_id = api_body_str(ctx, "alert_id");
	char *event_id = ids_new("evt"), *id = ids_new("whd");
	struct alert_row r;
	struct store_db *db;
	int rc;

	memset(&r, 0, sizeof(r));
	if (!(db = api_tenant_db(ctx)))
		goto out;
	rc = store_alerts_get(db, alert_id, &r);
	if (rc == STORE_OK && !api_inbox_visible(ctx, r.inbox_id))
		rc = STORE_ERR_NOT_FOUND;
	if (rc != STORE_OK) {
		if (rc == STORE_ERR_NOT_FOUND)
			api_error(ctx, 404, "not_found", "alert rule not found");
		else
			api_error_internal(ctx);
		goto out;
	}
	/* One attempt: a test reports what the endpoint does now. */
	struct delivery_row d = { .alert_id = r.id, .url = r.url,
	    .body = test_body(&r, event_id), .round_attempts = 1 };
	snprintf(d.id, sizeof(d.id), "%s", id);
	snprintf(d.inbox_id, sizeof(d.inbox_id), "%s", r.inbox_id);
	snprintf(d.event_id, sizeof(d.event_id), "%s", event_id);
	snprintf(d.event_type, sizeof(d.event_type), "alert.test");
	snprintf(d.backoff, sizeof(d.backoff), "%s", r.backoff);
	struct store_audit a = api_audit(ctx, "alert.tested", "alert_rule", r.id);
	if (store_deliveries_create(db, &d, &a) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		webhook_dispatch_kick(ctx->app);
		api_reply(ctx, 202, json_pack("{s:s, s:s, s:s}", "delivery_id", d.id,
		    "event_id", event_id, "status", "pending"));
	}
	free(d.body);
out:
	alert_row_free(&r);
	free(event_id);
	free(id);
}

static const struct api_field test_fields[] = {
	{ "alert_id", API_T_STRING, true, false, "the rule whose endpoint gets a sample" },
	{ 0 },
};

static const struct api_field replay_fields[] = {
	{ "inbox_id", API_T_STRING, false, false, "required for an inbox; a session "
	  "without it replays the tenant's" },
	{ "alert_id", API_T_STRING, false, false, "only this rule's deliveries" },
	{ 0 },
};

static const struct api_field no_fields[] = { { 0 } };

const struct api_route api_deliveries_routes[] = {
	{ "POST", "/v1/alerts/test/", API_AUTH_SCOPE, "alerts:write", alerts_test,
	  test_fields, 202, "Send one sample delivery to an alert rule's endpoint" },
	{ "GET", "/v1/webhook-deliveries/", API_AUTH_SCOPE, "alerts:read",
	  deliveries_list, NULL, 200, "The webhook delivery log, newest first" },
	{ "POST", "/v1/webhook-deliveries/replay/", API_AUTH_SCOPE, "alerts:write",
	  deliveries_replay_undelivered, replay_fields, 202,
	  "Replay every undelivered delivery" },
	{ "GET", "/v1/webhook-deliveries/{delivery_id}/", API_AUTH_SCOPE, "alerts:read",
	  deliveries_get, NULL, 200, "A delivery with every attempt" },
	{ "POST", "/v1/webhook-deliveries/{delivery_id}/replay/", API_AUTH_SCOPE,
	  "alerts:write", deliveries_replay, no_fields, 202,
	  "Replay one delivery (another round of attempts)" },
	{ 0 },
};
