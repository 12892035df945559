/*
 * api_audit.c - the audit log (guide 06): read-only. No route changes or
 * deletes an entry; the trail is a hash chain per database, keyed with
 * the server audit key and closed by an authenticated head, and
 * GET /v1/audit/verify/ (and `gentd admin verify-audit`, which prints the
 * same answer) re-computes it to show whether the files were edited
 * behind gentd's back.
 *
 * A tenant's trail is in two places: account-level changes (tokens,
 * inboxes, domains, sessions) in control.db, mail-level ones (messages,
 * labels, rules, sends) in its tenant.db. The list merges both, newest
 * first. Scope audit:read for tokens (an admin-only scope); sessions of
 * owners and admins.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/store_audit.h"
#include "gent/timefmt.h"
#include "api_int.h"

static json_t *
opt(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *
api__audit_json(const struct audit_row *a, const char *where)
{
	json_t *detail = a->detail ? json_loads(a->detail, 0, NULL) : NULL;

	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o}",
	    "id", a->id, "inbox_id", opt(a->inbox_id), "actor_type", opt(a->actor_type), "actor_id", opt(a->actor_id),
	    "action", opt(a->action), "target_type", opt(a->target_type),
	    "target_id", opt(a->target_id), "detail", detail ? detail : json_object(),
	    "request_id", opt(a->request_id), "hash", opt(a->hash), "log", where,
	    "created_at", api_time(a->created_at));
}

static int
may_read(struct api_ctx *ctx)
{
	if (ctx->who.kind == API_SESSION && strcmp(ctx->who.role, "owner") != 0 &&
	    strcmp(ctx->who.role, "admin") != 0) {
		api_error(ctx, 403, "forbidden", "the audit log is for tenant owners and admins");
		return -1;
	}
	return 0;
}

static int
time_filter(struct api_ctx *ctx, const char *name, int64_t *ms_r)
{
	char *v = api_query(ctx, name);
	int rc = 0;

	*ms_r = 0;
	if (v && time_parse_iso(v, ms_r) != 0) {
		api_error_field(ctx, name, "'%s' must be an ISO 8601 time", name);
		rc = -1;
	}
	free(v);
	return rc;
}

/* Merge two newest-first pages into items (at most limit). */
void
api__audit_merge(json_t *items, struct audit_row *a, int na, struct audit_row *b, int nb,
    int limit, int64_t *last_ms, char *last_id, size_t cap)
{
	int i = 0, k = 0;

	while (json_array_size(items) < (size_t)limit && (i < na || k < nb)) {
		bool take_a = k >= nb || (i < na && (a[i].created_at > b[k].created_at ||
		    (a[i].created_at == b[k].created_at && strcmp(a[i].id, b[k].id) > 0)));
		struct audit_row *r = take_a ? &a[i++] : &b[k++];
		json_array_append_new(items, api__audit_json(r, take_a ? "tenant" : "account"));
		*last_ms = r->created_at;
		snprintf(last_id, cap, "%s", r->id);
	}
}

static void
audit_list(struct api_ctx *ctx)
{
	static const char *const params[] = { "limit", "cursor", "actor_id", "action",
	    "target_id", "inbox_id", "after", "before", NULL };
	char *actor = NULL, *action = NULL, *target = NULL, *inbox = NULL;
	char *cursor_id = NULL, last_id[64] = "";
	struct audit_row *t = NULL, *c = NULL;
	struct audit_filter f = { 0 };
	int limit, nt = 0, nc = 0;
	int64_t cursor_ms, last_ms = 0;
	struct store_db *db;

	if (may_read(ctx) || api_query_check(ctx, params) ||
	    api_list_params(ctx, &limit, &cursor_ms, &cursor_id) ||
	    time_filter(ctx, "after", &f.after_ms) || time_filter(ctx, "before", &f.before_ms) ||
	    !(db = api_tenant_db(ctx)))
		goto out;
	f.actor_id = actor = api_query(ctx, "actor_id");
	f.action = action = api_query(ctx, "action");
	f.target_id = target = api_query(ctx, "target_id");
	/* inbox_id: what happened in that inbox, and the entries about it. */
	f.inbox_id = inbox = api_query(ctx, "inbox_id");
	f.tenant_id = ctx->who.tenant_id;
	if (store_audit_list(db, &f, limit + 1, cursor_ms, cursor_id, &t, &nt) != STORE_OK ||
	    store_audit_list(store_control(ctx->app->store), &f, limit + 1, cursor_ms,
	    cursor_id, &c, &nc) != STORE_OK) {
		api_error_internal(ctx);
		goto out;
	}
	json_t *items = json_array();
	api__audit_merge(items, t, nt, c, nc, limit, &last_ms, last_id, sizeof(last_id));
	api_list_reply(ctx, items, nt + nc > limit, last_ms, last_id);
out:
	audit_rows_free(t, nt);
	audit_rows_free(c, nc);
	free(actor);
	free(action);
	free(target);
	free(inbox);
	free(cursor_id);
}

json_t *
api_audit_check_json(const struct audit_check *k)
{
	return json_pack("{s:b, s:I, s:I, s:o, s:o, s:o}", "ok", k->ok,
	    "rows", (json_int_t)k->rows, "chained", (json_int_t)k->chained,
	    "keyed_from", k->keyed_from ? json_integer(k->keyed_from) : json_null(),
	    "first_bad_seq", k->first_bad_seq ? json_integer(k->first_bad_seq) : json_null(),
	    "problem", k->ok ? json_null() : json_string(k->why));
}

json_t *
api_audit_verify_json(struct store *store, struct store_db *tenant)
{
	struct audit_check t, c;

	if (store_audit_verify(tenant, &t) != STORE_OK ||
	    store_audit_verify(store_control(store), &c) != STORE_OK)
		return NULL;
	return json_pack("{s:b, s:o, s:o}", "ok", t.ok && c.ok,
	    "tenant", api_audit_check_json(&t), "account", api_audit_check_json(&c));
}

static void
audit_verify(struct api_ctx *ctx)
{
	struct store_db *db;
	json_t *answer;

	if (may_read(ctx) || !(db = api_tenant_db(ctx)))
		return;
	if (!(answer = api_audit_verify_json(ctx->app->store, db))) {
		api_error_internal(ctx);
		return;
	}
	api_reply(ctx, 200, answer);
}

const struct api_route api_audit_routes[] = {
	{ "GET", "/v1/audit/verify/", API_AUTH_SCOPE, "audit:read", audit_verify, NULL,
	  200, "Re-compute the audit hash chains" },
	{ "GET", "/v1/audit/", API_AUTH_SCOPE, "audit:read", audit_list, NULL, 200,
	  "The audit log, newest first (filters: actor_id, action, target_id, inbox_id, after, before)" },
	{ 0 },
};
