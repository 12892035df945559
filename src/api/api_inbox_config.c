/*
 * api_inbox_config.c - per-inbox settings, the inbox webhook and the
 * storage quota.
 *
 * Settings live in tenant.db as one JSON object per inbox; reads merge in
 * the defaults. The webhook secret is write-only: it is stored (it must
 * be, to sign deliveries) but only "has_secret" ever leaves the server.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/retention.h"
#include "gent/store_caps.h"
#include "gent/store_inbox_settings.h"
#include "gent/store_tokens.h"
#include "gent/tenant_settings.h"
#include "gent/seal.h"
#include "gent/webhook_url.h"

#define SIGNATURE_MAX (64 * 1024)
#define WEBHOOK_SECRET_MAX 256
#define DEFAULT_LABEL_INFERENCE 0.65

static const char *const event_names[] = {
	"message.received", "message.sent", "message.bounced", "label.applied",
	"label.removed",
	"event.created", "event.updated", "event.cancelled", "cap.reached",
	"auth.failed", "storage.threshold", NULL,
};

static bool
event_ok(const char *e)
{
	for (const char *const *p = event_names; *p; p++)
		if (strcmp(e, *p) == 0)
			return true;
	/* contact.{type}: any anniversary type the user defines. */
	return strncmp(e, "contact.", 8) == 0 && e[8] && strlen(e) <= 64;
}

/* Load the inbox (404) and its settings object. */
static int
load(struct api_ctx *ctx, struct store_db **db_r, json_t **settings_r)
{
	struct inbox_row r;
	char *text;

	if (api_inbox_load(ctx, &r) != 0)
		return -1;
	inbox_row_free(&r);
	if (!(*db_r = api_tenant_db(ctx)))
		return -1;
	if (store_inbox_settings_get(*db_r, api_param(ctx, "inbox_id"), &text) != STORE_OK) {
		api_error_internal(ctx);
		return -1;
	}
	*settings_r = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(*settings_r)) {
		json_decref(*settings_r);
		*settings_r = json_object();
	}
	return 0;
}

static json_t *
webhook_public(json_t *wh)
{
	if (!json_is_object(wh))
		return json_null();
	json_t *events = json_object_get(wh, "events");
	return json_pack("{s:O, s:o, s:b}", "url", json_object_get(wh, "url"),
	    "events", events ? json_incref(events) : json_pack("[s]", "message.received"),
	    "has_secret", json_string_length(json_object_get(wh, "secret")) > 0);
}

static json_t *
config_public(const char *inbox_id, json_t *s)
{
	json_t *tz = json_object_get(s, "default_timezone");
	json_t *lit = json_object_get(s, "label_inference_threshold");
	json_t *missed = json_object_get(s, "missed_reply_threshold_days");
	json_t *sig = json_object_get(s, "signature");

	/* "o" takes the reference: stored values are increfed, defaults new. */
	json_t *ret = json_object_get(s, "retention");
	json_t *msgs = json_object_get(ret, "messages"), *atts = json_object_get(ret,
	    "attachments");

	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:{s:o, s:o}}",
	    "inbox_id", inbox_id,
	    "default_timezone", tz ? json_incref(tz) : json_string("UTC"),
	    "missed_reply_threshold_days", missed ? json_incref(missed) : json_null(),
	    "signature", sig ? json_incref(sig) : json_null(),
	    "label_inference_threshold", lit ? json_incref(lit) :
	    json_real(DEFAULT_LABEL_INFERENCE),
	    "collaboration_enabled", json_is_true(json_object_get(s, "collaboration_enabled")),
	    "webhook", webhook_public(json_object_get(s, "webhook")),
	    "retention", "messages", msgs ? json_incref(msgs) : json_string("indefinite"),
	    "attachments", atts ? json_incref(atts) : json_string("indefinite"));
}

/*
 * Validate a webhook block; NULL after answering 400. The result keeps
 * "secret" only when the client sent one ("" = clear); an absent secret
 * means "keep the stored one", applied inside the transaction.
 */
static json_t *
webhook_validate(struct api_ctx *ctx, json_t *in, const char *field)
{
	json_t *url = json_object_get(in, "url"), *events = json_object_get(in, "events");
	json_t *secret = json_object_get(in, "secret"), *out = json_object();
	const char *key, *why;
	json_t *v;
	size_t i;

	json_object_foreach(in, key, v)
		if (strcmp(key, "url") && strcmp(key, "events") && strcmp(key, "secret")) {
			api_error_field(ctx, field, "unknown webhook field '%s'", key);
			goto bad;
		}
	if (!json_is_string(url)) {
		api_error_field(ctx, field, "webhook 'url' is required");
		goto bad;
	}
	if ((why = webhook_url_check(json_string_value(url),
	    ctx->app->conf->webhook_allow_private)) != NULL) {
		api_error_field(ctx, field, "webhook url %s", why);
		goto bad;
	}
	json_object_set(out, "url", url);
	if (events && !json_is_array(events)) {
		api_error_field(ctx, field, "webhook 'events' must be an array");
		goto bad;
	}
	json_array_foreach(events, i, v)
		if (!json_is_string(v) || !event_ok(json_string_value(v))) {
			api_error_field(ctx, field, "unknown webhook event");
			goto bad;
		}
	json_object_set_new(out, "events", events && json_array_size(events) ?
	    json_incref(events) : json_pack("[s]", "message.received"));
	if (secret && (!json_is_string(secret) ||
	    json_string_length(secret) > WEBHOOK_SECRET_MAX ||
	    seal_is_sealed(json_string_value(secret)))) {
		api_error_field(ctx, field, "webhook 'secret' must be a string of at "
		    "most 256 characters");
		goto bad;
	}
	if (secret && json_string_length(secret) > 0) {	/* stored sealed */
		char *sealed = seal_text(ctx->app->seal_key, SEAL_PURPOSE_WEBHOOK,
		    json_string_value(secret));
		if (!sealed) {
			api_error_internal(ctx);
			goto bad;
		}
		json_object_set_new(out, "secret", json_string(sealed));
		free(sealed);
	} else if (secret) {
		json_object_set(out, "secret", secret);	/* "": clear it */
	}
	return out;
bad:
	json_decref(out);
	return NULL;
}

/* Lay a validated webhook block over the stored one (secret rules above). */
static void
webhook_apply(json_t *settings, json_t *block)
{
	json_t *old_secret = json_object_get(json_object_get(settings, "webhook"), "secret");
	json_t *wh = json_deep_copy(block), *secret = json_object_get(wh, "secret");

	if (!secret && old_secret)
		json_object_set(wh, "secret", old_secret);
	else if (secret && json_string_length(secret) == 0)
		json_object_del(wh, "secret");
	json_object_set_new(settings, "webhook", wh);
}

/* Settings patch applied inside the transaction: null removes a key. */
static int
apply_patch(struct json_t *settings, void *arg)
{
	json_t *patch = arg, *v;
	const char *key;

	json_object_foreach(patch, key, v) {
		if (json_is_null(v))
			json_object_del(settings, key);
		else if (strcmp(key, "webhook") == 0)
			webhook_apply(settings, v);
		else
			json_object_set(settings, key, v);
	}
	return STORE_OK;
}

static const char *
check_number(json_t *v, double lo, double hi)
{
	if (json_is_null(v))
		return NULL;
	if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi ||
	    isnan(json_number_value(v)))
		return "is out of range";
	return NULL;
}

/* {"messages": period, "attachments": period}, either optional. */
static const char *
check_retention(json_t *v)
{
	const char *key;
	json_t *p;

	if (json_is_null(v))
		return NULL;
	json_object_foreach(v, key, p) {
		if (strcmp(key, "messages") != 0 && strcmp(key, "attachments") != 0)
			return "takes only messages and attachments";
		if (retention_period_ms(json_string_value(p)) < 0)
			return "periods are 30d, 90d, 6m, 1y or indefinite";
	}
	return NULL;
}

/* Add one validated PATCH member to the patch; -1 = answered 400. */
static int
patch_member(struct api_ctx *ctx, json_t *patch, const char *key, json_t *v)
{
	const char *why = NULL;

	if (strcmp(key, "default_timezone") == 0)
		why = json_is_null(v) ? NULL : tenant_settings_check(key, v);
	else if (strcmp(key, "missed_reply_threshold_days") == 0)
		why = check_number(v, 0, 3650);
	else if (strcmp(key, "label_inference_threshold") == 0)
		why = check_number(v, 0.0, 1.0);
	else if (strcmp(key, "signature") == 0)
		why = json_string_length(v) > SIGNATURE_MAX ? "is at most 64 KiB" : NULL;
	else if (strcmp(key, "retention") == 0)
		why = check_retention(v);
	if (why) {
		api_error_field(ctx, key, "'%s' %s", key, why);
		return -1;
	}
	if (strcmp(key, "webhook") == 0 && !json_is_null(v)) {
		json_t *wh = webhook_validate(ctx, v, "webhook");
		if (!wh)
			return -1;
		json_object_set_new(patch, key, wh);
		return 0;
	}
	/* null (and "" for signature) resets to the default. */
	if (strcmp(key, "signature") == 0 && json_string_length(v) == 0)
		v = json_null();
	json_object_set(patch, key, v);
	return 0;
}

/* Apply patch in one transaction; answers 500 itself. *settings_r = result. */
static int
save(struct api_ctx *ctx, struct store_db *db, json_t *patch, const char *action,
    json_t **settings_r)
{
	struct store_audit a = api_audit(ctx, action, "inbox", api_param(ctx, "inbox_id"));
	char *text = NULL;
	int rc = store_inbox_settings_update(db, api_param(ctx, "inbox_id"),
	    apply_patch, patch, &a, &text);

	if (rc != STORE_OK) {
		api_error_internal(ctx);
		return -1;
	}
	*settings_r = json_loads(text, 0, NULL);
	free(text);
	return 0;
}

static void
config_get(struct api_ctx *ctx)
{
	struct store_db *db;
	json_t *s;

	if (load(ctx, &db, &s) != 0)
		return;
	api_reply(ctx, 200, config_public(api_param(ctx, "inbox_id"), s));
	json_decref(s);
}

static void
config_patch(struct api_ctx *ctx)
{
	json_t *s, *patch = json_object(), *v, *after;
	struct store_db *db;
	const char *key;

	if (load(ctx, &db, &s) != 0)
		goto out;
	json_decref(s);
	json_object_foreach(ctx->body, key, v)
		if (patch_member(ctx, patch, key, v) != 0)
			goto out;
	if (save(ctx, db, patch, "inbox.config_updated", &after) == 0) {
		api_reply(ctx, 200, config_public(api_param(ctx, "inbox_id"), after));
		json_decref(after);
	}
out:
	json_decref(patch);
}

static void
webhook_get(struct api_ctx *ctx)
{
	struct store_db *db;
	json_t *s;

	if (load(ctx, &db, &s) != 0)
		return;
	if (!json_object_get(s, "webhook"))
		api_error(ctx, 404, "not_found", "no webhook is configured");
	else
		api_reply(ctx, 200, webhook_public(json_object_get(s, "webhook")));
	json_decref(s);
}

static void
webhook_put(struct api_ctx *ctx)
{
	struct store_db *db;
	json_t *s, *wh, *after;

	if (load(ctx, &db, &s) != 0)
		return;
	json_decref(s);
	if (!(wh = webhook_validate(ctx, ctx->body, "url")))
		return;
	json_t *patch = json_pack("{s:o}", "webhook", wh);
	if (save(ctx, db, patch, "inbox.webhook_set", &after) == 0) {
		api_reply(ctx, 200, webhook_public(json_object_get(after, "webhook")));
		json_decref(after);
	}
	json_decref(patch);
}

static int
remove_webhook(struct json_t *settings, void *arg)
{
	(void)arg;
	return json_object_del(settings, "webhook") == 0 ? STORE_OK : STORE_ERR_NOT_FOUND;
}

static void
webhook_delete(struct api_ctx *ctx)
{
	struct store_db *db;
	json_t *s;
	int rc;

	if (load(ctx, &db, &s) != 0)
		return;
	json_decref(s);
	struct store_audit a = api_audit(ctx, "inbox.webhook_deleted", "inbox",
	    api_param(ctx, "inbox_id"));
	rc = store_inbox_settings_update(db, api_param(ctx, "inbox_id"),
	    remove_webhook, NULL, &a, NULL);
	if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "no webhook is configured");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	else
		api_reply(ctx, 204, NULL);
}

/* Storage used against the mailbox cap (used_pct 0.0 when no cap). */
static void
quota_get(struct api_ctx *ctx)
{
	struct mailbox_usage u;
	struct inbox_row r;
	struct store_db *db;
	struct cap_row cap;
	int64_t used;

	if (api_inbox_load(ctx, &r) != 0)
		return;
	if ((db = api_tenant_db(ctx)) && store_caps_mailbox_usage(db, r.id, &u) == STORE_OK) {
		bool capped = store_caps_get(db, r.id, "mailbox", &cap) == STORE_OK;
		used = u.messages + u.attachments;
		api_reply(ctx, 200, json_pack("{s:s, s:I, s:o, s:f, s:o, s:{s:I, s:I}}",
		    "inbox_id", r.id, "used_bytes", (json_int_t)used,
		    "limit_bytes", capped ? json_integer(cap.limit_value) : json_null(),
		    "used_pct", capped && cap.limit_value > 0 ?
		    fmin(100.0, 100.0 * (double)used / (double)cap.limit_value) : 0.0,
		    "mode", capped ? json_string(cap.mode) : json_null(),
		    "breakdown", "messages", (json_int_t)u.messages,
		    "attachments", (json_int_t)u.attachments));
		if (capped)
			cap_row_free(&cap);
	} else if (db) {
		api_error_internal(ctx);
	}
	inbox_row_free(&r);
}

static const struct api_field config_fields[] = {
	{ "default_timezone", API_T_STRING, false, true, "IANA name" },
	{ "missed_reply_threshold_days", API_T_NUMBER, false, true, "null disables" },
	{ "signature", API_T_STRING, false, true, "plain text or HTML; \"\" or null clears" },
	{ "label_inference_threshold", API_T_NUMBER, false, true, "0.0-1.0; null = 0.65" },
	{ "collaboration_enabled", API_T_BOOLEAN, false, false, NULL },
	{ "webhook", API_T_OBJECT, false, true, "{url, events, secret}" },
	{ "retention", API_T_OBJECT, false, true, "{messages, attachments}: 30d | 90d | 6m | 1y | indefinite" },
	{ 0 },
};

static const struct api_field webhook_fields[] = {
	{ "url", API_T_STRING, true, false, "HTTPS URL" },
	{ "events", API_T_STRING_ARRAY, false, false, "default [\"message.received\"]" },
	{ "secret", API_T_STRING, false, false, "HMAC-SHA256 key; write-only" },
	{ 0 },
};

const struct api_route api_inbox_config_routes[] = {
	{ "GET", "/v1/inboxes/{inbox_id}/config/", API_AUTH_USER, NULL, config_get,
	  NULL, 200, "Retrieve all inbox settings" },
	{ "PATCH", "/v1/inboxes/{inbox_id}/config/", API_AUTH_USER, NULL,
	  config_patch, config_fields, 200, "Update inbox settings" },
	{ "GET", "/v1/inboxes/{inbox_id}/webhook/", API_AUTH_USER, NULL, webhook_get,
	  NULL, 200, "Retrieve webhook config" },
	{ "PUT", "/v1/inboxes/{inbox_id}/webhook/", API_AUTH_USER, NULL, webhook_put,
	  webhook_fields, 200, "Create or replace webhook config" },
	{ "DELETE", "/v1/inboxes/{inbox_id}/webhook/", API_AUTH_USER, NULL,
	  webhook_delete, NULL, 204, "Remove webhook config" },
	{ "GET", "/v1/inboxes/{inbox_id}/quota/", API_AUTH_USER, NULL, quota_get,
	  NULL, 200, "Storage quota for an inbox" },
	{ 0 },
};
