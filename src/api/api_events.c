/*
 * api_events.c - the event log as a pull feed, for agents that cannot
 * receive webhooks: GET /v1/events/?after=<cursor>.
 *
 * Every event (message.received, message.sent, message.bounced,
 * label.applied, label.removed, cap.reached, ...) was written in the
 * transaction of the change it reports, so the feed misses nothing that
 * happened. Events come oldest first; next_cursor is always set (to the
 * last event returned, or to the cursor given when there is nothing new)
 * so a client simply polls with it. Agent tokens see their inbox only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/store_events.h"

/* ?after= : digits only (the cursor is the log position); -1 answered. */
static int
after_param(struct api_ctx *ctx, int64_t *after_r)
{
	char *v = api_query(ctx, "after"), *end;
	long long n;
	int rc = 0;

	*after_r = 0;
	if (v && *v) {
		n = strtoll(v, &end, 10);
		if (*end || n < 0 || strlen(v) > 18) {
			api_error_field(ctx, "after", "'after' must be a cursor from this feed");
			rc = -1;
		}
		*after_r = n;
	}
	free(v);
	return rc;
}

static void
events_feed(struct api_ctx *ctx)
{
	static const char *const params[] = { "after", "limit", "type", "inbox_id", NULL };
	char *inbox_id = NULL, *type = NULL, *cursor_id = NULL, next[24];
	struct event_row *rows = NULL;
	struct store_db *db;
	int64_t after, unused;
	int limit, n = 0;

	if (api_query_check(ctx, params) != 0 || after_param(ctx, &after) != 0 ||
	    api_list_params(ctx, &limit, &unused, &cursor_id) != 0 ||
	    !(db = api_tenant_db(ctx)))
		goto out;
	/* Sessions see the tenant (or one inbox); tokens their inbox. */
	char *named = api_query(ctx, "inbox_id");
	bool scoped = named || ctx->who.kind == API_TOKEN;
	free(named);
	if (scoped && !(inbox_id = api_inbox_id(ctx)))
		goto out;
	type = api_query(ctx, "type");
	if (store_events_list(db, after, inbox_id, type, limit, &rows, &n) != STORE_OK) {
		api_error_internal(ctx);
		goto out;
	}
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, event_row_json(&rows[i]));
	snprintf(next, sizeof(next), "%lld", (long long)(n ? rows[n - 1].seq : after));
	api_reply(ctx, 200, json_pack("{s:o, s:s, s:b}", "data", items, "next_cursor",
	    next, "more", n == limit));
out:
	event_rows_free(rows, n);
	free(inbox_id);
	free(type);
	free(cursor_id);
}

const struct api_route api_events_routes[] = {
	{ "GET", "/v1/events/", API_AUTH_SCOPE, "alerts:read", events_feed, NULL, 200,
	  "The event log as a pull feed (?after=<cursor>)" },
	{ 0 },
};
