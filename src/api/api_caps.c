/*
 * api_caps.c - usage caps: mailbox storage and sends, per inbox.
 *
 * Mailbox caps: "enforce" refuses new mail once the inbox is at or over
 * its limit (RCPT gets 452 4.2.2, a temporary failure: the owner can free
 * space or raise the cap and the sender's retries then succeed);
 * "allow_and_bill" keeps receiving and only reports. Send caps are stored
 * here and enforced by the send path.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/store_caps.h"
#include "gent/timefmt.h"

#define GB (1024.0 * 1024.0 * 1024.0)

static json_t *
usage_json(struct store_db *db, const char *inbox_id, int64_t limit)
{
	struct mailbox_usage u;
	int64_t used;

	store_caps_mailbox_usage(db, inbox_id, &u);
	used = u.messages + u.attachments;
	return json_pack("{s:I, s:f}", "used_bytes", (json_int_t)used, "used_pct",
	    limit > 0 ? fmin(100.0, 100.0 * (double)used / (double)limit) : 0.0);
}

static json_t *
cap_json(struct store_db *db, const struct cap_row *c)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o}", "inbox_id", c->inbox_id,
	    "resource", c->resource, "mode", c->mode, "alert_thresholds",
	    json_loads(c->alert_thresholds ? c->alert_thresholds : "[]", 0, NULL),
	    "updated_at", api_time(c->updated_at));

	if (strcmp(c->resource, "mailbox") == 0) {
		json_object_set_new(j, "limit_gb", json_real((double)c->limit_value / GB));
		json_object_set_new(j, "limit_bytes", json_integer(c->limit_value));
		json_object_set_new(j, "usage", usage_json(db, c->inbox_id, c->limit_value));
	} else {
		json_object_set_new(j, "limit", json_integer(c->limit_value));
		json_object_set_new(j, "period", json_string(c->period));
	}
	return j;
}

static const char *
check_thresholds(json_t *t)
{
	json_t *v;
	size_t i;

	if (!t)
		return NULL;
	if (json_array_size(t) > 10)
		return "holds at most 10 values";
	json_array_foreach(t, i, v)
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 100)
			return "values must be integers from 1 to 100";
	return NULL;
}

/* Validate the body into cap; -1 after answering 400. */
static int
read_cap(struct api_ctx *ctx, const char *resource, struct cap_row *c)
{
	const char *mode = api_body_str(ctx, "mode"), *why;
	json_t *t = json_object_get(ctx->body, "alert_thresholds");

	snprintf(c->resource, sizeof(c->resource), "%s", resource);
	if (!mode || (strcmp(mode, "enforce") && strcmp(mode, "allow_and_bill") &&
	    (strcmp(mode, "hold") || strcmp(resource, "send")))) {
		api_error_field(ctx, "mode", "'mode' must be enforce or allow_and_bill%s",
		    strcmp(resource, "send") == 0 ? " or hold" : "");
		return -1;
	}
	snprintf(c->mode, sizeof(c->mode), "%s", mode);
	if ((why = check_thresholds(t)) != NULL) {
		api_error_field(ctx, "alert_thresholds", "'alert_thresholds' %s", why);
		return -1;
	}
	c->alert_thresholds = t ? json_dumps(t, JSON_COMPACT) : xstrdup("[]");
	if (strcmp(resource, "mailbox") == 0) {
		double gb = json_number_value(json_object_get(ctx->body, "limit_gb"));
		if (!(gb > 0) || gb > 1e6) {
			api_error_field(ctx, "limit_gb", "'limit_gb' must be a number above 0");
			return -1;
		}
		c->limit_value = (int64_t)llround(gb * GB);
		return 0;
	}
	const char *period = api_body_str(ctx, "period");
	json_int_t limit = json_integer_value(json_object_get(ctx->body, "limit"));
	if (!period || (strcmp(period, "daily") && strcmp(period, "weekly") &&
	    strcmp(period, "monthly"))) {
		api_error_field(ctx, "period", "'period' must be daily, weekly or monthly");
		return -1;
	}
	if (limit < 1) {
		api_error_field(ctx, "limit", "'limit' must be a positive integer");
		return -1;
	}
	snprintf(c->period, sizeof(c->period), "%s", period);
	c->limit_value = limit;
	return 0;
}

static const char *
resource_of(struct api_ctx *ctx)
{
	return strstr(ctx->req->path, "/mailbox") ? "mailbox" : "send";
}

static void
caps_put(struct api_ctx *ctx)
{
	struct cap_row c = { 0 };
	struct store_db *db;
	char *inbox_id;

	if (read_cap(ctx, resource_of(ctx), &c) != 0 || !(inbox_id = api_inbox_id(ctx))) {
		cap_row_free(&c);
		return;
	}
	snprintf(c.inbox_id, sizeof(c.inbox_id), "%s", inbox_id);
	c.updated_at = time_now_ms();
	if ((db = api_tenant_db(ctx))) {
		struct store_audit a = api_audit(ctx, "cap.updated", "inbox", inbox_id);
		a.detail_json = c.resource[0] == 'm' ? "{\"resource\":\"mailbox\"}" :
		    "{\"resource\":\"send\"}";
		if (store_caps_put(db, &c, &a) != STORE_OK)
			api_error_internal(ctx);
		else
			api_reply(ctx, 200, cap_json(db, &c));
	}
	cap_row_free(&c);
	free(inbox_id);
}

static void
caps_get(struct api_ctx *ctx)
{
	char *inbox_id = api_inbox_id(ctx);
	struct store_db *db;
	struct cap_row c;
	int rc;

	if (inbox_id && (db = api_tenant_db(ctx))) {
		rc = store_caps_get(db, inbox_id, resource_of(ctx), &c);
		if (rc == STORE_ERR_NOT_FOUND)
			api_error(ctx, 404, "not_found", "no %s cap is set", resource_of(ctx));
		else if (rc != STORE_OK)
			api_error_internal(ctx);
		else
			api_reply(ctx, 200, cap_json(db, &c));
		cap_row_free(&c);
	}
	free(inbox_id);
}

static void
caps_delete(struct api_ctx *ctx)
{
	char *inbox_id = api_inbox_id(ctx);
	struct store_db *db;
	int rc;

	if (inbox_id && (db = api_tenant_db(ctx))) {
		struct store_audit a = api_audit(ctx, "cap.deleted", "inbox", inbox_id);
		rc = store_caps_delete(db, inbox_id, resource_of(ctx), &a);
		if (rc == STORE_ERR_NOT_FOUND)
			api_error(ctx, 404, "not_found", "no %s cap is set", resource_of(ctx));
		else if (rc != STORE_OK)
			api_error_internal(ctx);
		else
			api_reply(ctx, 204, NULL);
	}
	free(inbox_id);
}

static const struct api_field mailbox_fields[] = {
	{ "inbox_id", API_T_STRING, true, false, NULL },
	{ "limit_gb", API_T_NUMBER, true, false, "storage limit in GiB" },
	{ "mode", API_T_STRING, true, false, "enforce | allow_and_bill" },
	{ "alert_thresholds", API_T_INTEGER_ARRAY, false, false, "percents, e.g. [80, 95]" },
	{ 0 },
};

static const struct api_field send_fields[] = {
	{ "inbox_id", API_T_STRING, true, false, NULL },
	{ "limit", API_T_INTEGER, true, false, "messages per period" },
	{ "period", API_T_STRING, true, false, "daily | weekly | monthly" },
	{ "mode", API_T_STRING, true, false, "enforce | hold | allow_and_bill" },
	{ "alert_thresholds", API_T_INTEGER_ARRAY, false, false, "percents" },
	{ 0 },
};

static const struct api_field inbox_only[] = {
	{ "inbox_id", API_T_STRING, false, false, NULL },
	{ 0 },
};

const struct api_route api_caps_routes[] = {
	{ "PUT", "/v1/billing/caps/mailbox/", API_AUTH_ADMIN, NULL, caps_put,
	  mailbox_fields, 200, "Set the mailbox storage cap of an inbox" },
	{ "GET", "/v1/billing/caps/mailbox/", API_AUTH_SCOPE, "billing:read",
	  caps_get, NULL, 200, "The mailbox cap and usage (?inbox_id=)" },
	{ "DELETE", "/v1/billing/caps/mailbox/", API_AUTH_ADMIN, NULL, caps_delete,
	  inbox_only, 204, "Remove the mailbox cap" },
	{ "PUT", "/v1/billing/caps/send/", API_AUTH_ADMIN, NULL, caps_put,
	  send_fields, 200, "Set the send cap of an inbox" },
	{ "GET", "/v1/billing/caps/send/", API_AUTH_SCOPE, "billing:read",
	  caps_get, NULL, 200, "The send cap (?inbox_id=)" },
	{ "DELETE", "/v1/billing/caps/send/", API_AUTH_ADMIN, NULL, caps_delete,
	  inbox_only, 204, "Remove the send cap" },
	{ 0 },
};
