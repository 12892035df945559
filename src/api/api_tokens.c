/*
 * api_tokens.c - agent tokens: create (raw value shown once), list, get,
 * rotate/pause/resume, revoke, and the scope reference.
 *
 * Tokens are scoped to one inbox of the caller's tenant; a token in
 * another tenant or inbox is a 404. Scopes are stored expanded, so an
 * alias granted today means the same thing after new scopes appear.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/ids.h"
#include "gent/store_tokens.h"
#include "gent/tenant_settings.h"
#include "gent/timefmt.h"

#define TOKEN_LABEL_MAX 200

static json_t *
parse_array(const char *text)
{
	json_t *a = text ? json_loads(text, 0, NULL) : NULL;

	return json_is_array(a) ? a : (json_decref(a), json_array());
}

static json_t *
token_json(const struct token_row *t)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}",
	    "id", t->id, "inbox_id", t->inbox_id, "label", t->label,
	    "scopes", parse_array(t->scopes_json),
	    "requires_approval", parse_array(t->requires_approval_json),
	    "status", t->status,
	    "created_at", api_time(t->created_at),
	    "updated_at", api_time(t->updated_at),
	    "expires_at", api_time(t->expires_at),
	    "rotated_at", api_time(t->rotated_at),
	    "revoked_at", api_time(t->revoked_at));
}

static bool
is_admin(const struct api_ctx *ctx)
{
	return strcmp(ctx->who.role, "owner") == 0 || strcmp(ctx->who.role, "admin") == 0;
}

/* Expand a JSON array of scope names; answers 400/403 and returns -1. */
static int
expand_scopes(struct api_ctx *ctx, const char *field, scope_set *set_r)
{
	json_t *arr = json_object_get(ctx->body, field), *v;
	size_t i;

	*set_r = 0;
	json_array_foreach(arr, i, v) {
		scope_set s;
		if (!scopes_expand(json_string_value(v), &s)) {
			api_error_field(ctx, field, "unknown scope '%s'; see "
			    "GET /v1/tokens/reference/", json_string_value(v));
			return -1;
		}
		*set_r |= s;
	}
	if (scopes_any_admin(*set_r) && !is_admin(ctx)) {
		api_error(ctx, 403, "forbidden", "admin-only scopes need a tenant "
		    "owner or admin");
		return -1;
	}
	return 0;
}

static char *
scopes_to_json(scope_set set)
{
	json_t *a = json_array();
	char *text;

	for (unsigned i = 0; i < scopes_count; i++)
		if (set & ((scope_set)1 << i))
			json_array_append_new(a, json_string(scopes_table[i].name));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

/* Validate the create body beyond types. 0 or -1 (answered). */
static int
check_create(struct api_ctx *ctx, scope_set *scopes, scope_set *approval,
    int64_t *expires)
{
	const char *label = api_body_str(ctx, "label");
	const char *exp = api_body_str(ctx, "expires_at");

	if (strlen(label) == 0 || str_chars(label) > TOKEN_LABEL_MAX) {
		api_error_field(ctx, "label", "'label' must be 1 to %d characters",
		    TOKEN_LABEL_MAX);
		return -1;
	}
	if (json_array_size(json_object_get(ctx->body, "scopes")) == 0) {
		api_error_field(ctx, "scopes", "'scopes' needs at least one scope");
		return -1;
	}
	if (expand_scopes(ctx, "scopes", scopes) != 0 ||
	    expand_scopes(ctx, "requires_approval", approval) != 0)
		return -1;
	if ((*approval & *scopes) != *approval) {
		api_error_field(ctx, "requires_approval", "'requires_approval' may "
		    "only name scopes the token has");
		return -1;
	}
	*expires = 0;
	if (exp && (time_parse_iso(exp, expires) != 0 || *expires <= time_now_ms())) {
		api_error_field(ctx, "expires_at", "'expires_at' must be an ISO 8601 "
		    "time in the future");
		return -1;
	}
	return 0;
}

static void
reply_with_raw(struct api_ctx *ctx, int status, const struct token_row *t,
    const char *raw)
{
	json_t *j = token_json(t);

	json_object_set_new(j, "token_id", json_string(t->id));
	json_object_set_new(j, "raw_token", json_string(raw));
	api_reply(ctx, status, j);
}

static void
tokens_create(struct api_ctx *ctx)
{
	struct token_row t = { 0 };
	scope_set scopes, approval;
	char *inbox_id, *raw, digest[IDS_DIGEST_HEX_LEN + 1];
	char *id = NULL;
	int rc;

	if (check_create(ctx, &scopes, &approval, &t.expires_at) != 0 ||
	    !(inbox_id = api_inbox_id(ctx)))
		return;
	id = ids_new("tok");
	snprintf(t.id, sizeof(t.id), "%s", id);
	snprintf(t.tenant_id, sizeof(t.tenant_id), "%s", ctx->who.tenant_id);
	snprintf(t.inbox_id, sizeof(t.inbox_id), "%s", inbox_id);
	snprintf(t.status, sizeof(t.status), "active");
	snprintf(t.created_by, sizeof(t.created_by), "%s", ctx->who.user_id);
	t.label = xstrdup(api_body_str(ctx, "label"));
	t.scopes_json = scopes_to_json(scopes);
	t.requires_approval_json = scopes_to_json(approval);
	t.created_at = t.updated_at = time_now_ms();
	raw = ids_new_secret("gent");
	ids_sha256_hex(raw, strlen(raw), digest);
	struct store_audit a = api_audit(ctx, "token.created", "token", t.id);
	a.detail_json = t.scopes_json;
	rc = store_tokens_create(store_control(ctx->app->store), &t, digest, &a);
	if (rc != STORE_OK)
		api_error_internal(ctx);
	else
		reply_with_raw(ctx, 201, &t, raw);
	free(raw);
	free(id);
	free(inbox_id);
	token_row_free(&t);
}

static void
tokens_list(struct api_ctx *ctx)
{
	struct token_row *rows;
	int limit, n;
	int64_t cursor_ms;
	char *cursor_id, *inbox_id;
	bool more;

	if (api_list_params(ctx, &limit, &cursor_ms, &cursor_id) != 0)
		return;
	if (!(inbox_id = api_inbox_id(ctx))) {
		free(cursor_id);
		return;
	}
	if (store_tokens_list(store_control(ctx->app->store), ctx->who.tenant_id,
	    inbox_id, limit, cursor_ms, cursor_id, &rows, &n, &more) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		json_t *items = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(items, token_json(&rows[i]));
		api_list_reply(ctx, items, more, n ? rows[n - 1].created_at : 0,
		    n ? rows[n - 1].id : NULL);
	}
	token_rows_free(rows, n);
	free(cursor_id);
	free(inbox_id);
}

/* Load the token named by the path within the caller's inbox. */
static int
load_token(struct api_ctx *ctx, char **inbox_id_r, struct token_row *t)
{
	int rc;

	if (!(*inbox_id_r = api_inbox_id(ctx)))
		return -1;
	rc = store_tokens_get(store_control(ctx->app->store), ctx->who.tenant_id,
	    *inbox_id_r, api_param(ctx, "token_id"), t);
	if (rc == STORE_OK)
		return 0;
	if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "token not found");
	else
		api_error_internal(ctx);
	xfree(inbox_id_r);
	return -1;
}

static void
tokens_get(struct api_ctx *ctx)
{
	struct token_row t;
	char *inbox_id;

	if (load_token(ctx, &inbox_id, &t) != 0)
		return;
	api_reply(ctx, 200, token_json(&t));
	token_row_free(&t);
	free(inbox_id);
}

static void
answer_update(struct api_ctx *ctx, int rc, const char *inbox_id,
    const char *raw)
{
	struct token_row t;

	if (rc == STORE_ERR_INVALID) {
		api_error(ctx, 409, "conflict", "the token's status does not "
		    "allow this action");
		return;
	}
	if (rc == STORE_ERR_NOT_FOUND) {
		api_error(ctx, 404, "not_found", "token not found");
		return;
	}
	if (rc != STORE_OK || store_tokens_get(store_control(ctx->app->store),
	    ctx->who.tenant_id, inbox_id, api_param(ctx, "token_id"), &t) != STORE_OK) {
		api_error_internal(ctx);
		return;
	}
	if (raw)
		reply_with_raw(ctx, 200, &t, raw);
	else
		api_reply(ctx, 200, token_json(&t));
	token_row_free(&t);
}

static int
rotate(struct api_ctx *ctx, const char *inbox_id, char **raw_r)
{
	char digest[IDS_DIGEST_HEX_LEN + 1];
	struct store_audit a = api_audit(ctx, "token.rotated", "token",
	    api_param(ctx, "token_id"));

	*raw_r = ids_new_secret("gent");
	ids_sha256_hex(*raw_r, strlen(*raw_r), digest);
	return store_tokens_rotate(store_control(ctx->app->store),
	    ctx->who.tenant_id, inbox_id, api_param(ctx, "token_id"), digest, &a);
}

static void
tokens_patch(struct api_ctx *ctx)
{
	const char *action = api_body_str(ctx, "action");
	const char *id = api_param(ctx, "token_id");
	char *inbox_id, *raw = NULL, *tier;
	struct token_row t;
	int rc;

	if (!action || (strcmp(action, "rotate") && strcmp(action, "pause") &&
	    strcmp(action, "resume"))) {
		api_error_field(ctx, "action", "'action' must be one of rotate, pause, resume");
		return;
	}
	if (load_token(ctx, &inbox_id, &t) != 0)
		return;
	token_row_free(&t);
	if (strcmp(action, "rotate") == 0) {
		rc = rotate(ctx, inbox_id, &raw);
	} else {
		tier = tenant_settings_governance_tier(store_control(ctx->app->store),
		    ctx->who.tenant_id);
		bool allowed = tenant_settings_tier_has_token_controls(tier);
		free(tier);
		if (!allowed) {
			api_error(ctx, 403, "forbidden", "pause and resume need the "
			    "token_controls governance tier (PATCH /v1/tenants/)");
			free(inbox_id);
			return;
		}
		bool pause = strcmp(action, "pause") == 0;
		struct store_audit a = api_audit(ctx, pause ? "token.paused" :
		    "token.resumed", "token", id);
		rc = store_tokens_set_status(store_control(ctx->app->store),
		    ctx->who.tenant_id, inbox_id, id, pause ? "paused" : "active", &a);
	}
	answer_update(ctx, rc, inbox_id, raw);
	free(raw);
	free(inbox_id);
}

static void
tokens_delete(struct api_ctx *ctx)
{
	const char *id = api_param(ctx, "token_id");
	struct store_audit a = api_audit(ctx, "token.revoked", "token", id);
	char *inbox_id;
	struct token_row t;
	int rc;

	if (load_token(ctx, &inbox_id, &t) != 0)
		return;
	token_row_free(&t);
	rc = store_tokens_set_status(store_control(ctx->app->store),
	    ctx->who.tenant_id, inbox_id, id, "revoked", &a);
	if (rc == STORE_OK)
		api_reply(ctx, 204, NULL);
	else if (rc == STORE_ERR_INVALID)
		api_error(ctx, 409, "conflict", "token is already revoked");
	else
		api_error_internal(ctx);
	free(inbox_id);
}

static void
tokens_reference(struct api_ctx *ctx)
{
	bool admin = ctx->who.kind == API_SESSION && is_admin(ctx);
	json_t *scopes = json_array();

	for (unsigned i = 0; i < scopes_count; i++) {
		if (scopes_table[i].admin_only && !admin)
			continue;
		json_t *s = json_pack("{s:s, s:s}", "scope", scopes_table[i].name,
		    "description", scopes_table[i].description);
		if (scopes_table[i].admin_only)
			json_object_set_new(s, "admin", json_true());
		json_array_append_new(scopes, s);
	}
	api_reply(ctx, 200, json_pack("{s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:s, "
	    "s:[s,s,s]}",
	    "version", "2026-06-06", "resource", "tokens", "scopes", scopes,
	    "aliases", "read", "every :read scope", "write", "every non-admin scope",
	    "full", "every non-admin scope",
	    "format", "gent_<base64url-43-chars>",
	    "actions", "rotate", "pause", "resume"));
}

static const struct api_field create_fields[] = {
	{ "inbox_id", API_T_STRING, true, false, NULL },
	{ "scopes", API_T_STRING_ARRAY, true, false, "Scope strings or aliases" },
	{ "label", API_T_STRING, true, false, "Human-readable name" },
	{ "expires_at", API_T_STRING, false, true, "ISO 8601; omit for no expiry" },
	{ "requires_approval", API_T_STRING_ARRAY, false, false,
	  "Scopes whose actions queue for human review" },
	{ 0 },
};

static const struct api_field patch_fields[] = {
	{ "action", API_T_STRING, true, false, "rotate | pause | resume" },
	{ "inbox_id", API_T_STRING, false, false, NULL },
	{ 0 },
};

const struct api_route api_tokens_routes[] = {
	{ "GET", "/v1/tokens/reference/", API_AUTH_OPTIONAL, NULL,
	  tokens_reference, NULL, 200, "List available token scopes" },
	{ "POST", "/v1/tokens/", API_AUTH_USER, NULL, tokens_create,
	  create_fields, 201, "Create a token; the raw value is returned once" },
	{ "GET", "/v1/tokens/", API_AUTH_USER, NULL, tokens_list, NULL, 200,
	  "List tokens for an inbox (?inbox_id=)" },
	{ "GET", "/v1/tokens/{token_id}/", API_AUTH_USER, NULL, tokens_get, NULL,
	  200, "Retrieve token metadata" },
	{ "PATCH", "/v1/tokens/{token_id}/", API_AUTH_USER, NULL, tokens_patch,
	  patch_fields, 200, "Rotate, pause, or resume a token" },
	{ "DELETE", "/v1/tokens/{token_id}/", API_AUTH_USER, NULL, tokens_delete,
	  NULL, 204, "Revoke a token" },
	{ 0 },
};
