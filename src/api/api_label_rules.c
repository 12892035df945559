/*
 * api_label_rules.c - auto-label rules: the label an arriving message is
 * given (guide 04). The rule language lives in rules/auto_label.c; the
 * receive path runs the rules (inbound_labels.c).
 *
 * Rules of an inbox form one ordered list; "position" is a rule's rank
 * (0 runs first). Create and PATCH may give a position (the rule is
 * moved there, the others shift), and POST .../reorder/ sets the whole
 * order at once. An agent token may only make rules for labels whose
 * scope lets it apply them: a rule must not do what its author cannot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/auto_label.h"
#include "gent/ids.h"
#include "gent/store_label_rules.h"
#include "gent/store_labels.h"
#include "gent/timefmt.h"

#define RULES_PER_INBOX_MAX 200
#define RULE_NAME_MAX 100

static json_t *
rule_json(const struct label_rule_row *r)
{
	json_t *conds = json_loads(r->conditions ? r->conditions : "[]", 0, NULL);

	return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:I, s:b, s:o, s:o}",
	    "id", r->id, "inbox_id", r->inbox_id, "label_id", r->label_id,
	    "name", r->name ? json_string(r->name) : json_null(), "match", r->match,
	    "conditions", conds ? conds : json_array(),
	    "position", (json_int_t)r->position, "enabled", r->enabled,
	    "created_at", api_time(r->created_at), "updated_at", api_time(r->updated_at));
}

/* The label must be in the rule's inbox and appliable by the caller. */
static int
check_label(struct api_ctx *ctx, struct store_db *db, const struct label_rule_row *r)
{
	struct label_row l;
	int rc = store_labels_get(db, r->label_id, &l);

	if (rc == STORE_OK && strcmp(l.inbox_id, r->inbox_id) != 0)
		rc = STORE_ERR_NOT_FOUND;
	if (rc == STORE_ERR_NOT_FOUND)
		api_error_field(ctx, "label_id", "no label '%s' in this inbox", r->label_id);
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	else if (ctx->who.kind == API_TOKEN && strcmp(l.label_scope, "read_only") == 0) {
		api_error(ctx, 403, "label_scope", "label '%s' is read_only: agents may "
		    "not make rules that apply it", l.name);
		rc = STORE_ERR_FORBIDDEN;
	}
	label_row_free(&l);
	return rc == STORE_OK ? 0 : -1;
}

/* Body members onto r (create: all, PATCH: those given); -1 answered. */
static int
take_fields(struct api_ctx *ctx, struct label_rule_row *r)
{
	json_t *conds = json_object_get(ctx->body, "conditions");
	const char *match = api_body_str(ctx, "match"), *err;
	char buf[256];

	if (api_body_str(ctx, "label_id"))
		snprintf(r->label_id, sizeof(r->label_id), "%s", api_body_str(ctx, "label_id"));
	if (match && strcmp(match, "all") != 0 && strcmp(match, "any") != 0) {
		api_error_field(ctx, "match", "'match' must be all or any");
		return -1;
	}
	if (match)
		snprintf(r->match, sizeof(r->match), "%s", match);
	if (conds && auto_label_conditions_check(conds, buf, sizeof(buf), &err) != 0) {
		api_error_field(ctx, "conditions", "%s", err);
		return -1;
	}
	if (conds) {
		free(r->conditions);
		r->conditions = json_dumps(conds, JSON_COMPACT);
	}
	if (api_body_has(ctx, "name")) {
		const char *name = api_body_str(ctx, "name");
		if (name && (str_chars(name) == 0 || str_chars(name) > RULE_NAME_MAX)) {
			api_error_field(ctx, "name", "'name' must be 1 to %d characters",
			    RULE_NAME_MAX);
			return -1;
		}
		free(r->name);
		r->name = xstrdup(name);
	}
	if (api_body_has(ctx, "enabled"))
		r->enabled = json_is_true(json_object_get(ctx->body, "enabled"));
	return 0;
}

/* ?position= of the body: -1 when absent; -2 after answering 400. */
static int64_t
body_position(struct api_ctx *ctx)
{
	json_t *v = json_object_get(ctx->body, "position");

	if (!v)
		return -1;
	if (json_integer_value(v) < 0 || json_integer_value(v) > RULES_PER_INBOX_MAX) {
		api_error_field(ctx, "position", "'position' must be 0 to %d",
		    RULES_PER_INBOX_MAX);
		return -2;
	}
	return json_integer_value(v);
}

static void
answer_write(struct api_ctx *ctx, int rc, int status, const struct label_rule_row *r)
{
	if (rc == STORE_OK)
		api_reply(ctx, status, status == 204 ? NULL : rule_json(r));
	else if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "rule or its label not found");
	else
		api_error_internal(ctx);
}

static void
rules_create(struct api_ctx *ctx)
{
	struct label_rule_row r = { .enabled = true }, *rows = NULL;
	char *inbox_id = api_inbox_id(ctx), *id = NULL;
	struct store_db *db;
	int n = 0;

	if (!inbox_id || !(db = api_tenant_db(ctx)))
		goto out;
	id = ids_new("alr");
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.inbox_id, sizeof(r.inbox_id), "%s", inbox_id);
	snprintf(r.match, sizeof(r.match), "all");
	r.created_at = r.updated_at = time_now_ms();
	if (take_fields(ctx, &r) != 0 || (r.position = body_position(ctx)) == -2 ||
	    check_label(ctx, db, &r) != 0)
		goto out;
	store_label_rules_list(db, inbox_id, &rows, &n);
	if (n >= RULES_PER_INBOX_MAX) {
		api_error(ctx, 409, "limit_reached", "an inbox has at most %d "
		    "auto-label rules", RULES_PER_INBOX_MAX);
		goto out;
	}
	struct store_audit a = api_audit(ctx, "auto_label_rule.created",
	    "auto_label_rule", id);
	answer_write(ctx, store_label_rules_create(db, &r, &a), 201, &r);
out:
	label_rule_rows_free(rows, n);
	label_rule_row_free(&r);
	free(id);
	free(inbox_id);
}

static void
rules_list(struct api_ctx *ctx)
{
	char *inbox_id = api_inbox_id(ctx);
	struct label_rule_row *rows = NULL;
	struct store_db *db;
	int n = 0;

	if (inbox_id && (db = api_tenant_db(ctx))) {
		if (store_label_rules_list(db, inbox_id, &rows, &n) != STORE_OK) {
			api_error_internal(ctx);
		} else {
			json_t *items = json_array();
			for (int i = 0; i < n; i++)
				json_array_append_new(items, rule_json(&rows[i]));
			api_reply(ctx, 200, json_pack("{s:o, s:n}", "data", items,
			    "next_cursor"));
		}
	}
	label_rule_rows_free(rows, n);
	free(inbox_id);
}

/* The rule of the path, visible to the caller; 404 answered. */
static int
load_rule(struct api_ctx *ctx, struct store_db **db_r, struct label_rule_row *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if (!(*db_r = api_tenant_db(ctx)))
		return -1;
	rc = store_label_rules_get(*db_r, api_param(ctx, "rule_id"), r);
	if (rc == STORE_OK && !api_inbox_visible(ctx, r->inbox_id)) {
		label_rule_row_free(r);
		rc = STORE_ERR_NOT_FOUND;
	}
	if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "auto-label rule not found");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	return rc == STORE_OK ? 0 : -1;
}

static void
rules_get(struct api_ctx *ctx)
{
	struct label_rule_row r;
	struct store_db *db;

	if (load_rule(ctx, &db, &r) == 0)
		api_reply(ctx, 200, rule_json(&r));
	label_rule_row_free(&r);
}

/* PATCH, and the enable/disable shortcuts (enabled >= 0 forces it). */
static void
rules_change(struct api_ctx *ctx, int enabled, const char *action)
{
	struct label_rule_row r;
	struct store_db *db;
	int64_t move_to = -1;

	if (load_rule(ctx, &db, &r) != 0)
		return;
	if (enabled >= 0)
		r.enabled = enabled;
	else if (take_fields(ctx, &r) != 0 || (move_to = body_position(ctx)) == -2 ||
	    (api_body_str(ctx, "label_id") && check_label(ctx, db, &r) != 0))
		goto out;
	r.updated_at = time_now_ms();
	struct store_audit a = api_audit(ctx, action, "auto_label_rule", r.id);
	answer_write(ctx, store_label_rules_update(db, &r, move_to, &a), 200, &r);
	/* The stored rank after the move is what a GET would show. */
out:
	label_rule_row_free(&r);
}

static void
rules_patch(struct api_ctx *ctx)
{
	rules_change(ctx, -1, "auto_label_rule.updated");
}

static void
rules_enable(struct api_ctx *ctx)
{
	rules_change(ctx, 1, "auto_label_rule.enabled");
}

static void
rules_disable(struct api_ctx *ctx)
{
	rules_change(ctx, 0, "auto_label_rule.disabled");
}

static void
rules_delete(struct api_ctx *ctx)
{
	struct label_rule_row r;
	struct store_db *db;

	if (load_rule(ctx, &db, &r) != 0)
		return;
	struct store_audit a = api_audit(ctx, "auto_label_rule.deleted",
	    "auto_label_rule", r.id);
	answer_write(ctx, store_label_rules_delete(db, r.id, &a), 204, &r);
	label_rule_row_free(&r);
}

static void
rules_reorder(struct api_ctx *ctx)
{
	json_t *ids = json_object_get(ctx->body, "rule_ids");
	size_t n = json_array_size(ids);
	const char **list = xcalloc(n ? n : 1, sizeof(char *));
	char *inbox_id = api_inbox_id(ctx);
	struct store_db *db;
	int rc;

	if (!inbox_id || !(db = api_tenant_db(ctx)))
		goto out;
	for (size_t i = 0; i < n; i++)
		list[i] = json_string_value(json_array_get(ids, i));
	struct store_audit a = api_audit(ctx, "auto_label_rule.reordered", "inbox",
	    inbox_id);
	rc = store_label_rules_reorder(db, inbox_id, list, n, &a);
	if (rc == STORE_ERR_INVALID)
		api_error_field(ctx, "rule_ids", "'rule_ids' must list every auto-label "
		    "rule of the inbox exactly once");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	else
		rules_list(ctx);
out:
	free(list);
	free(inbox_id);
}

static void
rules_reference(struct api_ctx *ctx)
{
	api_reply(ctx, 200, json_pack("{s:s, s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}, "
	    "s:[s,s], s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}], s:s, s:i}",
	    "version", "2026-06-06", "resource", "auto_label_rules", "payload",
	    "create_rule", "method", "POST", "path", "/v1/auto-label-rules/",
	    "reorder", "method", "POST", "path", "/v1/auto-label-rules/reorder/",
	    "match", "all", "any", "condition_types",
	    "type", "sender_domain", "value", "example.com, or *.example.com for subdomains",
	    "type", "subject_pattern", "value", "case-insensitive glob over the whole "
	    "subject: * any run, ? one character",
	    "type", "recipient", "value", "user@domain or @domain; envelope recipient, To or Cc",
	    "order", "ascending position; the first enabled rule that matches applies "
	    "its label, before any agent can read the message",
	    "max_conditions", AUTO_LABEL_CONDITIONS_MAX));
}

static const struct api_field create_fields[] = {
	{ "inbox_id", API_T_STRING, false, false, "required with a session" },
	{ "label_id", API_T_STRING, true, false, NULL },
	{ "name", API_T_STRING, false, true, NULL },
	{ "match", API_T_STRING, false, false, "all (default) | any" },
	{ "conditions", API_T_ARRAY, true, false, "[{type, value}]" },
	{ "enabled", API_T_BOOLEAN, false, false, "default true" },
	{ "position", API_T_INTEGER, false, false, "rank; default last" },
	{ 0 },
};

static const struct api_field patch_fields[] = {
	{ "label_id", API_T_STRING, false, false, NULL },
	{ "name", API_T_STRING, false, true, NULL },
	{ "match", API_T_STRING, false, false, NULL },
	{ "conditions", API_T_ARRAY, false, false, NULL },
	{ "enabled", API_T_BOOLEAN, false, false, NULL },
	{ "position", API_T_INTEGER, false, false, "move to this rank" },
	{ 0 },
};

static const struct api_field reorder_fields[] = {
	{ "inbox_id", API_T_STRING, false, false, "required with a session" },
	{ "rule_ids", API_T_STRING_ARRAY, true, false, "every rule id, in the new order" },
	{ 0 },
};

const struct api_route api_label_rules_routes[] = {
	{ "GET", "/v1/auto-label-rules/reference/", API_AUTH_NONE, NULL,
	  rules_reference, NULL, 200, "Auto-label rule builder contract" },
	{ "POST", "/v1/auto-label-rules/reorder/", API_AUTH_SCOPE, "labels:write",
	  rules_reorder, reorder_fields, 200, "Set the order of an inbox's rules" },
	{ "GET", "/v1/auto-label-rules/", API_AUTH_SCOPE, "labels:read", rules_list,
	  NULL, 200, "List auto-label rules in evaluation order" },
	{ "POST", "/v1/auto-label-rules/", API_AUTH_SCOPE, "labels:write",
	  rules_create, create_fields, 201, "Create an auto-label rule" },
	{ "GET", "/v1/auto-label-rules/{rule_id}/", API_AUTH_SCOPE, "labels:read",
	  rules_get, NULL, 200, "Get an auto-label rule" },
	{ "PATCH", "/v1/auto-label-rules/{rule_id}/", API_AUTH_SCOPE, "labels:write",
	  rules_patch, patch_fields, 200, "Update, enable/disable or move a rule" },
	{ "POST", "/v1/auto-label-rules/{rule_id}/enable/", API_AUTH_SCOPE,
	  "labels:write", rules_enable, NULL, 200, "Enable a rule" },
	{ "POST", "/v1/auto-label-rules/{rule_id}/disable/", API_AUTH_SCOPE,
	  "labels:write", rules_disable, NULL, 200, "Disable a rule" },
	{ "DELETE", "/v1/auto-label-rules/{rule_id}/", API_AUTH_SCOPE, "labels:write",
	  rules_delete, NULL, 204, "Delete an auto-label rule" },
	{ 0 },
};
