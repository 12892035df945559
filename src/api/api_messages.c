/*
 * api_messages.c - reading and changing received messages: the filtered
 * list and search, one message with its headers, the raw bytes,
 * attachments, read/starred/archived, and delete.
 *
 * Times are shown in the inbox's default_timezone, and naive after= /
 * before= values are read in it, so an agent working in local time
 * never converts. With q= the list is a full-text search (FTS5) over
 * subject, addresses and body; each item then carries a snippet with the
 * matches in <mark></mark>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/mime.h"
#include "gent/search_query.h"
#include "gent/store_inbox_settings.h"
#include "gent/store_messages.h"
#include "gent/store_queue.h"
#include "gent/timefmt.h"
#include "gent/tz.h"
#include "api_int.h"

static json_t *
opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *
api__local_time(const struct tz *tz, int64_t ms)
{
	char text[TZ_ISO_LEN];

	if (!tz)
		return api_time(ms);
	tz_format_iso(tz, ms, text);
	return json_string(text);
}

const struct tz *
api__inbox_tz(struct store_db *db, const char *inbox_id)
{
	const struct tz *tz = NULL;
	const char *name, *err;
	char *text = NULL;
	json_t *s;

	store_inbox_settings_get(db, inbox_id, &text);
	s = json_loads(text ? text : "{}", 0, NULL);
	name = json_string_value(json_object_get(s, "default_timezone"));
	if (tz_get(name ? name : "UTC", &tz, &err) != 0)
		tz_get("UTC", &tz, &err);
	json_decref(s);
	free(text);
	return tz;
}

static json_t *
message_json(const struct message_row *m, const struct tz *tz)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:o, "
	    "s:I, s:o, s:{s:o, s:o, s:b}}",
	    "id", m->id, "message_id", m->id, "inbox_id", m->inbox_id,
	    "direction", json_string(m->direction),
	    "message_id_header", opt_str(m->message_id_hdr),
	    "subject", opt_str(m->subject), "from", opt_str(m->from_addr),
	    "to", opt_str(m->to_addrs), "mail_from", m->mail_from,
	    "rcpt_to", m->rcpt_to, "date", opt_str(m->date_hdr),
	    "size", (json_int_t)m->size,
	    "received_at", api__local_time(tz, m->received_at),
	    "smtp", "client_ip", opt_str(m->client_ip), "helo", opt_str(m->helo),
	    "tls", m->tls);
	json_t *trace = m->trace ? json_loads(m->trace, 0, NULL) : NULL;
	json_t *labels = m->labels_json ? json_loads(m->labels_json, 0, NULL) : NULL;
	json_t *auth = json_object_get(trace, "auth");

	json_object_set_new(j, "thread_id", json_string(m->thread_id));
	json_object_set_new(j, "read", json_boolean(m->is_read));
	json_object_set_new(j, "starred", json_boolean(m->is_starred));
	json_object_set_new(j, "archived", json_boolean(m->is_archived));
	json_object_set_new(j, "has_attachments", json_boolean(m->n_attachments > 0));
	json_object_set_new(j, "malformed", json_boolean(m->malformed));
	json_object_set_new(j, "labels", labels ? labels : json_array());
	json_object_set_new(j, "auth_results", auth ? json_incref(auth) : json_null());
	json_object_set_new(j, "trace", trace ? trace : json_object());
	if (m->snippet)
		json_object_set_new(j, "snippet", json_string(m->snippet));
	return j;
}

/* ?name=true|false into *flag (-1 when absent); -1 after answering 400. */
static int
bool_param(struct api_ctx *ctx, const char *name, int *flag)
{
	char *v = api_query(ctx, name);
	int rc = 0;

	*flag = -1;
	if (v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0))
		*flag = 1;
	else if (v && (strcmp(v, "false") == 0 || strcmp(v, "0") == 0))
		*flag = 0;
	else if (v) {
		api_error_field(ctx, name, "'%s' must be true or false", name);
		rc = -1;
	}
	free(v);
	return rc;
}

/* An ISO time without a zone ("2026-12-01", "2026-12-01T09:00") is local. */
static bool
iso_is_naive(const char *s)
{
	return strlen(s) <= 10 || !strpbrk(s + 10, "Zz+-");
}

/* ?name= as ms (naive = inbox local time); -1 after answering 400. */
static int
time_param(struct api_ctx *ctx, const char *name, const struct tz *tz,
    int64_t *ms_r)
{
	char *v = api_query(ctx, name);
	int64_t ms = 0, utc_s;
	int rc = 0;

	*ms_r = 0;
	if (v && time_parse_iso(v, &ms) != 0) {
		api_error_field(ctx, name, "'%s' must be an ISO 8601 date or time", name);
		rc = -1;
	} else if (v && iso_is_naive(v) && tz &&
	    tz_local_to_utc(tz, ms / 1000, &utc_s) >= 0) {
		ms = utc_s * 1000 + ms % 1000;
	}
	*ms_r = ms > 0 ? ms : (v ? 1 : 0);	/* 0 means "no bound" */
	free(v);
	return rc;
}

/* Strings kept for the filter's lifetime. */
struct filter_text {
	char	*label, *thread, *from, *to, *q, *fts, *sort;
};

static void
filter_text_free(struct filter_text *t)
{
	char **all[] = { &t->label, &t->thread, &t->from, &t->to, &t->q, &t->fts,
	    &t->sort };

	for (size_t i = 0; i < GENT_ARRAY_LEN(all); i++)
		xfree(all[i]);
}

static const char *const list_params[] = { "inbox_id", "limit", "cursor",
    "thread_id", "label", "from", "to", "unread", "starred", "archived",
    "has_attachment", "after", "before", "q", "sort", NULL };

/* The filter of the query string; -1 after answering 400. */
static int
list_filter(struct api_ctx *ctx, const struct tz *tz, struct message_filter *f,
    struct filter_text *t)
{
	const char *err;

	*f = (struct message_filter)MESSAGE_FILTER_ALL;
	f->label_id = t->label = api_query(ctx, "label");
	f->thread_id = t->thread = api_query(ctx, "thread_id");
	f->from = t->from = api_query(ctx, "from");
	f->to = t->to = api_query(ctx, "to");
	t->sort = api_query(ctx, "sort");
	if (bool_param(ctx, "unread", &f->unread) || bool_param(ctx, "starred",
	    &f->starred) || bool_param(ctx, "archived", &f->archived) ||
	    bool_param(ctx, "has_attachment", &f->has_attachment) ||
	    time_param(ctx, "after", tz, &f->after_ms) ||
	    time_param(ctx, "before", tz, &f->before_ms))
		return -1;
	if (t->sort && strcmp(t->sort, "newest") != 0 && strcmp(t->sort, "relevance") != 0) {
		api_error_field(ctx, "sort", "'sort' must be newest or relevance");
		return -1;
	}
	if ((t->q = api_query(ctx, "q"))) {
		if (!(f->fts = t->fts = search_query_to_fts(t->q, &err))) {
			api_error_field(ctx, "q", "%s", err);
			return -1;
		}
		f->by_relevance = t->sort && strcmp(t->sort, "relevance") == 0;
	} else if (t->sort && strcmp(t->sort, "relevance") == 0) {
		api_error_field(ctx, "sort", "sort=relevance needs q");
		return -1;
	}
	return 0;
}

/*
 * A ranked search pages by offset, so mail arriving between two pages
 * would shift them (one match twice, another never). Its pages therefore
 * rank only what had arrived when the first page was asked for: the
 * cursor carries that time ("asof_<ms>") beside the next offset.
 */
#define RELEVANCE_AS_OF "asof_"

static int64_t
relevance_as_of(const char *cursor_id)
{
	size_t n = strlen(RELEVANCE_AS_OF);
	char *end;

	if (cursor_id && strncmp(cursor_id, RELEVANCE_AS_OF, n) == 0) {
		long long ms = strtoll(cursor_id + n, &end, 10);
		if (*end == '\0' && ms > 0)
			return ms;
	}
	return time_now_ms();
}

static void
list_reply(struct api_ctx *ctx, const struct message_filter *f, int64_t offset,
    int64_t as_of, struct message_row *rows, int n, bool more, const struct tz *tz)
{
	json_t *items = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(items, message_json(&rows[i], tz));
	if (f->fts && f->by_relevance) {
		char id[48];
		snprintf(id, sizeof(id), RELEVANCE_AS_OF "%lld", (long long)as_of);
		api_list_reply(ctx, items, more, offset + n, id);
	} else
		api_list_reply(ctx, items, more, n ? rows[n - 1].received_at : 0,
		    n ? rows[n - 1].id : NULL);
}

static void
messages_list(struct api_ctx *ctx)
{
	struct message_row *rows = NULL;
	char *inbox_id = NULL, *cursor_id = NULL;
	struct filter_text text = { 0 };
	struct message_filter f;
	const struct tz *tz;
	struct store_db *db;
	int limit, n = 0;
	int64_t cursor_ms, as_of = 0;
	bool more;

	if (api_query_check(ctx, list_params) != 0 ||
	    api_list_params(ctx, &limit, &cursor_ms, &cursor_id) != 0 ||
	    !(inbox_id = api_inbox_id(ctx)) || !(db = api_tenant_db(ctx)))
		goto out;
	tz = api__inbox_tz(db, inbox_id);
	if (list_filter(ctx, tz, &f, &text) != 0)
		goto out;
	if (f.fts && f.by_relevance) {
		as_of = relevance_as_of(cursor_id);
		if (!f.before_ms || f.before_ms > as_of + 1)
			f.before_ms = as_of + 1;
	}
	if (store_messages_list(db, inbox_id, &f, limit, cursor_ms, cursor_id, &rows,
	    &n, &more) != STORE_OK)
		api_error_internal(ctx);
	else
		list_reply(ctx, &f, cursor_id ? cursor_ms : 0, as_of, rows, n, more, tz);
	message_rows_free(rows, n);
out:
	filter_text_free(&text);
	free(inbox_id);
	free(cursor_id);
}

int
api__message_load(struct api_ctx *ctx, struct store_db *db, bool with_raw,
    struct message_row *m)
{
	int rc;

	memset(m, 0, sizeof(*m));
	if (!db)
		return -1;
	rc = store_messages_get(db, api_param(ctx, "message_id"), with_raw, m);
	if (rc == STORE_OK && !api_inbox_visible(ctx, m->inbox_id)) {
		message_row_free(m);
		rc = STORE_ERR_NOT_FOUND;
	}
	if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "message not found");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	return rc == STORE_OK ? 0 : -1;
}

/* The message in the path, visible to this caller; answers 404 itself. */
static int
load(struct api_ctx *ctx, bool with_raw, struct message_row *m)
{
	return api__message_load(ctx, api_tenant_db(ctx), with_raw, m);
}

static json_t *
attachments_json(struct store_db *db, const struct message_row *m)
{
	struct attachment_row *rows;
	json_t *a = json_array();
	int n;

	if (store_attachments_list(db, m->id, &rows, &n) != STORE_OK)
		return a;
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:o, s:s, s:o, s:b, s:I}",
		    "id", rows[i].id, "filename", opt_str(rows[i].filename),
		    "content_type", rows[i].content_type,
		    "content_id", opt_str(rows[i].content_id),
		    "inline", rows[i].inline_part, "size", (json_int_t)rows[i].size));
	attachment_rows_free(rows, n);
	return a;
}

/* Per-recipient delivery of a message we send. */
static json_t *
delivery_json(struct store_db *db, const struct message_row *m)
{
	struct queue_status *rows = NULL;
	json_t *a = json_array();
	int n = 0;

	if (store_queue_status(db, m->id, &rows, &n) != STORE_OK)
		return a;
	for (int i = 0; i < n; i++) {
		const struct queue_status *q = &rows[i];
		bool waiting = strcmp(q->status, "queued") == 0 ||
		    strcmp(q->status, "held") == 0;
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o}",
		    "recipient", q->rcpt_to, "outbound_id", q->id, "status", q->status,
		    "attempts", (json_int_t)q->attempts,
		    "next_attempt_at", waiting ? api_time(q->next_attempt_at) : json_null(),
		    "delivered_at", api_time(q->delivered_at),
		    "last_code", q->last_code ? json_integer(q->last_code) : json_null(),
		    "last_error", opt_str(q->last_error)));
	}
	queue_statuses_free(rows, n);
	return a;
}

static void
add_header(void *ctx, const char *name, const char *value)
{
	json_array_append_new(ctx, json_pack("{s:s, s:s}", "name", name, "value", value));
}

/* The full view: the list item plus headers, bodies and attachments. */
static json_t *
message_full_json(struct store_db *db, const struct message_row *m)
{
	json_t *j = message_json(m, api__inbox_tz(db, m->inbox_id));
	json_t *headers = json_array();

	mime_each_header(m->raw, m->raw_len, add_header, headers);
	json_object_set_new(j, "headers", headers);
	json_object_set_new(j, "text_body", opt_str(m->text_body));
	json_object_set_new(j, "html_body", opt_str(m->html_body));
	json_object_set_new(j, "attachments", attachments_json(db, m));
	if (strcmp(m->direction, "outbound") == 0)
		json_object_set_new(j, "delivery", delivery_json(db, m));
	return j;
}

static void
messages_get(struct api_ctx *ctx)
{
	struct message_row m;

	if (load(ctx, true, &m) != 0)
		return;
	api_reply(ctx, 200, message_full_json(api_tenant_db(ctx), &m));
	message_row_free(&m);
}

/* The body's boolean member as 0/1, or -1 when absent. */
static int
body_flag(struct api_ctx *ctx, const char *name)
{
	json_t *v = json_object_get(ctx->body, name);

	return v ? json_is_true(v) : -1;
}

static void
messages_patch(struct api_ctx *ctx)
{
	int read = body_flag(ctx, "read"), unread = body_flag(ctx, "unread");
	struct message_row m;

	if (read >= 0 && unread >= 0 && read == unread) {
		api_error_field(ctx, "unread", "'read' and 'unread' disagree");
		return;
	}
	if (read < 0 && unread >= 0)
		read = !unread;
	if (load(ctx, false, &m) != 0)
		return;
	struct store_audit a = api_audit(ctx, "message.updated", "message", m.id);
	int rc = store_messages_set_flags(api_tenant_db(ctx), m.id, read,
	    body_flag(ctx, "starred"), body_flag(ctx, "archived"), &a);
	message_row_free(&m);
	if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "message not found");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	else if (load(ctx, true, &m) == 0) {
		api_reply(ctx, 200, message_full_json(api_tenant_db(ctx), &m));
		message_row_free(&m);
	}
}

static void
messages_delete(struct api_ctx *ctx)
{
	struct message_row m;
	char *detail;
	int rc;

	if (load(ctx, false, &m) != 0)
		return;
	/* The audit row outlives the content: say what it was, not what it said. */
	detail = xasprintf("{\"thread_id\":\"%s\",\"size\":%lld,\"received_at\":%lld,"
	    "\"direction\":\"%s\"}", m.thread_id, (long long)m.size,
	    (long long)m.received_at, m.direction);
	struct store_audit a = api_audit(ctx, "message.deleted", "message", m.id);
	a.detail_json = detail;
	rc = store_messages_delete(api_tenant_db(ctx), m.id, &a);
	if (rc == STORE_OK)
		api_reply(ctx, 204, NULL);
	else if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "message not found");
	else
		api_error_internal(ctx);
	free(detail);
	message_row_free(&m);
}

static void
attachment_get(struct api_ctx *ctx)
{
	struct attachment_row a;
	struct message_row m;
	int rc;

	if (load(ctx, false, &m) != 0)
		return;
	rc = store_attachments_get(api_tenant_db(ctx), m.id,
	    api_param(ctx, "attachment_id"), &a);
	if (rc == STORE_ERR_NOT_FOUND) {
		api_error(ctx, 404, "not_found", "attachment not found");
	} else if (rc != STORE_OK) {
		api_error_internal(ctx);
	} else {
		ctx->resp->status = 200;
		/* Served as a download, never rendered: the bytes are untrusted. */
		ctx->resp->content_type = "application/octet-stream";
		buf_append_str(&ctx->resp->headers, "Content-Disposition: attachment\r\n"
		    "X-Content-Type-Options: nosniff\r\n");
		buf_append(&ctx->resp->body, a.data, (size_t)a.size);
		free(a.filename);
		free(a.content_type);
		free(a.content_id);
		free(a.data);
	}
	message_row_free(&m);
}

static void
messages_raw(struct api_ctx *ctx)
{
	struct message_row m;

	if (load(ctx, true, &m) != 0)
		return;
	ctx->resp->status = 200;
	ctx->resp->content_type = "message/rfc822";
	buf_append(&ctx->resp->body, m.raw, m.raw_len);
	message_row_free(&m);
}

static const struct api_field patch_fields[] = {
	{ "read", API_T_BOOLEAN, false, false, NULL },
	{ "unread", API_T_BOOLEAN, false, false, "the opposite of read" },
	{ "starred", API_T_BOOLEAN, false, false, NULL },
	{ "archived", API_T_BOOLEAN, false, false, NULL },
	{ 0 },
};

const struct api_route api_messages_routes[] = {
	{ "GET", "/v1/messages/", API_AUTH_SCOPE, "email:read", messages_list, NULL,
	  200, "List or search an inbox's messages (filters, q=, cursor)" },
	{ "GET", "/v1/messages/{message_id}/", API_AUTH_SCOPE, "email:read",
	  messages_get, NULL, 200, "Retrieve a message" },
	{ "PATCH", "/v1/messages/{message_id}/", API_AUTH_SCOPE, "email:write",
	  messages_patch, patch_fields, 200, "Mark read/unread, starred, archived" },
	{ "DELETE", "/v1/messages/{message_id}/", API_AUTH_SCOPE, "email:write",
	  messages_delete, NULL, 204, "Delete a message (audited)" },
	{ "GET", "/v1/messages/{message_id}/raw/", API_AUTH_SCOPE, "email:read",
	  messages_raw, NULL, 200, "The exact bytes received (message/rfc822)" },
	{ "GET", "/v1/messages/{message_id}/attachments/{attachment_id}/",
	  API_AUTH_SCOPE, "email:read", attachment_get, NULL, 200,
	  "Download an attachment (decoded bytes)" },
	{ 0 },
};
