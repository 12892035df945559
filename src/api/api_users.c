/*
 * api_users.c - GET /v1/users/me/ with the next set-up step.
 */
#include <stdlib.h>

#include "gent/api.h"
#include "gent/store_accounts.h"

/* The set-up sequence of the workflow quickstart, first step not done. */
static json_t *
next_step(int domains, int inboxes, int tokens)
{
	if (inboxes == 0 && domains == 0)
		return json_pack("{s:s, s:s, s:s, s:s}", "action", "verify_domain",
		    "method", "POST", "path", "/v1/domains/", "description",
		    "Add and verify a domain; a verified domain is required "
		    "before creating your first inbox.");
	if (inboxes == 0)
		return json_pack("{s:s, s:s, s:s, s:s}", "action", "create_inbox",
		    "method", "POST", "path", "/v1/inboxes/", "description",
		    "Create an inbox on your verified domain.");
	if (tokens == 0)
		return json_pack("{s:s, s:s, s:s, s:s}", "action", "create_token",
		    "method", "POST", "path", "/v1/tokens/", "description",
		    "Issue a scoped agent token for your inbox.");
	return json_pack("{s:s, s:s, s:s, s:s}", "action", "send_message",
	    "method", "POST", "path", "/v1/messages/", "description",
	    "Send a first message from your inbox.");
}

static void
users_me(struct api_ctx *ctx)
{
	struct store_db *db = store_control(ctx->app->store);
	struct user_row u;
	int domains, inboxes, tokens;

	if (store_accounts_user_by_id(db, ctx->who.user_id, &u) != STORE_OK ||
	    store_tenants_progress(db, ctx->who.tenant_id, &domains, &inboxes, &tokens) != STORE_OK) {
		api_error_internal(ctx);
		return;
	}
	api_reply(ctx, 200, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}",
	    "id", u.id, "email", u.email, "tenant_id", u.tenant_id, "role", u.role,
	    "created_at", api_time(u.created_at),
	    "next_step", next_step(domains, inboxes, tokens)));
	user_row_free(&u);
}

const struct api_route api_users_routes[] = {
	{ "GET", "/v1/users/me/", API_AUTH_USER, NULL, users_me, NULL, 200,
	  "The signed-in user and the next set-up step" },
	{ 0 },
};
