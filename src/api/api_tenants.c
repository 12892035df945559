/*
 * api_tenants.c - the caller's tenant: read, configure, reference lists.
 */
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/store_accounts.h"
#include "gent/tenant_settings.h"

/* Whole days of a retention in ms, rounded up (the API speaks in days). */
static json_int_t
retention_days(uint64_t ms)
{
	const uint64_t day = 24ULL * 3600 * 1000;

	return (json_int_t)((ms + day - 1) / day);
}

/* The tenant as the API shows it: audit_retention_days, when the tenant
 * never set one, is what the expiry sweep uses, the installation's
 * audit_retention (tenant_settings_audit_retention). */
static json_t *
tenant_json(const struct api_ctx *ctx, const struct tenant_row *t)
{
	json_t *settings = tenant_settings_effective(t->settings_json);
	uint64_t keep = tenant_settings_audit_retention(store_control(ctx->app->store),
	    t->id, ctx->app->conf->audit_retention);

	json_object_set_new(settings, "audit_retention_days",
	    json_integer(retention_days(keep)));
	return json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", t->id, "name", t->name,
	    "settings", settings,
	    "created_at", api_time(t->created_at), "updated_at", api_time(t->updated_at));
}

static void
tenants_get(struct api_ctx *ctx)
{
	struct tenant_row t;
	int rc = store_tenants_get(store_control(ctx->app->store), ctx->who.tenant_id, &t);

	if (rc != STORE_OK) {
		api_error_internal(ctx);
		return;
	}
	api_reply(ctx, 200, tenant_json(ctx, &t));
	tenant_row_free(&t);
}

/* The body's settings members, each validated, as a JSON patch; NULL = 400. */
static json_t *
settings_patch(struct api_ctx *ctx)
{
	json_t *patch = json_object(), *v;
	const char *key;

	json_object_foreach(ctx->body, key, v) {
		const char *problem;
		if (strcmp(key, "name") == 0)
			continue;
		if ((problem = tenant_settings_check(key, v)) != NULL) {
			api_error_field(ctx, key, "'%s' %s", key, problem);
			json_decref(patch);
			return NULL;
		}
		json_object_set(patch, key, v);
	}
	return patch;
}

static void
tenants_patch(struct api_ctx *ctx)
{
	struct store_db *db = store_control(ctx->app->store);
	const char *name = api_body_str(ctx, "name");
	json_t *patch;
	char *text;
	int rc;

	if (name && (strlen(name) < 1 || str_chars(name) > 200)) {
		api_error_field(ctx, "name", "'name' must be 1 to 200 characters");
		return;
	}
	if (!(patch = settings_patch(ctx)))
		return;
	text = json_dumps(patch, JSON_COMPACT | JSON_SORT_KEYS);
	struct store_audit a = api_audit(ctx, "tenant.updated", "tenant", ctx->who.tenant_id);
	a.detail_json = text;
	rc = store_tenants_patch(db, ctx->who.tenant_id, name, text, &a);
	if (rc == STORE_ERR_CONFLICT)
		api_error(ctx, 409, "conflict", "a tenant with that name exists");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	else
		tenants_get(ctx);
	free(text);
	json_decref(patch);
}

static void
tenants_reference(struct api_ctx *ctx)
{
	api_reply(ctx, 200, tenant_settings_reference());
}

static void
tenants_cap_resources(struct api_ctx *ctx)
{
	api_reply(ctx, 200, json_pack("{s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]}",
	    "data",
	    "resource", "send", "unit", "messages", "path", "/v1/billing/caps/send/",
	    "resource", "mailbox", "unit", "gigabytes", "path", "/v1/billing/caps/mailbox/",
	    "resource", "files", "unit", "gigabytes", "path", "/v1/billing/caps/files/"));
}

static void
tenants_cap_modes(struct api_ctx *ctx)
{
	api_reply(ctx, 200, json_pack("{s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
	    "data",
	    "mode", "enforce", "description", "hard stop: refuse past the limit",
	    "mode", "hold", "description", "hard stop: hold sends until the period resets",
	    "mode", "allow_and_bill", "description", "flexible: continue and record overage"));
}

static const struct api_field tenant_patch_fields[] = {
	{ "name", API_T_STRING, false, false, "Tenant display name" },
	{ "governance_tier", API_T_STRING, false, false, "standard | token_controls | full" },
	{ "collaboration_enabled", API_T_BOOLEAN, false, false, NULL },
	{ "audit_retention_days", API_T_INTEGER, false, false, "1-3650" },
	{ "default_timezone", API_T_STRING, false, false, "IANA name" },
	{ "workflow_review_defaults", API_T_OBJECT, false, false, NULL },
	{ 0 },
};

const struct api_route api_tenants_routes[] = {
	{ "GET", "/v1/tenants/", API_AUTH_USER, NULL, tenants_get, NULL, 200,
	  "The caller's tenant and its settings" },
	{ "PATCH", "/v1/tenants/", API_AUTH_ADMIN, NULL, tenants_patch,
	  tenant_patch_fields, 200, "Update tenant configuration" },
	{ "GET", "/v1/tenants/reference/", API_AUTH_ADMIN, NULL, tenants_reference,
	  NULL, 200, "List tenant configuration options" },
	{ "GET", "/v1/tenants/cap-resources/", API_AUTH_ADMIN, NULL,
	  tenants_cap_resources, NULL, 200, "List configurable cap resources" },
	{ "GET", "/v1/tenants/cap-modes/", API_AUTH_ADMIN, NULL, tenants_cap_modes,
	  NULL, 200, "List cap behavior modes" },
	{ 0 },
};
