/*
 * api_body.c - JSON request bodies and query strings.
 *
 * A body must be a JSON object whose members are all declared by the
 * route, with the declared types. The first problem found is answered as
 * a 400 naming the field, so a client can fix one thing at a time.
 */
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"

static const char *
type_name(enum api_type t)
{
	switch (t) {
	case API_T_STRING: return "a string";
	case API_T_INTEGER: return "an integer";
	case API_T_NUMBER: return "a number";
	case API_T_BOOLEAN: return "a boolean";
	case API_T_STRING_ARRAY: return "an array of strings";
	case API_T_OBJECT: return "an object";
	case API_T_INTEGER_ARRAY: return "an array of integers";
	case API_T_ARRAY: return "an array";
	}
	return "?";
}

static bool
type_ok(json_t *v, enum api_type t)
{
	size_t i;
	json_t *item;

	switch (t) {
	case API_T_STRING: return json_is_string(v);
	case API_T_INTEGER: return json_is_integer(v);
	case API_T_NUMBER: return json_is_number(v);
	case API_T_BOOLEAN: return json_is_boolean(v);
	case API_T_OBJECT: return json_is_object(v);
	case API_T_ARRAY: return json_is_array(v);
	case API_T_STRING_ARRAY:
	case API_T_INTEGER_ARRAY:
		if (!json_is_array(v))
			return false;
		json_array_foreach(v, i, item)
			if (t == API_T_STRING_ARRAY ? !json_is_string(item) :
			    !json_is_integer(item))
				return false;
		return true;
	}
	return false;
}

static const struct api_field *
field_find(const struct api_field *fields, const char *name)
{
	for (const struct api_field *f = fields; f && f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

int
api_body_validate(struct api_ctx *ctx, json_t *body,
    const struct api_field *fields)
{
	const char *key;
	json_t *v;

	if (!json_is_object(body)) {
		api_error(ctx, 400, "invalid_json", "request body must be a JSON object");
		return -1;
	}
	json_object_foreach(body, key, v) {
		const struct api_field *f = field_find(fields, key);
		if (!f) {
			api_error_field(ctx, key, "unknown field '%s'", key);
			return -1;
		}
		if (json_is_null(v) && f->nullable)
			continue;
		if (!type_ok(v, f->type)) {
			api_error_field(ctx, key, "'%s' must be %s", key, type_name(f->type));
			return -1;
		}
	}
	for (const struct api_field *f = fields; f && f->name; f++) {
		if (f->required && !json_object_get(body, f->name)) {
			api_error_field(ctx, f->name, "'%s' is required", f->name);
			return -1;
		}
	}
	return 0;
}

const char *
api_body_str(const struct api_ctx *ctx, const char *name)
{
	return ctx->body ? json_string_value(json_object_get(ctx->body, name)) : NULL;
}

bool
api_body_has(const struct api_ctx *ctx, const char *name)
{
	return ctx->body && json_object_get(ctx->body, name) != NULL;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

char *
api_url_decode(const char *s, size_t n, bool plus_is_space)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+' && plus_is_space) {
			out[o++] = ' ';
		} else if (s[i] == '%') {
			int a = i + 1 < n ? hexval(s[i + 1]) : -1;
			int b = i + 2 < n ? hexval(s[i + 2]) : -1;
			if (a < 0 || b < 0 || (a == 0 && b == 0)) {
				free(out);
				return NULL;
			}
			out[o++] = (char)(a * 16 + b);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

char *
api_query(const struct api_ctx *ctx, const char *name)
{
	const char *q = ctx->req->query;
	size_t nlen = strlen(name);

	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		if (len >= nlen && strncmp(q, name, nlen) == 0 &&
		    (len == nlen || q[nlen] == '='))
			return len == nlen ? xstrdup("") :
			    api_url_decode(q + nlen + 1, len - nlen - 1, true);
		q = amp ? amp + 1 : NULL;
	}
	return NULL;
}

int
api_query_check(struct api_ctx *ctx, const char *const *allowed)
{
	const char *q = ctx->req->query;

	while (q && *q) {
		const char *amp = strchr(q, '&'), *eq;
		size_t len = amp ? (size_t)(amp - q) : strlen(q), nlen;
		char *name, *value;
		bool known = false;

		eq = memchr(q, '=', len);
		nlen = eq ? (size_t)(eq - q) : len;
		name = api_url_decode(q, nlen, true);
		value = eq ? api_url_decode(eq + 1, len - nlen - 1, true) : xstrdup("");
		for (const char *const *a = allowed; name && *a && !known; a++)
			known = strcmp(*a, name) == 0;
		if (len && (!name || !value || !known)) {
			if (!name || !known)
				api_error(ctx, 400, "invalid_request", "unknown query "
				    "parameter '%.64s'", name ? name : "?");
			else
				api_error_field(ctx, name, "'%s' is not valid "
				    "percent-encoded UTF-8", name);
			free(name);
			free(value);
			return -1;
		}
		free(name);
		free(value);
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}
