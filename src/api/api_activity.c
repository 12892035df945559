/*
 * api_activity.c - the activity feed (guide 06): what the inbox is doing
 * now, newest first: mail received and sent, bounces, labels, caps.
 *
 *   GET /v1/activity/?inbox_id=&type=&limit=&cursor=
 *
 * It reads the event log with the message each event concerns, over the
 * last ACTIVITY_WINDOW_DAYS: the feed is for awareness, not archival (the
 * audit log is the record). Agent tokens see their inbox; sessions the
 * tenant's, or one inbox's with inbox_id. Scope context:read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/store_activity.h"
#include "gent/timefmt.h"
#include "gent/util.h"

#define ACTIVITY_WINDOW_DAYS 30

static const char *
or_none(const char *s, const char *none)
{
	return s && *s ? s : none;
}

/* One line a person reads at a glance. */
static char *
summary(const struct activity_row *a, json_t *payload)
{
	const char *t = a->e.type, *subject = or_none(a->subject, "(no subject)");
	const char *label = json_string_value(json_object_get(payload, "label_name"));

	if (strcmp(t, "message.received") == 0)
		return xasprintf("Received from %s: %s", or_none(a->from_addr, "(unknown)"),
		    subject);
	if (strcmp(t, "message.sent") == 0 || strcmp(t, "message.bounced") == 0)
		return xasprintf("%s %s: %s", t[8] == 's' ? "Sent to" : "Bounced by",
		    or_none(json_string_value(json_object_get(payload, "recipient")),
		    or_none(a->to_addrs, "(unknown)")), subject);
	if (strcmp(t, "label.applied") == 0 || strcmp(t, "label.removed") == 0)
		return xasprintf("Label '%s' %s: %s", or_none(label, "?"),
		    t[6] == 'a' ? "applied" : "removed", subject);
	if (strcmp(t, "cap.reached") == 0)
		return xasprintf("Send cap: %lld of %lld (%lld%%)",
		    (long long)json_integer_value(json_object_get(payload, "sent")),
		    (long long)json_integer_value(json_object_get(payload, "limit")),
		    (long long)json_integer_value(json_object_get(payload, "percent")));
	return xstrdup(t);
}

static json_t *
activity_json(const struct activity_row *a)
{
	json_t *o = event_row_json(&a->e);
	char *line = summary(a, json_object_get(o, "payload"));

	json_object_set_new(o, "summary", json_string(line));
	json_object_set_new(o, "subject", a->subject ? json_string(a->subject) : json_null());
	free(line);
	return o;
}

static void
activity_list(struct api_ctx *ctx)
{
	static const char *const params[] = { "inbox_id", "type", "limit", "cursor", NULL };
	char *inbox_id = NULL, *type = NULL, *cursor_id = NULL, *named;
	struct activity_row *rows = NULL;
	struct store_db *db;
	int64_t before_seq = 0;
	int limit, n = 0;

	if (api_query_check(ctx, params) != 0 ||
	    api_list_params(ctx, &limit, &before_seq, &cursor_id) != 0)
		goto out;
	if ((named = api_query(ctx, "inbox_id")) || ctx->who.kind == API_TOKEN) {
		free(named);
		if (!(inbox_id = api_inbox_id(ctx)))
			goto out;
	}
	if (!(db = api_tenant_db(ctx)))
		goto out;
	type = api_query(ctx, "type");
	if (store_activity_list(db, inbox_id, type, time_now_ms() -
	    ACTIVITY_WINDOW_DAYS * 86400000LL, cursor_id ? before_seq : 0, limit + 1,
	    &rows, &n) != STORE_OK) {
		api_error_internal(ctx);
		goto out;
	}
	json_t *items = json_array();
	bool more = n > limit;
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(items, activity_json(&rows[i]));
	/* The cursor carries the log position of the last entry shown. */
	api_list_reply(ctx, items, more, more ? rows[limit - 1].e.seq : 0,
	    more ? rows[limit - 1].e.id : NULL);
out:
	activity_rows_free(rows, n);
	free(inbox_id);
	free(type);
	free(cursor_id);
}

const struct api_route api_activity_routes[] = {
	{ "GET", "/v1/activity/", API_AUTH_SCOPE, "context:read", activity_list, NULL,
	  200, "The activity feed, newest first (last 30 days; ?inbox_id=&type=)" },
	{ 0 },
};
