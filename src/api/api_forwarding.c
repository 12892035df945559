/*
 * api_forwarding.c - forwarding configuration (a default address) and
 * conditional forwarding rules. Stored and validated here; the inbound
 * SMTP path applies them (copies queued for the outbound relay).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/addr.h"
#include "gent/api.h"
#include "gent/ids.h"
#include "gent/store_inbox_settings.h"
#include "gent/store_tokens.h"
#include "gent/store_outbound.h"
#include "gent/timefmt.h"
#include "gent/unsubscribe.h"

#define CONDITION_VALUE_MAX 320
#define RULES_PER_INBOX_MAX 200

static const char *const condition_types[] = { "all", "sender", "domain",
    "subject_keyword", NULL };

static bool
condition_type_ok(const char *t)
{
	for (const char *const *p = condition_types; t && *p; p++)
		if (strcmp(t, *p) == 0)
			return true;
	return false;
}

static json_t *
settings_of(struct store_db *db, const char *inbox_id)
{
	char *text = NULL;
	json_t *s;

	store_inbox_settings_get(db, inbox_id, &text);
	s = json_loads(text ? text : "{}", 0, NULL);
	free(text);
	return json_is_object(s) ? s : (json_decref(s), json_object());
}

static json_t *
forwarding_public(const char *inbox_id, json_t *settings)
{
	json_t *f = json_object_get(settings, "forwarding");
	json_t *addr = json_object_get(f, "default_address");

	return json_pack("{s:s, s:O, s:b}", "inbox_id", inbox_id,
	    "default_address", addr ? addr : json_null(),
	    "enabled", f ? json_is_true(json_object_get(f, "enabled")) : 1);
}

/* A destination must be an address and not the inbox itself (a loop). */
static int
check_destination(struct api_ctx *ctx, const char *field, const char *dest,
    const char *inbox_id)
{
	struct inbox_row r;
	bool self = false;

	if (!dest || !addr_is_valid(dest)) {
		api_error_field(ctx, field, "'%s' must be an email address", field);
		return -1;
	}
	if (store_inboxes_get(store_control(ctx->app->store), ctx->who.tenant_id,
	    inbox_id, &r) == STORE_OK) {
		self = strcasecmp(r.address, dest) == 0;
		inbox_row_free(&r);
	}
	if (self) {
		api_error_field(ctx, field, "'%s' cannot be the inbox itself", field);
		return -1;
	}
	return 0;
}

static void
forwarding_get(struct api_ctx *ctx)
{
	char *inbox_id = api_inbox_id(ctx);
	struct store_db *db;

	if (inbox_id && (db = api_tenant_db(ctx))) {
		json_t *s = settings_of(db, inbox_id);
		api_reply(ctx, 200, forwarding_public(inbox_id, s));
		json_decref(s);
	}
	free(inbox_id);
}

static int
set_forwarding(struct json_t *settings, void *arg)
{
	json_object_set(settings, "forwarding", arg);
	return STORE_OK;
}

/* Replace the forwarding block in one transaction and answer. */
static void
save_forwarding(struct api_ctx *ctx, struct store_db *db, const char *inbox_id,
    json_t *block, const char *action, int status)
{
	struct store_audit a = api_audit(ctx, action, "inbox", inbox_id);
	char *text = NULL;

	if (store_inbox_settings_update(db, inbox_id, set_forwarding, block, &a,
	    &text) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		json_t *s = json_loads(text, 0, NULL);
		api_reply(ctx, status, status == 204 ? NULL : forwarding_public(inbox_id, s));
		json_decref(s);
	}
	free(text);
}

static void
forwarding_put(struct api_ctx *ctx)
{
	const char *addr = api_body_str(ctx, "default_address");
	char *inbox_id = api_inbox_id(ctx);
	struct store_db *db;
	json_t *f;

	if (!inbox_id)
		return;
	if (addr && check_destination(ctx, "default_address", addr, inbox_id) != 0)
		goto out;
	if (!(db = api_tenant_db(ctx)))
		goto out;
	f = json_pack("{s:o, s:b}", "default_address", addr ? json_string(addr) :
	    json_null(), "enabled", api_body_has(ctx, "enabled") ?
	    json_is_true(json_object_get(ctx->body, "enabled")) : 1);
	save_forwarding(ctx, db, inbox_id, f, "forwarding.updated", 200);
	json_decref(f);
out:
	free(inbox_id);
}

static void
forwarding_delete(struct api_ctx *ctx)
{
	char *inbox_id = api_inbox_id(ctx);
	struct store_db *db;

	if (inbox_id && (db = api_tenant_db(ctx))) {
		json_t *f = json_pack("{s:n, s:b}", "default_address", "enabled", 0);
		save_forwarding(ctx, db, inbox_id, f, "forwarding.disabled", 204);
		json_decref(f);
	}
	free(inbox_id);
}

static json_t *
rule_json(const struct forwarding_rule_row *r)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:b, s:o, s:o}",
	    "id", r->id, "inbox_id", r->inbox_id, "destination", r->destination,
	    "condition_type", r->condition_type,
	    "condition_value", r->condition_value ? json_string(r->condition_value) : json_null(),
	    "priority", (json_int_t)r->priority, "enabled", r->enabled,
	    "created_at", api_time(r->created_at), "updated_at", api_time(r->updated_at));
}

/* Check type/value/destination/priority of a (merged) rule; -1 answered. */
static int
check_rule(struct api_ctx *ctx, struct forwarding_rule_row *r)
{
	if (!condition_type_ok(r->condition_type)) {
		api_error_field(ctx, "condition_type", "'condition_type' must be one "
		    "of all, sender, domain, subject_keyword");
		return -1;
	}
	if (strcmp(r->condition_type, "all") == 0) {
		xfree(&r->condition_value);	/* ignored for "all", as the spec says */
	} else if (!r->condition_value || !*r->condition_value ||
	    str_chars(r->condition_value) > CONDITION_VALUE_MAX) {
		api_error_field(ctx, "condition_value", "'condition_value' is required "
		    "(1-%d characters) for %s", CONDITION_VALUE_MAX, r->condition_type);
		return -1;
	}
	if (r->priority < 0 || r->priority > 1000000) {
		api_error_field(ctx, "priority", "'priority' must be 0 to 1000000");
		return -1;
	}
	return check_destination(ctx, "destination", r->destination, r->inbox_id);
}

static void
rules_create(struct api_ctx *ctx)
{
	struct forwarding_rule_row r = { 0 }, *rows;
	char *inbox_id = api_inbox_id(ctx), *id;
	struct store_db *db;
	int n;

	if (!inbox_id || !(db = api_tenant_db(ctx))) {
		free(inbox_id);
		return;
	}
	id = ids_new("fwr");
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.inbox_id, sizeof(r.inbox_id), "%s", inbox_id);
	snprintf(r.condition_type, sizeof(r.condition_type), "%s",
	    api_body_str(ctx, "condition_type"));
	r.destination = xstrdup(api_body_str(ctx, "destination"));
	r.condition_value = xstrdup(api_body_str(ctx, "condition_value"));
	r.priority = api_body_has(ctx, "priority") ?
	    (int64_t)json_number_value(json_object_get(ctx->body, "priority")) : 100;
	r.enabled = true;
	r.created_at = r.updated_at = time_now_ms();
	store_forwarding_rules_list(db, inbox_id, &rows, &n);
	forwarding_rule_rows_free(rows, n);
	if (n >= RULES_PER_INBOX_MAX) {
		api_error(ctx, 409, "limit_reached", "an inbox has at most %d "
		    "forwarding rules", RULES_PER_INBOX_MAX);
	} else if (check_rule(ctx, &r) == 0) {
		struct store_audit a = api_audit(ctx, "forwarding.rule_created",
		    "forwarding_rule", id);
		if (store_forwarding_rules_create(db, &r, &a) != STORE_OK)
			api_error_internal(ctx);
		else
			api_reply(ctx, 201, rule_json(&r));
	}
	forwarding_rule_row_free(&r);
	free(id);
	free(inbox_id);
}

static void
rules_list(struct api_ctx *ctx)
{
	struct forwarding_rule_row *rows;
	char *inbox_id = api_inbox_id(ctx);
	struct store_db *db;
	int n;

	if (inbox_id && (db = api_tenant_db(ctx))) {
		if (store_forwarding_rules_list(db, inbox_id, &rows, &n) != STORE_OK) {
			api_error_internal(ctx);
		} else {
			json_t *items = json_array();
			for (int i = 0; i < n; i++)
				json_array_append_new(items, rule_json(&rows[i]));
			api_reply(ctx, 200, json_pack("{s:o, s:n}", "data", items,
			    "next_cursor"));
		}
		forwarding_rule_rows_free(rows, n);
	}
	free(inbox_id);
}

/* The rule named by the path; agent tokens only see their inbox's rules. */
static int
load_rule(struct api_ctx *ctx, struct store_db **db_r,
    struct forwarding_rule_row *r)
{
	int rc;

	if (!(*db_r = api_tenant_db(ctx)))
		return -1;
	rc = store_forwarding_rules_get(*db_r, api_param(ctx, "rule_id"), r);
	if (rc == STORE_OK && !api_inbox_visible(ctx, r->inbox_id)) {
		forwarding_rule_row_free(r);
		rc = STORE_ERR_NOT_FOUND;
	}
	if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "forwarding rule not found");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	return rc == STORE_OK ? 0 : -1;
}

static void
replace_str(char **field, json_t *v)
{
	if (!v)
		return;
	free(*field);
	*field = json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static void
rules_patch(struct api_ctx *ctx)
{
	struct forwarding_rule_row r;
	struct store_db *db;
	json_t *b = ctx->body, *v;

	if (load_rule(ctx, &db, &r) != 0)
		return;
	replace_str(&r.destination, json_object_get(b, "destination"));
	replace_str(&r.condition_value, json_object_get(b, "condition_value"));
	if ((v = json_object_get(b, "condition_type")))
		snprintf(r.condition_type, sizeof(r.condition_type), "%s", json_string_value(v));
	if ((v = json_object_get(b, "priority")))
		r.priority = (int64_t)json_number_value(v);
	if ((v = json_object_get(b, "enabled")))
		r.enabled = json_is_true(v);
	r.updated_at = time_now_ms();
	if (check_rule(ctx, &r) == 0) {
		struct store_audit a = api_audit(ctx, "forwarding.rule_updated",
		    "forwarding_rule", r.id);
		if (store_forwarding_rules_update(db, &r, &a) != STORE_OK)
			api_error_internal(ctx);
		else
			api_reply(ctx, 200, rule_json(&r));
	}
	forwarding_rule_row_free(&r);
}

static void
rules_delete(struct api_ctx *ctx)
{
	struct forwarding_rule_row r;
	struct store_db *db;

	if (load_rule(ctx, &db, &r) != 0)
		return;
	struct store_audit a = api_audit(ctx, "forwarding.rule_deleted",
	    "forwarding_rule", r.id);
	if (store_forwarding_rules_delete(db, r.id, &a) != STORE_OK)
		api_error_internal(ctx);
	else
		api_reply(ctx, 204, NULL);
	forwarding_rule_row_free(&r);
}

/* The target of a valid token; answers 404 for a bad or forged one. */
static int
unsubscribe_target(struct api_ctx *ctx, struct unsubscribe_target *t,
    struct store_db **db_r)
{
	char *err = NULL;

	if (unsubscribe_verify(ctx->app->unsubscribe_key, api_param(ctx, "token"), t) != 0) {
		api_error(ctx, 404, "not_found", "unknown or invalid unsubscribe link");
		return -1;
	}
	if (store_tenant(ctx->app->store, t->tenant_id, db_r, &err) != 0) {
		free(err);
		unsubscribe_target_free(t);
		api_error(ctx, 404, "not_found", "unknown or invalid unsubscribe link");
		return -1;
	}
	return 0;
}

/* GET shows what the link does; only POST (RFC 8058 one-click) acts. */
static void
unsubscribe_show(struct api_ctx *ctx)
{
	struct unsubscribe_target t;
	struct store_db *db;

	if (unsubscribe_target(ctx, &t, &db) != 0)
		return;
	api_reply(ctx, 200, json_pack("{s:s, s:s, s:b, s:s}", "destination",
	    t.destination, "rule_id", t.rule_id, "unsubscribed",
	    store_outbound_suppressed(db, t.rule_id, t.destination),
	    "how", "POST to this URL to stop these forwards"));
	unsubscribe_target_free(&t);
}

static void
unsubscribe_post(struct api_ctx *ctx)
{
	struct unsubscribe_target t;
	struct store_db *db;

	if (unsubscribe_target(ctx, &t, &db) != 0)
		return;
	struct store_audit a = api_audit(ctx, "forwarding.unsubscribed",
	    "forwarding_rule", t.rule_id);
	a.tenant_id = t.tenant_id;
	if (store_outbound_suppress(db, t.inbox_id, t.rule_id, t.destination, &a) != STORE_OK)
		api_error_internal(ctx);
	else
		api_reply(ctx, 200, json_pack("{s:s, s:s, s:b}", "destination",
		    t.destination, "rule_id", t.rule_id, "unsubscribed", 1));
	unsubscribe_target_free(&t);
}

static void
forwarding_reference(struct api_ctx *ctx)
{
	api_reply(ctx, 200, json_pack("{s:s, s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}, "
	    "s:[s,s,s,s], s:s, s:s}",
	    "version", "2026-06-06", "resource", "forwarding",
	    "payload", "configure", "method", "PUT", "path", "/v1/forwarding/",
	    "create_rule", "method", "POST", "path", "/v1/forwarding/rules/",
	    "condition_types", "all", "sender", "domain", "subject_keyword",
	    "order", "rules run by ascending priority; every matching rule forwards",
	    "semantics", "forwarding is a copy; the original stays in the inbox"));
}

static void
forwarding_condition_types(struct api_ctx *ctx)
{
	api_reply(ctx, 200, json_pack("{s:[{s:s, s:s, s:b}, {s:s, s:s, s:b}, "
	    "{s:s, s:s, s:b}, {s:s, s:s, s:b}]}", "data",
	    "condition_type", "all", "description", "every incoming message", "needs_value", 0,
	    "condition_type", "sender", "description", "sender address equals the value", "needs_value", 1,
	    "condition_type", "domain", "description", "sender domain equals the value", "needs_value", 1,
	    "condition_type", "subject_keyword", "description", "subject contains the value", "needs_value", 1));
}

static const struct api_field put_fields[] = {
	{ "inbox_id", API_T_STRING, false, false, NULL },
	{ "default_address", API_T_STRING, false, true, "forward all incoming here" },
	{ "enabled", API_T_BOOLEAN, false, false, "default true" },
	{ 0 },
};

static const struct api_field inbox_only_fields[] = {
	{ "inbox_id", API_T_STRING, false, false, NULL },
	{ 0 },
};

static const struct api_field rule_create_fields[] = {
	{ "inbox_id", API_T_STRING, false, false, "required with a session" },
	{ "destination", API_T_STRING, true, false, NULL },
	{ "condition_type", API_T_STRING, true, false, "all | sender | domain | subject_keyword" },
	{ "condition_value", API_T_STRING, false, true, "required unless all" },
	{ "priority", API_T_INTEGER, false, false, "lower = higher priority" },
	{ 0 },
};

static const struct api_field rule_patch_fields[] = {
	{ "destination", API_T_STRING, false, false, NULL },
	{ "condition_type", API_T_STRING, false, false, NULL },
	{ "condition_value", API_T_STRING, false, true, NULL },
	{ "priority", API_T_INTEGER, false, false, NULL },
	{ "enabled", API_T_BOOLEAN, false, false, NULL },
	{ 0 },
};

const struct api_route api_forwarding_routes[] = {
	{ "GET", "/v1/forwarding/reference/", API_AUTH_SCOPE, "workflows:read",
	  forwarding_reference, NULL, 200, "List forwarding builder contract" },
	{ "GET", "/v1/forwarding/condition-types/", API_AUTH_SCOPE, "workflows:read",
	  forwarding_condition_types, NULL, 200, "List forwarding rule conditions" },
	{ "PUT", "/v1/forwarding/", API_AUTH_SCOPE, "workflows:write",
	  forwarding_put, put_fields, 200, "Configure forwarding" },
	{ "GET", "/v1/forwarding/", API_AUTH_SCOPE, "workflows:read",
	  forwarding_get, NULL, 200, "Get forwarding config" },
	{ "DELETE", "/v1/forwarding/", API_AUTH_SCOPE, "workflows:write",
	  forwarding_delete, inbox_only_fields, 204, "Disable forwarding" },
	{ "POST", "/v1/forwarding/rules/", API_AUTH_SCOPE, "workflows:write",
	  rules_create, rule_create_fields, 201, "Create a forwarding rule" },
	{ "GET", "/v1/forwarding/rules/", API_AUTH_SCOPE, "workflows:read",
	  rules_list, NULL, 200, "List forwarding rules" },
	{ "PATCH", "/v1/forwarding/rules/{rule_id}/", API_AUTH_SCOPE,
	  "workflows:write", rules_patch, rule_patch_fields, 200, "Update a rule" },
	{ "DELETE", "/v1/forwarding/rules/{rule_id}/", API_AUTH_SCOPE,
	  "workflows:write", rules_delete, NULL, 204, "Delete a rule" },
	{ "GET", "/v1/forwarding/unsubscribe/{token}/", API_AUTH_NONE, NULL,
	  unsubscribe_show, NULL, 200, "What an unsubscribe link does" },
	{ "POST", "/v1/forwarding/unsubscribe/{token}/", API_AUTH_NONE, NULL,
	  unsubscribe_post, api_body_ignored, 200,
	  "One-click unsubscribe (RFC 8058) from a forwarding rule" },
	{ 0 },
};
