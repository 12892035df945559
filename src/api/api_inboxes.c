/*
 * api_inboxes.c - inboxes on verified domains and their life cycle:
 *   active <-> suspended (outbound blocked, inbound continues)
 *   active|suspended -> closing (DELETE; data kept inbox_retention, agent
 *   tokens stop working) -> purged (by the purge job; address released)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/addr.h"
#include "gent/api.h"
#include "gent/domain_name.h"
#include "gent/ids.h"
#include "gent/store_domains.h"
#include "gent/store_tokens.h"
#include "gent/timefmt.h"

#define DISPLAY_NAME_MAX 200

static struct store_db *
control(struct api_ctx *ctx)
{
	return store_control(ctx->app->store);
}

static json_t *
inbox_json(struct api_ctx *ctx, const struct inbox_row *r)
{
	const char *addr = r->address[0] ? r->address : r->released_address;
	const char *at = strrchr(addr, '@');
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o}",
	    "id", r->id, "inbox_id", r->id, "address", addr,
	    "domain", at ? at + 1 : "",
	    "display_name", r->display_name ? json_string(r->display_name) : json_null(),
	    "status", r->status, "created_at", api_time(r->created_at),
	    "updated_at", api_time(r->updated_at),
	    "closing_at", api_time(r->closing_at));

	json_object_set_new(j, "purge_after", r->closing_at ?
	    api_time(r->closing_at + (int64_t)ctx->app->conf->inbox_retention) : json_null());
	json_object_set_new(j, "purged_at", api_time(r->purged_at));
	return j;
}

/*
 * Split and normalise "Local@Domain": local part lower-cased and checked,
 * domain IDNA-normalised. Answers 400 and returns NULL on failure.
 */
static char *
normalize_address(struct api_ctx *ctx, const char *input, char **domain_r)
{
	const char *at = strrchr(input, '@'), *why;
	char *local, *domain, *addr;

	if (!at || at == input) {
		api_error_field(ctx, "address", "'address' must be local@domain");
		return NULL;
	}
	if (!(domain = domain_name_normalize(at + 1, &why))) {
		api_error_field(ctx, "address", "the domain of 'address' %s", why);
		return NULL;
	}
	local = xstrndup(input, (size_t)(at - input));
	str_lower(local);
	addr = xasprintf("%s@%s", local, domain);
	free(local);
	if (!addr_is_valid(addr)) {
		api_error_field(ctx, "address", "the local part of 'address' is not "
		    "valid (letters, digits and !#$%%&'*+-/=?^_`{|}~. up to 64)");
		free(addr);
		free(domain);
		return NULL;
	}
	*domain_r = domain;
	return addr;
}

/* The domain must be the tenant's and verified. 0 or answered. */
static int
check_domain(struct api_ctx *ctx, const char *domain, struct domain_row *d)
{
	int rc = store_domains_get(control(ctx), ctx->who.tenant_id, domain, d);

	if (rc == STORE_ERR_NOT_FOUND) {
		api_error_field(ctx, "address", "domain %s is not a domain of this "
		    "tenant; add it with POST /v1/domains/", domain);
		return -1;
	}
	if (rc != STORE_OK) {
		api_error_internal(ctx);
		return -1;
	}
	if (strcmp(d->status, "verified") != 0) {
		api_error(ctx, 409, "domain_not_verified", "domain %s is not "
		    "verified yet; see POST /v1/domains/%s/verify/", domain, domain);
		domain_row_free(d);
		return -1;
	}
	return 0;
}

static void
inboxes_create(struct api_ctx *ctx)
{
	const char *display = api_body_str(ctx, "display_name");
	struct inbox_row r = { 0 };
	struct domain_row d;
	char *addr, *domain = NULL, *id;
	int rc;

	if (display && str_chars(display) > DISPLAY_NAME_MAX) {
		api_error_field(ctx, "display_name", "'display_name' is at most %d "
		    "characters", DISPLAY_NAME_MAX);
		return;
	}
	if (!(addr = normalize_address(ctx, api_body_str(ctx, "address"), &domain)))
		return;
	if (check_domain(ctx, domain, &d) != 0)
		goto out;
	id = ids_new("inb");
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.tenant_id, sizeof(r.tenant_id), "%s", ctx->who.tenant_id);
	snprintf(r.address, sizeof(r.address), "%s", addr);
	snprintf(r.domain_id, sizeof(r.domain_id), "%s", d.id);
	snprintf(r.status, sizeof(r.status), "active");
	r.display_name = display && *display ? (char *)display : NULL;
	r.created_at = r.updated_at = time_now_ms();
	struct store_audit a = api_audit(ctx, "inbox.created", "inbox", id);
	rc = store_inboxes_create(control(ctx), &r, &a);
	if (rc == STORE_ERR_CONFLICT)
		api_error(ctx, 409, "conflict", "%s is already an inbox", addr);
	else if (rc == STORE_ERR_INVALID)
		api_error(ctx, 409, "domain_not_verified", "domain %s was removed or "
		    "is not verified", domain);
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	else
		api_reply(ctx, 201, inbox_json(ctx, &r));
	free(id);
	domain_row_free(&d);
out:
	free(addr);
	free(domain);
}

static void
inboxes_list(struct api_ctx *ctx)
{
	char *status = api_query(ctx, "status"), *cursor_id = NULL;
	struct inbox_row *rows = NULL;
	int limit, n = 0;
	int64_t cursor_ms;
	bool more;

	if (status && strcmp(status, "active") && strcmp(status, "suspended") &&
	    strcmp(status, "closing") && strcmp(status, "purged")) {
		api_error_field(ctx, "status", "'status' must be one of active, "
		    "suspended, closing, purged");
		goto out;
	}
	if (api_list_params(ctx, &limit, &cursor_ms, &cursor_id) != 0)
		goto out;
	if (store_inboxes_list(control(ctx), ctx->who.tenant_id, status, limit,
	    cursor_ms, cursor_id, &rows, &n, &more) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		json_t *items = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(items, inbox_json(ctx, &rows[i]));
		api_list_reply(ctx, items, more, n ? rows[n - 1].created_at : 0,
		    n ? rows[n - 1].id : NULL);
	}
	inbox_rows_free(rows, n);
out:
	free(status);
	free(cursor_id);
}

int
api_inbox_load(struct api_ctx *ctx, struct inbox_row *r)
{
	int rc = store_inboxes_get(control(ctx), ctx->who.tenant_id,
	    api_param(ctx, "inbox_id"), r);

	if (rc == STORE_OK)
		return 0;
	if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "inbox not found");
	else
		api_error_internal(ctx);
	return -1;
}

static void
inboxes_get(struct api_ctx *ctx)
{
	struct inbox_row r;

	if (api_inbox_load(ctx, &r) != 0)
		return;
	api_reply(ctx, 200, inbox_json(ctx, &r));
	inbox_row_free(&r);
}

static void
answer_update(struct api_ctx *ctx, int rc)
{
	struct inbox_row r;

	if (rc == STORE_ERR_INVALID)
		api_error(ctx, 409, "conflict", "the inbox's status does not allow this");
	else if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "inbox not found");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	else if (api_inbox_load(ctx, &r) == 0) {
		api_reply(ctx, 200, inbox_json(ctx, &r));
		inbox_row_free(&r);
	}
}

static void
inboxes_patch(struct api_ctx *ctx)
{
	const char *status = api_body_str(ctx, "status");
	const char *display = api_body_str(ctx, "display_name");
	const char *id = api_param(ctx, "inbox_id");

	if (status && strcmp(status, "active") && strcmp(status, "suspended")) {
		api_error_field(ctx, "status", "'status' must be active or suspended; "
		    "use DELETE to close an inbox");
		return;
	}
	if (display && str_chars(display) > DISPLAY_NAME_MAX) {
		api_error_field(ctx, "display_name", "'display_name' is at most %d "
		    "characters", DISPLAY_NAME_MAX);
		return;
	}
	if (api_body_has(ctx, "display_name") && !display)
		display = "";	/* null clears it */
	struct store_audit a = api_audit(ctx, status ? (strcmp(status, "suspended") == 0 ?
	    "inbox.suspended" : "inbox.activated") : "inbox.updated", "inbox", id);
	answer_update(ctx, store_inboxes_update(control(ctx), ctx->who.tenant_id,
	    id, status, display, &a));
}

static void
inboxes_delete(struct api_ctx *ctx)
{
	const char *id = api_param(ctx, "inbox_id");
	struct store_audit a = api_audit(ctx, "inbox.closing", "inbox", id);

	answer_update(ctx, store_inboxes_update(control(ctx), ctx->who.tenant_id,
	    id, "closing", NULL, &a));
}

static const struct api_field create_fields[] = {
	{ "address", API_T_STRING, true, false, "local@verified-domain" },
	{ "display_name", API_T_STRING, false, true, NULL },
	{ 0 },
};

static const struct api_field patch_fields[] = {
	{ "display_name", API_T_STRING, false, true, NULL },
	{ "status", API_T_STRING, false, false, "active | suspended" },
	{ 0 },
};

const struct api_route api_inboxes_routes[] = {
	{ "POST", "/v1/inboxes/", API_AUTH_USER, NULL, inboxes_create, create_fields,
	  201, "Create an inbox on a verified domain" },
	{ "GET", "/v1/inboxes/", API_AUTH_USER, NULL, inboxes_list, NULL, 200,
	  "List the tenant's inboxes (?status=)" },
	{ "GET", "/v1/inboxes/{inbox_id}/", API_AUTH_USER, NULL, inboxes_get, NULL,
	  200, "Retrieve an inbox" },
	{ "PATCH", "/v1/inboxes/{inbox_id}/", API_AUTH_USER, NULL, inboxes_patch,
	  patch_fields, 200, "Rename, suspend or reactivate an inbox" },
	{ "DELETE", "/v1/inboxes/{inbox_id}/", API_AUTH_USER, NULL, inboxes_delete,
	  NULL, 200, "Initiate inbox closure (status closing)" },
	{ 0 },
};
