/*
 * api_openapi.c - GET /v1/openapi.json, generated from the route tables so
 * the document cannot drift from what the server does.
 */
#include <stdio.h>
#include <string.h>

#include "gent/api.h"

static const char *
openapi_type(enum api_type t)
{
	switch (t) {
	case API_T_STRING: return "string";
	case API_T_INTEGER: return "integer";
	case API_T_NUMBER: return "number";
	case API_T_BOOLEAN: return "boolean";
	case API_T_STRING_ARRAY: return "array";
	case API_T_OBJECT: return "object";
	case API_T_INTEGER_ARRAY: return "array";
	case API_T_ARRAY: return "array";
	}
	return "string";
}

static json_t *
body_schema(const struct api_field *fields)
{
	json_t *props = json_object(), *required = json_array();

	for (const struct api_field *f = fields; f->name; f++) {
		json_t *p = json_pack("{s:s}", "type", openapi_type(f->type));
		if (f->type == API_T_STRING_ARRAY || f->type == API_T_INTEGER_ARRAY)
			json_object_set_new(p, "items", json_pack("{s:s}", "type",
			    f->type == API_T_STRING_ARRAY ? "string" : "integer"));
		if (f->nullable)
			json_object_set_new(p, "nullable", json_true());
		if (f->description)
			json_object_set_new(p, "description", json_string(f->description));
		json_object_set_new(props, f->name, p);
		if (f->required)
			json_array_append_new(required, json_string(f->name));
	}
	return json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties",
	    props, "required", required, "additionalProperties", 0);
}

static const char *
auth_name(enum api_auth a)
{
	switch (a) {
	case API_AUTH_NONE: return "none";
	case API_AUTH_OPTIONAL: return "optional";
	case API_AUTH_USER: return "user";
	case API_AUTH_ADMIN: return "tenant_admin";
	case API_AUTH_SCOPE: return "scope";
	}
	return "none";
}

static json_t *
path_params(const char *path)
{
	json_t *params = json_array();

	for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
		const char *end = strchr(p, '}');
		json_array_append_new(params, json_pack("{s:s%, s:s, s:b, s:{s:s}}",
		    "name", p + 1, (size_t)(end - p - 1), "in", "path",
		    "required", 1, "schema", "type", "string"));
	}
	return params;
}

static json_t *
operation(const struct api_route *r)
{
	char status[8];
	json_t *op = json_pack("{s:s, s:s, s:o}", "summary", r->summary,
	    "x-auth", auth_name(r->auth), "parameters", path_params(r->path));

	snprintf(status, sizeof(status), "%d", r->status);
	json_object_set_new(op, "responses", json_pack("{s:{s:s}}", status,
	    "description", "success"));
	if (r->scope)
		json_object_set_new(op, "x-scope", json_string(r->scope));
	if (r->auth != API_AUTH_NONE)
		json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearer"));
	if (r->body)
		json_object_set_new(op, "requestBody", json_pack("{s:{s:{s:o}}}",
		    "content", "application/json", "schema", body_schema(r->body)));
	return op;
}

json_t *
api_openapi_document(void)
{
	json_t *paths = json_object();

	for (const struct api_route *const *t = api_route_tables; *t; t++) {
		for (const struct api_route *r = *t; r->method; r++) {
			json_t *item = json_object_get(paths, r->path);
			char method[16];
			size_t i;
			if (!item) {
				item = json_object();
				json_object_set_new(paths, r->path, item);
			}
			for (i = 0; r->method[i] && i < sizeof(method) - 1; i++)
				method[i] = (char)(r->method[i] | 0x20);
			method[i] = '\0';
			json_object_set_new(item, method, operation(r));
		}
	}
	return json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:{s:{s:s, s:s}}}}",
	    "openapi", "3.0.3", "info", "title", "gentd API", "version", GENTD_VERSION,
	    "paths", paths, "components", "securitySchemes", "bearer", "type",
	    "http", "scheme", "bearer");
}

static void
openapi_get(struct api_ctx *ctx)
{
	api_reply(ctx, 200, api_openapi_document());
}

const struct api_route api_openapi_routes[] = {
	{ "GET", "/v1/openapi.json", API_AUTH_NONE, NULL, openapi_get, NULL, 200,
	  "This document" },
	{ 0 },
};
