/*
 * api_reply.c - JSON answers: success bodies, the error envelope, list
 * pages and timestamps.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/ids.h"
#include "gent/timefmt.h"

void
api_reply(struct api_ctx *ctx, int status, json_t *body)
{
	ctx->resp->status = status;
	buf_free(&ctx->resp->body);
	if (body) {
		char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
		buf_append_str(&ctx->resp->body, text);
		free(text);
		json_decref(body);
	}
}

static void
error_with(struct api_ctx *ctx, int status, const char *code,
    const char *field, const char *message)
{
	json_t *err = json_pack("{s:i, s:s, s:s}", "status", status, "code",
	    code, "message", message);

	if (field)
		json_object_set_new(err, "field", json_string(field));
	api_reply(ctx, status, json_pack("{s:o}", "error", err));
}

void
api_error(struct api_ctx *ctx, int status, const char *code,
    const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	error_with(ctx, status, code, NULL, message);
}

void
api_error_field(struct api_ctx *ctx, const char *field, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	error_with(ctx, 400, "invalid_field", field, message);
}

void
api_error_internal(struct api_ctx *ctx)
{
	api_error(ctx, 500, "internal", "internal error; see the server log "
	    "for request %s", ctx->req->request_id);
}

json_t *
api_time(int64_t ms)
{
	char iso[TIMEFMT_ISO_LEN];

	if (ms <= 0)
		return json_null();
	time_format_iso(ms, iso);
	return json_string(iso);
}

/* Cursor text: base64url("<ms>.<id>"); opaque to clients. */
static char *
cursor_encode(int64_t ms, const char *id)
{
	char *plain = xasprintf("%lld.%s", (long long)ms, id);
	size_t n = strlen(plain);
	char *out = xmalloc(n * 4 / 3 + 4);

	ids_base64url((const unsigned char *)plain, n, out);
	free(plain);
	return out;
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '-') return 62;
	if (c == '_') return 63;
	return -1;
}

static int
cursor_decode(const char *text, int64_t *ms_r, char **id_r)
{
	size_t len = strlen(text), n = 0, bits = 0;
	char *plain = xmalloc(len + 1), *dot, *end;
	uint32_t acc = 0;

	if (len > 200)
		goto bad;
	for (const char *p = text; *p; p++) {
		int v = b64val(*p);
		if (v < 0)
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			plain[n++] = (char)(acc >> bits);
		}
	}
	plain[n] = '\0';
	if (!(dot = strchr(plain, '.')) || dot == plain)
		goto bad;
	*dot = '\0';
	long long ms = strtoll(plain, &end, 10);
	if (*end || ms < 0 || strlen(dot + 1) > 64 || dot[1] == '\0' ||
	    strspn(dot + 1, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(dot + 1))
		goto bad;
	*ms_r = ms;
	*id_r = xstrdup(dot + 1);
	free(plain);
	return 0;
bad:
	free(plain);
	return -1;
}

int
api_list_params(struct api_ctx *ctx, int *limit_r, int64_t *cursor_ms_r,
    char **cursor_id_r)
{
	char *limit = api_query(ctx, "limit"), *cursor = api_query(ctx, "cursor");
	int rc = 0;

	*limit_r = 50;
	*cursor_ms_r = 0;
	*cursor_id_r = NULL;
	if (limit) {
		char *end;
		long v = strtol(limit, &end, 10);
		if (*limit == '\0' || *end || v < 1 || v > 200) {
			api_error_field(ctx, "limit", "limit must be an integer from 1 to 200");
			rc = -1;
		}
		*limit_r = (int)v;
	}
	if (rc == 0 && cursor && cursor_decode(cursor, cursor_ms_r, cursor_id_r) != 0) {
		api_error_field(ctx, "cursor", "cursor is not one this server issued");
		rc = -1;
	}
	free(limit);
	free(cursor);
	return rc;
}

void
api_list_reply(struct api_ctx *ctx, json_t *items, bool more, int64_t last_ms,
    const char *last_id)
{
	json_t *next = json_null();

	if (more) {
		char *c = cursor_encode(last_ms, last_id);
		next = json_string(c);
		free(c);
	}
	api_reply(ctx, 200, json_pack("{s:o, s:o}", "data", items,
	    "next_cursor", next));
}
