/*
 * api_usage.c - the usage summary (guide 06): storage consumed (raw
 * messages, attachments by content type), mail received and sent, active
 * threads and contacts touched over a period, computed when asked (the
 * hosted service updates it daily; here it is always current).
 *
 *   GET /v1/billing/usage/?inbox_id=&days=   (days 1-365, default 30)
 *
 * Scope billing:read; agent tokens see their inbox.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/store_activity.h"
#include "gent/timefmt.h"

#define USAGE_DAYS_DEFAULT 30
#define USAGE_DAYS_MAX 365

static int
days_param(struct api_ctx *ctx, int *days_r)
{
	char *v = api_query(ctx, "days"), *end = NULL;
	long d = v ? strtol(v, &end, 10) : USAGE_DAYS_DEFAULT;
	int rc = 0;

	if (v && (!*v || *end || d < 1 || d > USAGE_DAYS_MAX)) {
		api_error_field(ctx, "days", "'days' is 1 to %d", USAGE_DAYS_MAX);
		rc = -1;
	}
	*days_r = (int)d;
	free(v);
	return rc;
}

static json_t *
usage_json(const char *inbox_id, const struct usage_summary *u, int64_t since,
    int64_t now)
{
	json_t *types = json_array();

	for (int i = 0; i < u->n_types; i++)
		json_array_append_new(types, json_pack("{s:s, s:I, s:I}", "content_type",
		    u->by_type[i].content_type ? u->by_type[i].content_type : "",
		    "bytes", (json_int_t)u->by_type[i].bytes,
		    "count", (json_int_t)u->by_type[i].count));
	return json_pack("{s:s, s:{s:o, s:o}, s:{s:I, s:I, s:I, s:I, s:I, s:o}, "
	    "s:I, s:I, s:I, s:I}", "inbox_id", inbox_id,
	    "period", "from", api_time(since), "to", api_time(now),
	    "storage", "total_bytes", (json_int_t)(u->message_bytes + u->attachment_bytes),
	    "message_bytes", (json_int_t)u->message_bytes, "messages",
	    (json_int_t)u->messages, "attachment_bytes", (json_int_t)u->attachment_bytes,
	    "attachments", (json_int_t)u->attachments, "attachments_by_content_type", types,
	    "emails_received", (json_int_t)u->received, "emails_sent", (json_int_t)u->sent,
	    "active_threads", (json_int_t)u->active_threads,
	    "contacts_touched", (json_int_t)u->contacts);
}

static void
usage_get(struct api_ctx *ctx)
{
	static const char *const params[] = { "inbox_id", "days", NULL };
	struct usage_summary u;
	char *inbox_id = NULL;
	struct store_db *db;
	int days;

	if (api_query_check(ctx, params) != 0 || days_param(ctx, &days) != 0 ||
	    !(inbox_id = api_inbox_id(ctx)) || !(db = api_tenant_db(ctx)))
		goto out;
	int64_t now = time_now_ms(), since = now - days * 86400000LL;
	if (store_usage_get(db, inbox_id, since, &u) != STORE_OK) {
		api_error_internal(ctx);
		goto out;
	}
	api_reply(ctx, 200, usage_json(inbox_id, &u, since, now));
	usage_summary_free(&u);
out:
	free(inbox_id);
}

const struct api_route api_usage_routes[] = {
	{ "GET", "/v1/billing/usage/", API_AUTH_SCOPE, "billing:read", usage_get, NULL,
	  200, "Usage summary of an inbox: storage, mail, threads, contacts (?days=)" },
	{ 0 },
};
