/*
 * api_health.c - GET /healthz: 200 once the daemon serves requests.
 */
#include "gent/api.h"

static void
health_get(struct api_ctx *ctx)
{
	/* Touch the store so "ready" means the database answers too. */
	sqlite3 *conn = store_db_acquire(store_control(ctx->app->store));
	int ok = sqlite3_exec(conn, "SELECT 1", NULL, NULL, NULL) == SQLITE_OK;

	store_db_release(store_control(ctx->app->store), &conn);
	if (!ok) {
		api_error(ctx, 503, "unavailable", "store is not answering");
		return;
	}
	api_reply(ctx, 200, json_pack("{s:s}", "status", "ok"));
}

const struct api_route api_health_routes[] = {
	{ "GET", "/healthz", API_AUTH_NONE, NULL, health_get, NULL, 200,
	  "Liveness and readiness" },
	{ 0 },
};
