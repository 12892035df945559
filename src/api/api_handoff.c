/*
 * api_handoff.c - the handoff context (guide 03, "Taking Over"): a
 * read-only snapshot of an inbox for the person stepping in for its agent.
 *
 *   GET /v1/inboxes/{inbox_id}/handoff/
 *
 *   paused_tokens         the inbox's paused tokens
 *   active_threads        threads with mail in the last ACTIVE_THREAD_DAYS,
 *                         most recent first (at most ACTIVE_THREADS_MAX)
 *   recent_activity       the agent's last 30 actions: audit entries of the
 *                         inbox made with its tokens, newest first
 *   active_relationships  the 10 correspondents most recently in touch,
 *                         over 30 days
 *
 * Session auth (the owner takes over; agent tokens get 403).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/store_activity.h"
#include "gent/store_audit.h"
#include "gent/store_threads.h"
#include "gent/store_tokens.h"
#include "gent/timefmt.h"
#include "api_int.h"

#define ACTIVE_THREAD_DAYS	7
#define ACTIVE_THREADS_MAX	20
#define RECENT_ACTIONS		30
#define RELATIONSHIPS_MAX	10
#define RELATIONSHIP_DAYS	30
#define TOKENS_MAX		200
#define DAY_MS			86400000LL

static json_t *
paused_tokens(struct api_ctx *ctx, const char *inbox_id, int *active_r)
{
	struct token_row *rows = NULL;
	json_t *out = json_array();
	int n = 0;
	bool more;

	*active_r = 0;
	if (store_tokens_list(store_control(ctx->app->store), ctx->who.tenant_id,
	    inbox_id, TOKENS_MAX, 0, NULL, &rows, &n, &more) != STORE_OK) {
		json_decref(out);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		*active_r += strcmp(rows[i].status, "active") == 0;
		if (strcmp(rows[i].status, "paused") == 0)
			json_array_append_new(out, json_pack("{s:s, s:s, s:o}", "token_id",
			    rows[i].id, "label", rows[i].label ? rows[i].label : "",
			    "paused_at", api_time(rows[i].updated_at)));
	}
	token_rows_free(rows, n);
	return out;
}

static json_t *
active_threads(struct store_db *db, const char *inbox_id, int64_t since)
{
	struct thread_row *rows = NULL;
	json_t *out = json_array();
	int n = 0;
	bool more;

	if (store_threads_list(db, inbox_id, ACTIVE_THREADS_MAX, 0, NULL, &rows, &n,
	    &more) != STORE_OK) {
		json_decref(out);
		return NULL;
	}
	for (int i = 0; i < n && rows[i].last_at >= since; i++)
		json_array_append_new(out, json_pack("{s:s, s:s, s:o, s:I, s:I}",
		    "thread_id", rows[i].id, "subject", rows[i].subject ? rows[i].subject : "",
		    "last_message_at", api_time(rows[i].last_at), "message_count",
		    (json_int_t)rows[i].message_count, "unread_count",
		    (json_int_t)rows[i].unread_count));
	thread_rows_free(rows, n);
	return out;
}

static json_t *
recent_actions(struct api_ctx *ctx, struct store_db *db, const char *inbox_id)
{
	struct audit_filter f = { .tenant_id = ctx->who.tenant_id, .inbox_id = inbox_id,
	    .actor_type = "token" };
	struct audit_row *t = NULL, *c = NULL;
	json_t *out = NULL;
	int nt = 0, nc = 0;
	int64_t last_ms = 0;
	char last_id[64];

	if (store_audit_list(db, &f, RECENT_ACTIONS, 0, NULL, &t, &nt) == STORE_OK &&
	    store_audit_list(store_control(ctx->app->store), &f, RECENT_ACTIONS, 0,
	    NULL, &c, &nc) == STORE_OK) {
		out = json_array();
		api__audit_merge(out, t, nt, c, nc, RECENT_ACTIONS, &last_ms, last_id,
		    sizeof(last_id));
	}
	audit_rows_free(t, nt);
	audit_rows_free(c, nc);
	return out;
}

static json_t *
relationships(struct store_db *db, const char *inbox_id, int64_t since)
{
	struct contact_touch *rows = NULL;
	json_t *out = json_array();
	int n = 0;

	if (store_contacts_recent(db, inbox_id, since, RELATIONSHIPS_MAX, &rows, &n)
	    != STORE_OK) {
		json_decref(out);
		return NULL;
	}
	for (int i = 0; i < n; i++)
		json_array_append_new(out, json_pack("{s:s, s:o, s:I, s:I}", "address",
		    rows[i].address ? rows[i].address : "", "last_contact_at",
		    api_time(rows[i].last_at), "received", (json_int_t)rows[i].received,
		    "sent", (json_int_t)rows[i].sent));
	contact_touches_free(rows, n);
	return out;
}

static void
handoff_get(struct api_ctx *ctx)
{
	struct inbox_row r;
	struct store_db *db;
	int64_t now = time_now_ms();
	int active = 0;

	if (api_inbox_load(ctx, &r) != 0)
		return;
	json_t *paused = NULL, *threads = NULL, *actions = NULL, *people = NULL;
	if ((db = api_tenant_db(ctx)) &&
	    (paused = paused_tokens(ctx, r.id, &active)) &&
	    (threads = active_threads(db, r.id, now - ACTIVE_THREAD_DAYS * DAY_MS)) &&
	    (actions = recent_actions(ctx, db, r.id)) &&
	    (people = relationships(db, r.id, now - RELATIONSHIP_DAYS * DAY_MS))) {
		api_reply(ctx, 200, json_pack("{s:s, s:s, s:s, s:o, s:o, s:i, s:o, s:o, "
		    "s:o}", "inbox_id", r.id, "address", r.address, "status", r.status,
		    "generated_at", api_time(now), "paused_tokens", paused,
		    "active_tokens", active, "active_threads", threads,
		    "recent_activity", actions, "active_relationships", people));
	} else {
		json_decref(paused);
		json_decref(threads);
		json_decref(actions);
		json_decref(people);
		if (db)
			api_error_internal(ctx);
	}
	inbox_row_free(&r);
}

const struct api_route api_handoff_routes[] = {
	{ "GET", "/v1/inboxes/{inbox_id}/handoff/", API_AUTH_USER, NULL, handoff_get,
	  NULL, 200, "Handoff context: paused tokens, active threads, the agent's "
	  "last 30 actions, top 10 correspondents" },
	{ 0 },
};
