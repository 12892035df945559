/*
 * api.h - the REST API: route tables, the request context handlers get,
 * and helpers for JSON answers.
 *
 * Each resource file (src/api/api_<resource>.c) declares one table of
 * struct api_route. The dispatcher (api.c) matches the path, checks the
 * credential against the route's auth kind and scope, validates the JSON
 * body against the route's field list (unknown fields and wrong types are
 * 400s naming the field), then calls the handler on a worker thread.
 * GET /v1/openapi.json is generated from the same tables.
 */
#ifndef GENT_API_H
#define GENT_API_H

#include <jansson.h>
#include <stdbool.h>

#include "gent/app.h"
#include "gent/http.h"
#include "gent/scopes.h"

enum api_auth {
	API_AUTH_NONE,		/* public */
	API_AUTH_OPTIONAL,	/* public; a valid credential adds context */
	API_AUTH_USER,		/* session token only; agent tokens get 403 */
	API_AUTH_ADMIN,		/* session of a tenant owner or admin */
	API_AUTH_SCOPE,		/* agent token with route.scope, or a session */
};

enum api_type {
	API_T_STRING, API_T_INTEGER, API_T_NUMBER, API_T_BOOLEAN,
	API_T_STRING_ARRAY, API_T_OBJECT, API_T_INTEGER_ARRAY,
	API_T_ARRAY,		/* any array; the handler checks the items */
};

struct api_field {
	const char	*name;
	enum api_type	 type;
	bool		 required;
	bool		 nullable;	/* JSON null accepted */
	const char	*description;
};

struct api_ctx;
typedef void (*api_handler_fn)(struct api_ctx *ctx);

/** Route body spec for endpoints that accept and ignore any body (RFC 8058
 *  one-click unsubscribe posts a form). */
extern const struct api_field api_body_ignored[];

struct api_route {
	const char		*method;
	const char		*path;		/* "/v1/tokens/{token_id}/" */
	enum api_auth		 auth;
	const char		*scope;		/* for API_AUTH_SCOPE */
	api_handler_fn		 handler;
	const struct api_field	*body;		/* NULL-terminated; NULL = no body */
	int			 status;	/* success status, for openapi */
	const char		*summary;
};

enum api_principal_kind { API_ANON, API_SESSION, API_TOKEN };

struct api_principal {
	enum api_principal_kind	 kind;
	char			 tenant_id[64];
	char			 user_id[64];	/* session: the user */
	char			 role[16];	/* session: owner, admin, member */
	char			 session_id[64];
	char			 token_id[64];	/* token: its id */
	char			 inbox_id[64];	/* token: the only inbox it reaches */
	scope_set		 scopes;	/* token: expanded scopes */
	scope_set		 approval;	/* token: scopes held for a person's approval */
};

#define API_MAX_PARAMS 4

struct api_ctx {
	struct app			*app;
	const struct http_request	*req;
	struct http_response		*resp;
	const struct api_route		*route;
	const char			*param_names[API_MAX_PARAMS];
	char				*param_values[API_MAX_PARAMS];
	int				 n_params;
	json_t				*body;		/* validated object or NULL */
	struct api_principal		 who;
	const char			*log_note;	/* extra words for the access log */
	char				 inbox_hint[64];	/* the inbox the request
							 * concerns, for its audit rows */
};

/** The HTTP handler that serves the whole API (http_handler_fn). */
void api_handle(const struct http_request *req, struct http_response *resp,
    void *app);

/** Value of a {param} from the route path; NULL when absent. */
const char *api_param(const struct api_ctx *ctx, const char *name);
/** Decode %XX (and '+' when plus_is_space) of n bytes; NULL when malformed
 *  or when it would decode to a NUL byte. Caller frees. */
char *api_url_decode(const char *s, size_t n, bool plus_is_space);
/** URL-decoded query parameter (caller frees), or NULL. */
char *api_query(const struct api_ctx *ctx, const char *name);
/** Every query parameter must be one of allowed (NULL-terminated) and
 *  decode cleanly; else answers 400 and returns -1. */
int api_query_check(struct api_ctx *ctx, const char *const *allowed);

/** Answer with a JSON value (reference stolen); NULL means no body. */
void api_reply(struct api_ctx *ctx, int status, json_t *body);
/** Answer with the error envelope {"error":{status, code, message}}. */
void api_error(struct api_ctx *ctx, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/** 400 naming a field: {"error":{..., "field": name}}. */
void api_error_field(struct api_ctx *ctx, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** Answer 500 after a store failure (details are in the log). */
void api_error_internal(struct api_ctx *ctx);

/** String member of the body or NULL (absent or null). */
const char *api_body_str(const struct api_ctx *ctx, const char *name);
/** True when the body has the member, even if it is null. */
bool api_body_has(const struct api_ctx *ctx, const char *name);
/** Check a body against fields; on failure answers 400 and returns -1. */
int api_body_validate(struct api_ctx *ctx, json_t *body,
    const struct api_field *fields);

/** Page size and cursor from ?limit=&cursor=; answers 400 and returns -1. */
int api_list_params(struct api_ctx *ctx, int *limit_r, int64_t *cursor_ms_r,
    char **cursor_id_r);
/** Answer {"data": items, "next_cursor": ...} for a keyset page. */
void api_list_reply(struct api_ctx *ctx, json_t *items, bool more,
    int64_t last_ms, const char *last_id);

/**
 * The inbox a request concerns: the token's inbox for agent tokens (a
 * different inbox_id in query or body is 403), else inbox_id from the
 * query or body, which must belong to the caller's tenant (404). Answers
 * the error itself and returns NULL on failure; caller frees.
 */
char *api_inbox_id(struct api_ctx *ctx);
/**
 * May the caller see an object of inbox_id (agent tokens: their inbox
 * only; sessions: the tenant's, as the tenant database holds only those)?
 * When yes, the inbox is noted for the request's audit rows.
 */
bool api_inbox_visible(struct api_ctx *ctx, const char *inbox_id);

struct inbox_row;
/** The inbox named by the {inbox_id} path param in the caller's tenant;
 *  answers 404 itself and returns -1. */
int api_inbox_load(struct api_ctx *ctx, struct inbox_row *r);
/** The caller's tenant database; answers 500 itself and returns NULL. */
struct store_db *api_tenant_db(struct api_ctx *ctx);

/** Audit row for the current request's principal (fills actor fields). */
struct store_audit api_audit(const struct api_ctx *ctx, const char *action,
    const char *target_type, const char *target_id);

/** ISO 8601 string or JSON null for a ms timestamp (0 or <0 = null). */
json_t *api_time(int64_t ms);

struct audit_check;
/** One database's chain check as JSON: ok, rows, chained, keyed_from,
 *  first_bad_seq, problem (new reference). */
json_t *api_audit_check_json(const struct audit_check *k);
/** The answer of GET /v1/audit/verify/ for a tenant: {ok, tenant, account}
 *  (new reference), or NULL when a database could not be read. */
json_t *api_audit_verify_json(struct store *store, struct store_db *tenant);

/* Route tables, one per resource file. */
extern const struct api_route api_health_routes[];
extern const struct api_route api_openapi_routes[];
extern const struct api_route api_sessions_routes[];
extern const struct api_route api_users_routes[];
extern const struct api_route api_tokens_routes[];
extern const struct api_route api_waitlist_routes[];
extern const struct api_route api_invites_routes[];
extern const struct api_route api_tenants_routes[];
extern const struct api_route api_sender_rules_routes[];
extern const struct api_route api_domains_routes[];
extern const struct api_route api_inboxes_routes[];
extern const struct api_route api_inbox_config_routes[];
extern const struct api_route api_forwarding_routes[];
extern const struct api_route api_messages_routes[];
extern const struct api_route api_caps_routes[];
extern const struct api_route api_labels_routes[];
extern const struct api_route api_label_rules_routes[];
extern const struct api_route api_threads_routes[];
extern const struct api_route api_send_routes[];
extern const struct api_route api_approvals_routes[];
extern const struct api_route api_events_routes[];
extern const struct api_route api_audit_routes[];
extern const struct api_route api_alerts_routes[];
extern const struct api_route api_deliveries_routes[];
extern const struct api_route api_activity_routes[];
extern const struct api_route api_usage_routes[];
extern const struct api_route api_handoff_routes[];
extern const struct api_route api_uploads_routes[];

/** Every route table, NULL-terminated; for the router and openapi. */
extern const struct api_route *const api_route_tables[];

/** Find the route for method+path, filling ctx params. *path_matched_r
 *  tells a 405 (path known, method not) from a 404. */
const struct api_route *api_route_match(const char *method, const char *path,
    struct api_ctx *ctx, bool *path_matched_r, struct buf *allow);

/** The OpenAPI 3 document for all routes (new reference). */
json_t *api_openapi_document(void);

#endif
