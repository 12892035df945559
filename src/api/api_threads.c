/*
 * api_threads.c - conversations: the threads of an inbox, most recently
 * active first, and one thread with its messages in order. Times are
 * shown in the inbox's default_timezone, as messages are.
 */
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/store_messages.h"
#include "gent/store_threads.h"
#include "api_int.h"

#define THREAD_MESSAGES_MAX 200

static json_t *
thread_json(const struct thread_row *t, const struct tz *tz)
{
	json_t *who = t->participants ? json_loads(t->participants, 0, NULL) : NULL;

	return json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:o, s:o, s:o}",
	    "id", t->id, "thread_id", t->id, "inbox_id", t->inbox_id,
	    "subject", t->subject ? json_string(t->subject) : json_null(),
	    "message_count", (json_int_t)t->message_count,
	    "unread_count", (json_int_t)t->unread_count,
	    "participants", who ? who : json_array(),
	    "first_message_at", api__local_time(tz, t->first_at),
	    "last_message_at", api__local_time(tz, t->last_at));
}

static void
threads_list(struct api_ctx *ctx)
{
	static const char *const params[] = { "inbox_id", "limit", "cursor", NULL };
	char *inbox_id = NULL, *cursor_id = NULL;
	struct thread_row *rows = NULL;
	struct store_db *db;
	int limit, n = 0;
	int64_t cursor_ms;
	bool more;

	if (api_query_check(ctx, params) != 0 ||
	    api_list_params(ctx, &limit, &cursor_ms, &cursor_id) != 0 ||
	    !(inbox_id = api_inbox_id(ctx)) || !(db = api_tenant_db(ctx)))
		goto out;
	if (store_threads_list(db, inbox_id, limit, cursor_ms, cursor_id, &rows, &n,
	    &more) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		const struct tz *tz = api__inbox_tz(db, inbox_id);
		json_t *items = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(items, thread_json(&rows[i], tz));
		api_list_reply(ctx, items, more, n ? rows[n - 1].last_at : 0,
		    n ? rows[n - 1].id : NULL);
	}
	thread_rows_free(rows, n);
out:
	free(inbox_id);
	free(cursor_id);
}

/* Summary fields of a thread's message (bodies stay behind their own GET). */
static json_t *
item_json(const struct message_row *m, const struct tz *tz)
{
	json_t *labels = m->labels_json ? json_loads(m->labels_json, 0, NULL) : NULL;

	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:b, s:b, s:o}", "id", m->id,
	    "subject", m->subject ? json_string(m->subject) : json_null(),
	    "from", m->from_addr ? json_string(m->from_addr) : json_null(),
	    "to", m->to_addrs ? json_string(m->to_addrs) : json_null(),
	    "received_at", api__local_time(tz, m->received_at), "read", m->is_read,
	    "has_attachments", m->n_attachments > 0,
	    "labels", labels ? labels : json_array());
}

static void
threads_get(struct api_ctx *ctx)
{
	struct message_filter f = MESSAGE_FILTER_ALL;
	struct message_row *rows = NULL;
	struct thread_row t;
	struct store_db *db;
	int n = 0, rc;
	bool more;

	if (!(db = api_tenant_db(ctx)))
		return;
	rc = store_threads_get(db, api_param(ctx, "thread_id"), &t);
	if (rc == STORE_OK && !api_inbox_visible(ctx, t.inbox_id)) {
		thread_row_free(&t);
		rc = STORE_ERR_NOT_FOUND;
	}
	if (rc != STORE_OK) {
		if (rc == STORE_ERR_NOT_FOUND)
			api_error(ctx, 404, "not_found", "thread not found");
		else
			api_error_internal(ctx);
		return;
	}
	f.thread_id = t.id;
	if (store_messages_list(db, t.inbox_id, &f, THREAD_MESSAGES_MAX, 0, NULL,
	    &rows, &n, &more) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		const struct tz *tz = api__inbox_tz(db, t.inbox_id);
		json_t *j = thread_json(&t, tz), *items = json_array();
		/* The list is newest first; a conversation reads oldest first. */
		for (int i = n - 1; i >= 0; i--)
			json_array_append_new(items, item_json(&rows[i], tz));
		json_object_set_new(j, "messages", items);
		json_object_set_new(j, "messages_truncated", json_boolean(more));
		api_reply(ctx, 200, j);
	}
	message_rows_free(rows, n);
	thread_row_free(&t);
}

const struct api_route api_threads_routes[] = {
	{ "GET", "/v1/threads/", API_AUTH_SCOPE, "email:read", threads_list, NULL,
	  200, "List an inbox's threads, most recently active first" },
	{ "GET", "/v1/threads/{thread_id}/", API_AUTH_SCOPE, "email:read",
	  threads_get, NULL, 200, "A thread with its messages, oldest first" },
	{ 0 },
};
