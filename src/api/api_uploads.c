/*
 * api_uploads.c - attachments uploaded ahead of a send: POST /v1/uploads/
 * {filename, content_type, content (base64)} -> upload_id, then
 * {"upload_id": ...} in the attachments of POST /v1/messages/. An upload
 * belongs to the inbox that made it and expires after a day. (Large
 * files go through the body limit, http_max_body.)
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/ids.h"
#include "gent/store_uploads.h"
#include "gent/timefmt.h"
#include "api_int.h"

#define FILENAME_MAX_CHARS 255

char *
api__base64_decode(const char *in, size_t *len_r)
{
	size_t n = strlen(in), k = 0;
	char *clean = xmalloc(n + 4), *out;
	int got;

	/* RFC 4648 4 with padding optional and line breaks tolerated. */
	for (size_t i = 0; i < n; i++)
		if (in[i] != '\r' && in[i] != '\n' && in[i] != ' ')
			clean[k++] = in[i];
	while (k % 4)
		clean[k++] = '=';
	clean[k] = '\0';
	out = xmalloc(k / 4 * 3 + 1);
	got = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)clean, (int)k);
	if (got < 0) {
		free(clean);
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	for (size_t i = k; i > 0 && clean[i - 1] == '='; i--)
		got--;
	free(clean);
	*len_r = (size_t)got;
	return out;
}

static void
uploads_create(struct api_ctx *ctx)
{
	const char *name = api_body_str(ctx, "filename");
	const char *type = api_body_str(ctx, "content_type");
	struct upload_row u = { 0 };
	char *inbox_id = NULL, *id = NULL, when[TIMEFMT_ISO_LEN];
	struct store_db *db;

	if (!*name || str_chars(name) > FILENAME_MAX_CHARS || strpbrk(name, "\r\n/\\")) {
		api_error_field(ctx, "filename", "'filename' is 1 to %d characters, no "
		    "line breaks or slashes", FILENAME_MAX_CHARS);
		return;
	}
	if (type && (!strchr(type, '/') || strpbrk(type, "\r\n;") || strlen(type) > 127)) {
		api_error_field(ctx, "content_type", "'content_type' is a MIME type like "
		    "application/pdf");
		return;
	}
	if (!(u.data = api__base64_decode(api_body_str(ctx, "content"), &u.size))) {
		api_error_field(ctx, "content", "'content' is not base64");
		return;
	}
	if (!(inbox_id = api_inbox_id(ctx)) || !(db = api_tenant_db(ctx)))
		goto out;
	id = ids_new("upl");
	snprintf(u.id, sizeof(u.id), "%s", id);
	snprintf(u.inbox_id, sizeof(u.inbox_id), "%s", inbox_id);
	u.filename = (char *)name;
	u.content_type = (char *)(type ? type : "application/octet-stream");
	u.created_at = time_now_ms();
	u.expires_at = u.created_at + UPLOAD_TTL_MS;
	struct store_audit a = api_audit(ctx, "upload.created", "upload", id);
	if (store_uploads_create(db, &u, &a) != STORE_OK) {
		api_error_internal(ctx);
		goto out;
	}
	time_format_iso(u.expires_at, when);
	api_reply(ctx, 201, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "id", id,
	    "upload_id", id, "filename", name, "content_type", u.content_type,
	    "size", (json_int_t)u.size, "expires_at", when));
out:
	free(u.data);
	free(id);
	free(inbox_id);
}

static const struct api_field upload_fields[] = {
	{ "inbox_id", API_T_STRING, false, false, "required with a session" },
	{ "filename", API_T_STRING, true, false, NULL },
	{ "content_type", API_T_STRING, false, false, "default application/octet-stream" },
	{ "content", API_T_STRING, true, false, "base64" },
	{ 0 },
};

const struct api_route api_uploads_routes[] = {
	{ "POST", "/v1/uploads/", API_AUTH_SCOPE, "email:send", uploads_create,
	  upload_fields, 201, "Upload an attachment for a later send (kept a day)" },
	{ 0 },
};
