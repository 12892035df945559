/*
 * test_dns_answer.c - raw DNS answer parsing: TTLs, TXT joining, MX, and
 * hostile messages (truncated, pointer loops) that must not crash.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gent/dns.h"

struct msg {
	unsigned char	b[4096];
	size_t		len;
};

static void
put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void
put16(struct msg *m, unsigned v)
{
	unsigned char x[2] = { (unsigned char)(v >> 8), (unsigned char)v };
	put(m, x, 2);
}

static void
put32(struct msg *m, unsigned long v)
{
	put16(m, (unsigned)(v >> 16));
	put16(m, (unsigned)(v & 0xffff));
}

static void
put_name(struct msg *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);
		unsigned char len = (unsigned char)n;
		put(m, &len, 1);
		put(m, name, n);
		name += n + (dot ? 1 : 0);
	}
	put(m, "", 1);
}

/* Header + question for name/type with ancount answers to follow. */
static void
begin(struct msg *m, const char *name, unsigned type, unsigned ancount)
{
	m->len = 0;
	put16(m, 0x1234);	/* id */
	put16(m, 0x8180);	/* response, RD, RA, NOERROR */
	put16(m, 1);
	put16(m, ancount);
	put16(m, 0);
	put16(m, 0);
	put_name(m, name);
	put16(m, type);
	put16(m, 1);
}

/* An answer RR whose owner is a pointer to the question name (offset 12). */
static void
answer(struct msg *m, unsigned type, unsigned long ttl, const void *rdata,
    size_t rdlen)
{
	put16(m, 0xc00c);
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, (unsigned)rdlen);
	put(m, rdata, rdlen);
}

START_TEST(txt_strings_join_and_min_ttl)
{
	struct msg m;
	struct dns_result r;
	static const unsigned char rec1[] = "\x05v=spf\x07" "1 mx -a";
	static const unsigned char rec2[] = "\x03" "abc";

	begin(&m, "example.com", DNS_T_TXT, 2);
	answer(&m, DNS_T_TXT, 300, rec1, sizeof(rec1) - 1);
	answer(&m, DNS_T_TXT, 60, rec2, sizeof(rec2) - 1);
	dns_answer_parse(m.b, m.len, DNS_T_TXT, &r);
	ck_assert_int_eq(r.status, DNS_OK);
	ck_assert_uint_eq(r.n_records, 2);
	ck_assert_str_eq(r.records[0], "v=spf1 mx -a");
	ck_assert_str_eq(r.records[1], "abc");
	ck_assert_uint_eq(r.ttl, 60);
	dns_result_free(&r);
}
END_TEST

START_TEST(mx_records)
{
	struct msg m;
	struct dns_result r;
	struct msg rd = { .len = 0 };

	put16(&rd, 10);
	put_name(&rd, "mx.gentd.test");
	begin(&m, "example.com", DNS_T_MX, 1);
	answer(&m, DNS_T_MX, 3600, rd.b, rd.len);
	dns_answer_parse(m.b, m.len, DNS_T_MX, &r);
	ck_assert_int_eq(r.status, DNS_OK);
	ck_assert_uint_eq(r.n_records, 1);
	ck_assert_str_eq(r.records[0], "10 mx.gentd.test");
	ck_assert_uint_eq(r.ttl, 3600);
	dns_result_free(&r);
}
END_TEST

START_TEST(truncated_messages_are_safe)
{
	struct msg m;
	struct dns_result r;
	static const unsigned char rec[] = "\x03" "abc";

	begin(&m, "example.com", DNS_T_TXT, 1);
	answer(&m, DNS_T_TXT, 30, rec, sizeof(rec) - 1);
	/* Every prefix of a valid message parses without reading past it. */
	for (size_t n = 0; n < m.len; n++) {
		unsigned char *copy = malloc(n ? n : 1);
		memcpy(copy, m.b, n);
		dns_answer_parse(copy, n, DNS_T_TXT, &r);
		ck_assert_int_eq(r.status, DNS_NODATA);
		dns_result_free(&r);
		free(copy);
	}
}
END_TEST

START_TEST(pointer_loop_has_no_ttl)
{
	/* Question name is a pointer to itself: skip_name must give up. */
	static const unsigned char loop[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
		0xc0, 0x0c, 0, 16, 0, 1,
	};
	ck_assert_uint_eq(dns_answer_min_ttl(loop, sizeof(loop)), 0);
}
END_TEST

START_TEST(status_names)
{
	ck_assert_str_eq(dns_status_name(DNS_NXDOMAIN), "nxdomain");
	ck_assert_str_eq(dns_status_name(DNS_TEMPFAIL), "tempfail");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dns_answer");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, txt_strings_join_and_min_ttl);
	tcase_add_test(tc, mx_records);
	tcase_add_test(tc, truncated_messages_are_safe);
	tcase_add_test(tc, pointer_loop_has_no_ttl);
	tcase_add_test(tc, status_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
