/*
 * api_sessions.c - sign-in, sign-out and waitlist sign-up.
 *
 * Failed sign-ins are counted per user. After LOGIN_FREE_FAILURES in a
 * row the account is locked for 2^(n - LOGIN_FREE_FAILURES) seconds (up
 * to LOGIN_MAX_LOCK_S); attempts during the lock get 429 with Retry-After
 * without the password being checked, so guessing is slowed down.
 * Unknown emails cost the same scrypt work as known ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/addr.h"
#include "gent/api.h"
#include "gent/ids.h"
#include "gent/log.h"
#include "gent/password.h"
#include "gent/store_accounts.h"
#include "gent/timefmt.h"

#define LOGIN_FREE_FAILURES 5
#define LOGIN_MAX_LOCK_S 900

static void
login_failed(struct api_ctx *ctx, const struct user_row *u, int failures)
{
	struct store_audit a = api_audit(ctx, "auth.login_failed", "user", u->id);
	char detail[64];

	snprintf(detail, sizeof(detail), "{\"consecutive_failures\":%d}", failures);
	a.tenant_id = u->tenant_id;
	a.actor_type = "public";
	a.detail_json = detail;
	if (store_audit_write(store_control(ctx->app->store), &a) != STORE_OK) {
		api_error_internal(ctx);
		return;
	}
	api_error(ctx, 401, "invalid_credentials", "invalid email or password");
}

static void
locked_out(struct api_ctx *ctx, int64_t locked_until, int64_t now)
{
	buf_printf(&ctx->resp->headers, "Retry-After: %lld\r\n",
	    (long long)((locked_until - now + 999) / 1000));
	api_error(ctx, 429, "too_many_attempts", "too many failed sign-ins; "
	    "try again later");
}

static void
issue_session(struct api_ctx *ctx, const struct user_row *u, int64_t now)
{
	struct store_db *db = store_control(ctx->app->store);
	char *raw = ids_new_secret("gses"), *id = ids_new("ses");
	char digest[IDS_DIGEST_HEX_LEN + 1];
	int64_t expires = now + (int64_t)ctx->app->conf->session_ttl;
	struct store_audit a = api_audit(ctx, "auth.login", "session", id);
	int rc;

	a.tenant_id = u->tenant_id;
	a.actor_type = "user";
	a.actor_id = u->id;
	ids_sha256_hex(raw, strlen(raw), digest);
	rc = store_sessions_create(db, id, digest, u->id, u->tenant_id, expires, &a);
	if (rc != STORE_OK)
		api_error_internal(ctx);
	else
		api_reply(ctx, 201, json_pack("{s:s, s:o, s:s, s:s, s:s}",
		    "session_token", raw, "expires_at", api_time(expires),
		    "user_id", u->id, "tenant_id", u->tenant_id, "role", u->role));
	free(raw);
	free(id);
}

static void
login(struct api_ctx *ctx)
{
	const char *email = api_body_str(ctx, "email");
	const char *password = api_body_str(ctx, "password");
	int64_t now = time_now_ms(), locked_until = 0;
	struct user_row u;
	int rc, failures = 0;

	if (strlen(password) > PASSWORD_MAX_LEN) {
		api_error_field(ctx, "password", "'password' is too long");
		return;
	}
	rc = store_accounts_user_by_email(store_control(ctx->app->store), email, &u);
	if (rc == STORE_ERR_NOT_FOUND) {
		password_burn((int)ctx->app->conf->scrypt_log2n);
		api_error(ctx, 401, "invalid_credentials", "invalid email or password");
		return;
	}
	if (rc != STORE_OK) {
		api_error_internal(ctx);
		return;
	}
	rc = store_accounts_login_begin(store_control(ctx->app->store), u.id, now,
	    LOGIN_FREE_FAILURES, LOGIN_MAX_LOCK_S, &failures, &locked_until);
	if (rc == STORE_ERR_FORBIDDEN)
		locked_out(ctx, locked_until, now);
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	else if (!password_verify(password, u.password_hash))
		login_failed(ctx, &u, failures);
	else
		issue_session(ctx, &u, now);
	user_row_free(&u);
}

static void
logout(struct api_ctx *ctx)
{
	struct store_audit a = api_audit(ctx, "auth.logout", "session",
	    ctx->who.session_id);
	int rc = store_sessions_revoke(store_control(ctx->app->store),
	    ctx->who.session_id, &a);

	if (rc != STORE_OK && rc != STORE_ERR_NOT_FOUND)
		api_error_internal(ctx);
	else
		api_reply(ctx, 204, NULL);
}

/* Sign-up with a waitlist token: creates the tenant and its owner. */
static void
signup(struct api_ctx *ctx)
{
	const char *email = api_body_str(ctx, "email");
	const char *token = api_body_str(ctx, "signup_token");
	const char *password = api_body_str(ctx, "password");
	const char *tenant = api_body_str(ctx, "tenant_name");
	char digest[IDS_DIGEST_HEX_LEN + 1];
	struct new_user u = { .email = email, .role = "owner", .new_tenant = true };
	struct store_audit a = api_audit(ctx, "user.signed_up", NULL, NULL);
	char *hash;
	struct store_db *tdb;
	char *err = NULL;
	int rc;

	if (strlen(password) < PASSWORD_MIN_LEN || strlen(password) > PASSWORD_MAX_LEN) {
		api_error_field(ctx, "password", "'password' must be 8 to 1024 characters");
		return;
	}
	if (tenant && (strlen(tenant) < 1 || str_chars(tenant) > 200)) {
		api_error_field(ctx, "tenant_name", "'tenant_name' must be 1 to 200 characters");
		return;
	}
	if (!(hash = password_hash(password, (int)ctx->app->conf->scrypt_log2n))) {
		api_error_internal(ctx);
		return;
	}
	u.password_hash = hash;
	u.tenant_name = tenant ? tenant : email;
	ids_sha256_hex(token, strlen(token), digest);
	rc = store_waitlist_redeem(store_control(ctx->app->store), digest, &u, &a);
	free(hash);
	if (rc == STORE_ERR_INVALID)
		api_error(ctx, 400, "invalid_token", "sign-up token is invalid, "
		    "expired or already redeemed");
	else if (rc == STORE_ERR_CONFLICT)
		api_error(ctx, 409, "conflict", "that email or tenant name is taken");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	else if (store_tenant(ctx->app->store, u.tenant_id_r, &tdb, &err) != 0) {
		log_error("api", ctx->req->request_id, "%s", err);
		free(err);
		api_error_internal(ctx);
	} else
		api_reply(ctx, 201, json_pack("{s:s, s:s, s:s, s:s}", "user_id",
		    u.user_id_r, "tenant_id", u.tenant_id_r, "email", email,
		    "role", "owner"));
}

static const struct api_field login_fields[] = {
	{ "email", API_T_STRING, true, false, NULL },
	{ "password", API_T_STRING, true, false, NULL },
	{ 0 },
};

static const struct api_field signup_fields[] = {
	{ "email", API_T_STRING, true, false, NULL },
	{ "signup_token", API_T_STRING, true, false, "From the approval link" },
	{ "password", API_T_STRING, true, false, "8 to 1024 characters" },
	{ "tenant_name", API_T_STRING, false, false, "Defaults to the email" },
	{ 0 },
};

const struct api_route api_sessions_routes[] = {
	{ "POST", "/v1/auth/login/", API_AUTH_NONE, NULL, login, login_fields, 201,
	  "Sign in; returns a session token" },
	{ "POST", "/v1/auth/logout/", API_AUTH_USER, NULL, logout, NULL, 204,
	  "End the current session" },
	{ "POST", "/v1/auth/signup/", API_AUTH_NONE, NULL, signup, signup_fields,
	  201, "Create a tenant and its owner with a waitlist sign-up token" },
	{ 0 },
};
