/*
 * api_idempotency.c - the Idempotency-Key header of POST requests.
 *
 * For an authenticated caller, the first request with a key runs and its
 * answer is kept (at least 24 hours); a retry with the same key and the
 * same request gets that answer again ("Idempotent-Replayed: true")
 * without running anything, so a retried send never sends twice. The
 * same key with a different request is a 422; a retry while the first
 * is still running is a 409. 5xx answers are not kept: the client may
 * retry those for real. Anonymous POSTs (sign-in, sign-up) ignore the
 * header: there is no principal to scope keys to.
 */
#include <stdio.h>
#include <string.h>

#include "gent/api.h"
#include "gent/ids.h"
#include "gent/store_idempotency.h"
#include "gent/timefmt.h"
#include "api_int.h"

#define IDEM_KEY_MAX 255

static bool
key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > IDEM_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
			return false;
	return true;
}

static void
request_hash(const struct api_ctx *ctx, char out[IDS_DIGEST_HEX_LEN + 1])
{
	const struct http_request *req = ctx->req;
	struct buf b = { 0 };

	buf_printf(&b, "%s\n%s\n%s\n", req->method, req->path, req->query ? req->query : "");
	buf_append(&b, req->body ? req->body : "", req->body_len);
	ids_sha256_hex(b.data, b.len, out);
	buf_free(&b);
}

static void
replay(struct api_ctx *ctx, const struct idem_row *e)
{
	ctx->resp->status = e->status;
	buf_append(&ctx->resp->body, e->response, e->response_len);
	buf_append_str(&ctx->resp->headers, "Idempotent-Replayed: true\r\n");
	ctx->log_note = "idempotent-replay";
}

int
api__idem_before(struct api_ctx *ctx, struct api_idem *st)
{
	const char *key = http_request_header(ctx->req, "Idempotency-Key");
	char hash[IDS_DIGEST_HEX_LEN + 1];
	struct idem_row e;
	int rc;

	memset(st, 0, sizeof(*st));
	if (!key || strcmp(ctx->req->method, "POST") != 0 || ctx->who.kind == API_ANON)
		return 0;
	if (!key_ok(key)) {
		api_error_field(ctx, "Idempotency-Key", "Idempotency-Key must be 1 to %d "
		    "printable ASCII characters", IDEM_KEY_MAX);
		return 1;
	}
	snprintf(st->principal, sizeof(st->principal), "%s:%s",
	    ctx->who.kind == API_TOKEN ? "token" : "user",
	    ctx->who.kind == API_TOKEN ? ctx->who.token_id : ctx->who.user_id);
	snprintf(st->key, sizeof(st->key), "%s", key);
	request_hash(ctx, hash);
	rc = store_idem_begin(store_control(ctx->app->store), st->principal, key, hash,
	    time_now_ms(), &e);
	if (rc == STORE_OK) {
		st->reserved = true;
		return 0;
	}
	if (rc != STORE_ERR_CONFLICT)
		api_error_internal(ctx);
	else if (strcmp(e.request_hash, hash) != 0)
		api_error(ctx, 422, "idempotency_key_reused", "this Idempotency-Key was "
		    "used for a different request");
	else if (e.status == 0)
		api_error(ctx, 409, "idempotency_in_progress", "a request with this "
		    "Idempotency-Key is still running; retry shortly");
	else
		replay(ctx, &e);
	idem_row_free(&e);
	return 1;
}

void
api__idem_after(struct api_ctx *ctx, struct api_idem *st)
{
	struct store_db *control = store_control(ctx->app->store);
	const struct http_response *r = ctx->resp;

	if (!st->reserved)
		return;
	/* Only JSON answers are kept; a 5xx is worth a real retry. */
	if (r->status >= 500 || r->status == 0 || r->content_type)
		store_idem_abandon(control, st->principal, st->key);
	else
		store_idem_finish(control, st->principal, st->key, r->status,
		    r->body.data, r->body.len);
}
