/*
 * test_ids.c - src/core/ids.c: object ids, secrets, base64url, SHA-256
 * and constant-time comparison.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gent/ids.h"
#include "gent/util.h"

#define N(a) ((int)GENT_ARRAY_LEN(a))

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --- ids_new / ids_is_id ----------------------------------------------- */

START_TEST(test_new_format)
{
	static const char *const prefixes[] = { "tok", "ten", "usr", "a", "inbox" };

	for (int p = 0; p < N(prefixes); p++) {
		size_t plen = strlen(prefixes[p]);
		for (int n = 0; n < 50; n++) {
			char *id = ids_new(prefixes[p]);
			ck_assert_uint_eq(strlen(id), plen + 1 + IDS_RANDOM_LEN);
			ck_assert_uint_eq(IDS_RANDOM_LEN, 24);
			ck_assert(strncmp(id, prefixes[p], plen) == 0);
			ck_assert_int_eq(id[plen], '_');
			for (size_t i = plen + 1; id[i]; i++)
				ck_assert_msg((id[i] >= '0' && id[i] <= '9') ||
				    (id[i] >= 'a' && id[i] <= 'z'),
				    "bad char %#x in %s", (unsigned)id[i], id);
			ck_assert_msg(ids_is_id(id, prefixes[p]), "%s", id);
			free(id);
		}
	}
}
END_TEST

START_TEST(test_new_unique)
{
	enum { COUNT = 1000 };
	char *ids[COUNT];
	bool seen_digit = false, seen_letter = false;

	for (int i = 0; i < COUNT; i++)
		ids[i] = ids_new("tok");
	qsort(ids, COUNT, sizeof(ids[0]), cmp_str);
	for (int i = 0; i < COUNT; i++) {
		if (i > 0)
			ck_assert_msg(strcmp(ids[i - 1], ids[i]) != 0,
			    "duplicate id %s", ids[i]);
		for (const char *p = ids[i] + 4; *p; p++) {
			seen_digit |= *p >= '0' && *p <= '9';
			seen_letter |= *p >= 'a' && *p <= 'z';
		}
	}
	/* 24000 random characters cover both halves of the alphabet. */
	ck_assert(seen_digit && seen_letter);
	for (int i = 0; i < COUNT; i++)
		free(ids[i]);
}
END_TEST

static const struct id_case {
	const char	*s;
	const char	*prefix;
	bool		 ok;
} id_cases[] = {
	{ "tok_0123456789abcdefghijklmn", "tok", true },
	{ "tok_zzzzzzzzzzzzzzzzzzzzzzzz", "tok", true },
	{ "ten_000000000000000000000000", "ten", true },
	{ "tok_0123456789abcdefghijklm", "tok", false },	/* 23 */
	{ "tok_0123456789abcdefghijklmno", "tok", false },	/* 25 */
	{ "tok_0123456789ABCDEFGHIJKLMN", "tok", false },	/* upper case */
	{ "tok_0123456789abcdefghijkl-n", "tok", false },
	{ "tok_0123456789abcdefghijkl_n", "tok", false },
	{ "tok_0123456789abcdefghijkl.n", "tok", false },
	{ "ten_0123456789abcdefghijklmn", "tok", false },	/* other prefix */
	{ "tokx_0123456789abcdefghijkl", "tok", false },
	{ "to_0123456789abcdefghijklmn", "tok", false },
	{ "tok0123456789abcdefghijklmnp", "tok", false },	/* no '_' */
	{ "tok_", "tok", false },
	{ "tok", "tok", false },
	{ "", "tok", false },
	{ "ten_../../etc/passwd/aaaaaaa", "ten", false },
};

START_TEST(test_new_ordered)
{
	char *prev = ids_new_ordered("aud");

	ck_assert(ids_is_id(prev, "aud"));
	/* Made one after another: each sorts after the one before, also
	 * within one millisecond. */
	for (int i = 0; i < 5000; i++) {
		char *id = ids_new_ordered("aud");
		ck_assert(ids_is_id(id, "aud"));
		ck_assert_msg(strcmp(prev, id) < 0, "%s !< %s", prev, id);
		free(prev);
		prev = id;
	}
	free(prev);
}
END_TEST

START_TEST(test_is_id)
{
	const struct id_case *c = &id_cases[_i];

	ck_assert_msg(ids_is_id(c->s, c->prefix) == c->ok, "ids_is_id(\"%s\", \"%s\")"
	    " should be %s", c->s, c->prefix, c->ok ? "true" : "false");
}
END_TEST

/* --- secrets ------------------------------------------------------------ */

static bool
is_b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

START_TEST(test_new_secret)
{
	char *seen[200];

	for (int n = 0; n < N(seen); n++) {
		char *s = ids_new_secret("gent");
		ck_assert_uint_eq(strlen(s), 5 + 43);
		ck_assert(strncmp(s, "gent_", 5) == 0);
		for (const char *p = s + 5; *p; p++)
			ck_assert_msg(is_b64url_char(*p), "bad char in %s", s);
		ck_assert_msg(ids_is_secret(s, "gent"), "%s", s);
		ck_assert(!ids_is_secret(s, "gen"));
		ck_assert(!ids_is_secret(s, "tok"));
		seen[n] = s;
	}
	qsort(seen, N(seen), sizeof(seen[0]), cmp_str);
	for (int n = 1; n < N(seen); n++)
		ck_assert_str_ne(seen[n - 1], seen[n]);
	for (int n = 0; n < N(seen); n++)
		free(seen[n]);
}
END_TEST

/* "gent_" + body; body is given whole or built from a fill character. */
static char *
secret_with(const char *prefix, size_t body_len, char fill, char last)
{
	size_t plen = strlen(prefix);
	char *s = xmalloc(plen + 1 + body_len + 1);

	memcpy(s, prefix, plen);
	s[plen] = '_';
	memset(s + plen + 1, fill, body_len);
	if (body_len)
		s[plen + body_len] = last;
	s[plen + 1 + body_len] = '\0';
	return s;
}

static const struct secret_case {
	const char	*prefix_in;	/* prefix written into the string */
	size_t		 body_len;
	char		 fill, last;
	bool		 ok;
} secret_cases[] = {
	{ "gent", 43, 'A', 'A', true },
	{ "gent", 43, 'z', 'E', true },
	{ "gent", 43, '_', 'w', true },
	{ "gent", 43, '-', '8', true },
	{ "gent", 43, '9', '0', true },
	{ "gent", 43, 'A', 'c', true },
	{ "gent", 42, 'A', 'A', false },	/* too short */
	{ "gent", 44, 'A', 'A', false },	/* too long */
	{ "gent", 0, 'A', 'A', false },
	{ "gen", 43, 'A', 'A', false },		/* wrong prefix */
	{ "gentx", 43, 'A', 'A', false },
	{ "GENT", 43, 'A', 'A', false },
	{ "tok", 43, 'A', 'A', false },
	{ "gent", 43, '+', 'A', false },	/* standard base64, not url */
	{ "gent", 43, '/', 'A', false },
	{ "gent", 43, '.', 'A', false },
	{ "gent", 43, ' ', 'A', false },
	{ "gent", 43, 'A', '=', false },	/* padding */
	{ "gent", 43, 'A', 'B', false },	/* spare bits not zero */
	{ "gent", 43, 'A', 'D', false },
	{ "gent", 43, 'A', 'x', false },
	{ "gent", 43, 'A', '_', false },
	{ "gent", 43, 'A', '-', false },
	{ "gent", 43, 'A', '9', false },
};

START_TEST(test_is_secret)
{
	const struct secret_case *c = &secret_cases[_i];
	char *s = secret_with(c->prefix_in, c->body_len, c->fill, c->last);

	ck_assert_msg(ids_is_secret(s, "gent") == c->ok,
	    "ids_is_secret(\"%s\") should be %s", s, c->ok ? "true" : "false");
	free(s);
}
END_TEST

/* Exactly 16 of the 64 last characters are canonical: those whose value
 * is a multiple of 4. */
START_TEST(test_secret_last_char)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	int accepted = 0;

	for (int v = 0; v < 64; v++) {
		char *s = secret_with("gent", 43, 'Q', tbl[v]);
		bool ok = ids_is_secret(s, "gent");
		ck_assert_msg(ok == (v % 4 == 0), "last char '%c' (%d): %d",
		    tbl[v], v, ok);
		accepted += ok;
		free(s);
	}
	ck_assert_int_eq(accepted, 16);
}
END_TEST

START_TEST(test_secret_embedded_nul)
{
	char *s = secret_with("gent", 43, 'A', 'A');

	ck_assert(ids_is_secret(s, "gent"));
	s[20] = '\0';
	ck_assert(!ids_is_secret(s, "gent"));
	free(s);
}
END_TEST

/* --- base64url ---------------------------------------------------------- */

static const struct b64_case {
	const char	*in;
	size_t		 len;
	const char	*out;
} b64_cases[] = {
	/* RFC 4648 section 10, unpadded. */
	{ "", 0, "" },
	{ "f", 1, "Zg" },
	{ "fo", 2, "Zm8" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg" },
	{ "fooba", 5, "Zm9vYmE" },
	{ "foobar", 6, "Zm9vYmFy" },
	/* The two characters that differ from standard base64. */
	{ "\xfb\xff", 2, "-_8" },
	{ "\xfb\xef\xbe", 3, "----" },
	{ "\xff\xff\xff", 3, "____" },
	{ "\x00", 1, "AA" },
	{ "\x00\x00\x00", 3, "AAAA" },
	{ "\x14\xfb\x9c\x03\xd9\x7e", 6, "FPucA9l-" },
};

START_TEST(test_base64url)
{
	const struct b64_case *c = &b64_cases[_i];
	char out[64];

	memset(out, '#', sizeof(out));
	ids_base64url((const unsigned char *)c->in, c->len, out);
	ck_assert_str_eq(out, c->out);
	/* Nothing written past the terminator. */
	ck_assert_int_eq(out[strlen(c->out) + 1], '#');
}
END_TEST

/* The documented output size (4*n/3+2) is enough for every length. */
START_TEST(test_base64url_sizes)
{
	unsigned char in[100];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(in); n++) {
		size_t cap = 4 * n / 3 + 2;
		char *out = xmalloc(cap);
		ids_base64url(in, n, out);
		ck_assert_uint_eq(strlen(out), (4 * n + 2) / 3);
		ck_assert_uint_lt(strlen(out), cap);
		free(out);
	}
}
END_TEST

/* --- SHA-256 and comparison -------------------------------------------- */

static const struct sha_case {
	const char	*in;
	const char	*hex;
} sha_cases[] = {
	{ "abc",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "",
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

START_TEST(test_sha256_hex)
{
	const struct sha_case *c = &sha_cases[_i];
	char hex[IDS_DIGEST_HEX_LEN + 1];

	memset(hex, 'X', sizeof(hex));
	ids_sha256_hex(c->in, strlen(c->in), hex);
	ck_assert_str_eq(hex, c->hex);
}
END_TEST

START_TEST(test_sha256_uses_len)
{
	char a[IDS_DIGEST_HEX_LEN + 1], b[IDS_DIGEST_HEX_LEN + 1];

	/* Only the first len bytes count, NUL or not. */
	ids_sha256_hex("abcdef", 3, a);
	ck_assert_str_eq(a, sha_cases[0].hex);
	ids_sha256_hex("a\0c", 3, a);
	ids_sha256_hex("a\0d", 3, b);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_equal_ct)
{
	static const char x[] = "0123456789abcdef";
	char y[sizeof(x)];

	memcpy(y, x, sizeof(x));
	ck_assert(ids_equal_ct(x, y, sizeof(x)));
	ck_assert(ids_equal_ct(x, "zzz", 0));
	y[0] ^= 1;
	ck_assert(!ids_equal_ct(x, y, sizeof(x)));
	ck_assert(ids_equal_ct(x + 1, y + 1, sizeof(x) - 1));
	y[0] = x[0];
	y[sizeof(x) - 2] = 'F';
	ck_assert(!ids_equal_ct(x, y, sizeof(x)));
	ck_assert(ids_equal_ct(x, y, sizeof(x) - 2));
	ck_assert(!ids_equal_ct("\x80", "\x00", 1));
}
END_TEST

static Suite *
ids_suite(void)
{
	Suite *s = suite_create("ids");
	TCase *tc;

	tc = tcase_create("ids");
	tcase_add_test(tc, test_new_format);
	tcase_add_test(tc, test_new_unique);
	tcase_add_test(tc, test_new_ordered);
	tcase_add_loop_test(tc, test_is_id, 0, N(id_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("secrets");
	tcase_add_test(tc, test_new_secret);
	tcase_add_loop_test(tc, test_is_secret, 0, N(secret_cases));
	tcase_add_test(tc, test_secret_last_char);
	tcase_add_test(tc, test_secret_embedded_nul);
	suite_add_tcase(s, tc);

	tc = tcase_create("encodings");
	tcase_add_loop_test(tc, test_base64url, 0, N(b64_cases));
	tcase_add_test(tc, test_base64url_sizes);
	tcase_add_loop_test(tc, test_sha256_hex, 0, N(sha_cases));
	tcase_add_test(tc, test_sha256_uses_len);
	tcase_add_test(tc, test_equal_ct);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ids_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
