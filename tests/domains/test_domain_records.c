/*
 * test_domain_records.c - the five DNS checks, fed canned answers, and
 * domain name normalisation.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/domain_name.h"
#include "gent/domain_records.h"
#include "gent/util.h"

struct fake_rr {
	const char	*name;
	enum dns_type	 type;
	enum dns_status	 status;
	const char	*records[4];
};

static const struct fake_rr *fake_table;

static void
fake_lookup(void *ctx, const char *name, enum dns_type type, struct dns_result *out)
{
	(void)ctx;
	memset(out, 0, sizeof(*out));
	out->status = DNS_NXDOMAIN;
	for (const struct fake_rr *f = fake_table; f->name; f++) {
		if (strcmp(f->name, name) || f->type != type)
			continue;
		out->status = f->status;
		for (int i = 0; f->records[i]; i++) {
			out->records = xrealloc(out->records, (out->n_records + 1) * sizeof(char *));
			out->records[out->n_records++] = xstrdup(f->records[i]);
		}
	}
}

static const struct domain_spec spec = {
	.name = "ex.test", .hostname = "mx.gentd.test", .dkim_selector = "gent",
	.dkim_pubkey = "QUJD", .dmarc_policy = "quarantine", .verify_token = "tok1",
};

/* Status of record i after checking against table. */
static const char *
status_of(const struct fake_rr *table, int i, bool *all, bool *kept)
{
	static char buf[32];
	json_t *res;

	fake_table = table;
	res = domain_records_check(&spec, fake_lookup, NULL, all, kept);
	snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(
	    json_array_get(res, (size_t)i), "status")));
	json_decref(res);
	return buf;
}

static const struct fake_rr all_good[] = {
	{ "ex.test", DNS_T_MX, DNS_OK, { "10 MX.gentd.test.", NULL } },
	{ "ex.test", DNS_T_TXT, DNS_OK, { "google-site-verification=x", "v=spf1 mx ~all", NULL } },
	{ "gent._domainkey.ex.test", DNS_T_TXT, DNS_OK, { "v=DKIM1; k=rsa; p=QU JD", NULL } },
	{ "_dmarc.ex.test", DNS_T_TXT, DNS_OK, { "v=DMARC1; p=reject", NULL } },
	{ "_gent-verify.ex.test", DNS_T_TXT, DNS_OK, { "gent-verify=tok1", NULL } },
	{ NULL },
};

START_TEST(everything_published)
{
	bool all, kept;

	for (int i = 0; i < 5; i++)
		ck_assert_str_eq(status_of(all_good, i, &all, &kept), "verified");
	ck_assert(all);
	ck_assert(kept);
}
END_TEST

START_TEST(nothing_published)
{
	static const struct fake_rr none[] = { { NULL } };
	bool all, kept;

	for (int i = 0; i < 5; i++)
		ck_assert_str_eq(status_of(none, i, &all, &kept), "missing");
	ck_assert(!all);
	ck_assert(!kept);
}
END_TEST

START_TEST(wrong_values_are_mismatches)
{
	static const struct fake_rr wrong[] = {
		{ "ex.test", DNS_T_MX, DNS_OK, { "10 mail.other.test", NULL } },
		{ "ex.test", DNS_T_TXT, DNS_OK, { "v=spf1 -all", NULL } },
		{ "gent._domainkey.ex.test", DNS_T_TXT, DNS_OK, { "v=DKIM1; p=WFla", NULL } },
		{ "_dmarc.ex.test", DNS_T_TXT, DNS_OK, { "v=DMARC1; p=none", NULL } },
		{ "_gent-verify.ex.test", DNS_T_TXT, DNS_OK, { "gent-verify=other", NULL } },
		{ NULL },
	};
	bool all, kept;

	for (int i = 0; i < 5; i++)
		ck_assert_str_eq(status_of(wrong, i, &all, &kept), "mismatch");
}
END_TEST

START_TEST(two_spf_records_are_an_error)
{
	static const struct fake_rr two[] = {
		{ "ex.test", DNS_T_TXT, DNS_OK, { "v=spf1 mx ~all", "v=spf1 a:mx.gentd.test -all", NULL } },
		{ NULL },
	};
	bool all, kept;

	ck_assert_str_eq(status_of(two, 1, &all, &kept), "mismatch");
}
END_TEST

START_TEST(ownership_gone_after_verification)
{
	static const struct fake_rr kept_only[] = {
		{ "ex.test", DNS_T_MX, DNS_OK, { "10 mx.gentd.test", NULL } },
		{ "ex.test", DNS_T_TXT, DNS_OK, { "v=spf1 a:mx.gentd.test -all", NULL } },
		{ "gent._domainkey.ex.test", DNS_T_TXT, DNS_OK, { "v=DKIM1; k=rsa; p=QUJD", NULL } },
		{ "_dmarc.ex.test", DNS_T_TXT, DNS_OK, { "v=DMARC1; p=quarantine", NULL } },
		{ NULL },
	};
	bool all, kept;

	ck_assert_str_eq(status_of(kept_only, 4, &all, &kept), "missing");
	ck_assert(!all);
	ck_assert(kept);
}
END_TEST

START_TEST(dns_failure_is_error)
{
	static const struct fake_rr fail[] = {
		{ "ex.test", DNS_T_MX, DNS_TEMPFAIL, { NULL } },
		{ NULL },
	};
	bool all, kept;

	ck_assert_str_eq(status_of(fail, 0, &all, &kept), "error");
}
END_TEST

START_TEST(expected_records)
{
	json_t *r = domain_records_expected(&spec);

	ck_assert_uint_eq(json_array_size(r), 5);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 0), "value")),
	    "mx.gentd.test");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 2), "name")),
	    "gent._domainkey.ex.test");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 3), "value")),
	    "v=DMARC1; p=quarantine; adkim=r; aspf=r");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 4), "host")),
	    "_gent-verify");
	json_decref(r);
}
END_TEST

static const struct {
	const char *in, *out;	/* out NULL = rejected */
} names[] = {
	{ "Example.COM", "example.com" },
	{ "mail.example.com.", "mail.example.com" },
	{ "b\xc3\xbc" "cher.example", "xn--bcher-kva.example" },
	{ "a-b.example", "a-b.example" },
	{ "localhost", NULL },
	{ "-a.example", NULL },
	{ "a-.example", NULL },
	{ "a..example", NULL },
	{ "a_b.example", NULL },
	{ "example.123", NULL },
	{ "", NULL },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", NULL },
};

START_TEST(domain_name_table)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *why = NULL;
		char *got = domain_name_normalize(names[i].in, &why);
		if (names[i].out) {
			ck_assert_msg(got != NULL, "%s rejected: %s", names[i].in, why);
			ck_assert_str_eq(got, names[i].out);
		} else {
			ck_assert_msg(got == NULL, "%s accepted as %s", names[i].in, got);
			ck_assert_ptr_nonnull(why);
		}
		free(got);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("domain_records");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, everything_published);
	tcase_add_test(tc, nothing_published);
	tcase_add_test(tc, wrong_values_are_mismatches);
	tcase_add_test(tc, two_spf_records_are_an_error);
	tcase_add_test(tc, ownership_gone_after_verification);
	tcase_add_test(tc, dns_failure_is_error);
	tcase_add_test(tc, expected_records);
	tcase_add_test(tc, domain_name_table);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
