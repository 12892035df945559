/*
 * api_messages.c - reading received messages: list, one message, raw
 * bytes. (The full messages API - search, threads, labels, changes -
 * builds on these rows.)
 */
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/store_messages.h"

static json_t *
opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *
message_json(const struct message_row *m)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:o, "
	    "s:I, s:o, s:{s:o, s:o, s:b}}",
	    "id", m->id, "message_id", m->id, "inbox_id", m->inbox_id,
	    "direction", json_string(m->direction),
	    "message_id_header", opt_str(m->message_id_hdr),
	    "subject", opt_str(m->subject), "from", opt_str(m->from_addr),
	    "to", opt_str(m->to_addrs), "mail_from", m->mail_from,
	    "rcpt_to", m->rcpt_to, "date", opt_str(m->date_hdr),
	    "size", (json_int_t)m->size, "received_at", api_time(m->received_at),
	    "smtp", "client_ip", opt_str(m->client_ip), "helo", opt_str(m->helo),
	    "tls", m->tls);
	json_t *trace = m->trace ? json_loads(m->trace, 0, NULL) : NULL;

	json_object_set_new(j, "thread_id", json_string(m->thread_id));
	json_object_set_new(j, "has_attachments", json_boolean(m->n_attachments > 0));
	json_object_set_new(j, "malformed", json_boolean(m->malformed));
	json_t *auth = json_object_get(trace, "auth");

	json_object_set_new(j, "auth_results", auth ? json_incref(auth) : json_null());
	json_t *labels = m->labels_json ? json_loads(m->labels_json, 0, NULL) : NULL;
	json_object_set_new(j, "labels", labels ? labels : json_array());
	json_object_set_new(j, "trace", trace ? trace : json_object());
	return j;
}

static void
messages_list(struct api_ctx *ctx)
{
	struct message_row *rows = NULL;
	char *inbox_id = NULL, *cursor_id = NULL, *label = api_query(ctx, "label");
	struct message_filter filter = { label };
	struct store_db *db;
	int limit, n = 0;
	int64_t cursor_ms;
	bool more;

	if (api_list_params(ctx, &limit, &cursor_ms, &cursor_id) != 0 ||
	    !(inbox_id = api_inbox_id(ctx)) || !(db = api_tenant_db(ctx)))
		goto out;
	if (store_messages_list(db, inbox_id, &filter, limit, cursor_ms, cursor_id,
	    &rows, &n, &more) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		json_t *items = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(items, message_json(&rows[i]));
		api_list_reply(ctx, items, more, n ? rows[n - 1].received_at : 0,
		    n ? rows[n - 1].id : NULL);
	}
	message_rows_free(rows, n);
out:
	free(inbox_id);
	free(cursor_id);
	free(label);
}

/* The message in the path, visible to this caller; answers 404 itself. */
static int
load(struct api_ctx *ctx, bool with_raw, struct message_row *m)
{
	struct store_db *db = api_tenant_db(ctx);
	int rc;

	if (!db)
		return -1;
	rc = store_messages_get(db, api_param(ctx, "message_id"), with_raw, m);
	if (rc == STORE_OK && ctx->who.kind == API_TOKEN &&
	    strcmp(m->inbox_id, ctx->who.inbox_id) != 0) {
		message_row_free(m);
		rc = STORE_ERR_NOT_FOUND;
	}
	if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "message not found");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	return rc == STORE_OK ? 0 : -1;
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

static void
messages_get(struct api_ctx *ctx)
{
	struct message_row m;
	json_t *j;

	if (load(ctx, false, &m) != 0)
		return;
	j = message_json(&m);
	json_object_set_new(j, "text_body", opt_str(m.text_body));
	json_object_set_new(j, "html_body", opt_str(m.html_body));
	json_object_set_new(j, "attachments", attachments_json(api_tenant_db(ctx), &m));
	api_reply(ctx, 200, j);
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

const struct api_route api_messages_routes[] = {
	{ "GET", "/v1/messages/", API_AUTH_SCOPE, "email:read", messages_list, NULL,
	  200, "List an inbox's messages, newest first" },
	{ "GET", "/v1/messages/{message_id}/", API_AUTH_SCOPE, "email:read",
	  messages_get, NULL, 200, "Retrieve a message" },
	{ "GET", "/v1/messages/{message_id}/raw/", API_AUTH_SCOPE, "email:read",
	  messages_raw, NULL, 200, "The exact bytes received (message/rfc822)" },
	{ "GET", "/v1/messages/{message_id}/attachments/{attachment_id}/",
	  API_AUTH_SCOPE, "email:read", attachment_get, NULL, 200,
	  "Download an attachment (decoded bytes)" },
	{ 0 },
};
