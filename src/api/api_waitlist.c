/*
 * api_waitlist.c - public access requests and sign-up token validation.
 * Operators approve requests with `gentd admin approve-waitlist`.
 */
#include <stdlib.h>
#include <string.h>

#include "gent/addr.h"
#include "gent/api.h"
#include "gent/ids.h"
#include "gent/store_accounts.h"
#include "gent/timefmt.h"

static void
waitlist_add(struct api_ctx *ctx)
{
	const char *email = api_body_str(ctx, "email");
	struct store_audit a = api_audit(ctx, "waitlist.requested", "waitlist", email);
	bool created;

	if (!addr_is_valid(email)) {
		api_error_field(ctx, "email", "'email' is not a valid address");
		return;
	}
	if (store_waitlist_add(store_control(ctx->app->store), email, &created,
	    &a) != STORE_OK) {
		api_error_internal(ctx);
		return;
	}
	/* Same answer either way: the endpoint does not reveal who applied. */
	api_reply(ctx, 202, json_pack("{s:s, s:s}", "email", email, "status",
	    "pending"));
}

static void
waitlist_validate(struct api_ctx *ctx)
{
	char *email = api_query(ctx, "email"), *token = api_query(ctx, "signup_token");
	char digest[IDS_DIGEST_HEX_LEN + 1];

	if (!email || !*email)
		api_error_field(ctx, "email", "'email' is required");
	else if (!token || !*token)
		api_error_field(ctx, "signup_token", "'signup_token' is required");
	else {
		ids_sha256_hex(token, strlen(token), digest);
		if (store_waitlist_valid(store_control(ctx->app->store), email,
		    digest, time_now_ms()))
			api_reply(ctx, 200, json_pack("{s:b, s:s}", "valid", 1,
			    "email", email));
		else
			api_error(ctx, 400, "invalid_token", "sign-up token is "
			    "invalid, expired or already redeemed");
	}
	free(email);
	free(token);
}

static const struct api_field waitlist_fields[] = {
	{ "email", API_T_STRING, true, false, "Applicant's email address" },
	{ 0 },
};

const struct api_route api_waitlist_routes[] = {
	{ "POST", "/v1/waitlist/", API_AUTH_NONE, NULL, waitlist_add,
	  waitlist_fields, 202, "Submit an access request (idempotent)" },
	{ "GET", "/v1/waitlist/validate/", API_AUTH_NONE, NULL, waitlist_validate,
	  NULL, 200, "Validate a sign-up token (?email=&signup_token=)" },
	{ 0 },
};
