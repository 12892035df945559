/*
 * test_addr.c - src/core/addr.c: the address syntax the API accepts.
 *
 * Long addresses are built from a spec (local length, domain length) so
 * the boundary cases (64-byte local part, 63-byte label, 254 bytes total)
 * are exact. Each input is checked in a buffer of exactly its size.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gent/addr.h"
#include "gent/util.h"

#define N(a) ((int)GENT_ARRAY_LEN(a))

static const struct addr_case {
	const char	*addr;
	bool		 ok;
} addr_cases[] = {
	{ "a@b.co", true },
	{ "first.last+tag@sub.example.com", true },
	{ "x@a-b.example", true },
	{ "x@a--b.example", true },
	{ "x@1.2", true },
	{ "UPPER@EXAMPLE.COM", true },
	{ "o'brien@example.ie", true },
	{ "!#$%&'*+-/=?^_`{|}~@example.com", true },
	{ "a.b.c@x.y.z", true },
	/* The last '@' separates the parts. */
	{ "a@b@c.co", false },
	{ "ab.co", false },			/* no @ */
	{ "", false },
	{ "@", false },
	{ "@b.co", false },			/* empty local */
	{ "a@", false },			/* empty domain */
	{ ".a@b.co", false },			/* leading dot */
	{ "a.@b.co", false },			/* trailing dot */
	{ "a..b@b.co", false },			/* double dot */
	{ "a b@b.co", false },			/* space */
	{ " a@b.co", false },
	{ "a@b.co ", false },
	{ "\"a\"@b.co", false },		/* quotes */
	{ "<a>@b.co", false },			/* angle brackets */
	{ "a\t@b.co", false },
	{ "a\x7f@b.co", false },
	{ "a\xc3\xa9@b.co", false },		/* non-ASCII */
	{ "a,b@b.co", false },
	{ "a@-b.co", false },			/* label starts with '-' */
	{ "a@b-.co", false },			/* label ends with '-' */
	{ "a@b.-co", false },
	{ "a@b.co-", false },
	{ "a@-.co", false },
	{ "a@bco", false },			/* no dot in domain */
	{ "a@localhost", false },
	{ "a@.b.co", false },			/* empty labels */
	{ "a@b..co", false },
	{ "a@b.co.", false },
	{ "a@.", false },
	{ "a@b_c.co", false },
	{ "a@b c.co", false },
	{ "a@[127.0.0.1]", false },
	{ "a@b.co\n", false },
};

START_TEST(test_addr)
{
	const struct addr_case *c = &addr_cases[_i];
	char *copy = xstrdup(c->addr);

	ck_assert_msg(addr_is_valid(copy) == c->ok, "\"%s\" should be %s",
	    c->addr, c->ok ? "valid" : "invalid");
	free(copy);
}
END_TEST

/*
 * Build local@domain with a local part of local_len 'l's and a domain of
 * exactly domain_len bytes ending in ".com": labels of at most label_len
 * 'd's joined by dots (label_len 0: one label of domain_len-4 bytes).
 */
static char *
build(size_t local_len, size_t domain_len, size_t label_len)
{
	char *s = xmalloc(local_len + 1 + domain_len + 1);
	char *d = s + local_len + 1;
	size_t body = domain_len - 4, pos = 0;

	memset(s, 'l', local_len);
	s[local_len] = '@';
	if (label_len == 0)
		label_len = body;
	while (pos < body) {
		if (pos > 0)
			d[pos++] = '.';
		size_t left = body - pos;
		size_t n = left < label_len ? left : label_len;
		/* A lone byte left over would be a dot with an empty label. */
		if (left - n == 1)
			n--;
		memset(d + pos, 'd', n);
		pos += n;
	}
	memcpy(d + body, ".com", 5);
	ck_assert_uint_eq(strlen(d), domain_len);
	ck_assert_ptr_null(strstr(d, ".."));
	return s;
}

static const struct len_case {
	size_t	 local_len, domain_len, label_len;
	bool	 ok;
	const char *why;
} len_cases[] = {
	{ 1, 6, 0, true, "a short address" },
	{ 64, 10, 0, true, "64-byte local part" },
	{ 65, 10, 0, false, "65-byte local part" },
	{ 1, 67, 0, true, "63-byte label" },
	{ 1, 68, 0, false, "64-byte label" },
	{ 64, 189, 63, true, "254 bytes in all" },
	{ 64, 190, 63, false, "255 bytes in all" },
	{ 1, 252, 63, true, "252-byte domain, 254 in all" },
	{ 1, 253, 63, false, "253-byte domain, 255 in all" },
	{ 1, 300, 50, false, "300-byte domain" },
	{ 200, 10, 0, false, "200-byte local part" },
};

START_TEST(test_addr_lengths)
{
	const struct len_case *c = &len_cases[_i];
	char *s = build(c->local_len, c->domain_len, c->label_len);

	ck_assert_msg(addr_is_valid(s) == c->ok, "%s (%zu bytes): should be %s",
	    c->why, strlen(s), c->ok ? "valid" : "invalid");
	free(s);
}
END_TEST

/* Every prefix of every case, exact-size: no over-read, and no prefix of
 * a domain ending in a dot or a hyphen is accepted. */
START_TEST(test_addr_prefixes)
{
	for (int i = 0; i < N(addr_cases); i++) {
		size_t len = strlen(addr_cases[i].addr);
		for (size_t k = 0; k <= len; k++) {
			char *p = xstrndup(addr_cases[i].addr, k);
			bool ok = addr_is_valid(p);
			if (k > 0 && (p[k - 1] == '.' || p[k - 1] == '-' ||
			    p[k - 1] == '@'))
				ck_assert_msg(!ok, "\"%s\" accepted", p);
			free(p);
		}
	}
	/* Prefixes of "first.last+tag@sub.example.com" that are valid are
	 * exactly those ending inside a label after the first dot. */
	static const char full[] = "first.last+tag@sub.example.com";
	for (size_t k = 0; k <= strlen(full); k++) {
		char *p = xstrndup(full, k);
		ck_assert_msg(addr_is_valid(p) == (k >= 20 && k != 27),
		    "prefix \"%s\"", p);
		free(p);
	}
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("addr");

	tcase_add_loop_test(tc, test_addr, 0, N(addr_cases));
	tcase_add_loop_test(tc, test_addr_lengths, 0, N(len_cases));
	tcase_add_test(tc, test_addr_prefixes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(addr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
