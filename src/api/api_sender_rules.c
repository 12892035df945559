/*
 * api_sender_rules.c - who an inbox accepts mail from and may send to.
 *
 * Stored and validated here; inbound SMTP and outbound send apply them.
 * Patterns are "user@example.com" (exact, case-insensitive) or
 * "@example.com" (the whole domain).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/addr.h"
#include "gent/api.h"
#include "gent/log.h"
#include "gent/store_rules.h"
#include "gent/timefmt.h"

#define SENDER_PATTERNS_MAX 1000

static const char *const modes[] = { "open", "allowlist", "blocklist", NULL };

static bool
mode_ok(const char *m)
{
	for (const char *const *p = modes; m && *p; p++)
		if (strcmp(m, *p) == 0)
			return true;
	return false;
}

static bool
pattern_ok(const char *p)
{
	if (p[0] == '@') {
		char *probe = xasprintf("x%s", p);
		bool ok = addr_is_valid(probe);
		free(probe);
		return ok;
	}
	return addr_is_valid(p);
}

static json_t *
rules_json(const struct sender_rules_row *r)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "inbox_id", r->inbox_id,
	    "inbound_mode", r->inbound_mode, "outbound_mode", r->outbound_mode,
	    "inbound_patterns", json_loads(r->inbound_patterns, 0, NULL),
	    "outbound_patterns", json_loads(r->outbound_patterns, 0, NULL),
	    "updated_at", api_time(r->updated_at));
}

/*
 * Lower-cased, de-duplicated JSON text of a patterns member. *text_r is
 * NULL when the member is absent (keep). Returns -1 after answering 400.
 */
static int
patterns_text(struct api_ctx *ctx, const char *field, char **text_r)
{
	json_t *in = json_object_get(ctx->body, field), *out, *v;
	size_t i;

	*text_r = NULL;
	if (!in)
		return 0;
	if (json_array_size(in) > SENDER_PATTERNS_MAX) {
		api_error_field(ctx, field, "'%s' holds at most %d patterns", field,
		    SENDER_PATTERNS_MAX);
		return -1;
	}
	out = json_array();
	json_array_foreach(in, i, v) {
		char *p = xstrdup(json_string_value(v));
		str_lower(p);
		if (!pattern_ok(p)) {
			api_error_field(ctx, field, "'%s' is not user@domain or @domain", p);
			free(p);
			json_decref(out);
			return -1;
		}
		bool dup = false;
		for (size_t k = 0; k < json_array_size(out); k++)
			dup |= strcmp(json_string_value(json_array_get(out, k)), p) == 0;
		if (!dup)
			json_array_append_new(out, json_string(p));
		free(p);
	}
	*text_r = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return 0;
}

static void
sender_rules_get(struct api_ctx *ctx)
{
	struct sender_rules_row r;
	struct store_db *db;
	char *inbox_id = api_inbox_id(ctx);

	if (!inbox_id || !(db = api_tenant_db(ctx))) {
		free(inbox_id);
		return;
	}
	if (store_rules_sender_get(db, inbox_id, &r) != STORE_OK)
		api_error_internal(ctx);
	else
		api_reply(ctx, 200, rules_json(&r));
	sender_rules_row_free(&r);
	free(inbox_id);
}

static void
sender_rules_put(struct api_ctx *ctx)
{
	const char *in_mode = api_body_str(ctx, "inbound_mode");
	const char *out_mode = api_body_str(ctx, "outbound_mode");
	struct sender_rules_row next = { 0 };
	struct store_db *db;
	char *inbox_id;

	if (in_mode && !mode_ok(in_mode)) {
		api_error_field(ctx, "inbound_mode", "'inbound_mode' must be one of open, allowlist, blocklist");
		return;
	}
	if (out_mode && !mode_ok(out_mode)) {
		api_error_field(ctx, "outbound_mode", "'outbound_mode' must be one of open, allowlist, blocklist");
		return;
	}
	if (patterns_text(ctx, "inbound_patterns", &next.inbound_patterns) != 0 ||
	    patterns_text(ctx, "outbound_patterns", &next.outbound_patterns) != 0 ||
	    !(inbox_id = api_inbox_id(ctx))) {
		sender_rules_row_free(&next);
		return;
	}
	snprintf(next.inbox_id, sizeof(next.inbox_id), "%s", inbox_id);
	snprintf(next.inbound_mode, sizeof(next.inbound_mode), "%s", in_mode ? in_mode : "");
	snprintf(next.outbound_mode, sizeof(next.outbound_mode), "%s", out_mode ? out_mode : "");
	next.updated_at = time_now_ms();
	if ((db = api_tenant_db(ctx))) {
		struct store_audit a = api_audit(ctx, "sender_rules.updated", "inbox", inbox_id);
		if (store_rules_sender_merge(db, &next, &a) != STORE_OK)
			api_error_internal(ctx);
		else
			api_reply(ctx, 200, rules_json(&next));
	}
	sender_rules_row_free(&next);
	free(inbox_id);
}

static void
sender_rules_delete(struct api_ctx *ctx)
{
	struct store_db *db;
	char *inbox_id = api_inbox_id(ctx);
	int rc;

	if (!inbox_id || !(db = api_tenant_db(ctx))) {
		free(inbox_id);
		return;
	}
	struct store_audit a = api_audit(ctx, "sender_rules.deleted", "inbox", inbox_id);
	rc = store_rules_sender_delete(db, inbox_id, &a);
	if (rc == STORE_OK || rc == STORE_ERR_NOT_FOUND)
		api_reply(ctx, 204, NULL);
	else
		api_error_internal(ctx);
	free(inbox_id);
}

static void
sender_rules_modes(struct api_ctx *ctx)
{
	api_reply(ctx, 200, json_pack("{s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
	    "data", "mode", "open", "description", "no restrictions",
	    "mode", "allowlist", "description", "only listed addresses or domains",
	    "mode", "blocklist", "description", "everyone except listed addresses or domains"));
}

static void
sender_rules_reference(struct api_ctx *ctx)
{
	api_reply(ctx, 200, json_pack("{s:s, s:s, s:{s:{s:s, s:s}}, s:[s,s,s], "
	    "s:[s,s], s:s, s:s}",
	    "version", "2026-06-06", "resource", "sender_rules",
	    "payload", "set_sender_rules", "method", "PUT", "path", "/v1/sender-rules/",
	    "modes", "open", "allowlist", "blocklist",
	    "pattern_forms", "user@domain.com", "@domain.com",
	    "inbound_block", "dropped silently at SMTP; the sender sees success",
	    "outbound_block", "403 to the sending API call"));
}

static const struct api_field put_fields[] = {
	{ "inbox_id", API_T_STRING, false, false, "Required with a session token" },
	{ "inbound_mode", API_T_STRING, false, false, "open | allowlist | blocklist" },
	{ "outbound_mode", API_T_STRING, false, false, "open | allowlist | blocklist" },
	{ "inbound_patterns", API_T_STRING_ARRAY, false, false, NULL },
	{ "outbound_patterns", API_T_STRING_ARRAY, false, false, NULL },
	{ 0 },
};

static const struct api_field delete_fields[] = {
	{ "inbox_id", API_T_STRING, false, false, NULL },
	{ 0 },
};

const struct api_route api_sender_rules_routes[] = {
	{ "GET", "/v1/sender-rules/reference/", API_AUTH_SCOPE, "workflows:read",
	  sender_rules_reference, NULL, 200, "List sender rule builder contract" },
	{ "GET", "/v1/sender-rules/modes/", API_AUTH_SCOPE, "workflows:read",
	  sender_rules_modes, NULL, 200, "List sender rule modes" },
	{ "GET", "/v1/sender-rules/", API_AUTH_SCOPE, "workflows:read",
	  sender_rules_get, NULL, 200, "Get sender rule config for an inbox" },
	{ "PUT", "/v1/sender-rules/", API_AUTH_SCOPE, "workflows:write",
	  sender_rules_put, put_fields, 200, "Set sender rules" },
	{ "DELETE", "/v1/sender-rules/", API_AUTH_SCOPE, "workflows:write",
	  sender_rules_delete, delete_fields, 204, "Remove sender rules (resets to open)" },
	{ 0 },
};
