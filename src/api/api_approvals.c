/*
 * api_approvals.c - the approval queue (guide 10): what supervised
 * tokens asked to do, for a person to approve or reject. Session auth
 * only: an agent can never approve its own request.
 *
 * Approving claims the row first (pending -> approved, so two reviewers
 * cannot both send), then runs the send as the token would have, with
 * every check again (the inbox may have been suspended meanwhile); the
 * answer of that send is kept on the approval. Rejecting discards the
 * request; both are audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/scopes.h"
#include "gent/store_approvals.h"
#include "api_int.h"

static json_t *
approval_json(const struct approval_row *a)
{
	json_t *req = a->request ? json_loads(a->request, 0, NULL) : NULL;
	json_t *sum = a->summary ? json_loads(a->summary, 0, NULL) : NULL;
	json_t *res = a->result ? json_loads(a->result, 0, NULL) : NULL;

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "id", a->id, "approval_id", a->id, "inbox_id", a->inbox_id,
	    "token_id", a->token_id, "action", a->action, "status", json_string(a->status),
	    "request", req ? req : json_null(), "summary", sum ? sum : json_object(),
	    "result", res ? res : json_null(),
	    "decided_by", a->decided_by ? json_string(a->decided_by) : json_null(),
	    "created_at", api_time(a->created_at), "decided_at", api_time(a->decided_at));
}

static void
approvals_list(struct api_ctx *ctx)
{
	static const char *const params[] = { "status", "limit", "cursor", NULL };
	char *status = NULL, *cursor_id = NULL;
	struct approval_row *rows = NULL;
	struct store_db *db;
	int limit, n = 0;
	int64_t cursor_ms;
	bool more;

	if (api_query_check(ctx, params) != 0 ||
	    api_list_params(ctx, &limit, &cursor_ms, &cursor_id) != 0 ||
	    !(db = api_tenant_db(ctx)))
		goto out;
	status = api_query(ctx, "status");
	if (status && strcmp(status, "pending") && strcmp(status, "approved") &&
	    strcmp(status, "rejected")) {
		api_error_field(ctx, "status", "'status' must be pending, approved or rejected");
		goto out;
	}
	if (store_approvals_list(db, status, limit, cursor_ms, cursor_id, &rows, &n,
	    &more) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		json_t *items = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(items, approval_json(&rows[i]));
		api_list_reply(ctx, items, more, n ? rows[n - 1].created_at : 0,
		    n ? rows[n - 1].id : NULL);
	}
	approval_rows_free(rows, n);
out:
	free(status);
	free(cursor_id);
}

static int
load(struct api_ctx *ctx, struct store_db **db_r, struct approval_row *a)
{
	int rc;

	memset(a, 0, sizeof(*a));
	if (!(*db_r = api_tenant_db(ctx)))
		return -1;
	rc = store_approvals_get(*db_r, api_param(ctx, "approval_id"), a);
	if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "approval not found");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	return rc == STORE_OK ? 0 : -1;
}

static void
approvals_get(struct api_ctx *ctx)
{
	struct approval_row a;
	struct store_db *db;

	if (load(ctx, &db, &a) == 0)
		api_reply(ctx, 200, approval_json(&a));
	approval_row_free(&a);
}

/* Claim the approval for status; -1 after answering (409 when decided). */
static int
decide(struct api_ctx *ctx, struct store_db *db, struct approval_row *a,
    const char *status)
{
	char *by = xasprintf("user:%s", ctx->who.user_id);
	struct store_audit au = api_audit(ctx, strcmp(status, "approved") == 0 ?
	    "approval.approved" : "approval.rejected", "approval", a->id);
	int rc = store_approvals_decide(db, a->id, status, by, api_body_str(ctx, "reason"),
	    &au);

	free(by);
	if (rc == STORE_ERR_CONFLICT)
		api_error(ctx, 409, "already_decided", "approval %s was already %s", a->id,
		    a->status);
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	return rc == STORE_OK ? 0 : -1;
}

/* The token the request came from, as a principal for the send. */
static struct api_principal
token_principal(const struct api_ctx *ctx, const struct approval_row *a)
{
	struct api_principal p = { .kind = API_TOKEN };

	snprintf(p.tenant_id, sizeof(p.tenant_id), "%s", ctx->who.tenant_id);
	snprintf(p.token_id, sizeof(p.token_id), "%s", a->token_id);
	snprintf(p.inbox_id, sizeof(p.inbox_id), "%s", a->inbox_id);
	scopes_expand("email:send", &p.scopes);
	return p;
}

static void
approvals_approve(struct api_ctx *ctx)
{
	struct approval_row a;
	struct store_db *db;
	json_t *body, *result;
	char *text;

	if (load(ctx, &db, &a) != 0 || decide(ctx, db, &a, "approved") != 0)
		goto out;
	struct api_principal as = token_principal(ctx, &a);
	body = json_loads(a.request, 0, NULL);
	api__send_as(ctx, &as, body);
	json_decref(body);
	/* The send answered into resp: keep that answer on the approval. */
	result = json_pack("{s:i, s:o}", "status", ctx->resp->status, "body",
	    json_loadb(ctx->resp->body.data ? ctx->resp->body.data : "null",
	    ctx->resp->body.len ? ctx->resp->body.len : 4, 0, NULL));
	text = json_dumps(result, JSON_COMPACT);
	store_approvals_set_result(db, a.id, text);
	buf_free(&ctx->resp->body);
	ctx->resp->status = 0;
	approval_row_free(&a);
	if (store_approvals_get(db, api_param(ctx, "approval_id"), &a) == STORE_OK)
		api_reply(ctx, 200, approval_json(&a));
	else
		api_error_internal(ctx);
	free(text);
	json_decref(result);
out:
	approval_row_free(&a);
}

static void
approvals_reject(struct api_ctx *ctx)
{
	struct approval_row a;
	struct store_db *db;

	if (load(ctx, &db, &a) == 0 && decide(ctx, db, &a, "rejected") == 0) {
		approval_row_free(&a);
		if (store_approvals_get(db, api_param(ctx, "approval_id"), &a) == STORE_OK)
			api_reply(ctx, 200, approval_json(&a));
		else
			api_error_internal(ctx);
	}
	approval_row_free(&a);
}

static const struct api_field decide_fields[] = {
	{ "reason", API_T_STRING, false, false, "kept with the decision" },
	{ 0 },
};

const struct api_route api_approvals_routes[] = {
	{ "GET", "/v1/approvals/", API_AUTH_USER, NULL, approvals_list, NULL, 200,
	  "List actions waiting for (or given) approval" },
	{ "GET", "/v1/approvals/{approval_id}/", API_AUTH_USER, NULL, approvals_get,
	  NULL, 200, "One approval" },
	{ "POST", "/v1/approvals/{approval_id}/approve/", API_AUTH_USER, NULL,
	  approvals_approve, decide_fields, 200, "Approve: the action runs at once" },
	{ "POST", "/v1/approvals/{approval_id}/reject/", API_AUTH_USER, NULL,
	  approvals_reject, decide_fields, 200, "Reject: the action is discarded" },
	{ 0 },
};
