/*
 * api_invites.c - team invitations (owner/admin sessions) and their
 * public acceptance, which provisions a user in the inviting tenant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/addr.h"
#include "gent/api.h"
#include "gent/ids.h"
#include "gent/password.h"
#include "gent/store_accounts.h"
#include "gent/timefmt.h"

static bool
valid_role(const char *r)
{
	return r && (!strcmp(r, "member") || !strcmp(r, "admin") || !strcmp(r, "owner"));
}

static json_t *
invite_json(const struct invite_row *r)
{
	return json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o}", "id", r->id,
	    "role", r->role, "email", r->email ? json_string(r->email) : json_null(),
	    "status", r->status, "expires_at", api_time(r->expires_at),
	    "created_at", api_time(r->created_at),
	    "accepted_at", api_time(r->accepted_at));
}

static int
check_invite(struct api_ctx *ctx, const char *role, const char *email,
    int64_t *expires)
{
	const char *exp = api_body_str(ctx, "expires_at");

	if (!valid_role(role)) {
		api_error_field(ctx, "role", "'role' must be one of member, admin, owner");
		return -1;
	}
	if (strcmp(role, "owner") == 0 && strcmp(ctx->who.role, "owner") != 0) {
		api_error(ctx, 403, "forbidden", "only an owner can invite an owner");
		return -1;
	}
	if (email && !addr_is_valid(email)) {
		api_error_field(ctx, "email", "'email' is not a valid address");
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
invites_create(struct api_ctx *ctx)
{
	const char *role = api_body_has(ctx, "role") ? api_body_str(ctx, "role") : "member";
	struct invite_row r = { 0 };
	char digest[IDS_DIGEST_HEX_LEN + 1], *raw, *id;

	if (check_invite(ctx, role, api_body_str(ctx, "email"), &r.expires_at) != 0)
		return;
	id = ids_new("inv");
	raw = ids_new_secret("ginv");
	ids_sha256_hex(raw, strlen(raw), digest);
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.tenant_id, sizeof(r.tenant_id), "%s", ctx->who.tenant_id);
	snprintf(r.role, sizeof(r.role), "%s", role);
	snprintf(r.status, sizeof(r.status), "pending");
	snprintf(r.created_by, sizeof(r.created_by), "%s", ctx->who.user_id);
	r.email = (char *)api_body_str(ctx, "email");
	r.created_at = time_now_ms();
	struct store_audit a = api_audit(ctx, "invite.created", "invite", id);
	if (store_invites_create(store_control(ctx->app->store), &r, digest, &a) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		json_t *j = invite_json(&r);
		json_object_set_new(j, "invite_token", json_string(raw));
		api_reply(ctx, 201, j);
	}
	free(raw);
	free(id);
}

static void
invites_list(struct api_ctx *ctx)
{
	char *status = api_query(ctx, "status"), *cursor_id;
	struct invite_row *rows = NULL;
	int limit, n = 0;
	int64_t cursor_ms;
	bool more;

	if (status && strcmp(status, "pending") && strcmp(status, "accepted") &&
	    strcmp(status, "cancelled") && strcmp(status, "expired")) {
		api_error_field(ctx, "status", "'status' must be one of pending, "
		    "accepted, cancelled, expired");
		free(status);
		return;
	}
	if (api_list_params(ctx, &limit, &cursor_ms, &cursor_id) != 0) {
		free(status);
		return;
	}
	if (store_invites_list(store_control(ctx->app->store), ctx->who.tenant_id,
	    status, limit, cursor_ms, cursor_id, &rows, &n, &more) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		json_t *items = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(items, invite_json(&rows[i]));
		api_list_reply(ctx, items, more, n ? rows[n - 1].created_at : 0,
		    n ? rows[n - 1].id : NULL);
	}
	invite_rows_free(rows, n);
	free(rows);
	free(status);
	free(cursor_id);
}

static void
invites_accept(struct api_ctx *ctx)
{
	const char *token = api_body_str(ctx, "invite_token");
	const char *email = api_body_str(ctx, "email");
	const char *password = api_body_str(ctx, "password");
	struct new_user u = { .email = email };
	struct store_audit a = api_audit(ctx, "invite.accepted", NULL, NULL);
	char digest[IDS_DIGEST_HEX_LEN + 1], *hash;
	int rc;

	if (!addr_is_valid(email)) {
		api_error_field(ctx, "email", "'email' is not a valid address");
		return;
	}
	if (strlen(password) < PASSWORD_MIN_LEN || strlen(password) > PASSWORD_MAX_LEN) {
		api_error_field(ctx, "password", "'password' must be 8 to 1024 characters");
		return;
	}
	if (!(hash = password_hash(password, (int)ctx->app->conf->scrypt_log2n))) {
		api_error_internal(ctx);
		return;
	}
	u.password_hash = hash;
	ids_sha256_hex(token, strlen(token), digest);
	rc = store_invites_accept(store_control(ctx->app->store), digest, &u,
	    time_now_ms(), &a);
	free(hash);
	if (rc == STORE_ERR_NOT_FOUND || rc == STORE_ERR_INVALID)
		api_error(ctx, 400, "invalid_token", "invite is unknown, expired, "
		    "or for another email");
	else if (rc == STORE_ERR_CONFLICT)
		api_error(ctx, 409, "conflict", "invite already used, or the email "
		    "already has an account");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	else
		api_reply(ctx, 201, json_pack("{s:s, s:s, s:s}", "user_id",
		    u.user_id_r, "tenant_id", u.tenant_id_r, "email", email));
}

static const struct api_field create_fields[] = {
	{ "role", API_T_STRING, false, false, "member (default), admin, owner" },
	{ "email", API_T_STRING, false, true, "Restrict to one email; null = open" },
	{ "expires_at", API_T_STRING, false, true, "ISO 8601; null = no expiry" },
	{ 0 },
};

static const struct api_field accept_fields[] = {
	{ "invite_token", API_T_STRING, true, false, NULL },
	{ "email", API_T_STRING, true, false, NULL },
	{ "password", API_T_STRING, true, false, "8 to 1024 characters" },
	{ 0 },
};

const struct api_route api_invites_routes[] = {
	{ "GET", "/v1/invites/", API_AUTH_ADMIN, NULL, invites_list, NULL, 200,
	  "List invites (?status=)" },
	{ "POST", "/v1/invites/", API_AUTH_ADMIN, NULL, invites_create,
	  create_fields, 201, "Create an invite; the token is returned once" },
	{ "POST", "/v1/invites/accept/", API_AUTH_NONE, NULL, invites_accept,
	  accept_fields, 201, "Accept an invite and create the user" },
	{ 0 },
};
