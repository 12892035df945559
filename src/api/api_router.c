/*
 * api_router.c - match "METHOD /path" against the route tables.
 *
 * Route paths are written with a trailing slash as in the spec; requests
 * match with or without it. "{name}" matches one non-empty segment.
 */
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"

const struct api_route *const api_route_tables[] = {
	api_health_routes,
	api_openapi_routes,
	api_sessions_routes,
	api_users_routes,
	api_tokens_routes,
	api_waitlist_routes,
	api_invites_routes,
	api_tenants_routes,
	api_sender_rules_routes,
	api_domains_routes,
	api_inboxes_routes,
	api_inbox_config_routes,
	api_forwarding_routes,
	api_messages_routes,
	api_caps_routes,
	api_labels_routes,
	api_label_rules_routes,
	api_threads_routes,
	api_send_routes,
	api_approvals_routes,
	api_events_routes,
	api_audit_routes,
	api_deliveries_routes,
	api_activity_routes,
	api_usage_routes,
	api_handoff_routes,
	api_alerts_routes,
	api_uploads_routes,
	NULL,
};

/* Length of the segment starting at p (up to '/' or end). */
static size_t
seg_len(const char *p)
{
	size_t n = 0;

	while (p[n] && p[n] != '/')
		n++;
	return n;
}

/* Match and collect params into ctx (when non-NULL). */
static bool
path_matches(const char *pattern, const char *path, struct api_ctx *ctx)
{
	const char *p = pattern, *q = path;
	int n = 0;

	while (*p && *q) {
		if (*p == '/' || *q == '/') {
			if (*p != *q)
				return false;
			p++, q++;
			continue;
		}
		size_t pl = seg_len(p), ql = seg_len(q);
		if (*p == '{') {
			if (ql == 0 || n == API_MAX_PARAMS)
				return false;
			/* Params arrive percent-encoded (an IDN domain, say). */
			char *value = api_url_decode(q, ql, false);
			if (!value)
				return false;
			if (ctx) {
				ctx->param_names[n] = p + 1;	/* up to '}' */
				ctx->param_values[n] = value;
			} else {
				free(value);
			}
			n++;
		} else if (pl != ql || memcmp(p, q, pl) != 0) {
			return false;
		}
		p += pl, q += ql;
	}
	/* One trailing slash is optional on either side ("//" never matches). */
	if ((*p == '/' && p[1] == '\0' && *q == '\0') ||
	    (*q == '/' && q[1] == '\0' && *p == '\0' && p > pattern && p[-1] != '/'))
		p += strlen(p), q += strlen(q);
	if (*p || *q)
		return false;
	if (ctx)
		ctx->n_params = n;
	return true;
}

static void
clear_params(struct api_ctx *ctx)
{
	for (int i = 0; i < ctx->n_params; i++)
		xfree(&ctx->param_values[i]);
	ctx->n_params = 0;
}

const struct api_route *
api_route_match(const char *method, const char *path, struct api_ctx *ctx,
    bool *path_matched_r, struct buf *allow)
{
	const struct api_route *found = NULL;

	*path_matched_r = false;
	for (const struct api_route *const *t = api_route_tables; *t; t++) {
		for (const struct api_route *r = *t; r->method; r++) {
			if (!path_matches(r->path, path, NULL))
				continue;
			*path_matched_r = true;
			if (allow)
				buf_printf(allow, "%s%s", allow->len ? ", " : "", r->method);
			if (!found && strcmp(r->method, method) == 0)
				found = r;
		}
	}
	if (found && ctx) {
		clear_params(ctx);
		path_matches(found->path, path, ctx);
	}
	return found;
}

const char *
api_param(const struct api_ctx *ctx, const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; i < ctx->n_params; i++)
		if (strncmp(ctx->param_names[i], name, n) == 0 &&
		    ctx->param_names[i][n] == '}')
			return ctx->param_values[i];
	return NULL;
}
