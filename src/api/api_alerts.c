/*
 * api_alerts.c - alert rules (guide 07): which events of an inbox are
 * delivered to which webhook endpoint. The rule shape is the contract of
 * ARCHITECTURE.md: {events, url, secret?, filter?: {label_id | contact_id},
 * threshold?, offset?: {value, unit}, attempts (1-10, default 3),
 * backoff: immediate | fixed | exponential, enabled}.
 *
 * The secret is write-only (has_secret is shown). URLs pass the webhook
 * URL policy (https; no private targets unless webhook_allow_private);
 * delivery checks the address it connects to again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/ids.h"
#include "gent/store_alerts.h"
#include "gent/timefmt.h"
#include "gent/seal.h"
#include "gent/webhook_url.h"

#define ALERTS_PER_INBOX_MAX 100
#define SECRET_MAX 256

static const char *const event_types[] = { "message.received", "message.sent",
    "message.bounced", "label.applied", "label.removed", "event.created",
    "event.updated", "event.cancelled", "cap.reached", "auth.failed",
    "storage.threshold", NULL };
static const char *const system_events[] = { "cap.reached", "auth.failed",
    "storage.threshold", NULL };
static const char *const timed_events[] = { "event.created", "event.updated",
    "event.cancelled", NULL };

static bool
listed(const char *const *set, const char *v)
{
	for (const char *const *p = set; v && *p; p++)
		if (strcmp(*p, v) == 0)
			return true;
	return false;
}

/* contact.{type}: any non-empty type of letters, digits, '_' and '-'. */
static bool
event_ok(const char *e)
{
	if (listed(event_types, e))
		return true;
	if (strncmp(e, "contact.", 8) != 0 || !e[8] || strlen(e) > 72)
		return false;
	return strspn(e + 8, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(e + 8);
}

static json_t *
alert_json(const struct alert_row *r)
{
	json_t *events = json_loads(r->events, 0, NULL);
	json_t *filter = r->filter ? json_loads(r->filter, 0, NULL) : NULL;
	json_t *offset = r->offset_json ? json_loads(r->offset_json, 0, NULL) : NULL;

	return json_pack("{s:s, s:s, s:o, s:s, s:b, s:o, s:o, s:o, s:I, s:s, s:b, s:o, s:o}",
	    "id", r->id, "inbox_id", r->inbox_id, "events", events ? events : json_array(),
	    "url", r->url, "has_secret", r->secret != NULL,
	    "filter", filter ? filter : json_null(),
	    "threshold", r->threshold >= 0 ? json_integer(r->threshold) : json_null(),
	    "offset", offset ? offset : json_null(), "attempts", (json_int_t)r->attempts,
	    "backoff", r->backoff, "enabled", r->enabled,
	    "created_at", api_time(r->created_at), "updated_at", api_time(r->updated_at));
}

static int
take_events(struct api_ctx *ctx, struct alert_row *r)
{
	json_t *ev = json_object_get(ctx->body, "events"), *v;
	size_t i;

	if (!ev)
		return 0;
	if (json_array_size(ev) == 0 || json_array_size(ev) > 32) {
		api_error_field(ctx, "events", "'events' lists 1 to 32 event types");
		return -1;
	}
	json_array_foreach(ev, i, v) {
		if (!event_ok(json_string_value(v))) {
			api_error_field(ctx, "events", "unknown event type '%.80s'",
			    json_string_value(v));
			return -1;
		}
	}
	free(r->events);
	r->events = json_dumps(ev, JSON_COMPACT);
	return 0;
}

static int
take_filter(struct api_ctx *ctx, struct alert_row *r)
{
	json_t *f = json_object_get(ctx->body, "filter");
	const char *key;
	json_t *v;

	if (!api_body_has(ctx, "filter"))
		return 0;
	xfree(&r->filter);
	if (json_is_null(f))
		return 0;
	if (json_object_size(f) != 1) {
		api_error_field(ctx, "filter", "'filter' is {label_id} or {contact_id}");
		return -1;
	}
	json_object_foreach(f, key, v) {
		if ((strcmp(key, "label_id") && strcmp(key, "contact_id")) ||
		    !json_is_string(v) || json_string_length(v) == 0) {
			api_error_field(ctx, "filter", "'filter' is {label_id} or {contact_id}");
			return -1;
		}
	}
	r->filter = json_dumps(f, JSON_COMPACT);
	return 0;
}

static int
take_offset(struct api_ctx *ctx, struct alert_row *r)
{
	json_t *o = json_object_get(ctx->body, "offset");
	const char *unit = json_string_value(json_object_get(o, "unit"));
	json_t *value = json_object_get(o, "value");

	if (!api_body_has(ctx, "offset"))
		return 0;
	xfree(&r->offset_json);
	if (json_is_null(o))
		return 0;
	if (json_object_size(o) != 2 || !json_is_integer(value) ||
	    json_integer_value(value) < 0 || json_integer_value(value) > 100000 || !unit ||
	    (strcmp(unit, "minutes") && strcmp(unit, "hours") && strcmp(unit, "days"))) {
		api_error_field(ctx, "offset", "'offset' is {value: 0-100000, unit: minutes "
		    "| hours | days}");
		return -1;
	}
	r->offset_json = json_dumps(o, JSON_COMPACT);
	return 0;
}

static int
take_scalars(struct api_ctx *ctx, struct alert_row *r)
{
	const char *url = api_body_str(ctx, "url"), *backoff = api_body_str(ctx, "backoff");
	json_t *v;
	const char *why;

	if (url && (why = webhook_url_check(url, ctx->app->conf->webhook_allow_private))) {
		api_error_field(ctx, "url", "'url' %s", why);
		return -1;
	}
	if (url) {
		free(r->url);
		r->url = xstrdup(url);
	}
	if (backoff && strcmp(backoff, "immediate") && strcmp(backoff, "fixed") &&
	    strcmp(backoff, "exponential")) {
		api_error_field(ctx, "backoff", "'backoff' is immediate, fixed or exponential");
		return -1;
	}
	if (backoff)
		snprintf(r->backoff, sizeof(r->backoff), "%s", backoff);
	if ((v = json_object_get(ctx->body, "attempts"))) {
		if (json_integer_value(v) < 1 || json_integer_value(v) > 10) {
			api_error_field(ctx, "attempts", "'attempts' is 1 to 10");
			return -1;
		}
		r->attempts = json_integer_value(v);
	}
	if (api_body_has(ctx, "threshold")) {
		v = json_object_get(ctx->body, "threshold");
		if (!json_is_null(v) && (json_integer_value(v) < 1 ||
		    json_integer_value(v) > 1000000)) {
			api_error_field(ctx, "threshold", "'threshold' is 1 to 1000000 or null");
			return -1;
		}
		r->threshold = json_is_null(v) ? -1 : json_integer_value(v);
	}
	if ((v = json_object_get(ctx->body, "enabled")))
		r->enabled = json_is_true(v);
	return 0;
}

static int
take_secret(struct api_ctx *ctx, struct alert_row *r)
{
	const char *s = api_body_str(ctx, "secret");

	if (!api_body_has(ctx, "secret"))
		return 0;
	if (s && (strlen(s) < 16 || strlen(s) > SECRET_MAX || seal_is_sealed(s))) {
		api_error_field(ctx, "secret", "'secret' is 16 to %d characters", SECRET_MAX);
		return -1;
	}
	if (r->secret)
		memset(r->secret, 0, strlen(r->secret));
	free(r->secret);
	/* Stored sealed: HMAC needs the secret, so no digest will do. */
	r->secret = s && *s ? seal_text(ctx->app->seal_key, SEAL_PURPOSE_WEBHOOK, s) : NULL;
	if (s && *s && !r->secret) {
		api_error_internal(ctx);
		return -1;
	}
	return 0;
}

/* threshold belongs to system events, offset to timed ones. */
static int
check_consistency(struct api_ctx *ctx, const struct alert_row *r)
{
	json_t *ev = json_loads(r->events, 0, NULL), *v;
	bool system = false, timed = false;
	size_t i;

	json_array_foreach(ev, i, v) {
		const char *e = json_string_value(v);
		system |= listed(system_events, e);
		timed |= listed(timed_events, e) || strncmp(e, "contact.", 8) == 0;
	}
	json_decref(ev);
	if (r->threshold >= 0 && !system) {
		api_error_field(ctx, "threshold", "'threshold' applies to cap.reached, "
		    "storage.threshold and auth.failed");
		return -1;
	}
	if (r->offset_json && !timed) {
		api_error_field(ctx, "offset", "'offset' applies to calendar and contact events");
		return -1;
	}
	return 0;
}

static int
take_all(struct api_ctx *ctx, struct alert_row *r)
{
	return take_events(ctx, r) || take_filter(ctx, r) || take_offset(ctx, r) ||
	    take_scalars(ctx, r) || take_secret(ctx, r) || check_consistency(ctx, r) ?
	    -1 : 0;
}

static void
alerts_create(struct api_ctx *ctx)
{
	struct alert_row r = { .attempts = 3, .enabled = true, .threshold = -1 }, *rows = NULL;
	char *inbox_id = api_inbox_id(ctx), *id = NULL;
	struct store_db *db;
	int n = 0;

	if (!inbox_id || !(db = api_tenant_db(ctx)))
		goto out;
	id = ids_new("alrt");
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.inbox_id, sizeof(r.inbox_id), "%s", inbox_id);
	snprintf(r.backoff, sizeof(r.backoff), "exponential");
	r.created_at = r.updated_at = time_now_ms();
	if (take_all(ctx, &r) != 0)
		goto out;
	store_alerts_list(db, inbox_id, &rows, &n);
	if (n >= ALERTS_PER_INBOX_MAX) {
		api_error(ctx, 409, "limit_reached", "an inbox has at most %d alert rules",
		    ALERTS_PER_INBOX_MAX);
		goto out;
	}
	struct store_audit a = api_audit(ctx, "alert.created", "alert_rule", id);
	if (store_alerts_create(db, &r, &a) != STORE_OK)
		api_error_internal(ctx);
	else
		api_reply(ctx, 201, alert_json(&r));
out:
	alert_rows_free(rows, n);
	alert_row_free(&r);
	free(id);
	free(inbox_id);
}

static void
alerts_list(struct api_ctx *ctx)
{
	char *inbox_id = api_inbox_id(ctx);
	struct alert_row *rows = NULL;
	struct store_db *db;
	int n = 0;

	if (inbox_id && (db = api_tenant_db(ctx))) {
		if (store_alerts_list(db, inbox_id, &rows, &n) != STORE_OK) {
			api_error_internal(ctx);
		} else {
			json_t *items = json_array();
			for (int i = 0; i < n; i++)
				json_array_append_new(items, alert_json(&rows[i]));
			api_reply(ctx, 200, json_pack("{s:o, s:n}", "data", items, "next_cursor"));
		}
	}
	alert_rows_free(rows, n);
	free(inbox_id);
}

static int
load(struct api_ctx *ctx, struct store_db **db_r, struct alert_row *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if (!(*db_r = api_tenant_db(ctx)))
		return -1;
	rc = store_alerts_get(*db_r, api_param(ctx, "alert_id"), r);
	if (rc == STORE_OK && !api_inbox_visible(ctx, r->inbox_id)) {
		alert_row_free(r);
		rc = STORE_ERR_NOT_FOUND;
	}
	if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "alert rule not found");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	return rc == STORE_OK ? 0 : -1;
}

static void
alerts_get(struct api_ctx *ctx)
{
	struct alert_row r;
	struct store_db *db;

	if (load(ctx, &db, &r) == 0)
		api_reply(ctx, 200, alert_json(&r));
	alert_row_free(&r);
}

static void
alerts_change(struct api_ctx *ctx, int enabled, const char *action)
{
	struct alert_row r;
	struct store_db *db;

	if (load(ctx, &db, &r) != 0)
		return;
	if (enabled >= 0)
		r.enabled = enabled;
	else if (take_all(ctx, &r) != 0)
		goto out;
	r.updated_at = time_now_ms();
	struct store_audit a = api_audit(ctx, action, "alert_rule", r.id);
	if (store_alerts_update(db, &r, &a) != STORE_OK)
		api_error_internal(ctx);
	else
		api_reply(ctx, 200, alert_json(&r));
out:
	alert_row_free(&r);
}

static void
alerts_patch(struct api_ctx *ctx)
{
	alerts_change(ctx, -1, "alert.updated");
}

static void
alerts_enable(struct api_ctx *ctx)
{
	alerts_change(ctx, 1, "alert.enabled");
}

static void
alerts_disable(struct api_ctx *ctx)
{
	alerts_change(ctx, 0, "alert.disabled");
}

static void
alerts_delete(struct api_ctx *ctx)
{
	struct alert_row r;
	struct store_db *db;

	if (load(ctx, &db, &r) != 0)
		return;
	struct store_audit a = api_audit(ctx, "alert.deleted", "alert_rule", r.id);
	if (store_alerts_delete(db, r.id, &a) != STORE_OK)
		api_error_internal(ctx);
	else
		api_reply(ctx, 204, NULL);
	alert_row_free(&r);
}

static const struct api_field create_fields[] = {
	{ "inbox_id", API_T_STRING, false, false, "required with a session" },
	{ "events", API_T_STRING_ARRAY, true, false, "event types; contact.{type} too" },
	{ "url", API_T_STRING, true, false, "https endpoint" },
	{ "secret", API_T_STRING, false, true, "HMAC key (write-only)" },
	{ "filter", API_T_OBJECT, false, true, "{label_id} or {contact_id}" },
	{ "threshold", API_T_INTEGER, false, true, "system events" },
	{ "offset", API_T_OBJECT, false, true, "{value, unit}: time-based events" },
	{ "attempts", API_T_INTEGER, false, false, "1-10, default 3" },
	{ "backoff", API_T_STRING, false, false, "immediate | fixed | exponential" },
	{ "enabled", API_T_BOOLEAN, false, false, "default true" },
	{ 0 },
};

static const struct api_field patch_fields[] = {
	{ "events", API_T_STRING_ARRAY, false, false, NULL },
	{ "url", API_T_STRING, false, false, NULL },
	{ "secret", API_T_STRING, false, true, "\"\" or null removes it" },
	{ "filter", API_T_OBJECT, false, true, NULL },
	{ "threshold", API_T_INTEGER, false, true, NULL },
	{ "offset", API_T_OBJECT, false, true, NULL },
	{ "attempts", API_T_INTEGER, false, false, NULL },
	{ "backoff", API_T_STRING, false, false, NULL },
	{ "enabled", API_T_BOOLEAN, false, false, NULL },
	{ 0 },
};

const struct api_route api_alerts_routes[] = {
	{ "GET", "/v1/alerts/", API_AUTH_SCOPE, "alerts:read", alerts_list, NULL, 200,
	  "List alert rules" },
	{ "POST", "/v1/alerts/", API_AUTH_SCOPE, "alerts:write", alerts_create,
	  create_fields, 201, "Create an alert rule" },
	{ "GET", "/v1/alerts/{alert_id}/", API_AUTH_SCOPE, "alerts:read", alerts_get,
	  NULL, 200, "Get an alert rule" },
	{ "PATCH", "/v1/alerts/{alert_id}/", API_AUTH_SCOPE, "alerts:write",
	  alerts_patch, patch_fields, 200, "Update an alert rule" },
	{ "POST", "/v1/alerts/{alert_id}/enable/", API_AUTH_SCOPE, "alerts:write",
	  alerts_enable, NULL, 200, "Enable a rule" },
	{ "POST", "/v1/alerts/{alert_id}/disable/", API_AUTH_SCOPE, "alerts:write",
	  alerts_disable, NULL, 200, "Disable a rule" },
	{ "DELETE", "/v1/alerts/{alert_id}/", API_AUTH_SCOPE, "alerts:write",
	  alerts_delete, NULL, 204, "Delete an alert rule" },
	{ 0 },
};
