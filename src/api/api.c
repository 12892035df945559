/*
 * api.c - the dispatcher: route, authenticate, authorise, decode the body,
 * call the handler, log one access line. Runs on worker threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/store_events.h"
#include "gent/ids.h"
#include "gent/log.h"
#include "gent/store_accounts.h"
#include "gent/store_tokens.h"
#include "gent/timefmt.h"
#include "api_int.h"

static void
auth_fail(struct api_ctx *ctx, const char *message)
{
	buf_append_str(&ctx->resp->headers, "WWW-Authenticate: Bearer realm=\"gentd\"\r\n");
	api_error(ctx, 401, "unauthorized", "%s", message);
}

/* Parse "Bearer <token>"; returns the token or NULL. */
static const char *
bearer(const struct api_ctx *ctx)
{
	const char *h = http_request_header(ctx->req, "Authorization");

	if (!h || str_ncaseeq(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h ? h : NULL;
}

static scope_set
scopes_from_json(const char *text)
{
	json_t *arr = json_loads(text, 0, NULL), *v;
	scope_set set = 0;
	size_t i;

	json_array_foreach(arr, i, v)
		set |= scopes_bit(json_string_value(v));
	json_decref(arr);
	return set;
}

/* Refused requests recorded as auth.failed beyond this count: every
 * AUTH_FAILED_EVERY-th, so a paused agent that keeps calling cannot fill
 * the event log. A threshold up to the cap fires exactly. */
#define AUTH_FAILED_ALL_UP_TO	100
#define AUTH_FAILED_EVERY	100

/* A known token was refused: count it and tell the inbox (auth.failed). */
static void
token_refused(struct api_ctx *ctx, const struct token_row *t, const char *why)
{
	struct store_db *tenant;
	int64_t n = 0;
	char *err = NULL;

	if (store_tokens_auth_counted(store_control(ctx->app->store), t->id, true, &n)
	    != STORE_OK || (n > AUTH_FAILED_ALL_UP_TO && n % AUTH_FAILED_EVERY != 0))
		return;
	if (store_tenant(ctx->app->store, t->tenant_id, &tenant, &err) != 0) {
		free(err);
		return;
	}
	json_t *p = json_pack("{s:s, s:I, s:s}", "token_id", t->id, "consecutive",
	    (json_int_t)n, "reason", why);
	char *text = json_dumps(p, JSON_COMPACT);
	struct store_event e = { "auth.failed", t->inbox_id, NULL, NULL, text };
	store_events_write(tenant, &e);
	free(text);
	json_decref(p);
}

static int
auth_agent_token(struct api_ctx *ctx, const char *raw)
{
	struct store_db *db = store_control(ctx->app->store);
	char digest[IDS_DIGEST_HEX_LEN + 1];
	struct token_row t;
	int rc;

	ids_sha256_hex(raw, strlen(raw), digest);
	if ((rc = store_tokens_by_digest(db, digest, &t)) != STORE_OK) {
		if (rc == STORE_ERR_SQL)
			api_error_internal(ctx);
		else
			auth_fail(ctx, "unknown token");
		return -1;
	}
	const char *why = NULL;
	if (strcmp(t.inbox_status, "active") != 0 &&
	    strcmp(t.inbox_status, "suspended") != 0)
		why = "the token's inbox is closed";
	else if (strcmp(t.status, "active") != 0)
		why = strcmp(t.status, "paused") == 0 ? "token is paused" : "token is revoked";
	else if (t.expires_at > 0 && t.expires_at <= time_now_ms())
		why = "token has expired";
	if (why) {
		auth_fail(ctx, why);
		token_refused(ctx, &t, why);
		token_row_free(&t);
		return -1;
	}
	if (t.failed_auths > 0)	/* the run of refusals is over */
		store_tokens_auth_counted(store_control(ctx->app->store), t.id, false, NULL);
	ctx->who.kind = API_TOKEN;
	snprintf(ctx->who.tenant_id, sizeof(ctx->who.tenant_id), "%s", t.tenant_id);
	snprintf(ctx->who.token_id, sizeof(ctx->who.token_id), "%s", t.id);
	snprintf(ctx->who.inbox_id, sizeof(ctx->who.inbox_id), "%s", t.inbox_id);
	ctx->who.scopes = scopes_from_json(t.scopes_json);
	ctx->who.approval = scopes_from_json(t.requires_approval_json);
	token_row_free(&t);
	return 0;
}

static int
auth_session(struct api_ctx *ctx, const char *raw)
{
	struct store_db *db = store_control(ctx->app->store);
	char digest[IDS_DIGEST_HEX_LEN + 1];
	struct session_row s;
	int rc;

	ids_sha256_hex(raw, strlen(raw), digest);
	if ((rc = store_sessions_by_digest(db, digest, &s)) != STORE_OK) {
		if (rc == STORE_ERR_SQL)
			api_error_internal(ctx);
		else
			auth_fail(ctx, "unknown session");
		return -1;
	}
	if (s.revoked_at || s.expires_at <= time_now_ms()) {
		auth_fail(ctx, s.revoked_at ? "session has ended" : "session has expired");
		return -1;
	}
	ctx->who.kind = API_SESSION;
	snprintf(ctx->who.tenant_id, sizeof(ctx->who.tenant_id), "%s", s.tenant_id);
	snprintf(ctx->who.user_id, sizeof(ctx->who.user_id), "%s", s.user_id);
	snprintf(ctx->who.session_id, sizeof(ctx->who.session_id), "%s", s.id);
	snprintf(ctx->who.role, sizeof(ctx->who.role), "%s", s.role);
	return 0;
}

/* Resolve the credential and check the route's auth kind. 0 = go on. */
static int
authorize(struct api_ctx *ctx)
{
	enum api_auth kind = ctx->route->auth;
	const char *raw;

	if (kind == API_AUTH_NONE)
		return 0;
	if (!(raw = bearer(ctx))) {
		if (kind == API_AUTH_OPTIONAL && !http_request_header(ctx->req, "Authorization"))
			return 0;
		auth_fail(ctx, "missing or malformed Authorization: Bearer header");
		return -1;
	}
	if (ids_is_secret(raw, "gent")) {
		if (auth_agent_token(ctx, raw) != 0)
			return -1;
	} else if (ids_is_secret(raw, "gses")) {
		if (auth_session(ctx, raw) != 0)
			return -1;
	} else {
		auth_fail(ctx, "malformed token");
		return -1;
	}
	if ((kind == API_AUTH_USER || kind == API_AUTH_ADMIN) &&
	    ctx->who.kind != API_SESSION) {
		api_error(ctx, 403, "forbidden", "this endpoint needs a user "
		    "session; agent tokens are not accepted");
		return -1;
	}
	if (kind == API_AUTH_ADMIN && strcmp(ctx->who.role, "owner") != 0 &&
	    strcmp(ctx->who.role, "admin") != 0) {
		api_error(ctx, 403, "forbidden", "this endpoint needs a tenant "
		    "owner or admin");
		return -1;
	}
	if (kind == API_AUTH_SCOPE && ctx->who.kind == API_TOKEN &&
	    !scopes_has(ctx->who.scopes, ctx->route->scope)) {
		api_error(ctx, 403, "insufficient_scope", "token lacks scope %s",
		    ctx->route->scope);
		return -1;
	}
	return 0;
}

static bool
is_json_content_type(const char *ct)
{
	return ct && str_ncaseeq(ct, "application/json", 16) == 0 &&
	    (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

/* Decode and validate the body for routes that declare fields. */
const struct api_field api_body_ignored[] = { { 0 } };

static int
decode_body(struct api_ctx *ctx)
{
	const struct http_request *req = ctx->req;
	json_error_t jerr;

	if (ctx->route->body == api_body_ignored)
		return 0;
	if (req->body_len == 0) {
		if (!ctx->route->body)
			return 0;
		json_t *empty = json_object();
		int rc = api_body_validate(ctx, empty, ctx->route->body);
		if (rc == 0)
			ctx->body = empty;
		else
			json_decref(empty);
		return rc;
	}
	if (!ctx->route->body) {
		api_error(ctx, 400, "unexpected_body", "this endpoint takes no request body");
		return -1;
	}
	if (!is_json_content_type(http_request_header(req, "Content-Type"))) {
		api_error(ctx, 415, "unsupported_media_type",
		    "Content-Type must be application/json");
		return -1;
	}
	ctx->body = json_loadb(req->body, req->body_len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (!ctx->body) {
		api_error(ctx, 400, "invalid_json", "malformed JSON at line %d "
		    "column %d: %s", jerr.line, jerr.column, jerr.text);
		return -1;
	}
	return api_body_validate(ctx, ctx->body, ctx->route->body);
}

static void
access_log(const struct api_ctx *ctx)
{
	const char *who = ctx->who.kind == API_TOKEN ? ctx->who.token_id :
	    ctx->who.kind == API_SESSION ? ctx->who.user_id : "-";

	log_info("api", ctx->req->request_id, "%s %s %d principal=%s ip=%s%s%s",
	    ctx->req->method, ctx->req->path, ctx->resp->status, who,
	    ctx->req->client_ip, ctx->log_note ? " " : "",
	    ctx->log_note ? ctx->log_note : "");
}

void
api_handle(const struct http_request *req, struct http_response *resp,
    void *app)
{
	struct api_ctx ctx = { .app = app, .req = req, .resp = resp };
	struct api_idem idem = { 0 };
	struct buf allow = { 0 };
	bool path_known;

	/* HEAD is GET without the body; the HTTP layer drops the body. */
	ctx.route = api_route_match(strcmp(req->method, "HEAD") == 0 ? "GET" :
	    req->method, req->path, &ctx, &path_known, &allow);
	if (!ctx.route && path_known) {
		buf_printf(&resp->headers, "Allow: %s\r\n", allow.data);
		api_error(&ctx, 405, "method_not_allowed", "%s is not allowed on "
		    "this path; allowed: %s", req->method, allow.data);
	} else if (!ctx.route) {
		api_error(&ctx, 404, "not_found", "no such endpoint");
	} else if (authorize(&ctx) == 0 && decode_body(&ctx) == 0 &&
	    api__idem_before(&ctx, &idem) == 0) {
		ctx.route->handler(&ctx);
		api__idem_after(&ctx, &idem);
	}
	if (resp->status == 0)
		api_error_internal(&ctx);
	access_log(&ctx);
	buf_free(&allow);
	json_decref(ctx.body);
	for (int i = 0; i < ctx.n_params; i++)
		free(ctx.param_values[i]);
}

char *
api_inbox_id(struct api_ctx *ctx)
{
	char *id = api_query(ctx, "inbox_id");
	struct inbox_row inbox;
	int rc;

	if (!id && api_body_str(ctx, "inbox_id"))
		id = xstrdup(api_body_str(ctx, "inbox_id"));
	if (ctx->who.kind == API_TOKEN) {
		if (id && strcmp(id, ctx->who.inbox_id) != 0) {
			api_error(ctx, 403, "forbidden", "this token is limited to "
			    "inbox %s", ctx->who.inbox_id);
			free(id);
			return NULL;
		}
		free(id);
		return xstrdup(ctx->who.inbox_id);
	}
	if (!id || !*id) {
		free(id);
		api_error_field(ctx, "inbox_id", "'inbox_id' is required");
		return NULL;
	}
	rc = store_inboxes_get(store_control(ctx->app->store), ctx->who.tenant_id,
	    id, &inbox);
	inbox_row_free(&inbox);
	if (rc != STORE_OK) {
		if (rc == STORE_ERR_SQL)
			api_error_internal(ctx);
		else
			api_error(ctx, 404, "not_found", "inbox not found");
		free(id);
		return NULL;
	}
	snprintf(ctx->inbox_hint, sizeof(ctx->inbox_hint), "%s", id);
	return id;
}

struct store_db *
api_tenant_db(struct api_ctx *ctx)
{
	struct store_db *db;
	char *err = NULL;

	if (store_tenant(ctx->app->store, ctx->who.tenant_id, &db, &err) != 0) {
		log_error("api", ctx->req->request_id, "%s", err);
		free(err);
		api_error_internal(ctx);
		return NULL;
	}
	return db;
}

bool
api_inbox_visible(struct api_ctx *ctx, const char *inbox_id)
{
	if (ctx->who.kind == API_TOKEN && strcmp(inbox_id, ctx->who.inbox_id) != 0)
		return false;
	snprintf(ctx->inbox_hint, sizeof(ctx->inbox_hint), "%s", inbox_id);
	return true;
}

/* The inbox for an audit row: what a loader noted, the token's, or the
 * {inbox_id} of the path. */
static const char *
audit_inbox(const struct api_ctx *ctx)
{
	if (ctx->inbox_hint[0])
		return ctx->inbox_hint;
	if (ctx->who.kind == API_TOKEN && ctx->who.inbox_id[0])
		return ctx->who.inbox_id;
	return api_param(ctx, "inbox_id");
}

struct store_audit
api_audit(const struct api_ctx *ctx, const char *action,
    const char *target_type, const char *target_id)
{
	struct store_audit a = {
		.tenant_id = ctx->who.tenant_id[0] ? ctx->who.tenant_id : NULL,
		.actor_type = ctx->who.kind == API_TOKEN ? "token" :
		    ctx->who.kind == API_SESSION ? "user" : "public",
		.actor_id = ctx->who.kind == API_TOKEN ? ctx->who.token_id :
		    ctx->who.kind == API_SESSION ? ctx->who.user_id : NULL,
		.action = action,
		.target_type = target_type,
		.target_id = target_id,
		.request_id = ctx->req->request_id,
		.inbox_id = audit_inbox(ctx),
	};
	return a;
}
