/*
 * api_int.h - private to src/api/: the dispatcher's helpers that live in
 * their own files.
 */
#ifndef GENT_API_INT_H
#define GENT_API_INT_H

#include <stdbool.h>

#include "gent/api.h"

/* api_idempotency.c: one request's Idempotency-Key reservation. */
struct api_idem {
	char	 principal[80];
	char	 key[256];
	bool	 reserved;	/* we ran the request and keep its answer */
};

/* Before the handler: 1 when the request was answered (a replay or an
 * error), 0 to run the handler. */
int api__idem_before(struct api_ctx *ctx, struct api_idem *st);
/* After the handler: keep (or drop) the answer. */
void api__idem_after(struct api_ctx *ctx, struct api_idem *st);

/* api_send.c: send the request body as principal as (the approval of a
 * supervised token's send); answers like POST /v1/messages/. */
void api__send_as(struct api_ctx *ctx, const struct api_principal *as,
    json_t *body);

/* api_messages.c: the message of the {message_id} path param, visible to
 * the caller (a token sees its inbox only); answers 404/500 itself. */
struct message_row;
struct store_db;
int api__message_load(struct api_ctx *ctx, struct store_db *db, bool with_raw,
    struct message_row *m);

/* api_messages.c: the inbox's default_timezone (UTC when unset or
 * unreadable), and a time shown in a zone (UTC when tz is NULL). */
struct tz;
const struct tz *api__inbox_tz(struct store_db *db, const char *inbox_id);
json_t *api__local_time(const struct tz *tz, int64_t ms);

/* api_uploads.c: standard base64 (padding optional, line breaks
 * ignored); NULL when malformed. Caller frees. */
char *api__base64_decode(const char *in, size_t *len_r);

struct audit_row;
/* An audit row as GET /v1/audit/ shows it; where is "tenant" or "account". */
json_t *api__audit_json(const struct audit_row *a, const char *where);
/* Merge newest-first tenant rows a and account rows b into items (at most
 * limit); the last one taken goes to last_ms / last_id. */
void api__audit_merge(json_t *items, struct audit_row *a, int na,
    struct audit_row *b, int nb, int limit, int64_t *last_ms, char *last_id,
    size_t cap);

#endif
