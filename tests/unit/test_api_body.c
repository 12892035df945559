/*
 * test_api_body.c - src/api/api_body.c: JSON body validation against a
 * route's field list, and query-string parameters.
 *
 * A failed validation must answer 400 with the error envelope naming the
 * field; the tests parse the response body to check that.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/api.h"
#include "gent/util.h"

#define N(a) ((int)GENT_ARRAY_LEN(a))

static const struct api_field fields[] = {
	{ "name", API_T_STRING, true, false, "required string" },
	{ "count", API_T_INTEGER, false, false, "integer" },
	{ "ratio", API_T_NUMBER, false, false, "number" },
	{ "enabled", API_T_BOOLEAN, false, false, "boolean" },
	{ "tags", API_T_STRING_ARRAY, false, false, "strings" },
	{ "meta", API_T_OBJECT, false, true, "object or null" },
	{ "note", API_T_STRING, false, true, "string or null" },
	{ "id", API_T_STRING, true, true, "required, may be null" },
	{ NULL, 0, false, false, NULL },
};

struct fixture {
	struct http_request	 req;
	struct http_response	 resp;
	struct api_ctx		 ctx;
};

static void
fixture_init(struct fixture *f, const char *query)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->req.request_id, sizeof(f->req.request_id), "req_test1");
	f->req.method = "POST";
	f->req.query = query ? xstrdup(query) : NULL;
	f->ctx.req = &f->req;
	f->ctx.resp = &f->resp;
}

static void
fixture_free(struct fixture *f)
{
	free(f->req.query);
	http_response_free(&f->resp);
}

static const struct body_case {
	const char	*json;
	const char	*field;		/* NULL = valid */
	const char	*message;	/* substring of error.message */
} body_cases[] = {
	{ "{\"name\":\"x\",\"id\":\"i\"}", NULL, NULL },
	{ "{\"id\":\"i\",\"name\":\"x\",\"count\":3,\"ratio\":1.5,\"enabled\":true,"
	  "\"tags\":[\"a\",\"b\"],\"meta\":{\"k\":[1]},\"note\":\"n\"}", NULL, NULL },
	{ "{\"name\":\"\",\"id\":\"i\",\"count\":-7,\"enabled\":false}", NULL, NULL },
	{ "{\"name\":\"x\",\"id\":\"i\",\"ratio\":2}", NULL, NULL },
	{ "{\"name\":\"x\",\"id\":\"i\",\"tags\":[]}", NULL, NULL },
	/* nullable fields accept null */
	{ "{\"name\":\"x\",\"id\":\"i\",\"note\":null}", NULL, NULL },
	{ "{\"name\":\"x\",\"id\":\"i\",\"meta\":null}", NULL, NULL },
	{ "{\"name\":\"x\",\"id\":null}", NULL, NULL },
	/* unknown fields */
	{ "{\"name\":\"x\",\"id\":\"i\",\"bogus\":1}", "bogus",
	  "unknown field 'bogus'" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"Name\":\"y\"}", "Name",
	  "unknown field 'Name'" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"\":1}", "", "unknown field ''" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"bogus\":null}", "bogus", "unknown field" },
	/* wrong types */
	{ "{\"name\":1,\"id\":\"i\"}", "name", "must be a string" },
	{ "{\"name\":null,\"id\":\"i\"}", "name", "must be a string" },
	{ "{\"name\":[\"x\"],\"id\":\"i\"}", "name", "must be a string" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"count\":\"3\"}", "count",
	  "must be an integer" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"count\":1.5}", "count",
	  "must be an integer" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"count\":null}", "count",
	  "must be an integer" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"ratio\":\"1\"}", "ratio", "a number" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"ratio\":true}", "ratio", "a number" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"enabled\":\"true\"}", "enabled",
	  "a boolean" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"enabled\":1}", "enabled", "a boolean" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"tags\":\"a\"}", "tags",
	  "an array of strings" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"tags\":[\"a\",2]}", "tags",
	  "an array of strings" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"tags\":[null]}", "tags",
	  "an array of strings" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"tags\":[[\"a\"]]}", "tags",
	  "an array of strings" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"tags\":{}}", "tags",
	  "an array of strings" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"meta\":[]}", "meta", "an object" },
	{ "{\"name\":\"x\",\"id\":\"i\",\"meta\":\"{}\"}", "meta", "an object" },
	{ "{\"name\":\"x\",\"id\":1}", "id", "must be a string" },
	/* required fields */
	{ "{}", "name", "'name' is required" },
	{ "{\"id\":\"i\",\"count\":1}", "name", "'name' is required" },
	{ "{\"name\":\"x\"}", "id", "'id' is required" },
};

START_TEST(test_body_validate)
{
	const struct body_case *c = &body_cases[_i];
	json_error_t jerr;
	json_t *body = json_loads(c->json, 0, &jerr);
	struct fixture f;
	int rc;

	ck_assert_msg(body != NULL, "bad test JSON %s: %s", c->json, jerr.text);
	fixture_init(&f, NULL);
	rc = api_body_validate(&f.ctx, body, fields);
	if (!c->field) {
		ck_assert_msg(rc == 0, "%s rejected: %s", c->json,
		    f.resp.body.data ? f.resp.body.data : "");
		ck_assert_int_eq(f.resp.status, 0);
		ck_assert_uint_eq(f.resp.body.len, 0);
	} else {
		ck_assert_msg(rc == -1, "%s accepted", c->json);
		ck_assert_int_eq(f.resp.status, 400);
		ck_assert_ptr_nonnull(f.resp.body.data);
		json_t *doc = json_loads(f.resp.body.data, 0, &jerr);
		ck_assert_msg(doc != NULL, "response is not JSON: %s",
		    f.resp.body.data);
		json_t *err = json_object_get(doc, "error");
		ck_assert(json_is_object(err));
		ck_assert_int_eq(json_integer_value(json_object_get(err, "status")),
		    400);
		ck_assert_str_eq(json_string_value(json_object_get(err, "code")),
		    "invalid_field");
		const char *field = json_string_value(json_object_get(err, "field"));
		ck_assert_msg(field && strcmp(field, c->field) == 0,
		    "%s: error.field \"%s\", want \"%s\"", c->json,
		    field ? field : "(none)", c->field);
		const char *msg = json_string_value(json_object_get(err, "message"));
		ck_assert_msg(msg && strstr(msg, c->message),
		    "%s: error.message \"%s\" lacks \"%s\"", c->json,
		    msg ? msg : "(none)", c->message);
		json_decref(doc);
	}
	json_decref(body);
	fixture_free(&f);
}
END_TEST

/* A body that is not an object is refused before any field is looked at. */
START_TEST(test_body_not_object)
{
	static const char *const texts[] = { "[]", "\"x\"", "1", "null", "true" };

	for (int i = 0; i < N(texts); i++) {
		json_t *body = json_loads(texts[i], JSON_DECODE_ANY, NULL);
		struct fixture f;
		ck_assert_ptr_nonnull(body);
		fixture_init(&f, NULL);
		ck_assert_int_eq(api_body_validate(&f.ctx, body, fields), -1);
		ck_assert_int_eq(f.resp.status, 400);
		json_t *doc = json_loads(f.resp.body.data, 0, NULL);
		ck_assert_ptr_nonnull(doc);
		json_t *err = json_object_get(doc, "error");
		ck_assert_str_eq(json_string_value(json_object_get(err, "code")),
		    "invalid_json");
		ck_assert_ptr_null(json_object_get(err, "field"));
		json_decref(doc);
		json_decref(body);
		fixture_free(&f);
	}
	/* NULL body (nothing parsed) too. */
	struct fixture f;
	fixture_init(&f, NULL);
	ck_assert_int_eq(api_body_validate(&f.ctx, NULL, fields), -1);
	ck_assert_int_eq(f.resp.status, 400);
	fixture_free(&f);
}
END_TEST

/* A route without a field list accepts only an empty object. */
START_TEST(test_body_no_fields)
{
	struct fixture f;
	json_t *empty = json_object(), *one = json_pack("{s:i}", "a", 1);

	fixture_init(&f, NULL);
	ck_assert_int_eq(api_body_validate(&f.ctx, empty, NULL), 0);
	ck_assert_int_eq(api_body_validate(&f.ctx, one, NULL), -1);
	ck_assert_int_eq(f.resp.status, 400);
	ck_assert_ptr_nonnull(strstr(f.resp.body.data, "\"field\":\"a\""));
	json_decref(empty);
	json_decref(one);
	fixture_free(&f);
}
END_TEST

START_TEST(test_body_accessors)
{
	struct fixture f;

	fixture_init(&f, NULL);
	ck_assert_ptr_null(api_body_str(&f.ctx, "name"));
	ck_assert(!api_body_has(&f.ctx, "name"));
	f.ctx.body = json_pack("{s:s, s:n, s:i}", "name", "x", "note", "count", 3);
	ck_assert_str_eq(api_body_str(&f.ctx, "name"), "x");
	ck_assert_ptr_null(api_body_str(&f.ctx, "note"));
	ck_assert_ptr_null(api_body_str(&f.ctx, "count"));
	ck_assert_ptr_null(api_body_str(&f.ctx, "missing"));
	ck_assert(api_body_has(&f.ctx, "note"));
	ck_assert(api_body_has(&f.ctx, "count"));
	ck_assert(!api_body_has(&f.ctx, "missing"));
	json_decref(f.ctx.body);
	fixture_free(&f);
}
END_TEST

/* --- api_query --------------------------------------------------------- */

static const struct query_case {
	const char	*query;
	const char	*name;
	const char	*want;		/* NULL = absent or malformed */
} query_cases[] = {
	{ "a=1&inbox_id=inb%5Fx&b=c+d", "a", "1" },
	{ "a=1&inbox_id=inb%5Fx&b=c+d", "inbox_id", "inb_x" },
	{ "a=1&inbox_id=inb%5Fx&b=c+d", "b", "c d" },
	{ "a=1&inbox_id=inb%5Fx&b=c+d", "inbox", NULL },
	{ "a=1&inbox_id=inb%5Fx&b=c+d", "c", NULL },
	{ "a=1&inbox_id=inb%5Fx&b=c+d", "inbox_id=inb", NULL },
	{ "a=1&inbox_id=inb%5Fx&b=c+d", "d", NULL },
	{ "x=%zz", "x", NULL },
	{ "x=%", "x", NULL },
	{ "x=%4", "x", NULL },
	{ "x=a%4&y=1", "x", NULL },
	{ "x=%00", "x", NULL },
	{ "x=%zz&y=2", "y", "2" },
	{ "x=%41%62%2b%2F%25", "x", "Ab+/%" },
	{ "x=%e2%82%ac", "x", "\xe2\x82\xac" },
	{ "x=a=b", "x", "a=b" },
	{ "x=", "x", "" },
	{ "x", "x", "" },
	{ "x&y=2", "y", "2" },
	{ "a=1&a=2", "a", "1" },
	{ "aa=1&a=2", "a", "2" },
	{ "&&a=3&", "a", "3" },
	{ "", "a", NULL },
	{ NULL, "a", NULL },
	{ "limit=50&cursor=abc", "cursor", "abc" },
};

START_TEST(test_query)
{
	const struct query_case *c = &query_cases[_i];
	struct fixture f;
	char *got;

	fixture_init(&f, c->query);
	got = api_query(&f.ctx, c->name);
	if (c->want) {
		ck_assert_msg(got != NULL, "?%s [%s]: NULL, want \"%s\"", c->query,
		    c->name, c->want);
		ck_assert_str_eq(got, c->want);
	} else {
		ck_assert_msg(got == NULL, "?%s [%s]: \"%s\", want NULL",
		    c->query ? c->query : "(null)", c->name, got ? got : "");
	}
	free(got);
	fixture_free(&f);
}
END_TEST

/* Each prefix of a query in an exact-size buffer: no over-read at a
 * truncated "%4" (ASan), and truncated escapes are malformed. */
START_TEST(test_query_prefixes)
{
	static const char q[] = "x=%41%62";
	/* Expected value of x for each prefix length 0..8. */
	static const char *const want[] = {
		NULL,	/* "" */
		"",	/* "x" */
		"",	/* "x=" */
		NULL,	/* "x=%" */
		NULL,	/* "x=%4" */
		"A",	/* "x=%41" */
		NULL,	/* "x=%41%" */
		NULL,	/* "x=%41%6" */
		"Ab",	/* "x=%41%62" */
	};

	for (size_t k = 0; k <= strlen(q); k++) {
		struct fixture f;
		fixture_init(&f, NULL);
		f.req.query = xstrndup(q, k);
		char *got = api_query(&f.ctx, "x");
		if (want[k])
			ck_assert_msg(got && strcmp(got, want[k]) == 0,
			    "?%s: \"%s\"", f.req.query, got ? got : "(null)");
		else
			ck_assert_msg(got == NULL, "?%s: \"%s\"", f.req.query,
			    got ? got : "");
		free(got);
		fixture_free(&f);
	}
}
END_TEST

static Suite *
body_suite(void)
{
	Suite *s = suite_create("api_body");
	TCase *tc;

	tc = tcase_create("validate");
	tcase_add_loop_test(tc, test_body_validate, 0, N(body_cases));
	tcase_add_test(tc, test_body_not_object);
	tcase_add_test(tc, test_body_no_fields);
	tcase_add_test(tc, test_body_accessors);
	suite_add_tcase(s, tc);

	tc = tcase_create("query");
	tcase_add_loop_test(tc, test_query, 0, N(query_cases));
	tcase_add_test(tc, test_query_prefixes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(body_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
