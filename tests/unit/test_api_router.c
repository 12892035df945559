/*
 * test_api_router.c - src/api/api_router.c: "METHOD /path" against the
 * route tables, {param} capture, 404 versus 405 and the Allow list.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/util.h"

#define N(a) ((int)GENT_ARRAY_LEN(a))

static void
ctx_clear(struct api_ctx *ctx)
{
	for (int i = 0; i < ctx->n_params; i++)
		xfree(&ctx->param_values[i]);
	ctx->n_params = 0;
}

static const struct route_case {
	const char	*method;
	const char	*path;
	const char	*want_path;	/* route found; NULL = none */
	bool		 matched;	/* path known (405 rather than 404) */
	const char	*token_id;	/* expected {token_id}; NULL = absent */
	const char	*allow;		/* expected Allow list; NULL = unchecked */
} route_cases[] = {
	{ "GET", "/v1/tokens/", "/v1/tokens/", true, NULL, NULL },
	{ "GET", "/v1/tokens", "/v1/tokens/", true, NULL, NULL },
	{ "POST", "/v1/tokens/", "/v1/tokens/", true, NULL, NULL },
	{ "POST", "/v1/tokens", "/v1/tokens/", true, NULL, NULL },
	{ "GET", "/v1/tokens/tok_abc/", "/v1/tokens/{token_id}/", true,
	  "tok_abc", NULL },
	{ "GET", "/v1/tokens/tok_abc", "/v1/tokens/{token_id}/", true,
	  "tok_abc", NULL },
	{ "PATCH", "/v1/tokens/tok_abc/", "/v1/tokens/{token_id}/", true,
	  "tok_abc", NULL },
	{ "DELETE", "/v1/tokens/x", "/v1/tokens/{token_id}/", true, "x", NULL },
	{ "GET", "/v1/tokens/reference/", "/v1/tokens/reference/", true, NULL,
	  NULL },
	{ "GET", "/v1/tokens/reference", "/v1/tokens/reference/", true, NULL,
	  NULL },
	/* Only GET has a literal "reference" route; PATCH takes the param. */
	{ "PATCH", "/v1/tokens/reference/", "/v1/tokens/{token_id}/", true,
	  "reference", NULL },
	{ "PUT", "/v1/tokens/", NULL, true, NULL, "POST, GET" },
	{ "PUT", "/v1/tokens", NULL, true, NULL, "POST, GET" },
	{ "POST", "/v1/tokens/tok_abc/", NULL, true, NULL, NULL },
	{ "get", "/v1/tokens/", NULL, true, NULL, NULL },
	{ "GET", "/v1/tokens//", NULL, false, NULL, "" },
	{ "POST", "/v1/tokens//", NULL, false, NULL, "" },
	{ "GET", "/v1/tokens/tok_abc//", NULL, false, NULL, "" },
	{ "GET", "/v1/tokensx/", NULL, false, NULL, "" },
	{ "GET", "/v1/tokensx", NULL, false, NULL, "" },
	{ "GET", "/v1/token/", NULL, false, NULL, "" },
	{ "GET", "/v1//tokens/", NULL, false, NULL, "" },
	{ "GET", "//v1/tokens/", NULL, false, NULL, "" },
	{ "GET", "/V1/tokens/", NULL, false, NULL, "" },
	{ "GET", "/v1/tokens/tok_abc/extra/", NULL, false, NULL, "" },
	{ "GET", "/v1/tokens/tok_abc/extra", NULL, false, NULL, "" },
	{ "GET", "/healthz", "/healthz", true, NULL, NULL },
	{ "GET", "/healthz/", "/healthz", true, NULL, NULL },
	{ "POST", "/healthz", NULL, true, NULL, "GET" },
	{ "GET", "/healthz//", NULL, false, NULL, "" },
	{ "GET", "/healthzz", NULL, false, NULL, "" },
	{ "GET", "/health", NULL, false, NULL, "" },
	{ "GET", "healthz", NULL, false, NULL, "" },
	{ "GET", "/", NULL, false, NULL, "" },
	{ "GET", "", NULL, false, NULL, "" },
	{ "GET", "/v1/", NULL, false, NULL, "" },
};

START_TEST(test_route_match)
{
	const struct route_case *c = &route_cases[_i];
	struct api_ctx ctx;
	struct buf allow = { 0 };
	bool matched = !c->matched;
	const struct api_route *r;

	memset(&ctx, 0, sizeof(ctx));
	r = api_route_match(c->method, c->path, &ctx, &matched, &allow);
	if (c->want_path) {
		ck_assert_msg(r != NULL, "%s %s: no route", c->method, c->path);
		ck_assert_str_eq(r->method, c->method);
		ck_assert_msg(strcmp(r->path, c->want_path) == 0,
		    "%s %s: matched %s, want %s", c->method, c->path, r->path,
		    c->want_path);
	} else {
		ck_assert_msg(r == NULL, "%s %s: matched %s %s", c->method, c->path,
		    r ? r->method : "", r ? r->path : "");
	}
	ck_assert_msg(matched == c->matched, "%s %s: path_matched %d, want %d",
	    c->method, c->path, matched, c->matched);
	if (c->token_id) {
		ck_assert_int_eq(ctx.n_params, 1);
		ck_assert_ptr_nonnull(api_param(&ctx, "token_id"));
		ck_assert_str_eq(api_param(&ctx, "token_id"), c->token_id);
		/* The name must match whole. */
		ck_assert_ptr_null(api_param(&ctx, "token"));
		ck_assert_ptr_null(api_param(&ctx, "token_i"));
		ck_assert_ptr_null(api_param(&ctx, "id"));
	} else {
		ck_assert_int_eq(ctx.n_params, 0);
		ck_assert_ptr_null(api_param(&ctx, "token_id"));
	}
	if (c->allow)
		ck_assert_msg(strcmp(allow.data ? allow.data : "", c->allow) == 0,
		    "%s %s: Allow \"%s\", want \"%s\"", c->method, c->path,
		    allow.data ? allow.data : "", c->allow);
	/* Whenever the path is known, the Allow list names a method. */
	if (c->matched)
		ck_assert(allow.len > 0);
	ctx_clear(&ctx);
	buf_free(&allow);
}
END_TEST

/* ctx and allow are optional. */
START_TEST(test_route_match_null_args)
{
	bool matched = false;
	const struct api_route *r;

	r = api_route_match("GET", "/v1/tokens/tok_1/", NULL, &matched, NULL);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->path, "/v1/tokens/{token_id}/");
	ck_assert(matched);
	r = api_route_match("PUT", "/v1/tokens/", NULL, &matched, NULL);
	ck_assert_ptr_null(r);
	ck_assert(matched);
	r = api_route_match("GET", "/nope", NULL, &matched, NULL);
	ck_assert_ptr_null(r);
	ck_assert(!matched);
}
END_TEST

/* One ctx used for several requests: params are replaced, not appended,
 * and the old values are freed (LeakSanitizer checks that). */
START_TEST(test_route_match_reuse_ctx)
{
	struct api_ctx ctx;
	bool matched;

	memset(&ctx, 0, sizeof(ctx));
	ck_assert_ptr_nonnull(api_route_match("GET", "/v1/tokens/tok_a/", &ctx,
	    &matched, NULL));
	ck_assert_str_eq(api_param(&ctx, "token_id"), "tok_a");
	ck_assert_ptr_nonnull(api_route_match("DELETE", "/v1/tokens/tok_bb", &ctx,
	    &matched, NULL));
	ck_assert_int_eq(ctx.n_params, 1);
	ck_assert_str_eq(api_param(&ctx, "token_id"), "tok_bb");
	ck_assert_ptr_nonnull(api_route_match("GET", "/v1/tokens/", &ctx,
	    &matched, NULL));
	ck_assert_int_eq(ctx.n_params, 0);
	ck_assert_ptr_null(api_param(&ctx, "token_id"));
	ctx_clear(&ctx);
}
END_TEST

/* Replace each "{name}" of a route path with "p<n>". */
static char *
instantiate(const char *pattern)
{
	struct buf b = { 0 };
	int n = 0;

	for (const char *p = pattern; *p; p++) {
		if (*p == '{') {
			buf_printf(&b, "p%d", ++n);
			p = strchr(p, '}');
			ck_assert_ptr_nonnull(p);
		} else {
			buf_append(&b, p, 1);
		}
	}
	return b.data;
}

/* Every route in every table is reachable by its own method and path. */
START_TEST(test_every_route_reachable)
{
	int total = 0;

	for (const struct api_route *const *t = api_route_tables; *t; t++) {
		for (const struct api_route *r = *t; r->method; r++) {
			char *path = instantiate(r->path);
			struct api_ctx ctx;
			struct buf allow = { 0 };
			bool matched = false;
			const struct api_route *got;

			memset(&ctx, 0, sizeof(ctx));
			got = api_route_match(r->method, path, &ctx, &matched, &allow);
			ck_assert_msg(got == r, "%s %s (as %s) found %s", r->method,
			    r->path, path, got ? got->path : "nothing");
			ck_assert(matched);
			ck_assert_msg(strstr(allow.data, r->method) != NULL,
			    "%s %s: Allow \"%s\"", r->method, r->path, allow.data);
			for (int i = 0; i < ctx.n_params; i++) {
				char want[16];
				snprintf(want, sizeof(want), "p%d", i + 1);
				ck_assert_str_eq(ctx.param_values[i], want);
			}
			ctx_clear(&ctx);
			buf_free(&allow);
			free(path);
			total++;
		}
	}
	ck_assert_int_gt(total, 10);
}
END_TEST

static Suite *
router_suite(void)
{
	Suite *s = suite_create("api_router");
	TCase *tc = tcase_create("match");

	tcase_add_loop_test(tc, test_route_match, 0, N(route_cases));
	tcase_add_test(tc, test_route_match_null_args);
	tcase_add_test(tc, test_route_match_reuse_ctx);
	tcase_add_test(tc, test_every_route_reachable);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(router_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
