/*
 * api_labels.c - labels of an inbox and their policies (spec 05, Labels).
 *
 * Token calls need labels:read or labels:write (the route scope); then
 * the label's own scope gates agent tokens: read_only blocks apply and
 * remove, read_apply allows apply only, read_write both. Sessions of the
 * tenant's users are not limited by label scope: label scopes exist to
 * keep human decisions out of an agent's reach.
 *
 * Policies: {block_reply: bool, forward_to: address | null,
 * retention: "30d" | "90d" | "6m" | "1y" | "indefinite" | null,
 * notify: bool}. Applying a forward_to label queues the copy in the
 * same transaction; notify marks the label.applied event, which the
 * inbox webhook then receives whatever event types it lists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/addr.h"
#include "gent/api.h"
#include "gent/ids.h"
#include "gent/inbound.h"
#include "gent/mime.h"
#include "gent/retention.h"
#include "gent/store_labels.h"
#include "gent/store_messages.h"
#include "gent/store_tokens.h"
#include "gent/timefmt.h"
#include "api_int.h"

#define LABEL_NAME_MAX 100
#define LABELS_PER_INBOX_MAX 500

static const char *const label_scopes[] = { "read_only", "read_apply",
    "read_write", NULL };

static bool
one_of(const char *v, const char *const *set)
{
	for (const char *const *p = set; v && *p; p++)
		if (strcmp(v, *p) == 0)
			return true;
	return false;
}

static json_t *
label_json(const struct label_row *r)
{
	json_t *pol = json_loads(r->policies ? r->policies : "{}", 0, NULL);

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}",
	    "id", r->id, "inbox_id", r->inbox_id, "name", r->name,
	    "label_scope", r->label_scope, "label_type", r->label_type,
	    "color", r->color ? json_string(r->color) : json_null(),
	    "policies", pol ? pol : json_object(),
	    "created_at", api_time(r->created_at), "updated_at", api_time(r->updated_at));
}

static bool
name_ok(const char *n)
{
	size_t chars = str_chars(n);

	if (chars == 0 || chars > LABEL_NAME_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)n; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return n[0] != ' ' && n[strlen(n) - 1] != ' ';
}

/* "#rgb" or "#rrggbb". */
static bool
color_ok(const char *c)
{
	size_t n = strlen(c);

	if ((n != 4 && n != 7) || c[0] != '#')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", c[i]))
			return false;
	return true;
}

/* A forward_to destination: an address, and not the inbox itself. */
static bool
destination_ok(struct api_ctx *ctx, const char *inbox_id, const char *dest)
{
	struct inbox_row r;
	bool self = false;

	if (!addr_is_valid(dest))
		return false;
	if (store_inboxes_get(store_control(ctx->app->store), ctx->who.tenant_id,
	    inbox_id, &r) == STORE_OK) {
		self = strcasecmp(r.address, dest) == 0;
		inbox_row_free(&r);
	}
	return !self;
}

/*
 * Merge the body's "policies" into base (a label's current policies) and
 * check it. Returns the JSON text, or NULL after answering 400.
 */
static char *
policies_merge(struct api_ctx *ctx, const char *inbox_id, const char *base)
{
	json_t *in = json_object_get(ctx->body, "policies"), *out, *v;
	const char *key;
	char *text;

	out = json_loads(base ? base : "{}", 0, NULL);
	if (!json_is_object(out))
		out = (json_decref(out), json_object());
	json_object_foreach(in, key, v) {
		bool ok;
		if (strcmp(key, "block_reply") == 0 || strcmp(key, "notify") == 0)
			ok = json_is_boolean(v);
		else if (strcmp(key, "forward_to") == 0)
			ok = json_is_null(v) || (json_is_string(v) &&
			    destination_ok(ctx, inbox_id, json_string_value(v)));
		else if (strcmp(key, "retention") == 0)
			ok = json_is_null(v) || retention_period_ms(json_string_value(v)) >= 0;
		else {
			api_error_field(ctx, "policies", "unknown policy '%s' (block_reply, "
			    "forward_to, retention, notify)", key);
			json_decref(out);
			return NULL;
		}
		if (!ok) {
			api_error_field(ctx, "policies", "policies.%s must be %s", key,
			    strcmp(key, "forward_to") == 0 ? "an email address other than "
			    "the inbox, or null" : strcmp(key, "retention") == 0 ?
			    "30d, 90d, 6m, 1y, indefinite or null" : "a boolean");
			json_decref(out);
			return NULL;
		}
		json_object_set(out, key, v);
	}
	text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(out);
	return text;
}

/* Name, scope and color of the body onto r; -1 after answering 400. */
static int
apply_fields(struct api_ctx *ctx, struct label_row *r)
{
	const char *name = api_body_str(ctx, "name");
	const char *scope = api_body_str(ctx, "label_scope");

	if (name) {
		if (!name_ok(name)) {
			api_error_field(ctx, "name", "'name' must be 1 to %d characters, "
			    "no control characters or outer spaces", LABEL_NAME_MAX);
			return -1;
		}
		free(r->name);
		r->name = xstrdup(name);
	}
	if (scope) {
		if (!one_of(scope, label_scopes)) {
			api_error_field(ctx, "label_scope", "'label_scope' must be one of "
			    "read_only, read_apply, read_write");
			return -1;
		}
		snprintf(r->label_scope, sizeof(r->label_scope), "%s", scope);
	}
	if (api_body_has(ctx, "color")) {
		const char *c = api_body_str(ctx, "color");
		if (c && !color_ok(c)) {
			api_error_field(ctx, "color", "'color' must be #rgb or #rrggbb");
			return -1;
		}
		free(r->color);
		r->color = xstrdup(c);
	}
	return 0;
}

static void
answer_write(struct api_ctx *ctx, int rc, int status, const struct label_row *r)
{
	if (rc == STORE_OK)
		api_reply(ctx, status, status == 204 ? NULL : label_json(r));
	else if (rc == STORE_ERR_CONFLICT)
		api_error(ctx, 409, "conflict", "this inbox already has a label named '%s'",
		    r->name);
	else if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "label not found");
	else
		api_error_internal(ctx);
}

static void
labels_create(struct api_ctx *ctx)
{
	struct label_row r = { 0 };
	struct store_db *db;
	char *inbox_id = NULL, *id = NULL;
	int n = 0;

	/* The one write whose inbox_id is not derived from the token (spec). */
	if (!api_body_str(ctx, "inbox_id")) {
		api_error_field(ctx, "inbox_id", "'inbox_id' is required");
		return;
	}
	if (!(inbox_id = api_inbox_id(ctx)) || !(db = api_tenant_db(ctx)))
		goto out;
	id = ids_new("lbl");
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.inbox_id, sizeof(r.inbox_id), "%s", inbox_id);
	snprintf(r.label_scope, sizeof(r.label_scope), "read_write");
	snprintf(r.label_type, sizeof(r.label_type), "message");
	r.created_at = r.updated_at = time_now_ms();
	if (apply_fields(ctx, &r) != 0 || !(r.policies = policies_merge(ctx, inbox_id,
	    "{\"block_reply\":false,\"forward_to\":null,\"notify\":false,"
	    "\"retention\":null}")))
		goto out;
	if (store_labels_count(db, inbox_id, &n) == STORE_OK && n >= LABELS_PER_INBOX_MAX) {
		api_error(ctx, 409, "limit_reached", "an inbox has at most %d labels",
		    LABELS_PER_INBOX_MAX);
		goto out;
	}
	struct store_audit a = api_audit(ctx, "label.created", "label", id);
	answer_write(ctx, store_labels_create(db, &r, &a), 201, &r);
out:
	label_row_free(&r);
	free(id);
	free(inbox_id);
}

static void
labels_list(struct api_ctx *ctx)
{
	char *inbox_id = api_inbox_id(ctx);
	struct label_row *rows = NULL;
	struct store_db *db;
	int n = 0;

	if (inbox_id && (db = api_tenant_db(ctx))) {
		if (store_labels_list(db, inbox_id, &rows, &n) != STORE_OK) {
			api_error_internal(ctx);
		} else {
			json_t *items = json_array();
			for (int i = 0; i < n; i++)
				json_array_append_new(items, label_json(&rows[i]));
			api_reply(ctx, 200, json_pack("{s:o, s:n}", "data", items,
			    "next_cursor"));
		}
	}
	label_rows_free(rows, n);
	free(inbox_id);
}

/* The label named by path param, visible to the caller; 404 answered. */
static int
load_label(struct api_ctx *ctx, const char *param, struct store_db **db_r,
    struct label_row *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if (!(*db_r = api_tenant_db(ctx)))
		return -1;
	rc = store_labels_get(*db_r, api_param(ctx, param), r);
	if (rc == STORE_OK && !api_inbox_visible(ctx, r->inbox_id)) {
		label_row_free(r);
		rc = STORE_ERR_NOT_FOUND;
	}
	if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "label not found");
	else if (rc != STORE_OK)
		api_error_internal(ctx);
	return rc == STORE_OK ? 0 : -1;
}

static void
labels_get(struct api_ctx *ctx)
{
	struct store_db *db;
	struct label_row r;

	if (load_label(ctx, "label_id", &db, &r) == 0)
		api_reply(ctx, 200, label_json(&r));
	label_row_free(&r);
}

/* What an agent token would do with a label, gated by the label's scope. */
enum label_act { LABEL_APPLY, LABEL_REMOVE, LABEL_CHANGE };

/*
 * Does the label's scope let this caller do act? read_only labels are
 * human decisions: an agent may not apply, remove or modify them;
 * read_apply ones it may only apply. Changing or deleting a label is
 * refused unless it is read_write, or an agent could widen the scope (or
 * delete the label) and then remove what it may not.
 */
static bool
scope_allows(struct api_ctx *ctx, const struct label_row *l, enum label_act act)
{
	static const char *const verb[] = { "apply", "remove", "change or delete" };

	if (ctx->who.kind != API_TOKEN || strcmp(l->label_scope, "read_write") == 0 ||
	    (act == LABEL_APPLY && strcmp(l->label_scope, "read_apply") == 0))
		return true;
	api_error(ctx, 403, "label_scope", "label '%s' is %s: agents may not %s it",
	    l->name, l->label_scope, verb[act]);
	return false;
}

/* Who applied or removed a label, as events name them. */
static char *
actor_ref(const struct api_ctx *ctx)
{
	return ctx->who.kind == API_TOKEN ? xasprintf("token:%s", ctx->who.token_id) :
	    xasprintf("user:%s", ctx->who.user_id);
}

static void
labels_patch(struct api_ctx *ctx)
{
	struct store_db *db;
	struct label_row r;
	char *pol;

	if (load_label(ctx, "label_id", &db, &r) != 0)
		return;
	if (scope_allows(ctx, &r, LABEL_CHANGE) && apply_fields(ctx, &r) == 0 && (pol = policies_merge(ctx, r.inbox_id,
	    r.policies))) {
		free(r.policies);
		r.policies = pol;
		r.updated_at = time_now_ms();
		struct store_audit a = api_audit(ctx, "label.updated", "label", r.id);
		answer_write(ctx, store_labels_update(db, &r, &a), 200, &r);
	}
	label_row_free(&r);
}

static void
labels_delete(struct api_ctx *ctx)
{
	struct store_db *db;
	struct label_row r;

	if (load_label(ctx, "label_id", &db, &r) != 0)
		return;
	if (scope_allows(ctx, &r, LABEL_CHANGE)) {
		char *by = actor_ref(ctx);
		struct store_audit a = api_audit(ctx, "label.deleted", "label", r.id);
		answer_write(ctx, store_labels_delete(db, r.id, by, &a), 204, &r);
		free(by);
	}
	label_row_free(&r);
}

/*
 * The copy a forward_to policy sends when the label is applied by hand
 * (at receive time the inbound path plans it). false: none to send.
 */
static bool
policy_forward(struct api_ctx *ctx, struct store_db *db, const struct label_row *l,
    const struct message_row *m, struct forward_copy *out)
{
	json_t *pol = json_loads(l->policies ? l->policies : "{}", 0, NULL);
	const char *dest = json_string_value(json_object_get(pol, "forward_to"));
	char *rule = xasprintf("label:%s", l->id);
	struct mime_summary sum;
	struct inbox_row inbox;
	bool made = false;

	if (dest && !store_outbound_suppressed(db, rule, dest) &&
	    store_inboxes_get(store_control(ctx->app->store), ctx->who.tenant_id,
	    m->inbox_id, &inbox) == STORE_OK) {
		struct forward_source src = { ctx->who.tenant_id, m->inbox_id,
		    inbox.address, m->id, &sum, m->mail_from, m->raw, m->raw_len };
		mime_summarize(m->raw, m->raw_len, &sum);
		inbound_forward_compose(ctx->app, &src, rule, dest, out);
		made = true;
		mime_summary_free(&sum);
		inbox_row_free(&inbox);
	}
	free(rule);
	json_decref(pol);
	return made;
}

static void
message_label_apply(struct api_ctx *ctx)
{
	struct forward_copy copy = { 0 };
	struct message_row m = { 0 };
	struct label_row l = { 0 };
	struct store_db *db;
	char *by = NULL;
	bool changed;
	int rc;

	if (!(db = api_tenant_db(ctx)) || api__message_load(ctx, db, true, &m) != 0)
		goto out;
	rc = store_labels_get(db, api_body_str(ctx, "label_id"), &l);
	if (rc == STORE_OK && strcmp(l.inbox_id, m.inbox_id) != 0)
		rc = STORE_ERR_NOT_FOUND;
	if (rc != STORE_OK) {
		if (rc == STORE_ERR_NOT_FOUND)
			api_error_field(ctx, "label_id", "no label '%s' in this message's inbox",
			    api_body_str(ctx, "label_id"));
		else
			api_error_internal(ctx);
		goto out;
	}
	if (!scope_allows(ctx, &l, LABEL_APPLY))
		goto out;
	by = actor_ref(ctx);
	bool fwd = policy_forward(ctx, db, &l, &m, &copy);
	struct label_apply a = { m.id, l.id, by, "api", NULL, fwd ? &copy.row : NULL };
	struct store_audit au = api_audit(ctx, "label.applied", "message", m.id);
	au.detail_json = NULL;
	rc = store_labels_apply(db, &a, &au, &changed);
	if (rc == STORE_OK)
		api_reply(ctx, 204, NULL);
	else if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "message or label not found");
	else
		api_error_internal(ctx);
out:
	forward_copy_free(&copy);
	free(by);
	label_row_free(&l);
	message_row_free(&m);
}

static void
message_label_remove(struct api_ctx *ctx)
{
	struct message_row m = { 0 };
	struct label_row l = { 0 };
	struct store_db *db;
	char *by = NULL;
	bool changed;
	int rc;

	if (!(db = api_tenant_db(ctx)) || api__message_load(ctx, db, false, &m) != 0)
		goto out;
	rc = store_labels_get(db, api_param(ctx, "label_id"), &l);
	if (rc == STORE_OK && strcmp(l.inbox_id, m.inbox_id) != 0)
		rc = STORE_ERR_NOT_FOUND;
	if (rc != STORE_OK) {
		if (rc == STORE_ERR_NOT_FOUND)
			api_error(ctx, 404, "not_found", "label not found");
		else
			api_error_internal(ctx);
		goto out;
	}
	if (!scope_allows(ctx, &l, LABEL_REMOVE))
		goto out;
	by = actor_ref(ctx);
	struct store_audit au = api_audit(ctx, "label.removed", "message", m.id);
	rc = store_labels_remove(db, m.id, l.id, by, &au, &changed);
	if (rc == STORE_OK)
		api_reply(ctx, 204, NULL);
	else if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "message or label not found");
	else
		api_error_internal(ctx);
out:
	free(by);
	label_row_free(&l);
	message_row_free(&m);
}

static void
message_labels_list(struct api_ctx *ctx)
{
	struct message_row m = { 0 };
	struct label_row *rows = NULL;
	struct store_db *db;
	int n = 0;

	if (!(db = api_tenant_db(ctx)) || api__message_load(ctx, db, false, &m) != 0)
		return;
	if (store_labels_of_message(db, m.id, &rows, &n) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		json_t *items = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(items, label_json(&rows[i]));
		api_reply(ctx, 200, json_pack("{s:o, s:n}", "data", items, "next_cursor"));
	}
	label_rows_free(rows, n);
	message_row_free(&m);
}

static json_t *
scope_meta(const char *scope, bool apply, bool remove)
{
	return json_pack("{s:s, s:b, s:b}", "scope", scope, "can_apply", apply,
	    "can_remove", remove);
}

static json_t *
type_meta(const char *type, bool create)
{
	return json_pack("{s:s, s:b}", "type", type, "client_create_supported", create);
}

static void
labels_reference(struct api_ctx *ctx)
{
	json_t *j = json_pack("{s:s, s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}}}",
	    "version", "2026-06-06", "resource", "labels", "payload",
	    "create_label", "method", "POST", "path", "/v1/labels/",
	    "apply_message_label", "method", "POST", "path",
	    "/v1/messages/{message_id}/labels/",
	    "apply_context_label", "method", "POST", "path",
	    "/v1/context/{label_id}/entities/");

	json_object_set_new(j, "fields", json_pack("[s,s,s,s,s,s]", "inbox_id", "name",
	    "label_scope", "color", "policies", "label_type"));
	json_object_set_new(j, "label_scopes", json_pack("[o,o,o]",
	    scope_meta("read_only", false, false), scope_meta("read_apply", true, false),
	    scope_meta("read_write", true, true)));
	json_object_set_new(j, "label_types", json_pack("[o,o,o,o]",
	    type_meta("message", true), type_meta("contact", false),
	    type_meta("calendar", false), type_meta("any", false)));
	json_object_set_new(j, "policies", json_pack("{s:s, s:s, s:[s,s,s,s,s,n], s:s}",
	    "block_reply", "boolean: sending from a thread with this label is refused",
	    "forward_to", "address: labelled messages are forwarded there",
	    "retention", "30d", "90d", "6m", "1y", "indefinite",
	    "notify", "boolean: label.applied events for this label are marked notify and sent to the inbox webhook"));
	api_reply(ctx, 200, j);
}

static const struct api_field create_fields[] = {
	{ "inbox_id", API_T_STRING, true, false, "required, even with a token" },
	{ "name", API_T_STRING, true, false, NULL },
	{ "label_scope", API_T_STRING, false, false, "read_only | read_apply | read_write (default)" },
	{ "color", API_T_STRING, false, true, "#rgb or #rrggbb" },
	{ "policies", API_T_OBJECT, false, false, "{block_reply, forward_to, retention, notify}" },
	{ 0 },
};

static const struct api_field patch_fields[] = {
	{ "name", API_T_STRING, false, false, NULL },
	{ "label_scope", API_T_STRING, false, false, NULL },
	{ "color", API_T_STRING, false, true, NULL },
	{ "policies", API_T_OBJECT, false, false, "members given replace those stored" },
	{ 0 },
};

static const struct api_field apply_fields_spec[] = {
	{ "label_id", API_T_STRING, true, false, NULL },
	{ 0 },
};

const struct api_route api_labels_routes[] = {
	{ "GET", "/v1/labels/reference/", API_AUTH_NONE, NULL, labels_reference,
	  NULL, 200, "List label scopes and type metadata" },
	{ "GET", "/v1/labels/", API_AUTH_SCOPE, "labels:read", labels_list, NULL,
	  200, "List labels for an inbox" },
	{ "POST", "/v1/labels/", API_AUTH_SCOPE, "labels:write", labels_create,
	  create_fields, 201, "Create a label" },
	{ "GET", "/v1/labels/{label_id}/", API_AUTH_SCOPE, "labels:read", labels_get,
	  NULL, 200, "Get a label" },
	{ "PATCH", "/v1/labels/{label_id}/", API_AUTH_SCOPE, "labels:write",
	  labels_patch, patch_fields, 200, "Update a label" },
	{ "DELETE", "/v1/labels/{label_id}/", API_AUTH_SCOPE, "labels:write",
	  labels_delete, NULL, 204, "Delete a label" },
	{ "GET", "/v1/messages/{message_id}/labels/", API_AUTH_SCOPE, "labels:read",
	  message_labels_list, NULL, 200, "Labels on a message" },
	{ "POST", "/v1/messages/{message_id}/labels/", API_AUTH_SCOPE, "labels:write",
	  message_label_apply, apply_fields_spec, 204, "Apply a label to a message" },
	{ "DELETE", "/v1/messages/{message_id}/labels/{label_id}/", API_AUTH_SCOPE,
	  "labels:write", message_label_remove, NULL, 204, "Remove a label" },
	{ 0 },
};
